/* Unit tests of src/media/encoder.c and poster.c: the encoder choice over
 * every settings.hardware x USE_NVENC x probe outcome (fake probes), the
 * real NVENC probe failing cleanly on a GPU-less machine, MP4 output checked
 * with ffprobe (codec, profile, BT.709 tags, frame count, duration,
 * faststart), quality levels, the null sink, I/O errors, and the JPEG
 * poster (valid file, correct limited-to-full range expansion). */
#include "hc_test.h"
#include "media/hc_media.h"

#include <jansson.h>
#include <libavutil/log.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

static void quiet_libav(void) {
    av_log_set_level(AV_LOG_ERROR);
}

static int probe_calls;

static int fake_probe_ok(hc_err *err) {
    (void)err;
    probe_calls++;
    return 0;
}

static int fake_probe_fail(hc_err *err) {
    probe_calls++;
    return hc_err_set(err, HC_EUNSUPPORTED, "fake: no GPU");
}

static char *tmp_path(const char *name) {
    static char buf[8][512];
    static int i;
    char *p = buf[i++ % 8];
    snprintf(p, 512, "%s/%s", hc_test_tmpdir(), name);
    return p;
}

/* A moving gradient with optional deterministic noise, composed straight
 * into the encoder's frame through an hc_yuv view. */
static void compose(AVFrame *frame, int i, int noise) {
    hc_yuv v;
    hc_yuv_from_frame(&v, frame);
    uint64_t seed = (uint64_t)i * 7919u + 1;
    for (int y = 0; y < v.h; y++)
        for (int x = 0; x < v.w; x++) {
            int val = 16 + (x + 2 * y + 4 * i) % 220;
            if (noise) val += (int)(hc_rand_next(&seed) % (uint64_t)noise) - noise / 2;
            v.plane[0][y * v.stride[0] + x] = (uint8_t)(val < 16 ? 16 : val > 235 ? 235 : val);
        }
    for (int y = 0; y < v.h / 2; y++)
        for (int x = 0; x < v.w / 2; x++) {
            v.plane[1][y * v.stride[1] + x] = (uint8_t)(96 + (x + i) % 64);
            v.plane[2][y * v.stride[2] + x] = (uint8_t)(96 + (y + 2 * i) % 64);
        }
}

/* Encode n frames of w x h at fps, reusing two frames alternately. */
static int encode_clip(const char *codec, const char *path, int w, int h, int fps, int n,
                       hc_enc_quality q, int noise, hc_err *err) {
    hc_encoder_opts o = {
        .width = w, .height = h, .fps = fps, .quality = q, .codec = codec, .path = path};
    hc_encoder *enc;
    int rc = hc_encoder_open(&o, &enc, err);
    if (rc < 0) return rc;
    AVFrame *fr[2] = {hc_encoder_frame_alloc(enc), hc_encoder_frame_alloc(enc)};
    if (!fr[0] || !fr[1]) rc = HC_ENOMEM;
    for (int i = 0; rc == 0 && i < n; i++) {
        AVFrame *f = fr[i % 2];
        if (!av_frame_is_writable(f))
            rc = hc_err_set(err, HC_EINTERNAL, "frame %d not writable", i);
        if (rc == 0) compose(f, i, noise);
        if (rc == 0) rc = hc_encoder_write(enc, f, i, err);
        /* The contract: reusable as soon as write returns. */
        if (rc == 0 && !av_frame_is_writable(f))
            rc = hc_err_set(err, HC_EINTERNAL, "frame %d still referenced by the encoder", i);
    }
    if (rc == 0) rc = hc_encoder_finish(enc, err);
    av_frame_free(&fr[0]);
    av_frame_free(&fr[1]);
    hc_encoder_free(enc);
    return rc;
}

static json_t *ffprobe_json(const char *path) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ffprobe -v error -show_streams -show_format -of json '%s'", path);
    char *out = NULL;
    int st = hc_test_run(cmd, &out);
    json_t *j = st == 0 && out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return j;
}

static const char *jstr(json_t *obj, const char *key) {
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

/* Offsets of the top-level "moov" and "mdat" boxes (-1 if absent). */
static void top_level_boxes(const unsigned char *d, size_t n, long *moov, long *mdat) {
    *moov = *mdat = -1;
    size_t off = 0;
    while (off + 8 <= n) {
        uint64_t size = (uint64_t)d[off] << 24 | (uint64_t)d[off + 1] << 16 |
                        (uint64_t)d[off + 2] << 8 | d[off + 3];
        if (size == 1 && off + 16 <= n) {
            size = 0;
            for (int k = 0; k < 8; k++)
                size = size << 8 | d[off + 8 + k];
        } else if (size == 0) {
            size = n - off;
        }
        if (!memcmp(d + off + 4, "moov", 4)) *moov = (long)off;
        if (!memcmp(d + off + 4, "mdat", 4)) *mdat = (long)off;
        if (size < 8) break;
        off += size;
    }
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* ---- encoder choice ------------------------------------------------------ */

HC_TEST(encoder_choose_every_combination) {
    const hc_enc_hw hws[] = {HC_ENC_HW_AUTO, HC_ENC_HW_GPU, HC_ENC_HW_CPU};
    const char *hw_names[] = {"auto", "gpu", "cpu"};
    const char *envs[] = {NULL, "", "auto", "1", "0", "garbage"};
    const hc_nvenc_probe_fn probes[] = {fake_probe_ok, fake_probe_fail};
    for (int h = 0; h < 3; h++)
        for (int e = 0; e < 6; e++)
            for (int p = 0; p < 2; p++) {
                const char *env = envs[e];
                bool cpu = hws[h] == HC_ENC_HW_CPU;
                bool off = env && !strcmp(env, "0");
                bool on = env && !strcmp(env, "1");
                bool ok = p == 0;
                hc_encoder_choice c;
                memset(&c, 0x55, sizeof c);
                probe_calls = 0;
                hc_encoder_choose(hws[h], env, probes[p], &c);
                char ctx[512];
                snprintf(ctx, sizeof ctx, "hardware=%s USE_NVENC=%s probe=%s -> %s / %s",
                         hw_names[h], env ? env : "NULL", ok ? "ok" : "fail", c.codec, c.reason);
                CHECKF(memchr(c.codec, 0, sizeof c.codec) && memchr(c.reason, 0, sizeof c.reason),
                       "unterminated: %s", hw_names[h]);
                if (cpu || off) {
                    CHECKF(probe_calls == 0, "probe called: %s", ctx);
                    CHECKF(!strcmp(c.codec, "libx264"), "%s", ctx);
                    CHECKF(strstr(c.reason,
                                  cpu ? "settings.hardware=cpu" : "USE_NVENC=0 forbids NVENC"),
                           "%s", ctx);
                    continue;
                }
                CHECKF(probe_calls == 1, "probe calls %d: %s", probe_calls, ctx);
                if (ok) {
                    CHECKF(!strcmp(c.codec, "h264_nvenc"), "%s", ctx);
                    CHECKF(strstr(c.reason, "NVENC probe succeeded"), "%s", ctx);
                } else {
                    CHECKF(!strcmp(c.codec, "libx264"), "%s", ctx);
                    CHECKF(strstr(c.reason, "NVENC unavailable (fake: no GPU)"), "%s", ctx);
                    const char *want = hws[h] == HC_ENC_HW_GPU ? "settings.hardware=gpu fell back"
                                       : on                    ? "USE_NVENC=1 fell back"
                                                               : "using libx264";
                    CHECKF(strstr(c.reason, want), "want \"%s\": %s", want, ctx);
                }
                if (env && !strcmp(env, "garbage"))
                    CHECKF(strstr(c.reason, "treated as auto"), "%s", ctx);
            }
}

HC_TEST(encoder_choose_exact_reasons) {
    hc_encoder_choice c;
    hc_encoder_choose(HC_ENC_HW_CPU, "1", fake_probe_ok, &c);
    CHECK(!strcmp(c.codec, "libx264"));
    CHECK(!strcmp(c.reason, "settings.hardware=cpu (USE_NVENC=1 ignored)"));
    hc_encoder_choose(HC_ENC_HW_AUTO, "0", fake_probe_ok, &c);
    CHECK(!strcmp(c.reason, "USE_NVENC=0 forbids NVENC"));
    hc_encoder_choose(HC_ENC_HW_GPU, NULL, fake_probe_fail, &c);
    CHECKF(!strcmp(c.reason,
                   "NVENC unavailable (fake: no GPU); settings.hardware=gpu fell back to libx264"),
           "%s", c.reason);
    hc_encoder_choose(HC_ENC_HW_AUTO, "auto", fake_probe_ok, &c);
    CHECK(!strcmp(c.codec, "h264_nvenc"));
    CHECK(!strcmp(c.reason, "NVENC probe succeeded (settings.hardware=auto)"));
}

HC_TEST(encoder_nvenc_probe_real) {
    quiet_libav();
    hc_err e = {0};
    int rc = hc_nvenc_probe(&e);
    if (rc == 0) SKIP("NVENC works on this machine");
    CHECK(rc < 0 && e.code == rc);
    CHECKF(strlen(e.msg) > 0 && strstr(e.msg, "h264_nvenc"), "%s", e.msg);
    /* Cached: the same answer again. */
    hc_err e2 = {0};
    CHECK(hc_nvenc_probe(&e2) == rc);
    CHECK(!strcmp(e.msg, e2.msg));
    /* And the real probe drives the fallback. */
    hc_encoder_choice c;
    hc_encoder_choose(HC_ENC_HW_GPU, NULL, NULL, &c);
    CHECK(!strcmp(c.codec, "libx264"));
    CHECKF(strstr(c.reason, e.msg) && strstr(c.reason, "fell back to libx264"), "%s", c.reason);
}

/* ---- MP4 output ---------------------------------------------------------- */

HC_TEST(encoder_mp4_matches_contract) {
    quiet_libav();
    const char *path = tmp_path("out.mp4");
    hc_err e = {0};
    int rc = encode_clip("libx264", path, 320, 240, 30, 60, HC_ENC_Q_STANDARD, 0, &e);
    CHECKF(rc == 0, "%d %s", rc, e.msg);

    json_t *j = ffprobe_json(path);
    CHECK(j);
    json_t *streams = json_object_get(j, "streams");
    CHECK(json_array_size(streams) == 1);
    json_t *s = json_array_get(streams, 0);
    CHECKF(!strcmp(jstr(s, "codec_name"), "h264"), "%s", jstr(s, "codec_name"));
    CHECKF(!strcmp(jstr(s, "profile"), "High"), "%s", jstr(s, "profile"));
    CHECKF(!strcmp(jstr(s, "pix_fmt"), "yuv420p"), "%s", jstr(s, "pix_fmt"));
    CHECKF(!strcmp(jstr(s, "color_range"), "tv"), "%s", jstr(s, "color_range"));
    CHECKF(!strcmp(jstr(s, "color_primaries"), "bt709"), "%s", jstr(s, "color_primaries"));
    CHECKF(!strcmp(jstr(s, "color_transfer"), "bt709"), "%s", jstr(s, "color_transfer"));
    CHECKF(!strcmp(jstr(s, "color_space"), "bt709"), "%s", jstr(s, "color_space"));
    CHECK(json_integer_value(json_object_get(s, "width")) == 320);
    CHECK(json_integer_value(json_object_get(s, "height")) == 240);
    CHECKF(!strcmp(jstr(s, "r_frame_rate"), "30/1"), "%s", jstr(s, "r_frame_rate"));
    CHECKF(!strcmp(jstr(s, "nb_frames"), "60"), "%s", jstr(s, "nb_frames"));
    json_t *fmt = json_object_get(j, "format");
    double dur = atof(jstr(fmt, "duration"));
    CHECKF(fabs(dur - 2.0) <= 1.0 / 30 + 1e-6, "duration %s", jstr(fmt, "duration"));
    json_decref(j);

    size_t n;
    unsigned char *d = (unsigned char *)hc_test_read_file(path, &n);
    CHECK(d);
    long moov, mdat;
    top_level_boxes(d, n, &moov, &mdat);
    free(d);
    CHECKF(moov >= 0 && mdat >= 0 && moov < mdat, "moov at %ld, mdat at %ld", moov, mdat);
}

HC_TEST(encoder_quality_levels_differ) {
    quiet_libav();
    const char *draft = tmp_path("draft.mp4"), *high = tmp_path("high.mp4");
    hc_err e = {0};
    CHECKF(encode_clip("libx264", draft, 192, 128, 30, 15, HC_ENC_Q_DRAFT, 24, &e) == 0, "%s",
           e.msg);
    CHECKF(encode_clip("libx264", high, 192, 128, 30, 15, HC_ENC_Q_HIGH, 24, &e) == 0, "%s", e.msg);
    long sd = file_size(draft), sh = file_size(high);
    CHECKF(sd > 0 && sh > 0 && sd < sh, "draft %ld bytes, high %ld bytes", sd, sh);
}

HC_TEST(encoder_null_sink_writes_nothing) {
    const char *path = tmp_path("null.mp4");
    hc_err e = {0};
    CHECKF(encode_clip("null", path, 320, 240, 30, 10, HC_ENC_Q_STANDARD, 0, &e) == 0, "%s", e.msg);
    CHECK(access(path, F_OK) != 0);
    /* A path is optional for the sink. */
    hc_encoder_opts o = {.width = 64, .height = 64, .fps = 25, .codec = "null"};
    hc_encoder *enc;
    CHECK(hc_encoder_open(&o, &enc, &e) == 0);
    CHECK(hc_encoder_finish(enc, &e) == 0);
    hc_encoder_free(enc);
}

HC_TEST(encoder_bad_path_is_eio) {
    quiet_libav();
    hc_encoder_opts o = {
        .width = 64, .height = 64, .fps = 25, .codec = "libx264", .path = "/no/such/dir/x.mp4"};
    hc_encoder *enc = (hc_encoder *)1;
    hc_err e = {0};
    int rc = hc_encoder_open(&o, &enc, &e);
    CHECKF(rc == HC_EIO && e.code == HC_EIO, "rc %d: %s", rc, e.msg);
    CHECK(enc == NULL);
    CHECKF(strstr(e.msg, "/no/such/dir/x.mp4") && strstr(e.msg, "No such file or directory"), "%s",
           e.msg);
}

HC_TEST(encoder_bad_options_are_einval) {
    hc_encoder *enc;
    hc_err e = {0};
    hc_encoder_opts o = {.width = 63, .height = 64, .fps = 25, .codec = "libx264", .path = "x"};
    CHECK(hc_encoder_open(&o, &enc, &e) == HC_EINVAL && enc == NULL);
    hc_err_clear(&e);
    o.width = 64;
    o.codec = "vp9";
    CHECK(hc_encoder_open(&o, &enc, &e) == HC_EINVAL);
    CHECKF(strstr(e.msg, "vp9"), "%s", e.msg);
    hc_err_clear(&e);
    o.codec = "libx264";
    o.fps = 0;
    CHECK(hc_encoder_open(&o, &enc, &e) == HC_EINVAL);
    hc_encoder_free(NULL);
}

HC_TEST(encoder_free_without_finish_leaves_partial_file) {
    quiet_libav();
    const char *path = tmp_path("partial.mp4");
    hc_encoder_opts o = {.width = 64, .height = 64, .fps = 25, .codec = "libx264", .path = path};
    hc_encoder *enc;
    hc_err e = {0};
    CHECKF(hc_encoder_open(&o, &enc, &e) == 0, "%s", e.msg);
    AVFrame *f = hc_encoder_frame_alloc(enc);
    CHECK(f);
    for (int i = 0; i < 5; i++) {
        compose(f, i, 0);
        CHECK(hc_encoder_write(enc, f, i, &e) == 0);
    }
    /* A frame of the wrong size is refused, not encoded. */
    AVFrame *bad = av_frame_alloc();
    bad->width = 32;
    bad->height = 64;
    bad->format = AV_PIX_FMT_YUV420P;
    CHECK(av_frame_get_buffer(bad, 64) == 0);
    CHECK(hc_encoder_write(enc, bad, 5, &e) < 0 && e.msg[0]);
    av_frame_free(&bad);
    av_frame_free(&f);
    hc_encoder_free(enc);
    CHECK(file_size(path) > 0);
}

HC_TEST(encoder_frame_alloc_and_yuv_view) {
    hc_encoder_opts o = {.width = 100, .height = 50, .fps = 25, .codec = "null"};
    hc_encoder *enc;
    hc_err e = {0};
    CHECK(hc_encoder_open(&o, &enc, &e) == 0);
    AVFrame *f = hc_encoder_frame_alloc(enc);
    CHECK(f && f->width == 100 && f->height == 50 && f->format == AV_PIX_FMT_YUV420P);
    hc_yuv v;
    hc_yuv_from_frame(&v, f);
    CHECK(v.w == 100 && v.h == 50 && !v.own);
    for (int p = 0; p < 3; p++) {
        CHECK(v.plane[p] == f->data[p] && v.stride[p] == f->linesize[p]);
        CHECK(((uintptr_t)v.plane[p] & 63) == 0 && v.stride[p] % 64 == 0);
    }
    CHECK(v.stride[0] >= 100 && v.stride[1] >= 50);
    av_frame_free(&f);
    hc_encoder_free(enc);
}

/* ---- poster -------------------------------------------------------------- */

HC_TEST(encoder_poster_is_valid_jpeg) {
    quiet_libav();
    hc_yuv img;
    CHECK(hc_yuv_alloc(&img, 320, 180) == 0);
    for (int y = 0; y < img.h; y++)
        for (int x = 0; x < img.w; x++)
            img.plane[0][y * img.stride[0] + x] = (uint8_t)(16 + x % 220);
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < img.h / 2; y++)
            memset(img.plane[p] + y * img.stride[p], 100 + 40 * p, 160);
    const char *path = tmp_path("poster.jpg");
    hc_err e = {0};
    int rc = hc_poster_write(&img, path, &e);
    hc_yuv_fini(&img);
    CHECKF(rc == 0, "%s", e.msg);

    size_t n;
    unsigned char *d = (unsigned char *)hc_test_read_file(path, &n);
    CHECK(d && n > 100);
    CHECK(d[0] == 0xFF && d[1] == 0xD8 && d[n - 2] == 0xFF && d[n - 1] == 0xD9);
    free(d);
    json_t *j = ffprobe_json(path);
    CHECK(j);
    json_t *s = json_array_get(json_object_get(j, "streams"), 0);
    CHECK(json_integer_value(json_object_get(s, "width")) == 320);
    CHECK(json_integer_value(json_object_get(s, "height")) == 180);
    CHECKF(!strcmp(jstr(s, "codec_name"), "mjpeg"), "%s", jstr(s, "codec_name"));
    json_decref(j);
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "identify -format '%%m %%w %%h' '%s' 2>&1", path);
    int st = hc_test_run(cmd, &out);
    CHECKF(st == 0 && out && !strcmp(out, "JPEG 320 180"), "identify: %d %s", st, out);
    free(out);
    /* No temporary file left behind. */
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c tmp", hc_test_tmpdir());
    hc_test_run(cmd, &out);
    CHECKF(out && atoi(out) == 0, "temporary files: %s", out);
    free(out);
}

HC_TEST(encoder_poster_mid_grey_is_full_range) {
    quiet_libav();
    hc_yuv img;
    CHECK(hc_yuv_alloc(&img, 64, 48) == 0);
    hc_yuv_fill(&img, 126, 128, 128);
    const char *path = tmp_path("grey.jpg"), *raw = tmp_path("grey.gray");
    hc_err e = {0};
    int rc = hc_poster_write(&img, path, &e);
    hc_yuv_fini(&img);
    CHECKF(rc == 0, "%s", e.msg);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -i '%s' -f rawvideo -pix_fmt gray '%s'", path,
             raw);
    CHECK(hc_test_run(cmd, NULL) == 0);
    size_t n;
    unsigned char *d = (unsigned char *)hc_test_read_file(raw, &n);
    CHECK(d);
    CHECKF(n == 64 * 48, "%zu bytes", n);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += d[i];
    free(d);
    /* Limited Y 126 is (126 - 16) * 255 / 219 = 128.08 in full range. */
    double want = (126 - 16) * 255.0 / 219.0, mean = sum / (double)n;
    CHECKF(fabs(mean - want) <= 2.0, "mean %.2f, want %.2f", mean, want);
}

HC_TEST(encoder_poster_errors) {
    hc_yuv img;
    CHECK(hc_yuv_alloc(&img, 32, 32) == 0);
    hc_yuv_fill(&img, 16, 128, 128);
    hc_err e = {0};
    int rc = hc_poster_write(&img, "/no/such/dir/p.jpg", &e);
    hc_yuv_fini(&img);
    CHECKF(rc == HC_EIO && strstr(e.msg, "/no/such/dir/p.jpg"), "%d %s", rc, e.msg);
    hc_yuv empty = {0};
    hc_err_clear(&e);
    CHECK(hc_poster_write(&empty, tmp_path("x.jpg"), &e) == HC_EINVAL);
}
