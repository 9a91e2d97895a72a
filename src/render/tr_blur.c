/* blur: a blurs out while b blurs in: a box blur whose radius rises to its
 * peak (3 % of the short side) in the middle, where the picture crossfades.
 * The radius is fractional (the box's end taps are weighted), so it grows
 * smoothly rather than in whole-pixel jumps.
 *
 * Cost is O(pixels) at any radius: blur commutes with the crossfade, so a
 * and b are summed separately down the columns (running sums, a row of
 * counters each), mixed once, then each row is blurred across with prefix
 * sums. Edges are extended. Buffers: a few rows. */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline const uint8_t *crow(const uint8_t *base, int stride, int h, int y) {
    return base + (size_t)(y < 0 ? 0 : y >= h ? h - 1 : y) * stride;
}

/* Running column sums of rows -ri..ri (edges extended) of one plane. */
static void colsum_init(uint32_t *sum, const uint8_t *base, int stride, int w, int h, int ri) {
    memset(sum, 0, sizeof *sum * (size_t)w);
    for (int k = -ri; k <= ri; k++) {
        const uint8_t *r = crow(base, stride, h, k);
        for (int x = 0; x < w; x++)
            sum[x] += r[x];
    }
}

static void blur(const hc_tr_plane *t) {
    int W = t->w * t->sub, H = t->h * t->sub, short_side = W < H ? W : H;
    double r = 0.03 * short_side * sin(M_PI * t->p) / t->sub;
    int ri = (int)r, fq = (int)((r - ri) * 256 + 0.5);
    if (fq == 256) ri++, fq = 0;
    int m = (int)(hc_smoothstep((t->p - 0.25) / 0.5) * 256 + 0.5);
    size_t w = (size_t)t->w, ext = w + 2 * (size_t)ri + 2;
    /* blur commutes with the crossfade: with m at 0 or 256 only one
     * picture is read (it is then "a" below, with weight 256) */
    const uint8_t *pa = m < 256 ? t->a : t->b, *pb = t->b;
    int sa_stride = m < 256 ? t->a_stride : t->b_stride;
    int wa = m < 256 ? 256 - m : 256, wb = m < 256 ? m : 0;
    uint32_t *buf = malloc(sizeof *buf * (2 * w + 2 * ext + 1));
    if (!buf) return;
    uint32_t *sa = buf, *sb = buf + w, *e = buf + 2 * w, *ps = e + ext;
    colsum_init(sa, pa, sa_stride, t->w, t->h, ri);
    if (wb) colsum_init(sb, pb, t->b_stride, t->w, t->h, ri);
    /* weights in 1/256 taps: full taps 256, the two end taps fq; the
     * vertical pass keeps 8 fractional bits (x 256) for the horizontal one */
    float vnorm = 1.0f / (float)(256 * (2 * ri + 1) + 2 * fq);
    float hnorm = vnorm / 256.0f;
    uint32_t *mid = e + ri + 1; /* the row, with ri + 1 extended pixels each side */
    for (int y = 0; y < t->h; y++) {
        const uint8_t *alo = crow(pa, sa_stride, t->h, y - ri - 1),
                      *ahi = crow(pa, sa_stride, t->h, y + ri + 1),
                      *aout = crow(pa, sa_stride, t->h, y - ri);
        if (!wb) {
            for (size_t x = 0; x < w; x++) {
                float v = (float)(int32_t)(sa[x] * 256 + (uint32_t)fq * (alo[x] + ahi[x]));
                mid[x] = (uint32_t)(int32_t)(v * 256.0f * vnorm + 0.5f);
                sa[x] += (uint32_t)ahi[x] - aout[x];
            }
        } else {
            const uint8_t *blo = crow(pb, t->b_stride, t->h, y - ri - 1),
                          *bhi = crow(pb, t->b_stride, t->h, y + ri + 1),
                          *bout = crow(pb, t->b_stride, t->h, y - ri);
            for (size_t x = 0; x < w; x++) {
                int32_t va = (int32_t)(sa[x] * 256 + (uint32_t)fq * (alo[x] + ahi[x]));
                int32_t vb = (int32_t)(sb[x] * 256 + (uint32_t)fq * (blo[x] + bhi[x]));
                float v = (float)va * (float)wa + (float)vb * (float)wb;
                mid[x] = (uint32_t)(int32_t)(v * vnorm + 0.5f);
                sa[x] += (uint32_t)ahi[x] - aout[x];
                sb[x] += (uint32_t)bhi[x] - bout[x];
            }
        }
        for (int k = 0; k <= ri; k++) {
            e[k] = mid[0];
            mid[w + (size_t)k] = mid[w - 1];
        }
        ps[0] = 0;
        for (size_t j = 0; j < ext; j++)
            ps[j + 1] = ps[j] + e[j];
        uint8_t *d = tr_dst(t, y);
        const uint32_t *p_hi = ps + 2 * ri + 2, *p_lo = ps + 1, *e_hi = e + 2 * ri + 2;
        for (size_t x = 0; x < w; x++) {
            /* taps x - ri .. x + ri of mid are e[x + 1 .. x + 2ri + 1]; the
             * fractional ones e[x] and e[x + 2ri + 2] */
            float s = (float)(int32_t)(p_hi[x] - p_lo[x]) * 256.0f +
                      (float)fq * (float)(int32_t)(e[x] + e_hi[x]);
            d[x] = (uint8_t)(s * hnorm + 0.5f);
        }
    }
    free(buf);
}

const hc_transition hc_tr_blur = {"blur", "a blurs out, b blurs in", HC_EASE_SMOOTH, blur};
