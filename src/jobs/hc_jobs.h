/* Render requests: parsing and validation of the JSON of DESIGN.md §2.
 *
 * hc_request_parse checks the whole request before any work is done and
 * fails on the first problem with a message naming the field path and the
 * rule (`settings.fps: must be one of 24, 25, 30, 50, 60`). A parsed
 * request is plain data: enums are resolved, images sorted by `order`,
 * defaults filled in. Names owned by the style library (transition, motion,
 * filter names inside settings.ai_effects) are only checked for shape here;
 * the render module checks the names themselves (hc_render_validate). */
#ifndef HC_JOBS_H
#define HC_JOBS_H

#include "core/hc_core.h"

#include <stdbool.h>
#include <stdint.h>

enum {
    HC_MAX_IMAGES = 200,
    HC_MAX_BODY_BYTES = 1 << 20, /* a request body larger than this is refused */
    HC_MAX_URL_LEN = 4096,
    HC_MAX_JOB_ID_LEN = 128,
    HC_MAX_LINES = 100,
    HC_MAX_LINE_CHARS = 500,      /* characters (code points), not bytes */
    HC_MAX_METADATA_BYTES = 1024, /* serialized compactly */
};
#define HC_MAX_TARGET_DURATION_S 600.0

/* Each enum has a names table (index = value) ending with NULL; the request
 * stores the index. Names are matched exactly, then case-insensitively. */
typedef enum {
    HC_VIBE_EXCITING,
    HC_VIBE_EMOTIONAL,
    HC_VIBE_POP,
    HC_VIBE_MINIMAL,
    HC_VIBE_CHILL,
    HC_VIBE_INTENSE,
    HC_VIBE_DREAMY,
    HC_VIBE_ENERGETIC,
    HC_VIBE_COUNT
} hc_vibe;
extern const char *const hc_vibe_names[]; /* "Exciting", ... "Energetic" */

typedef enum {
    HC_PRESET_NONE = -1,
    HC_PRESET_ZOOM_BEAT,
    HC_PRESET_CROSSFADE,
    HC_PRESET_BOUNCE,
    HC_PRESET_MINIMAL,
    HC_PRESET_PULSE_FLOW,
    HC_PRESET_GLITCH_WAVE,
    HC_PRESET_SLIDE,
    HC_PRESET_SWIRL,
    HC_PRESET_COUNT
} hc_preset;
extern const char *const hc_preset_names[];

typedef enum {
    HC_ASPECT_9_16,
    HC_ASPECT_16_9,
    HC_ASPECT_1_1,
    HC_ASPECT_4_5,
    HC_ASPECT_4_3,
    HC_ASPECT_COUNT
} hc_aspect;
extern const char *const hc_aspect_names[]; /* "9:16", "16:9", "1:1", "4:5", "4:3" */

typedef enum { HC_RES_720P, HC_RES_1080P, HC_RES_1440P, HC_RES_2160P, HC_RES_COUNT } hc_resolution;
extern const char *const hc_resolution_names[]; /* "720p", ... */

typedef enum {
    HC_TEXT_NONE = -1,
    HC_TEXT_BOLD_POP,
    HC_TEXT_FADE_IN,
    HC_TEXT_SLIDE_IN,
    HC_TEXT_MINIMAL,
    HC_TEXT_COUNT
} hc_text_style;
extern const char *const hc_text_style_names[];

typedef enum {
    HC_GRADE_NONE = -1,
    HC_GRADE_VIBRANT,
    HC_GRADE_CINEMATIC,
    HC_GRADE_BRIGHT,
    HC_GRADE_MOODY,
    HC_GRADE_NATURAL,
    HC_GRADE_BW,
    HC_GRADE_WARM,
    HC_GRADE_COOL,
    HC_GRADE_VINTAGE,
    HC_GRADE_SEPIA,
    HC_GRADE_COUNT
} hc_grade;
extern const char *const hc_grade_names[];

typedef enum { HC_FIT_COVER, HC_FIT_CONTAIN, HC_FIT_BLUR, HC_FIT_COUNT } hc_fit;
extern const char *const hc_fit_names[];

typedef enum { HC_HW_AUTO, HC_HW_GPU, HC_HW_CPU, HC_HW_COUNT } hc_hardware;
extern const char *const hc_hardware_names[];

typedef enum {
    HC_QUALITY_DRAFT,
    HC_QUALITY_STANDARD,
    HC_QUALITY_HIGH,
    HC_QUALITY_COUNT
} hc_quality;
extern const char *const hc_quality_names[];

/* Find name in a NULL-terminated table: exact first, then case-insensitive.
 * Returns the index or -1. */
int hc_enum_lookup(const char *const *names, const char *name);
/* "a, b, c" list of a table's names into buf, for error messages. */
void hc_enum_list(const char *const *names, char *buf, size_t len);

typedef enum { HC_URL_HTTP, HC_URL_HTTPS, HC_URL_S3, HC_URL_FILE, HC_URL_PATH } hc_url_kind;

typedef struct hc_image_ref {
    char *url; /* as given (owned) */
    hc_url_kind kind;
    int order; /* `order`, else the array index */
    int index; /* position in the request's images array */
    bool has_focus;
    double focus_x, focus_y; /* 0..1 */
} hc_image_ref;

typedef struct hc_caption {
    char *text;        /* UTF-8, owned */
    double timing_s;   /* start */
    double duration_s; /* > 0 */
} hc_caption;

typedef struct hc_name_list {
    char **v; /* owned strings */
    int n;
} hc_name_list;

typedef struct hc_settings {
    hc_vibe vibe;             /* default Pop */
    hc_preset effect_preset;  /* HC_PRESET_NONE when absent */
    hc_aspect aspect;         /* default 9:16 */
    double target_duration_s; /* 0 = automatic */
    double cut_duration_s;    /* 0 = absent (null); else clamped to 0.3..5 */
    hc_text_style text_style; /* HC_TEXT_NONE = the vibe's */
    hc_grade color_grade;     /* HC_GRADE_NONE = the vibe's */
    bool use_ai_effects;      /* default true */
    char *ai_prompt;          /* owned or NULL */
    hc_name_list ai_transitions, ai_motions, ai_filters, ai_text_animations, ai_overlays;
    int fps;                  /* 24, 25, 30 (default), 50, 60 */
    hc_resolution resolution; /* default 1080p */
    hc_fit fit;               /* default cover */
    hc_hardware hardware;     /* default auto */
    hc_quality quality;       /* default standard */
    uint64_t seed;            /* settings.seed, else derived from job_id */
    bool has_seed;
} hc_settings;

typedef struct hc_request {
    char job_id[HC_MAX_JOB_ID_LEN + 1]; /* given, or "render-" + 8 hex */
    bool job_id_generated;
    hc_image_ref *images; /* sorted by order (stable) */
    int n_images;
    bool has_audio;
    char *audio_url;         /* owned or NULL */
    double audio_start_s;    /* >= 0 */
    double audio_duration_s; /* 0 = null (use what is needed) */
    hc_caption *lines;
    int n_lines;
    hc_settings settings;
    char *output_s3_bucket, *output_s3_key; /* owned or NULL */
    char *callback_url, *callback_secret;   /* owned or NULL */
    char *metadata_json;                    /* compact JSON text, owned or NULL */
    char *base_dir;                         /* bare paths resolve against it (owned, may be NULL) */
    hc_strlist warnings;                    /* e.g. unknown fields ignored */
} hc_request;

typedef struct hc_request_opts {
    bool allow_local_files; /* file:// and bare paths (CLI yes, server no) */
    const char *base_dir;   /* resolve relative bare paths here (NULL = cwd) */
} hc_request_opts;

/* Parse and validate a request body of len bytes. On success *out is a new
 * request (caller frees with hc_request_free). On failure returns HC_EINVAL
 * (or HC_ETOOBIG for an oversized body) with the field and rule in err. */
int hc_request_parse(const char *body, size_t len, const hc_request_opts *opts, hc_request **out,
                     hc_err *err);
void hc_request_free(hc_request *req);

/* Output frame size for an aspect ratio and resolution (DESIGN.md §2). */
void hc_output_size(hc_aspect aspect, hc_resolution res, int *w, int *h);

#endif
