/* The process's AWS context (hc_cloud.h): region, service endpoints, the
 * credentials provider chain the AWS SDKs use, and signed calls through
 * the one HTTP client (hc_httpc_do) on an unguarded infrastructure policy.
 *
 * The chain, first match wins, tried again whenever the cached credentials
 * are within REFRESH_S of their expiry:
 *   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
 *   2. profile AWS_PROFILE (else "default"): the shared credentials file
 *      (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials), then the
 *      config file (AWS_CONFIG_FILE, else ~/.aws/config, "[profile NAME]");
 *   3. the container endpoint: http://169.254.170.2 +
 *      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or AWS_CONTAINER_CREDENTIALS_FULL_URI
 *      with the Authorization header from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
 *      (read on every fetch) or AWS_CONTAINER_AUTHORIZATION_TOKEN;
 *   4. EC2 IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254;
 *      off with AWS_EC2_METADATA_DISABLED=true): token PUT, role GET, credentials GET.
 * A failed refresh keeps serving credentials that have not expired yet.
 * Missing or half-configured credentials and a missing region are HC_EIO
 * (a deployment problem, exit class 1), never HC_EINVAL (the caller's
 * request).
 *
 * Invariants: one mutex guards the cache (a refresh holds it, so
 * concurrent callers wait for one fetch instead of racing); nothing here
 * logs or puts into a message a secret key, a token or a signature. */
#include "cloud/hc_cloud.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define COMP            "aws"
#define REFRESH_S       300
#define CONTAINER_HOST  "http://169.254.170.2"
#define IMDS_DEFAULT    "http://169.254.169.254"
#define IMDS_TOKEN_TTL  "21600"
#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"

struct hc_aws {
    pthread_mutex_t mu;
    char *region;  /* NULL when none found */
    char *profile; /* AWS_PROFILE or "default" */
    hc_aws_creds creds;
    bool have;
    char source[64];     /* where the cached credentials came from (for logs) */
    char container[256]; /* the container agent's base URL */
};

/* ---- small helpers ------------------------------------------------------------ */

static const char *env(const char *name) {
    const char *v = getenv(name);
    return v && v[0] ? v : NULL;
}

static bool env_true(const char *name) {
    const char *v = env(name);
    return v && strcasecmp(v, "true") == 0;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

/* "2026-12-03T13:00:00Z" (fractions and an offset "+00:00" tolerated) as
 * Unix seconds; 0 when unparsable. */
static int64_t parse_iso8601(const char *s) {
    if (!s) return 0;
    struct tm tm = {0};
    const char *e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!e) return 0;
    return (int64_t)timegm(&tm);
}

static bool copy_field(char *dst, size_t len, const char *src) {
    if (!src || strlen(src) >= len) return false;
    memcpy(dst, src, strlen(src) + 1);
    return true;
}

/* ---- shared files ------------------------------------------------------------- */

/* The value of key in section [section] of an INI-style AWS file into buf;
 * false when the file, section or key is absent. Sub-section lines
 * (indented, as under "s3 =") are skipped. */
static bool ini_get(const char *path, const char *section, const char *key, char *buf, size_t len) {
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[8192];
    bool in = false, found = false;
    while (!found && fgets(line, sizeof line, f)) {
        if (line[0] == ' ' || line[0] == '\t') continue; /* nested value */
        char *l = trim(line);
        if (!*l || *l == '#' || *l == ';') continue;
        if (*l == '[') {
            char *end = strchr(l, ']');
            if (!end) continue;
            *end = 0;
            in = strcmp(trim(l + 1), section) == 0;
            continue;
        }
        if (!in) continue;
        char *eq = strchr(l, '=');
        if (!eq) continue;
        *eq = 0;
        char *k = trim(l), *v = trim(eq + 1);
        if (strcasecmp(k, key) == 0 && strlen(v) < len) {
            memcpy(buf, v, strlen(v) + 1);
            found = true;
        }
    }
    fclose(f);
    return found;
}

static void shared_path(char *buf, size_t len, const char *env_name, const char *file) {
    const char *p = env(env_name);
    if (p) {
        snprintf(buf, len, "%s", p);
        return;
    }
    const char *home = env("HOME");
    snprintf(buf, len, "%s/.aws/%s", home ? home : "", file);
}

/* The config file names profiles "[profile NAME]", except "[default]". */
static void config_section(const char *profile, char *buf, size_t len) {
    if (strcmp(profile, "default") == 0)
        snprintf(buf, len, "default");
    else
        snprintf(buf, len, "profile %s", profile);
}

/* ---- open / region / endpoints --------------------------------------------------- */

int hc_aws_open(hc_aws **out, hc_err *err) {
    (void)err;
    hc_aws *a = hc_xcalloc(1, sizeof *a);
    pthread_mutex_init(&a->mu, NULL);
    snprintf(a->container, sizeof a->container, "%s", CONTAINER_HOST);
    a->profile = hc_strdup(env("AWS_PROFILE") ? env("AWS_PROFILE") : "default");
    const char *r = env("AWS_REGION");
    if (!r) r = env("AWS_DEFAULT_REGION");
    if (r) {
        a->region = hc_strdup(r);
    } else {
        char path[4096], sect[512], v[128];
        shared_path(path, sizeof path, "AWS_CONFIG_FILE", "config");
        config_section(a->profile, sect, sizeof sect);
        if (ini_get(path, sect, "region", v, sizeof v) && v[0]) a->region = hc_strdup(v);
    }
    *out = a;
    return 0;
}

void hc_aws_close(hc_aws *aws) {
    if (!aws) return;
    pthread_mutex_destroy(&aws->mu);
    free(aws->region);
    free(aws->profile);
    memset(&aws->creds, 0, sizeof aws->creds);
    free(aws);
}

const char *hc_aws_region(const hc_aws *aws) {
    return aws ? aws->region : NULL;
}

static const struct {
    const char *service, *env_id, *prefix;
} services[] = {
    {"s3", "S3", "s3"},
    {"dynamodb", "DYNAMODB", "dynamodb"},
    {"batch", "BATCH", "batch"},
    {"secretsmanager", "SECRETS_MANAGER", "secretsmanager"},
};

int hc_aws_endpoint(const hc_aws *aws, const char *service, char *buf, size_t len, hc_err *err) {
    size_t i = 0, n = sizeof services / sizeof services[0];
    while (i < n && (!service || strcmp(services[i].service, service) != 0))
        i++;
    if (i == n)
        return hc_err_set(err, HC_EINVAL, "aws: unknown service \"%s\"", service ? service : "");
    char name[64];
    snprintf(name, sizeof name, "AWS_ENDPOINT_URL_%s", services[i].env_id);
    const char *url = env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") ? NULL : env(name);
    if (!url && !env_true("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")) url = env("AWS_ENDPOINT_URL");
    int w;
    if (url) {
        size_t ul = strlen(url);
        while (ul && url[ul - 1] == '/')
            ul--;
        w = snprintf(buf, len, "%.*s", (int)ul, url);
    } else {
        const char *region = hc_aws_region(aws);
        if (!region)
            return hc_err_set(err, HC_EIO,
                              "aws: no region for %s (set AWS_REGION, or region in the profile)",
                              service);
        const char *dom = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
        w = snprintf(buf, len, "https://%s.%s.%s", services[i].prefix, region, dom);
    }
    if (w < 0 || (size_t)w >= len)
        return hc_err_set(err, HC_EINVAL, "aws: endpoint for %s too long", service);
    return 0;
}

/* ---- providers ---------------------------------------------------------------------
 * Each returns 1 with *c filled, 0 when it does not apply (nothing
 * configured), or a negative code with err set when configured but failing. */

static int from_env(hc_aws_creds *c, hc_err *err) {
    const char *id = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
    if (!id && !secret) return 0;
    if (!id || !secret)
        return hc_err_set(err, HC_EIO, "aws: %s is set but %s is not",
                          id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                          id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    const char *tok = env("AWS_SESSION_TOKEN");
    if (!copy_field(c->access_key_id, sizeof c->access_key_id, id) ||
        !copy_field(c->secret_access_key, sizeof c->secret_access_key, secret) ||
        !copy_field(c->session_token, sizeof c->session_token, tok ? tok : ""))
        return hc_err_set(err, HC_EIO, "aws: credentials in the environment too long");
    return 1;
}

static int from_file(const char *path, const char *section, hc_aws_creds *c, hc_err *err) {
    char id[sizeof c->access_key_id], secret[sizeof c->secret_access_key];
    bool has_id = ini_get(path, section, "aws_access_key_id", id, sizeof id);
    bool has_secret = ini_get(path, section, "aws_secret_access_key", secret, sizeof secret);
    if (!has_id && !has_secret) return 0;
    if (!has_id || !has_secret)
        return hc_err_set(err, HC_EIO, "aws: %s [%s]: %s missing", path, section,
                          has_id ? "aws_secret_access_key" : "aws_access_key_id");
    memcpy(c->access_key_id, id, sizeof id);
    memcpy(c->secret_access_key, secret, sizeof secret);
    if (!ini_get(path, section, "aws_session_token", c->session_token, sizeof c->session_token))
        c->session_token[0] = 0;
    memset(secret, 0, sizeof secret);
    return 1;
}

static int from_profile(const hc_aws *a, hc_aws_creds *c, hc_err *err) {
    char path[4096], sect[512];
    shared_path(path, sizeof path, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    int rc = from_file(path, a->profile, c, err);
    if (rc) return rc;
    shared_path(path, sizeof path, "AWS_CONFIG_FILE", "config");
    config_section(a->profile, sect, sizeof sect);
    return from_file(path, sect, c, err);
}

/* Metadata endpoints are link-local or loopback by design: unguarded, short
 * timeouts, a retry (IMDS may throttle), small bodies. */
static const hc_httpc_policy meta_pol = {.name = "aws-credentials",
                                         .guard = false,
                                         .connect_timeout_ms = 1000,
                                         .timeout_ms = 3000,
                                         .max_attempts = 2,
                                         .backoff_ms = 100,
                                         .max_body_bytes = 64 << 10};

/* The credentials JSON both endpoints answer with:
 * {AccessKeyId, SecretAccessKey, Token, Expiration} (IMDS adds Code). */
static int parse_creds_json(const char *what, const char *body, hc_aws_creds *c, hc_err *err) {
    json_error_t je;
    json_t *j = json_loads(body ? body : "", 0, &je);
    if (!j) return hc_err_set(err, HC_EIO, "aws: %s: answer is not JSON: %s", what, je.text);
    int rc = 0;
    const char *code = json_string_value(json_object_get(j, "Code"));
    const char *id = json_string_value(json_object_get(j, "AccessKeyId"));
    const char *secret = json_string_value(json_object_get(j, "SecretAccessKey"));
    const char *tok = json_string_value(json_object_get(j, "Token"));
    const char *exp = json_string_value(json_object_get(j, "Expiration"));
    if (code && strcmp(code, "Success") != 0) {
        rc = hc_err_set(err, HC_EIO, "aws: %s: Code \"%.64s\"", what, code);
    } else if (!id || !secret || !id[0] || !secret[0]) {
        rc = hc_err_set(err, HC_EIO, "aws: %s: AccessKeyId or SecretAccessKey missing", what);
    } else if (!copy_field(c->access_key_id, sizeof c->access_key_id, id) ||
               !copy_field(c->secret_access_key, sizeof c->secret_access_key, secret) ||
               !copy_field(c->session_token, sizeof c->session_token, tok ? tok : "")) {
        rc = hc_err_set(err, HC_EIO, "aws: %s: credentials too long", what);
    } else {
        c->expires_unix = parse_iso8601(exp);
        if (exp && !c->expires_unix)
            rc = hc_err_set(err, HC_EIO, "aws: %s: Expiration \"%.64s\" unparsable", what, exp);
    }
    json_decref(j);
    return rc;
}

static int http_get(const char *what, const char *method, const char *url,
                    const char *const *headers, hc_httpc_resp *r, hc_err *err) {
    int rc = hc_httpc_do(&meta_pol,
                         &(hc_httpc_req){.method = method, .url = url, .headers = headers}, r, err);
    if (rc) {
        hc_err_prefix(err, "aws: %s: ", what);
        return rc;
    }
    if (r->status < 200 || r->status > 299) {
        char shown[512];
        hc_url_redact(url, shown, sizeof shown);
        return hc_err_set(err, r->status >= 500 ? HC_ENET : HC_EIO, "aws: %s: %s answered HTTP %ld",
                          what, shown, r->status);
    }
    return 0;
}

/* May the FULL_URI form be used over plain http? Only to loopback or the
 * ECS/EKS agent addresses, as the SDKs require. */
static bool full_uri_host_ok(const hc_url *u) {
    if (strcmp(u->scheme, "https") == 0) return true;
    const char *h = u->host;
    return strncmp(h, "127.", 4) == 0 || strcmp(h, "localhost") == 0 || strcmp(h, "::1") == 0 ||
           strcmp(h, "169.254.170.2") == 0 || strcmp(h, "169.254.170.23") == 0 ||
           strcasecmp(h, "fd00:ec2::23") == 0;
}

void hc_aws_set_container_host(hc_aws *aws, const char *base_url) {
    pthread_mutex_lock(&aws->mu);
    snprintf(aws->container, sizeof aws->container, "%s", base_url ? base_url : CONTAINER_HOST);
    aws->have = false;
    pthread_mutex_unlock(&aws->mu);
}

static int from_container(const hc_aws *a, hc_aws_creds *c, hc_err *err) {
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (!rel && !full) return 0;
    char url[4096];
    hc_strlist h = {0};
    int rc = 0;
    if (rel) {
        snprintf(url, sizeof url, "%s%s%s", a->container, rel[0] == '/' ? "" : "/", rel);
    } else {
        snprintf(url, sizeof url, "%s", full);
        hc_url u;
        hc_err e2 = {0};
        if (hc_url_parse(url, &u, &e2) != 0)
            return hc_err_set(err, HC_EIO, "aws: AWS_CONTAINER_CREDENTIALS_FULL_URI: %s", e2.msg);
        bool ok = full_uri_host_ok(&u);
        hc_url_fini(&u);
        if (!ok)
            return hc_err_set(err, HC_EIO,
                              "aws: AWS_CONTAINER_CREDENTIALS_FULL_URI: plain http only to "
                              "loopback or the container agent's address");
        const char *tf = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
        const char *tok = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        if (tf) {
            FILE *f = fopen(tf, "r");
            char t[8192] = "";
            size_t n = f ? fread(t, 1, sizeof t - 1, f) : 0;
            if (f) fclose(f);
            if (!f)
                return hc_err_set(
                    err, HC_EIO, "aws: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: cannot read", tf);
            t[n] = 0;
            hc_strlist_add(&h, "Authorization: %s", trim(t));
            memset(t, 0, sizeof t);
        } else if (tok) {
            hc_strlist_add(&h, "Authorization: %s", tok);
        }
    }
    const char *hv[2] = {h.n ? h.v[0] : NULL, NULL};
    hc_httpc_resp r;
    rc = http_get("container credentials", "GET", url, hv, &r, err);
    if (rc == 0) rc = parse_creds_json("container credentials", r.body.p, c, err);
    hc_httpc_resp_fini(&r);
    hc_strlist_fini(&h);
    return rc ? rc : 1;
}

static int from_imds(hc_aws_creds *c, hc_err *err) {
    if (env_true("AWS_EC2_METADATA_DISABLED")) return 0;
    const char *base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (!base) base = IMDS_DEFAULT;
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    char url[4096], role[256];
    hc_httpc_resp r;
    snprintf(url, sizeof url, "%.*s/latest/api/token", (int)bl, base);
    const char *th[] = {"X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL, NULL};
    int rc = http_get("IMDS token", "PUT", url, th, &r, err);
    if (rc) {
        hc_httpc_resp_fini(&r);
        return rc;
    }
    hc_buf tokh = {0};
    hc_buf_printf(&tokh, "X-aws-ec2-metadata-token: %s", trim(r.body.p));
    hc_httpc_resp_fini(&r);
    const char *gh[] = {tokh.p, NULL};
    snprintf(url, sizeof url, "%.*s" IMDS_CREDS_PATH, (int)bl, base);
    rc = http_get("IMDS role", "GET", url, gh, &r, err);
    if (rc == 0) {
        char *first = trim(r.body.p);
        first[strcspn(first, "\r\n")] = 0;
        if (!first[0] || strlen(first) >= sizeof role || strchr(first, '/'))
            rc = hc_err_set(err, HC_EIO, "aws: IMDS: no instance role");
        else
            snprintf(role, sizeof role, "%s", first);
    }
    hc_httpc_resp_fini(&r);
    if (rc == 0) {
        snprintf(url, sizeof url, "%.*s" IMDS_CREDS_PATH "%s", (int)bl, base, role);
        rc = http_get("IMDS credentials", "GET", url, gh, &r, err);
        if (rc == 0) rc = parse_creds_json("IMDS credentials", r.body.p, c, err);
        hc_httpc_resp_fini(&r);
    }
    memset(tokh.p, 0, tokh.n);
    hc_buf_fini(&tokh);
    return rc ? rc : 1;
}

/* Run the chain into *c; 0 or the first configured provider's failure. */
static int resolve(const hc_aws *a, hc_aws_creds *c, char *source, size_t slen, hc_err *err) {
    static const char *const names[] = {"environment", "profile", "container endpoint", "IMDS"};
    for (int i = 0; i < 4; i++) {
        memset(c, 0, sizeof *c);
        int rc = i == 0   ? from_env(c, err)
                 : i == 1 ? from_profile(a, c, err)
                 : i == 2 ? from_container(a, c, err)
                          : from_imds(c, err);
        if (rc == 1) {
            snprintf(source, slen, "%s", names[i]);
            return 0;
        }
        /* A configured source that fails ends the chain, as in the SDKs.
         * IMDS is tried on every machine: say what else was looked at. */
        if (rc < 0 && i == 3)
            hc_err_prefix(err,
                          "aws: no credentials (environment, profile \"%s\", container "
                          "endpoint); ",
                          a->profile);
        if (rc < 0) return rc;
    }
    return hc_err_set(err, HC_EIO,
                      "aws: no credentials (environment, profile \"%s\", container endpoint, "
                      "IMDS disabled)",
                      a->profile);
}

int hc_aws_creds_get(hc_aws *aws, hc_aws_creds *out, hc_err *err) {
    if (!aws) return hc_err_set(err, HC_EINVAL, "aws: no context");
    pthread_mutex_lock(&aws->mu);
    int rc = 0;
    int64_t now = (int64_t)time(NULL);
    bool fresh =
        aws->have && (aws->creds.expires_unix == 0 || aws->creds.expires_unix - now > REFRESH_S);
    if (!fresh) {
        hc_aws_creds c;
        char source[64];
        hc_err e2 = {0};
        rc = resolve(aws, &c, source, sizeof source, &e2);
        if (rc == 0) {
            aws->creds = c;
            aws->have = true;
            if (strcmp(source, aws->source) != 0 || c.expires_unix)
                HC_LOG(HC_LOG_DEBUG, COMP, "credentials from %s%s", source,
                       c.expires_unix ? " (temporary)" : "");
            snprintf(aws->source, sizeof aws->source, "%s", source);
        } else if (aws->have && aws->creds.expires_unix > now) {
            /* Refresh failed; the old ones are still valid for a while. */
            HC_LOG(HC_LOG_WARN, COMP, "credentials refresh failed, %lld s left: %s",
                   (long long)(aws->creds.expires_unix - now), e2.msg);
            rc = 0;
        } else {
            hc_err_set(err, rc, "%s", e2.msg);
        }
        memset(&c, 0, sizeof c);
    }
    if (rc == 0) *out = aws->creds;
    pthread_mutex_unlock(&aws->mu);
    return rc;
}

/* ---- signed calls ------------------------------------------------------------------ */

static const char *const throttling_codes[] = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "Throttling",
    "ThrottledException",
    "RequestThrottledException",
};

static bool is_throttling(const char *type) {
    for (size_t i = 0; i < sizeof throttling_codes / sizeof throttling_codes[0]; i++)
        if (type && strcmp(type, throttling_codes[i]) == 0) return true;
    return false;
}

static bool aws_retry_status(long status, const hc_buf *body) {
    if (status >= 500 || status == 429 || status == 408) return true;
    if (status < 400 || !body || !body->p) return false;
    for (size_t i = 0; i < sizeof throttling_codes / sizeof throttling_codes[0]; i++) {
        const char *hit = strstr(body->p, throttling_codes[i]);
        /* a whole name: "SlowDown" in <Code>SlowDown</Code> or "#ThrottlingException" */
        if (hit) {
            char after = hit[strlen(throttling_codes[i])];
            if (!isalnum((unsigned char)after)) return true;
        }
    }
    return false;
}

static const hc_httpc_policy call_pol = {.name = "aws",
                                         .guard = false,
                                         .connect_timeout_ms = 5000,
                                         .max_attempts = 5,
                                         .backoff_ms = 200,
                                         .max_backoff_ms = 10000};

typedef struct call_ctx {
    hc_aws *aws;
    const char *service;
    const hc_httpc_req *orig;
} call_ctx;

static int call_prepare(void *ud, const hc_httpc_req *req, int attempt, hc_strlist *extra,
                        hc_err *err) {
    call_ctx *cc = ud;
    if (cc->orig->prepare) {
        int rc = cc->orig->prepare(cc->orig->ud, cc->orig, attempt, extra, err);
        if (rc) return rc;
    }
    hc_aws_creds cr;
    int rc = hc_aws_creds_get(cc->aws, &cr, err);
    if (rc) return rc;
    const char *region = hc_aws_region(cc->aws);
    if (!region) {
        memset(&cr, 0, sizeof cr);
        return hc_err_set(err, HC_EIO, "aws: no region (set AWS_REGION, or region in the profile)");
    }
    hc_sigv4 sv = {.creds = &cr, .region = region, .service = cc->service};
    /* The caller's headers and what its prepare added are all signed. */
    size_t n = 0;
    for (const char *const *h = req->headers; h && *h; h++)
        n++;
    const char **all = hc_xcalloc(n + (size_t)extra->n + 1, sizeof *all);
    size_t k = 0;
    for (const char *const *h = req->headers; h && *h; h++)
        all[k++] = *h;
    for (int i = 0; i < extra->n; i++)
        all[k++] = extra->v[i];
    const char *payload = NULL;
    if (req->body_path && !req->body) {
        bool given = false;
        for (size_t i = 0; i < k; i++)
            if (strncasecmp(all[i], "x-amz-content-sha256:", 21) == 0) given = true;
        if (!given) {
            if (strcmp(cc->service, "s3") != 0) {
                free(all);
                memset(&cr, 0, sizeof cr);
                return hc_err_set(err, HC_EINVAL,
                                  "aws: a %s body from a file needs an x-amz-content-sha256 header",
                                  cc->service);
            }
            payload = "UNSIGNED-PAYLOAD";
        }
    }
    rc = hc_sigv4_sign(&sv,
                       req->method ? req->method : (req->body || req->body_path ? "POST" : "GET"),
                       req->url, all, req->body, req->body_len, payload, extra, err);
    free(all);
    memset(&cr, 0, sizeof cr);
    return rc;
}

static bool call_on_data(void *ud, const void *data, size_t n) {
    call_ctx *cc = ud;
    return cc->orig->on_data(cc->orig->ud, data, n);
}

static void call_on_reset(void *ud) {
    call_ctx *cc = ud;
    cc->orig->on_reset(cc->orig->ud);
}

static bool call_on_progress(void *ud, int64_t dn, int64_t dt, int64_t un, int64_t ut) {
    call_ctx *cc = ud;
    return cc->orig->on_progress(cc->orig->ud, dn, dt, un, ut);
}

int hc_aws_call(hc_aws *aws, const char *service, const hc_httpc_req *req, hc_httpc_resp *resp,
                hc_err *err) {
    call_ctx cc = {.aws = aws, .service = service, .orig = req};
    hc_httpc_req r = *req;
    r.prepare = call_prepare;
    r.on_data = req->on_data ? call_on_data : NULL;
    r.on_reset = req->on_reset ? call_on_reset : NULL;
    r.on_progress = req->on_progress ? call_on_progress : NULL;
    r.retry_status = req->retry_status ? req->retry_status : aws_retry_status;
    r.ud = &cc;
    hc_httpc_policy pol = call_pol;
    pol.name = service;
    return hc_httpc_do(&pol, &r, resp, err);
}

int hc_aws_json(hc_aws *aws, const char *service, const char *target, const char *body, hc_buf *out,
                char *aws_type, size_t aws_type_len, hc_err *err) {
    if (aws_type && aws_type_len) aws_type[0] = 0;
    char base[2048], url[2100];
    int rc = hc_aws_endpoint(aws, service, base, sizeof base, err);
    if (rc) return rc;
    snprintf(url, sizeof url, "%s/", base);
    char tgt[512], ct[128];
    snprintf(tgt, sizeof tgt, "X-Amz-Target: %s", target);
    snprintf(ct, sizeof ct, "Content-Type: application/x-amz-json-%s",
             strcmp(service, "secretsmanager") == 0 ? "1.1" : "1.0");
    const char *hdrs[] = {ct, tgt, NULL};
    hc_httpc_resp r;
    rc = hc_aws_call(aws, service,
                     &(hc_httpc_req){.method = "POST",
                                     .url = url,
                                     .headers = hdrs,
                                     .body = body ? body : "{}",
                                     .body_len = strlen(body ? body : "{}")},
                     &r, err);
    if (rc) {
        hc_httpc_resp_fini(&r);
        return rc;
    }
    if (r.status >= 200 && r.status <= 299) {
        if (out) hc_buf_put(out, r.body.p ? r.body.p : "", r.body.n);
        hc_httpc_resp_fini(&r);
        return 0;
    }
    /* {"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
     *  "message": "..."} (Message for some services). */
    char type[256] = "", msg[512] = "";
    json_t *j = r.body.p ? json_loads(r.body.p, 0, NULL) : NULL;
    if (j) {
        const char *t = json_string_value(json_object_get(j, "__type"));
        const char *m = json_string_value(json_object_get(j, "message"));
        if (!m) m = json_string_value(json_object_get(j, "Message"));
        if (t) {
            const char *hash = strrchr(t, '#');
            snprintf(type, sizeof type, "%s", hash ? hash + 1 : t);
        }
        if (m) snprintf(msg, sizeof msg, "%s", m);
        json_decref(j);
    }
    if (!type[0]) {
        char hv[256];
        if (hc_httpc_header(&r, "x-amzn-ErrorType", hv, sizeof hv)) {
            hv[strcspn(hv, ":")] = 0;
            snprintf(type, sizeof type, "%s", hv);
        }
    }
    if (aws_type && aws_type_len) snprintf(aws_type, aws_type_len, "%s", type);
    /* Refused credentials are the deployment's problem, not the request's. */
    static const char *const auth_types[] = {
        "UnrecognizedClientException", "AccessDeniedException",
        "ExpiredTokenException",       "InvalidSignatureException",
        "IncompleteSignature",         "MissingAuthenticationTokenException",
        "InvalidClientTokenId",        "SignatureDoesNotMatch",
    };
    bool auth = r.status == 401 || r.status == 403;
    for (size_t i = 0; i < sizeof auth_types / sizeof auth_types[0]; i++)
        if (strcmp(type, auth_types[i]) == 0) auth = true;
    int code = r.status >= 500 || r.status == 429 || is_throttling(type) ? HC_ENET
               : auth                                                    ? HC_EIO
               : r.status >= 400                                         ? HC_EINVAL
                                                                         : HC_EIO;
    rc = hc_err_set(err, code, "%s: %s: %s (HTTP %ld, %d attempts)", service,
                    type[0] ? type : "error", msg[0] ? msg : "no message", r.status, r.attempts);
    hc_httpc_resp_fini(&r);
    return rc;
}
