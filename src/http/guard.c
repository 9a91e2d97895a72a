/* Submit-time guards on what a request may point at: storage keys that
 * stay inside the storage root, and URLs whose host is a literal internal
 * address (SSRF). Host names are resolved only at fetch time, where the
 * worker checks the addresses it actually connects to; this is the cheap
 * early refusal with a message naming the field.
 *
 * Invariant: the policy is the fetcher's own (hc_url_guard_allows in
 * media/fetch.c: the same address classes and HC_URL_ALLOW syntax), so a
 * URL accepted here is refused later only when its name resolves to an
 * internal address. IPv4 written in any form inet_aton accepts (127.1,
 * 0x7f000001, 2130706433) is judged as the address it reaches, and
 * "localhost" as 127.0.0.1. */
#include "http/http_int.h"

#include "core/hc_core.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A literal host as an address: IPv4 in any form inet_aton accepts (what
 * libcurl's resolver accepts too), or IPv6 (brackets and a zone allowed);
 * "localhost" and "*.localhost" stand for 127.0.0.1. */
static bool literal_addr(const char *host, struct sockaddr_storage *ss) {
    char buf[64];
    size_t n = strlen(host);
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (!strcmp(host, "localhost") || (n > 10 && !strcmp(host + n - 10, ".localhost"))) {
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return true;
    }
    if (n >= sizeof buf || n == 0) return false;
    memcpy(buf, host, n + 1);
    if (buf[0] == '[' && n >= 2 && buf[n - 1] == ']') {
        memmove(buf, buf + 1, n - 2);
        buf[n - 2] = 0;
    }
    char *zone = strchr(buf, '%');
    if (zone) *zone = 0;
    if (!strchr(buf, ':')) {
        if (!buf[0] || !inet_aton(buf, &s4->sin_addr)) return false;
        s4->sin_family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, buf, &s6->sin6_addr) != 1) return false;
    s6->sin6_family = AF_INET6;
    return true;
}

static int hexv(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int http_url_guard(const char *url, const char *label, const char *allow, hc_err *err) {
    if (!url) return 0;
    const char *sep = strstr(url, "://");
    if (!sep) return 0;
    size_t slen = (size_t)(sep - url);
    if (!((slen == 4 && !strncasecmp(url, "http", 4)) ||
          (slen == 5 && !strncasecmp(url, "https", 5))))
        return 0;
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#\\");
    const char *at = NULL;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@') at = auth + i;
    if (at) {
        alen -= (size_t)(at + 1 - auth);
        auth = at + 1;
    }
    /* The host, percent-decoded and without the port or a trailing dot. */
    size_t hlen;
    if (alen && auth[0] == '[') {
        const char *close = memchr(auth, ']', alen);
        hlen = close ? (size_t)(close - auth) + 1 : alen;
    } else {
        const char *colon = memchr(auth, ':', alen);
        hlen = colon ? (size_t)(colon - auth) : alen;
    }
    char host[300];
    size_t o = 0;
    for (size_t i = 0; i < hlen && o + 1 < sizeof host; i++) {
        int hi, lo;
        if (auth[i] == '%' && i + 2 < hlen && (hi = hexv(auth[i + 1])) >= 0 &&
            (lo = hexv(auth[i + 2])) >= 0 && auth[0] != '[') {
            host[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            host[o++] = (char)tolower((unsigned char)auth[i]);
        }
    }
    host[o] = 0;
    while (o && host[o - 1] == '.')
        host[--o] = 0;

    struct sockaddr_storage ss;
    char why[160];
    if (!literal_addr(host, &ss) ||
        hc_url_guard_allows((const struct sockaddr *)&ss, host, allow, why, sizeof why))
        return 0;
    char shown[80];
    size_t k = 0;
    for (const char *c = host; *c && k + 1 < sizeof shown; c++)
        shown[k++] = *c > 0x20 && *c < 0x7f ? *c : '?';
    shown[k] = 0;
    return hc_err_set(err, HC_EINVAL, "%s: host %s: %s (not allowed unless listed in HC_URL_ALLOW)",
                      label, shown, why);
}
