/* Crops through black (xfade's circlecrop and rectcrop): a shrinks away
 * inside a circle (or a rectangle of the frame's shape) to black, then b
 * grows out of the centre the same way. Shape edges are soft (about 1 % of
 * the short side); circlecrop's rim is hc_disc_row. */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Which picture shows and how big its window is (0..1). */
static const uint8_t *crop_src(const hc_tr_plane *t, int *stride, double *k) {
    bool first = t->p < 0.5;
    *k = first ? 1 - 2 * t->p : 2 * t->p - 1;
    *stride = first ? t->a_stride : t->b_stride;
    return first ? t->a : t->b;
}

static double crop_soft(const hc_tr_plane *t) {
    int W = t->w * t->sub, H = t->h * t->sub;
    return (0.01 * (W < H ? W : H) + 1.5) / t->sub;
}

static void circlecrop(const hc_tr_plane *t) {
    int stride;
    double k;
    const uint8_t *src = crop_src(t, &stride, &k);
    double cx = t->w / 2.0, cy = t->h / 2.0, soft = crop_soft(t);
    double r = -soft / 2 + k * (sqrt(cx * cx + cy * cy) + soft);
    for (int y = 0; y < t->h; y++)
        hc_disc_row(tr_dst(t, y), src + (size_t)y * stride, NULL, t->black, t->w, y + 0.5 - cy, cx,
                    r, soft);
}

static void rectcrop(const hc_tr_plane *t) {
    int stride;
    double k;
    const uint8_t *src = crop_src(t, &stride, &k);
    uint16_t *alpha = malloc(sizeof *alpha * (size_t)t->w * 2);
    if (!alpha) return;
    uint16_t *row = alpha + t->w;
    double soft = crop_soft(t);
    /* half sizes grow together, so the window keeps the frame's shape */
    double hw = -soft / 2 + k * (t->w / 2.0 + soft), hh = -soft / 2 + k * (t->h / 2.0 + soft);
    for (int x = 0; x < t->w; x++)
        alpha[x] = (uint16_t)hc_edge_weight(hw - fabs(x + 0.5 - t->w / 2.0), soft);
    for (int y = 0; y < t->h; y++) {
        const uint8_t *s = src + (size_t)y * stride;
        uint8_t *d = tr_dst(t, y);
        int wy = hc_edge_weight(hh - fabs(y + 0.5 - t->h / 2.0), soft);
        if (wy == 0) {
            memset(d, t->black, (size_t)t->w);
            continue;
        }
        for (int x = 0; x < t->w; x++)
            row[x] = (uint16_t)((alpha[x] * wy + 128) >> 8);
        for (int x = 0; x < t->w; x++)
            d[x] = (uint8_t)((t->black * (256 - row[x]) + s[x] * row[x] + 128) >> 8);
    }
    free(alpha);
}

const hc_transition hc_tr_circlecrop = {"circlecrop", "a shrinks in a circle to black, b grows",
                                        HC_EASE_SMOOTH, circlecrop};
const hc_transition hc_tr_rectcrop = {"rectcrop", "a shrinks in a rectangle to black, b grows",
                                      HC_EASE_SMOOTH, rectcrop};
