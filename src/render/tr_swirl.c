/* swirl: the picture twists around the centre, most at the middle of the
 * transition and most near the centre (angle A * (1 - r^2/R^2)^2, R most of
 * the half-diagonal: 0.7), while a crossfades to b under the twist; then it
 * unwinds. Both pictures are read through the same warp with bilinear
 * sampling (8-bit weights, 16.16 positions).
 *
 * Speed: the angle depends on r^2 only, so cos and sin come from a small
 * table over r^2 / R^2 (linearly interpolated): no per-pixel sqrt or trig.
 * Each row is warped only where it crosses the disc r < R (its extent is one
 * sqrt per row); outside, it is a plain crossfade. Positions are exact
 * every 8 pixels and stepped linearly in between. */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>

#define SWIRL_N 1024 /* table steps over r^2 / R^2 in [0, 1] */

typedef struct {
    float cx, cy, qs; /* centre (pixel-centre units) and table steps per r^2 */
    const float *tc, *ts;
} swirl_geo;

/* Source position (16.16 fixed point, index space) of the pixel centre at
 * offset (dx, dy) from the centre. */
static inline void warp_at(const swirl_geo *g, float dx, float dy, int32_t *sx, int32_t *sy) {
    float qi = (dx * dx + dy * dy) * g->qs;
    if (qi >= SWIRL_N) qi = SWIRL_N;
    int i = (int)qi;
    float fr = qi - i;
    float c = g->tc[i] + (g->tc[i + 1] - g->tc[i]) * fr,
          s = g->ts[i] + (g->ts[i + 1] - g->ts[i]) * fr;
    *sx = (int32_t)lrintf((g->cx - 0.5f + dx * c - dy * s) * 65536.0f);
    *sy = (int32_t)lrintf((g->cy - 0.5f + dx * s + dy * c) * 65536.0f);
}

/* Bilinear read at 16.16 (sx, sy), clamped to the plane: value x 65536. */
static inline int bilinear(const uint8_t *base, int stride, int32_t sx, int32_t sy, int32_t mx,
                           int32_t my) {
    sx = sx < 0 ? 0 : sx > mx ? mx : sx;
    sy = sy < 0 ? 0 : sy > my ? my : sy;
    int ix = sx >> 16, iy = sy >> 16, fx = (sx >> 8) & 255, fy = (sy >> 8) & 255;
    const uint8_t *r0 = base + (size_t)iy * stride + ix;
    /* at the last column / row the weight of the next one is 0; clamp the
     * read itself too */
    int dx = sx < mx ? 1 : 0;
    const uint8_t *r1 = sy < my ? r0 + stride : r0;
    int top = r0[0] * (256 - fx) + r0[dx] * fx, bot = r1[0] * (256 - fx) + r1[dx] * fx;
    return top * (256 - fy) + bot * fy;
}

/* Pixels [x0, x1) of row y: exact positions every SPAN pixels, linear in
 * between (the warp is smooth: under 0.15 px of error). */
static void warp_span(const hc_tr_plane *t, const swirl_geo *g, int m, int y, int x0, int x1) {
    enum { SPAN = 8 };
    uint8_t *d = tr_dst(t, y);
    const float dy = (float)(y + 0.5) - g->cy;
    const int32_t mx = (t->w - 1) << 16, my = (t->h - 1) << 16;
    for (int xs = x0; xs < x1; xs += SPAN) {
        int32_t sx0, sy0, sx1, sy1;
        warp_at(g, (float)xs + 0.5f - g->cx, dy, &sx0, &sy0);
        warp_at(g, (float)(xs + SPAN) + 0.5f - g->cx, dy, &sx1, &sy1);
        int32_t ddx = (sx1 - sx0) / SPAN, ddy = (sy1 - sy0) / SPAN;
        int xe = xs + SPAN < x1 ? xs + SPAN : x1;
        for (int x = xs; x < xe; x++, sx0 += ddx, sy0 += ddy) {
            int v;
            if (m == 0)
                v = bilinear(t->a, t->a_stride, sx0, sy0, mx, my);
            else if (m == 256)
                v = bilinear(t->b, t->b_stride, sx0, sy0, mx, my);
            else
                v = (int)(((int64_t)bilinear(t->a, t->a_stride, sx0, sy0, mx, my) * (256 - m) +
                           (int64_t)bilinear(t->b, t->b_stride, sx0, sy0, mx, my) * m) >>
                          8);
            d[x] = (uint8_t)((v + 32768) >> 16);
        }
    }
}

static void swirl(const hc_tr_plane *t) {
    double twist = 2.4 * sin(M_PI * t->p); /* radians at the centre */
    int m = (int)(hc_smoothstep((t->p - 0.35) / 0.3) * 256 + 0.5);
    double cx = t->w / 2.0, cy = t->h / 2.0, R = 0.7 * sqrt(cx * cx + cy * cy);
    float *tab = malloc(sizeof *tab * 2 * (SWIRL_N + 2));
    if (!tab) return;
    swirl_geo g = {(float)cx, (float)cy, (float)(SWIRL_N / (R * R)), tab, tab + SWIRL_N + 2};
    for (int i = 0; i <= SWIRL_N + 1; i++) {
        double q = (double)i / SWIRL_N, ang = q < 1 ? twist * (1 - q) * (1 - q) : 0;
        tab[i] = (float)cos(ang), tab[SWIRL_N + 2 + i] = (float)sin(ang);
    }
    for (int y = 0; y < t->h; y++) {
        uint8_t *d = tr_dst(t, y);
        const uint8_t *ra = tr_a(t, y), *rb = tr_b(t, y);
        double dy = y + 0.5 - cy, e2 = R * R - dy * dy;
        int x0 = 0, x1 = 0; /* the warped span: one sqrt per row */
        if (e2 > 0) {
            double e = sqrt(e2);
            x0 = (int)floor(cx - e - 0.5);
            x1 = (int)ceil(cx + e + 0.5);
            x0 = x0 < 0 ? 0 : x0 > t->w ? t->w : x0;
            x1 = x1 < x0 ? x0 : x1 > t->w ? t->w : x1;
        }
        if (x0 > 0) hc_blend_row(d, ra, rb, x0, m);
        if (x1 < t->w) hc_blend_row(d + x1, ra + x1, rb + x1, t->w - x1, m);
        if (x0 < x1) warp_span(t, &g, m, y, x0, x1);
    }
    free(tab);
}

const hc_transition hc_tr_swirl = {"swirl", "twist around the centre, crossfading under it",
                                   HC_EASE_SMOOTH, swirl};
