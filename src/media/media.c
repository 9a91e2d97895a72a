/* Media module set-up: start libvips once per process and send libav's and
 * libvips' own log output into hc_log, so stderr stays one JSON object per
 * line.
 *
 * Invariant: hc_media_init is idempotent and thread-safe (pthread_once); the
 * first call decides the outcome for the life of the process. libvips runs
 * with an empty operation cache (memory stays flat across many photos) and,
 * unless VIPS_CONCURRENCY is set, one worker per pipeline: the engine
 * prepares several images in parallel threads of its own. */
#include "media/hc_media.h"

#include <libavutil/log.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_code;
static char init_msg[256];

/* libav may log one line in several calls (a prefix, then the text); keep
 * the pieces per thread until the newline arrives. */
static _Thread_local char av_line[1024];
static _Thread_local size_t av_line_len;
static _Thread_local int av_print_prefix = 1;

static hc_log_level av_level_to_hc(int level) {
    if (level <= AV_LOG_ERROR) return HC_LOG_ERROR;
    if (level <= AV_LOG_WARNING) return HC_LOG_WARN;
    return HC_LOG_DEBUG;
}

static void av_log_to_hc(void *avcl, int level, const char *fmt, va_list vl) {
    if (level < 0) return; /* AV_LOG_QUIET */
    hc_log_level hl = av_level_to_hc(level);
    /* Below AV_LOG_WARNING only matters when debugging; test the level before
     * formatting anything, as the HC_LOG macros do. */
    if (hl < hc_log_threshold) return;

    char piece[1024];
    va_list ap;
    va_copy(ap, vl);
    av_log_format_line2(avcl, level, fmt, ap, piece, (int)sizeof piece, &av_print_prefix);
    va_end(ap);

    size_t n = strlen(piece);
    size_t room = sizeof av_line - 1 - av_line_len;
    if (n > room) n = room;
    memcpy(av_line + av_line_len, piece, n);
    av_line_len += n;
    av_line[av_line_len] = 0;
    bool full = av_line_len == sizeof av_line - 1;
    if (av_line_len == 0 || (av_line[av_line_len - 1] != '\n' && !full)) return;

    while (av_line_len > 0 &&
           (av_line[av_line_len - 1] == '\n' || av_line[av_line_len - 1] == '\r'))
        av_line[--av_line_len] = 0;
    if (av_line_len > 0) hc_log_write(hl, "libav", "%s", av_line);
    av_line_len = 0;
    av_line[0] = 0;
}

/* libvips reports warnings (a JPEG with junk after the end marker, an ICC
 * profile it ignores) through GLib's log under the "VIPS" domain. */
static void vips_log_to_hc(const gchar *domain, GLogLevelFlags flags, const gchar *msg,
                           gpointer ud) {
    (void)domain;
    (void)ud;
    /* "error in tile 0 x 64" only echoes a failure that the caller reports,
     * with libvips' text, through hc_err. */
    if (msg && strncmp(msg, "error in tile", 13) == 0) return;
    hc_log_level hl;
    if (flags & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
        hl = HC_LOG_ERROR;
    else if (flags & G_LOG_LEVEL_WARNING)
        hl = HC_LOG_WARN;
    else if (flags & G_LOG_LEVEL_MESSAGE)
        hl = HC_LOG_INFO;
    else
        hl = HC_LOG_DEBUG; /* g_info: libvips narrates every thumbnail */
    HC_LOG(hl, "vips", "%s", msg ? msg : "");
}

static void media_init_once(void) {
    if (VIPS_INIT("hydra-compose")) {
        char *text = vips_error_buffer_copy();
        size_t n = strlen(text);
        while (n > 0 && text[n - 1] == '\n')
            text[--n] = 0;
        init_code = HC_EINTERNAL;
        snprintf(init_msg, sizeof init_msg, "libvips failed to start: %s", text);
        g_free(text);
        return;
    }
    /* Cached operations would keep decoded photos alive between jobs. */
    vips_cache_set_max(0);
    if (!getenv("VIPS_CONCURRENCY")) vips_concurrency_set(1);
    g_log_set_handler("VIPS", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                      vips_log_to_hc, NULL);
    av_log_set_callback(av_log_to_hc);
}

int hc_media_init(hc_err *err) {
    pthread_once(&init_once, media_init_once);
    if (init_code) return hc_err_set(err, init_code, "%s", init_msg);
    return 0;
}
