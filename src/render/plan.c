/* The planner: turns a request into a timeline. The video lasts exactly
 * round(target * fps) frames; it is cut into n = round(target / pace)
 * equal clips, or with music at every k-th beat (images loop to fill
 * them); each boundary gets a transition centred on it, overlapping both
 * neighbours, so transitions never shorten the video. Each clip also gets
 * its grade and effects. Every choice derives from the request, the music
 * and settings.seed. */
#include "render/render_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix_seed(uint64_t seed, uint64_t k) {
    uint64_t s = seed ^ (k * 0x9e3779b97f4a7c15ULL);
    return hc_rand_next(&s);
}

/* Add effect `name` at `strength` to clip c, at the stage it belongs to.
 * A name this build does not draw is reported once, not dropped silently. */
static void add_fx(hc_plan *plan, hc_clip *c, const char *name, double strength) {
    const hc_fx *fx = hc_fx_find(name);
    if (!fx) {
        for (int i = 0; i < plan->warnings.n; i++)
            if (strstr(plan->warnings.v[i], name)) return;
        hc_strlist_add(&plan->warnings, "effect \"%s\" is not built yet; skipped", name);
        return;
    }
    hc_fx_use *list = fx->stage == HC_FX_CANVAS ? c->canvas_fx : c->frame_fx;
    int *n = fx->stage == HC_FX_CANVAS ? &c->n_canvas_fx : &c->n_frame_fx;
    for (int i = 0; i < *n; i++)
        if (list[i].fx == fx) return; /* already there (vibe and ai_effects alike) */
    if (*n < HC_MAX_CLIP_FX) list[(*n)++] = (hc_fx_use){fx, strength};
}

/* "glow=0.6 shake flash=0.8": the vibe's effects, strength 1 by default. */
static void add_fx_spec(hc_plan *plan, hc_clip *c, const char *spec) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        double strength = 1;
        if (eq) {
            *eq = 0;
            strength = atof(eq + 1);
        }
        add_fx(plan, c, tok, strength);
    }
}

/* Beats per image: k in 1..4 so k beats last 1.0-1.5 s (the middle
 * preferred), or as near cut_duration as possible when it is given. */
static int beats_per_clip(double beat_s, double cut_s) {
    int best = 1;
    double best_cost = 1e9;
    for (int k = 1; k <= 4; k++) {
        double len = k * beat_s;
        double cost = cut_s > 0   ? fabs(len - cut_s)
                      : len < 1.0 ? 1.0 - len
                      : len > 1.5 ? len - 1.5
                                  : fabs(len - 1.25) * 0.01;
        if (cost < best_cost) best_cost = cost, best = k;
    }
    return best;
}

/* Clip boundaries on beats: frame numbers of every k-th beat, skipping cuts
 * in the first 0.3 s and any that would leave a last clip shorter than half
 * the others. Returns the number of clips; *bound gets n + 1 entries. */
static long beat_bounds(const hc_plan *plan, const hc_beats *b, double cut_s, int64_t **bound) {
    double beat_s = 60.0 / b->bpm, end_s = plan->duration_s;
    int k = beats_per_clip(beat_s, cut_s);
    int64_t *bd = hc_xcalloc((size_t)b->n / (size_t)k + 2, sizeof *bd);
    long n = 0;
    bd[0] = 0;
    for (int i = k - 1; i < b->n; i += k) {
        double t = b->times[i];
        if (t < 0.3 || t > end_s - 0.5 * k * beat_s) continue;
        int64_t f = llround(t * plan->fps);
        if (f <= bd[n] || f >= plan->n_frames) continue;
        bd[++n] = f;
    }
    bd[++n] = plan->n_frames;
    *bound = bd;
    return n;
}

int hc_plan_build(const hc_request *req, hc_plan **out, hc_err *err) {
    return hc_plan_build_music(req, NULL, 0, out, err);
}

int hc_plan_build_music(const hc_request *req, const hc_beats *beats, double music_s, hc_plan **out,
                        hc_err *err) {
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
    if (s->target_duration_s <= 0 && music_s > 0)
        target = music_s < vs->auto_max_s ? music_s : vs->auto_max_s;
    plan->pace_s = s->cut_duration_s > 0 ? s->cut_duration_s : vs->pace_s;
    plan->n_frames = llround(target * plan->fps);
    if (plan->n_frames < 1) plan->n_frames = 1;
    plan->duration_s = (double)plan->n_frames / plan->fps;
    bool on_beat = beats && beats->bpm > 0 && beats->n > 1;
    int64_t *bound = NULL;
    long n;
    if (on_beat) {
        n = beat_bounds(plan, beats, s->cut_duration_s, &bound);
        plan->beats_per_clip = beats_per_clip(60.0 / beats->bpm, s->cut_duration_s);
        plan->pace_s = plan->duration_s / (double)n;
        plan->n_beats = beats->n;
        plan->beats_s = hc_xcalloc((size_t)beats->n, sizeof *plan->beats_s);
        memcpy(plan->beats_s, beats->times, sizeof *plan->beats_s * (size_t)beats->n);
    } else {
        n = lround(target / plan->pace_s);
        if (n < 1) n = 1;
        if (n > plan->n_frames) n = (long)plan->n_frames;
        bound = hc_xcalloc((size_t)n + 1, sizeof *bound);
        for (long k = 0; k <= n; k++)
            bound[k] = (int64_t)((double)k * (double)plan->n_frames / (double)n + 0.5);
    }
    plan->n_clips = (int)n;
    plan->clips = hc_xcalloc((size_t)n, sizeof *plan->clips);

    bool use_ai = s->use_ai_effects;
    const hc_name_list *ait = &s->ai_transitions, *aim = &s->ai_motions;
    int64_t *ts = hc_xcalloc((size_t)n + 1, sizeof *ts);
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
        if (!tr) { /* names are validated; a style table naming no transition is a bug */
            hc_plan_free(plan);
            free(bound);
            free(ts);
            return hc_err_set(err, HC_EINTERNAL, "style tables: unknown transition \"%s\"", tn);
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
    /* Grades and effects: the request's colour_grade, else the vibe's; the
     * vibe's effects on every clip; ai_effects filters and overlays, entry
     * i on clip i, cycling. */
    int grade = s->color_grade != HC_GRADE_NONE ? (int)s->color_grade
                                                : hc_enum_lookup(hc_grade_names, vs->grade);
    const hc_name_list *aif = &s->ai_filters, *aio = &s->ai_overlays;
    bool minimal = s->effect_preset == HC_PRESET_MINIMAL;
    for (long k = 0; k < n; k++) {
        hc_clip *c = &plan->clips[k];
        c->grade = grade;
        if (!minimal) add_fx_spec(plan, c, vs->fx);
        if (use_ai && aif->n) add_fx(plan, c, aif->v[k % aif->n], 1);
        if (use_ai && aio->n) add_fx(plan, c, aio->v[k % aio->n], 1);
    }
    plan->text_style = s->text_style != HC_TEXT_NONE
                           ? (int)s->text_style
                           : hc_enum_lookup(hc_text_style_names, vs->text_style);
    ts[n] = plan->n_frames;
    for (long k = 0; k < n; k++) {
        hc_clip *c = &plan->clips[k];
        c->start = ts[k];
        c->end = k + 1 < n ? ts[k + 1] + plan->clips[k + 1].tr_in_frames : plan->n_frames;
    }
    free(bound);
    free(ts);
    *out = plan;
    return 0;
}

void hc_plan_free(hc_plan *plan) {
    if (!plan) return;
    free(plan->clips);
    free(plan->beats_s);
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
