/* Unit tests of src/media/beats.c (and the `analyze` command): synthetic
 * kick-drum tracks at known tempi and phases must give the tempo within 2 %
 * and a beat grid within one video frame (1/30 s) of every true beat;
 * silence gives no tempo and no error; the energy curve has one value per
 * 0.5 s and follows loudness. */
#include "hc_test.h"
#include "media/hc_media.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

/* A stereo 48 kHz track of dur_s with a kick (60 Hz sine burst with an
 * exponential decay plus a short click) at first + k * 60 / bpm. gain(t)
 * scales each kick (NULL = 1). Caller frees with hc_audio_fini. */
static void kick_track(hc_audio *a, double bpm, double first, double dur_s,
                       double (*gain)(double t)) {
    a->frames = (int64_t)(dur_s * HC_AUDIO_RATE);
    a->samples = calloc((size_t)a->frames * 2, sizeof(float));
    a->source_duration_s = dur_s;
    const double pi = 3.14159265358979323846;
    for (double b = first; b < dur_s; b += 60.0 / bpm) {
        double g = gain ? gain(b) : 1.0;
        int64_t s0 = (int64_t)llround(b * HC_AUDIO_RATE);
        for (int64_t i = 0; i < HC_AUDIO_RATE / 4 && s0 + i < a->frames; i++) {
            double t = (double)i / HC_AUDIO_RATE;
            double v = 0.8 * sin(2 * pi * 60 * t) * exp(-t / 0.06);
            if (i < 96) v += 0.5 * (1 - i / 96.0) * ((i & 1) ? -1 : 1); /* 2 ms click */
            a->samples[2 * (s0 + i)] += (float)(g * v);
            a->samples[2 * (s0 + i) + 1] += (float)(g * v);
        }
    }
}

/* Largest distance from a grid beat (after 2 s) to the nearest true beat. */
static double worst_offset(const hc_beats *b, double bpm, double first) {
    double worst = 0, p = 60.0 / bpm;
    for (int i = 0; i < b->n; i++) {
        if (b->times[i] < 2.0) continue;
        double k = round((b->times[i] - first) / p);
        double d = fabs(b->times[i] - (first + k * p));
        if (d > worst) worst = d;
    }
    return worst;
}

static void check_tempo(double bpm, double first) {
    hc_audio a;
    kick_track(&a, bpm, first, 20.0, NULL);
    hc_beats b;
    hc_err err = {0};
    int rc = hc_beats_analyze(&a, &b, &err);
    hc_audio_fini(&a);
    CHECKF(rc == 0, "rc %d: %s", rc, err.msg);
    CHECKF(fabs(b.bpm - bpm) <= 0.02 * bpm, "bpm %.3f, want %.1f", b.bpm, bpm);
    double w = worst_offset(&b, bpm, first);
    CHECKF(w <= 1.0 / 30, "a grid beat is %.1f ms off at %.1f BPM", w * 1000, bpm);
    /* The grid covers the whole segment: one beat per period. */
    int want = (int)floor((20.0 - b.times[0]) / (60.0 / b.bpm)) + 1;
    CHECKF(b.n == want && b.times[0] < 60.0 / bpm + 1.0 / 30, "n %d want %d, first %.3f", b.n, want,
           b.n ? b.times[0] : -1);
    CHECK(b.n_energy == 40);
    hc_beats_fini(&b);
}

/* ---- tests -------------------------------------------------------------- */

HC_TEST(beats_tempo_74) {
    check_tempo(74, 0);
}
HC_TEST(beats_tempo_82_offset) {
    check_tempo(82, 0.137);
}
HC_TEST(beats_tempo_120) {
    check_tempo(120, 0);
}
HC_TEST(beats_tempo_120_offset) {
    check_tempo(120, 0.137);
}
HC_TEST(beats_tempo_144_offset) {
    check_tempo(144, 0.137);
}
HC_TEST(beats_tempo_74_offset) {
    check_tempo(74, 0.137);
}

HC_TEST(beats_silence) {
    hc_audio a = {.frames = 10 * HC_AUDIO_RATE};
    a.samples = calloc((size_t)a.frames * 2, sizeof(float));
    hc_beats b;
    hc_err err = {0};
    int rc = hc_beats_analyze(&a, &b, &err);
    hc_audio_fini(&a);
    CHECKF(rc == 0, "rc %d: %s", rc, err.msg);
    CHECK(b.bpm == 0 && b.n == 0 && b.times == NULL);
    CHECK(b.n_energy == 20 && fabs(b.duration_s - 10.0) < 1e-9);
    for (int i = 0; i < b.n_energy; i++)
        CHECK(b.energy[i] == 0);
    hc_beats_fini(&b);
}

HC_TEST(beats_empty) {
    hc_audio a = {0};
    hc_beats b;
    CHECK(hc_beats_analyze(&a, &b, NULL) == 0);
    CHECK(b.bpm == 0 && b.n == 0 && b.n_energy == 0);
    hc_beats_fini(&b);
    hc_beats_fini(NULL);
}

static double quiet_then_loud(double t) {
    return t < 6.0 ? 0.1 : 1.0;
}

/* Quiet passage then a loud one: the energy curve follows, and the grid
 * still holds every beat in the quiet part. Length is ceil(dur / 0.5). */
HC_TEST(beats_energy) {
    hc_audio a;
    kick_track(&a, 100, 0.05, 12.3, quiet_then_loud);
    hc_beats b;
    hc_err err = {0};
    int rc = hc_beats_analyze(&a, &b, &err);
    hc_audio_fini(&a);
    CHECKF(rc == 0, "rc %d: %s", rc, err.msg);
    CHECKF(b.n_energy == 25, "n_energy %d", b.n_energy); /* ceil(12.3 / 0.5) */
    double quiet = 0, loud = 0, max = 0;
    for (int i = 0; i < b.n_energy; i++) {
        CHECK(b.energy[i] >= 0 && b.energy[i] <= 1);
        if (b.energy[i] > max) max = b.energy[i];
    }
    for (int i = 2; i < 10; i++)
        quiet += b.energy[i] / 8;
    for (int i = 14; i < 22; i++)
        loud += b.energy[i] / 8;
    CHECKF(loud > 3 * quiet, "loud %.3f quiet %.3f", loud, quiet);
    CHECK(fabs(max - 1) < 1e-9);
    CHECKF(fabs(b.bpm - 100) <= 2, "bpm %.2f", b.bpm);
    CHECK(worst_offset(&b, 100, 0.05) <= 1.0 / 30);
    hc_beats_fini(&b);
}

/* ---- the analyze command ------------------------------------------------ */

static void put_le(uint8_t *p, uint32_t v, int n) {
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Write a as 16-bit PCM stereo WAV. */
static int write_wav(const char *path, const hc_audio *a) {
    size_t data = (size_t)a->frames * 4;
    uint8_t *buf = calloc(44 + data, 1);
    memcpy(buf, "RIFF", 4), put_le(buf + 4, (uint32_t)(36 + data), 4);
    memcpy(buf + 8, "WAVEfmt ", 8), put_le(buf + 16, 16, 4), put_le(buf + 20, 1, 2);
    put_le(buf + 22, 2, 2), put_le(buf + 24, HC_AUDIO_RATE, 4);
    put_le(buf + 28, HC_AUDIO_RATE * 4, 4), put_le(buf + 32, 4, 2), put_le(buf + 34, 16, 2);
    memcpy(buf + 36, "data", 4), put_le(buf + 40, (uint32_t)data, 4);
    for (int64_t i = 0; i < a->frames * 2; i++) {
        float v = a->samples[i];
        v = v > 1 ? 1 : v < -1 ? -1 : v;
        put_le(buf + 44 + 2 * i, (uint16_t)(int16_t)lrintf(v * 32767), 2);
    }
    int rc = hc_test_write_file(path, buf, 44 + data);
    free(buf);
    return rc;
}

HC_TEST(beats_analyze_cli) {
    hc_audio a;
    kick_track(&a, 120, 0.137, 20.0, NULL);
    char path[512], cmd[1200];
    snprintf(path, sizeof path, "%s/click.wav", hc_test_tmpdir());
    int wrc = write_wav(path, &a);
    hc_audio_fini(&a);
    CHECK(wrc == 0);
    snprintf(cmd, sizeof cmd, "'%s' analyze '%s' --start 1 --duration 18", hc_test_bin(), path);
    char *out = NULL;
    int rc = hc_test_run(cmd, &out);
    CHECKF(rc == 0, "exit %d: %s", rc, out ? out : "");
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    free(out);
    CHECKF(j, "bad JSON: %s", je.text);
    double bpm = json_number_value(json_object_get(j, "bpm"));
    json_t *bt = json_object_get(j, "beat_times"), *en = json_object_get(j, "energy");
    double dur = json_number_value(json_object_get(j, "duration"));
    const char *vibe = json_string_value(json_object_get(j, "suggested_vibe"));
    json_t *bw = json_object_get(j, "best_window_start");
    int ok = fabs(bpm - 120) <= 2.4 && json_is_array(bt) && json_array_size(bt) >= 30 &&
             json_is_array(en) && json_array_size(en) == 36 && fabs(dur - 18) < 0.05 && vibe &&
             strcmp(vibe, "Energetic") == 0 && json_is_number(bw);
    /* Beats are relative to --start: the first true beat after 1 s is at
     * 1.137 s of the file, 0.137 s of the segment. */
    double t0 = json_array_size(bt) ? json_number_value(json_array_get(bt, 0)) : -1;
    char *dump = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    CHECKF(ok, "unexpected result %.300s", dump);
    CHECKF(fabs(t0 - 0.137) <= 1.0 / 30, "first beat %.3f", t0);
    free(dump);

    snprintf(cmd, sizeof cmd, "'%s' analyze '%s/missing.wav' 2>&1", hc_test_bin(),
             hc_test_tmpdir());
    rc = hc_test_run(cmd, &out);
    free(out);
    CHECKF(rc == 2, "missing file: exit %d", rc);
    snprintf(cmd, sizeof cmd, "'%s' analyze 2>&1", hc_test_bin());
    rc = hc_test_run(cmd, &out);
    free(out);
    CHECKF(rc == 2, "no argument: exit %d", rc);
}
