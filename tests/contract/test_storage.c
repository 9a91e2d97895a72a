/* The output storage contract (src/storage/hc_storage.h): one suite run
 * against every backend. STORAGE_TEST(name) registers storage_file_<name>,
 * storage_mem_<name>, storage_fault_<name> (the fault wrapper around a
 * file storage, set to fail far beyond the test, so every call passes
 * through it) and storage_s3_<name> (S3 against s3rver, started by the
 * test on loopback, keys S3RVER/S3RVER, a prefix, and multipart from
 * 2 MiB in 1 MiB parts so the larger tests go multipart), each handed a
 * freshly opened storage.
 *
 * Then what only one backend has: the file storage's confinement to its
 * directory (symlinks, leftovers) and its /files links, the fault
 * wrapper's injected errors, and S3's multipart uploads (a part retried,
 * an upload aborted, through tests/data/s3fault.py in front of s3rver),
 * presigned links fetched with plain curl, addressing styles, refused
 * keys, and a whole job through `serve` into S3. */
#include "hc_test.h"
#include "storage/hc_storage.h"
#include "store/hc_store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int start_s3(const char *fault_args);

typedef void (*storage_body)(hc_storage *st);

static int open_backend(const char *backend, hc_storage **st, hc_err *err) {
    char spec[PATH_MAX + 16];
    hc_storage_env env = {.public_url = "http://127.0.0.1:9/"};
    if (!strcmp(backend, "mem")) return hc_storage_open("mem:", &env, st, err);
    if (!strcmp(backend, "s3")) {
        if (start_s3(NULL) < 0) return hc_err_set(err, HC_EIO, "s3rver did not start");
        env.s3_multipart_threshold_bytes = 2 << 20;
        env.s3_part_size_bytes = 1 << 20;
        return hc_storage_open("s3://hc-test/pre/fix/", &env, st, err);
    }
    snprintf(spec, sizeof spec, "file:%s/outputs", hc_test_tmpdir());
    int rc = hc_storage_open(spec, &env, st, err);
    if (rc || strcmp(backend, "fault")) return rc;
    hc_storage *inner = *st;
    return hc_storage_fault_wrap(inner, 1000000, HC_EIO, false, st);
}

static void run_storage_test(const char *backend, storage_body body) {
    hc_storage *st = NULL;
    hc_err err = {0};
    int rc = open_backend(backend, &st, &err);
    CHECKF(rc == 0 && st, "open %s: %d %s", backend, rc, err.msg);
    body(st);
    hc_storage_close(st);
}

#define STORAGE_TEST(name)                                                                         \
    static void body_##name(hc_storage *st);                                                       \
    HC_TEST(storage_file_##name) {                                                                 \
        run_storage_test("file", body_##name);                                                     \
    }                                                                                              \
    HC_TEST(storage_mem_##name) {                                                                  \
        run_storage_test("mem", body_##name);                                                      \
    }                                                                                              \
    HC_TEST(storage_fault_##name) {                                                                \
        run_storage_test("fault", body_##name);                                                    \
    }                                                                                              \
    HC_TEST(storage_s3_##name) {                                                                   \
        run_storage_test("s3", body_##name);                                                       \
    }                                                                                              \
    static void body_##name(hc_storage *st)

/* ---- helpers ---------------------------------------------------------------- */

/* A local file of n bytes (a pattern seeded by seed) in the test's
 * directory; its path into path. */
static int make_src(const char *name, size_t n, unsigned seed, char *path, size_t len) {
    snprintf(path, len, "%s/%s", hc_test_tmpdir(), name);
    char *d = malloc(n ? n : 1);
    if (!d) return -1;
    for (size_t i = 0; i < n; i++)
        d[i] = (char)((i * 131 + seed * 7 + (i >> 12)) & 0xff);
    int rc = hc_test_write_file(path, d, n);
    free(d);
    return rc;
}

/* Read the whole object (caller frees); NULL on failure, with *rc. */
static char *read_all(hc_storage *st, const char *key, int64_t *size, int *rc) {
    hc_storage_reader r;
    hc_err err = {0};
    *rc = hc_storage_open_read(st, NULL, key, &r, &err);
    if (*rc) {
        hc_storage_reader_fini(&r);
        return NULL;
    }
    *size = r.info.size_bytes;
    char *buf = malloc((size_t)r.info.size_bytes + 1);
    int64_t off = 0;
    while (off < r.info.size_bytes) {
        int64_t k = hc_storage_pread(&r, buf + off, 65536, off, &err);
        if (k <= 0) {
            *rc = k < 0 ? (int)k : HC_EIO;
            free(buf);
            hc_storage_reader_fini(&r);
            return NULL;
        }
        off += k;
    }
    hc_storage_reader_fini(&r);
    return buf;
}

/* Does the object hold exactly the bytes of the file at path? */
static bool same_as(hc_storage *st, const char *key, const char *path) {
    size_t n = 0;
    char *want = hc_test_read_file(path, &n);
    int64_t size = -1;
    int rc = 0;
    char *got = read_all(st, key, &size, &rc);
    bool ok = want && got && size == (int64_t)n && memcmp(want, got, n) == 0;
    if (!ok)
        fprintf(stderr, "    %s: rc %d, size %lld, want %zu bytes\n", key, rc, (long long)size, n);
    free(want);
    free(got);
    return ok;
}

typedef struct prog {
    int calls;
    int64_t last_done, last_total;
    bool monotonic;
    int stop_after; /* return false on this call (0 = never) */
} prog;

static bool on_prog(void *ud, int64_t done, int64_t total) {
    prog *p = ud;
    if (p->calls && done < p->last_done) {
        if (p->monotonic)
            fprintf(stderr, "    progress went back from %lld to %lld\n", (long long)p->last_done,
                    (long long)done);
        p->monotonic = false;
    }
    p->calls++;
    p->last_done = done;
    p->last_total = total;
    return !(p->stop_after && p->calls >= p->stop_after);
}

/* ---- the contract ------------------------------------------------------------- */

STORAGE_TEST(put_read) {
    char src[PATH_MAX];
    CHECK(make_src("a.mp4", 100000, 1, src, sizeof src) == 0);
    hc_err err = {0};
    int rc = hc_storage_put(st, "renders/job-1.mp4", src, NULL, &err);
    CHECKF(rc == 0, "put: %d %s", rc, err.msg);
    CHECK(same_as(st, "renders/job-1.mp4", src));
    hc_storage_info info;
    rc = hc_storage_stat(st, NULL, "renders/job-1.mp4", &info, &err);
    CHECKF(rc == 0 && info.size_bytes == 100000, "stat: %d size %lld", rc,
           (long long)info.size_bytes);
    CHECKF(!strcmp(info.content_type, "video/mp4"), "content type %s", info.content_type);
    CHECKF(info.etag[0] == '"', "etag %s", info.etag);
    /* A range in the middle, and reads past the end stop at the end. */
    hc_storage_reader r;
    CHECK(hc_storage_open_read(st, NULL, "renders/job-1.mp4", &r, &err) == 0);
    char buf[64], *whole = hc_test_read_file(src, NULL);
    int64_t k = hc_storage_pread(&r, buf, sizeof buf, 5000, &err);
    bool mid = k == 64 && !memcmp(buf, whole + 5000, 64);
    int64_t tail = hc_storage_pread(&r, buf, sizeof buf, 100000 - 10, &err);
    int64_t past = hc_storage_pread(&r, buf, sizeof buf, 100000, &err);
    hc_storage_reader_fini(&r);
    free(whole);
    CHECKF(mid, "middle range: %lld bytes", (long long)k);
    CHECKF(tail == 10 && past == 0, "tail %lld, past the end %lld", (long long)tail,
           (long long)past);
}

STORAGE_TEST(put_replaces) {
    char a[PATH_MAX], b[PATH_MAX];
    CHECK(make_src("a.jpg", 3000, 1, a, sizeof a) == 0);
    CHECK(make_src("b.jpg", 7000, 2, b, sizeof b) == 0);
    hc_err err = {0};
    hc_storage_info i1, i2;
    CHECK(hc_storage_put(st, "p/x.jpg", a, NULL, &err) == 0);
    CHECK(hc_storage_stat(st, NULL, "p/x.jpg", &i1, &err) == 0);
    hc_test_sleep_ms(5);
    CHECK(hc_storage_put(st, "p/x.jpg", b, NULL, &err) == 0);
    CHECK(hc_storage_stat(st, NULL, "p/x.jpg", &i2, &err) == 0);
    CHECK(same_as(st, "p/x.jpg", b));
    CHECKF(i2.size_bytes == 7000 && strcmp(i1.etag, i2.etag) != 0, "size %lld, etags %s %s",
           (long long)i2.size_bytes, i1.etag, i2.etag);
    CHECKF(!strcmp(i2.content_type, "image/jpeg"), "content type %s", i2.content_type);
}

STORAGE_TEST(empty_object) {
    char a[PATH_MAX];
    CHECK(make_src("empty", 0, 1, a, sizeof a) == 0);
    hc_err err = {0};
    CHECK(hc_storage_put(st, "e/empty.txt", a, NULL, &err) == 0);
    hc_storage_info info;
    CHECK(hc_storage_stat(st, NULL, "e/empty.txt", &info, &err) == 0);
    CHECK(info.size_bytes == 0);
    CHECK(same_as(st, "e/empty.txt", a));
}

STORAGE_TEST(missing) {
    hc_err err = {0};
    hc_storage_info info;
    int rc = hc_storage_stat(st, NULL, "renders/none.mp4", &info, &err);
    CHECKF(rc == HC_ENOTFOUND, "stat of a missing key: %d %s", rc, err.msg);
    hc_storage_reader r;
    hc_err e2 = {0};
    rc = hc_storage_open_read(st, NULL, "renders/none.mp4", &r, &e2);
    hc_storage_reader_fini(&r);
    CHECKF(rc == HC_ENOTFOUND, "open of a missing key: %d %s", rc, e2.msg);
    hc_err e3 = {0};
    CHECKF(hc_storage_remove(st, NULL, "renders/none.mp4", &e3) == 0, "remove: %s", e3.msg);
}

STORAGE_TEST(remove) {
    char a[PATH_MAX];
    CHECK(make_src("a", 1000, 3, a, sizeof a) == 0);
    hc_err err = {0};
    CHECK(hc_storage_put(st, "r/a.mp4", a, NULL, &err) == 0);
    CHECK(hc_storage_remove(st, NULL, "r/a.mp4", &err) == 0);
    hc_storage_info info;
    CHECK(hc_storage_stat(st, NULL, "r/a.mp4", &info, &err) == HC_ENOTFOUND);
    /* The source is the caller's: a put never consumes it. */
    CHECK(access(a, R_OK) == 0);
}

STORAGE_TEST(bad_keys) {
    static const char *const bad[] = {"../x.mp4", "/abs.mp4", "a//b.mp4", "a/./b",
                                      "a\\b",     "",         "x/..",     "a\nb"};
    char a[PATH_MAX];
    CHECK(make_src("a", 10, 3, a, sizeof a) == 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hc_err e1 = {0}, e2 = {0}, e3 = {0}, e4 = {0};
        hc_storage_info info;
        hc_storage_reader r;
        char *url = NULL;
        int p = hc_storage_put(st, bad[i], a, NULL, &e1);
        int s = hc_storage_stat(st, NULL, bad[i], &info, &e2);
        int o = hc_storage_open_read(st, NULL, bad[i], &r, &e3);
        hc_storage_reader_fini(&r);
        int u = hc_storage_url(st, NULL, bad[i], &url, &e4);
        int d = hc_storage_remove(st, NULL, bad[i], &e4);
        CHECKF(p == HC_EINVAL && s == HC_EINVAL && o == HC_EINVAL && u == HC_EINVAL &&
                   d == HC_EINVAL && !url,
               "key \"%s\": put %d stat %d open %d url %d remove %d", bad[i], p, s, o, u, d);
        CHECKF(strstr(e1.msg, "storage key"), "message names the key: %s", e1.msg);
    }
}

STORAGE_TEST(progress_and_cancel) {
    char a[PATH_MAX];
    CHECK(make_src("big.mp4", 3 << 20, 4, a, sizeof a) == 0);
    hc_err err = {0};
    prog p = {.monotonic = true};
    hc_storage_put_opts o = {.progress = on_prog, .ud = &p};
    CHECK(hc_storage_put(st, "big/ok.mp4", a, &o, &err) == 0);
    CHECKF(p.calls >= 1 && p.monotonic && p.last_done == 3 << 20 && p.last_total == 3 << 20,
           "progress: %d calls, last %lld of %lld", p.calls, (long long)p.last_done,
           (long long)p.last_total);
    CHECK(same_as(st, "big/ok.mp4", a));
    /* Stopped by its progress callback: nothing appears. */
    prog q = {.monotonic = true, .stop_after = 1};
    hc_storage_put_opts o2 = {.progress = on_prog, .ud = &q};
    hc_err e2 = {0};
    int rc = hc_storage_put(st, "big/stopped.mp4", a, &o2, &e2);
    CHECKF(rc == HC_ECANCELED, "canceled put: %d %s", rc, e2.msg);
    hc_storage_info info;
    CHECK(hc_storage_stat(st, NULL, "big/stopped.mp4", &info, &err) == HC_ENOTFOUND);
}

STORAGE_TEST(urls) {
    char *url = NULL, *link = NULL;
    hc_err err = {0};
    int rc = hc_storage_url(st, NULL, "renders/a b+c.mp4", &url, &err);
    CHECKF(rc == 0 && url, "url: %d %s", rc, err.msg);
    CHECKF(strstr(url, "renders/a%20b%2Bc.mp4") != NULL, "url %s", url);
    rc = hc_storage_sign_url(st, url, 3600, &link, &err);
    CHECKF(rc == 0 && link && !strncmp(link, url, strlen(url)), "sign: %d %s", rc, link);
    hc_err e2 = {0};
    char *bad = NULL;
    CHECK(hc_storage_sign_url(st, url, 0, &bad, &e2) == HC_EINVAL && !bad);
    free(url);
    free(link);
}

/* Buckets are S3's (output.s3_bucket): there the object goes to exactly
 * the key in that bucket, no prefix; file and mem refuse them. */
STORAGE_TEST(buckets) {
    char a[PATH_MAX];
    CHECK(make_src("a", 10, 3, a, sizeof a) == 0);
    hc_err err = {0};
    hc_storage_put_opts o = {.bucket = "other-bucket"};
    if (hc_storage_has_buckets(st)) {
        int rc = hc_storage_put(st, "renders/x.mp4", a, &o, &err);
        CHECKF(rc == 0, "put into another bucket: %d %s", rc, err.msg);
        hc_storage_info info;
        CHECK(hc_storage_stat(st, "other-bucket", "renders/x.mp4", &info, &err) == 0);
        CHECK(info.size_bytes == 10);
        CHECK(hc_storage_stat(st, NULL, "renders/x.mp4", &info, &err) == HC_ENOTFOUND);
        char *url = NULL;
        CHECK(hc_storage_url(st, "other-bucket", "renders/x.mp4", &url, &err) == 0);
        CHECKF(strstr(url, "/other-bucket/renders/x.mp4") && !strstr(url, "pre/fix"), "url %s",
               url);
        free(url);
        hc_err e2 = {0};
        hc_storage_put_opts bad = {.bucket = "Not_A_Bucket"};
        CHECK(hc_storage_put(st, "renders/x.mp4", a, &bad, &e2) == HC_EINVAL);
        CHECK(hc_storage_remove(st, "other-bucket", "renders/x.mp4", &err) == 0);
        CHECK(hc_storage_stat(st, "other-bucket", "renders/x.mp4", &info, &err) == HC_ENOTFOUND);
        return;
    }
    int rc = hc_storage_put(st, "renders/x.mp4", a, &o, &err);
    CHECKF(rc == HC_EUNSUPPORTED && strstr(err.msg, "output.s3_bucket"), "put: %d %s", rc, err.msg);
    char *url = NULL;
    CHECK(hc_storage_url(st, "other-bucket", "renders/x.mp4", &url, &err) == HC_EUNSUPPORTED);
    CHECK(!url);
}

STORAGE_TEST(concurrent_readers_keep_their_bytes) {
    char a[PATH_MAX], b[PATH_MAX];
    CHECK(make_src("a", 5000, 5, a, sizeof a) == 0);
    CHECK(make_src("b", 9000, 6, b, sizeof b) == 0);
    hc_err err = {0};
    CHECK(hc_storage_put(st, "c/x.mp4", a, NULL, &err) == 0);
    hc_storage_reader r;
    CHECK(hc_storage_open_read(st, NULL, "c/x.mp4", &r, &err) == 0);
    CHECK(hc_storage_put(st, "c/x.mp4", b, NULL, &err) == 0);
    /* The open reader still reads the object it opened, whole, or (S3,
     * which reads at read time) refuses to mix in the new one. */
    char buf[5000];
    char *want = hc_test_read_file(a, NULL);
    int64_t k = hc_storage_pread(&r, buf, sizeof buf, 0, &err);
    bool ok = r.info.size_bytes == 5000 && ((k == 5000 && !memcmp(buf, want, 5000)) ||
                                            (hc_storage_has_buckets(st) && k == HC_ECONFLICT));
    hc_storage_reader_fini(&r);
    free(want);
    CHECKF(ok, "old reader: size %lld, read %lld", (long long)r.info.size_bytes, (long long)k);
    CHECK(same_as(st, "c/x.mp4", b));
}

/* ---- file storage only ------------------------------------------------------ */

static hc_storage *open_file(const char *public_url, const char *secret) {
    char spec[PATH_MAX + 16];
    snprintf(spec, sizeof spec, "file:%s/outputs", hc_test_tmpdir());
    hc_storage_env env = {.public_url = public_url, .sign_secret = secret};
    hc_storage *st = NULL;
    hc_err err = {0};
    if (hc_storage_open(spec, &env, &st, &err)) fprintf(stderr, "    open: %s\n", err.msg);
    return st;
}

HC_TEST(storage_file_stays_inside) {
    hc_storage *st = open_file(NULL, NULL);
    CHECK(st);
    char out[PATH_MAX], outside[PATH_MAX], link[PATH_MAX + 32], src[PATH_MAX];
    snprintf(out, sizeof out, "%s/outputs", hc_test_tmpdir());
    snprintf(outside, sizeof outside, "%s/outside", hc_test_tmpdir());
    CHECK(mkdir(outside, 0755) == 0);
    char secret[PATH_MAX + 32];
    snprintf(secret, sizeof secret, "%s/secret.txt", outside);
    CHECK(hc_test_write_file(secret, "secret", 6) == 0);
    snprintf(link, sizeof link, "%s/escape", out);
    CHECK(symlink(outside, link) == 0);
    CHECK(make_src("a", 10, 1, src, sizeof src) == 0);
    hc_err err = {0};
    hc_storage_info info;
    int rc = hc_storage_stat(st, NULL, "escape/secret.txt", &info, &err);
    CHECKF(rc == HC_ENOTFOUND, "stat through a symlink out: %d", rc);
    hc_err e2 = {0};
    rc = hc_storage_put(st, "escape/new.mp4", src, NULL, &e2);
    CHECKF(rc == HC_EINVAL, "put through a symlink out: %d %s", rc, e2.msg);
    char probe[PATH_MAX + 32];
    snprintf(probe, sizeof probe, "%s/new.mp4", outside);
    CHECK(access(probe, F_OK) != 0);
    /* The object itself a symlink (to a file outside): not served. */
    snprintf(link, sizeof link, "%s/link.txt", out);
    CHECK(symlink(secret, link) == 0);
    CHECK(hc_storage_stat(st, NULL, "link.txt", &info, &err) == HC_ENOTFOUND);
    hc_storage_close(st);
}

HC_TEST(storage_file_put_is_atomic_and_cleanup_spares_the_object) {
    hc_storage *st = open_file(NULL, NULL);
    CHECK(st);
    char src[PATH_MAX], part[PATH_MAX + 8], obj[PATH_MAX];
    CHECK(make_src("a", 2000, 1, src, sizeof src) == 0);
    hc_err err = {0};
    CHECK(hc_storage_put(st, "renders/j.mp4", src, NULL, &err) == 0);
    snprintf(obj, sizeof obj, "%s/outputs/renders/j.mp4", hc_test_tmpdir());
    snprintf(part, sizeof part, "%s.part", obj);
    CHECK(access(part, F_OK) != 0); /* renamed into place */
    /* What a killed upload leaves behind is removed; the object is not. */
    CHECK(hc_test_write_file(part, "half", 4) == 0);
    CHECK(hc_storage_cleanup(st, "renders/j.mp4", &err) == 0);
    CHECK(access(part, F_OK) != 0 && access(obj, F_OK) == 0);
    CHECK(!strcmp(hc_storage_dir(st) + strlen(hc_storage_dir(st)) - 8, "/outputs"));
    /* The object is a file of its own: writing the source afterwards (the
     * work directory is reused, or removed) does not change it. */
    CHECK(hc_test_write_file(src, "changed", 7) == 0);
    hc_storage_info info;
    CHECK(hc_storage_stat(st, NULL, "renders/j.mp4", &info, &err) == 0);
    CHECKF(info.size_bytes == 2000, "object changed with its source: %lld bytes",
           (long long)info.size_bytes);
    hc_storage_close(st);
}

HC_TEST(storage_file_links) {
    static const char secret[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    hc_storage *st = open_file("http://media.example:8080/", secret);
    CHECK(st);
    char *url = NULL, *link = NULL, *other = NULL;
    hc_err err = {0};
    CHECK(hc_storage_url(st, NULL, "renders/j 1.mp4", &url, &err) == 0);
    CHECKF(!strcmp(url, "http://media.example:8080/files/renders/j%201.mp4"), "url %s", url);
    CHECK(hc_storage_sign_url(st, url, 3600, &link, &err) == 0);
    const char *q = strstr(link, "?exp=");
    CHECKF(q && !strncmp(link, url, strlen(url)), "signed link %s", link);
    char exp[32] = "", sig[80] = "";
    CHECK(sscanf(q, "?exp=%31[0-9]&sig=%79[0-9a-f]", exp, sig) == 2);
    CHECK(hc_urlsign_check(secret, "renders/j 1.mp4", exp, sig));
    CHECK(!hc_urlsign_check(secret, "renders/other.mp4", exp, sig));
    /* A link of the server's bound address (not the public URL) is signed
     * too; a URL with no /files/ path is handed out as it is. */
    char *bound = NULL;
    CHECK(hc_storage_sign_url(st, "http://127.0.0.1:5555/files/renders/k.mp4", 60, &bound, &err) ==
          0);
    CHECKF(strstr(bound, "?exp=") != NULL, "bound link %s", bound);
    CHECK(hc_storage_sign_url(st, "https://elsewhere.example/x.mp4", 60, &other, &err) == 0);
    CHECKF(!strcmp(other, "https://elsewhere.example/x.mp4"), "other %s", other);
    free(url);
    free(link);
    free(bound);
    free(other);
    hc_storage_close(st);
    /* No public URL: no link to make. */
    hc_storage *st2 = open_file(NULL, NULL);
    char *none = NULL;
    hc_err e2 = {0};
    CHECK(hc_storage_url(st2, NULL, "renders/a.mp4", &none, &e2) == HC_EUNSUPPORTED);
    CHECKF(strstr(e2.msg, "HC_PUBLIC_URL"), "message %s", e2.msg);
    hc_storage_close(st2);
}

HC_TEST(storage_open_specs) {
    hc_storage *st = NULL;
    hc_err err = {0};
    int rc = hc_storage_open("ftp://bucket/x", NULL, &st, &err);
    CHECKF(rc == HC_EINVAL && !st && strstr(err.msg, "ftp://bucket/x"), "unknown: %d %s", rc,
           err.msg);
    hc_err e2 = {0};
    CHECK(hc_storage_open("file:", NULL, &st, &e2) == HC_EINVAL && !st);
    hc_err e3 = {0};
    CHECK(hc_storage_open("/no/scheme", NULL, &st, &e3) == HC_EINVAL && !st);
    hc_err e4 = {0};
    CHECK(hc_storage_open("mem:x", NULL, &st, &e4) == HC_EINVAL && !st);
    CHECK(hc_storage_open("mem:", NULL, &st, &err) == 0 && st);
    CHECK(hc_storage_dir(st) == NULL);
    hc_storage_close(st);
    hc_storage_close(NULL);
}

/* ---- the fault wrapper ---------------------------------------------------------- */

HC_TEST(storage_fault_fails_the_nth_call) {
    hc_storage *inner = NULL, *st = NULL;
    hc_err err = {0};
    CHECK(hc_storage_open("mem:", NULL, &inner, &err) == 0);
    CHECK(hc_storage_fault_wrap(inner, 2, HC_ENET, false, &st) == 0);
    char a[PATH_MAX];
    CHECK(make_src("a", 100, 1, a, sizeof a) == 0);
    CHECK(hc_storage_put(st, "k/1.mp4", a, NULL, &err) == 0); /* call 1 */
    hc_err e2 = {0};
    int rc = hc_storage_put(st, "k/2.mp4", a, NULL, &e2); /* call 2 */
    CHECKF(rc == HC_ENET && strstr(e2.msg, "injected"), "call 2: %d %s", rc, e2.msg);
    hc_storage_info info;
    CHECK(hc_storage_stat(st, NULL, "k/2.mp4", &info, &err) == HC_ENOTFOUND); /* 3: passes */
    CHECK(hc_storage_stat(st, NULL, "k/1.mp4", &info, &err) == 0);
    hc_storage_close(st);

    /* Sticky: every call from the nth on, reads included. */
    CHECK(hc_storage_open("mem:", NULL, &inner, &err) == 0);
    CHECK(hc_storage_put(inner, "k/1.mp4", a, NULL, &err) == 0);
    CHECK(hc_storage_fault_wrap(inner, 2, HC_EIO, true, &st) == 0);
    hc_storage_reader r;
    CHECK(hc_storage_open_read(st, NULL, "k/1.mp4", &r, &err) == 0); /* 1 */
    char buf[8];
    hc_err e3 = {0};
    CHECK(hc_storage_pread(&r, buf, sizeof buf, 0, &e3) == HC_EIO); /* 2 */
    hc_storage_reader_fini(&r);
    hc_err e4 = {0};
    CHECK(hc_storage_remove(st, NULL, "k/1.mp4", &e4) == HC_EIO); /* 3 */
    hc_storage_close(st);
    CHECK(hc_storage_fault_wrap(NULL, 1, HC_EIO, false, &st) == HC_EINVAL);
}

/* ---- S3 against s3rver ------------------------------------------------------------ */

static int s3rver_port, s3_endpoint_port;
static char s3_log[PATH_MAX];

/* Start a child with argv, its stdout on a pipe; the first line that
 * contains `marker` is returned in line. Returns the pid or -1. */
static pid_t spawn_read(char *const argv[], const char *marker, char *line, size_t len,
                        double timeout_s) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    double t_end = hc_test_now_s() + timeout_s;
    bool found = false;
    while (!found && hc_test_now_s() < t_end && fgets(line, (int)len, f))
        found = strstr(line, marker) != NULL;
    fclose(f);
    if (!found) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

/* s3rver on an ephemeral loopback port with the buckets hc-test and
 * other-bucket, the keys S3RVER/S3RVER and the endpoint in the
 * environment (as a deployment would set them). With fault_args (may be
 * ""), tests/data/s3fault.py stands in front of it and is the endpoint.
 * Returns the endpoint's port, or -1. The runner kills both after the
 * test (same process group). */
static int start_s3(const char *fault_args) {
    char script[PATH_MAX], dir[PATH_MAX], line[512];
    snprintf(script, sizeof script, "%s/tests/emulators/node_modules/s3rver/bin/s3rver.js",
             hc_test_root());
    snprintf(dir, sizeof dir, "%s/s3rver", hc_test_tmpdir());
    char *argv[] = {
        "node",         script, "--address", "127.0.0.1",          "--port",  "0",
        "--directory",  dir,    "--silent",  "--configure-bucket", "hc-test", "--configure-bucket",
        "other-bucket", NULL};
    if (spawn_read(argv, "listening on", line, sizeof line, 20) < 0) return -1;
    const char *colon = strrchr(line, ':');
    s3rver_port = colon ? atoi(colon + 1) : 0;
    if (s3rver_port <= 0) return -1;
    s3_endpoint_port = s3rver_port;
    if (fault_args) {
        char fscript[PATH_MAX], portfile[PATH_MAX + 16], cmd[4 * PATH_MAX + 256];
        snprintf(fscript, sizeof fscript, "%s/tests/data/s3fault.py", hc_test_root());
        snprintf(portfile, sizeof portfile, "%s/s3fault.port", hc_test_tmpdir());
        snprintf(s3_log, sizeof s3_log, "%s/s3fault.log", hc_test_tmpdir());
        /* Its output away from hc_test_run's pipe, or the run waits for it. */
        snprintf(cmd, sizeof cmd, "python3 %s %s %d %s %s >/dev/null 2>>%s.err &", fscript,
                 portfile, s3rver_port, s3_log, fault_args, s3_log);
        if (hc_test_run(cmd, NULL) != 0) return -1;
        s3_endpoint_port = -1;
        for (int i = 0; i < 400 && s3_endpoint_port < 0; i++) {
            char *p = hc_test_read_file(portfile, NULL);
            if (p && strchr(p, '\n')) s3_endpoint_port = atoi(p);
            free(p);
            if (s3_endpoint_port < 0) hc_test_sleep_ms(25);
        }
        if (s3_endpoint_port <= 0) return -1;
    }
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", s3_endpoint_port);
    setenv("AWS_ENDPOINT_URL_S3", ep, 1);
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_ENDPOINT_URL");
    /* No shared files or instance metadata of this machine. */
    char none[PATH_MAX + 32];
    snprintf(none, sizeof none, "%s/no-aws-files", hc_test_tmpdir());
    setenv("AWS_SHARED_CREDENTIALS_FILE", none, 1);
    setenv("AWS_CONFIG_FILE", none, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    return s3_endpoint_port;
}

static hc_storage *open_s3(const char *spec, int64_t threshold, int64_t part) {
    hc_storage_env env = {.s3_multipart_threshold_bytes = threshold, .s3_part_size_bytes = part};
    hc_storage *st = NULL;
    hc_err err = {0};
    if (hc_storage_open(spec, &env, &st, &err)) fprintf(stderr, "    open %s: %s\n", spec, err.msg);
    return st;
}

/* How many lines of the fault proxy's log contain needle. */
static int log_count(const char *needle) {
    char *log = hc_test_read_file(s3_log, NULL);
    int n = 0;
    for (const char *p = log; p && (p = strstr(p, needle)); p++)
        n++;
    free(log);
    return n;
}

HC_TEST_T(storage_s3_multipart_retries_a_failed_part, 120) {
    CHECK(start_s3("--fail-part 3:1") > 0);
    hc_storage *st = open_s3("s3://hc-test/mp", 1 << 20, 1 << 20);
    CHECK(st);
    char src[PATH_MAX];
    CHECK(make_src("big.mp4", (5 << 20) + 123, 9, src, sizeof src) == 0);
    hc_err err = {0};
    prog p = {.monotonic = true};
    hc_storage_put_opts o = {.progress = on_prog, .ud = &p};
    int rc = hc_storage_put(st, "renders/big.mp4", src, &o, &err);
    CHECKF(rc == 0, "multipart put: %d %s", rc, err.msg);
    /* Six parts, the third failed once and was sent again; completed. */
    CHECKF(log_count("POST /hc-test/mp/renders/big.mp4?uploads") == 1, "no CreateMultipartUpload");
    CHECKF(log_count(" part ") == 6, "parts sent: %d", log_count(" part "));
    CHECKF(log_count("500 injected") == 1, "injected failures: %d", log_count("500 injected"));
    CHECKF(log_count("POST /hc-test/mp/renders/big.mp4?uploadId=") == 1, "no Complete");
    CHECK(log_count("ABORT") == 0);
    CHECKF(p.monotonic && p.last_done == (5 << 20) + 123, "progress to %lld",
           (long long)p.last_done);
    CHECK(same_as(st, "renders/big.mp4", src));
    hc_storage_info info;
    CHECK(hc_storage_stat(st, NULL, "renders/big.mp4", &info, &err) == 0);
    CHECKF(!strcmp(info.content_type, "video/mp4"), "content type %s", info.content_type);
    hc_storage_close(st);
}

HC_TEST_T(storage_s3_multipart_aborts_when_a_part_keeps_failing, 120) {
    CHECK(start_s3("--fail-part 2:-1") > 0);
    hc_storage *st = open_s3("s3://hc-test/", 1 << 20, 1 << 20);
    CHECK(st);
    char src[PATH_MAX];
    CHECK(make_src("big.mp4", 3 << 20, 9, src, sizeof src) == 0);
    hc_err err = {0};
    int rc = hc_storage_put(st, "renders/fail.mp4", src, NULL, &err);
    CHECKF(rc == HC_ENET && strstr(err.msg, "UploadPart 2/3") && strstr(err.msg, "InternalError"),
           "put: %d %s", rc, err.msg);
    CHECKF(log_count("ABORT /hc-test/renders/fail.mp4") == 1, "abort sent %d times",
           log_count("ABORT"));
    CHECKF(log_count("500 injected") >= 2, "the part was retried: %d", log_count("500 injected"));
    CHECK(log_count("?uploadId=") == 0); /* never completed */
    hc_storage_info info;
    hc_err e2 = {0};
    CHECK(hc_storage_stat(st, NULL, "renders/fail.mp4", &info, &e2) == HC_ENOTFOUND);
    /* Canceled by its progress callback: aborted as well. */
    prog q = {.monotonic = true, .stop_after = 1};
    hc_storage_put_opts o = {.progress = on_prog, .ud = &q};
    hc_err e3 = {0};
    rc = hc_storage_put(st, "renders/stop.mp4", src, &o, &e3);
    CHECKF(rc == HC_ECANCELED, "canceled: %d %s", rc, e3.msg);
    CHECK(log_count("ABORT /hc-test/renders/stop.mp4") == 1);
    hc_storage_close(st);
}

HC_TEST_T(storage_s3_presigned_link_with_plain_curl, 120) {
    CHECK(start_s3(NULL) > 0);
    hc_storage *st = open_s3("s3://hc-test/out", 0, 0);
    CHECK(st);
    char src[PATH_MAX];
    CHECK(make_src("v.mp4", 70000, 3, src, sizeof src) == 0);
    hc_err err = {0};
    CHECK(hc_storage_put(st, "renders/v.mp4", src, NULL, &err) == 0);
    char *url = NULL, *link = NULL;
    CHECK(hc_storage_url(st, NULL, "renders/v.mp4", &url, &err) == 0);
    char want[256];
    snprintf(want, sizeof want, "http://127.0.0.1:%d/hc-test/out/renders/v.mp4", s3rver_port);
    CHECKF(!strcmp(url, want), "plain URL %s", url);
    CHECK(hc_storage_sign_url(st, url, 120, &link, &err) == 0);
    CHECKF(strstr(link, "X-Amz-Signature=") && strstr(link, "X-Amz-Expires=120") &&
               !strstr(link, "X-Amz-Security-Token"),
           "link %s", link);
    char cmd[2 * PATH_MAX + 4096], out[PATH_MAX + 16];
    snprintf(out, sizeof out, "%s/fetched.mp4", hc_test_tmpdir());
    snprintf(cmd, sizeof cmd, "curl -sf -o '%s' '%s'", out, link);
    CHECKF(hc_test_run(cmd, NULL) == 0, "curl of the presigned link failed");
    size_t n1 = 0, n2 = 0;
    char *a = hc_test_read_file(src, &n1), *b = hc_test_read_file(out, &n2);
    CHECK(a && b && n1 == n2 && !memcmp(a, b, n1));
    free(a);
    free(b);
    free(link);
    link = NULL;
    /* An expired link is refused. (s3rver checks the expiry but does not
     * recompute signatures: tests/unit/test_sigv4.c checks those.) */
    CHECK(hc_storage_sign_url(st, url, 1, &link, &err) == 0);
    hc_test_sleep_ms(2100);
    char *code = NULL;
    snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_code}' '%s'", link);
    CHECK(hc_test_run(cmd, &code) == 0);
    CHECKF(code && !strcmp(code, "403"), "expired link: %s", code ? code : "");
    free(code);
    free(link);
    link = NULL;
    hc_storage_close(st);

    /* Temporary credentials: the session token rides along. */
    setenv("AWS_SESSION_TOKEN", "session-token-123", 1);
    st = open_s3("s3://hc-test/out", 0, 0);
    CHECK(st);
    CHECK(hc_storage_sign_url(st, url, 60, &link, &err) == 0);
    CHECKF(strstr(link, "X-Amz-Security-Token=session-token-123"), "link %s", link);
    free(link);
    link = NULL;
    /* A URL that is not this storage's is handed out as it is. */
    CHECK(hc_storage_sign_url(st, "https://cdn.example/x.mp4", 60, &link, &err) == 0);
    CHECK(!strcmp(link, "https://cdn.example/x.mp4"));
    free(link);
    free(url);
    hc_storage_close(st);
}

HC_TEST_T(storage_s3_wrong_key_refused, 120) {
    CHECK(start_s3(NULL) > 0);
    setenv("AWS_ACCESS_KEY_ID", "NOT-A-KEY", 1);
    hc_storage *st = open_s3("s3://hc-test/", 0, 0);
    CHECK(st);
    char src[PATH_MAX];
    CHECK(make_src("v.mp4", 1000, 3, src, sizeof src) == 0);
    hc_err err = {0};
    int rc = hc_storage_put(st, "renders/v.mp4", src, NULL, &err);
    CHECKF(rc == HC_EIO && strstr(err.msg, "InvalidAccessKeyId") && strstr(err.msg, "403"),
           "put with a wrong key: %d %s", rc, err.msg);
    CHECKF(!strstr(err.msg, "S3RVER") && !strstr(err.msg, "Signature="), "message leaks: %s",
           err.msg);
    /* Its presigned links are refused too. */
    char *link = NULL;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hc-test/renders/v.mp4", s3rver_port);
    CHECK(hc_storage_sign_url(st, url, 60, &link, &err) == 0);
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_code}' '%s'", link);
    CHECK(hc_test_run(cmd, &out) == 0);
    CHECKF(out && !strcmp(out, "403"), "curl: %s", out ? out : "");
    free(out);
    free(link);
    hc_storage_close(st);
    /* No such bucket: an error naming it. */
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    st = open_s3("s3://no-such-bucket/", 0, 0);
    hc_err e2 = {0};
    rc = hc_storage_put(st, "renders/v.mp4", src, NULL, &e2);
    CHECKF(rc == HC_EIO && strstr(e2.msg, "NoSuchBucket") && strstr(e2.msg, "s3://no-such-bucket/"),
           "%d %s", rc, e2.msg);
    hc_storage_close(st);
}

HC_TEST(storage_s3_addressing_and_specs) {
    /* On AWS (no endpoint override): virtual-host style, path style for a
     * bucket with a dot. Nothing is sent. */
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_ENDPOINT_URL");
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    setenv("AWS_REGION", "eu-west-1", 1);
    hc_storage *st = open_s3("s3://media-out/videos", 0, 0);
    CHECK(st);
    char *u = NULL, *v = NULL, *link = NULL;
    hc_err err = {0};
    CHECK(hc_storage_url(st, NULL, "renders/a b.mp4", &u, &err) == 0);
    CHECKF(!strcmp(u, "https://media-out.s3.eu-west-1.amazonaws.com/videos/renders/a%20b.mp4"),
           "%s", u);
    CHECK(hc_storage_url(st, "my.dotted.bucket", "k/x.mp4", &v, &err) == 0);
    CHECKF(!strcmp(v, "https://s3.eu-west-1.amazonaws.com/my.dotted.bucket/k/x.mp4"), "%s", v);
    /* Both are this storage's (any bucket): presigned. */
    CHECK(hc_storage_sign_url(st, u, 3600, &link, &err) == 0);
    CHECKF(!strncmp(link, u, strlen(u)) && strstr(link, "X-Amz-Credential=AKIDEXAMPLE%2F") &&
               strstr(link, "%2Feu-west-1%2Fs3%2Faws4_request"),
           "%s", link);
    free(link);
    CHECK(hc_storage_sign_url(st, v, 3600, &link, &err) == 0);
    CHECK(strstr(link, "X-Amz-Signature="));
    free(link);
    CHECK(hc_storage_sign_url(st, "https://evil.example/media-out.s3.eu-west-1.amazonaws.com/x", 60,
                              &link, &err) == 0);
    CHECK(!strstr(link, "X-Amz"));
    free(link);
    free(u);
    free(v);
    hc_storage_close(st);
    /* As Terraform sets it: no prefix, no trailing slash. */
    st = open_s3("s3://media-out", 0, 0);
    CHECK(st);
    CHECK(hc_storage_url(st, NULL, "renders/j.mp4", &u, &err) == 0);
    CHECKF(!strcmp(u, "https://media-out.s3.eu-west-1.amazonaws.com/renders/j.mp4"), "%s", u);
    free(u);
    hc_storage_close(st);

    static const char *const bad[] = {"s3://",    "s3:bucket",          "s3://Bad_Bucket/x",
                                      "s3://ab/", "s3://bucket/a/../b", "s3://bucket//x//"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hc_err e = {0};
        hc_storage *s2 = NULL;
        int rc = hc_storage_open(bad[i], NULL, &s2, &e);
        if (!strcmp(bad[i], "s3://bucket//x//")) { /* slashes around a prefix are trimmed */
            CHECKF(rc == 0, "%s: %d %s", bad[i], rc, e.msg);
            hc_storage_close(s2);
            continue;
        }
        CHECKF(rc == HC_EINVAL && !s2 && strstr(e.msg, bad[i]), "%s: %d %s", bad[i], rc, e.msg);
    }
    /* No region: refused at open, not at the first upload. */
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    char none[PATH_MAX + 32];
    snprintf(none, sizeof none, "%s/none", hc_test_tmpdir());
    setenv("AWS_CONFIG_FILE", none, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", none, 1);
    hc_err e = {0};
    CHECK(hc_storage_open("s3://bucket/x", NULL, &st, &e) == HC_EINVAL);
    CHECKF(strstr(e.msg, "AWS_REGION"), "%s", e.msg);
}

/* The whole path on S3: serve with S3 storage, a job rendered by a local
 * worker and uploaded to s3rver, output_url stored plain and handed out
 * presigned (fetched with plain curl), output.s3_bucket honoured exactly. */
static json_t *http_json(const char *method, const char *url, const char *body, long *status) {
    char *resp = NULL;
    *status = hc_test_http(method, url, body, NULL, &resp, NULL);
    json_t *j = resp ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    return j;
}

static json_t *wait_final(const char *base, const char *id, double timeout_s) {
    char url[512];
    snprintf(url, sizeof url, "%s/render/%s", base, id);
    for (double t_end = hc_test_now_s() + timeout_s; hc_test_now_s() < t_end;) {
        long st;
        json_t *j = http_json("GET", url, NULL, &st);
        const char *s = json_string_value(json_object_get(j, "status"));
        if (s && (!strcmp(s, "completed") || !strcmp(s, "failed") || !strcmp(s, "canceled")))
            return j;
        json_decref(j);
        hc_test_sleep_ms(100);
    }
    return NULL;
}

static bool curl_is_mp4(const char *link) {
    char cmd[8192], *out = NULL;
    snprintf(cmd, sizeof cmd, "curl -sf -r 4-7 '%s'", link);
    bool ok = hc_test_run(cmd, &out) == 0 && out && !strncmp(out, "ftyp", 4);
    free(out);
    return ok;
}

HC_TEST_T(storage_s3_serve_job_end_to_end, 300) {
    char img[PATH_MAX + 16], data[PATH_MAX + 16];
    snprintf(img, sizeof img, "%s/img", hc_test_tmpdir());
    snprintf(data, sizeof data, "%s/data", hc_test_tmpdir());
    mkdir(img, 0755);
    CHECK(hc_test_make_jpegs(img, 2, 320, 240) == 0);
    int port = hc_test_httpd(img);
    CHECK(port > 0);
    CHECK(start_s3(NULL) > 0);
    char url[256];
    int pid = hc_test_serve(data, "--workers 1 --url-allow 127.0.0.1 --storage s3://hc-test/out",
                            url, sizeof url);
    CHECK(pid > 0);
    static const char *settings =
        "{\"target_duration\":2,\"resolution\":\"720p\",\"quality\":\"draft\"}";
    char body[2048], u[512];
    snprintf(body, sizeof body,
             "{\"job_id\":\"s3-1\",\"images\":[{\"url\":\"http://127.0.0.1:%d/img0.jpg\"},"
             "{\"url\":\"http://127.0.0.1:%d/img1.jpg\"}],\"settings\":%s,"
             "\"callback_url\":\"http://127.0.0.1:%d/callback/s3\"}",
             port, port, settings, port);
    snprintf(u, sizeof u, "%s/render", url);
    long st;
    json_decref(http_json("POST", u, body, &st));
    CHECK(st == 202);
    snprintf(body, sizeof body,
             "{\"job_id\":\"s3-2\",\"output\":{\"s3_bucket\":\"other-bucket\",\"s3_key\":"
             "\"exact/place.mp4\"},\"images\":[{\"url\":\"http://127.0.0.1:%d/img0.jpg\"}],"
             "\"settings\":%s}",
             port, settings);
    json_decref(http_json("POST", u, body, &st));
    CHECK(st == 202);

    json_t *j = wait_final(url, "s3-1", 120);
    CHECK(j);
    const char *status = json_string_value(json_object_get(j, "status"));
    CHECKF(status && !strcmp(status, "completed"), "s3-1 %s: %s", status,
           json_string_value(json_object_get(json_object_get(j, "error"), "message")));
    const char *out = json_string_value(json_object_get(j, "output_url"));
    const char *poster = json_string_value(json_object_get(j, "poster_url"));
    char plain[256];
    snprintf(plain, sizeof plain, "http://127.0.0.1:%d/hc-test/out/renders/s3-1.mp4", s3rver_port);
    CHECKF(out && !strncmp(out, plain, strlen(plain)) && strstr(out, "X-Amz-Signature="),
           "output_url %s", out);
    CHECKF(poster && strstr(poster, "/hc-test/out/renders/s3-1.jpg?") &&
               strstr(poster, "X-Amz-Expires=3600"),
           "poster_url %s", poster);
    CHECK(curl_is_mp4(out));
    json_decref(j);
    /* The callback carries the links as a status read hands them out. */
    json_t *hooks = NULL;
    for (double t_end = hc_test_now_s() + 30; hc_test_now_s() < t_end; hc_test_sleep_ms(50)) {
        char hu[256], *resp = NULL;
        snprintf(hu, sizeof hu, "http://127.0.0.1:%d/hooks/s3", port);
        hc_test_http("GET", hu, NULL, NULL, &resp, NULL);
        json_decref(hooks);
        hooks = resp ? json_loads(resp, 0, NULL) : NULL;
        free(resp);
        if (json_array_size(hooks) >= 1) break;
    }
    CHECKF(json_array_size(hooks) == 1, "callbacks received: %zu", json_array_size(hooks));
    json_t *cb =
        json_loads(json_string_value(json_object_get(json_array_get(hooks, 0), "body")), 0, NULL);
    const char *cb_out = json_string_value(json_object_get(cb, "output_url"));
    CHECKF(cb_out && strstr(cb_out, "X-Amz-Signature=") && curl_is_mp4(cb_out), "callback %s",
           cb_out);
    json_decref(cb);
    json_decref(hooks);

    j = wait_final(url, "s3-2", 120);
    CHECK(j);
    out = json_string_value(json_object_get(j, "output_url"));
    snprintf(plain, sizeof plain, "http://127.0.0.1:%d/other-bucket/exact/place.mp4?", s3rver_port);
    CHECKF(out && !strncmp(out, plain, strlen(plain)), "output_url %s", out);
    CHECK(curl_is_mp4(out));
    json_decref(j);
    /* No /files route without a file storage. */
    snprintf(u, sizeof u, "%s/files/renders/s3-1.mp4", url);
    CHECK(hc_test_http("GET", u, NULL, NULL, NULL, NULL) == 404);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);

    /* What the store holds is the plain URL; `jobs show` presigns it. */
    char spec[PATH_MAX + 64];
    snprintf(spec, sizeof spec, "sqlite:%s/jobs.db", data);
    hc_store *store = NULL;
    hc_err err = {0};
    CHECK(hc_store_open(spec, &store, &err) == 0);
    hc_job job = {0};
    CHECK(hc_store_get(store, "s3-1", &job, &err) == 0);
    snprintf(plain, sizeof plain, "http://127.0.0.1:%d/hc-test/out/renders/s3-1.mp4", s3rver_port);
    CHECKF(job.output_url && !strcmp(job.output_url, plain), "stored %s", job.output_url);
    hc_job_fini(&job);
    hc_store_close(store);
    char cmd[2 * PATH_MAX + 256], *shown = NULL;
    snprintf(cmd, sizeof cmd, "HC_DATA_DIR=%s HC_STORAGE=s3://hc-test/out %s jobs show s3-1", data,
             hc_test_bin());
    CHECK(hc_test_run(cmd, &shown) == 0);
    json_t *js = shown ? json_loads(shown, 0, NULL) : NULL;
    free(shown);
    out = json_string_value(json_object_get(js, "output_url"));
    CHECKF(out && strstr(out, "X-Amz-Signature=") && curl_is_mp4(out), "jobs show: %s", out);
    json_decref(js);
}

/* ---- S3 inputs ------------------------------------------------------------------ */

HC_TEST(storage_s3_inputs_resolve) {
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
    setenv("AWS_REGION", "eu-west-1", 1);
    char none[PATH_MAX + 32];
    snprintf(none, sizeof none, "%s/none", hc_test_tmpdir());
    setenv("AWS_CONFIG_FILE", none, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", none, 1);
    hc_storage_s3_inputs *in = NULL;
    hc_err err = {0};
    CHECK(hc_storage_s3_inputs_open(&in, &err) == 0);
    char *s = NULL;
    /* s3:// in the context's region, virtual-host style. */
    CHECK(hc_storage_s3_inputs_resolve(in, "s3://photos-in/a b/1.jpg", &s, &err) == 1);
    CHECKF(!strncmp(s, "https://photos-in.s3.eu-west-1.amazonaws.com/a%20b/1.jpg?", 57) &&
               strstr(s, "%2Feu-west-1%2Fs3%2Faws4_request") && strstr(s, "X-Amz-Expires=900"),
           "%s", s);
    free(s);
    /* S3 https URLs sign in the region their host names. */
    CHECK(hc_storage_s3_inputs_resolve(in, "https://b-1.s3.ap-south-1.amazonaws.com/k/x.jpg", &s,
                                       &err) == 1);
    CHECKF(strstr(s, "%2Fap-south-1%2Fs3%2F") && !strncmp(s, "https://b-1.s3.ap-south-1", 25), "%s",
           s);
    free(s);
    CHECK(hc_storage_s3_inputs_resolve(in, "https://s3.amazonaws.com/b-1/k/x.jpg", &s, &err) == 1);
    CHECKF(strstr(s, "%2Fus-east-1%2Fs3%2F"), "%s", s);
    free(s);
    CHECK(hc_storage_s3_inputs_resolve(in, "https://b-1.s3-us-west-2.amazonaws.com/x.jpg", &s,
                                       &err) == 1);
    CHECKF(strstr(s, "%2Fus-west-2%2Fs3%2F"), "%s", s);
    free(s);
    /* Not S3, or already signed: as it is. */
    static const char *const plain[] = {
        "https://images.example/a.jpg",
        "https://b.s3.eu-west-1.amazonaws.com/x.jpg?X-Amz-Signature=1",
        "https://amazonaws.com.evil.example/b/x.jpg", "http://b.s3.amazonaws.com/x.jpg",
        "https://ec2.eu-west-1.amazonaws.com/x"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        CHECKF(hc_storage_s3_inputs_resolve(in, plain[i], &s, &err) == 0 && !s, "%s", plain[i]);
    }
    hc_err e2 = {0};
    CHECK(hc_storage_s3_inputs_resolve(in, "s3://Bad_Bucket/x", &s, &e2) == HC_EINVAL);
    hc_err e3 = {0};
    CHECK(hc_storage_s3_inputs_resolve(in, "s3://bucket/", &s, &e3) == HC_EINVAL);
    hc_storage_s3_inputs_close(in);

    /* No credentials: s3:// fails with the reason, a public https object is
     * fetched unsigned. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9", 1);
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    CHECK(hc_storage_s3_inputs_open(&in, &err) == 0);
    hc_err e4 = {0};
    int rc = hc_storage_s3_inputs_resolve(in, "s3://photos-in/1.jpg", &s, &e4);
    CHECKF(rc < 0 && !s && strstr(e4.msg, "credentials"), "%d %s", rc, e4.msg);
    CHECK(hc_storage_s3_inputs_resolve(in, "https://b-1.s3.amazonaws.com/x.jpg", &s, &err) == 0);
    CHECK(!s);
    hc_storage_s3_inputs_close(in);
}

/* A job whose images are private objects in the S3-compatible server:
 * fetched by presigned URLs from the storage endpoint, which is
 * infrastructure (serve runs without --url-allow: a user URL to 127.0.0.1
 * would be refused). */
HC_TEST_T(storage_s3_inputs_through_serve, 300) {
    char img[PATH_MAX + 16], data[PATH_MAX + 16];
    snprintf(img, sizeof img, "%s/img", hc_test_tmpdir());
    snprintf(data, sizeof data, "%s/data", hc_test_tmpdir());
    mkdir(img, 0755);
    CHECK(hc_test_make_jpegs(img, 2, 320, 240) == 0);
    CHECK(start_s3(NULL) > 0);
    hc_storage *st = open_s3("s3://hc-test/", 0, 0);
    CHECK(st);
    hc_err err = {0};
    for (int i = 0; i < 2; i++) {
        char src[PATH_MAX + 32], key[64];
        snprintf(src, sizeof src, "%s/img%d.jpg", img, i);
        snprintf(key, sizeof key, "in/photo %d.jpg", i);
        CHECK(hc_storage_put(st, key, src, NULL, &err) == 0);
    }
    hc_storage_close(st);
    char url[256];
    int pid = hc_test_serve(data, "--workers 1 --storage s3://hc-test/out", url, sizeof url);
    CHECK(pid > 0);
    char body[2048], u[512];
    snprintf(body, sizeof body,
             "{\"job_id\":\"in-1\",\"images\":[{\"url\":\"s3://hc-test/in/photo 0.jpg\"},"
             "{\"url\":\"s3://hc-test/in/photo 1.jpg\"}],\"settings\":{\"target_duration\":2,"
             "\"resolution\":\"720p\",\"quality\":\"draft\"}}");
    snprintf(u, sizeof u, "%s/render", url);
    long code;
    json_decref(http_json("POST", u, body, &code));
    CHECK(code == 202);
    json_t *j = wait_final(url, "in-1", 120);
    CHECK(j);
    const char *status = json_string_value(json_object_get(j, "status"));
    CHECKF(status && !strcmp(status, "completed"), "in-1 %s: %s", status,
           json_string_value(json_object_get(json_object_get(j, "error"), "message")));
    CHECK(curl_is_mp4(json_string_value(json_object_get(j, "output_url"))));
    json_decref(j);
    /* A missing object fails the job naming the input as the request gave it. */
    snprintf(body, sizeof body,
             "{\"job_id\":\"in-2\",\"images\":[{\"url\":\"s3://hc-test/in/none.jpg\"}],"
             "\"settings\":{\"target_duration\":2,\"resolution\":\"720p\",\"quality\":\"draft\"}}");
    json_decref(http_json("POST", u, body, &code));
    CHECK(code == 202);
    j = wait_final(url, "in-2", 120);
    CHECK(j);
    const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    CHECKF(msg && strstr(msg, "images[0]") && !strstr(msg, "X-Amz"), "error %s", msg);
    json_decref(j);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

HC_TEST_T(storage_s3_inputs_for_the_cli, 300) {
    char img[PATH_MAX + 16];
    snprintf(img, sizeof img, "%s/img", hc_test_tmpdir());
    mkdir(img, 0755);
    CHECK(hc_test_make_jpegs(img, 1, 320, 240) == 0);
    CHECK(start_s3(NULL) > 0);
    hc_storage *st = open_s3("s3://hc-test/", 0, 0);
    CHECK(st);
    char src[PATH_MAX + 32];
    snprintf(src, sizeof src, "%s/img0.jpg", img);
    hc_err err = {0};
    CHECK(hc_storage_put(st, "cli/a.jpg", src, NULL, &err) == 0);
    hc_storage_close(st);
    char spec[PATH_MAX + 32], cmd[3 * PATH_MAX], *out = NULL;
    snprintf(spec, sizeof spec, "%s/spec.json", hc_test_tmpdir());
    const char *j = "{\"images\":[{\"url\":\"s3://hc-test/cli/a.jpg\"}],\"settings\":"
                    "{\"target_duration\":1,\"resolution\":\"720p\",\"quality\":\"draft\"}}";
    CHECK(hc_test_write_file(spec, j, strlen(j)) == 0);
    snprintf(cmd, sizeof cmd, "%s render %s -o %s/out.mp4 --quiet 2>&1", hc_test_bin(), spec,
             hc_test_tmpdir());
    int rc = hc_test_run(cmd, &out);
    CHECKF(rc == 0, "render: %d %s", rc, out ? out : "");
    free(out);
}

/* s3rver checks keys and expiry but recomputes no signature: the
 * verifying stand-in (tests/data/sigv4_verify.py, botocore) does, on the
 * requests exactly as they went over the wire, hashed payload included. */
HC_TEST_T(storage_s3_signatures_verified_with_botocore, 120) {
    int port = hc_test_sigv4_verifier();
    if (port == -3) SKIP("botocore not installed");
    CHECK(port > 0);
    char ep[64], none[PATH_MAX + 32];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", port);
    snprintf(none, sizeof none, "%s/none", hc_test_tmpdir());
    setenv("AWS_ENDPOINT_URL_S3", ep, 1);
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_CONFIG_FILE", none, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", none, 1);
    unsetenv("AWS_SESSION_TOKEN");
    hc_storage *st = open_s3("s3://hc-test/v", 0, 0);
    CHECK(st);
    char src[PATH_MAX];
    CHECK(make_src("v b.mp4", 40000, 5, src, sizeof src) == 0);
    hc_err err = {0};
    int rc = hc_storage_put(st, "renders/v b+1.mp4", src, NULL, &err);
    CHECKF(rc == 0, "signed PUT refused: %d %s", rc, err.msg);
    hc_storage_info info;
    CHECK(hc_storage_stat(st, NULL, "renders/v b+1.mp4", &info, &err) == 0);
    CHECK(info.size_bytes == 40000);
    char *url = NULL, *link = NULL;
    CHECK(hc_storage_url(st, NULL, "renders/v b+1.mp4", &url, &err) == 0);
    CHECK(hc_storage_sign_url(st, url, 300, &link, &err) == 0);
    char cmd[8192], *code = NULL;
    snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_code}' '%s'", link);
    CHECK(hc_test_run(cmd, &code) == 0);
    CHECKF(code && !strcmp(code, "200"), "presigned GET: %s", code ? code : "");
    free(code);
    /* A tampered signature is refused. */
    char *sig = strstr(link, "X-Amz-Signature=") + 16;
    *sig = *sig == '0' ? '1' : '0';
    snprintf(cmd, sizeof cmd, "curl -s -o /dev/null -w '%%{http_code}' '%s'", link);
    code = NULL;
    CHECK(hc_test_run(cmd, &code) == 0);
    CHECKF(code && !strcmp(code, "403"), "tampered link: %s", code ? code : "");
    free(code);
    free(link);
    free(url);
    hc_storage_close(st);
    /* The wrong secret: refused, and the message says so without secrets. */
    setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
    st = open_s3("s3://hc-test/v", 0, 0);
    CHECK(st);
    hc_err e2 = {0};
    rc = hc_storage_put(st, "renders/w.mp4", src, NULL, &e2);
    CHECKF(rc == HC_EIO && strstr(e2.msg, "SignatureDoesNotMatch") && !strstr(e2.msg, "not-the"),
           "wrong secret: %d %s", rc, e2.msg);
    hc_storage_close(st);
}
