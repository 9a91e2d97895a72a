/* The planner: turns a request into a timeline. The video lasts exactly
 * round(target * fps) frames; it is cut into n = round(target / pace)
 * equal clips (images loop to fill them); each boundary gets a transition
 * centred on it, overlapping both neighbours, so transitions never shorten
 * the video. Every choice derives from the request and settings.seed. */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix_seed(uint64_t seed, uint64_t k) {
    uint64_t s = seed ^ (k * 0x9e3779b97f4a7c15ULL);
    return hc_rand_next(&s);
}

/* Effects of the style library that this build does not draw yet are
 * reported, not silently dropped. */
static void warn_unbuilt(const hc_request *req, const hc_vibe_style *vs, hc_strlist *w) {
    const hc_settings *s = &req->settings;
    const char *grade =
        s->color_grade == HC_GRADE_NONE ? vs->grade : hc_grade_names[s->color_grade];
    if (strcmp(grade, "natural") != 0)
        hc_strlist_add(w, "color grade \"%s\" is not applied yet (style library pending)", grade);
    if (vs->effects[0] && !(s->effect_preset == HC_PRESET_MINIMAL))
        hc_strlist_add(w, "vibe %s effects (%s) are not applied yet (style library pending)",
                       vs->name, vs->effects);
    if (req->n_lines > 0)
        hc_strlist_add(w, "script.lines: %d caption line(s) not drawn yet (captions pending)",
                       req->n_lines);
    if (req->has_audio)
        hc_strlist_add(w, "audio: music is not mixed yet (audio pending); the video is silent");
    if (s->ai_filters.n || s->ai_overlays.n || s->ai_text_animations.n)
        hc_strlist_add(w,
                       "settings.ai_effects filters/overlays/text_animations are not applied yet");
}

int hc_plan_build(const hc_request *req, hc_plan **out, hc_err *err) {
    *out = NULL;
    if (req->n_images < 1)
        return hc_err_set(err, HC_EINVAL, "images: must contain at least one image");
    const hc_settings *s = &req->settings;
    hc_plan *plan = hc_xcalloc(1, sizeof *plan);
    hc_output_size(s->aspect, s->resolution, &plan->width, &plan->height);
    plan->fps = s->fps;
    plan->seed = s->seed;

    const hc_vibe_style *vs = &hc_vibe_styles[s->vibe];
    const char *tr_name = vs->transition, *motion_name = vs->motion;
    double tr_s = vs->transition_s;
    if (s->effect_preset != HC_PRESET_NONE) {
        const hc_preset_style *ps = &hc_preset_styles[s->effect_preset];
        tr_name = ps->transition;
        tr_s = ps->transition_s;
        if (ps->motion) motion_name = ps->motion;
    }
    double target =
        s->target_duration_s > 0 ? s->target_duration_s : (vs->auto_min_s + vs->auto_max_s) / 2;
    plan->pace_s = s->cut_duration_s > 0 ? s->cut_duration_s : vs->pace_s;
    plan->n_frames = llround(target * plan->fps);
    if (plan->n_frames < 1) plan->n_frames = 1;
    plan->duration_s = (double)plan->n_frames / plan->fps;
    long n = lround(target / plan->pace_s);
    if (n < 1) n = 1;
    if (n > plan->n_frames) n = (long)plan->n_frames;
    plan->n_clips = (int)n;
    plan->clips = hc_xcalloc((size_t)n, sizeof *plan->clips);

    bool use_ai = s->use_ai_effects;
    const hc_name_list *ait = &s->ai_transitions, *aim = &s->ai_motions;
    int64_t *bound = hc_xcalloc((size_t)n + 1, sizeof *bound),
            *ts = hc_xcalloc((size_t)n + 1, sizeof *ts);
    for (long k = 0; k <= n; k++)
        bound[k] = (int64_t)((double)k * (double)plan->n_frames / (double)n + 0.5);
    for (long k = 0; k < n; k++) {
        hc_clip *c = &plan->clips[k];
        c->image = (int)(k % req->n_images);
        c->own_start = bound[k];
        c->seed = mix_seed(plan->seed, (uint64_t)k);
        const char *mn = use_ai && aim->n ? aim->v[k % aim->n] : motion_name;
        c->motion = hc_motion_find(mn);
        if (!c->motion) c->motion = hc_motion_find("static");
        ts[k] = bound[k];
        if (k == 0) continue;
        const char *tn = use_ai && ait->n ? ait->v[(k - 1) % ait->n] : tr_name;
        const hc_transition *tr = hc_transition_find(tn);
        if (!tr) {
            tr = hc_transition_find("fade");
            bool said = false;
            for (int i = 0; i < plan->warnings.n; i++)
                if (strstr(plan->warnings.v[i], tn)) said = true;
            if (!said)
                hc_strlist_add(&plan->warnings,
                               "transition \"%s\" is not built yet; rendered as a crossfade", tn);
        }
        int64_t d = strcmp(tr->name, "cut") == 0 ? 0 : llround(tr_s * plan->fps);
        if (tr_s > 0 && d < 2 && strcmp(tr->name, "cut") != 0) d = 2;
        int64_t room = bound[k] - bound[k - 1];
        if (bound[k + 1] - bound[k] < room) room = bound[k + 1] - bound[k];
        if (d > room) d = room;
        c->tr_in = tr;
        c->tr_in_frames = d;
        ts[k] = bound[k] - d / 2;
    }
    ts[n] = plan->n_frames;
    for (long k = 0; k < n; k++) {
        hc_clip *c = &plan->clips[k];
        c->start = ts[k];
        c->end = k + 1 < n ? ts[k + 1] + plan->clips[k + 1].tr_in_frames : plan->n_frames;
    }
    free(bound);
    free(ts);
    warn_unbuilt(req, vs, &plan->warnings);
    *out = plan;
    return 0;
}

void hc_plan_free(hc_plan *plan) {
    if (!plan) return;
    free(plan->clips);
    hc_strlist_fini(&plan->warnings);
    free(plan);
}

void hc_plan_at(const hc_plan *plan, int64_t f, int *a, int *b, double *p) {
    /* The latest clip that has started; clips are few, and sorted. */
    int lo = 0, hi = plan->n_clips - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (plan->clips[mid].start <= f)
            lo = mid;
        else
            hi = mid - 1;
    }
    const hc_clip *c = &plan->clips[lo];
    if (lo > 0 && c->tr_in_frames > 0 && f < c->start + c->tr_in_frames) {
        *a = lo - 1;
        *b = lo;
        *p = ((double)(f - c->start) + 0.5) / (double)c->tr_in_frames;
    } else {
        *a = lo;
        *b = -1;
        *p = 0;
    }
}

void hc_plan_canvas_size(const hc_plan *plan, int clip, int *w, int *h) {
    double z = plan->clips[clip].motion->max_zoom;
    *w = (int)ceil(plan->width * z / 2) * 2;
    *h = (int)ceil(plan->height * z / 2) * 2;
}

void hc_plan_canvas_for(const hc_plan *plan, int clip, hc_fit fit, int src_w, int src_h, int *w,
                        int *h) {
    int cw, ch;
    hc_plan_canvas_size(plan, clip, &cw, &ch);
    double sx = (double)cw / src_w, sy = (double)ch / src_h;
    double s = fit == HC_FIT_COVER ? (sx > sy ? sx : sy) : (sx < sy ? sx : sy);
    if (s <= 1) {
        *w = cw;
        *h = ch;
        return;
    }
    *w = (int)(cw / s / 2 + 0.5) * 2;
    *h = (int)(ch / s / 2 + 0.5) * 2;
    if (*w < 16) *w = 16;
    if (*h < 16) *h = 16;
}
