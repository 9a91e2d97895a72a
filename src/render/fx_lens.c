/* Canvas filter chromatic_aberration: a static lateral lens aberration.
 *
 * The red image is magnified slightly less and the blue image slightly
 * more than green, radially from the centre: the displacement is k times
 * the distance, with k chosen so it reaches 0.3 % of the width at the left
 * and right edges (k = 0.006; more in tall canvases' corners). Only the
 * chroma planes change: for each chroma pixel p,
 *
 *   U'(p) = U(pb) + (Yc(pb) - Yc(p)) * 224 / (219 * 1.8556)
 *   V'(p) = V(pr) + (Yc(pr) - Yc(p)) * 224 / (219 * 1.5748)
 *
 * with pb = c + (p - c)(1 - k), pr = c + (p - c)(1 + k) sampled bilinearly
 * (8-bit weights) and Yc the 2x2-mean luma: that is B' and R' taken from
 * the displaced positions with luma kept, so even a grey edge gets its
 * red/blue fringes. Strength scales k. Fixed-point coordinates, integer
 * output, clamped to 16..240. */
#include "render/fx_int.h"

#include <stdlib.h>
#include <string.h>

/* Bilinear sample of a tight w x h plane at (sx, sy) in 1/65536 pixel
 * index units (clamped inside), in 1/256 code. */
static int sample(const uint8_t *pl, int w, int h, int64_t sx, int64_t sy) {
    int64_t mx = (int64_t)(w - 1) << 16, my = (int64_t)(h - 1) << 16;
    sx = sx < 0 ? 0 : sx > mx ? mx : sx;
    sy = sy < 0 ? 0 : sy > my ? my : sy;
    int ix = (int)(sx >> 16), iy = (int)(sy >> 16);
    int fx = (int)(sx >> 8) & 255, fy = (int)(sy >> 8) & 255;
    int ix1 = ix + 1 < w ? ix + 1 : ix, iy1 = iy + 1 < h ? iy + 1 : iy;
    const uint8_t *r0 = pl + (size_t)iy * w, *r1 = pl + (size_t)iy1 * w;
    int top = r0[ix] * (256 - fx) + r0[ix1] * fx;
    int bot = r1[ix] * (256 - fx) + r1[ix1] * fx;
    return (top * (256 - fy) + bot * fy + 128) >> 8;
}

static void chromatic_aberration(const hc_fx_ctx *c, hc_yuv *img) {
    int s = hc_fx_amount256(c);
    if (!s) return;
    int cw = img->w / 2, ch = img->h / 2;
    size_t n = (size_t)cw * (size_t)ch;
    uint8_t *buf = malloc(3 * n);
    if (!buf) return;
    uint8_t *su = buf, *sv = buf + n, *yc = buf + 2 * n;
    for (int y = 0; y < ch; y++) {
        memcpy(su + (size_t)y * cw, hc_fx_row(img, 1, y), (size_t)cw);
        memcpy(sv + (size_t)y * cw, hc_fx_row(img, 2, y), (size_t)cw);
        const uint8_t *a = hc_fx_row(img, 0, 2 * y), *b = hc_fx_row(img, 0, 2 * y + 1);
        for (int x = 0; x < cw; x++)
            yc[(size_t)y * cw + x] =
                (uint8_t)((a[2 * x] + a[2 * x + 1] + b[2 * x] + b[2 * x + 1] + 2) >> 2);
    }
    /* k = 0.006 * strength in 1/65536: 393 * s / 256. */
    int64_t k = (393LL * s + 128) / 256;
    /* Centre in 1/65536 of a chroma pixel, in pixel-index coordinates
     * (pixel i's centre is at i; the image spans -0.5 .. cw - 0.5). */
    int64_t cx = ((int64_t)cw << 15) - 32768, cy = ((int64_t)ch << 15) - 32768;
    const int fb = 141, fr = 166; /* 224 / 219 / 1.8556 and / 1.5748, in 1/256 */
    for (int y = 0; y < ch; y++) {
        uint8_t *ur = hc_fx_row(img, 1, y), *vr = hc_fx_row(img, 2, y);
        int64_t dy = ((int64_t)y << 16) - cy;
        int64_t yb = cy + dy - (dy * k / 65536), yr = cy + dy + (dy * k / 65536);
        for (int x = 0; x < cw; x++) {
            int64_t dx = ((int64_t)x << 16) - cx;
            int64_t xb = cx + dx - (dx * k / 65536), xr = cx + dx + (dx * k / 65536);
            int y0 = yc[(size_t)y * cw + x] << 8;
            int ub = sample(su, cw, ch, xb, yb), ybv = sample(yc, cw, ch, xb, yb);
            int vr_ = sample(sv, cw, ch, xr, yr), yrv = sample(yc, cw, ch, xr, yr);
            int u = ub + hc_fx_div_round((ybv - y0) * fb, 256);
            int v = vr_ + hc_fx_div_round((yrv - y0) * fr, 256);
            ur[x] = hc_fx_clamp_u8(hc_fx_div_round(u, 256), 16, 240);
            vr[x] = hc_fx_clamp_u8(hc_fx_div_round(v, 256), 16, 240);
        }
    }
    free(buf);
}

const hc_fx hc_fx_chromatic_aberration = {
    .name = "chromatic_aberration",
    .desc = "static lateral lens aberration: red/blue fringes growing to the edges",
    .stage = HC_FX_CANVAS,
    .apply = chromatic_aberration,
};
