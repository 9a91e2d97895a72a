/* Render requests: parse and validate the JSON body of `POST /render`
 * (DESIGN.md §2) into a plain hc_request, plus the enum name tables and the
 * output frame size table.
 *
 * Invariant: the whole request is checked before anything is returned; the
 * first problem fails the parse with HC_EINVAL (HC_ETOOBIG for an oversized
 * body) and a message that names the JSON field path and the rule. Fields are
 * checked in a fixed order (job_id, images, audio, script, settings, output,
 * callback_url, callback_secret, metadata) so the same bad request always
 * gives the same message. JSON null means "absent" for every optional field.
 * Unknown keys are not errors; each one adds a warning (a bounded number).
 * Every user-supplied string quoted in a message is escaped and truncated at a
 * UTF-8 boundary, so messages stay printable and valid UTF-8. */
#include "jobs/hc_jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

/* ---- enum tables ---------------------------------------------------------- */

const char *const hc_vibe_names[] = {"Exciting", "Emotional", "Pop",       "Minimal", "Chill",
                                     "Intense",  "Dreamy",    "Energetic", NULL};
const char *const hc_preset_names[] = {"zoom_beat", "crossfade",  "bounce",
                                       "minimal",   "pulse_flow", "glitch_wave",
                                       "slide",     "swirl",      NULL};
const char *const hc_aspect_names[] = {"9:16", "16:9", "1:1", "4:5", "4:3", NULL};
const char *const hc_resolution_names[] = {"720p", "1080p", "1440p", "2160p", NULL};
const char *const hc_text_style_names[] = {"bold_pop", "fade_in", "slide_in", "minimal", NULL};
const char *const hc_grade_names[] = {"vibrant", "cinematic", "bright",  "moody", "natural", "bw",
                                      "warm",    "cool",      "vintage", "sepia", NULL};
const char *const hc_fit_names[] = {"cover", "contain", "blur", NULL};
const char *const hc_hardware_names[] = {"auto", "gpu", "cpu", NULL};
const char *const hc_quality_names[] = {"draft", "standard", "high", NULL};

int hc_enum_lookup(const char *const *names, const char *name) {
    if (!names || !name) return -1;
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], name) == 0) return i;
    for (int i = 0; names[i]; i++)
        if (strcasecmp(names[i], name) == 0) return i;
    return -1;
}

void hc_enum_list(const char *const *names, char *buf, size_t len) {
    if (!buf || len == 0) return;
    buf[0] = 0;
    size_t o = 0;
    for (int i = 0; names && names[i]; i++) {
        int n = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", names[i]);
        if (n < 0 || (size_t)n >= len - o) break; /* truncated; buf stays terminated */
        o += (size_t)n;
    }
}

/* ---- output size ---------------------------------------------------------- */

void hc_output_size(hc_aspect aspect, hc_resolution res, int *w, int *h) {
    static const int short_side[HC_RES_COUNT] = {720, 1080, 1440, 2160};
    /* Long side over short side, and whether the frame is portrait. */
    static const struct {
        int num, den;
        bool portrait;
    } shape[HC_ASPECT_COUNT] = {
        {16, 9, true}, {16, 9, false}, {1, 1, false}, {5, 4, true}, {4, 3, false}};
    if ((int)res < 0 || res >= HC_RES_COUNT) res = HC_RES_1080P;
    if ((int)aspect < 0 || aspect >= HC_ASPECT_COUNT) aspect = HC_ASPECT_9_16;
    int s = short_side[res];
    int l = (s * shape[aspect].num + shape[aspect].den / 2) / shape[aspect].den;
    /* Encoders want even sizes (4:2:0 chroma); round up to the next even. */
    s = (s + 1) & ~1;
    l = (l + 1) & ~1;
    if (w) *w = shape[aspect].portrait ? s : l;
    if (h) *h = shape[aspect].portrait ? l : s;
}

/* ---- freeing -------------------------------------------------------------- */

static void name_list_fini(hc_name_list *l) {
    for (int i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void hc_request_free(hc_request *req) {
    if (!req) return;
    for (int i = 0; i < req->n_images; i++)
        free(req->images[i].url);
    free(req->images);
    free(req->audio_url);
    for (int i = 0; i < req->n_lines; i++)
        free(req->lines[i].text);
    free(req->lines);
    hc_settings *s = &req->settings;
    free(s->ai_prompt);
    name_list_fini(&s->ai_transitions);
    name_list_fini(&s->ai_motions);
    name_list_fini(&s->ai_filters);
    name_list_fini(&s->ai_text_animations);
    name_list_fini(&s->ai_overlays);
    free(req->output_s3_bucket);
    free(req->output_s3_key);
    free(req->callback_url);
    free(req->callback_secret);
    free(req->metadata_json);
    free(req->canonical_json);
    free(req->base_dir);
    hc_strlist_fini(&req->warnings);
    free(req);
}

/* ---- message helpers ------------------------------------------------------ */

enum {
    /* Field paths: an object's path fits PATH_LEN, a field under it SUB_LEN,
     * one more level SUB2_LEN (sized so snprintf can never truncate). */
    PATH_LEN = 64,
    SUB_LEN = 96,
    SUB2_LEN = 128,
    SHOW_BYTES = 48,       /* user text quoted in a message is cut after this many bytes */
    MAX_UNKNOWN_WARN = 16, /* unknown-field warnings kept; the rest are summarised */
    MAX_NAME_CHARS = 64,
    MAX_NAMES = 200,
    MAX_PROMPT_CHARS = 2000,
    MAX_SECRET_BYTES = 256,
    MAX_S3_KEY_BYTES = 1024,
    MAX_S3_BUCKET_BYTES = 255,
};
#define MAX_AUDIO_S    3600.0
#define CUT_MIN_S      0.3
#define CUT_MAX_S      5.0
#define DEFAULT_LINE_S 3.0
/* Reals up to 2^53 hold every integer exactly. */
#define MAX_EXACT_INT 9007199254740992.0

typedef struct parse_ctx {
    const hc_request_opts *opts;
    hc_request *req;
    hc_err *err;
    int n_unknown; /* unknown fields seen so far */
} parse_ctx;

static const char *type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "value";
}

/* Length of the longest prefix of s (at most max bytes) that does not end
 * inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n, size_t max) {
    if (n <= max) return n;
    size_t i = max;
    while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
        i--;
    return i;
}

/* A quoted, escaped, truncated copy of user text for messages: "Groovy". */
static void show_str(const char *s, size_t n, char *buf, size_t len) {
    char cut[SHOW_BYTES + 1], esc[SHOW_BYTES * 6 + 1];
    size_t k = utf8_cut(s, n, SHOW_BYTES);
    memcpy(cut, s, k);
    cut[k] = 0;
    hc_json_escape(esc, sizeof esc, cut);
    snprintf(buf, len, "\"%s\"%s", esc, k < n ? "..." : "");
}

/* A short rendering of any JSON value for "(got ...)". */
static void show_value(const json_t *v, char *buf, size_t len) {
    if (json_is_string(v))
        show_str(json_string_value(v), json_string_length(v), buf, len);
    else if (json_is_integer(v))
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, len, "%g", json_real_value(v));
    else
        snprintf(buf, len, "%s", type_name(v));
}

static int fail_type(parse_ctx *c, const char *path, const char *want, const json_t *v) {
    return hc_err_set(c->err, HC_EINVAL, "%s: must be %s (got %s)", path, want, type_name(v));
}

/* Number of code points in a UTF-8 string, or -1 when it is not valid UTF-8
 * (overlong forms, surrogates and values past U+10FFFF are invalid). */
static long utf8_count(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    long count = 0;
    size_t i = 0;
    while (i < n) {
        unsigned char b = p[i];
        size_t k;
        uint32_t cp;
        if (b < 0x80) {
            i++;
            count++;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF)
            k = 1, cp = b & 0x1F;
        else if (b >= 0xE0 && b <= 0xEF)
            k = 2, cp = b & 0x0F;
        else if (b >= 0xF0 && b <= 0xF4)
            k = 3, cp = b & 0x07;
        else
            return -1;
        if (n - i <= k) return -1;
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80) return -1;
            cp = (cp << 6) | (p[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return -1;
        i += k + 1;
        count++;
    }
    return count;
}

static bool has_control(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)s[i];
        if (b < 0x20 || b == 0x7F) return true;
    }
    return false;
}

/* Warn about keys of obj not in the NULL-terminated allowed list. prefix is
 * the object's path ("" at the top level). */
static void warn_unknown(parse_ctx *c, json_t *obj, const char *prefix,
                         const char *const *allowed) {
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        (void)val;
        bool known = false;
        for (int i = 0; allowed[i] && !known; i++)
            known = strcmp(allowed[i], key) == 0;
        if (known) continue;
        c->n_unknown++;
        if (c->n_unknown > MAX_UNKNOWN_WARN + 1) continue;
        if (c->n_unknown == MAX_UNKNOWN_WARN + 1) {
            hc_strlist_add(&c->req->warnings, "more unknown fields ignored");
            continue;
        }
        /* Show the key without quotes unless it needs escaping or cutting. */
        char shown[SHOW_BYTES * 6 + 8];
        size_t kn = strlen(key);
        if (kn <= SHOW_BYTES && !has_control(key, kn) && !strpbrk(key, "\"\\"))
            snprintf(shown, sizeof shown, "%s", key);
        else
            show_str(key, kn, shown, sizeof shown);
        hc_strlist_add(&c->req->warnings, "unknown field %s%s%s ignored", prefix,
                       *prefix ? "." : "", shown);
    }
}

/* ---- typed getters -------------------------------------------------------
 * Each takes a non-NULL JSON value and the field path, converts or fails. */

/* obj[key], or NULL when absent or JSON null. */
static json_t *field(json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

static int get_string(parse_ctx *c, json_t *v, const char *path, const char **s, size_t *n) {
    if (!json_is_string(v)) return fail_type(c, path, "a string", v);
    *s = json_string_value(v);
    *n = json_string_length(v);
    /* jansson refuses \u0000 by default, but keep the invariant explicit:
     * the C string must be the whole value. */
    if (strlen(*s) != *n)
        return hc_err_set(c->err, HC_EINVAL, "%s: must not contain NUL characters", path);
    return 0;
}

static int get_number(parse_ctx *c, json_t *v, const char *path, double *d) {
    if (!json_is_number(v)) return fail_type(c, path, "a number", v);
    *d = json_number_value(v);
    if (!isfinite(*d)) return hc_err_set(c->err, HC_EINVAL, "%s: must be a finite number", path);
    return 0;
}

/* An integer; a real with an integral value (30.0) is accepted too. */
static int get_integer(parse_ctx *c, json_t *v, const char *path, long long *i) {
    if (json_is_integer(v)) {
        *i = (long long)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (isfinite(d) && d == floor(d) && fabs(d) <= MAX_EXACT_INT) {
            *i = (long long)d;
            return 0;
        }
        char shown[64];
        show_value(v, shown, sizeof shown);
        return hc_err_set(c->err, HC_EINVAL, "%s: must be an integer (got %s)", path, shown);
    }
    return fail_type(c, path, "an integer", v);
}

static int get_bool(parse_ctx *c, json_t *v, const char *path, bool *b) {
    if (!json_is_boolean(v)) return fail_type(c, path, "a boolean", v);
    *b = json_is_true(v);
    return 0;
}

/* A number in [lo, hi]; unit is appended to the range in the message. */
static int get_range(parse_ctx *c, json_t *v, const char *path, double lo, double hi,
                     const char *unit, double *d) {
    int rc = get_number(c, v, path, d);
    if (rc) return rc;
    if (*d < lo || *d > hi)
        return hc_err_set(c->err, HC_EINVAL, "%s: must be between %g and %g%s (got %g)", path, lo,
                          hi, unit, *d);
    return 0;
}

/* A number in (0, hi]. */
static int get_positive(parse_ctx *c, json_t *v, const char *path, double hi, double *d) {
    int rc = get_number(c, v, path, d);
    if (rc) return rc;
    if (*d <= 0)
        return hc_err_set(c->err, HC_EINVAL, "%s: must be greater than 0 (got %g)", path, *d);
    if (*d > hi)
        return hc_err_set(c->err, HC_EINVAL, "%s: must be at most %g seconds (got %g)", path, hi,
                          *d);
    return 0;
}

/* Text of 1..max_chars code points of valid UTF-8. */
static int get_text(parse_ctx *c, json_t *v, const char *path, long max_chars, const char **s) {
    size_t n;
    int rc = get_string(c, v, path, s, &n);
    if (rc) return rc;
    long chars = utf8_count(*s, n);
    if (chars < 0) return hc_err_set(c->err, HC_EINVAL, "%s: invalid UTF-8", path);
    if (chars == 0) return hc_err_set(c->err, HC_EINVAL, "%s: must not be empty", path);
    if (chars > max_chars)
        return hc_err_set(c->err, HC_EINVAL, "%s: %ld characters exceeds the limit of %ld", path,
                          chars, max_chars);
    return 0;
}

/* An enum name from a table; absent or null leaves *out unchanged. */
static int get_enum(parse_ctx *c, json_t *obj, const char *key, const char *path,
                    const char *const *names, int *out) {
    json_t *v = field(obj, key);
    if (!v) return 0;
    const char *s;
    size_t n;
    int rc = get_string(c, v, path, &s, &n);
    if (rc) return rc;
    int idx = hc_enum_lookup(names, s);
    if (idx < 0) {
        char shown[SHOW_BYTES * 6 + 8], list[160];
        show_str(s, n, shown, sizeof shown);
        hc_enum_list(names, list, sizeof list);
        return hc_err_set(c->err, HC_EINVAL, "%s: unknown value %s (allowed: %s)", path, shown,
                          list);
    }
    *out = idx;
    return 0;
}

/* ---- URLs ----------------------------------------------------------------- */

/* ASCII classes: <ctype.h> depends on the locale, URL syntax does not. */
static bool is_digit(unsigned char b) {
    return b >= '0' && b <= '9';
}

static bool is_alpha(unsigned char b) {
    return (b | 0x20) >= 'a' && (b | 0x20) <= 'z';
}

static bool is_alnum(unsigned char b) {
    return is_alpha(b) || is_digit(b);
}

static bool is_xdigit(unsigned char b) {
    return is_digit(b) || ((b | 0x20) >= 'a' && (b | 0x20) <= 'f');
}

static bool host_char(unsigned char b) {
    return is_alnum(b) || b == '-' || b == '.' || b == '_' || b == '~' || b == '%' || b >= 0x80;
}

/* scheme://host[:port][/path][?query][#fragment] after "scheme:" (rest). */
static int check_http(parse_ctx *c, const char *url, const char *rest, const char *path) {
    if (strncmp(rest, "//", 2) != 0)
        return hc_err_set(c->err, HC_EINVAL,
                          "%s: malformed URL (expected scheme://host[:port]/path)", path);
    if (strchr(url, ' '))
        return hc_err_set(c->err, HC_EINVAL, "%s: must not contain spaces (encode them as %%20)",
                          path);
    const char *auth = rest + 2;
    size_t alen = strcspn(auth, "/?#");
    if (memchr(auth, '@', alen))
        return hc_err_set(c->err, HC_EINVAL, "%s: user credentials in the URL are not allowed",
                          path);
    if (alen == 0) return hc_err_set(c->err, HC_EINVAL, "%s: missing host", path);
    const char *port = NULL;
    if (auth[0] == '[') { /* IPv6 literal */
        const char *close = memchr(auth, ']', alen);
        if (!close || close == auth + 1)
            return hc_err_set(c->err, HC_EINVAL, "%s: malformed IPv6 host", path);
        for (const char *p = auth + 1; p < close; p++)
            if (!is_xdigit((unsigned char)*p) && *p != ':' && *p != '.')
                return hc_err_set(c->err, HC_EINVAL, "%s: malformed IPv6 host", path);
        size_t used = (size_t)(close - auth) + 1;
        if (used < alen) {
            if (auth[used] != ':')
                return hc_err_set(c->err, HC_EINVAL, "%s: malformed IPv6 host", path);
            port = auth + used + 1;
        }
    } else {
        const char *colon = memchr(auth, ':', alen);
        size_t hlen = colon ? (size_t)(colon - auth) : alen;
        if (colon) port = colon + 1;
        if (hlen == 0) return hc_err_set(c->err, HC_EINVAL, "%s: missing host", path);
        for (size_t i = 0; i < hlen; i++)
            if (!host_char((unsigned char)auth[i]))
                return hc_err_set(c->err, HC_EINVAL, "%s: invalid character '%c' in host", path,
                                  auth[i]);
    }
    if (port) {
        size_t plen = (size_t)(auth + alen - port);
        long val = 0;
        bool ok = plen >= 1 && plen <= 5;
        for (size_t i = 0; ok && i < plen; i++) {
            ok = is_digit((unsigned char)port[i]);
            val = val * 10 + (port[i] - '0');
        }
        if (!ok || val < 1 || val > 65535)
            return hc_err_set(c->err, HC_EINVAL, "%s: port must be a number between 1 and 65535",
                              path);
    }
    return 0;
}

/* s3://bucket/key after "s3:". */
static int check_s3(parse_ctx *c, const char *rest, const char *path) {
    if (strncmp(rest, "//", 2) != 0) goto bad;
    const char *bucket = rest + 2;
    size_t blen = strcspn(bucket, "/");
    if (blen == 0 || blen > MAX_S3_BUCKET_BYTES || bucket[blen] != '/' || bucket[blen + 1] == 0)
        goto bad;
    for (size_t i = 0; i < blen; i++) {
        unsigned char b = (unsigned char)bucket[i];
        if (!is_alnum(b) && b != '.' && b != '-' && b != '_') goto bad;
    }
    return 0;
bad:
    return hc_err_set(c->err, HC_EINVAL, "%s: must be s3://bucket/key", path);
}

/* file:///abs/path or file://localhost/abs/path after "file:". */
static int check_file(parse_ctx *c, const char *rest, const char *path) {
    const char *p = NULL;
    if (strncmp(rest, "///", 3) == 0)
        p = rest + 2;
    else if (strncasecmp(rest, "//localhost/", 12) == 0)
        p = rest + 11;
    if (!p || p[1] == 0)
        return hc_err_set(c->err, HC_EINVAL, "%s: must be file:///absolute/path", path);
    return 0;
}

/* Check a URL's syntax and classify it. http_only: only http(s) allowed
 * (callback URLs). Local files (file:// and bare paths) need the option. */
static int check_url(parse_ctx *c, const char *url, size_t n, const char *path, bool http_only,
                     hc_url_kind *kind) {
    if (n == 0) return hc_err_set(c->err, HC_EINVAL, "%s: must not be empty", path);
    if (n > HC_MAX_URL_LEN)
        return hc_err_set(c->err, HC_EINVAL, "%s: %zu bytes exceeds the limit of %d", path, n,
                          HC_MAX_URL_LEN);
    if (has_control(url, n))
        return hc_err_set(c->err, HC_EINVAL, "%s: must not contain control characters", path);

    /* RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
    size_t slen = 0;
    if (is_alpha((unsigned char)url[0])) {
        slen = 1;
        while (is_alnum((unsigned char)url[slen]) || url[slen] == '+' || url[slen] == '-' ||
               url[slen] == '.')
            slen++;
        if (url[slen] != ':') slen = 0;
    }
    int rc;
    if (slen == 0) {
        *kind = HC_URL_PATH;
    } else if (slen == 4 && strncasecmp(url, "http", 4) == 0) {
        *kind = HC_URL_HTTP;
    } else if (slen == 5 && strncasecmp(url, "https", 5) == 0) {
        *kind = HC_URL_HTTPS;
    } else if (slen == 2 && strncasecmp(url, "s3", 2) == 0) {
        *kind = HC_URL_S3;
    } else if (slen == 4 && strncasecmp(url, "file", 4) == 0) {
        *kind = HC_URL_FILE;
    } else {
        char scheme[SHOW_BYTES * 6 + 8];
        show_str(url, slen, scheme, sizeof scheme);
        return hc_err_set(c->err, HC_EINVAL, "%s: unsupported scheme %s (allowed: %s)", path,
                          scheme, http_only ? "http, https" : "http, https, s3, file, or a path");
    }
    if (http_only && *kind != HC_URL_HTTP && *kind != HC_URL_HTTPS)
        return hc_err_set(c->err, HC_EINVAL, "%s: must be an http or https URL", path);
    const char *rest = url + slen + 1;
    switch (*kind) {
    case HC_URL_HTTP:
    case HC_URL_HTTPS:
        rc = check_http(c, url, rest, path);
        break;
    case HC_URL_S3:
        rc = check_s3(c, rest, path);
        break;
    case HC_URL_FILE:
        rc = check_file(c, rest, path);
        break;
    case HC_URL_PATH:
        rc = 0;
        break;
    default:
        rc = hc_err_set(c->err, HC_EINTERNAL, "%s: unknown URL kind", path);
        break;
    }
    if (rc) return rc;
    if ((*kind == HC_URL_FILE || *kind == HC_URL_PATH) && !c->opts->allow_local_files)
        return hc_err_set(c->err, HC_EINVAL, "%s: local files are not allowed here", path);
    return 0;
}

/* ---- sections ------------------------------------------------------------- */

static bool job_id_char(unsigned char b) {
    return is_alnum(b) || b == '.' || b == '_' || b == '-';
}

static int parse_job_id(parse_ctx *c, json_t *root) {
    hc_request *req = c->req;
    json_t *v = field(root, "job_id");
    if (!v) {
        uint8_t rnd[4];
        hc_random_bytes(rnd, sizeof rnd);
        snprintf(req->job_id, sizeof req->job_id, "render-%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
                 rnd[3]);
        req->job_id_generated = true;
        return 0;
    }
    const char *s;
    size_t n;
    int rc = get_string(c, v, "job_id", &s, &n);
    if (rc) return rc;
    if (n == 0) return hc_err_set(c->err, HC_EINVAL, "job_id: must not be empty");
    /* Characters first, so the length below counts ASCII characters. */
    for (size_t i = 0; i < n; i++)
        if (!job_id_char((unsigned char)s[i]))
            return hc_err_set(c->err, HC_EINVAL,
                              "job_id: may only contain letters, digits, '.', '_' and '-'");
    if (n > HC_MAX_JOB_ID_LEN)
        return hc_err_set(c->err, HC_EINVAL, "job_id: %zu characters exceeds the limit of %d", n,
                          HC_MAX_JOB_ID_LEN);
    memcpy(req->job_id, s, n + 1);
    return 0;
}

static int parse_focus(parse_ctx *c, json_t *v, const char *ipath, hc_image_ref *img) {
    static const char *const keys[] = {"x", "y", NULL};
    char path[SUB_LEN];
    snprintf(path, sizeof path, "%s.focus", ipath);
    if (!json_is_object(v)) return fail_type(c, path, "an object", v);
    double xy[2] = {0.5, 0.5};
    for (int k = 0; k < 2; k++) {
        json_t *f = field(v, keys[k]);
        if (!f) continue;
        char fpath[SUB2_LEN];
        snprintf(fpath, sizeof fpath, "%s.%s", path, keys[k]);
        int rc = get_range(c, f, fpath, 0, 1, "", &xy[k]);
        if (rc) return rc;
    }
    warn_unknown(c, v, path, keys);
    img->has_focus = true;
    img->focus_x = xy[0];
    img->focus_y = xy[1];
    return 0;
}

static int parse_image(parse_ctx *c, json_t *el, size_t i, hc_image_ref *img) {
    static const char *const keys[] = {"url", "order", "focus", NULL};
    char path[PATH_LEN], upath[SUB_LEN];
    snprintf(path, sizeof path, "images[%zu]", i);
    snprintf(upath, sizeof upath, "%s.url", path);
    img->index = (int)i;
    img->order = (int)i;
    json_t *url = el; /* a bare string is shorthand for {"url": ...} */
    if (json_is_object(el)) {
        url = field(el, "url");
        if (!url) return hc_err_set(c->err, HC_EINVAL, "%s: required", upath);
    } else if (!json_is_string(el)) {
        return fail_type(c, path, "an object or a URL string", el);
    }
    const char *s;
    size_t n;
    int rc = get_string(c, url, upath, &s, &n);
    if (!rc) rc = check_url(c, s, n, upath, false, &img->kind);
    if (rc) return rc;
    img->url = hc_strdup(s);
    if (!json_is_object(el)) return 0;

    json_t *v = field(el, "order");
    if (v) {
        char opath[SUB_LEN];
        long long ord;
        snprintf(opath, sizeof opath, "%s.order", path);
        rc = get_integer(c, v, opath, &ord);
        if (rc) return rc;
        if (ord < INT_MIN || ord > INT_MAX)
            return hc_err_set(c->err, HC_EINVAL, "%s: must be between %d and %d (got %lld)", opath,
                              INT_MIN, INT_MAX, ord);
        img->order = (int)ord;
    }
    v = field(el, "focus");
    if (v && (rc = parse_focus(c, v, path, img))) return rc;
    warn_unknown(c, el, path, keys);
    return 0;
}

static int image_cmp(const void *a, const void *b) {
    const hc_image_ref *x = a, *y = b;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    /* Ties keep array order: qsort is not stable, the index makes it so. */
    return (x->index > y->index) - (x->index < y->index);
}

static int parse_images(parse_ctx *c, json_t *root) {
    hc_request *req = c->req;
    json_t *v = field(root, "images");
    if (!v) return hc_err_set(c->err, HC_EINVAL, "images: required (an array of images)");
    if (!json_is_array(v)) return fail_type(c, "images", "an array", v);
    size_t n = json_array_size(v);
    if (n == 0) return hc_err_set(c->err, HC_EINVAL, "images: must contain at least one image");
    if (n > HC_MAX_IMAGES)
        return hc_err_set(c->err, HC_EINVAL, "images: %zu images exceeds the limit of %d", n,
                          HC_MAX_IMAGES);
    req->images = hc_xcalloc(n, sizeof *req->images);
    for (size_t i = 0; i < n; i++) {
        /* Counted before parsing so a half-filled entry is freed too. */
        req->n_images = (int)i + 1;
        int rc = parse_image(c, json_array_get(v, i), i, &req->images[i]);
        if (rc) return rc;
    }
    qsort(req->images, n, sizeof *req->images, image_cmp);
    return 0;
}

static int parse_audio(parse_ctx *c, json_t *root) {
    static const char *const keys[] = {"url", "start_time", "duration", NULL};
    hc_request *req = c->req;
    json_t *a = field(root, "audio");
    if (!a) return 0;
    if (!json_is_object(a)) return fail_type(c, "audio", "an object or null", a);
    json_t *v = field(a, "url");
    if (!v) return hc_err_set(c->err, HC_EINVAL, "audio.url: required");
    const char *s;
    size_t n;
    hc_url_kind kind;
    int rc = get_string(c, v, "audio.url", &s, &n);
    if (!rc) rc = check_url(c, s, n, "audio.url", false, &kind);
    if (rc) return rc;
    if ((v = field(a, "start_time")) &&
        (rc = get_range(c, v, "audio.start_time", 0, MAX_AUDIO_S, " seconds", &req->audio_start_s)))
        return rc;
    if ((v = field(a, "duration")) &&
        (rc = get_positive(c, v, "audio.duration", MAX_AUDIO_S, &req->audio_duration_s)))
        return rc;
    req->audio_url = hc_strdup(s);
    req->has_audio = true;
    warn_unknown(c, a, "audio", keys);
    return 0;
}

static int parse_line(parse_ctx *c, json_t *el, size_t i, hc_caption *line) {
    static const char *const keys[] = {"text", "timing", "duration", NULL};
    char path[PATH_LEN], fpath[SUB_LEN];
    snprintf(path, sizeof path, "script.lines[%zu]", i);
    if (!json_is_object(el)) return fail_type(c, path, "an object", el);
    line->timing_s = 0;
    line->duration_s = DEFAULT_LINE_S;
    snprintf(fpath, sizeof fpath, "%s.text", path);
    json_t *v = field(el, "text");
    if (!v) return hc_err_set(c->err, HC_EINVAL, "%s: required", fpath);
    const char *text;
    int rc = get_text(c, v, fpath, HC_MAX_LINE_CHARS, &text);
    if (rc) return rc;
    if ((v = field(el, "timing"))) {
        snprintf(fpath, sizeof fpath, "%s.timing", path);
        if ((rc = get_number(c, v, fpath, &line->timing_s))) return rc;
        if (line->timing_s < 0)
            return hc_err_set(c->err, HC_EINVAL, "%s: must be at least 0 (got %g)", fpath,
                              line->timing_s);
    }
    if ((v = field(el, "duration"))) {
        snprintf(fpath, sizeof fpath, "%s.duration", path);
        if ((rc = get_number(c, v, fpath, &line->duration_s))) return rc;
        if (line->duration_s <= 0)
            return hc_err_set(c->err, HC_EINVAL, "%s: must be greater than 0 (got %g)", fpath,
                              line->duration_s);
    }
    line->text = hc_strdup(text);
    warn_unknown(c, el, path, keys);
    return 0;
}

static int parse_script(parse_ctx *c, json_t *root) {
    static const char *const keys[] = {"lines", NULL};
    hc_request *req = c->req;
    json_t *sc = field(root, "script");
    if (!sc) return 0;
    if (!json_is_object(sc)) return fail_type(c, "script", "an object or null", sc);
    json_t *lines = field(sc, "lines");
    if (lines) {
        if (!json_is_array(lines)) return fail_type(c, "script.lines", "an array", lines);
        size_t n = json_array_size(lines);
        if (n > HC_MAX_LINES)
            return hc_err_set(c->err, HC_EINVAL, "script.lines: %zu lines exceeds the limit of %d",
                              n, HC_MAX_LINES);
        if (n) req->lines = hc_xcalloc(n, sizeof *req->lines);
        for (size_t i = 0; i < n; i++) {
            req->n_lines = (int)i + 1;
            int rc = parse_line(c, json_array_get(lines, i), i, &req->lines[i]);
            if (rc) return rc;
        }
    }
    warn_unknown(c, sc, "script", keys);
    return 0;
}

static int parse_name_list(parse_ctx *c, json_t *fx, const char *key, hc_name_list *out) {
    char path[PATH_LEN];
    snprintf(path, sizeof path, "settings.ai_effects.%s", key);
    json_t *arr = field(fx, key);
    if (!arr) return 0;
    if (!json_is_array(arr)) return fail_type(c, path, "an array", arr);
    size_t n = json_array_size(arr);
    if (n > MAX_NAMES)
        return hc_err_set(c->err, HC_EINVAL, "%s: %zu entries exceeds the limit of %d", path, n,
                          MAX_NAMES);
    if (n == 0) return 0;
    out->v = hc_xcalloc(n, sizeof *out->v);
    for (size_t i = 0; i < n; i++) {
        char epath[SUB_LEN];
        const char *s;
        snprintf(epath, sizeof epath, "%s[%zu]", path, i);
        int rc = get_text(c, json_array_get(arr, i), epath, MAX_NAME_CHARS, &s);
        if (rc) return rc;
        out->v[out->n++] = hc_strdup(s);
    }
    return 0;
}

static int parse_ai_effects(parse_ctx *c, json_t *fx, hc_settings *st) {
    static const char *const keys[] = {"transitions",     "motions",  "filters",
                                       "text_animations", "overlays", NULL};
    hc_name_list *lists[] = {&st->ai_transitions, &st->ai_motions, &st->ai_filters,
                             &st->ai_text_animations, &st->ai_overlays};
    if (!json_is_object(fx)) return fail_type(c, "settings.ai_effects", "an object", fx);
    for (int k = 0; keys[k]; k++) {
        int rc = parse_name_list(c, fx, keys[k], lists[k]);
        if (rc) return rc;
    }
    warn_unknown(c, fx, "settings.ai_effects", keys);
    return 0;
}

static int parse_settings(parse_ctx *c, json_t *root) {
    static const char *const keys[] = {"vibe",
                                       "effect_preset",
                                       "aspect_ratio",
                                       "target_duration",
                                       "cut_duration",
                                       "text_style",
                                       "color_grade",
                                       "use_ai_effects",
                                       "ai_prompt",
                                       "ai_effects",
                                       "fps",
                                       "resolution",
                                       "fit",
                                       "hardware",
                                       "quality",
                                       "seed",
                                       NULL};
    hc_settings *st = &c->req->settings;
    json_t *s = field(root, "settings");
    if (!s) return 0;
    if (!json_is_object(s)) return fail_type(c, "settings", "an object", s);

    /* Enums, stored as the table index. */
    int vibe = st->vibe, preset = st->effect_preset, aspect = st->aspect, text = st->text_style,
        grade = st->color_grade, res = st->resolution, fit = st->fit, hw = st->hardware,
        q = st->quality;
    int rc;
    if ((rc = get_enum(c, s, "vibe", "settings.vibe", hc_vibe_names, &vibe)) ||
        (rc =
             get_enum(c, s, "effect_preset", "settings.effect_preset", hc_preset_names, &preset)) ||
        (rc = get_enum(c, s, "aspect_ratio", "settings.aspect_ratio", hc_aspect_names, &aspect)))
        return rc;

    json_t *v;
    if ((v = field(s, "target_duration")) &&
        (rc = get_range(c, v, "settings.target_duration", 0, HC_MAX_TARGET_DURATION_S, " seconds",
                        &st->target_duration_s)))
        return rc;
    if ((v = field(s, "cut_duration"))) {
        double d;
        if ((rc = get_number(c, v, "settings.cut_duration", &d))) return rc;
        if (d <= 0)
            return hc_err_set(c->err, HC_EINVAL,
                              "settings.cut_duration: must be greater than 0 (got %g)", d);
        double clamped = d < CUT_MIN_S ? CUT_MIN_S : d > CUT_MAX_S ? CUT_MAX_S : d;
        if (clamped != d)
            hc_strlist_add(&c->req->warnings, "settings.cut_duration: %g clamped to %g seconds", d,
                           clamped);
        st->cut_duration_s = clamped;
    }
    if ((rc = get_enum(c, s, "text_style", "settings.text_style", hc_text_style_names, &text)) ||
        (rc = get_enum(c, s, "color_grade", "settings.color_grade", hc_grade_names, &grade)))
        return rc;
    if ((v = field(s, "use_ai_effects")) &&
        (rc = get_bool(c, v, "settings.use_ai_effects", &st->use_ai_effects)))
        return rc;
    if ((v = field(s, "ai_prompt"))) {
        const char *p;
        size_t n;
        if ((rc = get_string(c, v, "settings.ai_prompt", &p, &n))) return rc;
        if (n > 0) { /* an empty prompt is no prompt */
            if ((rc = get_text(c, v, "settings.ai_prompt", MAX_PROMPT_CHARS, &p))) return rc;
            st->ai_prompt = hc_strdup(p);
        }
    }
    if ((v = field(s, "ai_effects")) && (rc = parse_ai_effects(c, v, st))) return rc;
    if ((v = field(s, "fps"))) {
        long long fps;
        if ((rc = get_integer(c, v, "settings.fps", &fps))) return rc;
        if (fps != 24 && fps != 25 && fps != 30 && fps != 50 && fps != 60)
            return hc_err_set(c->err, HC_EINVAL,
                              "settings.fps: must be one of 24, 25, 30, 50, 60 (got %lld)", fps);
        st->fps = (int)fps;
    }
    if ((rc = get_enum(c, s, "resolution", "settings.resolution", hc_resolution_names, &res)) ||
        (rc = get_enum(c, s, "fit", "settings.fit", hc_fit_names, &fit)) ||
        (rc = get_enum(c, s, "hardware", "settings.hardware", hc_hardware_names, &hw)) ||
        (rc = get_enum(c, s, "quality", "settings.quality", hc_quality_names, &q)))
        return rc;
    if ((v = field(s, "seed"))) {
        long long seed;
        if ((rc = get_integer(c, v, "settings.seed", &seed))) return rc;
        if (seed < 0)
            return hc_err_set(c->err, HC_EINVAL,
                              "settings.seed: must be a non-negative integer (got %lld)", seed);
        st->seed = (uint64_t)seed;
        st->has_seed = true;
    }
    st->vibe = (hc_vibe)vibe;
    st->effect_preset = (hc_preset)preset;
    st->aspect = (hc_aspect)aspect;
    st->text_style = (hc_text_style)text;
    st->color_grade = (hc_grade)grade;
    st->resolution = (hc_resolution)res;
    st->fit = (hc_fit)fit;
    st->hardware = (hc_hardware)hw;
    st->quality = (hc_quality)q;
    warn_unknown(c, s, "settings", keys);
    return 0;
}

static int parse_output(parse_ctx *c, json_t *root) {
    static const char *const keys[] = {"s3_bucket", "s3_key", NULL};
    hc_request *req = c->req;
    json_t *o = field(root, "output");
    if (!o) return 0;
    if (!json_is_object(o)) return fail_type(c, "output", "an object", o);
    const char *s;
    size_t n;
    int rc;
    json_t *v;
    if ((v = field(o, "s3_bucket"))) {
        if ((rc = get_string(c, v, "output.s3_bucket", &s, &n))) return rc;
        if (n == 0) return hc_err_set(c->err, HC_EINVAL, "output.s3_bucket: must not be empty");
        bool ok = n <= MAX_S3_BUCKET_BYTES;
        for (size_t i = 0; ok && i < n; i++)
            ok = is_alnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-' || s[i] == '_';
        if (!ok)
            return hc_err_set(
                c->err, HC_EINVAL,
                "output.s3_bucket: must be a bucket name (letters, digits, '.', '-', '_')");
        req->output_s3_bucket = hc_strdup(s);
    }
    if ((v = field(o, "s3_key"))) {
        if ((rc = get_string(c, v, "output.s3_key", &s, &n))) return rc;
        if (n == 0) return hc_err_set(c->err, HC_EINVAL, "output.s3_key: must not be empty");
        if (n > MAX_S3_KEY_BYTES)
            return hc_err_set(c->err, HC_EINVAL, "output.s3_key: %zu bytes exceeds the limit of %d",
                              n, MAX_S3_KEY_BYTES);
        if ((rc = hc_storage_key_check(s, c->err))) {
            hc_err_prefix(c->err, "output.s3_key: ");
            return rc;
        }
        if (utf8_count(s, n) < 0)
            return hc_err_set(c->err, HC_EINVAL, "output.s3_key: invalid UTF-8");
        req->output_s3_key = hc_strdup(s);
    }
    warn_unknown(c, o, "output", keys);
    return 0;
}

static int parse_callback(parse_ctx *c, json_t *root) {
    hc_request *req = c->req;
    const char *s;
    size_t n;
    int rc;
    json_t *v;
    if ((v = field(root, "callback_url"))) {
        hc_url_kind kind;
        if ((rc = get_string(c, v, "callback_url", &s, &n)) ||
            (rc = check_url(c, s, n, "callback_url", true, &kind)))
            return rc;
        req->callback_url = hc_strdup(s);
    }
    if ((v = field(root, "callback_secret"))) {
        if ((rc = get_string(c, v, "callback_secret", &s, &n))) return rc;
        if (n > MAX_SECRET_BYTES)
            return hc_err_set(c->err, HC_EINVAL,
                              "callback_secret: %zu bytes exceeds the limit of %d", n,
                              MAX_SECRET_BYTES);
        /* An empty secret means "none": the server's CALLBACK_SECRET applies. */
        if (n) req->callback_secret = hc_strdup(s);
    }
    return 0;
}

static int parse_metadata(parse_ctx *c, json_t *root) {
    json_t *v = field(root, "metadata");
    if (!v) return 0;
    if (!json_is_object(v)) return fail_type(c, "metadata", "an object", v);
    char *text = json_dumps(v, JSON_COMPACT);
    if (!text) return hc_err_set(c->err, HC_ENOMEM, "metadata: out of memory while serializing");
    size_t n = strlen(text);
    if (n > HC_MAX_METADATA_BYTES) {
        free(text);
        return hc_err_set(c->err, HC_EINVAL, "metadata: %zu bytes exceeds the limit of %d", n,
                          HC_MAX_METADATA_BYTES);
    }
    c->req->metadata_json = hc_strdup(text); /* ours come from hc_xmalloc, freed with free() */
    free(text);
    return 0;
}

static int parse_priority(parse_ctx *c, json_t *root) {
    json_t *v = field(root, "priority");
    if (!v || json_is_null(v)) return 0;
    long long p;
    int rc = get_integer(c, v, "priority", &p);
    if (rc) return rc;
    if (p < HC_MIN_PRIORITY || p > HC_MAX_PRIORITY)
        return hc_err_set(c->err, HC_EINVAL, "priority: must be between %d and %d (got %lld)",
                          HC_MIN_PRIORITY, HC_MAX_PRIORITY, p);
    c->req->priority = (int)p;
    return 0;
}

/* FNV-1a 64 of the job id: the seed when settings.seed is absent. */
static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* jansson's text may quote raw input bytes; keep messages printable ASCII. */
static void sanitize(char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7F) *s = '?';
}

/* ---- entry point ---------------------------------------------------------- */

int hc_request_parse(const char *body, size_t len, const hc_request_opts *opts, hc_request **out,
                     hc_err *err) {
    static const hc_request_opts no_opts = {false, NULL};
    static const char *const keys[] = {
        "job_id",       "images",          "audio",    "script",   "settings", "output",
        "callback_url", "callback_secret", "metadata", "priority", NULL};
    json_t *root = NULL;
    hc_request *req = NULL;
    int rc = 0;
    if (out) *out = NULL;
    if (!out || (!body && len > 0)) {
        rc = hc_err_set(err, HC_EINVAL, "request body: missing");
        goto done;
    }
    if (len > HC_MAX_BODY_BYTES) {
        rc = hc_err_set(err, HC_ETOOBIG, "request body: %zu bytes exceeds the limit of %d", len,
                        HC_MAX_BODY_BYTES);
        goto done;
    }
    json_error_t jerr;
    root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        sanitize(jerr.text);
        if (json_error_code(&jerr) == json_error_invalid_utf8)
            rc = hc_err_set(err, HC_EINVAL, "request body: invalid UTF-8 at line %d column %d",
                            jerr.line, jerr.column);
        else
            rc = hc_err_set(err, HC_EINVAL, "request body: invalid JSON at line %d column %d: %s",
                            jerr.line, jerr.column, jerr.text);
        goto done;
    }
    if (!json_is_object(root)) {
        rc = hc_err_set(err, HC_EINVAL, "request body: must be a JSON object (got %s)",
                        type_name(root));
        goto done;
    }

    req = hc_xcalloc(1, sizeof *req);
    hc_settings *st = &req->settings;
    st->vibe = HC_VIBE_POP;
    st->effect_preset = HC_PRESET_NONE;
    st->aspect = HC_ASPECT_9_16;
    st->text_style = HC_TEXT_NONE;
    st->color_grade = HC_GRADE_NONE;
    st->use_ai_effects = true;
    st->fps = 30;
    st->resolution = HC_RES_1080P;
    st->fit = HC_FIT_COVER;
    st->hardware = HC_HW_AUTO;
    st->quality = HC_QUALITY_STANDARD;

    parse_ctx c = {.opts = opts ? opts : &no_opts, .req = req, .err = err};
    /* Messages go to err; a private one keeps the first code when err is NULL. */
    hc_err local = {0};
    if (!c.err) c.err = &local;
    if ((rc = parse_job_id(&c, root)) || (rc = parse_images(&c, root)) ||
        (rc = parse_audio(&c, root)) || (rc = parse_script(&c, root)) ||
        (rc = parse_settings(&c, root)) || (rc = parse_output(&c, root)) ||
        (rc = parse_callback(&c, root)) || (rc = parse_metadata(&c, root)) ||
        (rc = parse_priority(&c, root)))
        goto done;
    warn_unknown(&c, root, "", keys);
    if (!st->has_seed) st->seed = fnv1a64(req->job_id);
    if (c.opts->base_dir) req->base_dir = hc_strdup(c.opts->base_dir);
    /* The stored form: the body as parsed, with a generated job_id written
     * in, keys sorted, so equal requests have equal text. */
    if (req->job_id_generated) json_object_set_new(root, "job_id", json_string(req->job_id));
    char *canon = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    if (!canon) {
        rc = hc_err_set(err, HC_ENOMEM, "request body: out of memory while serializing");
        goto done;
    }
    req->canonical_json = canon; /* jansson allocates with malloc */
    *out = req;
    req = NULL;

done:
    hc_request_free(req);
    json_decref(root);
    return rc;
}
