/* Transitions that displace rows sideways (sub-pixel, interpolated).
 * glitch: digital corruption: bands of rows
 * torn sideways, thin tear lines, the colour planes knocked out of register,
 * bands flickering between a and b; the damage peaks mid-way and each band
 * switches to b at its own moment. vhs: an analogue tape: a tracking band of
 * static rolls down the frame with b above it and a below, rows jitter
 * sideways, and the colour smears to the right.
 *
 * The damage is deterministic: a function of t->seed, the luma row and a
 * step of p (the pattern jumps ~15 times over the transition, as glitches
 * do), never of the plane, so chroma bands sit exactly on luma bands (band
 * heights are even luma rows).
 * dreamy (GL Transitions' Dreamy, turned sideways so that it is a row
 * shift): a dissolves into a gentle wave while b settles out of one. */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>

/* d[x] = s(x + dx): linear interpolation, edges extended. */
static void shift_row(uint8_t *d, const uint8_t *s, int n, double dx) {
    double fl = floor(dx);
    int i = (int)fl, f = (int)((dx - fl) * 256 + 0.5);
    if (f == 256) i++, f = 0;
    /* interior: x + i >= 0 and x + i + 1 <= n - 1 */
    int x0 = -i > 0 ? -i : 0, x1 = n - 1 - i < n ? n - 1 - i : n;
    if (x0 > n) x0 = n;
    if (x1 < x0) x1 = x0;
    for (int x = 0; x < x0; x++)
        d[x] = s[0];
    if (x1 > x0) hc_blend_row(d + x0, s + x0 + i, s + x0 + i + 1, x1 - x0, f);
    for (int x = x1; x < n; x++)
        d[x] = s[x + i < 0 ? 0 : x + i >= n ? n - 1 : x + i];
}

/* An even number of luma rows, at least 2, about size. */
static int even_rows(double size) {
    int r = 2 * (int)(size / 2 + 0.5);
    return r < 2 ? 2 : r;
}

static void glitch(const hc_tr_plane *t) {
    int W = t->w * t->sub, H = t->h * t->sub;
    double g = sin(M_PI * t->p); /* damage */
    uint64_t s = t->seed * 0x9e3779b97f4a7c15ULL + (uint64_t)(t->p * 15) * 0x632be59bd9b4e019ULL;
    int big = even_rows(H / 14.0), thin = even_rows(H / 150.0);
    /* colour planes knocked out of register, opposite ways */
    double chroma_dx =
        t->plane == 0 ? 0
                      : (t->plane == 1 ? 1 : -1) * g * 0.018 * W * (0.6 + 0.8 * hc_noise2(s, 7, 7));
    for (int y = 0; y < t->h; y++) {
        int Y = y * t->sub, kb = Y / big, kt = Y / thin;
        double dx = chroma_dx;
        if (hc_noise2(s, kb, 1) < 0.55 * g) /* a torn band */
            dx += (hc_noise2(s, kb, 2) * 2 - 1) * g * 0.12 * W;
        if (hc_noise2(s, kt, 3) < 0.2 * g) /* a thin tear line */
            dx += (hc_noise2(s, kt, 4) * 2 - 1) * g * 0.05 * W;
        /* each band switches at its own moment; damaged bands flicker */
        double th = 0.5 + (hc_noise2(t->seed, kb, 5) - 0.5) * 0.5;
        bool show_b = t->p > th;
        if (hc_noise2(s, kb, 6) < 0.25 * g) show_b = !show_b;
        shift_row(tr_dst(t, y), show_b ? tr_b(t, y) : tr_a(t, y), t->w, dx / t->sub);
    }
}

static void vhs(const hc_tr_plane *t) {
    int W = t->w * t->sub, H = t->h * t->sub;
    double g = sin(M_PI * t->p);
    uint64_t step = (uint64_t)(t->p * 30), s = t->seed ^ (step * 0x632be59bd9b4e019ULL);
    /* the tracking band (luma rows): b above its centre, a below */
    double bh = 0.09 * H, yb = -bh + t->p * (H + 2 * bh);
    double smear = t->plane ? g * 0.012 * W : 0; /* colour lags to the right */
    uint8_t *tmp = malloc((size_t)t->w);
    if (!tmp) return;
    for (int y = 0; y < t->h; y++) {
        double Y = (y + 0.5) * t->sub;
        double wb = hc_smoothstep((yb - Y) / bh + 0.5);
        double in_band = 1 - fabs(Y - yb) / (bh / 2);
        in_band = in_band < 0 ? 0 : hc_smoothstep(in_band);
        /* jitter: a slow wobble, sharper tears in and near the band */
        int Yi = y * t->sub;
        double dx = g * 0.006 * W * hc_value_noise(s ^ 0x51, Yi / (H / 90.0) + step * 1.7);
        dx += in_band * 0.04 * W * (hc_noise2(s, Yi / 2, 9) * 2 - 1);
        dx = (dx - smear) / t->sub;
        uint8_t *d = tr_dst(t, y);
        int w = (int)(wb * 256 + 0.5);
        if (w < 256) shift_row(d, tr_a(t, y), t->w, dx);
        if (w > 0) {
            shift_row(w < 256 ? tmp : d, tr_b(t, y), t->w, dx);
            if (w < 256) hc_blend_row(d, d, tmp, t->w, w);
        }
        if (in_band <= 0) continue;
        /* static in the band: grey snow on luma, colour washed out */
        int nw = (int)(in_band * 0.85 * 256 + 0.5);
        if (t->plane == 0) {
            for (int x = 0; x < t->w; x++) {
                int n = 16 + (int)(hc_noise2(s, x * t->sub / 2, Yi / 2) * 219);
                d[x] = (uint8_t)((d[x] * (256 - nw) + n * nw + 128) >> 8);
            }
        } else {
            hc_blend_row_const(d, d, 128, t->w, nw);
        }
    }
    free(tmp);
}

static void dreamy(const hc_tr_plane *t) {
    uint8_t *tmp = malloc((size_t)t->w);
    if (!tmp) return;
    int W = t->w * t->sub, m = (int)(t->p * 256 + 0.5);
    for (int y = 0; y < t->h; y++) {
        double v = (y + 0.5) / t->h;
        /* GL Dreamy: amplitude 0.03 x progress, phase 10 (progress + v); b
         * the same with 1 - progress and the wave a half-turn apart */
        double da = 0.03 * W * t->p * cos(10 * (t->p + v));
        double db = 0.03 * W * (1 - t->p) * cos(10 * (1 - t->p + v) + M_PI);
        uint8_t *d = tr_dst(t, y);
        shift_row(d, tr_a(t, y), t->w, da / t->sub);
        shift_row(tmp, tr_b(t, y), t->w, db / t->sub);
        hc_blend_row(d, d, tmp, t->w, m);
    }
    free(tmp);
}

const hc_transition hc_tr_glitch = {"glitch", "torn bands, colour misregistration, then b",
                                    HC_EASE_LINEAR, glitch};
const hc_transition hc_tr_vhs = {"vhs", "tape tracking band rolls b in, jitter, colour smear",
                                 HC_EASE_LINEAR, vhs};
const hc_transition hc_tr_dreamy = {"dreamy", "a melts into a sideways wave, b settles out of one",
                                    HC_EASE_SMOOTH, dreamy};
