/* JSON-lines logging on stderr. Each line is written with one write() so
 * lines from threads and worker processes never interleave. */
#include "core/hc_core.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

hc_log_level hc_log_threshold = HC_LOG_INFO;
static _Thread_local const char *log_job;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

int hc_log_level_parse(const char *s) {
    for (int i = 0; s && i < 5; i++)
        if (strcmp(s, level_names[i]) == 0) return i;
    return -1;
}

void hc_log_set_level(hc_log_level level) {
    hc_log_threshold = level;
}

void hc_log_set_job(const char *job_id) {
    log_job = job_id;
}

static void log_line(hc_log_level level, const char *comp, const char *fields, const char *fmt,
                     va_list ap) {
    char msg[1024], esc[2048], line[4096], ts[40], job[300] = "";
    vsnprintf(msg, sizeof msg, fmt, ap);
    hc_json_escape(esc, sizeof esc, msg);
    hc_time_rfc3339(ts, sizeof ts, hc_wall_us());
    if (log_job) {
        char ej[260];
        hc_json_escape(ej, sizeof ej, log_job);
        snprintf(job, sizeof job, ",\"job\":\"%s\"", ej);
    }
    int n = snprintf(line, sizeof line,
                     "{\"ts\":\"%s\",\"level\":\"%s\",\"comp\":\"%s\"%s,\"msg\":\"%s\"%s}\n", ts,
                     level_names[level], comp, job, esc, fields ? fields : "");
    if (n > (int)sizeof line - 1) {
        n = sizeof line - 1;
        line[n - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void hc_log_vwrite(hc_log_level level, const char *comp, const char *fmt, va_list ap) {
    log_line(level, comp, NULL, fmt, ap);
}

void hc_log_write_job(hc_log_level level, const char *comp, const char *job_id, const char *fmt,
                      ...) {
    if (level < hc_log_threshold) return;
    hc_log_set_job(job_id);
    va_list ap;
    va_start(ap, fmt);
    log_line(level, comp, NULL, fmt, ap);
    va_end(ap);
    hc_log_set_job(NULL);
}

void hc_log_write_fields(hc_log_level level, const char *comp, const char *fields, const char *fmt,
                         ...) {
    va_list ap;
    va_start(ap, fmt);
    log_line(level, comp, fields, fmt, ap);
    va_end(ap);
}

void hc_log_write(hc_log_level level, const char *comp, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    hc_log_vwrite(level, comp, fmt, ap);
    va_end(ap);
}
