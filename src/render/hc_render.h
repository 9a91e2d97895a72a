/* Render: from a validated request to frames. The planner turns a request
 * into a timeline (clips, motions, transitions, frame counts); the
 * compositor draws any frame of it in YUV 4:2:0 straight from prepared
 * canvases (fixed-point bilinear sampling, no RGB round trip); the pipeline
 * runs fetch, canvas preparation, composition and encoding concurrently.
 *
 * Invariant: a frame is a pure function of the plan, the canvases and the
 * frame index, so frames can be composed out of order on any thread and
 * golden tests can hash them. */
#ifndef HC_RENDER_H
#define HC_RENDER_H

#include "core/hc_core.h"
#include "jobs/hc_jobs.h"
#include "media/hc_media.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- motions ------------------------------------------------------------ */
/* The visible window of a canvas: zoom >= 1 (1 = the whole canvas) centred
 * at (cx, cy) in canvas units 0..1; the window is clamped inside. */
typedef struct hc_view {
    double zoom, cx, cy;
} hc_view;

typedef struct hc_motion_params {
    double t;      /* 0..1 over the clip's visible span */
    double time_s; /* seconds since the clip became visible */
    double dur_s;  /* the clip's visible span in seconds */
    uint64_t seed; /* per clip: direction, phase */
} hc_motion_params;

typedef struct hc_motion {
    const char *name;
    const char *desc;
    double max_zoom; /* the canvas is prepared at output size x max_zoom */
    void (*at)(const hc_motion_params *p, hc_view *v);
} hc_motion;

/* Find by name (or alias "pan" = seeded direction): NULL if unknown. */
const hc_motion *hc_motion_find(const char *name);
/* The registry, NULL-terminated. */
extern const hc_motion *const hc_motions[];

/* ---- transitions --------------------------------------------------------
 * A transition blends the outgoing frame a into the incoming frame b, one
 * plane at a time. Adding one = one small file tr_<name>.c defining a
 * const hc_transition, plus one line in the table in transitions.c. */
typedef struct hc_tr_plane {
    uint8_t *dst;
    const uint8_t *a, *b;
    int dst_stride, a_stride, b_stride;
    int w, h;             /* this plane's size */
    int sub;              /* 1 luma, 2 chroma (subsampling factor) */
    int plane;            /* 0 Y, 1 U, 2 V */
    double p;             /* eased progress 0..1 (0 = all a, 1 = all b) */
    uint8_t black, white; /* this plane's black and white levels */
    uint64_t seed;
} hc_tr_plane;

typedef enum { HC_EASE_SMOOTH, HC_EASE_LINEAR, HC_EASE_BOUNCE } hc_easing;

typedef struct hc_transition {
    const char *name;
    const char *desc;
    hc_easing easing;
    void (*plane)(const hc_tr_plane *t);
} hc_transition;

/* The registry, NULL-terminated. */
extern const hc_transition *const hc_transitions[];
/* Find by name or alias (crossfade, wipe, slide, flash, gl_* ...); NULL if
 * unknown or not built yet. */
const hc_transition *hc_transition_find(const char *name);
/* Other accepted names (the original engine's, gl_*) and the real
 * transition each stands for; terminated by {NULL, NULL}. */
typedef struct hc_transition_alias {
    const char *alias, *name;
} hc_transition_alias;
extern const hc_transition_alias hc_transition_aliases[];
/* Apply t at progress p (0..1, eased here) to full frames a, b -> dst. */
void hc_transition_apply(const hc_transition *t, double p, uint64_t seed, const hc_yuv *a,
                         const hc_yuv *b, hc_yuv *dst);

/* ---- colour grades and effects (DESIGN.md §5) ---------------------------
 * Grades and static filters are applied once to each clip's canvas, when
 * it is prepared (a per-pixel lookup over a photo costs almost nothing per
 * frame); temporal overlays are applied to each composed frame. */

/* Apply a colour grade (an hc_grade value; HC_GRADE_NONE and
 * HC_GRADE_NATURAL leave img unchanged) to img in place. Thread-safe.
 * Implemented as a lookup table built once per grade (grade.c). */
int hc_grade_apply(int grade, hc_yuv *img);

typedef enum { HC_FX_CANVAS, HC_FX_FRAME } hc_fx_stage;

typedef struct hc_fx_ctx {
    int64_t frame;       /* frame index in the video (HC_FX_FRAME) */
    double time_s;       /* seconds since the start of the video */
    double clip_time_s;  /* seconds since the current clip appeared */
    double since_beat_s; /* seconds since the last beat (clip boundaries until
                          * music brings real beats); < 0 before the first */
    double strength;     /* 0..1, the vibe's amount (1 = reference look) */
    uint64_t seed;       /* per video (frame effects) or per clip (canvas) */
    int out_w, out_h;    /* the output frame size */
} hc_fx_ctx;

typedef struct hc_fx {
    const char *name;
    const char *desc;
    hc_fx_stage stage;
    /* Modify img in place. Thread-safe, no allocation in the steady state
     * beyond what it frees before returning. */
    void (*apply)(const hc_fx_ctx *c, hc_yuv *img);
} hc_fx;

/* Registries, NULL-terminated: canvas-stage filters (fx_canvas.c) and
 * frame-stage overlays (fx_frame.c). */
extern const hc_fx *const hc_fx_canvas[];
extern const hc_fx *const hc_fx_frame[];
/* Find a filter or overlay by name in either registry (aliases: bloom =
 * glow; color_wash_* are separate entries). NULL if unknown. */
const hc_fx *hc_fx_find(const char *name);

/* ---- captions (captions.c, libass) ------------------------------------- */
typedef struct hc_captions hc_captions;
/* Build the captions of req->script for a w x h video of duration_s, in
 * text style `style` (an hc_text_style value) with the given animation
 * names per line (NULL = the style's own). Lines starting past the end are
 * dropped, lines crossing it clipped. *out: caller frees with
 * hc_captions_free (NULL when there are no lines). */
int hc_captions_new(const hc_request *req, int w, int h, double duration_s, int style,
                    const hc_name_list *animations, hc_captions **out, hc_err *err);
/* Draw what is visible at time_s onto frame. Thread-safe. */
int hc_captions_draw(hc_captions *c, double time_s, hc_yuv *frame);
void hc_captions_free(hc_captions *c);
/* The text animation names (settings.ai_effects.text_animations),
 * NULL-terminated; hc_captions_new ignores names not in it. */
extern const char *const hc_text_animation_names[];

/* ---- styles (DESIGN.md §4) ---------------------------------------------- */
typedef struct hc_vibe_style {
    const char *name;
    double pace_s;
    const char *transition;
    double transition_s;
    const char *motion;
    const char *grade, *text_style, *effects;
    double auto_min_s, auto_max_s;
    /* The effects as filter/overlay names with strengths, applied to every
     * clip: "glow=0.6 shake flash=0.8" (strength 1 when omitted). */
    const char *fx;
} hc_vibe_style;
extern const hc_vibe_style hc_vibe_styles[HC_VIBE_COUNT];

typedef struct hc_preset_style {
    const char *name, *transition;
    double transition_s;
    const char *motion; /* NULL = the vibe's */
} hc_preset_style;
extern const hc_preset_style hc_preset_styles[HC_PRESET_COUNT];

/* Check the names the style library owns (settings.ai_effects entries,
 * names in a vibe table). HC_EINVAL naming the field and the allowed
 * names. */
int hc_render_validate(const hc_request *req, hc_err *err);

/* ---- plan --------------------------------------------------------------- */
enum { HC_MAX_CLIP_FX = 8 };

typedef struct hc_fx_use {
    const hc_fx *fx;
    double strength;
} hc_fx_use;

typedef struct hc_clip {
    int image;          /* index into req->images (sorted order) */
    int64_t start, end; /* visible frames [start, end), overlaps included */
    int64_t own_start;  /* first frame that belongs to this clip alone */
    const hc_motion *motion;
    const hc_transition *tr_in; /* from the previous clip (NULL = first) */
    int64_t tr_in_frames;       /* overlap with the previous clip (0 = cut) */
    uint64_t seed;
    int grade; /* hc_grade applied to the canvas */
    hc_fx_use canvas_fx[HC_MAX_CLIP_FX], frame_fx[HC_MAX_CLIP_FX];
    int n_canvas_fx, n_frame_fx;
} hc_clip;

typedef struct hc_plan {
    int width, height, fps;
    int64_t n_frames;
    double duration_s;
    hc_clip *clips;
    int n_clips;
    double pace_s;
    uint64_t seed;
    int text_style;  /* hc_text_style for captions */
    double *beats_s; /* beat times of the soundtrack (owned), or NULL */
    int n_beats;
    int beats_per_clip; /* 1..4 when cuts follow the beat, else 0 */
    hc_strlist warnings;
} hc_plan;

/* Build the timeline without music. Caller frees with hc_plan_free. */
int hc_plan_build(const hc_request *req, hc_plan **out, hc_err *err);
/* Build the timeline for a soundtrack whose beats are `beats` (times from
 * the start of the video) and whose music lasts music_s (the played
 * segment, before looping; used when target_duration is 0: the music
 * length capped by the vibe's maximum). Cuts land on beats: every k-th
 * beat, k in 1..4 chosen so an image lasts 1.0-1.5 s where possible (or
 * nearest to cut_duration when given). beats NULL or empty: as without
 * music. */
int hc_plan_build_music(const hc_request *req, const hc_beats *beats, double music_s, hc_plan **out,
                        hc_err *err);
void hc_plan_free(hc_plan *plan);
/* The clip(s) visible at frame f: *a the current (or outgoing) clip, *b the
 * incoming one during a transition (else -1), *p the transition progress. */
void hc_plan_at(const hc_plan *plan, int64_t f, int *a, int *b, double *p);
/* Canvas size for a clip: output size scaled by its motion's max zoom. */
void hc_plan_canvas_size(const hc_plan *plan, int clip, int *w, int *h);
/* The canvas actually prepared for a clip whose photo is src_w x src_h
 * (as displayed): hc_plan_canvas_size, reduced to the photo's own
 * resolution when the photo would have to be enlarged (the compositor's
 * sampler enlarges it per frame for free; enlarging it in advance would
 * only cost decode time and memory). Never below 16 x 16. */
void hc_plan_canvas_for(const hc_plan *plan, int clip, hc_fit fit, int src_w, int src_h, int *w,
                        int *h);

/* ---- compositor ---------------------------------------------------------- */
/* Draw the window v of canvas into out (out's size), bilinear, fixed-point
 * with 1/256 pixel precision. Thread-safe. */
void hc_sample_view(const hc_yuv *canvas, const hc_view *v, hc_yuv *out);
/* The view of clip c at frame f. */
void hc_clip_view(const hc_plan *plan, int c, int64_t f, hc_view *v);

typedef struct hc_scratch {
    hc_yuv a, b; /* transition inputs, allocated on first need */
} hc_scratch;
void hc_scratch_fini(hc_scratch *s);
/* Compose frame f into out: the clip views, the transition, the frame
 * overlays. canvases[c] must be ready (graded, filtered) for every clip
 * visible at f. scratch is per thread. */
int hc_compose_frame(const hc_plan *plan, int64_t f, const hc_yuv *const *canvases,
                     hc_scratch *scratch, hc_yuv *out);
/* Grade and filter a freshly prepared canvas of clip c. */
void hc_clip_finish_canvas(const hc_plan *plan, int c, hc_yuv *canvas);

/* ---- pipeline ---------------------------------------------------------- */
typedef struct hc_progress {
    const char *stage; /* "downloading", "analyzing", "rendering", "finalizing" */
    int64_t done, total;
    double eta_s; /* < 0 when unknown */
} hc_progress;

typedef struct hc_render_opts {
    const char *out_path;    /* the MP4 (written to a temp name, renamed at the end) */
    const char *poster_path; /* the JPEG poster (NULL = none) */
    const char *work_dir;    /* downloads (NULL = a temp dir made and removed here) */
    bool null_sink;          /* compose but do not encode (benchmarks) */
    bool allow_local;        /* bare paths / file:// images */
    const char *use_nvenc;   /* value of USE_NVENC (NULL = unset) */
    int compose_threads;     /* 0 = number of cores */
    void (*progress)(void *ud, const hc_progress *p);
    void *ud;
    atomic_int *cancel; /* set non-zero to stop (HC_ECANCELED) */
    /* Called with each composed frame, in order, before it is encoded, on
     * the calling thread (previews, tests hashing raw frames). A non-zero
     * return (an HC_E* code) stops the render with that code, as any other
     * failure: no output is left behind. May be NULL. */
    int (*on_frame)(void *ud, int64_t index, const hc_yuv *frame);
} hc_render_opts;

typedef struct hc_render_result {
    char encoder[32];
    char encoder_reason[256];
    int width, height, fps;
    int64_t frames;
    double duration_s; /* of the video */
    double render_s;   /* wall time */
    double bpm;        /* the music's tempo (0: no music or no beat found) */
    double *cuts_s;    /* times of the cuts between images (owned) */
    int n_cuts;
    hc_strlist warnings;
} hc_render_result;

/* Render req into opts->out_path (+ poster). Validates names first. On
 * failure nothing is left at out_path. result: caller frees with
 * hc_render_result_fini. */
int hc_render_run(const hc_request *req, const hc_render_opts *opts, hc_render_result *result,
                  hc_err *err);
void hc_render_result_fini(hc_render_result *r);

#endif
