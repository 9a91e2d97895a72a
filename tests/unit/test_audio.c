/* Unit tests of src/media/audio.c and the AAC track of src/media/encoder.c:
 * decoding every common format (made at test time with the ffmpeg CLI) to
 * 48 kHz stereo of the right length, start_time skipping exactly, the
 * failures users meet (no audio stream, corrupt file, start past the end),
 * and the soundtrack: exact length, -14 LUFS from quiet and loud input,
 * fades, the 0.7 intro gain, a click-free loop seam; then an MP4 with an
 * AAC stream checked with ffprobe. */
#include "hc_test.h"
#include "media/hc_media.h"

#include <jansson.h>
#include <libavutil/log.h>
#include <math.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

static void init(void) {
    hc_err err = {0};
    if (hc_media_init(&err)) {
        fprintf(stderr, "    hc_media_init: %s\n", err.msg);
        exit(1);
    }
    hc_log_set_level(HC_LOG_ERROR);
    av_log_set_level(AV_LOG_QUIET);
}

static char *tmp_path(const char *name) {
    static char buf[8][512];
    static int i;
    char *p = buf[i++ % 8];
    snprintf(p, 512, "%s/%s", hc_test_tmpdir(), name);
    return p;
}

/* Run ffmpeg with args (inputs and options) writing name in the tmpdir;
 * returns the path or NULL. */
static const char *make_media(const char *name, const char *args) {
    const char *path = tmp_path(name);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -y %s '%s' 2>&1", args, path);
    char *out = NULL;
    int st = hc_test_run(cmd, &out);
    if (st != 0) fprintf(stderr, "    %s\n    -> %d: %s\n", cmd, st, out ? out : "");
    free(out);
    return st == 0 ? path : NULL;
}

/* RMS over frames [a, b) of both channels. */
static double rms(const hc_audio *a, int64_t from, int64_t to) {
    double s = 0;
    if (to > a->frames) to = a->frames;
    if (from >= to) return 0;
    for (int64_t i = 2 * from; i < 2 * to; i++)
        s += (double)a->samples[i] * a->samples[i];
    return sqrt(s / (double)(2 * (to - from)));
}

static double max_abs(const hc_audio *a, int64_t from, int64_t to) {
    double m = 0;
    for (int64_t i = 2 * from; i < 2 * to && i < 2 * a->frames; i++)
        m = fmax(m, fabs(a->samples[i]));
    return m;
}

/* Largest sample-to-sample step in frames [from, to), either channel. */
static double max_step(const hc_audio *a, int64_t from, int64_t to) {
    double m = 0;
    if (from < 1) from = 1;
    for (int64_t i = from; i < to && i < a->frames; i++)
        for (int c = 0; c < 2; c++)
            m = fmax(m, fabs(a->samples[2 * i + c] - a->samples[2 * (i - 1) + c]));
    return m;
}

static int64_t s2f(double s) {
    return llround(s * HC_AUDIO_RATE);
}

/* A steady stereo tone of amplitude amp and len seconds, in memory. */
static void tone(hc_audio *a, double amp, double len, double hz) {
    a->frames = s2f(len);
    a->samples = malloc((size_t)a->frames * 2 * sizeof(float));
    for (int64_t i = 0; i < a->frames; i++)
        a->samples[2 * i] = a->samples[2 * i + 1] =
            (float)(amp * sin(2 * M_PI * hz * (double)i / HC_AUDIO_RATE));
    a->source_duration_s = len;
}

#define SINE5 "-f lavfi -i sine=frequency=440:duration=5:sample_rate=44100 -ac 2"

/* Decode path whole and check 48 kHz stereo of about expect_s seconds
 * (within one 1024-sample audio frame, plus codec padding for lossy). */
static void check_decodes(const char *path, double expect_s, int64_t tol) {
    CHECK(path);
    hc_audio a;
    hc_err err = {0};
    int rc = hc_audio_decode(path, "audio.url", 0, 0, &a, &err);
    CHECKF(rc == 0, "%s: rc %d: %s", path, rc, err.msg);
    CHECKF(llabs(a.frames - s2f(expect_s)) <= tol, "%s: %lld frames, want %lld +- %lld", path,
           (long long)a.frames, (long long)s2f(expect_s), (long long)tol);
    double r = rms(&a, s2f(1), s2f(2));
    /* lavfi sine is 1/8 amplitude; -ac 2 upmixes at -3 dB: rms 0.0625. */
    CHECKF(r > 0.055 && r < 0.07, "%s: rms %g", path, r);
    hc_audio_fini(&a);
    CHECK(a.samples == NULL);
}

/* ---- decode ------------------------------------------------------------- */

HC_TEST(audio_decode_lossless) {
    init();
    check_decodes(make_media("s.wav", SINE5), 5.0, 0);
    if (hc_test_failed()) return;
    check_decodes(make_media("s.flac", SINE5), 5.0, 0);
}

HC_TEST(audio_decode_lossy) {
    init();
    check_decodes(make_media("s.mp3", SINE5), 5.0, 1024);
    if (hc_test_failed()) return;
    check_decodes(make_media("s.m4a", SINE5 " -c:a aac"), 5.0, 1024);
    if (hc_test_failed()) return;
    check_decodes(make_media("s.ogg", SINE5 " -c:a libvorbis"), 5.0, 1024);
    if (hc_test_failed()) return;
    check_decodes(make_media("s.opus", SINE5 " -c:a libopus"), 5.0, 1024);
}

HC_TEST(audio_decode_video_track) {
    init();
    check_decodes(make_media("v.mp4", "-f lavfi -i testsrc2=size=160x120:rate=10:duration=5 " SINE5
                                      " -c:v libx264 -preset ultrafast -c:a aac -shortest"),
                  5.0, 2048);
}

HC_TEST(audio_decode_start_and_length) {
    init();
    /* 1 s of silence, then 1 s of tone. */
    const char *p = make_media(
        "gap.flac", "-f lavfi -i \"aevalsrc=if(gte(t\\,1)\\,0.5*sin(2*PI*440*t)\\,0):d=2:s=44100\" "
                    "-ac 2");
    CHECK(p);
    hc_audio a;
    hc_err err = {0};
    CHECKF(hc_audio_decode(p, "audio.url", 1.0, 0, &a, &err) == 0, "%s", err.msg);
    CHECKF(llabs(a.frames - s2f(1.0)) <= 2, "%lld frames", (long long)a.frames);
    /* Loud from the first millisecond: nothing of the silence is left. */
    CHECKF(max_abs(&a, 0, 48) > 0.1, "start peak %g", max_abs(&a, 0, 48));
    CHECKF(rms(&a, 0, 480) > 0.2, "start rms %g", rms(&a, 0, 480));
    hc_audio_fini(&a);

    /* Start 0.5 s, at most 0.75 s: 0.5 s silence then 0.25 s tone. */
    CHECKF(hc_audio_decode(p, "audio.url", 0.5, 0.75, &a, &err) == 0, "%s", err.msg);
    CHECKF(a.frames == s2f(0.75), "%lld frames", (long long)a.frames);
    CHECK(max_abs(&a, 0, s2f(0.49)) < 0.01);
    CHECK(rms(&a, s2f(0.51), s2f(0.75)) > 0.2); /* 0.5 at -3 dB: 0.25 */
    hc_audio_fini(&a);
}

HC_TEST(audio_decode_errors) {
    init();
    hc_log_set_level(HC_LOG_OFF); /* libav complains about the junk */
    hc_audio a;
    hc_err err = {0};
    /* A video without audio. */
    const char *v = make_media("silent.mp4", "-f lavfi -i testsrc2=size=160x120:rate=10:duration=1 "
                                             "-c:v libx264 -preset ultrafast");
    CHECK(v);
    CHECK(hc_audio_decode(v, "audio.url", 0, 0, &a, &err) == HC_EMEDIA);
    CHECKF(strstr(err.msg, "audio.url: no audio stream in silent.mp4"), "%s", err.msg);
    CHECK(a.samples == NULL);

    /* Random bytes named .mp3. */
    const char *bad = tmp_path("junk.mp3");
    unsigned char junk[64 * 1024];
    uint64_t seed = 42;
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)hc_rand_next(&seed);
    CHECK(hc_test_write_file(bad, junk, sizeof junk) == 0);
    hc_err_clear(&err);
    CHECK(hc_audio_decode(bad, "audio.url", 0, 0, &a, &err) == HC_EMEDIA);
    CHECKF(strncmp(err.msg, "audio.url: ", 11) == 0, "%s", err.msg);

    /* Missing file. */
    hc_err_clear(&err);
    CHECK(hc_audio_decode(tmp_path("nope.mp3"), "audio.url", 0, 0, &a, &err) == HC_EMEDIA);
    CHECKF(strncmp(err.msg, "audio.url: ", 11) == 0, "%s", err.msg);

    /* Start past the end. */
    const char *p = make_media("short.wav", "-f lavfi -i sine=duration=1 -ac 2");
    CHECK(p);
    hc_err_clear(&err);
    CHECK(hc_audio_decode(p, "audio.url", 5.0, 0, &a, &err) == HC_EMEDIA);
    CHECKF(strstr(err.msg, "audio.url") && strstr(err.msg, "past the end"), "%s", err.msg);
}

/* ---- soundtrack --------------------------------------------------------- */

HC_TEST(audio_soundtrack_length_and_loudness) {
    init();
    double amps[] = {pow(10, -30 / 20.0), pow(10, -6 / 20.0)}; /* -30 and -6 dBFS */
    for (int k = 0; k < 2; k++) {
        hc_audio m = {0}, s;
        hc_err err = {0};
        tone(&m, amps[k], 10, 440);
        double durs[] = {7.3, 12.345};
        for (int d = 0; d < 2; d++) {
            CHECKF(hc_audio_soundtrack(&m, durs[d], &s, &err) == 0, "%s", err.msg);
            CHECK(s.frames == llround(durs[d] * 48000));
            double l = hc_audio_loudness(&s);
            CHECKF(fabs(l + 14) <= 1, "amp %g dur %g: %.2f LUFS", amps[k], durs[d], l);
            CHECK(max_abs(&s, 0, s.frames) <= 0.8913);
            hc_audio_fini(&s);
        }
        hc_audio_fini(&m);
    }
}

HC_TEST(audio_soundtrack_limits_peaks) {
    init();
    /* Spiky music: -14 LUFS needs peaks far above full scale. */
    hc_audio m = {0}, s;
    hc_err err = {0};
    tone(&m, 0.02, 6, 440);
    for (int64_t i = 0; i < m.frames; i += 4800)
        m.samples[2 * i] = m.samples[2 * i + 1] = 0.9f;
    CHECKF(hc_audio_soundtrack(&m, 6, &s, &err) == 0, "%s", err.msg);
    double peak = max_abs(&s, 0, s.frames);
    CHECKF(peak <= 0.8913 && peak > 0.7, "peak %g", peak);
    for (int64_t i = 0; i < 2 * s.frames; i++)
        CHECK(isfinite(s.samples[i]));
    hc_audio_fini(&s);
    hc_audio_fini(&m);
}

HC_TEST(audio_soundtrack_envelope) {
    init();
    hc_audio m = {0}, s;
    hc_err err = {0};
    tone(&m, 0.3, 8, 440);
    CHECKF(hc_audio_soundtrack(&m, 6, &s, &err) == 0, "%s", err.msg);
    double body = rms(&s, s2f(3), s2f(4));
    CHECK(body > 0.05);
    /* Fades: the first and last 10 ms near silent. */
    CHECKF(max_abs(&s, 0, s2f(0.01)) < 0.02 * body * M_SQRT2 * 10, "in %g", max_abs(&s, 0, 480));
    CHECKF(rms(&s, 0, s2f(0.01)) < 0.02 * body, "fade in rms %g", rms(&s, 0, s2f(0.01)));
    CHECKF(rms(&s, s.frames - s2f(0.01), s.frames) < 0.02 * body, "fade out rms %g",
           rms(&s, s.frames - s2f(0.01), s.frames));
    /* Mid-fade levels. */
    CHECK(rms(&s, s2f(0.3), s2f(0.4)) < 0.5 * 0.7 * body);
    /* The intro at 0.7. */
    double ratio = rms(&s, s2f(1.2), s2f(1.8)) / body;
    CHECKF(fabs(ratio - 0.7) <= 0.07, "intro ratio %.3f", ratio);
    hc_audio_fini(&s);

    /* Silence stays silent, no NaN. */
    memset(m.samples, 0, (size_t)m.frames * 2 * sizeof(float));
    CHECK(isinf(hc_audio_loudness(&m)) && hc_audio_loudness(&m) < 0);
    CHECKF(hc_audio_soundtrack(&m, 3, &s, &err) == 0, "%s", err.msg);
    for (int64_t i = 0; i < 2 * s.frames; i++)
        CHECK(s.samples[i] == 0.0f);
    hc_audio_fini(&s);
    hc_audio_fini(&m);

    CHECK(hc_audio_soundtrack(&m, 3, &s, &err) == HC_EINVAL); /* no music */
}

HC_TEST(audio_soundtrack_loop_seam) {
    init();
    hc_audio m = {0}, s;
    hc_err err = {0};
    tone(&m, 0.3, 1.0, 440.0 * 1.013); /* the period does not divide 1 s: a hard loop would click */
    CHECKF(hc_audio_soundtrack(&m, 3.5, &s, &err) == 0, "%s", err.msg);
    CHECK(s.frames == s2f(3.5));
    /* Seams at multiples of (1 s - 20 ms); compare the steps around each
     * with those inside the tone just before. */
    for (int k = 1; k <= 3; k++) {
        int64_t seam = k * (s2f(1.0) - s2f(0.02));
        double inside = max_step(&s, seam - s2f(0.2), seam - s2f(0.05));
        double around = max_step(&s, seam - s2f(0.005), seam + s2f(0.025));
        CHECKF(inside > 0 && around <= 2 * inside, "seam %d: step %g vs %g inside", k, around,
               inside);
        /* Still sounding through the seam (no dropout). */
        CHECK(rms(&s, seam, seam + s2f(0.02)) > 0.3 * rms(&s, seam - s2f(0.1), seam - s2f(0.05)));
    }
    hc_audio_fini(&s);
    hc_audio_fini(&m);
}

/* ---- encoder: AAC track ------------------------------------------------ */

static json_t *ffprobe_json(const char *path) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ffprobe -v error -show_streams -show_format -of json '%s'", path);
    char *out = NULL;
    int st = hc_test_run(cmd, &out);
    json_t *j = st == 0 && out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return j;
}

static double jnum(json_t *obj, const char *key) {
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? atof(s) : -1;
}

HC_TEST(audio_encoder_aac_track) {
    init();
    const char *path = tmp_path("av.mp4");
    hc_encoder_opts o = {.width = 320,
                         .height = 240,
                         .fps = 30,
                         .quality = HC_ENC_Q_DRAFT,
                         .codec = "libx264",
                         .path = path,
                         .audio = true};
    hc_encoder *enc;
    hc_err err = {0};
    CHECKF(hc_encoder_open(&o, &enc, &err) == 0, "%s", err.msg);
    AVFrame *f = hc_encoder_frame_alloc(enc);
    CHECK(f);
    hc_audio m = {0};
    tone(&m, 0.2, 2.0, 440);
    int rc = 0;
    /* Interleave as the renderer does: audio for each frame, in odd chunks. */
    int64_t written = 0;
    for (int i = 0; rc == 0 && i < 60; i++) {
        hc_yuv v;
        hc_yuv_from_frame(&v, f);
        hc_yuv_fill(&v, (uint8_t)(16 + i * 3), 128, 128);
        rc = hc_encoder_write(enc, f, i, &err);
        int64_t upto = (int64_t)(i + 1) * 48000 / 30;
        if (rc == 0)
            rc = hc_encoder_write_audio(enc, m.samples + 2 * written, upto - written, &err);
        written = upto;
    }
    if (rc == 0) rc = hc_encoder_finish(enc, &err);
    av_frame_free(&f);
    hc_encoder_free(enc);
    hc_audio_fini(&m);
    CHECKF(rc == 0, "%s", err.msg);
    CHECK(written == 96000);

    json_t *j = ffprobe_json(path);
    CHECK(j);
    json_t *streams = json_object_get(j, "streams"), *a = NULL, *vs = NULL;
    for (size_t i = 0; i < json_array_size(streams); i++) {
        json_t *s = json_array_get(streams, i);
        const char *type = json_string_value(json_object_get(s, "codec_type"));
        if (type && !strcmp(type, "audio")) a = s;
        if (type && !strcmp(type, "video")) vs = s;
    }
    CHECK(a && vs);
    CHECK(!strcmp(json_string_value(json_object_get(a, "codec_name")), "aac"));
    CHECK(jnum(a, "sample_rate") == 48000);
    CHECK(json_integer_value(json_object_get(a, "channels")) == 2);
    double br = jnum(a, "bit_rate");
    CHECKF(br > 150000 && br < 230000, "bit_rate %g", br);
    double ad = jnum(a, "duration"), vd = jnum(vs, "duration");
    CHECKF(fabs(vd - 2.0) < 1e-6 && fabs(ad - vd) <= 1024.0 / 48000, "audio %g s, video %g s", ad,
           vd);
    json_decref(j);
}

HC_TEST(audio_encoder_null_ignores_audio) {
    init();
    hc_encoder_opts o = {
        .width = 64, .height = 64, .fps = 25, .codec = "null", .path = NULL, .audio = true};
    hc_encoder *enc;
    hc_err err = {0};
    CHECKF(hc_encoder_open(&o, &enc, &err) == 0, "%s", err.msg);
    float buf[2 * 100] = {0};
    CHECK(hc_encoder_write_audio(enc, buf, 100, &err) == 0);
    CHECK(hc_encoder_finish(enc, &err) == 0);
    hc_encoder_free(enc);
}
