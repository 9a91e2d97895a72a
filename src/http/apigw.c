/* API Gateway HTTP API events (payload format 2.0) through hc_api_handle:
 * the Lambda's way into the same handlers `serve` runs.
 *
 * In: rawPath (percent-decoded as the server decodes paths; the stage
 * prefix removed for a named stage), rawQueryString, headers (API Gateway
 * sends them lower-case, repeated ones comma-joined), cookies,
 * requestContext.http.method, body (base64-decoded when isBase64Encoded).
 * Out: {"statusCode","headers","body","isBase64Encoded"}, the body in
 * base64 unless it is text (text/..., JSON) and valid UTF-8; file bodies
 * are read from their descriptor into the response.
 *
 * Invariant: the request reaches hc_api_handle exactly as the server
 * would pass it (same route table, keys, CORS, counters); nothing of the
 * event (headers, body) is logged. */
#include "http/http_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What a Lambda response can carry: 6 MB of JSON, so raw bodies a little
 * under 4.5 MB once in base64. */
#define APIGW_MAX_RAW_BODY (4400u * 1024u)

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64_encode(hc_buf *out, const unsigned char *p, size_t n) {
    hc_buf_reserve(out, (n + 2) / 3 * 4);
    char *w = out->p + out->n;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *w++ = b64chars[v >> 18];
        *w++ = b64chars[(v >> 12) & 63];
        *w++ = b64chars[(v >> 6) & 63];
        *w++ = b64chars[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0u);
        *w++ = b64chars[v >> 18];
        *w++ = b64chars[(v >> 12) & 63];
        *w++ = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        *w++ = '=';
    }
    out->n = (size_t)(w - out->p);
    out->p[out->n] = 0;
}

static int b64_value(char c) {
    const char *p = c ? strchr(b64chars, c) : NULL;
    if (p) return (int)(p - b64chars);
    if (c == '-') return 62; /* the URL-safe alphabet too */
    if (c == '_') return 63;
    return -1;
}

/* Standard or URL-safe base64, padding optional, whitespace ignored. */
static int b64_decode(hc_buf *out, const char *s, size_t n, hc_err *err) {
    hc_buf_reserve(out, n / 4 * 3 + 3);
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
        int v = b64_value(c);
        if (v < 0)
            return hc_err_set(err, HC_EINVAL, "event body: not valid base64 (isBase64Encoded)");
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->p[out->n++] = (char)((acc >> bits) & 0xff);
        }
    }
    out->p[out->n] = 0;
    return 0;
}

static bool textual(const char *ct) {
    if (!ct) return false;
    if (!strncasecmp(ct, "text/", 5)) return true;
    size_t n = strcspn(ct, "; \t");
    if (n >= 16 && !strncasecmp(ct, "application/json", 16)) return true;
    return n > 5 && !strncasecmp(ct + n - 5, "+json", 5);
}

/* resp as the Lambda's API Gateway answer. */
static char *response_json(const hc_api_resp *resp, bool head) {
    json_t *root = json_object(), *headers = json_object();
    json_object_set_new(root, "statusCode", json_integer(resp->status));
    for (int i = 0; i < resp->headers.n; i++) {
        const char *h = resp->headers.v[i], *colon = strchr(h, ':');
        if (!colon) continue;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)(colon - h < 127 ? colon - h : 127), h);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        json_t *old = json_object_get(headers, name);
        if (old) { /* one value per name in payload 2.0: comma-joined */
            hc_buf j = {0};
            hc_buf_printf(&j, "%s, %s", json_string_value(old), v);
            json_object_set_new(headers, name, json_string(j.p));
            hc_buf_fini(&j);
        } else {
            json_object_set_new(headers, name, json_string(v));
        }
    }
    json_object_set_new(root, "headers", headers);
    const char *ct = hc_api_resp_header(resp, "Content-Type");
    json_t *body = NULL;
    bool b64 = false;
    size_t n = head ? 0 : resp->body.n;
    if (n && textual(ct)) body = json_stringn(resp->body.p, n); /* NULL when not UTF-8 */
    if (!body && n) {
        hc_buf e = {0};
        b64_encode(&e, (const unsigned char *)resp->body.p, n);
        body = json_stringn(e.p, e.n);
        hc_buf_fini(&e);
        b64 = true;
    }
    json_object_set_new(root, "body", body ? body : json_string(""));
    json_object_set_new(root, "isBase64Encoded", json_boolean(b64));
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text;
}

int hc_api_apigw(hc_api *api, const char *event, size_t len, hc_buf *out, hc_err *err) {
    int64_t t0 = hc_now_us();
    json_error_t jerr;
    json_t *root = json_loadb(event, len, 0, &jerr);
    json_t *http = json_object_get(json_object_get(root, "requestContext"), "http");
    const char *method = json_string_value(json_object_get(http, "method"));
    if (!json_is_object(root) || !method) {
        json_decref(root);
        return hc_err_set(err, HC_EUNSUPPORTED,
                          "event: not an API Gateway HTTP API event (no requestContext.http.method)");
    }
    const char *version = json_string_value(json_object_get(root, "version"));
    if (version && strcmp(version, "2.0")) {
        int vrc = hc_err_set(err, HC_EINVAL,
                             "event: payload format version %.20s (the HTTP API's 2.0 is expected)",
                             version);
        json_decref(root); /* version points into it */
        return vrc;
    }
    int rc = 0;
    const char *raw = json_string_value(json_object_get(root, "rawPath"));
    if (!raw) raw = json_string_value(json_object_get(http, "path"));
    if (!raw || raw[0] != '/') raw = "/";
    /* A named stage appears in rawPath ("/prod/render"); $default does not. */
    const char *stage = json_string_value(json_object_get(json_object_get(root, "requestContext"),
                                                          "stage"));
    if (stage && *stage && strcmp(stage, "$default")) {
        size_t sl = strlen(stage);
        if (!strncmp(raw + 1, stage, sl) && (raw[1 + sl] == '/' || raw[1 + sl] == 0))
            raw += 1 + sl;
        if (!*raw) raw = "/";
    }
    char *path = hc_strdup(raw);
    hc_api_unescape(path);

    hc_api_kv *query = NULL;
    char *query_store = NULL;
    int n_query = hc_api_query_parse(json_string_value(json_object_get(root, "rawQueryString")),
                                     &query, &query_store);

    json_t *hobj = json_object_get(root, "headers");
    size_t nh = json_is_object(hobj) ? json_object_size(hobj) : 0;
    hc_api_kv *headers = hc_xcalloc(nh + 1, sizeof *headers);
    int n_headers = 0;
    const char *key;
    json_t *val;
    json_object_foreach(hobj, key, val) {
        if (json_is_string(val)) headers[n_headers++] = (hc_api_kv){key, json_string_value(val)};
    }
    hc_buf cookie = {0};
    json_t *cookies = json_object_get(root, "cookies");
    for (size_t i = 0; json_is_array(cookies) && i < json_array_size(cookies); i++) {
        const char *c = json_string_value(json_array_get(cookies, i));
        if (c) hc_buf_printf(&cookie, "%s%s", cookie.n ? "; " : "", c);
    }
    if (cookie.n) {
        headers = realloc(headers, (size_t)(n_headers + 1) * sizeof *headers);
        if (!headers) abort();
        headers[n_headers++] = (hc_api_kv){"cookie", cookie.p};
    }

    hc_buf decoded = {0};
    json_t *jbody = json_object_get(root, "body");
    const char *body = json_string_value(jbody);
    size_t body_len = body ? json_string_length(jbody) : 0;
    if (body && json_is_true(json_object_get(root, "isBase64Encoded"))) {
        rc = b64_decode(&decoded, body, body_len, err);
        body = decoded.p ? decoded.p : "";
        body_len = decoded.n;
    }

    hc_api_req req = {.method = method,
                      .path = path,
                      .query = query,
                      .n_query = n_query,
                      .headers = headers,
                      .n_headers = n_headers,
                      .body = body,
                      .body_len = body_len,
                      .t0_us = t0};
    hc_api_resp resp;
    if (rc) {
        hc_api_error(api, &req, &resp, HTTP_BAD_REQUEST, "INVAL", "%s", err->msg);
        memset(err, 0, sizeof *err);
        rc = 0;
    } else {
        hc_api_handle(api, &req, &resp);
    }
    bool head = !strcmp(method, "HEAD");
    if (resp.fd >= 0 && !head) {
        hc_err ferr = {0};
        if (resp.file_len > APIGW_MAX_RAW_BODY) {
            hc_api_resp_fini(&resp);
            hc_api_error(api, &req, &resp, HTTP_CONTENT_TOO_LARGE, "TOOBIG",
                         "file: over the %u bytes a Lambda response carries; ask for a Range",
                         APIGW_MAX_RAW_BODY);
        } else if (hc_api_resp_load(&resp, &ferr) != 0) {
            hc_api_resp_fini(&resp);
            hc_api_error(api, &req, &resp, HTTP_INTERNAL_SERVER_ERROR, "INTERNAL", "%s",
                         ferr.msg);
        }
    }
    char *text = response_json(&resp, head);
    hc_buf_puts(out, text);
    free(text);
    hc_api_resp_fini(&resp);
    hc_buf_fini(&decoded);
    hc_buf_fini(&cookie);
    free(headers);
    free(query);
    free(query_store);
    free(path);
    json_decref(root);
    return rc;
}
