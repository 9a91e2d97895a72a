/* The compositor: one frame = the view of the current clip's canvas, or,
 * inside a transition, the views of both clips blended by the transition.
 * Pure function of (plan, canvases, frame), safe on any thread. */
#include "render/render_int.h"

void hc_clip_view(const hc_plan *plan, int c, int64_t f, hc_view *v) {
    const hc_clip *clip = &plan->clips[c];
    int64_t span = clip->end - clip->start;
    hc_motion_params mp = {
        .t = span > 1 ? (double)(f - clip->start) / (double)(span - 1) : 0,
        .time_s = (double)(f - clip->start) / plan->fps,
        .dur_s = (double)span / plan->fps,
        .seed = clip->seed,
    };
    clip->motion->at(&mp, v);
}

void hc_scratch_fini(hc_scratch *s) {
    hc_yuv_fini(&s->a);
    hc_yuv_fini(&s->b);
}

static int scratch_ready(hc_yuv *img, int w, int h) {
    if (img->plane[0] && img->w == w && img->h == h) return 0;
    hc_yuv_fini(img);
    return hc_yuv_alloc(img, w, h);
}

int hc_compose_frame(const hc_plan *plan, int64_t f, const hc_yuv *const *canvases,
                     hc_scratch *scratch, hc_yuv *out) {
    int a, b;
    double p;
    hc_view va, vb;
    hc_plan_at(plan, f, &a, &b, &p);
    hc_clip_view(plan, a, f, &va);
    if (b < 0) {
        hc_sample_view(canvases[a], &va, out);
        return 0;
    }
    int rc = scratch_ready(&scratch->a, out->w, out->h);
    if (rc == 0) rc = scratch_ready(&scratch->b, out->w, out->h);
    if (rc != 0) return rc;
    hc_clip_view(plan, b, f, &vb);
    hc_sample_view(canvases[a], &va, &scratch->a);
    hc_sample_view(canvases[b], &vb, &scratch->b);
    const hc_clip *cb = &plan->clips[b];
    hc_transition_apply(cb->tr_in, p, cb->seed, &scratch->a, &scratch->b, out);
    return 0;
}
