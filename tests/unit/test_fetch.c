/* Unit tests of src/media/fetch.c: local inputs, downloads from the test
 * server tests/data/httpd.py on 127.0.0.1 (redirects, retries, timeouts,
 * byte cap, HTML and empty bodies), error messages and temp-file cleanup.
 * Back-offs are a few milliseconds so the whole suite stays fast. */
#include "core/hc_core.h"
#include "hc_test.h"
#include "media/hc_media.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

/* Plausible JPEG bytes: SOI, APP0 "JFIF", a patterned body, EOI. */
static size_t jpeg_bytes(unsigned char *buf, size_t n, unsigned seed) {
    static const unsigned char hdr[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J',  'F',
                                        'I',  'F',  0x00, 0x01, 0x01, 0x00, 0x00, 0x01};
    memcpy(buf, hdr, sizeof hdr);
    for (size_t i = sizeof hdr; i < n - 2; i++)
        buf[i] = (unsigned char)(i * 31u + seed);
    buf[n - 2] = 0xFF;
    buf[n - 1] = 0xD9;
    return n;
}

static int write_jpeg(const char *dir, const char *name, size_t n, unsigned seed) {
    unsigned char buf[8192];
    char path[512];
    if (n > sizeof buf) n = sizeof buf;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return hc_test_write_file(path, buf, jpeg_bytes(buf, n, seed));
}

/* Make tmp/www (served) and tmp/work (downloads); start the server. */
static int setup(char *www, char *work, size_t len) {
    /* Never go through a proxy: every request here is for 127.0.0.1. */
    setenv("no_proxy", "*", 1);
    setenv("NO_PROXY", "*", 1);
    snprintf(www, len, "%s/www", hc_test_tmpdir());
    snprintf(work, len, "%s/work", hc_test_tmpdir());
    mkdir(www, 0700);
    mkdir(work, 0700);
    if (write_jpeg(www, "a.jpg", 3000, 1) != 0) return -1;
    return hc_test_httpd(www);
}

static hc_fetch_opts test_opts(const char *work) {
    hc_fetch_opts o = {0};
    o.work_dir = work;
    o.backoff_ms = 5;
    o.connect_timeout_ms = 2000;
    o.total_timeout_ms = 10000;
    return o;
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static bool same_file(const char *a, const char *b) {
    size_t na, nb;
    char *x = hc_test_read_file(a, &na), *y = hc_test_read_file(b, &nb);
    bool same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static size_t collect(char *data, size_t size, size_t nmemb, void *ud) {
    char *buf = ud;
    size_t len = size * nmemb, have = strlen(buf);
    if (have + len < 64) {
        memcpy(buf + have, data, len);
        buf[have + len] = 0;
    }
    return len;
}

/* How many requests the server saw for path (e.g. "/status/404"). */
static long server_hits(int port, const char *path) {
    char url[512], body[64] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hits%s", port, path);
    CURL *h = curl_easy_init();
    if (!h) return -1;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    CURLcode rc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    return rc == CURLE_OK ? atol(body) : -1;
}

/* A loopback port nobody listens on. */
static int closed_port(void) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &len) != 0)
        return -1;
    close(s);
    return ntohs(a.sin_port);
}

/* Fetch one URL labelled images[i]. */
static int fetch_one(const char *url, int i, const hc_fetch_opts *o, hc_fetched *out, hc_err *e) {
    char label[32];
    snprintf(label, sizeof label, "images[%d]", i);
    const char *urls[] = {url}, *labels[] = {label};
    return hc_fetch_many(urls, labels, 1, o, out, e);
}

/* ---- local inputs ----------------------------------------------------- */

HC_TEST(fetch_local_path_ok) {
    char path[512];
    CHECK(write_jpeg(hc_test_tmpdir(), "a.jpg", 1000, 1) == 0);
    snprintf(path, sizeof path, "%s/a.jpg", hc_test_tmpdir());
    hc_fetch_opts o = test_opts(hc_test_tmpdir());
    o.allow_local = true;
    hc_fetched f;
    hc_err e = {0};
    CHECKF(fetch_one(path, 0, &o, &f, &e) == 0, "%s", e.msg);
    CHECK(strcmp(f.path, path) == 0);
    CHECK(!f.downloaded);
    CHECK(f.size_bytes == 1000);
    hc_fetched_fini(&f);
    CHECK(f.path == NULL);
    CHECK(access(path, F_OK) == 0); /* used in place: never deleted */
}

HC_TEST(fetch_relative_path_with_base_dir) {
    char sub[512], want[600];
    snprintf(sub, sizeof sub, "%s/photos", hc_test_tmpdir());
    mkdir(sub, 0700);
    CHECK(write_jpeg(sub, "b.jpg", 500, 2) == 0);
    snprintf(want, sizeof want, "%s/b.jpg", sub);
    hc_fetch_opts o = test_opts(hc_test_tmpdir());
    o.allow_local = true;
    o.base_dir = hc_test_tmpdir();
    hc_fetched f;
    hc_err e = {0};
    CHECKF(fetch_one("photos/b.jpg", 0, &o, &f, &e) == 0, "%s", e.msg);
    CHECK(same_file(f.path, want));
    CHECK(f.path[0] == '/');
    CHECK(f.size_bytes == 500);
    hc_fetched_fini(&f);

    /* Without base_dir, relative paths resolve against the cwd. */
    CHECK(chdir(sub) == 0);
    o.base_dir = NULL;
    CHECKF(fetch_one("b.jpg", 0, &o, &f, &e) == 0, "%s", e.msg);
    CHECK(f.path[0] == '/' && same_file(f.path, want));
    hc_fetched_fini(&f);
}

HC_TEST(fetch_file_url_percent_decoded) {
    char url[600], want[600];
    CHECK(write_jpeg(hc_test_tmpdir(), "my photo%.jpg", 700, 3) == 0);
    snprintf(want, sizeof want, "%s/my photo%%.jpg", hc_test_tmpdir());
    snprintf(url, sizeof url, "file://%s/my%%20photo%%25.jpg", hc_test_tmpdir());
    hc_fetch_opts o = test_opts(hc_test_tmpdir());
    o.allow_local = true;
    hc_fetched f;
    hc_err e = {0};
    CHECKF(fetch_one(url, 0, &o, &f, &e) == 0, "%s", e.msg);
    CHECK(strcmp(f.path, want) == 0);
    CHECK(!f.downloaded && f.size_bytes == 700);
    hc_fetched_fini(&f);

    snprintf(url, sizeof url, "file://localhost%s/my%%20photo%%25.jpg", hc_test_tmpdir());
    CHECKF(fetch_one(url, 0, &o, &f, &e) == 0, "%s", e.msg);
    hc_fetched_fini(&f);
    CHECK(fetch_one("file://elsewhere/x.jpg", 0, &o, &f, &e) == HC_EINVAL);
}

HC_TEST(fetch_missing_file_names_label) {
    char good[512], bad[512], want[700];
    CHECK(write_jpeg(hc_test_tmpdir(), "a.jpg", 1000, 1) == 0);
    snprintf(good, sizeof good, "%s/a.jpg", hc_test_tmpdir());
    snprintf(bad, sizeof bad, "%s/nope.jpg", hc_test_tmpdir());
    const char *urls[] = {good, good, good, bad};
    const char *labels[] = {"images[0]", "images[1]", "images[2]", "images[3]"};
    hc_fetch_opts o = test_opts(hc_test_tmpdir());
    o.allow_local = true;
    hc_fetched f[4];
    hc_err e = {0};
    CHECK(hc_fetch_many(urls, labels, 4, &o, f, &e) == HC_EMEDIA);
    snprintf(want, sizeof want, "images[3]: file not found: %s", bad);
    CHECKF(strcmp(e.msg, want) == 0, "got \"%s\"", e.msg);
    for (int i = 0; i < 4; i++)
        CHECK(f[i].path == NULL);

    /* A directory and an empty file are refused too. */
    hc_err_clear(&e);
    CHECK(fetch_one(hc_test_tmpdir(), 0, &o, f, &e) == HC_EMEDIA);
    CHECKF(strstr(e.msg, "not a regular file") != NULL, "%s", e.msg);
    snprintf(bad, sizeof bad, "%s/empty.jpg", hc_test_tmpdir());
    CHECK(hc_test_write_file(bad, "", 0) == 0);
    hc_err_clear(&e);
    CHECK(fetch_one(bad, 5, &o, f, &e) == HC_EMEDIA);
    CHECKF(strncmp(e.msg, "images[5]: empty file", 21) == 0, "%s", e.msg);
}

HC_TEST(fetch_local_refused_when_not_allowed) {
    char path[512], url[600];
    CHECK(write_jpeg(hc_test_tmpdir(), "a.jpg", 1000, 1) == 0);
    snprintf(path, sizeof path, "%s/a.jpg", hc_test_tmpdir());
    snprintf(url, sizeof url, "file://%s", path);
    hc_fetch_opts o = test_opts(hc_test_tmpdir());
    hc_fetched f;
    hc_err e = {0};
    CHECK(fetch_one(path, 2, &o, &f, &e) == HC_EINVAL);
    CHECKF(strncmp(e.msg, "images[2]: local files are not allowed", 38) == 0, "%s", e.msg);
    hc_err_clear(&e);
    CHECK(fetch_one(url, 0, &o, &f, &e) == HC_EINVAL);
    CHECK(f.path == NULL);
}

HC_TEST(fetch_bad_scheme_and_s3) {
    hc_fetch_opts o = test_opts(hc_test_tmpdir());
    hc_fetched f;
    hc_err e = {0};
    CHECK(fetch_one("s3://bucket/key.jpg", 0, &o, &f, &e) == HC_EUNSUPPORTED);
    CHECKF(strcmp(e.msg, "images[0]: s3:// inputs need AWS credentials and a region (none "
                         "configured in this process)") == 0,
           "%s", e.msg);
    hc_err_clear(&e);
    CHECK(fetch_one("ftp://host/x.jpg", 1, &o, &f, &e) == HC_EINVAL);
    CHECKF(strstr(e.msg, "images[1]: unsupported scheme \"ftp\"") != NULL, "%s", e.msg);
    hc_err_clear(&e);
    CHECK(fetch_one("", 2, &o, &f, &e) == HC_EINVAL);
    hc_err_clear(&e);
    CHECK(fetch_one("http://", 3, &o, &f, &e) == HC_EINVAL);
    CHECK(hc_fetch_many(NULL, NULL, 0, &o, NULL, &e) == 0);
}

/* ---- downloads ------------------------------------------------------------ */

static atomic_int done_calls, done_max, done_total;

static void count_done(void *ud, int index, int n_done, int n_total) {
    (void)ud, (void)index;
    atomic_fetch_add(&done_calls, 1);
    int m = atomic_load(&done_max);
    while (n_done > m && !atomic_compare_exchange_weak(&done_max, &m, n_done)) {
    }
    atomic_store(&done_total, n_total);
}

HC_TEST(fetch_http_twenty_at_once) {
    char www[512], work[512];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    enum { N = 20 };
    char urls_buf[N][128], labels_buf[N][16], name[32], served[600];
    const char *urls[N], *labels[N];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "p%02d.jpg", i);
        CHECK(write_jpeg(www, name, 1000 + (size_t)i * 300, (unsigned)i) == 0);
        snprintf(urls_buf[i], sizeof urls_buf[i], "http://127.0.0.1:%d/%s", port, name);
        snprintf(labels_buf[i], sizeof labels_buf[i], "images[%d]", i);
        urls[i] = urls_buf[i];
        labels[i] = labels_buf[i];
    }
    hc_fetch_opts o = test_opts(work);
    o.on_done = count_done;
    hc_fetched f[N];
    hc_err e = {0};
    CHECKF(hc_fetch_many(urls, labels, N, &o, f, &e) == 0, "%s", e.msg);
    for (int i = 0; i < N; i++) {
        snprintf(served, sizeof served, "%s/p%02d.jpg", www, i);
        CHECK(f[i].downloaded);
        CHECK(strncmp(f[i].path, work, strlen(work)) == 0);
        CHECK(f[i].size_bytes == 1000 + (size_t)i * 300);
        CHECK(same_file(f[i].path, served));
    }
    CHECK(atomic_load(&done_calls) == N && atomic_load(&done_max) == N);
    CHECK(count_entries(work) == N);
    for (int i = 0; i < N; i++)
        hc_fetched_fini(&f[i]);
    CHECK(count_entries(work) == 0); /* fini removes downloaded temp files */
}

HC_TEST(fetch_on_done_called_n_times) {
    char www[512], work[512], local[600], u[4][128];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    snprintf(local, sizeof local, "%s/a.jpg", www);
    for (int i = 0; i < 4; i++)
        snprintf(u[i], sizeof u[i], "http://127.0.0.1:%d/a.jpg", port);
    const char *urls[] = {u[0], local, u[1], u[2], local, u[3], local};
    hc_fetch_opts o = test_opts(work);
    o.allow_local = true;
    o.concurrency = 2;
    o.on_done = count_done;
    hc_fetched f[7];
    hc_err e = {0};
    CHECKF(hc_fetch_many(urls, NULL, 7, &o, f, &e) == 0, "%s", e.msg);
    CHECK(atomic_load(&done_calls) == 7);
    CHECK(atomic_load(&done_max) == 7 && atomic_load(&done_total) == 7);
    for (int i = 0; i < 7; i++) {
        CHECK(f[i].downloaded == (urls[i] != local));
        hc_fetched_fini(&f[i]);
    }
}

HC_TEST(fetch_redirect_chain) {
    char www[512], work[512], url[256], served[600];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    snprintf(served, sizeof served, "%s/a.jpg", www);
    hc_fetch_opts o = test_opts(work);
    hc_fetched f;
    hc_err e = {0};
    snprintf(url, sizeof url, "http://127.0.0.1:%d/redirect/5/a.jpg", port);
    CHECKF(fetch_one(url, 0, &o, &f, &e) == 0, "%s", e.msg);
    CHECK(same_file(f.path, served));
    hc_fetched_fini(&f);
    CHECK(server_hits(port, "/redirect/0/a.jpg") == 1);

    snprintf(url, sizeof url, "http://127.0.0.1:%d/redirect/6/a.jpg", port);
    CHECK(fetch_one(url, 4, &o, &f, &e) == HC_EMEDIA);
    CHECKF(strstr(e.msg, "images[4]: ") == e.msg && strstr(e.msg, "redirects"), "%s", e.msg);
    CHECK(count_entries(work) == 0);
}

HC_TEST(fetch_404_is_final) {
    char www[512], work[512], good[256], bad[256], want[512];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    snprintf(good, sizeof good, "http://127.0.0.1:%d/a.jpg", port);
    snprintf(bad, sizeof bad, "http://127.0.0.1:%d/status/404", port);
    const char *urls[] = {good, bad};
    const char *labels[] = {"images[0]", "images[1]"};
    hc_fetch_opts o = test_opts(work);
    o.max_tries = 3;
    hc_fetched f[2];
    hc_err e = {0};
    CHECK(hc_fetch_many(urls, labels, 2, &o, f, &e) == HC_EMEDIA);
    snprintf(want, sizeof want, "images[1]: HTTP 404 from %s", bad);
    CHECKF(strcmp(e.msg, want) == 0, "got \"%s\"", e.msg);
    CHECK(server_hits(port, "/status/404") == 1);
    CHECK(f[0].path == NULL && f[1].path == NULL);
    CHECK(count_entries(work) == 0);
}

HC_TEST(fetch_flaky_503_then_ok) {
    char www[512], work[512], url[256], served[600];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    snprintf(served, sizeof served, "%s/a.jpg", www);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/flaky/2/a.jpg", port);
    hc_fetch_opts o = test_opts(work);
    o.max_tries = 3;
    hc_fetched f;
    hc_err e = {0};
    CHECKF(fetch_one(url, 0, &o, &f, &e) == 0, "%s", e.msg);
    CHECK(same_file(f.path, served));
    CHECK(server_hits(port, "/flaky/2/a.jpg") == 3);
    hc_fetched_fini(&f);
}

HC_TEST(fetch_429_honours_retry_after) {
    char www[512], work[512], url[256];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/retry-after/a.jpg", port);
    hc_fetch_opts o = test_opts(work);
    hc_fetched f;
    hc_err e = {0};
    int64_t t0 = hc_now_us();
    CHECKF(fetch_one(url, 0, &o, &f, &e) == 0, "%s", e.msg);
    int64_t ms = (hc_now_us() - t0) / 1000;
    CHECKF(ms >= 950, "retried after %lld ms, Retry-After asked for 1 s", (long long)ms);
    CHECK(server_hits(port, "/retry-after/a.jpg") == 2);
    hc_fetched_fini(&f);
}

HC_TEST(fetch_all_tries_fail) {
    char www[512], work[512], url[256];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    hc_fetch_opts o = test_opts(work);
    hc_fetched f;
    hc_err e = {0};

    /* Connection refused every time. */
    int dead = closed_port();
    CHECK(dead > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/a.jpg", dead);
    CHECK(fetch_one(url, 7, &o, &f, &e) == HC_ENET);
    CHECKF(strncmp(e.msg, "images[7]: ", 11) == 0 && strstr(e.msg, url) &&
               strstr(e.msg, "after 3 tries"),
           "%s", e.msg);

    /* 503 every time: retried max_tries times, then a network error. */
    hc_err_clear(&e);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/status/503", port);
    CHECK(fetch_one(url, 1, &o, &f, &e) == HC_ENET);
    CHECKF(strstr(e.msg, "images[1]: HTTP 503 from ") == e.msg, "%s", e.msg);
    CHECK(server_hits(port, "/status/503") == 3);
    CHECK(count_entries(work) == 0);
}

HC_TEST(fetch_timeout_on_slow_server) {
    char www[512], work[512], url[256];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow/a.jpg", port);
    hc_fetch_opts o = test_opts(work);
    o.total_timeout_ms = 1000;
    o.max_tries = 2;
    hc_fetched f;
    hc_err e = {0};
    int64_t t0 = hc_now_us();
    CHECK(fetch_one(url, 0, &o, &f, &e) == HC_ETIMEOUT);
    int64_t ms = (hc_now_us() - t0) / 1000;
    CHECKF(strncmp(e.msg, "images[0]: timed out", 20) == 0 && strstr(e.msg, url) &&
               strstr(e.msg, "after 2 tries"),
           "%s", e.msg);
    CHECKF(ms >= 1900 && ms < 4000, "took %lld ms", (long long)ms);
    CHECK(count_entries(work) == 0);
}

HC_TEST(fetch_byte_cap_with_content_length) {
    char www[512], work[512], url[256];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big", port);
    hc_fetch_opts o = test_opts(work);
    hc_fetched f;
    hc_err e = {0};
    int64_t t0 = hc_now_us();
    CHECK(fetch_one(url, 2, &o, &f, &e) == HC_EMEDIA);
    CHECKF(strcmp(e.msg, "images[2]: larger than the 64 MiB limit") == 0, "%s", e.msg);
    /* Refused from the header, before the body. */
    CHECK((hc_now_us() - t0) / 1000 < 2000);
    CHECK(server_hits(port, "/big") == 1);
    CHECK(count_entries(work) == 0);
}

HC_TEST(fetch_byte_cap_chunked) {
    char www[512], work[512], url[256];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big-chunked", port);
    hc_fetch_opts o = test_opts(work);
    o.max_bytes = 1024 * 1024;
    hc_fetched f;
    hc_err e = {0};
    CHECK(fetch_one(url, 0, &o, &f, &e) == HC_EMEDIA);
    CHECKF(strcmp(e.msg, "images[0]: larger than the 1 MiB limit") == 0, "%s", e.msg);
    CHECK(server_hits(port, "/big-chunked") == 1);
    CHECK(count_entries(work) == 0);
}

HC_TEST(fetch_html_refused) {
    char www[512], work[512], url[256], want[512];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    hc_fetch_opts o = test_opts(work);
    hc_fetched f;
    hc_err e = {0};
    snprintf(url, sizeof url, "http://127.0.0.1:%d/html", port);
    CHECK(fetch_one(url, 0, &o, &f, &e) == HC_EMEDIA);
    snprintf(want, sizeof want,
             "images[0]: got an HTML page, not media (Content-Type text/html) from %s", url);
    CHECKF(strcmp(e.msg, want) == 0, "got \"%s\"", e.msg);

    /* An HTML body served as image/jpeg is recognised by its start. */
    static const char page[] = "\r\n  <!doctype html><html><body>login</body></html>";
    char path[600];
    snprintf(path, sizeof path, "%s/fake.jpg", www);
    CHECK(hc_test_write_file(path, page, sizeof page - 1) == 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/fake.jpg", port);
    hc_err_clear(&e);
    CHECK(fetch_one(url, 1, &o, &f, &e) == HC_EMEDIA);
    CHECKF(strstr(e.msg, "images[1]: got an HTML page") == e.msg, "%s", e.msg);

    /* text/plain is refused as well. */
    snprintf(path, sizeof path, "%s/note.txt", www);
    CHECK(hc_test_write_file(path, "not an image\n", 13) == 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/note.txt", port);
    hc_err_clear(&e);
    CHECK(fetch_one(url, 1, &o, &f, &e) == HC_EMEDIA);
    CHECKF(strstr(e.msg, "Content-Type text/plain") != NULL, "%s", e.msg);
    CHECK(count_entries(work) == 0);
}

HC_TEST(fetch_empty_refused) {
    char www[512], work[512], url[256];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/empty", port);
    hc_fetch_opts o = test_opts(work);
    hc_fetched f;
    hc_err e = {0};
    CHECK(fetch_one(url, 3, &o, &f, &e) == HC_EMEDIA);
    CHECKF(strstr(e.msg, "images[3]: empty") == e.msg, "%s", e.msg);
    CHECK(count_entries(work) == 0);
}

HC_TEST(fetch_messages_hide_credentials_and_query) {
    char www[512], work[512], url[256], want[512];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    snprintf(url, sizeof url, "http://user:hunter2@127.0.0.1:%d/status/403?X-Amz-Signature=s3cret",
             port);
    hc_fetch_opts o = test_opts(work);
    hc_fetched f;
    hc_err e = {0};
    CHECK(fetch_one(url, 0, &o, &f, &e) == HC_EMEDIA);
    snprintf(want, sizeof want, "images[0]: HTTP 403 from http://127.0.0.1:%d/status/403", port);
    CHECKF(strcmp(e.msg, want) == 0, "got \"%s\"", e.msg);
}

HC_TEST(fetch_failure_of_one_cleans_up_and_stops_others) {
    char www[512], work[512];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    enum { N = 20 };
    char urls_buf[N][128], labels_buf[N][16];
    const char *urls[N], *labels[N];
    for (int i = 0; i < N; i++) {
        /* 0..14 fine; 15 fails after a 300 ms back-off, long enough for
         * 16..19 (5 s each) to start; they must then be cut short. */
        const char *path = i < 15 ? "a.jpg" : i == 15 ? "flaky/99/a.jpg" : "slow/a.jpg";
        snprintf(urls_buf[i], sizeof urls_buf[i], "http://127.0.0.1:%d/%s?i=%d", port, path, i);
        snprintf(labels_buf[i], sizeof labels_buf[i], "images[%d]", i);
        urls[i] = urls_buf[i];
        labels[i] = labels_buf[i];
    }
    hc_fetch_opts o = test_opts(work);
    o.concurrency = 8;
    o.max_tries = 2;
    o.backoff_ms = 300;
    hc_fetched f[N];
    hc_err e = {0};
    int64_t t0 = hc_now_us();
    CHECK(hc_fetch_many(urls, labels, N, &o, f, &e) == HC_ENET);
    int64_t ms = (hc_now_us() - t0) / 1000;
    CHECKF(strstr(e.msg, "images[15]: HTTP 503") == e.msg, "%s", e.msg);
    CHECK(server_hits(port, "/slow/a.jpg") >= 1);
    CHECKF(ms < 3000, "took %lld ms: slow transfers were not stopped", (long long)ms);
    for (int i = 0; i < N; i++)
        CHECK(f[i].path == NULL && !f[i].downloaded);
    CHECK(count_entries(work) == 0);
}

HC_TEST(fetch_reports_lowest_failing_index) {
    char www[512], work[512], a[128], b[128], c[128];
    int port = setup(www, work, sizeof www);
    CHECK(port > 0);
    /* images[1] fails only after its retries; images[2] fails at once. */
    snprintf(a, sizeof a, "http://127.0.0.1:%d/a.jpg", port);
    snprintf(b, sizeof b, "http://127.0.0.1:%d/flaky/9/a.jpg", port);
    snprintf(c, sizeof c, "http://127.0.0.1:%d/status/404", port);
    const char *urls[] = {a, b, c};
    const char *labels[] = {"images[0]", "images[1]", "images[2]"};
    hc_fetch_opts o = test_opts(work);
    o.max_tries = 2;
    o.backoff_ms = 200;
    hc_fetched f[3];
    hc_err e = {0};
    CHECK(hc_fetch_many(urls, labels, 3, &o, f, &e) == HC_ENET);
    CHECKF(strstr(e.msg, "images[1]: HTTP 503") == e.msg, "%s", e.msg);
    CHECK(server_hits(port, "/flaky/9/a.jpg") == 2);
    CHECK(count_entries(work) == 0);
}

/* The S3 resolver seam: s3:// (and S3 https URLs) go to the resolver, whose
 * presigned URL is fetched unguarded, while messages keep the request's URL. */
static char s3_base[64];
static int fake_s3(void *ud, const char *url, char **signed_url, hc_err *err) {
    (void)ud;
    if (!strncmp(url, "s3://bucket/", 12)) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s/%s?X-Amz-Signature=abc", s3_base, url + 12);
        *signed_url = hc_strdup(buf);
        return 1;
    }
    if (!strncmp(url, "s3://", 5)) return hc_err_set(err, HC_EINVAL, "no credentials for %s", url);
    return 0;
}

HC_TEST(fetch_s3_inputs_through_the_resolver) {
    const char *dir = hc_test_tmpdir();
    char path[4096];
    CHECK(hc_test_make_jpegs(dir, 1, 64, 48) == 0);
    int port = hc_test_httpd(dir);
    CHECK(port > 0);
    snprintf(s3_base, sizeof s3_base, "http://127.0.0.1:%d", port);
    hc_fetch_opts o = test_opts(dir);
    o.guard_private = true; /* the presigned URL is loopback here: infrastructure, not guarded */
    hc_fetch_set_s3(fake_s3, NULL);
    hc_fetched f;
    hc_err e = {0};
    int rc = fetch_one("s3://bucket/img0.jpg", 0, &o, &f, &e);
    CHECKF(rc == 0 && f.size_bytes > 0, "rc %d: %s", rc, e.msg);
    hc_fetched_fini(&f);
    /* A missing object names the s3:// URL, never the signature. */
    rc = fetch_one("s3://bucket/nope.jpg", 2, &o, &f, &e);
    CHECKF(rc == HC_EMEDIA && strstr(e.msg, "images[2]: HTTP 404") && !strstr(e.msg, "abc"), "%d %s",
           rc, e.msg);
    hc_err_clear(&e);
    rc = fetch_one("s3://other/x.jpg", 1, &o, &f, &e);
    CHECKF(rc == HC_EINVAL && !strcmp(e.msg, "images[1]: no credentials for s3://other/x.jpg"), "%s",
           e.msg);
    hc_err_clear(&e);
    /* Not S3: still guarded. */
    snprintf(path, sizeof path, "%s/img0.jpg", s3_base);
    CHECK(fetch_one(path, 0, &o, &f, &e) == HC_EINVAL);
    hc_fetch_set_s3(NULL, NULL);
}
