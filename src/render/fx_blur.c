/* Canvas filters built on a blur: soft_blur, sharpen (unsharp mask) and
 * glow (bloom), plus the blur itself: a gaussian approximated by three box
 * blurs per axis with running sums, O(pixels) whatever the radius.
 *
 * Radii scale with the canvas width so a filter looks the same at any
 * resolution. Strength s scales the change linearly (out = in + s * (fx -
 * in), in fixed point), so s = 0.5 does half of s = 1. Output stays in the
 * legal range for legal input. */
#include "render/fx_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int hc_fx_plane_alloc(hc_fx_plane *pl, int w, int h) {
    pl->w = w;
    pl->h = h;
    pl->px = calloc((size_t)(w > 0 ? w : 1), (size_t)(h > 0 ? h : 1));
    return pl->px ? 0 : HC_ENOMEM;
}

void hc_fx_plane_fini(hc_fx_plane *pl) {
    if (!pl) return;
    free(pl->px);
    pl->px = NULL;
}

/* Kovesi's split of a gaussian into n boxes: widths wl or wl + 2, chosen
 * so the cascade's variance (sum of (w^2 - 1) / 12) is nearest sigma^2. */
void hc_fx_box_radii(double sigma, int r[3]) {
    const int n = 3;
    sigma = sigma > 2000 ? 2000 : sigma > 0 ? sigma : 0;
    double var = sigma * sigma;
    int wl = (int)floor(sqrt(12 * var / n + 1));
    if (wl % 2 == 0) wl--;
    if (wl < 1) wl = 1;
    int m = (int)lround((12 * var - n * wl * wl - 4 * n * wl - 3 * n) / (-4.0 * wl - 4));
    for (int i = 0; i < n; i++)
        r[i] = (i < m ? wl : wl + 2) / 2;
}

/* 24-bit reciprocal of a box width w = 2r + 1: (sum * recip(r) + 2^23) >>
 * 24 rounds sum / w, and for sums of w 8-bit values (at most 255 w) the
 * product stays below 2^32 while w < 32768 (sigma is capped at 2000). */
static inline uint32_t recip(int r) {
    return (uint32_t)(((1 << 24) + r) / (2 * r + 1));
}

/* One horizontal box pass of radius r over n values, edges replicated.
 * The clamped edges are split off so the long middle run has no branches
 * (this pass is serial, a running sum, so it is most of a blur's time). */
static void box_row(const uint8_t *in, uint8_t *out, int n, int r) {
    uint32_t k = recip(r);
    uint32_t sum = in[0] * (uint32_t)(r + 1);
    for (int i = 1; i <= r; i++)
        sum += in[i < n ? i : n - 1];
    /* x in [0, a): the left end of the window is clamped; [a, b): nothing
     * is; [b, n): the right end is. */
    int a = r < n ? r : n, b = n - r - 1 > a ? n - r - 1 : a;
    int x = 0;
    for (; x < a; x++) {
        out[x] = (uint8_t)((sum * k + (1u << 23)) >> 24);
        int add = x + r + 1;
        sum += in[add < n ? add : n - 1];
        sum -= in[0];
    }
    for (; x < b; x++) {
        out[x] = (uint8_t)((sum * k + (1u << 23)) >> 24);
        sum += in[x + r + 1];
        sum -= in[x - r];
    }
    for (; x < n; x++) {
        out[x] = (uint8_t)((sum * k + (1u << 23)) >> 24);
        int sub = x - r;
        sum += in[n - 1];
        sum -= in[sub > 0 ? sub : 0];
    }
}

/* One vertical box pass of radius r: src (stride ss) -> dst (stride w). */
static void box_col(const uint8_t *src, int ss, uint8_t *dst, int w, int h, int r, uint32_t *acc) {
    uint32_t k = recip(r);
    for (int x = 0; x < w; x++)
        acc[x] = src[x] * (uint32_t)(r + 1);
    for (int i = 1; i <= r; i++) {
        const uint8_t *s = src + (size_t)(i < h ? i : h - 1) * ss;
        for (int x = 0; x < w; x++)
            acc[x] += s[x];
    }
    for (int y = 0; y < h; y++) {
        uint8_t *d = dst + (size_t)y * w;
        int add = y + r + 1, sub = y - r;
        const uint8_t *sa = src + (size_t)(add < h ? add : h - 1) * ss;
        const uint8_t *sb = src + (size_t)(sub > 0 ? sub : 0) * ss;
        for (int x = 0; x < w; x++) {
            d[x] = (uint8_t)((acc[x] * k + (1u << 23)) >> 24);
            acc[x] += (uint32_t)sa[x] - sb[x];
        }
    }
}

int hc_fx_gauss_plane(const uint8_t *src, int sstride, int w, int h, double sigma, uint8_t *dst,
                      uint8_t *tmp) {
    int r[3];
    hc_fx_box_radii(sigma, r);
    if (sigma < 0.5 || (r[0] | r[1] | r[2]) == 0) {
        for (int y = 0; y < h; y++)
            memcpy(dst + (size_t)y * w, src + (size_t)y * sstride, (size_t)w);
        return 0;
    }
    uint32_t *acc = malloc(sizeof *acc * (size_t)w);
    uint8_t *row = malloc((size_t)(w > h ? w : h) * 2);
    if (!acc || !row) {
        free(acc);
        free(row);
        return HC_ENOMEM;
    }
    /* Horizontal: src -> tmp, three passes ping-ponging in two row buffers. */
    uint8_t *ra = row, *rb = row + (w > h ? w : h);
    for (int y = 0; y < h; y++) {
        const uint8_t *in = src + (size_t)y * sstride;
        uint8_t *cur = (uint8_t *)in;
        for (int i = 0; i < 3; i++) {
            if (!r[i]) continue;
            uint8_t *out = cur == ra ? rb : ra;
            box_row(cur, out, w, r[i]);
            cur = out;
        }
        memcpy(tmp + (size_t)y * w, cur, (size_t)w);
    }
    /* Vertical: tmp -> dst -> tmp -> dst (skipped radii copy nothing). */
    uint8_t *cur = tmp, *other = dst;
    for (int i = 0; i < 3; i++) {
        if (!r[i]) continue;
        box_col(cur, w, other, w, h, r[i], acc);
        uint8_t *t = cur;
        cur = other;
        other = t;
    }
    if (cur != dst) memcpy(dst, cur, (size_t)w * (size_t)h);
    free(acc);
    free(row);
    return 0;
}

/* ---- soft_blur ------------------------------------------------------------- */
/* A gentle gaussian of radius (2 sigma) 0.4 % of the canvas width, i.e.
 * sigma 0.2 % (2.3 px on a 1134-wide canvas), on every plane
 * (chroma at its half resolution), mixed in by strength. */
static void soft_blur(const hc_fx_ctx *c, hc_yuv *img) {
    int s = hc_fx_amount256(c);
    if (!s) return;
    hc_fx_plane a = {0}, b = {0};
    if (hc_fx_plane_alloc(&a, img->w, img->h) || hc_fx_plane_alloc(&b, img->w, img->h)) goto done;
    for (int p = 0; p < 3; p++) {
        int w = hc_fx_plane_w(img, p), h = hc_fx_plane_h(img, p);
        /* At least 0.6 px so small canvases still soften. */
        double sigma = fmax(0.6, 0.002 * img->w / (p ? 2 : 1));
        if (hc_fx_gauss_plane(img->plane[p], img->stride[p], w, h, sigma, a.px, b.px)) goto done;
        for (int y = 0; y < h; y++) {
            uint8_t *d = hc_fx_row(img, p, y);
            const uint8_t *bl = a.px + (size_t)y * w;
            for (int x = 0; x < w; x++)
                d[x] = (uint8_t)hc_fx_mix(d[x], bl[x], s);
        }
    }
done:
    hc_fx_plane_fini(&a);
    hc_fx_plane_fini(&b);
}

const hc_fx hc_fx_soft_blur = {
    .name = "soft_blur",
    .desc = "gentle gaussian blur (radius 0.4 % of the width)",
    .stage = HC_FX_CANVAS,
    .apply = soft_blur,
};

/* ---- sharpen --------------------------------------------------------------- */
/* Unsharp mask on luma: Y += 0.8 (Y - gauss(Y)), sigma 0.1 % of the width
 * (at least 0.8 px), with a 2-code threshold so flat noise is not boosted.
 * Chroma is left alone (sharpening it only adds colour fringes). */
static void sharpen(const hc_fx_ctx *c, hc_yuv *img) {
    int s = hc_fx_amount256(c);
    if (!s) return;
    const int amount = 205; /* 0.8 in 1/256 */
    hc_fx_plane a = {0}, b = {0};
    if (hc_fx_plane_alloc(&a, img->w, img->h) || hc_fx_plane_alloc(&b, img->w, img->h)) goto done;
    double sigma = fmax(0.8, 0.001 * img->w);
    if (hc_fx_gauss_plane(img->plane[0], img->stride[0], img->w, img->h, sigma, a.px, b.px))
        goto done;
    for (int y = 0; y < img->h; y++) {
        uint8_t *d = hc_fx_row(img, 0, y);
        const uint8_t *bl = a.px + (size_t)y * img->w;
        for (int x = 0; x < img->w; x++) {
            int diff = d[x] - bl[x];
            /* Soft threshold: detail below 2 codes is left as it is. */
            diff = diff > 2 ? diff - 2 : diff < -2 ? diff + 2 : 0;
            int delta = hc_fx_div_round(diff * amount * s, 1 << 16);
            d[x] = hc_fx_clamp_u8(d[x] + delta, 16, 235);
        }
    }
done:
    hc_fx_plane_fini(&a);
    hc_fx_plane_fini(&b);
}

const hc_fx hc_fx_sharpen = {
    .name = "sharpen",
    .desc = "unsharp mask on luma (amount 0.8, sigma 0.1 % of the width)",
    .stage = HC_FX_CANVAS,
    .apply = sharpen,
};

/* ---- glow (bloom) ---------------------------------------------------------- */
/* Bright pass into a tight w x h plane, 0..255: luma (0..1 over 16..235)
 * times smoothstep(0.4, 0.9, luma), so highlights feed the glow with their
 * own brightness and mid-tones hardly at all. */
static void bright_pass(const hc_yuv *img, uint8_t *dst) {
    uint8_t lut[256];
    for (int v = 0; v < 256; v++) {
        double y = (v - 16) / 219.0;
        y = y < 0 ? 0 : y > 1 ? 1 : y;
        double t = (y - 0.4) / 0.5;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        lut[v] = (uint8_t)lround(255 * y * t * t * (3 - 2 * t));
    }
    for (int y = 0; y < img->h; y++) {
        const uint8_t *src = hc_fx_row(img, 0, y);
        uint8_t *d = dst + (size_t)y * img->w;
        for (int x = 0; x < img->w; x++)
            d[x] = lut[src[x]];
    }
}

/* The bright pass g blurred with a sigma of 2 % of the width and screened
 * back over the luma at 0.6: y' = 1 - (1 - y)(1 - 0.6 g). The added light
 * is white, so chroma is pulled towards neutral in proportion to it. */
static void glow(const hc_fx_ctx *c, hc_yuv *img) {
    int s = hc_fx_amount256(c);
    if (!s) return;
    int w = img->w, h = img->h;
    hc_fx_plane a = {0}, b = {0}, g = {0};
    if (hc_fx_plane_alloc(&a, w, h) || hc_fx_plane_alloc(&b, w, h) || hc_fx_plane_alloc(&g, w, h))
        goto done;
    bright_pass(img, a.px);
    if (hc_fx_gauss_plane(a.px, w, w, h, 0.02 * w, g.px, b.px)) goto done;
    /* Screen g into luma; remember the light added per pixel in a. */
    const int k = 154; /* 0.6 in 1/256 */
    for (int y = 0; y < h; y++) {
        uint8_t *d = hc_fx_row(img, 0, y), *added = a.px + (size_t)y * w;
        const uint8_t *gl = g.px + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            int yv = d[x] < 16 ? 0 : d[x] > 235 ? 219 : d[x] - 16;
            /* (219 - y) * g/255 * k/256 * s/256 codes of light */
            int add = (int)(((int64_t)(219 - yv) * gl[x] * k * s + (255LL << 15)) / (255LL << 16));
            d[x] = hc_fx_clamp_u8(16 + yv + add, 16, 235);
            added[x] = (uint8_t)add;
        }
    }
    /* Desaturate by the fraction of light added over the 2x2 block. */
    for (int y = 0; y < h / 2; y++) {
        uint8_t *u = hc_fx_row(img, 1, y), *v = hc_fx_row(img, 2, y);
        const uint8_t *a0 = a.px + (size_t)(2 * y) * w, *a1 = a0 + w;
        for (int x = 0; x < w / 2; x++) {
            int add = a0[2 * x] + a0[2 * x + 1] + a1[2 * x] + a1[2 * x + 1]; /* x4 */
            int keep = 876 - add;                                            /* of 4 * 219 */
            keep = keep < 0 ? 0 : keep;
            u[x] = (uint8_t)(128 + hc_fx_div_round((u[x] - 128) * keep, 876));
            v[x] = (uint8_t)(128 + hc_fx_div_round((v[x] - 128) * keep, 876));
        }
    }
done:
    hc_fx_plane_fini(&a);
    hc_fx_plane_fini(&b);
    hc_fx_plane_fini(&g);
}

const hc_fx hc_fx_glow = {
    .name = "glow",
    .desc = "bloom: bright areas blurred (2 % of the width) and screened back",
    .stage = HC_FX_CANVAS,
    .apply = glow,
};
