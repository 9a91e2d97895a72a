/* Unit tests of src/render: the planner's timing rules, the sampler's
 * exactness, sub-pixel smoothness of motion, transitions' endpoints. */
#include "hc_test.h"
#include "render/render_int.h"
#include "render_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMG3 "\"images\":[{\"url\":\"a.jpg\"},{\"url\":\"b.jpg\"},{\"url\":\"c.jpg\"}]"

HC_TEST(render_plan_fills_target_exactly_for_every_fps) {
    static const int fps[] = {24, 25, 30, 50, 60};
    static const double targets[] = {15, 7.3, 0.5, 61, 2};
    static const char *vibes[] = {"Pop", "Minimal", "Dreamy", "Intense", "Emotional"};
    for (int i = 0; i < 5; i++) {
        for (int j = 0; j < 5; j++) {
            for (int v = 0; v < 5; v++) {
                char json[512];
                snprintf(json, sizeof json,
                         "{" IMG3
                         ",\"settings\":{\"fps\":%d,\"target_duration\":%g,\"vibe\":\"%s\"}}",
                         fps[i], targets[j], vibes[v]);
                hc_request *req = hc_test_request(json);
                CHECK(req);
                hc_plan *plan = NULL;
                CHECK(hc_plan_build(req, &plan, NULL) == 0);
                CHECKF(llabs(plan->n_frames - llround(targets[j] * fps[i])) <= 1, "frames %lld",
                       (long long)plan->n_frames);
                CHECK(fabs(plan->duration_s - targets[j]) <= 1.0 / fps[i] + 1e-9);
                /* clips tile the timeline: visible spans start at 0, end at n, overlap only in
                 * transitions */
                CHECK(plan->clips[0].start == 0);
                CHECK(plan->clips[plan->n_clips - 1].end == plan->n_frames);
                for (int k = 1; k < plan->n_clips; k++) {
                    const hc_clip *c = &plan->clips[k], *p = &plan->clips[k - 1];
                    CHECK(c->start + c->tr_in_frames == p->end);
                    CHECK(c->image == k % 3);
                    CHECK(c->start > p->start);
                }
                for (int64_t f = 0; f < plan->n_frames; f++) {
                    int a, b;
                    double p;
                    hc_plan_at(plan, f, &a, &b, &p);
                    CHECK(a >= 0 && a < plan->n_clips);
                    CHECK(f >= plan->clips[a].start && f < plan->clips[a].end);
                    if (b >= 0) CHECK(b == a + 1 && p > 0 && p < 1 && f >= plan->clips[b].start);
                }
                hc_plan_free(plan);
                hc_request_free(req);
            }
        }
    }
}

HC_TEST(render_plan_pace_cut_duration_and_loops) {
    hc_request *req = hc_test_request(
        "{" IMG3
        ",\"settings\":{\"target_duration\":12,\"cut_duration\":1.5,\"vibe\":\"Minimal\"}}");
    CHECK(req);
    hc_plan *plan = NULL;
    CHECK(hc_plan_build(req, &plan, NULL) == 0);
    CHECK(plan->n_clips == 8); /* 12 s / 1.5 s */
    CHECK(plan->clips[7].image == 1);
    for (int k = 1; k < plan->n_clips; k++)
        CHECK(plan->clips[k].tr_in_frames == 0); /* Minimal cuts */
    CHECK(strcmp(plan->clips[0].motion->name, "static") == 0);
    hc_plan_free(plan);
    hc_request_free(req);
}

HC_TEST(render_plan_auto_duration_and_ai_effects_cycle) {
    hc_request *req = hc_test_request(
        "{" IMG3 ",\"settings\":{\"vibe\":\"Pop\",\"ai_effects\":{\"transitions\":[\"wipeleft\","
        "\"circleopen\"],\"motions\":[\"pan_up\",\"static\"]}}}");
    CHECK(req);
    hc_plan *plan = NULL;
    CHECK(hc_plan_build(req, &plan, NULL) == 0);
    CHECK(plan->n_frames == 525); /* Pop: 15-20 s -> 17.5 s at 30 fps */
    CHECK(strcmp(plan->clips[1].tr_in->name, "wipeleft") == 0);
    CHECK(strcmp(plan->clips[2].tr_in->name, "circleopen") == 0);
    CHECK(strcmp(plan->clips[3].tr_in->name, "wipeleft") == 0);
    CHECK(strcmp(plan->clips[0].motion->name, "pan_up") == 0);
    CHECK(strcmp(plan->clips[1].motion->name, "static") == 0);
    hc_plan_free(plan);
    hc_request_free(req);
}

HC_TEST(render_validate_names_unknown_transition_and_motion) {
    hc_request *req = hc_test_request(
        "{" IMG3 ",\"settings\":{\"ai_effects\":{\"transitions\":[\"fade\",\"warp9\"]}}}");
    CHECK(req);
    hc_err err = {0};
    CHECK(hc_render_validate(req, &err) == HC_EINVAL);
    CHECK(strstr(err.msg, "settings.ai_effects.transitions[1]") && strstr(err.msg, "warp9") &&
          strstr(err.msg, "circleopen"));
    hc_request_free(req);
    req = hc_test_request("{" IMG3 ",\"settings\":{\"ai_effects\":{\"motions\":[\"wobble\"]}}}");
    CHECK(req);
    hc_err_clear(&err);
    CHECK(hc_render_validate(req, &err) == HC_EINVAL);
    CHECK(strstr(err.msg, "settings.ai_effects.motions[0]") && strstr(err.msg, "ken_burns"));
    hc_request_free(req);
}

HC_TEST(render_sampler_identity_is_exact_copy) {
    hc_yuv src, out;
    hc_test_pattern(&src, 64, 48, 3);
    hc_yuv_alloc(&out, 64, 48);
    hc_view v = {1, 0.5, 0.5};
    hc_sample_view(&src, &v, &out);
    char a[33], b[33];
    hc_test_md5(&src, a);
    hc_test_md5(&out, b);
    CHECK(strcmp(a, b) == 0);
    hc_yuv_fini(&src);
    hc_yuv_fini(&out);
}

/* The SSSE3 path and the portable path agree bit for bit on every view. */
HC_TEST(render_sampler_simd_matches_portable) {
    hc_yuv src, a, b;
    hc_test_pattern(&src, 300, 220, 3);
    hc_yuv_alloc(&a, 250, 180);
    hc_yuv_alloc(&b, 250, 180);
    uint64_t seed = 3;
    for (int i = 0; i < 200; i++) {
        hc_view v = {1 + hc_rand_unit(&seed) * 0.9, hc_rand_unit(&seed), hc_rand_unit(&seed)};
        hc_sampler_portable_only = false;
        hc_sample_view(&src, &v, &a);
        hc_sampler_portable_only = true;
        hc_sample_view(&src, &v, &b);
        hc_sampler_portable_only = false;
        char ha[33], hb[33];
        hc_test_md5(&a, ha);
        hc_test_md5(&b, hb);
        CHECKF(strcmp(ha, hb) == 0, "view %d (zoom %.3f) differs", i, v.zoom);
    }
    hc_yuv_fini(&src);
    hc_yuv_fini(&a);
    hc_yuv_fini(&b);
}

HC_TEST(render_sampler_half_pixel_shift_interpolates) {
    /* A horizontal ramp shifted by half a pixel gives the midpoints. */
    hc_yuv src, out;
    hc_yuv_alloc(&src, 80, 8);
    hc_yuv_fill(&src, 0, 128, 128);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 80; x++)
            src.plane[0][y * src.stride[0] + x] = (uint8_t)(x * 2);
    hc_yuv_alloc(&out, 40, 4);
    hc_sampler s;
    CHECK(hc_sampler_init(&s, src.plane[0], src.stride[0], 80, 8, 40, 4, 10.5, 2.0, 1.0, 1.0) == 0);
    uint8_t row[64];
    hc_sampler_row(&s, 0, row);
    for (int x = 0; x < 40; x++)
        CHECKF(row[x] == (uint8_t)((10 + x) * 2 + 1), "x=%d got %d", x, row[x]);
    hc_sampler_fini(&s);
    hc_yuv_fini(&src);
    hc_yuv_fini(&out);
}

/* Intensity-weighted centroid of the bright blob in a luma plane. */
static void centroid(const hc_yuv *img, double *cx, double *cy) {
    double sw = 0, sx = 0, sy = 0;
    for (int y = 0; y < img->h; y++)
        for (int x = 0; x < img->w; x++) {
            double w = img->plane[0][(size_t)y * img->stride[0] + x] - 16.0;
            if (w <= 0) continue;
            sw += w;
            sx += w * (x + 0.5);
            sy += w * (y + 0.5);
        }
    *cx = sx / sw;
    *cy = sy / sw;
}

/* A slow 5 % zoom over 4 s must glide: the blob's measured position follows
 * the ideal path within a small fraction of a pixel at every frame, and its
 * frame-to-frame steps match the ideal steps. Integer-pixel sampling (the
 * zoompan flaw) misses by up to half a pixel and moves in 0/1 px jumps. */
HC_TEST(render_slow_zoom_has_no_jitter) {
    const int W = 540, H = 960, frames = 120;
    const hc_motion *m = hc_motion_find("slow_zoom");
    CHECK(m && fabs(m->max_zoom - 1.05) < 1e-9);
    int cw = (int)ceil(W * m->max_zoom / 2) * 2, ch = (int)ceil(H * m->max_zoom / 2) * 2;
    hc_yuv canvas, out;
    CHECK(hc_yuv_alloc(&canvas, cw, ch) == 0 && hc_yuv_alloc(&out, W, H) == 0);
    hc_yuv_fill(&canvas, 16, 128, 128);
    const double bx = cw * 0.8, by = ch * 0.75, sigma = 6;
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++) {
            double d2 = (x + 0.5 - bx) * (x + 0.5 - bx) + (y + 0.5 - by) * (y + 0.5 - by);
            if (d2 < 25 * sigma * sigma)
                canvas.plane[0][(size_t)y * canvas.stride[0] + x] =
                    (uint8_t)(16 + 219 * exp(-d2 / (2 * sigma * sigma)) + 0.5);
        }
    double prev_mx = 0, prev_ex = 0, prev_my = 0, prev_ey = 0, max_err = 0, max_step_err = 0,
           total = 0;
    for (int i = 0; i < frames; i++) {
        hc_motion_params mp = {.t = i / (double)(frames - 1), .time_s = i / 30.0, .dur_s = 4};
        hc_view v;
        m->at(&mp, &v);
        hc_sample_view(&canvas, &v, &out);
        double mx, my;
        centroid(&out, &mx, &my);
        /* ideal: the window maps canvas -> output linearly */
        double vw = cw / v.zoom, vh = ch / v.zoom, left = v.cx * cw - vw / 2,
               top = v.cy * ch - vh / 2;
        double ex = (bx - left) * W / vw, ey = (by - top) * H / vh;
        double e = hypot(mx - ex, my - ey);
        if (e > max_err) max_err = e;
        if (i > 0) {
            double se = hypot((mx - prev_mx) - (ex - prev_ex), (my - prev_my) - (ey - prev_ey));
            if (se > max_step_err) max_step_err = se;
            total += hypot(ex - prev_ex, ey - prev_ey);
        }
        prev_mx = mx, prev_my = my, prev_ex = ex, prev_ey = ey;
    }
    CHECKF(total > 5, "the blob should travel several pixels (%.2f)", total);
    CHECKF(max_err < 0.05, "position error %.3f px", max_err);
    CHECKF(max_step_err < 0.03, "frame-to-frame step error %.3f px", max_step_err);
    hc_yuv_fini(&canvas);
    hc_yuv_fini(&out);
}

HC_TEST(render_transitions_start_at_a_and_end_at_b) {
    hc_yuv a, b, out;
    hc_test_pattern(&a, 96, 64, 0);
    hc_test_pattern(&b, 96, 64, 3);
    hc_yuv_alloc(&out, 96, 64);
    char ha[33], hb[33], ho[33];
    hc_test_md5(&a, ha);
    hc_test_md5(&b, hb);
    for (int i = 0; hc_transitions[i]; i++) {
        const hc_transition *t = hc_transitions[i];
        hc_transition_apply(t, 0, 7, &a, &b, &out);
        hc_test_md5(&out, ho);
        CHECKF(strcmp(ho, ha) == 0, "%s at p=0 is not a", t->name);
        hc_transition_apply(t, 1, 7, &a, &b, &out);
        hc_test_md5(&out, ho);
        CHECKF(strcmp(ho, hb) == 0, "%s at p=1 is not b", t->name);
        if (strcmp(t->name, "cut") == 0) continue;
        hc_transition_apply(t, 0.5, 7, &a, &b, &out);
        hc_test_md5(&out, ho);
        CHECKF(strcmp(ho, ha) && strcmp(ho, hb), "%s at p=0.5 is not a mix", t->name);
    }
    CHECK(hc_transition_find("crossfade") == hc_transition_find("fade"));
    CHECK(hc_transition_find("wipe") == hc_transition_find("wipeleft"));
    CHECK(hc_transition_find("nope") == NULL);
    hc_yuv_fini(&a);
    hc_yuv_fini(&b);
    hc_yuv_fini(&out);
}

HC_TEST(render_wipe_edge_is_soft) {
    /* Black to white wipe: the edge has intermediate values (anti-aliased). */
    hc_yuv a, b, out;
    hc_yuv_alloc(&a, 200, 20);
    hc_yuv_alloc(&b, 200, 20);
    hc_yuv_alloc(&out, 200, 20);
    hc_yuv_fill(&a, 16, 128, 128);
    hc_yuv_fill(&b, 235, 128, 128);
    hc_transition_apply(hc_transition_find("wiperight"), 0.5, 1, &a, &b, &out);
    int mid = 0;
    for (int x = 0; x < 200; x++) {
        uint8_t v = out.plane[0][x];
        if (v > 30 && v < 220) mid++;
        if (x > 0) CHECK(v <= out.plane[0][x - 1]); /* b enters from the left */
    }
    CHECKF(mid >= 3, "only %d edge pixels", mid);
    hc_yuv_fini(&a);
    hc_yuv_fini(&b);
    hc_yuv_fini(&out);
}

HC_TEST(render_motions_stay_inside_canvas_and_are_continuous) {
    for (int i = 0; hc_motions[i]; i++) {
        const hc_motion *m = hc_motions[i];
        hc_view prev = {0};
        for (int k = 0; k <= 300; k++) {
            hc_motion_params mp = {.t = k / 300.0, .time_s = k / 30.0, .dur_s = 10, .seed = 99};
            hc_view v;
            m->at(&mp, &v);
            CHECKF(v.zoom >= 1 - 1e-9 && v.zoom <= m->max_zoom + 1e-9, "%s zoom %.4f", m->name,
                   v.zoom);
            if (k > 0)
                CHECKF(fabs(v.zoom - prev.zoom) < 0.01 && fabs(v.cx - prev.cx) < 0.01 &&
                           fabs(v.cy - prev.cy) < 0.01,
                       "%s jumps at frame %d", m->name, k);
            prev = v;
        }
    }
}

HC_TEST(render_canvas_never_enlarges_small_photos) {
    hc_request *req =
        hc_test_request("{" IMG3 ",\"settings\":{\"vibe\":\"Chill\",\"target_duration\":8}}");
    CHECK(req);
    hc_plan *plan = NULL;
    CHECK(hc_plan_build(req, &plan, NULL) == 0);
    int w, h, mw, mh;
    hc_plan_canvas_size(plan, 0, &mw, &mh); /* 1080x1920 x slow_zoom 1.05 */
    CHECK(mw == 1134 && mh == 2016);
    hc_plan_canvas_for(plan, 0, HC_FIT_COVER, 8000, 6000, &w, &h); /* big photo: full canvas */
    CHECK(w == mw && h == mh);
    hc_plan_canvas_for(plan, 0, HC_FIT_COVER, 1280, 800, &w,
                       &h); /* 800 px tall covers 2016: native */
    CHECKF(h == 800 && abs(w - 450) <= 2, "%dx%d", w, h);
    hc_plan_canvas_for(plan, 0, HC_FIT_CONTAIN, 1280, 800, &w,
                       &h); /* 1280 wide fits 1134: no change */
    CHECK(w == mw && h == mh);
    hc_plan_canvas_for(plan, 0, HC_FIT_CONTAIN, 640, 400, &w, &h); /* 640 < 1134: native width */
    CHECKF(w == 640 && abs(h - 1138) <= 2, "%dx%d", w, h);
    hc_plan_canvas_for(plan, 0, HC_FIT_COVER, 4, 4, &w, &h);
    CHECK(w >= 16 && h >= 16);
    hc_plan_free(plan);
    hc_request_free(req);
}

/* Every name the vibe and preset tables use is a real effect: a vibe never
 * silently loses part of its look. */
HC_TEST(render_style_tables_name_real_effects) {
    for (int v = 0; v < HC_VIBE_COUNT; v++) {
        const hc_vibe_style *s = &hc_vibe_styles[v];
        CHECKF(hc_transition_find(s->transition), "%s: transition %s", s->name, s->transition);
        CHECKF(hc_motion_find(s->motion), "%s: motion %s", s->name, s->motion);
        CHECKF(hc_enum_lookup(hc_grade_names, s->grade) >= 0, "%s: grade %s", s->name, s->grade);
        CHECKF(hc_enum_lookup(hc_text_style_names, s->text_style) >= 0, "%s: text style", s->name);
        char fx[256];
        snprintf(fx, sizeof fx, "%s", s->fx);
        for (char *save = NULL, *t = strtok_r(fx, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
            char *eq = strchr(t, '=');
            if (eq) *eq = 0;
            CHECKF(hc_fx_find(t), "%s: effect %s", s->name, t);
        }
    }
    for (int p = 0; p < HC_PRESET_COUNT; p++) {
        CHECK(hc_transition_find(hc_preset_styles[p].transition));
        CHECK(!hc_preset_styles[p].motion || hc_motion_find(hc_preset_styles[p].motion));
    }
    /* and a plan of every vibe carries its effects, with no warnings */
    for (int v = 0; v < HC_VIBE_COUNT; v++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{" IMG3 ",\"settings\":{\"vibe\":\"%s\",\"target_duration\":6}}",
                 hc_vibe_names[v]);
        hc_request *req = hc_test_request(json);
        CHECK(req);
        hc_plan *plan = NULL;
        CHECK(hc_plan_build(req, &plan, NULL) == 0);
        CHECKF(plan->warnings.n == 0, "%s: %s", hc_vibe_names[v],
               plan->warnings.n ? plan->warnings.v[0] : "");
        const hc_clip *c = &plan->clips[0];
        CHECKF((c->n_canvas_fx + c->n_frame_fx > 0) == (hc_vibe_styles[v].fx[0] != 0), "%s effects",
               hc_vibe_names[v]);
        hc_plan_free(plan);
        hc_request_free(req);
    }
}

HC_TEST(render_validate_names_filters_overlays_animations) {
    static const struct {
        const char *settings, *field, *listed;
    } cases[] = {
        {"\"filters\":[\"vignette\",\"sparkle\"]", "settings.ai_effects.filters[1]", "film_grain"},
        {"\"overlays\":[\"lens_flare\"]", "settings.ai_effects.overlays[0]", "light_leak"},
        {"\"text_animations\":[\"typewriter\",\"spin\"]", "settings.ai_effects.text_animations[1]",
         "karaoke"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char json[512];
        snprintf(json, sizeof json, "{" IMG3 ",\"settings\":{\"ai_effects\":{%s}}}",
                 cases[i].settings);
        hc_request *req = hc_test_request(json);
        CHECK(req);
        hc_err err = {0};
        CHECK(hc_render_validate(req, &err) == HC_EINVAL);
        CHECKF(strstr(err.msg, cases[i].field) && strstr(err.msg, cases[i].listed), "%s", err.msg);
        hc_request_free(req);
    }
    hc_request *req = hc_test_request(
        "{" IMG3 ",\"settings\":{\"ai_effects\":{\"filters\":[\"bloom\",\"sepia_never\"]}}}");
    CHECK(req);
    hc_err err = {0};
    CHECK(hc_render_validate(req, &err) == HC_EINVAL && strstr(err.msg, "filters[1]"));
    hc_request_free(req);
}

/* With music, every cut lands on a beat (within a frame), 1-4 beats per
 * image preferring 1.0-1.5 s, the video still lasts exactly the target,
 * and images loop to fill it. */
HC_TEST(render_plan_cuts_on_beats) {
    static const double bpms[] = {74, 82, 120, 144};
    static const int fps[] = {24, 30, 60};
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 3; j++) {
            hc_beats b = {.bpm = bpms[i]};
            double beat_s = 60 / bpms[i], first = 0.137;
            b.n = (int)((20 - first) / beat_s) + 1;
            b.times = calloc((size_t)b.n, sizeof *b.times);
            for (int k = 0; k < b.n; k++)
                b.times[k] = first + k * beat_s;
            char json[256];
            snprintf(json, sizeof json,
                     "{" IMG3 ",\"settings\":{\"vibe\":\"Pop\",\"fps\":%d,\"target_duration\":15}}",
                     fps[j]);
            hc_request *req = hc_test_request(json);
            CHECK(req);
            hc_plan *plan = NULL;
            CHECK(hc_plan_build_music(req, &b, 20, &plan, NULL) == 0);
            CHECK(plan->n_frames == 15 * fps[j]);
            CHECK(plan->beats_per_clip >= 1 && plan->beats_per_clip <= 4);
            double per = plan->beats_per_clip * beat_s;
            CHECKF((per >= 1.0 - 1e-9 && per <= 1.5 + 1e-9) ||
                       (bpms[i] == 74 && per > 1.5 && per < 1.7),
                   "%g BPM: %d beats = %.2f s per image", bpms[i], plan->beats_per_clip, per);
            CHECK(plan->n_clips > 3 && plan->clips[3].image == 0);
            for (int c = 1; c < plan->n_clips; c++) {
                double t = (double)plan->clips[c].own_start / fps[j], best = 1e9;
                for (int k = 0; k < b.n; k++)
                    best = fabs(b.times[k] - t) < best ? fabs(b.times[k] - t) : best;
                CHECKF(best <= 1.0 / fps[j] + 1e-9,
                       "%g BPM @%d: cut %d at %.3f s is %.3f s off a beat", bpms[i], fps[j], c, t,
                       best);
            }
            hc_plan_free(plan);
            hc_request_free(req);
            free(b.times);
        }
    }
}

HC_TEST(render_plan_music_sets_auto_duration) {
    hc_beats b = {.bpm = 120, .n = 2};
    double t[2] = {0.5, 1.0};
    b.times = t;
    hc_request *req = hc_test_request("{" IMG3 ",\"settings\":{\"vibe\":\"Pop\"}}");
    CHECK(req);
    hc_plan *plan = NULL;
    CHECK(hc_plan_build_music(req, &b, 12.5, &plan, NULL) ==
          0); /* music shorter than Pop's 20 s max */
    CHECK(plan->n_frames == 375);
    hc_plan_free(plan);
    CHECK(hc_plan_build_music(req, &b, 95, &plan, NULL) == 0); /* capped by the vibe's maximum */
    CHECK(plan->n_frames == 600);
    hc_plan_free(plan);
    hc_request_free(req);
}

/* On-beat overlays (Energetic: flash, pulse) fire on the music's beats,
 * including beats that are not cuts: on flat grey pictures the frame on a
 * beat is brighter than the frame between beats. */
HC_TEST(render_beat_effects_follow_the_music) {
    hc_beats b = {.bpm = 120, .n = 40};
    b.times = calloc(40, sizeof *b.times);
    for (int k = 0; k < 40; k++)
        b.times[k] = 0.25 + k * 0.5;
    hc_request *req =
        hc_test_request("{" IMG3 ",\"settings\":{\"vibe\":\"Energetic\",\"resolution\":\"720p\","
                        "\"aspect_ratio\":\"1:1\",\"fps\":30,\"target_duration\":8}}");
    CHECK(req);
    hc_plan *plan = NULL;
    CHECK(hc_plan_build_music(req, &b, 20, &plan, NULL) == 0);
    CHECK(plan->beats_per_clip >= 2); /* so some beats fall inside clips */
    hc_yuv *cv = calloc((size_t)plan->n_clips, sizeof *cv);
    const hc_yuv **ptr = calloc((size_t)plan->n_clips, sizeof *ptr);
    for (int c = 0; c < plan->n_clips; c++) {
        int w, h;
        hc_plan_canvas_size(plan, c, &w, &h);
        hc_yuv_alloc(&cv[c], w, h);
        hc_yuv_fill(&cv[c], 100, 128, 128);
        ptr[c] = &cv[c];
    }
    hc_yuv out;
    hc_yuv_alloc(&out, plan->width, plan->height);
    hc_scratch scratch = {0};
    int checked = 0;
    for (int k = 2; k < 14; k++) {
        int64_t on = llround(b.times[k] * 30), mid = llround((b.times[k] + 0.25) * 30);
        bool cut = false;
        for (int c = 1; c < plan->n_clips; c++)
            if (llabs(plan->clips[c].own_start - on) <= 8) cut = true;
        if (cut) continue; /* a beat inside a clip, away from transitions */
        double m[2];
        for (int i = 0; i < 2; i++) {
            CHECK(hc_compose_frame(plan, i ? mid : on, ptr, &scratch, &out) == 0);
            double sum = 0;
            for (int y = 0; y < out.h; y += 4)
                for (int x = 0; x < out.w; x += 4)
                    sum += out.plane[0][(size_t)y * out.stride[0] + x];
            m[i] = sum / ((out.h / 4) * (out.w / 4));
        }
        CHECKF(m[0] > m[1] + 5, "beat %d (%.2f s): on-beat mean %.1f vs between beats %.1f", k,
               b.times[k], m[0], m[1]);
        checked++;
    }
    CHECK(checked >= 2);
    hc_scratch_fini(&scratch);
    hc_yuv_fini(&out);
    for (int c = 0; c < plan->n_clips; c++)
        hc_yuv_fini(&cv[c]);
    free(cv);
    free(ptr);
    free(b.times);
    hc_plan_free(plan);
    hc_request_free(req);
}
