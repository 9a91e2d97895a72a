/* The private-address guard (DESIGN.md §10 HC_URL_ALLOW): which socket
 * addresses a server-side connection may reach, and the allow list's
 * syntax. Pure address arithmetic, no I/O: the HTTP client (httpc.c)
 * applies it at connect time for guarded policies, the HTTP API checks
 * literal hosts at submit.
 *
 * Invariant: an address is refused unless it is public or allowed; IPv6
 * forms that embed an IPv4 address are judged by that address. */
#include "core/hc_core.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Class of an IPv4 address in host byte order, NULL if public. */
static const char *class_v4(uint32_t a) {
    unsigned b0 = a >> 24, b1 = (a >> 16) & 0xff;
    if (b0 == 0) return "unspecified";
    if (b0 == 10 || (b0 == 172 && (b1 & 0xf0) == 16) || (b0 == 192 && b1 == 168)) return "private";
    if (b0 == 100 && (b1 & 0xc0) == 64) return "shared (CGNAT)";
    if (b0 == 127) return "loopback";
    if (b0 == 169 && b1 == 254) return "link-local";
    if (b0 >= 224 && b0 < 240) return "multicast";
    if (b0 >= 240) return "reserved"; /* includes 255.255.255.255 */
    static const struct {
        uint32_t net, mask;
    } reserved[] = {
        {0xc0000000u, 0xffffff00u}, /* 192.0.0.0/24 protocol assignments */
        {0xc0000200u, 0xffffff00u}, /* 192.0.2.0/24 documentation */
        {0xc0586300u, 0xffffff00u}, /* 192.88.99.0/24 6to4 relay */
        {0xc6120000u, 0xfffe0000u}, /* 198.18.0.0/15 benchmarking */
        {0xc6336400u, 0xffffff00u}, /* 198.51.100.0/24 documentation */
        {0xcb007100u, 0xffffff00u}, /* 203.0.113.0/24 documentation */
    };
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        if ((a & reserved[i].mask) == reserved[i].net) return "reserved";
    return NULL;
}

static uint32_t be32_at(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An address as family + bytes, IPv4-mapped IPv6 folded to IPv4 (the
 * kernel connects those to the IPv4 host). false for other families. */
typedef struct ipaddr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char b[16];
} ipaddr;

static bool ipaddr_from(const struct sockaddr *sa, ipaddr *ip) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(ip, 0, sizeof *ip);
    if (!sa) return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        ip->family = AF_INET;
        memcpy(ip->b, &s4->sin_addr, 4);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        const unsigned char *b = s6->sin6_addr.s6_addr;
        if (memcmp(b, mapped, 12) == 0) {
            ip->family = AF_INET;
            memcpy(ip->b, b + 12, 4);
        } else {
            ip->family = AF_INET6;
            memcpy(ip->b, b, 16);
        }
        return true;
    }
    return false;
}

static const char *class_ip(const ipaddr *ip) {
    if (ip->family == AF_INET) return class_v4(be32_at(ip->b));
    const unsigned char *b = ip->b;
    static const unsigned char zero[16] = {0};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1))
        return b[15] ? "loopback" : "unspecified";
    if (memcmp(b, zero, 12) == 0) return "reserved"; /* ::a.b.c.d, deprecated */
    if (memcmp(b, nat64, 12) == 0) {                 /* 64:ff9b::/96 reaches IPv4 */
        const char *c = class_v4(be32_at(b + 12));
        return c ? c : NULL;
    }
    if (b[0] == 0x20 && b[1] == 0x02) return class_v4(be32_at(b + 2)); /* 6to4 2002::/16 */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return "reserved"; /* 2001:db8::/32 documentation */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] < 0x02)
        return "reserved";                       /* 2001::/23 protocol assignments, Teredo */
    if ((b[0] & 0xfe) == 0xfc) return "private"; /* fc00::/7 unique local */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "link-local"; /* fe80::/10 */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return "private";    /* fec0::/10 site-local */
    if (b[0] == 0xff) return "multicast";
    if ((b[0] & 0xe0) != 0x20) return "reserved"; /* outside global unicast 2000::/3 */
    return NULL;
}

const char *hc_url_guard_class(const struct sockaddr *sa) {
    ipaddr ip;
    return ipaddr_from(sa, &ip) ? class_ip(&ip) : NULL;
}

/* Parse an IP literal (IPv6 optionally in brackets) into ip, folding
 * IPv4-mapped IPv6 to IPv4. */
static bool ipaddr_parse(const char *s, size_t n, ipaddr *ip) {
    char buf[INET6_ADDRSTRLEN + 8];
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') s++, n -= 2;
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET, buf, &s4.sin_addr) == 1)
        return ipaddr_from((const struct sockaddr *)&s4, ip);
    if (inet_pton(AF_INET6, buf, &s6.sin6_addr) == 1)
        return ipaddr_from((const struct sockaddr *)&s6, ip);
    return false;
}

static bool prefix_equal(const unsigned char *a, const unsigned char *b, int bits) {
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole) != 0) return false;
    if (rest == 0) return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

static bool host_char(char c) {
    return isalnum((unsigned char)c) || c == '-' || c == '.' || c == '_';
}

/* One allow-list entry, classified. */
typedef enum { ENTRY_BAD, ENTRY_IP, ENTRY_CIDR, ENTRY_HOST, ENTRY_SUFFIX } entry_kind;

static entry_kind entry_parse(const char *e, size_t n, ipaddr *ip, int *bits) {
    const char *slash = memchr(e, '/', n);
    if (slash) {
        char *end;
        size_t alen = (size_t)(slash - e);
        char num[8];
        size_t nlen = n - alen - 1;
        if (nlen == 0 || nlen >= sizeof num || !ipaddr_parse(e, alen, ip)) return ENTRY_BAD;
        memcpy(num, slash + 1, nlen);
        num[nlen] = 0;
        long b = strtol(num, &end, 10);
        if (*end || !isdigit((unsigned char)num[0])) return ENTRY_BAD;
        /* An IPv4-mapped CIDR (::ffff:10.0.0.0/104) was folded to IPv4. */
        bool was_v6 = memchr(e, ':', alen) != NULL;
        if (ip->family == AF_INET && was_v6) b -= 96;
        if (b < 0 || b > (ip->family == AF_INET ? 32 : 128)) return ENTRY_BAD;
        *bits = (int)b;
        return ENTRY_CIDR;
    }
    if (ipaddr_parse(e, n, ip)) return ENTRY_IP;
    size_t skip = n >= 2 && e[0] == '*' && e[1] == '.' ? 1 : 0;
    for (size_t i = skip; i < n; i++)
        if (!host_char(e[i])) return ENTRY_BAD;
    if (n - skip == 0 || (n - skip == 1 && e[skip] == '.')) return ENTRY_BAD;
    return e[skip] == '.' ? ENTRY_SUFFIX : ENTRY_HOST;
}

/* Next comma-separated entry of *list, trimmed; false at the end. */
static bool next_entry(const char **list, const char **e, size_t *n) {
    const char *p = *list;
    while (*p) {
        size_t len = strcspn(p, ",");
        const char *a = p, *b = p + len;
        p = *b ? b + 1 : b;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a) {
            *list = p;
            *e = a;
            *n = (size_t)(b - a);
            return true;
        }
    }
    *list = p;
    return false;
}

/* Does host (as in a URL: brackets and a trailing dot allowed) equal the
 * entry's name, or (suffix) lie under it? */
static bool host_matches(const char *host, const char *e, size_t n, entry_kind kind) {
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[') host++, hl -= 2;
    if (hl > 0 && host[hl - 1] == '.') hl--;
    if (kind == ENTRY_HOST) return hl == n && strncasecmp(host, e, n) == 0;
    if (e[0] == '*') e++, n--; /* "*.example.com" = ".example.com" */
    return hl > n && strncasecmp(host + hl - n, e, n) == 0;
}

bool hc_url_guard_allows(const struct sockaddr *sa, const char *host, const char *allow, char *why,
                         size_t why_len) {
    ipaddr ip;
    if (!ipaddr_from(sa, &ip)) {
        if (why)
            snprintf(why, why_len, "address family %d is not allowed", sa ? sa->sa_family : -1);
        return false;
    }
    const char *cls = class_ip(&ip);
    if (!cls) return true;
    const char *list = allow ? allow : "", *e;
    size_t n;
    while (next_entry(&list, &e, &n)) {
        ipaddr eip;
        int bits = 0;
        entry_kind k = entry_parse(e, n, &eip, &bits);
        if (k == ENTRY_IP && eip.family == ip.family &&
            memcmp(eip.b, ip.b, ip.family == AF_INET ? 4 : 16) == 0)
            return true;
        if (k == ENTRY_CIDR && eip.family == ip.family && prefix_equal(eip.b, ip.b, bits))
            return true;
        if ((k == ENTRY_HOST || k == ENTRY_SUFFIX) && host && *host && host_matches(host, e, n, k))
            return true;
    }
    if (why) {
        char text[INET6_ADDRSTRLEN];
        if (!inet_ntop(ip.family, ip.b, text, sizeof text)) snprintf(text, sizeof text, "?");
        snprintf(why, why_len, "address %s is %s", text, cls);
    }
    return false;
}

int hc_url_allow_check(const char *allow, hc_err *err) {
    const char *list = allow ? allow : "", *e;
    size_t n;
    while (next_entry(&list, &e, &n)) {
        ipaddr ip;
        int bits;
        if (entry_parse(e, n, &ip, &bits) == ENTRY_BAD)
            return hc_err_set(err, HC_EINVAL,
                              "HC_URL_ALLOW: \"%.*s\" is not a hostname, IP address or CIDR",
                              (int)(n < 200 ? n : 200), e);
    }
    return 0;
}
