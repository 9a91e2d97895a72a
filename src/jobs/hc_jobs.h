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
    HC_MIN_PRIORITY = -100,       /* "priority": higher runs first, default 0 */
    HC_MAX_PRIORITY = 100,
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
    int priority;                           /* "priority" (addition): higher first, default 0 */
    char *canonical_json; /* the body as stored: compact, keys sorted, job_id filled in (owned) */
    hc_strlist warnings;  /* e.g. unknown fields ignored */
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

/* ---- jobs (DESIGN.md §3) -------------------------------------------------
 * A job is a request plus its state. Lifecycle:
 *   queued -> processing -> completed | failed | canceled
 *   queued -> canceled;  processing -> queued (a dead worker, attempts left)
 *   failed | canceled -> queued (an explicit retry)
 * A final state is never overwritten except by an explicit retry. */
typedef enum {
    HC_JOB_QUEUED,
    HC_JOB_PROCESSING,
    HC_JOB_COMPLETED,
    HC_JOB_FAILED,
    HC_JOB_CANCELED,
    HC_JOB_STATUS_COUNT
} hc_job_status;
extern const char *const hc_job_status_names[]; /* "queued", ... "canceled" */
#define HC_JOB_MASK(st) (1u << (st))
#define HC_JOB_MASK_FINAL                                                                          \
    (HC_JOB_MASK(HC_JOB_COMPLETED) | HC_JOB_MASK(HC_JOB_FAILED) | HC_JOB_MASK(HC_JOB_CANCELED))
bool hc_job_status_final(hc_job_status s);

/* Delivery state of the completion callback (DESIGN.md §9). */
typedef enum {
    HC_CB_NONE,      /* no callback_url, or not final yet */
    HC_CB_PENDING,   /* due at cb_next_us */
    HC_CB_DELIVERED, /* a 2xx was received */
    HC_CB_GAVE_UP,   /* every attempt failed */
} hc_cb_state;

/* One job as stored. Strings are owned (hc_job_fini frees them); NULL or ""
 * when unset. Times are Unix microseconds, 0 when unset. */
typedef struct hc_job {
    char job_id[HC_MAX_JOB_ID_LEN + 1];
    hc_job_status status;
    int progress;          /* 0..100, from frames encoded */
    char current_step[16]; /* "", downloading, analyzing, rendering, uploading, finalizing */
    int64_t frames_done, frames_total;
    char *request;                 /* hc_request.canonical_json */
    char request_sha256[65];       /* hex SHA-256 of request: equal bodies, equal hashes */
    int priority;                  /* higher first; FIFO (seq) within a priority */
    hc_hardware hardware;          /* settings.hardware, for dispatch */
    int64_t seq;                   /* insertion order, set by the store on create */
    char *output_url, *poster_url; /* plain URLs (readers sign them if needed) */
    char *output_key;              /* storage key of the MP4, e.g. "renders/test-001.mp4" */
    char error_code[24];           /* hc_errname of the failure, "" when none */
    char *error_message;
    char batch_job_id[128]; /* the executor's id (local: "local-<pid>") */
    int64_t created_us, started_us, finished_us, updated_us;
    double duration_s, render_s;
    char encoder[32];     /* "libx264", "h264_nvenc" */
    char *encoder_reason; /* why that encoder */
    int attempts;         /* tries started so far (an operator retry resets it) */
    int attempt;          /* claims ever made (never reset): the writer's token, DESIGN.md §11 */
    char *metadata;       /* compact JSON object text, echoed back */
    char *warnings;       /* JSON array text of render warnings, or NULL */
    hc_cb_state cb_state;
    int cb_attempts;
    int64_t cb_next_us;
    char cb_delivery[40];    /* X-Hydra-Delivery id, the same across retries */
    char *cb_last_error;     /* why the last delivery attempt failed */
    int64_t cb_delivered_us; /* when a 2xx was received, 0 = not delivered */
} hc_job;

/* Free the strings of job and zero it; hc_job_fini on a zeroed job is a no-op. */
void hc_job_fini(hc_job *job);
/* Deep copy src into dst (dst is overwritten, not finied first). */
void hc_job_copy(hc_job *dst, const hc_job *src);
/* A queued job for a parsed request: id, request text and hash, priority,
 * hardware, metadata and output_key (output.s3_key, else
 * "renders/<job_id>.mp4"), created_us = now. */
void hc_job_from_request(hc_job *job, const hc_request *req);
/* Set a string field: free the old value, store a copy of s (NULL ok). */
void hc_job_set_str(char **field, const char *s);
/* Record a failure: status failed, error code name and message, finished_us. */
void hc_job_set_error(hc_job *job, int code, const char *msg);
/* Does the job's request name a callback (a non-empty callback_url)? */
bool hc_job_has_callback(const hc_job *job);

/* The status JSON of DESIGN.md §3 (caller frees with free()). output_url
 * and poster_url are replaced by the given values when not NULL (signed
 * URLs). Never contains the request, the callback URL or secret. */
char *hc_job_status_json(const hc_job *job, const char *output_url, const char *poster_url);
/* The callback body of DESIGN.md §9 (caller frees with free()); with
 * secret non-NULL it also carries "secret" (the original engine's receivers). */
char *hc_job_callback_json(const hc_job *job, const char *secret);
/* Hex SHA-256 of len bytes into hex[65]. */
void hc_sha256_hex(const void *data, size_t len, char hex[65]);
/* Hex HMAC-SHA256 of msg under key into hex[65]. */
void hc_hmac_sha256_hex(const char *key, const void *msg, size_t len, char hex[65]);

/* A storage key (output.s3_key, "renders/<job_id>.mp4") that cannot leave
 * its storage directory: relative, '/'-separated, no empty, "." or ".."
 * segment, no backslash or control character, at most 1024 bytes.
 * HC_EINVAL with the rule in err (the caller prefixes the field). */
int hc_storage_key_check(const char *key, hc_err *err);
/* The poster's name for a video's path or key: ".mp4" replaced by (or
 * ".jpg" appended as) ".jpg". */
void hc_poster_name(const char *video, char *buf, size_t len);

/* ---- signed output URLs (urlsign.c) ---------------------------------------
 * When API keys are on, /files URLs carry ?exp=UNIX&sig=HEX so they work
 * without a header. */
/* Read DATA_DIR/url-signing.key into hex (64 hex digits + NUL), creating
 * it (random, mode 0600) if missing. */
int hc_urlsign_key_load(const char *data_dir, char hex[65], hc_err *err);
/* url signed for 7 days (expiry rounded up to the hour) when it starts
 * with prefix ("<base>/files/"); NULL otherwise. Caller frees with free(). */
char *hc_urlsign(const char *secret, const char *prefix, const char *url);
/* Do exp and sig (the query values, may be NULL) sign key, unexpired? */
bool hc_urlsign_check(const char *secret, const char *key, const char *exp, const char *sig);

/* Output frame size for an aspect ratio and resolution (DESIGN.md §2). */
void hc_output_size(hc_aspect aspect, hc_resolution res, int *w, int *h);

#endif
