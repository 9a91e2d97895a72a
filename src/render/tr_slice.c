/* Slice wipes (xfade's hlslice, hrslice, vuslice, vdslice): the frame is
 * cut into 10 slits; in each, b grows from the slit's leading side, and the
 * slits start one after another across the frame (hlslice: from the right,
 * moving left, like wipeleft; vuslice: from the bottom, moving up). Unlike
 * xfade's hard step, each pixel gets its exact coverage by the b intervals,
 * so slit edges are anti-aliased and move by sub-pixel amounts. */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>

#define SLITS 10

/* Coverage 0..256 by b of pixel i of n, i counted from the side where b
 * starts (so the last slits to open are at i near n). */
static uint16_t slice_weight(double p, int i, int n) {
    double u = (i + 0.5) / n;
    /* fraction of its slit that b covers: the wave starts at this side */
    double s = hc_smoothstep(2 * (1 - u) + 3 * p - 2);
    double q = u * SLITS, h = 0.5 * SLITS / n; /* pixel centre and half-width in slits */
    double lo = q - h, hi = q + h, cov = 0;
    /* b covers [k + 1 - s, k + 1] of each slit k: as in xfade, it grows
     * within a slit against the direction the wave travels */
    for (double k = floor(lo); k <= floor(hi); k++) {
        double b0 = k + 1 - s, b1 = k + 1;
        double o = fmin(hi, b1) - fmax(lo, b0);
        if (o > 0) cov += o;
    }
    cov /= 2 * h;
    return (uint16_t)(cov >= 1 ? 256 : cov * 256 + 0.5);
}

static void slice_h(const hc_tr_plane *t, bool from_right) {
    uint16_t *alpha = malloc(sizeof *alpha * (size_t)t->w);
    if (!alpha) return;
    for (int x = 0; x < t->w; x++)
        alpha[x] = slice_weight(t->p, from_right ? t->w - 1 - x : x, t->w);
    for (int y = 0; y < t->h; y++)
        hc_blend_row_mask(tr_dst(t, y), tr_a(t, y), tr_b(t, y), alpha, t->w);
    free(alpha);
}

static void slice_v(const hc_tr_plane *t, bool from_bottom) {
    for (int y = 0; y < t->h; y++)
        hc_blend_row(tr_dst(t, y), tr_a(t, y), tr_b(t, y), t->w,
                     slice_weight(t->p, from_bottom ? t->h - 1 - y : y, t->h));
}

static void hlslice(const hc_tr_plane *t) {
    slice_h(t, true);
}
static void hrslice(const hc_tr_plane *t) {
    slice_h(t, false);
}
static void vuslice(const hc_tr_plane *t) {
    slice_v(t, true);
}
static void vdslice(const hc_tr_plane *t) {
    slice_v(t, false);
}

const hc_transition hc_tr_hlslice = {"hlslice", "slits of b open one after another, leftwards",
                                     HC_EASE_LINEAR, hlslice};
const hc_transition hc_tr_hrslice = {"hrslice", "slits of b open one after another, rightwards",
                                     HC_EASE_LINEAR, hrslice};
const hc_transition hc_tr_vuslice = {"vuslice", "slits of b open one after another, upwards",
                                     HC_EASE_LINEAR, vuslice};
const hc_transition hc_tr_vdslice = {"vdslice", "slits of b open one after another, downwards",
                                     HC_EASE_LINEAR, vdslice};
