/* `hydra-compose render SPEC.json -o OUT.mp4`: one request rendered
 * locally. Exit 0 on success, 2 when the request or its media is unusable,
 * 1 for anything else (DESIGN.md §12). Progress: a bar with ETA on a TTY,
 * JSON lines with --json, nothing with --quiet. */
#include "app/app.h"
#include "core/hc_core.h"
#include "jobs/hc_jobs.h"
#include "media/hc_media.h"
#include "render/hc_render.h"
#include "storage/hc_storage.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct cli {
    bool json, quiet, tty;
    int64_t t0;
    pthread_mutex_t mu;
} cli;

static atomic_int cancel_flag;

static void on_signal(int sig) {
    (void)sig;
    atomic_store(&cancel_flag, 1);
}

static void progress(void *ud, const hc_progress *p) {
    cli *c = ud;
    pthread_mutex_lock(&c->mu);
    if (c->json) {
        printf("{\"stage\":\"%s\",\"frames_done\":%lld,\"frames_total\":%lld,\"eta_s\":", p->stage,
               (long long)p->done, (long long)p->total);
        if (p->eta_s >= 0)
            printf("%.1f}\n", p->eta_s);
        else
            printf("null}\n");
        fflush(stdout);
    } else if (c->tty) { /* tty is false under --json and --quiet */
        int width = 30, fill = p->total > 0 ? (int)(width * p->done / p->total) : 0;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        char eta[32] = "";
        if (p->eta_s >= 0) snprintf(eta, sizeof eta, " ETA %4.1fs", p->eta_s);
        fprintf(stderr, "\r%-11s [%s] %lld/%lld%s   ", p->stage, bar, (long long)p->done,
                (long long)p->total, eta);
    }
    pthread_mutex_unlock(&c->mu);
}

static void help(FILE *f) {
    fputs("usage: hydra-compose render SPEC.json -o OUT.mp4 [--json] [--quiet]\n"
          "\n"
          "Render one request (DESIGN.md §2 JSON; SPEC.json may be - for stdin) to OUT.mp4\n"
          "and its poster OUT.jpg. Image paths in a spec file resolve relative to it.\n"
          "\n"
          "  -o, --output PATH   the MP4 to write (required)\n"
          "  --json              progress and result as JSON lines on stdout\n"
          "  --quiet             no progress bar or summary\n"
          "  --null-sink         compose every frame but do not encode (benchmarks)\n"
          "  --threads N         compositor threads (default: one per core)\n"
          "\n"
          "environment: USE_NVENC (1 prefers NVENC, 0 forbids it), HC_LOG_LEVEL\n"
          "exit codes: 0 done, 2 invalid request or unusable media, 1 other failure\n",
          f);
}

static char *read_spec(const char *path, size_t *len, hc_err *err) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        hc_err_set(err, HC_EINVAL, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = HC_MAX_BODY_BYTES + 1, n = 0, r;
    char *buf = hc_xmalloc(cap + 1);
    while (n < cap && (r = fread(buf + n, 1, cap - n, f)) > 0)
        n += r;
    bool bad = ferror(f);
    if (f != stdin) fclose(f);
    if (bad) {
        free(buf);
        hc_err_set(err, HC_EINVAL, "%s: read error", path);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static void print_json_string(FILE *f, const char *s) {
    char esc[2048];
    hc_json_escape(esc, sizeof esc, s);
    fprintf(f, "\"%s\"", esc);
}

int hc_cmd_render(int argc, char **argv) {
    const char *spec = NULL, *out = NULL;
    cli c = {.t0 = hc_now_us()};
    bool null_sink = false;
    int threads = 0;
    pthread_mutex_init(&c.mu, NULL);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(a, "--json") == 0)
            c.json = true;
        else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0)
            c.quiet = true;
        else if (strcmp(a, "--null-sink") == 0)
            null_sink = true;
        else if (strcmp(a, "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help(stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "hydra-compose render: unknown option %s\n", a);
            help(stderr);
            return 2;
        } else if (!spec)
            spec = a;
        else {
            fprintf(stderr, "hydra-compose render: unexpected argument %s\n", a);
            return 2;
        }
    }
    if (!spec || (!out && !null_sink)) {
        help(stderr);
        return 2;
    }
    /* The CLI's own output is the progress; logs only for warnings and up
     * unless HC_LOG_LEVEL asks for more. */
    if (!getenv("HC_LOG_LEVEL")) hc_log_set_level(HC_LOG_WARN);
    c.tty = isatty(STDERR_FILENO) && !c.json && !c.quiet;

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    hc_err err = {0};
    hc_request *req = NULL;
    hc_render_result res = {0};
    size_t len = 0;
    char base[PATH_MAX] = "", poster[PATH_MAX + 8] = "";
    int rc;
    hc_storage_s3_inputs *s3in = NULL;
    char *body = read_spec(spec, &len, &err);
    if (!body) {
        rc = err.code;
        goto done;
    }
    if (strcmp(spec, "-") != 0) {
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s", spec);
        if (!realpath(dirname(tmp), base)) base[0] = 0;
    }
    hc_request_opts ro = {.allow_local_files = true, .base_dir = base[0] ? base : NULL};
    rc = hc_request_parse(body, len, &ro, &req, &err);
    free(body);
    if (rc != 0) goto done;
    if (out) hc_poster_name(out, poster, sizeof poster);
    hc_render_opts opts = {
        .out_path = out,
        .poster_path = out ? poster : NULL,
        .null_sink = null_sink,
        .allow_local = true,
        .use_nvenc = getenv("USE_NVENC"),
        .compose_threads = threads,
        .progress = (c.json || c.tty) ? progress : NULL,
        .ud = &c,
        .cancel = &cancel_flag,
    };
    /* s3:// and S3 URLs are fetched presigned with this machine's AWS
     * credentials, when it has any. */
    if (hc_storage_s3_inputs_open(&s3in, NULL) == 0)
        hc_fetch_set_s3(hc_storage_s3_inputs_resolve, s3in);
    rc = hc_render_run(req, &opts, &res, &err);
    hc_fetch_set_s3(NULL, NULL);

done:
    if (c.tty) fputc('\n', stderr);
    if (rc != 0) {
        if (!err.code) hc_err_set(&err, rc, "%s", hc_strerror(rc));
        fprintf(stderr, "hydra-compose: error: %s\n", err.msg);
        if (c.json) {
            printf("{\"error\":{\"code\":\"%s\",\"message\":", hc_errname(err.code));
            print_json_string(stdout, err.msg);
            printf("}}\n");
        }
    } else if (c.json) {
        printf("{\"output\":");
        print_json_string(stdout, out ? out : "");
        printf(",\"poster\":");
        print_json_string(stdout, poster);
        printf(",\"duration_s\":%.3f,\"render_s\":%.3f,\"encoder\":", res.duration_s, res.render_s);
        print_json_string(stdout, res.encoder);
        printf(",\"encoder_reason\":");
        print_json_string(stdout, res.encoder_reason);
        printf(",\"width\":%d,\"height\":%d,\"fps\":%d,\"frames\":%lld,\"bpm\":%.2f,\"cuts_s\":[",
               res.width, res.height, res.fps, (long long)res.frames, res.bpm);
        for (int i = 0; i < res.n_cuts; i++)
            printf("%s%.4f", i ? "," : "", res.cuts_s[i]);
        printf("],\"warnings\":[");
        for (int i = 0; i < res.warnings.n; i++) {
            if (i) putchar(',');
            print_json_string(stdout, res.warnings.v[i]);
        }
        printf("]}\n");
    } else if (!c.quiet) {
        fprintf(stderr, "wrote %s (%.2f s, %dx%d @ %d fps, %s) in %.2f s\n",
                out ? out : "(null sink)", res.duration_s, res.width, res.height, res.fps,
                res.encoder, res.render_s);
        fprintf(stderr, "encoder: %s\n", res.encoder_reason);
        for (int i = 0; i < res.warnings.n; i++)
            fprintf(stderr, "warning: %s\n", res.warnings.v[i]);
    }
    hc_render_result_fini(&res);
    hc_storage_s3_inputs_close(s3in);
    hc_request_free(req);
    pthread_mutex_destroy(&c.mu);
    return hc_err_exit_code(rc);
}
