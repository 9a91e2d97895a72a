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

/* Seconds since the last beat at frame f: the soundtrack's beats, or
 * without music the clip boundaries; < 0 before the first. */
static double since_beat(const hc_plan *plan, int64_t f) {
    double t = (double)f / plan->fps;
    if (plan->n_beats > 0) {
        int lo = 0, hi = plan->n_beats - 1;
        if (plan->beats_s[0] > t + 1e-9) return -1;
        while (lo < hi) { /* the last beat at or before t */
            int mid = (lo + hi + 1) / 2;
            if (plan->beats_s[mid] <= t + 1e-9)
                lo = mid;
            else
                hi = mid - 1;
        }
        return t - plan->beats_s[lo] < 0 ? 0 : t - plan->beats_s[lo];
    }
    for (int k = plan->n_clips - 1; k >= 1; k--)
        if (plan->clips[k].own_start <= f)
            return (double)(f - plan->clips[k].own_start) / plan->fps;
    return -1;
}

static void frame_fx(const hc_plan *plan, int64_t f, int a, int b, double p, hc_yuv *out) {
    const hc_clip *c = &plan->clips[b >= 0 && p >= 0.5 ? b : a];
    hc_fx_ctx ctx = {
        .frame = f,
        .time_s = (double)f / plan->fps,
        .clip_time_s = (double)(f - c->start) / plan->fps,
        .since_beat_s = since_beat(plan, f),
        .seed = plan->seed,
        .out_w = plan->width,
        .out_h = plan->height,
    };
    for (int i = 0; i < c->n_frame_fx; i++) {
        ctx.strength = c->frame_fx[i].strength;
        c->frame_fx[i].fx->apply(&ctx, out);
    }
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
        frame_fx(plan, f, a, b, p, out);
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
    frame_fx(plan, f, a, b, p, out);
    return 0;
}

void hc_clip_finish_canvas(const hc_plan *plan, int c, hc_yuv *canvas) {
    const hc_clip *clip = &plan->clips[c];
    hc_grade_apply(clip->grade, canvas);
    hc_fx_ctx ctx = {
        .seed = clip->seed, .out_w = plan->width, .out_h = plan->height, .since_beat_s = -1};
    for (int i = 0; i < clip->n_canvas_fx; i++) {
        ctx.strength = clip->canvas_fx[i].strength;
        clip->canvas_fx[i].fx->apply(&ctx, canvas);
    }
}
