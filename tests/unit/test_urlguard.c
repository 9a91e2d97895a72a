/* Unit tests of the private-address guard (src/media/fetch.c, DESIGN.md
 * §10 HC_URL_ALLOW): the address classes, allow-list matching (IPs, CIDRs,
 * host names, suffixes), the list syntax check, and fetches through the
 * guard against tests/data/httpd.py on 127.0.0.1: refused without an
 * allow entry (no byte reaches the server, no retry), allowed by address
 * or CIDR, refused when an allowed host redirects to a private one, and
 * the process-wide default the worker turns on. */
#include "core/hc_core.h"
#include "hc_test.h"
#include "media/hc_media.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- helpers ------------------------------------------------------------ */

/* An address literal as a sockaddr (v4 or v6) in *ss. */
static const struct sockaddr *addr(const char *text, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
    } else {
        fprintf(stderr, "    bad test address %s\n", text);
        abort();
    }
    return (const struct sockaddr *)ss;
}

static const char *cls(const char *text) {
    struct sockaddr_storage ss;
    return hc_url_guard_class(addr(text, &ss));
}

static bool allows(const char *text, const char *host, const char *allow) {
    struct sockaddr_storage ss;
    return hc_url_guard_allows(addr(text, &ss), host, allow, NULL, 0);
}

static bool str_eq(const char *a, const char *b) {
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* A tiny JPEG-looking file served by httpd.py; returns the port. */
static int serve(char *work, size_t len) {
    setenv("no_proxy", "*", 1);
    setenv("NO_PROXY", "*", 1);
    char www[512];
    snprintf(www, sizeof www, "%s/www", hc_test_tmpdir());
    snprintf(work, len, "%s/work", hc_test_tmpdir());
    mkdir(www, 0700);
    mkdir(work, 0700);
    unsigned char jpg[600] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J', 'F', 'I', 'F'};
    for (size_t i = 10; i < sizeof jpg - 2; i++)
        jpg[i] = (unsigned char)(i * 7);
    jpg[sizeof jpg - 2] = 0xFF;
    jpg[sizeof jpg - 1] = 0xD9;
    char path[600];
    snprintf(path, sizeof path, "%s/a.jpg", www);
    if (hc_test_write_file(path, jpg, sizeof jpg) != 0) return -1;
    return hc_test_httpd(www);
}

/* Fetch url as "images[2]" with the guard on under allow; returns the code. */
static int fetch_guarded(const char *url, const char *work, bool guard, const char *allow,
                         hc_err *err) {
    hc_fetch_opts o = {.work_dir = work,
                       .backoff_ms = 5,
                       .connect_timeout_ms = 2000,
                       .total_timeout_ms = 10000,
                       .guard_private = guard,
                       .url_allow = allow};
    hc_fetched f;
    const char *label = "images[2]";
    int rc = hc_fetch_many(&url, &label, 1, &o, &f, err);
    if (rc == 0) hc_fetched_fini(&f);
    return rc;
}

static int hits(int port, const char *path) {
    char cmd[512], *out = NULL;
    snprintf(cmd, sizeof cmd, "curl -s --noproxy '*' http://127.0.0.1:%d/hits%s", port, path);
    if (hc_test_run(cmd, &out) != 0) {
        free(out);
        return -1;
    }
    int n = atoi(out);
    free(out);
    return n;
}

/* ---- address classes ------------------------------------------------------ */

HC_TEST(urlguard_classes) {
    static const struct {
        const char *addr, *cls;
    } table[] = {
        {"127.0.0.1", "loopback"},
        {"127.255.0.9", "loopback"},
        {"10.0.0.5", "private"},
        {"172.16.0.1", "private"},
        {"172.31.255.255", "private"},
        {"172.32.0.1", NULL},
        {"192.168.1.1", "private"},
        {"100.64.0.1", "shared (CGNAT)"},
        {"100.127.255.254", "shared (CGNAT)"},
        {"100.128.0.1", NULL},
        {"169.254.169.254", "link-local"},
        {"0.0.0.0", "unspecified"},
        {"0.1.2.3", "unspecified"},
        {"224.0.0.1", "multicast"},
        {"239.255.255.250", "multicast"},
        {"240.0.0.1", "reserved"},
        {"255.255.255.255", "reserved"},
        {"192.0.2.10", "reserved"},
        {"198.18.3.4", "reserved"},
        {"8.8.8.8", NULL},
        {"93.184.216.34", NULL},
        {"::1", "loopback"},
        {"::", "unspecified"},
        {"fc00::1", "private"},
        {"fd12:3456::1", "private"},
        {"fe80::1", "link-local"},
        {"fec0::1", "private"},
        {"ff02::1", "multicast"},
        {"::ffff:10.0.0.1", "private"},
        {"::ffff:127.0.0.1", "loopback"},
        {"::ffff:169.254.169.254", "link-local"},
        {"::ffff:8.8.8.8", NULL},
        {"64:ff9b::a00:1", "private"}, /* NAT64 of 10.0.0.1 */
        {"64:ff9b::808:808", NULL},    /* NAT64 of 8.8.8.8 */
        {"2002:a00:1::", "private"},   /* 6to4 of 10.0.0.1 */
        {"2001:db8::1", "reserved"},
        {"2606:4700:4700::1111", NULL},
        {"2a00:1450:4001::200e", NULL},
        {"::10.0.0.1", "reserved"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const char *got = cls(table[i].addr);
        CHECKF(str_eq(got, table[i].cls), "%s: got %s, want %s", table[i].addr,
               got ? got : "public", table[i].cls ? table[i].cls : "public");
    }
}

HC_TEST(urlguard_allow_list) {
    CHECK(allows("8.8.8.8", "dns.google", NULL)); /* public: always */
    CHECK(!allows("127.0.0.1", "127.0.0.1", NULL));
    CHECK(!allows("127.0.0.1", "127.0.0.1", ""));
    CHECK(allows("127.0.0.1", "127.0.0.1", "127.0.0.1"));
    CHECK(allows("127.0.0.1", NULL, "127.0.0.0/8"));
    CHECK(allows("127.9.9.9", NULL, "10.0.0.0/8, 127.0.0.0/8"));
    CHECK(!allows("127.0.0.2", NULL, "127.0.0.1"));
    CHECK(allows("128.0.0.1", NULL, "127.0.0.0/8")); /* public anyway */
    CHECK(!allows("10.0.0.1", NULL, "127.0.0.0/8"));
    CHECK(allows("10.1.2.3", NULL, " x , 10.1.0.0/16 "));
    CHECK(allows("172.20.0.5", "minio", "minio"));
    CHECK(allows("172.20.0.5", "MinIO.", "minio"));
    CHECK(!allows("172.20.0.5", "minio2", "minio"));
    CHECK(!allows("172.20.0.5", "xminio", "minio"));
    CHECK(allows("10.0.0.7", "s3.internal", ".internal"));
    CHECK(allows("10.0.0.7", "a.b.internal", "*.internal"));
    CHECK(!allows("10.0.0.7", "internal", ".internal"));
    CHECK(!allows("10.0.0.7", "xinternal", ".internal"));
    CHECK(allows("::1", "[::1]", "::1"));
    CHECK(allows("::1", NULL, "[::1]"));
    CHECK(allows("fd00::5", NULL, "fd00::/8"));
    CHECK(!allows("fe80::5", NULL, "fd00::/8"));
    /* IPv4-mapped addresses match their IPv4 entries, and the reverse. */
    CHECK(allows("::ffff:127.0.0.1", NULL, "127.0.0.1"));
    CHECK(allows("127.0.0.1", NULL, "::ffff:127.0.0.1"));
    CHECK(allows("127.0.0.1", NULL, "::ffff:127.0.0.0/104"));
    /* A bad entry matches nothing and does not spoil the others. */
    CHECK(allows("127.0.0.1", NULL, "10.0.0.0/99, 127.0.0.1"));

    struct sockaddr_storage ss;
    char why[160];
    CHECK(!hc_url_guard_allows(addr("10.0.0.5", &ss), "files.lan", "192.168.0.0/16", why,
                               sizeof why));
    CHECKF(strcmp(why, "address 10.0.0.5 is private") == 0, "%s", why);
    CHECK(!hc_url_guard_allows(addr("::ffff:169.254.169.254", &ss), NULL, NULL, why, sizeof why));
    CHECKF(strcmp(why, "address 169.254.169.254 is link-local") == 0, "%s", why);
}

HC_TEST(urlguard_allow_check) {
    hc_err err = {0};
    CHECK(hc_url_allow_check(NULL, &err) == 0);
    CHECK(hc_url_allow_check("", &err) == 0);
    CHECK(hc_url_allow_check("127.0.0.1, 10.0.0.0/8 ,minio,.internal,*.lan,::1,fd00::/8", &err) ==
          0);
    static const char *const bad[] = {"10.0.0.0/33", "::/129", "foo bar", "a/b",       "10.0.0.0/",
                                      "http://x",    "*",      ".",       "1.2.3.4/-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hc_err_clear(&err);
        CHECKF(hc_url_allow_check(bad[i], &err) == HC_EINVAL, "%s accepted", bad[i]);
        CHECKF(strstr(err.msg, "HC_URL_ALLOW") && strstr(err.msg, bad[i]), "%s", err.msg);
    }
}

/* ---- fetches through the guard --------------------------------------------- */

HC_TEST(urlguard_fetch_refuses_loopback) {
    char work[512], url[128];
    int port = serve(work, sizeof work);
    CHECK(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/a.jpg", port);
    hc_err err = {0};
    CHECK(fetch_guarded(url, work, true, NULL, &err) == HC_EINVAL);
    CHECKF(strcmp(err.msg,
                  "images[2].url: address 127.0.0.1 is loopback; set HC_URL_ALLOW to allow it") ==
               0,
           "%s", err.msg);
    CHECK(hc_err_exit_code(err.code) == 2);
    CHECK(hits(port, "/a.jpg") == 0); /* refused before connecting; not retried */
    /* "localhost" resolves to loopback too, whichever family. */
    snprintf(url, sizeof url, "http://localhost:%d/a.jpg", port);
    hc_err_clear(&err);
    CHECK(fetch_guarded(url, work, true, "10.0.0.0/8", &err) == HC_EINVAL);
    CHECKF(strstr(err.msg, "is loopback; set HC_URL_ALLOW"), "%s", err.msg);
}

HC_TEST(urlguard_fetch_allowed_by_ip_cidr_or_host) {
    char work[512], url[128];
    int port = serve(work, sizeof work);
    CHECK(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/a.jpg", port);
    hc_err err = {0};
    CHECKF(fetch_guarded(url, work, true, "127.0.0.1", &err) == 0, "%s", err.msg);
    CHECKF(fetch_guarded(url, work, true, "127.0.0.0/8", &err) == 0, "%s", err.msg);
    snprintf(url, sizeof url, "http://localhost:%d/a.jpg", port);
    CHECKF(fetch_guarded(url, work, true, "localhost", &err) == 0, "%s", err.msg);
    CHECK(hits(port, "/a.jpg") == 3);
    /* The CLI keeps no guard. */
    CHECKF(fetch_guarded(url, work, false, NULL, &err) == 0, "%s", err.msg);
}

HC_TEST(urlguard_fetch_redirect_to_private_refused) {
    char work[512], url[256];
    int port = serve(work, sizeof work);
    CHECK(port > 0);
    /* localhost is allowed by name; it redirects to 127.0.0.1, which is not. */
    snprintf(url, sizeof url, "http://localhost:%d/redirect-to?url=http://127.0.0.1:%d/a.jpg", port,
             port);
    hc_err err = {0};
    CHECK(fetch_guarded(url, work, true, "localhost", &err) == HC_EINVAL);
    CHECKF(strstr(err.msg, "images[2].url: address 127.0.0.1 is loopback"), "%s", err.msg);
    CHECK(hits(port, "/redirect-to") == 1);
    CHECK(hits(port, "/a.jpg") == 0);
    /* With both allowed the same redirect is followed. */
    hc_err_clear(&err);
    CHECKF(fetch_guarded(url, work, true, "localhost,127.0.0.1", &err) == 0, "%s", err.msg);
    CHECK(hits(port, "/a.jpg") == 1);
}

HC_TEST(urlguard_fetch_process_default) {
    char work[512], url[128];
    int port = serve(work, sizeof work);
    CHECK(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/a.jpg", port);
    hc_err err = {0};
    hc_fetch_set_guard(true, NULL);
    CHECK(fetch_guarded(url, work, false, NULL, &err) == HC_EINVAL);
    hc_fetch_set_guard(true, "127.0.0.0/8");
    hc_err_clear(&err);
    CHECKF(fetch_guarded(url, work, false, NULL, &err) == 0, "%s", err.msg);
    /* Per-call allow lists win over the default. */
    CHECK(fetch_guarded(url, work, true, "10.0.0.1", &err) == HC_EINVAL);
    hc_fetch_set_guard(false, NULL);
    hc_err_clear(&err);
    CHECKF(fetch_guarded(url, work, false, NULL, &err) == 0, "%s", err.msg);
}
