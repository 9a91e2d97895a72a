/* Configuration (DESIGN.md §10): one table of settings, each an environment
 * variable and a flag of the same meaning. The environment is read first,
 * flags override it, derived defaults come last.
 *
 * Invariant: the table below is the only place a setting's names, default
 * and meaning are written; --help, parsing and export all walk it. Secret
 * values are never printed. */
#include "core/hc_core.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef enum { T_STR, T_INT, T_BOOL } opt_type;

typedef struct opt {
    const char *env;   /* contract name */
    const char *alias; /* the original engine's name (NULL: none) */
    const char *flag;  /* "--listen" (NULL: environment only) */
    opt_type type;
    size_t off; /* offset in hc_config */
    const char *def;
    int min, max; /* T_INT range */
    bool secret;
    const char *help;
} opt;

#define F(field) offsetof(hc_config, field)
static const opt opts[] = {
    {"HC_LISTEN", NULL, "--listen", T_STR, F(listen), "127.0.0.1:8080", 0, 0, false,
     "HTTP address (HOST:PORT; port 0 = ephemeral, printed on start)"},
    {"HC_DATA_DIR", NULL, "--data-dir", T_STR, F(data_dir), "./hydra-data", 0, 0, false,
     "jobs database, outputs, downloads"},
    {"HC_STORE", "DYNAMODB_JOBS_TABLE", "--store", T_STR, F(store), NULL, 0, 0, false,
     "job store: sqlite:PATH (default sqlite:DATA_DIR/jobs.db) or dynamodb:TABLE"},
    {"HC_STORAGE", "AWS_S3_BUCKET", "--storage", T_STR, F(storage), NULL, 0, 0, false,
     "outputs: file:DIR (default file:DATA_DIR/outputs) or s3://BUCKET/PREFIX"},
    {"HC_EXECUTOR", NULL, "--executor", T_STR, F(executor), "local", 0, 0, false,
     "where renders run: local, aws-batch, slurm"},
    {"HC_WORKERS", NULL, "--workers", T_INT, F(workers), NULL, 0, 256, false,
     "concurrent local renders (default one per two cores, at least 1; 0 = accept only)"},
    {"HC_GPU_SLOTS", NULL, "--gpu-slots", T_INT, F(gpu_slots), "-1", -1, 64, false,
     "concurrent NVENC renders (-1 = 1 when NVENC works here, else 0)"},
    {"HC_API_KEYS", NULL, "--api-keys", T_STR, F(api_keys), NULL, 0, 0, true,
     "comma-separated keys (Authorization: Bearer K or X-Api-Key: K); none = open"},
    {"HC_PUBLIC_URL", NULL, "--public-url", T_STR, F(public_url), NULL, 0, 0, false,
     "base of output_url for file storage (default http://<listen>)"},
    {"HC_URL_ALLOW", NULL, "--url-allow", T_STR, F(url_allow), NULL, 0, 0, false,
     "hosts/CIDRs exempt from the private-address guard (e.g. 127.0.0.1)"},
    {"HC_MAX_ATTEMPTS", NULL, "--max-attempts", T_INT, F(max_attempts), "3", 1, 100, false,
     "tries per job before it fails"},
    {"HC_JOB_TIMEOUT_S", NULL, "--job-timeout", T_INT, F(job_timeout_s), "900", 1, 86400, false,
     "a render running longer is killed and failed"},
    {"HC_SHUTDOWN_GRACE_S", NULL, "--shutdown-grace", T_INT, F(shutdown_grace_s), "60", 0, 86400,
     false, "on SIGTERM, how long running renders may finish (the rest are requeued)"},
    {"CALLBACK_SECRET", NULL, NULL, T_STR, F(callback_secret), NULL, 0, 0, true,
     "default HMAC key for callbacks (a request's callback_secret wins)"},
    {"HC_CALLBACK_SECRET_IN_BODY", NULL, "--callback-secret-in-body", T_BOOL,
     F(callback_secret_in_body), "0", 0, 1, false,
     "also put \"secret\" in callback bodies, for receivers of the original engine"},
    {"HC_CALLBACK_ATTEMPTS", NULL, "--callback-attempts", T_INT, F(callback_attempts), "6", 1, 50,
     false, "deliveries tried per callback"},
    {"HC_CALLBACK_BACKOFF_MS", NULL, "--callback-backoff-ms", T_INT, F(callback_backoff_ms), "1000",
     1, 3600000, false, "first retry delay; doubles each time"},
    {"USE_NVENC", NULL, NULL, T_STR, F(use_nvenc), NULL, 0, 0, false,
     "1 prefers NVENC, 0 forbids it (default: auto)"},
    {"HC_LOG_LEVEL", NULL, "--log-level", T_STR, F(log_level), "info", 0, 0, false,
     "debug, info, warn, error"},
    {"HC_BATCH_QUEUE_GPU", "BATCH_JOB_QUEUE", NULL, T_STR, F(batch_queue_gpu), NULL, 0, 0, false,
     "aws-batch: job queue for GPU (and auto) jobs"},
    {"HC_BATCH_QUEUE_CPU", NULL, NULL, T_STR, F(batch_queue_cpu), NULL, 0, 0, false,
     "aws-batch: job queue for CPU jobs (and auto jobs moved off the GPU queue)"},
    {"HC_BATCH_JOBDEF_GPU", "BATCH_JOB_DEFINITION", NULL, T_STR, F(batch_jobdef_gpu), NULL, 0, 0,
     false, "aws-batch: job definition for the GPU queue"},
    {"HC_BATCH_JOBDEF_CPU", NULL, NULL, T_STR, F(batch_jobdef_cpu), NULL, 0, 0, false,
     "aws-batch: job definition for the CPU queue"},
    {"HC_GPU_WAIT_S", NULL, NULL, T_INT, F(gpu_wait_s), "120", 1, 86400, false,
     "an auto job not started on the GPU queue by then moves to the CPU queue"},
    {"HC_PRESIGN_TTL_S", NULL, NULL, T_INT, F(presign_ttl_s), "3600", 1, 604800, false,
     "lifetime in seconds of the presigned S3 output_url links status reads hand out"},
};
#undef F
enum { N_OPTS = sizeof opts / sizeof opts[0] };

static char **str_at(hc_config *cfg, const opt *o) {
    return (char **)((char *)cfg + o->off);
}
static int *int_at(hc_config *cfg, const opt *o) {
    return (int *)((char *)cfg + o->off);
}

static int set_value(hc_config *cfg, const opt *o, const char *src, const char *v, hc_err *err) {
    switch (o->type) {
    case T_STR: {
        char **p = str_at(cfg, o);
        free(*p);
        *p = v[0] ? hc_strdup(v) : NULL;
        return 0;
    }
    case T_INT: {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (errno || end == v || *end || n < o->min || n > o->max)
            return hc_err_set(err, HC_EINVAL, "%s: must be an integer from %d to %d (got \"%s\")",
                              src, o->min, o->max, v);
        *int_at(cfg, o) = (int)n;
        return 0;
    }
    case T_BOOL: {
        bool b;
        if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
            !strcasecmp(v, "on"))
            b = true;
        else if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
                 !strcasecmp(v, "off"))
            b = false;
        else
            return hc_err_set(err, HC_EINVAL, "%s: must be true or false (got \"%s\")", src, v);
        *(bool *)((char *)cfg + o->off) = b;
        return 0;
    }
    }
    return 0;
}

/* The original engine named a table and a bucket; ours take a spec. */
static int set_alias(hc_config *cfg, const opt *o, const char *v, hc_err *err) {
    char buf[1024];
    if (!strcmp(o->alias, "DYNAMODB_JOBS_TABLE"))
        snprintf(buf, sizeof buf, "dynamodb:%s", v);
    else if (!strcmp(o->alias, "AWS_S3_BUCKET"))
        snprintf(buf, sizeof buf, "s3://%s/", v);
    else
        snprintf(buf, sizeof buf, "%s", v);
    return set_value(cfg, o, o->alias, buf, err);
}

static const opt *find_flag(const char *arg, const char **value) {
    for (int i = 0; i < N_OPTS; i++) {
        const opt *o = &opts[i];
        if (!o->flag) continue;
        size_t n = strlen(o->flag);
        if (strncmp(arg, o->flag, n) != 0) continue;
        if (arg[n] == 0) {
            *value = NULL;
            return o;
        }
        if (arg[n] == '=') {
            *value = arg + n + 1;
            return o;
        }
    }
    return NULL;
}

int hc_config_load(hc_config *cfg, int argc, char **argv, int *rest_argc, hc_err *err) {
    memset(cfg, 0, sizeof *cfg);
    int rc = 0, rest = 0;
    for (int i = 0; i < N_OPTS && !rc; i++) {
        const opt *o = &opts[i];
        const char *v;
        if (o->def && (rc = set_value(cfg, o, o->env, o->def, err))) break;
        if ((v = getenv(o->env)) && v[0])
            rc = set_value(cfg, o, o->env, v, err);
        else if (o->alias && (v = getenv(o->alias)) && v[0])
            rc = set_alias(cfg, o, v, err);
    }
    if (!getenv("HC_WORKERS") || !getenv("HC_WORKERS")[0]) {
        int w = hc_cpu_count() / 2;
        cfg->workers = w < 1 ? 1 : w;
    }
    for (int i = 0; i < argc && !rc; i++) {
        if (!strcmp(argv[i], "--")) { /* the rest are arguments, "--" kept */
            while (i < argc)
                argv[rest++] = argv[i++];
            break;
        }
        const char *value;
        const opt *o = find_flag(argv[i], &value);
        if (!o) {
            argv[rest++] = argv[i];
            continue;
        }
        if (!value && o->type == T_BOOL)
            value = "1";
        else if (!value && i + 1 < argc)
            value = argv[++i];
        else if (!value) {
            rc = hc_err_set(err, HC_EINVAL, "%s: needs a value", o->flag);
            break;
        }
        rc = set_value(cfg, o, o->flag, value, err);
    }
    if (rest_argc) *rest_argc = rest;
    if (rc) {
        hc_config_fini(cfg);
        return rc;
    }
    if (!cfg->data_dir) cfg->data_dir = hc_strdup("./hydra-data");
    char buf[PATH_MAX + 16];
    /* Workers and the jobs command may run from another directory. */
    if (cfg->data_dir[0] != '/') {
        char cwd[PATH_MAX];
        if (getcwd(cwd, sizeof cwd)) {
            const char *d = cfg->data_dir;
            if (d[0] == '.' && d[1] == '/') d += 2;
            snprintf(buf, sizeof buf, "%s/%s", cwd, d);
            free(cfg->data_dir);
            cfg->data_dir = hc_strdup(buf);
        }
    }
    if (!cfg->store) {
        snprintf(buf, sizeof buf, "sqlite:%s/jobs.db", cfg->data_dir);
        cfg->store = hc_strdup(buf);
    }
    if (!cfg->storage) {
        snprintf(buf, sizeof buf, "file:%s/outputs", cfg->data_dir);
        cfg->storage = hc_strdup(buf);
    }
    if (cfg->log_level && hc_log_level_parse(cfg->log_level) < 0) {
        rc = hc_err_set(err, HC_EINVAL,
                        "--log-level: must be one of debug, info, warn, error "
                        "(got \"%s\")",
                        cfg->log_level);
        hc_config_fini(cfg);
        return rc;
    }
    if (cfg->url_allow && (rc = hc_url_allow_check(cfg->url_allow, err))) {
        hc_config_fini(cfg);
        return rc;
    }
    if (cfg->public_url) { /* "http://host:port/" and "http://host:port" are the same base */
        size_t n = strlen(cfg->public_url);
        while (n > 0 && cfg->public_url[n - 1] == '/')
            cfg->public_url[--n] = 0;
    }
    return 0;
}

void hc_config_fini(hc_config *cfg) {
    if (!cfg) return;
    for (int i = 0; i < N_OPTS; i++)
        if (opts[i].type == T_STR) {
            char **p = str_at(cfg, &opts[i]);
            free(*p);
            *p = NULL;
        }
}

int hc_config_export(const hc_config *cfg) {
    for (int i = 0; i < N_OPTS; i++) {
        const opt *o = &opts[i];
        char buf[32];
        const char *v = NULL;
        if (o->secret) { /* children get no secrets they were not given */
            if (unsetenv(o->env)) return HC_EIO;
            continue;
        }
        if (o->type == T_STR)
            v = *str_at((hc_config *)cfg, o);
        else if (o->type == T_INT) {
            snprintf(buf, sizeof buf, "%d", *int_at((hc_config *)cfg, o));
            v = buf;
        } else {
            v = *(const bool *)((const char *)cfg + o->off) ? "1" : "0";
        }
        if (v ? setenv(o->env, v, 1) : unsetenv(o->env)) return HC_EIO;
    }
    return 0;
}

void hc_config_help(FILE *f, const hc_config *cfg) {
    fputs("settings (flag, environment variable; flags win; current value):\n", f);
    for (int i = 0; i < N_OPTS; i++) {
        const opt *o = &opts[i];
        char val[256];
        if (o->type == T_INT)
            snprintf(val, sizeof val, "%d", *int_at((hc_config *)cfg, o));
        else if (o->type == T_BOOL)
            snprintf(val, sizeof val, "%s",
                     *(const bool *)((const char *)cfg + o->off) ? "true" : "false");
        else {
            const char *s = *str_at((hc_config *)cfg, o);
            snprintf(val, sizeof val, "%s", !s ? "(none)" : o->secret ? "(set, hidden)" : s);
        }
        char names[96];
        snprintf(names, sizeof names, "%s%s%s%s%s", o->flag ? o->flag : "", o->flag ? ", " : "",
                 o->env, o->alias ? " or " : "", o->alias ? o->alias : "");
        fprintf(f, "  %-44s %s\n  %-44s = %s\n", names, o->help, "", val);
    }
}

bool hc_config_key_matches(const char *list, const char *value) {
    if (!list || !value || !value[0]) return false;
    size_t vn = strlen(value);
    bool found = false;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t kn = end ? (size_t)(end - p) : strlen(p);
        /* Trim spaces around each key. */
        const char *k = p;
        while (kn && (*k == ' ' || *k == '\t')) {
            k++;
            kn--;
        }
        while (kn && (k[kn - 1] == ' ' || k[kn - 1] == '\t'))
            kn--;
        if (kn) {
            /* Compare every byte of the candidate whatever matched before,
             * so the time does not depend on how long a prefix is right. */
            unsigned char diff = (unsigned char)(kn != vn);
            for (size_t i = 0; i < vn; i++)
                diff |= (unsigned char)(value[i] ^ (i < kn ? k[i] : 0));
            found |= diff == 0;
        }
        if (!end) break;
        p = end + 1;
    }
    return found;
}
