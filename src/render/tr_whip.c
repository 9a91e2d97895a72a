/* whip: a whip pan. b pushes a out to the left on a fast-in-the-middle
 * curve, with horizontal motion blur whose length follows the speed (up to
 * a fifth of the frame at the peak). The blur is an exact box filter over
 * the strip a|b, from the row's prefix sums with fractional ends: O(pixels)
 * whatever the length, and sub-pixel smooth. */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WHIP_K 6.0 /* steepness of the position curve */

/* Position 0..1 and its derivative (relative to the mean speed). */
static double whip_pos(double p) {
    return (tanh(WHIP_K * (p - 0.5)) / tanh(WHIP_K / 2) + 1) / 2;
}
static double whip_speed(double p) {
    double th = tanh(WHIP_K * (p - 0.5));
    return 0.5 * WHIP_K * (1 - th * th) / tanh(WHIP_K / 2);
}

/* 256 x the integral of the strip st (m wide, edges extended) from 0 to u
 * (u in 1/256 px, may be outside [0, m]); ps[i] = 256 x sum of st[0..i). */
static inline int64_t integral(const uint8_t *st, const uint32_t *ps, int m, int64_t u) {
    if (u <= 0) return u * st[0];
    int64_t i = u >> 8, f = u & 255;
    if (i >= m) return (int64_t)ps[m] + (u - (int64_t)m * 256) * st[m - 1];
    return (int64_t)ps[i] + f * st[i];
}

static void whip(const hc_tr_plane *t) {
    int n = t->w, m = 2 * n;
    uint32_t *ps = malloc(sizeof *ps * (size_t)(m + 1));
    uint8_t *st = malloc((size_t)m);
    if (!ps || !st) goto done;
    double off = whip_pos(t->p) * n;
    double len = 0.2 * n * whip_speed(t->p) / whip_speed(0.5);
    if (len < 1) len = 1; /* a one-pixel box is plain linear interpolation */
    int64_t half = llround(len * 128), lenq = 2 * half; /* in 1/256 px */
    int64_t base = llround((off + 0.5) * 256);          /* centre of pixel 0 in the strip */
    float inv = 1.0f / (float)lenq;
    /* pixel x integrates [lo + x, hi + x) (whole pixels) plus fractions:
     * constant across the row, so the interior loop is branch-free */
    int64_t lo = base - half, hi = base + half;
    int i0 = (int)(lo >> 8), f0 = (int)(lo & 255), i1 = (int)(hi >> 8), f1 = (int)(hi & 255);
    int xa = i0 < 0 ? -i0 : 0, xb = m - 1 - i1 < n ? m - 1 - i1 : n; /* interior [xa, xb) */
    if (xb < xa) xb = xa;
    for (int y = 0; y < t->h; y++) {
        uint8_t *d = tr_dst(t, y);
        memcpy(st, tr_a(t, y), (size_t)n);
        memcpy(st + n, tr_b(t, y), (size_t)n);
        ps[0] = 0;
        for (int i = 0; i < m; i++)
            ps[i + 1] = ps[i] + st[i] * 256u;
        for (int x = 0; x < n; x++) {
            if (x == xa && xb > xa) {
                const uint32_t *p0 = ps + i0, *p1 = ps + i1;
                const uint8_t *s0 = st + i0, *s1 = st + i1;
                for (; x < xb; x++) {
                    int32_t s =
                        (int32_t)(p1[x] + (uint32_t)f1 * s1[x] - p0[x] - (uint32_t)f0 * s0[x]);
                    d[x] = (uint8_t)((float)s * inv + 0.5f);
                }
                if (x >= n) break;
            }
            int64_t s = integral(st, ps, m, hi + (int64_t)x * 256) -
                        integral(st, ps, m, lo + (int64_t)x * 256);
            float v = (float)s * inv + 0.5f;
            d[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
done:
    free(ps);
    free(st);
}

const hc_transition hc_tr_whip = {"whip", "motion-blurred push to the left", HC_EASE_LINEAR, whip};
