/* squeezeh / squeezev: a squeezes into a line through the centre (squeezeh:
 * a horizontal line, the picture squashed vertically; squeezev: a vertical
 * line), like an old set switching off, and b expands out of the line,
 * over black. The halves overlap a little so the line never vanishes.
 *
 * Squashing is a box filter: each output pixel averages exactly the source
 * span it covers (with fractional ends), so the thin line does not shimmer,
 * and the band's edges are blended by coverage (sub-pixel, no steps). */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Layer scales: a from 1 to 0 over p 0..0.55, b from 0 to 1 over 0.45..1. */
static double scale_a(double p) {
    return 1 - hc_smoothstep(p / 0.55);
}
static double scale_b(double p) {
    return hc_smoothstep((p - 0.45) / 0.55);
}

/* The source span [lo, hi) of n seen by output cell [i, i + 1) under scale
 * s about the centre; returns the cell's coverage by the squeezed layer. */
static double span(int i, int n, double s, double *lo, double *hi) {
    if (s <= 1e-6) return *lo = *hi = 0, 0.0;
    double c = n / 2.0;
    *lo = (i - c) / s + c, *hi = (i + 1 - c) / s + c;
    if (*lo < 0) *lo = 0;
    if (*hi > n) *hi = n;
    return *hi > *lo ? (*hi - *lo) * s : 0;
}

static int q8(double v) {
    return v <= 0 ? 0 : v >= 1 ? 256 : (int)(v * 256 + 0.5);
}

/* Squashed vertically: output row y of one layer as the weighted mean of the
 * source rows it covers, into out; returns its coverage 0..256. */
static int squash_row(const uint8_t *base, int stride, const hc_tr_plane *t, double s, int y,
                      uint32_t *acc, uint8_t *out) {
    double lo, hi;
    int cov = q8(span(y, t->h, s, &lo, &hi));
    if (cov == 0) return 0;
    memset(acc, 0, sizeof *acc * (size_t)t->w);
    uint32_t total = 0;
    for (int k = (int)floor(lo); k < hi && k < t->h; k++) {
        double o = fmin(hi, k + 1) - fmax(lo, k);
        uint32_t wk = (uint32_t)(o * 256 + 0.5);
        if (wk == 0) continue;
        total += wk;
        const uint8_t *r = base + (size_t)k * stride;
        for (int x = 0; x < t->w; x++)
            acc[x] += r[x] * wk;
    }
    if (total == 0) return 0;
    uint64_t inv = ((1ULL << 32) + total / 2) / total;
    for (int x = 0; x < t->w; x++)
        out[x] = (uint8_t)((acc[x] * inv + (1ULL << 31)) >> 32);
    return cov;
}

/* mix(mix(black, va, ca), vb, cb), coverages 0..256 */
static inline uint8_t over(int black, int va, int ca, int vb, int cb) {
    int v = (black * (256 - ca) + va * ca + 128) >> 8;
    return (uint8_t)((v * (256 - cb) + vb * cb + 128) >> 8);
}

static void compose(uint8_t *d, const uint8_t *la, int ca, const uint8_t *lb, int cb, uint8_t black,
                    int n) {
    if (ca == 0 && cb == 0) {
        memset(d, black, (size_t)n);
        return;
    }
    for (int x = 0; x < n; x++)
        d[x] = over(black, ca ? la[x] : 0, ca, cb ? lb[x] : 0, cb);
}

static void squeezeh(const hc_tr_plane *t) {
    double sa = scale_a(t->p), sb = scale_b(t->p);
    uint32_t *acc = malloc(sizeof *acc * (size_t)t->w);
    uint8_t *la = malloc((size_t)t->w * 2);
    if (!acc || !la) goto done;
    uint8_t *lb = la + t->w;
    for (int y = 0; y < t->h; y++) {
        int ca = squash_row(t->a, t->a_stride, t, sa, y, acc, la);
        int cb = squash_row(t->b, t->b_stride, t, sb, y, acc, lb);
        compose(tr_dst(t, y), la, ca, lb, cb, t->black, t->w);
    }
done:
    free(acc);
    free(la);
}

/* Per output column: the source span as 24.8 fixed-point ends, the
 * reciprocal of its length, and the coverage. */
typedef struct {
    int32_t lo, hi; /* in 1/256 px */
    float inv;      /* 1 / (hi - lo) */
    int cov;        /* 0..256 */
} col_span;

static void col_spans(int w, double s, col_span *cs) {
    for (int x = 0; x < w; x++) {
        double lo, hi;
        cs[x].cov = q8(span(x, w, s, &lo, &hi));
        cs[x].lo = (int32_t)lround(lo * 256);
        cs[x].hi = (int32_t)lround(hi * 256);
        if (cs[x].hi <= cs[x].lo) cs[x].cov = 0;
        cs[x].inv = cs[x].cov ? 1.0f / (float)(cs[x].hi - cs[x].lo) : 0;
    }
}

/* Squashed horizontally: the mean of each column span of row r over the
 * band [x0, x1), from the prefix sums of the source span it reads
 * (ps[i] = 256 x sum of r[0..i)). */
static void squash_cols(const uint8_t *r, int w, const col_span *cs, int x0, int x1, uint32_t *ps,
                        uint8_t *out) {
    int i_lo = cs[x0].lo >> 8, i_hi = (cs[x1 - 1].hi >> 8) + 1;
    if (i_hi > w) i_hi = w;
    ps[i_lo] = 0;
    for (int i = i_lo; i < i_hi; i++)
        ps[i + 1] = ps[i] + r[i] * 256u;
    for (int x = x0; x < x1; x++) {
        int i0 = cs[x].lo >> 8, f0 = cs[x].lo & 255, i1 = cs[x].hi >> 8, f1 = cs[x].hi & 255;
        uint32_t s1 = ps[i1] + (i1 < w ? r[i1] * (uint32_t)f1 : 0);
        uint32_t s0 = ps[i0] + (i0 < w ? r[i0] * (uint32_t)f0 : 0);
        out[x] = (uint8_t)((float)(int32_t)(s1 - s0) * cs[x].inv + 0.5f);
    }
}

/* The band of columns [*x0, *x1) a layer covers (empty when all are 0). */
static void col_band(const col_span *cs, int w, int *x0, int *x1) {
    int a = 0, b = w;
    while (a < w && !cs[a].cov)
        a++;
    while (b > a && !cs[b - 1].cov)
        b--;
    *x0 = a, *x1 = b;
}

static void squeezev(const hc_tr_plane *t) {
    double sa = scale_a(t->p), sb = scale_b(t->p);
    size_t w = (size_t)t->w;
    col_span *cs = malloc(sizeof *cs * w * 2);
    uint32_t *ps = malloc(sizeof *ps * (w + 1));
    uint8_t *la = malloc(w * 2);
    if (!cs || !ps || !la) goto done;
    col_span *ca = cs, *cb = cs + w;
    uint8_t *lb = la + w;
    col_spans(t->w, sa, ca);
    col_spans(t->w, sb, cb);
    int a0, a1, b0, b1;
    col_band(ca, t->w, &a0, &a1);
    col_band(cb, t->w, &b0, &b1);
    /* the union of the bands (both are centred) */
    int u0 = a1 > a0 ? a0 : b0, u1 = a1 > a0 ? a1 : b1;
    if (b1 > b0 && b0 < u0) u0 = b0;
    if (b1 > b0 && b1 > u1) u1 = b1;
    for (int y = 0; y < t->h; y++) {
        uint8_t *d = tr_dst(t, y);
        if (a1 > a0) squash_cols(tr_a(t, y), t->w, ca, a0, a1, ps, la);
        if (b1 > b0) squash_cols(tr_b(t, y), t->w, cb, b0, b1, ps, lb);
        memset(d, t->black, (size_t)u0);
        memset(d + u1, t->black, w - (size_t)u1);
        for (int x = u0; x < u1; x++)
            d[x] =
                over(t->black, ca[x].cov ? la[x] : 0, ca[x].cov, cb[x].cov ? lb[x] : 0, cb[x].cov);
    }
done:
    free(cs);
    free(ps);
    free(la);
}

const hc_transition hc_tr_squeezeh = {"squeezeh", "a squeezes into a horizontal line, b expands",
                                      HC_EASE_LINEAR, squeezeh};
const hc_transition hc_tr_squeezev = {"squeezev", "a squeezes into a vertical line, b expands",
                                      HC_EASE_LINEAR, squeezev};
