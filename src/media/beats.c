/* Beat analysis of decoded music (DESIGN.md §8): tempo and a regular beat
 * grid for cuts, plus an RMS energy curve, measured on exactly the audio
 * given (the segment that plays, so times are relative to its start).
 *
 * aubio's tempo tracker finds beats; its running BPM and its beat list wobble
 * and go quiet in soft passages, so we refine: the period comes from the
 * median inter-beat interval, then a least-squares fit of beat time against
 * beat index gives the exact period and phase; the tempo is folded into
 * 60..180 BPM, and a grid at that period and phase covers the whole segment.
 *
 * Invariant: every aubio object lives in the call's own state (no statics),
 * so analyses run in parallel; only FFTW planning (inside new_/del_aubio_tempo,
 * not thread-safe in libfftw3f) is serialised by a mutex. */
#include "media/hc_media.h"

#include <aubio/aubio.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { WIN = 1024, HOP = 512 };
#define ENERGY_WIN_S 0.5
#define MIN_BPM      60.0
#define MAX_BPM      180.0
#define SNAP_S       0.05 /* how far a detected beat may move to its onset */
#define MIN_BEATS    4    /* fewer detected beats than this: no tempo */

static pthread_mutex_t fftw_plan_lock = PTHREAD_MUTEX_INITIALIZER;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* aubio places a beat on its hop grid and on its own (hop-quantised)
 * period, up to a few hops from the transient. Move t to the sharpest
 * energy rise (2.7 ms frames) within SNAP_S of it; -1 if there is none
 * (silence around t). */
static double snap_to_onset(const hc_audio *a, double t) {
    const int64_t fr = 128;
    int64_t c = (int64_t)llround(t * HC_AUDIO_RATE);
    int64_t lo = c - (int64_t)(SNAP_S * HC_AUDIO_RATE), hi = c + (int64_t)(SNAP_S * HC_AUDIO_RATE);
    if (lo < fr) lo = fr;
    if (hi > a->frames - fr) hi = a->frames - fr;
    /* A rise below about -80 dBFS is no onset (digital silence, dither). */
    double prev = -1, best = (double)fr * 4e-8;
    int64_t best_at = -1;
    for (int64_t s = lo - fr; s < hi; s += fr) {
        double e = 0;
        for (int64_t f = s; f < s + fr; f++) {
            double m = a->samples[2 * f] + a->samples[2 * f + 1];
            e += m * m;
        }
        if (prev >= 0 && e - prev > best) {
            best = e - prev;
            best_at = s;
        }
        prev = e;
    }
    return best_at >= 0 ? (double)best_at / HC_AUDIO_RATE : -1;
}

/* Run aubio's tracker over the mono mix; *times gets the detected beats
 * (caller frees with free). */
static int detect_beats(const hc_audio *a, double **times, int *n, hc_err *err) {
    *times = NULL;
    *n = 0;
    pthread_mutex_lock(&fftw_plan_lock);
    aubio_tempo_t *t = new_aubio_tempo("default", WIN, HOP, HC_AUDIO_RATE);
    pthread_mutex_unlock(&fftw_plan_lock);
    fvec_t *in = new_fvec(HOP), *out = new_fvec(2);
    int rc = 0, cap = 0;
    if (!t || !in || !out) {
        rc = hc_err_set(err, HC_EINTERNAL, "beats: cannot create aubio tempo tracker");
        goto done;
    }
    for (int64_t pos = 0; pos < a->frames; pos += HOP) {
        for (int i = 0; i < HOP; i++) {
            int64_t f = pos + i;
            in->data[i] = f < a->frames ? 0.5f * (a->samples[2 * f] + a->samples[2 * f + 1]) : 0.f;
        }
        /* A beat is when the tracker's last beat moves: out->data[0] holds the
         * beat's fraction of a hop, which is 0 (read as "no beat") whenever
         * the beat falls exactly on a hop boundary. */
        uint_t prev = aubio_tempo_get_last(t);
        aubio_tempo_do(t, in, out);
        if (aubio_tempo_get_last(t) == prev) continue;
        /* The tracker keeps predicting through silence; those are no beats. */
        double s = snap_to_onset(a, aubio_tempo_get_last_s(t));
        if (s < 0) continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            double *nt = realloc(*times, (size_t)cap * sizeof *nt);
            if (!nt) {
                rc = hc_err_set(err, HC_ENOMEM, "beats: out of memory");
                goto done;
            }
            *times = nt;
        }
        (*times)[(*n)++] = s;
    }
done:
    if (out) del_fvec(out);
    if (in) del_fvec(in);
    if (t) {
        pthread_mutex_lock(&fftw_plan_lock);
        del_aubio_tempo(t);
        pthread_mutex_unlock(&fftw_plan_lock);
    }
    if (rc < 0) {
        free(*times);
        *times = NULL;
        *n = 0;
    }
    return rc;
}

/* Fit t = phase + k * period over the detected beats, k the beat index
 * relative to the first beat (rounded at the current period). Beats off the
 * grid by more than a quarter period are left out. Returns the inliers. */
static int fit_grid(const double *t, int n, double *period, double *phase) {
    int used = 0;
    for (int pass = 0; pass < 3; pass++) {
        double sk = 0, st = 0, skk = 0, skt = 0;
        used = 0;
        for (int i = 0; i < n; i++) {
            double k = round((t[i] - *phase) / *period);
            double r = t[i] - (*phase + k * *period);
            if (fabs(r) > 0.25 * *period) continue;
            sk += k, st += t[i], skk += k * k, skt += k * t[i];
            used++;
        }
        double den = used * skk - sk * sk;
        if (used < MIN_BEATS || den <= 0) return used;
        double p = (used * skt - sk * st) / den;
        if (!(p > 0)) return used;
        *phase = (st - p * sk) / used;
        *period = p;
    }
    return used;
}

/* Mean absolute mono amplitude rise just after each grid beat of the given
 * period and phase: how strongly the music marks those positions. */
static double onset_strength(const hc_audio *a, double period, double phase) {
    double sum = 0;
    int cnt = 0;
    int64_t w = HC_AUDIO_RATE / 50; /* 20 ms before vs after */
    for (double b = phase; b * HC_AUDIO_RATE < (double)a->frames; b += period) {
        int64_t c = (int64_t)llround(b * HC_AUDIO_RATE);
        if (c - w < 0 || c + w > a->frames) continue;
        double pre = 0, post = 0;
        for (int64_t f = c - w; f < c; f++)
            pre += fabsf(a->samples[2 * f] + a->samples[2 * f + 1]);
        for (int64_t f = c; f < c + w; f++)
            post += fabsf(a->samples[2 * f] + a->samples[2 * f + 1]);
        sum += post > pre ? post - pre : 0;
        cnt++;
    }
    return cnt ? sum / cnt : 0;
}

static int energy_curve(const hc_audio *a, hc_beats *out) {
    int64_t win = (int64_t)(ENERGY_WIN_S * HC_AUDIO_RATE);
    int n = (int)((a->frames + win - 1) / win);
    if (n == 0) return 0;
    out->energy = calloc((size_t)n, sizeof *out->energy);
    if (!out->energy) return HC_ENOMEM;
    out->n_energy = n;
    double max = 0;
    for (int i = 0; i < n; i++) {
        int64_t s = i * win, e = s + win < a->frames ? s + win : a->frames;
        double acc = 0;
        for (int64_t f = s; f < e; f++) {
            double m = 0.5 * (a->samples[2 * f] + a->samples[2 * f + 1]);
            acc += m * m;
        }
        out->energy[i] = sqrt(acc / (double)(e - s));
        if (out->energy[i] > max) max = out->energy[i];
    }
    for (int i = 0; i < n; i++)
        out->energy[i] = max > 0 ? out->energy[i] / max : 0;
    return 0;
}

int hc_beats_analyze(const hc_audio *a, hc_beats *out, hc_err *err) {
    memset(out, 0, sizeof *out);
    if (!a || a->frames < 0 || (a->frames > 0 && !a->samples))
        return hc_err_set(err, HC_EINVAL, "beats: no audio");
    out->duration_s = (double)a->frames / HC_AUDIO_RATE;
    double *det = NULL;
    int n_det = 0;
    int rc = energy_curve(a, out);
    if (rc < 0) {
        hc_err_set(err, rc, "beats: out of memory");
        goto fail;
    }
    rc = detect_beats(a, &det, &n_det, err);
    if (rc < 0) goto fail;
    if (n_det < MIN_BEATS) goto done;

    double *ibi = hc_xmalloc((size_t)(n_det - 1) * sizeof *ibi);
    for (int i = 1; i < n_det; i++)
        ibi[i - 1] = det[i] - det[i - 1];
    qsort(ibi, (size_t)(n_det - 1), sizeof *ibi, cmp_double);
    double period = ibi[(n_det - 1) / 2];
    free(ibi);
    if (!(period > 0)) goto done;
    double phase = det[0];
    int inliers = fit_grid(det, n_det, &period, &phase);
    /* Too few beats on one regular grid: noise or no steady pulse. */
    if (inliers < MIN_BEATS || inliers * 2 < n_det) goto done;

    while (60.0 / period < MIN_BPM)
        period /= 2; /* keeps every detected beat */
    while (60.0 / period > MAX_BPM) {
        /* Halving drops every other beat: keep the parity the music stresses. */
        if (onset_strength(a, 2 * period, phase + period) > onset_strength(a, 2 * period, phase))
            phase += period;
        period *= 2;
    }
    phase -= floor(phase / period) * period; /* the first grid beat at or after 0 */

    int n = (int)floor((out->duration_s - phase) / period) + 1;
    if (n < 1) goto done;
    out->times = calloc((size_t)n, sizeof *out->times);
    if (!out->times) {
        rc = hc_err_set(err, HC_ENOMEM, "beats: out of memory");
        goto fail;
    }
    for (int i = 0; i < n; i++)
        out->times[i] = phase + i * period;
    out->n = n;
    out->bpm = 60.0 / period;
done:
    free(det);
    return 0;
fail:
    free(det);
    hc_beats_fini(out);
    return rc;
}

void hc_beats_fini(hc_beats *b) {
    if (!b) return;
    free(b->times);
    free(b->energy);
    memset(b, 0, sizeof *b);
}
