/* doorway (GL Transitions' Doorway): a splits down the middle and its halves
 * swing apart like doors, revealing b behind, which comes forward out of
 * the dark (from 1.25x to 1x, brightening). Door edges move by sub-pixel
 * steps and the pixel under each edge is blended by its coverage. */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>

static void doorway(const hc_tr_plane *t) {
    int hw = t->w / 2; /* the split */
    double z = 1.25 - 0.25 * t->p, vw = t->w / z, vh = t->h / z;
    int lit = (int)((0.35 + 0.65 * t->p) * 256 + 0.5);
    long off_q = lround(t->p * hw * 256); /* how far each door has moved, 1/256 px */
    int i = (int)(off_q >> 8), f = (int)(off_q & 255);
    /* left door covers [0, hw - off), right door [hw + off, w) */
    int L = hw - i - (f > 0), R = hw + i + (f > 0); /* fully covered: [0, L), [R, w) */
    int cov = 256 - f;                              /* of the pixels under the edges */
    hc_sampler sb;
    if (hc_sampler_init(&sb, t->b, t->b_stride, t->w, t->h, t->w, t->h, (t->w - vw) / 2,
                        (t->h - vh) / 2, vw / t->w, vh / t->h) != 0)
        return;
    for (int y = 0; y < t->h; y++) {
        uint8_t *d = tr_dst(t, y);
        const uint8_t *ra = tr_a(t, y);
        if (L < R) {
            hc_sampler_row(&sb, y, d);
            hc_blend_row_const(d, d, t->plane ? 128 : t->black, t->w, 256 - lit);
        }
        if (L > 0) hc_blend_row(d, ra + i, ra + i + 1, L, f);
        if (R < t->w) hc_blend_row(d + R, ra + R - i - 1, ra + R - i, t->w - R, 256 - f);
        if (f > 0 && L >= 0 && L < R)
            d[L] = (uint8_t)((d[L] * (256 - cov) + ra[hw - 1] * cov + 128) >> 8);
        if (f > 0 && R - 1 > L && R - 1 < t->w)
            d[R - 1] = (uint8_t)((d[R - 1] * (256 - cov) + ra[hw] * cov + 128) >> 8);
    }
    hc_sampler_fini(&sb);
}

const hc_transition hc_tr_doorway = {"doorway", "a opens like doors onto b coming forward",
                                     HC_EASE_SMOOTH, doorway};
