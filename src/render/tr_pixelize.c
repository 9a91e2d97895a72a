/* pixelize: a breaks into blocks that grow to their largest at the middle,
 * where the picture crossfades to b, whose blocks then shrink back to
 * pixels. Each block shows the average of the pixels it covers (not one
 * sample, which would shimmer), blending the averages of a and b. The block
 * grid is anchored at the frame centre, and chroma blocks are exactly half
 * the luma ones, so the planes stay aligned.
 *
 * Cost: every source pixel is read once per plane: column sums over a band
 * of block rows, then block sums across the band. */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Column sums of rows [y0, y1) of one plane into cs. */
static void column_sums(const uint8_t *base, int stride, int w, int y0, int y1, uint32_t *cs) {
    memset(cs, 0, sizeof *cs * (size_t)w);
    for (int y = y0; y < y1; y++) {
        const uint8_t *r = base + (size_t)y * stride;
        for (int x = 0; x < w; x++)
            cs[x] += r[x];
    }
}

static void pixelize(const hc_tr_plane *t) {
    /* block size in luma pixels: even, 1..~1/14 of the short side */
    int W = t->w * t->sub, H = t->h * t->sub, short_side = W < H ? W : H;
    double grow = sin(M_PI * t->p);
    int half_max = short_side / 28 > 1 ? short_side / 28 : 1;
    int n = (int)lround(grow * grow * half_max); /* luma block = 2n, chroma = n */
    int bs = n == 0 ? 1 : t->sub == 1 ? 2 * n : n;
    /* crossfade while the blocks are big */
    int wb = (int)(hc_smoothstep((t->p - 0.3) / 0.4) * 256 + 0.5);
    if (bs == 1) {
        for (int y = 0; y < t->h; y++)
            hc_blend_row(tr_dst(t, y), tr_a(t, y), tr_b(t, y), t->w, wb);
        return;
    }
    uint32_t *ca = malloc(sizeof *ca * (size_t)t->w * 2);
    if (!ca) return;
    uint32_t *cb = ca + t->w;
    /* grid anchored at the centre: boundaries at w/2 + k * bs */
    int ox = (t->w / 2) % bs, oy = (t->h / 2) % bs;
    for (int y0 = oy > 0 ? oy - bs : 0; y0 < t->h; y0 += bs) {
        int ys = y0 < 0 ? 0 : y0, ye = y0 + bs > t->h ? t->h : y0 + bs;
        column_sums(t->a, t->a_stride, t->w, ys, ye, ca);
        column_sums(t->b, t->b_stride, t->w, ys, ye, cb);
        for (int x0 = ox > 0 ? ox - bs : 0; x0 < t->w; x0 += bs) {
            int xs = x0 < 0 ? 0 : x0, xe = x0 + bs > t->w ? t->w : x0 + bs;
            uint32_t sa = 0, sb = 0;
            for (int x = xs; x < xe; x++)
                sa += ca[x], sb += cb[x];
            uint32_t cnt = (uint32_t)((xe - xs) * (ye - ys));
            /* mean of a + (mean of b - mean of a) * wb / 256, rounded */
            uint64_t num = (uint64_t)sa * (uint64_t)(256 - wb) + (uint64_t)sb * (uint64_t)wb;
            uint8_t v = (uint8_t)((num + cnt * 128) / ((uint64_t)cnt * 256));
            for (int y = ys; y < ye; y++)
                memset(tr_dst(t, y) + xs, v, (size_t)(xe - xs));
        }
    }
    free(ca);
}

const hc_transition hc_tr_pixelize = {"pixelize", "blocks grow, swap, shrink", HC_EASE_LINEAR,
                                      pixelize};
