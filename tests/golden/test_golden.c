/* Golden tests: raw composed frames of small synthetic timelines hashed
 * before any encoder, so they hold whatever x264 version is installed.
 * tests/golden/frames.txt holds "name md5" lines; `make golden-update`
 * rewrites it after an intended change (say why in the commit). */
#include "hc_test.h"
#include "render/render_int.h"
#include "render_util.h"

#include <stdio.h>
#include <string.h>

HC_TEST(golden_transitions_at_25_50_75) {
    hc_golden g;
    hc_golden_open(&g);
    hc_yuv a, b, out;
    hc_test_pattern(&a, 128, 72, 1);
    hc_test_pattern(&b, 128, 72, 2);
    hc_yuv_alloc(&out, 128, 72);
    for (int i = 0; hc_transitions[i]; i++) {
        for (int q = 1; q <= 3; q++) {
            char name[96], md5[33];
            hc_transition_apply(hc_transitions[i], q * 0.25, 42, &a, &b, &out);
            hc_test_md5(&out, md5);
            snprintf(name, sizeof name, "transition/%s/%d", hc_transitions[i]->name, q * 25);
            hc_golden_check(&g, name, md5);
        }
    }
    CHECKF(g.mismatches == 0, "%d golden mismatches", g.mismatches);
    hc_yuv_fini(&a);
    hc_yuv_fini(&b);
    hc_yuv_fini(&out);
    hc_golden_close(&g);
}

HC_TEST(golden_motions) {
    hc_golden g;
    hc_golden_open(&g);
    hc_yuv canvas, out;
    hc_test_pattern(&canvas, 188, 108, 3);
    hc_yuv_alloc(&out, 160, 90);
    for (int i = 0; hc_motions[i]; i++) {
        for (int q = 0; q <= 4; q++) {
            char name[96], md5[33];
            hc_motion_params mp = {.t = q / 4.0, .time_s = q * 0.7, .dur_s = 2.8, .seed = 5};
            hc_view v;
            hc_motions[i]->at(&mp, &v);
            hc_sample_view(&canvas, &v, &out);
            hc_test_md5(&out, md5);
            snprintf(name, sizeof name, "motion/%s/%d", hc_motions[i]->name, q);
            hc_golden_check(&g, name, md5);
        }
    }
    CHECKF(g.mismatches == 0, "%d golden mismatches", g.mismatches);
    hc_yuv_fini(&canvas);
    hc_yuv_fini(&out);
    hc_golden_close(&g);
}

/* A whole timeline: 3 images, Pop (bounce transitions, zoom_out), 720x720
 * at 24 fps for 4 s; every 8th frame hashed. */
HC_TEST(golden_timeline_pop_1x1) {
    hc_golden g;
    hc_golden_open(&g);
    hc_request *req = hc_test_request(
        "{\"images\":[\"a.jpg\",\"b.jpg\",\"c.jpg\"],\"settings\":{\"vibe\":\"Pop\","
        "\"aspect_ratio\":\"1:1\",\"resolution\":\"720p\",\"fps\":24,\"target_duration\":4,"
        "\"cut_duration\":1.3,\"seed\":7}}");
    CHECK(req);
    hc_plan *plan = NULL;
    CHECK(hc_plan_build(req, &plan, NULL) == 0);
    hc_yuv *canvases = calloc((size_t)plan->n_clips, sizeof *canvases);
    const hc_yuv **ptrs = calloc((size_t)plan->n_clips, sizeof *ptrs);
    for (int c = 0; c < plan->n_clips; c++) {
        int w, h;
        hc_plan_canvas_size(plan, c, &w, &h);
        hc_test_pattern(&canvases[c], w, h, plan->clips[c].image);
        ptrs[c] = &canvases[c];
    }
    hc_yuv out;
    hc_yuv_alloc(&out, plan->width, plan->height);
    hc_scratch scratch = {0};
    for (int64_t f = 0; f < plan->n_frames; f += 8) {
        char name[96], md5[33];
        CHECK(hc_compose_frame(plan, f, ptrs, &scratch, &out) == 0);
        hc_test_md5(&out, md5);
        snprintf(name, sizeof name, "timeline/pop_1x1/%lld", (long long)f);
        hc_golden_check(&g, name, md5);
    }
    CHECKF(g.mismatches == 0, "%d golden mismatches", g.mismatches);
    hc_scratch_fini(&scratch);
    hc_yuv_fini(&out);
    for (int c = 0; c < plan->n_clips; c++)
        hc_yuv_fini(&canvases[c]);
    free(canvases);
    free(ptrs);
    hc_plan_free(plan);
    hc_request_free(req);
    hc_golden_close(&g);
}
