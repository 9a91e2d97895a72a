/* Media: getting inputs (fetch), turning photos into composable YUV
 * canvases (image ingest through libvips), and writing the video (H.264
 * through libavcodec, MP4 through libavformat, JPEG poster).
 *
 * Invariant: media knows nothing of requests or styles; it deals in paths,
 * URLs, pixel sizes and frames. Messages name the caller's label for the
 * input ("images[3]") so users know which file is at fault. */
#ifndef HC_MEDIA_H
#define HC_MEDIA_H

#include "core/hc_core.h"

#include <libavutil/frame.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Initialise libvips and route libav logging into hc_log. Idempotent,
 * thread-safe; call before any other media function. */
int hc_media_init(hc_err *err);

/* ---- fetch ----------------------------------------------------------------
 * Bring inputs to local files, concurrently. Bare paths and file:// are
 * used in place (when allowed); http(s):// is downloaded with libcurl into
 * work_dir: redirects followed (at most 5), connect and total timeouts,
 * up to max_tries attempts with exponential back-off on 429, 5xx, timeouts
 * and connection errors, a byte cap, and HTML/text bodies refused. */
typedef struct hc_fetch_opts {
    const char *work_dir;   /* downloads go here (must exist) */
    const char *base_dir;   /* relative bare paths resolve here (NULL = cwd) */
    bool allow_local;       /* bare paths and file:// allowed */
    int concurrency;        /* parallel transfers; 0 = 8 */
    int connect_timeout_ms; /* 0 = 5000 */
    int total_timeout_ms;   /* per try; 0 = 30000 */
    int max_tries;          /* 0 = 3 */
    int backoff_ms;         /* first back-off; doubles each try; 0 = 300 */
    size_t max_bytes;       /* 0 = 64 MiB */
    /* The private-address guard (below): refuse connections to private,
     * loopback, link-local ... addresses unless url_allow lets them. Off
     * here and in the process default: the CLI `render` keeps no guard. */
    bool guard_private;
    const char *url_allow; /* HC_URL_ALLOW list (NULL = the process default's) */
    /* Set non-zero (from any thread) to stop: transfers abort at their next
     * progress tick and hc_fetch_many returns HC_ECANCELED. May be NULL. */
    atomic_int *cancel;
    /* Called from fetch threads as each input completes (may be NULL). */
    void (*on_done)(void *ud, int index, int n_done, int n_total);
    void *ud;
} hc_fetch_opts;

typedef struct hc_fetched {
    char *path;      /* local file (owned string) */
    bool downloaded; /* a temp file in work_dir */
    size_t size_bytes;
} hc_fetched;

/* Fetch n inputs. urls[i] is labelled labels[i] in errors ("images[3]").
 * out is an array of n entries the caller provides; on success each holds a
 * local path (caller releases with hc_fetched_fini). On failure returns
 * HC_EINVAL (bad or forbidden URL), HC_EMEDIA (not found, HTML, empty,
 * over the byte cap: the input is unusable), HC_ENET or HC_ETIMEOUT
 * (network trouble after all tries), with the label in err; all entries are
 * released. Thread-safe; blocks until done. */
int hc_fetch_many(const char *const *urls, const char *const *labels, int n,
                  const hc_fetch_opts *opts, hc_fetched *out, hc_err *err);
void hc_fetched_fini(hc_fetched *f);

/* Turn the guard on (or off) for every later hc_fetch_many of this process
 * whose opts leave guard_private false, with allow as the default allow
 * list (copied). For server-side processes (the worker) whose fetches are
 * made by the render pipeline. Call once at start, before any fetch. */
void hc_fetch_set_guard(bool on, const char *allow);

/* S3 inputs: given an input URL, a resolver returns 1 with *signed_url (a
 * presigned GET, caller frees) when the URL names an S3 object (s3://B/K,
 * or an S3 virtual-host or path-style https URL) and credentials are at
 * hand; 0 when it is not an S3 URL (fetched as it is); a negative HC_E*
 * code with the reason in err (no credentials, bad bucket name). Presigned
 * URLs are fetched unguarded (the storage endpoint is infrastructure).
 * Without a resolver, s3:// inputs are refused with HC_EUNSUPPORTED. Set
 * once at start (by the worker and `render`, which know the AWS context). */
typedef int (*hc_fetch_s3_fn)(void *ud, const char *url, char **signed_url, hc_err *err);
void hc_fetch_set_s3(hc_fetch_s3_fn fn, void *ud);


/* ---- image ingest --------------------------------------------------------
 * JPEG (baseline, progressive, CMYK, grey), PNG (alpha, 16-bit, palette),
 * WebP, GIF (first frame), BMP, TIFF, HEIC, AVIF. EXIF orientation is
 * applied, ICC profiles converted to sRGB, alpha flattened on black, huge
 * photos decoded at reduced size (shrink-on-load). */
#define HC_IMAGE_MAX_PIXELS 200000000LL /* decompression-bomb cap (width*height) */

typedef enum { HC_IMG_FIT_COVER, HC_IMG_FIT_CONTAIN, HC_IMG_FIT_BLUR } hc_img_fit;

typedef struct hc_image_info {
    int width, height; /* as displayed (after EXIF orientation) */
    char format[16];   /* "jpeg", "png", "webp", "gif", "bmp", "tiff", "heif", ... */
} hc_image_info;

/* Read only the header: is this a supported image, what size. Refuses
 * non-images (naming what it looks like, e.g. HTML), empty files, and
 * images over HC_IMAGE_MAX_PIXELS. HC_EMEDIA / HC_ETOOBIG with label. */
int hc_image_probe(const char *path, const char *label, hc_image_info *info, hc_err *err);

typedef struct hc_image_prep {
    int canvas_w, canvas_h; /* even; the size of the prepared canvas */
    hc_img_fit fit;
    bool has_focus;          /* cover: crop around focus, else the centre */
    double focus_x, focus_y; /* 0..1 in the displayed image */
} hc_image_prep;

/* Decode path and produce a canvas_w x canvas_h BT.709 limited-range YUV
 * 4:2:0 image: `cover` scales to fill and crops (around the focus point),
 * `contain` scales to fit and centres on black, `blur` centres the
 * contained image over a blurred, darkened cover copy of itself. Decodes
 * at reduced size where the format allows. *out is allocated here (caller
 * frees with hc_yuv_fini). Truncated or corrupt data fails with HC_EMEDIA
 * naming the label. Thread-safe (call from several threads at once). */
int hc_image_prepare(const char *path, const char *label, const hc_image_prep *prep, hc_yuv *out,
                     hc_err *err);

/* ---- audio (DESIGN.md §8) ------------------------------------------------
 * Music in any common format (MP3, AAC/M4A, OGG/Vorbis, Opus, FLAC, WAV, or
 * the audio track of a video file) decoded with libavformat/libavcodec and
 * resampled with libswresample to 48 kHz stereo float. */
enum { HC_AUDIO_RATE = 48000 };
#define HC_AUDIO_MAX_SOURCE_S (30 * 60.0) /* longer music is refused */

typedef struct hc_audio {
    float *samples;           /* interleaved stereo (L, R), owned */
    int64_t frames;           /* sample frames (pairs) */
    double source_duration_s; /* the whole file's duration, for messages */
} hc_audio;

/* Decode path from start_s for at most max_s seconds (0 = to the end).
 * HC_EMEDIA naming label for: no audio stream, corrupt data, zero length,
 * start past the end; HC_ETOOBIG for sources over HC_AUDIO_MAX_SOURCE_S.
 * out->samples: caller frees with hc_audio_fini. Thread-safe. */
int hc_audio_decode(const char *path, const char *label, double start_s, double max_s,
                    hc_audio *out, hc_err *err);
void hc_audio_fini(hc_audio *a);

/* The soundtrack of a video of duration_s from the decoded music: looped
 * when shorter (with a short crossfade at the seam, no click), 0.7 volume
 * for the first 2 s easing to 1.0, 0.75 s fade in and out, normalised to
 * -14 LUFS integrated (libebur128), exactly round(duration_s * 48000)
 * frames. out: caller frees with hc_audio_fini. */
int hc_audio_soundtrack(const hc_audio *music, double duration_s, hc_audio *out, hc_err *err);
/* The period, in sample frames, at which hc_audio_soundtrack repeats
 * music of music_frames to fill out_frames (each repeat starts at the
 * previous one's crossfade seam; music_frames when no loop is needed).
 * What happens at time t of the music happens again at t + k * period. */
int64_t hc_audio_loop_period(int64_t music_frames, int64_t out_frames);
/* Integrated loudness in LUFS (libebur128), for tests and analysis. */
double hc_audio_loudness(const hc_audio *a);

typedef struct hc_beats {
    double bpm;    /* tempo (0 if none found) */
    double *times; /* beat times in seconds from the segment start, owned */
    int n;
    double *energy; /* RMS energy (0..1) every 0.5 s, owned */
    int n_energy;
    double duration_s; /* of the analysed segment */
} hc_beats;

/* Tempo and beat times with aubio, on exactly the audio given (the segment
 * that plays, so beats line up with what is heard), plus the energy curve.
 * Thread-safe. out: caller frees with hc_beats_fini. */
int hc_beats_analyze(const hc_audio *a, hc_beats *out, hc_err *err);
void hc_beats_fini(hc_beats *b);

/* ---- video encoder and MP4 muxer -------------------------------------- */
typedef enum { HC_ENC_HW_AUTO, HC_ENC_HW_GPU, HC_ENC_HW_CPU } hc_enc_hw;
typedef enum { HC_ENC_Q_DRAFT, HC_ENC_Q_STANDARD, HC_ENC_Q_HIGH } hc_enc_quality;

typedef struct hc_encoder_choice {
    char codec[32];   /* "libx264" or "h264_nvenc" */
    char reason[256]; /* why, e.g. "settings.hardware=gpu but NVENC probe failed: ..." */
} hc_encoder_choice;

/* Probe function: try to open NVENC and encode one small frame. Returns 0
 * if it works, else a negative code with why in err. */
typedef int (*hc_nvenc_probe_fn)(hc_err *err);
/* The real probe (cached per process after the first call). */
int hc_nvenc_probe(hc_err *err);

/* Decide the encoder. hardware: settings.hardware. use_nvenc: the value of
 * env USE_NVENC ("1" prefers NVENC, "0" forbids it, NULL/"auto"/"" = auto).
 * gpu or USE_NVENC=1: NVENC if the probe succeeds, else libx264 with the
 * reason; auto: NVENC if the probe succeeds; cpu or USE_NVENC=0: libx264.
 * Pure apart from the probe, so it is unit-tested with fake probes. */
void hc_encoder_choose(hc_enc_hw hardware, const char *use_nvenc, hc_nvenc_probe_fn probe,
                       hc_encoder_choice *out);

typedef struct hc_encoder_opts {
    int width, height, fps;
    hc_enc_quality quality;
    const char *codec; /* "libx264", "h264_nvenc", or "null" (discard frames, no file) */
    const char *path;  /* output MP4 (written in place; the caller renames) */
    bool audio;        /* add an AAC-LC track (48 kHz stereo, 192 kb/s); see write_audio */
} hc_encoder_opts;

typedef struct hc_encoder hc_encoder;

/* Open the encoder and the MP4 muxer (H.264 High, yuv420p, BT.709 tags,
 * +faststart). *out: caller frees with hc_encoder_free. HC_EENCODER with
 * libav's text on failure. */
int hc_encoder_open(const hc_encoder_opts *opts, hc_encoder **out, hc_err *err);
/* A new frame of the encoder's size and pixel format to compose into
 * (caller frees with av_frame_free). */
AVFrame *hc_encoder_frame_alloc(const hc_encoder *enc);
/* View an AVFrame's planes as an hc_yuv (no copy; borrowed from frame). */
void hc_yuv_from_frame(hc_yuv *view, AVFrame *frame);
/* Encode one frame; pts = frame index. The frame is not kept: the caller
 * may reuse it as soon as this returns. */
int hc_encoder_write(hc_encoder *enc, AVFrame *frame, int64_t pts, hc_err *err);
/* Audio for the AAC track (opts.audio): interleaved stereo float at 48 kHz,
 * in order, any number of calls, before or between video frames (the muxer
 * interleaves). */
int hc_encoder_write_audio(hc_encoder *enc, const float *interleaved, int64_t frames, hc_err *err);
/* Flush, write the trailer (moving the index to the front). */
int hc_encoder_finish(hc_encoder *enc, hc_err *err);
void hc_encoder_free(hc_encoder *enc);

/* Write a contact sheet PNG: n tiles (each any even size) laid out cols
 * across, each captioned with labels[i] (may be NULL), under a title (may
 * be NULL). For galleries a person looks at. */
int hc_sheet_write(const hc_yuv *const *tiles, const char *const *labels, int n, int cols,
                   const char *title, const char *path, hc_err *err);

/* Write img as a JPEG (quality ~90, full-range) to path. */
int hc_poster_write(const hc_yuv *img, const char *path, hc_err *err);

#endif
