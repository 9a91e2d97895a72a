/* The compositor's hot loop: bilinear resampling of one plane in fixed
 * point, straight in YUV. The scale is uniform, so column positions and
 * weights are computed once per call; the work is separable: each source
 * row needed is resampled horizontally once into 16 bits, and each output
 * row is a vertical blend of two such rows.
 *
 * Fixed point (both paths, bit-identical):
 *   h = a * (64 - w) + b * w                       w in 0..64, h in 0..16320
 *   v = h0 + (((h1 - h0) * (g << 9) + 0x4000) >> 15)   g in 0..63
 *   out = (v + 32) >> 6
 * Positions carry 6 fractional bits (1/64 pixel): motion moves smoothly,
 * never in integer jumps. On x86 with SSSE3 the horizontal pass gathers 8
 * output pixels' tap pairs with one pshufb from a 16-byte load (masks
 * precomputed per block, valid while 8 columns span at most 15 source
 * pixels, i.e. any scale below 2) and weights them with one pmaddubsw; the
 * vertical pass is pmulhrsw. */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HC_X86 1
#endif

bool hc_sampler_portable_only;

static bool near_int(double v, int *out) {
    double r = floor(v + 0.5);
    if (fabs(v - r) > 1e-6) return false;
    *out = (int)r;
    return true;
}

/* Horizontal taps: i in 0..n-2 and w in 0..64, so i + 1 is always inside. */
static void htap(double u, int n, int32_t *i_out, uint8_t *w_out) {
    if (u < 0) u = 0;
    if (u > n - 1) u = n - 1;
    int i = (int)u, w = (int)((u - i) * 64 + 0.5);
    if (i >= n - 1) {
        i = n - 2;
        w = 64;
    }
    *i_out = i;
    *w_out = (uint8_t)w;
}

/* Vertical taps: j in 0..n-1, g in 0..63 (g = 0 at the last row). */
static int vtap(double v, int n, int *j_out) {
    if (v < 0) v = 0;
    if (v > n - 1) v = n - 1;
    int j = (int)v, g = (int)((v - j) * 64 + 0.5);
    if (g == 64) {
        j++;
        g = 0;
    }
    if (j >= n - 1) {
        j = n - 1;
        g = 0;
    }
    *j_out = j;
    return g;
}

static bool cpu_has_ssse3(void) {
#ifdef HC_X86
    return __builtin_cpu_supports("ssse3");
#else
    return false;
#endif
}

static void *xalloc(size_t n) {
    return malloc(n ? n : 1);
}

int hc_sampler_init(hc_sampler *s, const uint8_t *src, int sstride, int sw, int sh, int dw, int dh,
                    double left, double top, double sx, double sy) {
    memset(s, 0, sizeof *s);
    s->src = src;
    s->sstride = sstride;
    s->sw = sw;
    s->sh = sh;
    s->dw = dw;
    s->dh = dh;
    s->top = top;
    s->sy = sy;
    s->copy_dx = s->copy_dy = -1;
    s->hrow_src[0] = s->hrow_src[1] = -1;
    int ix, iy;
    if (fabs(sx - 1) < 1e-9 && fabs(sy - 1) < 1e-9 && near_int(left, &ix) && near_int(top, &iy) &&
        ix >= 0 && iy >= 0 && ix + dw <= sw && iy + dh <= sh) {
        s->copy_dx = ix;
        s->copy_dy = iy;
        return 0;
    }
    if (sw < 2 || sh < 1 || dw < 1) return HC_EINVAL;
    int blocks = (dw + 7) / 8, padded = blocks * 8;
    s->xi = xalloc(sizeof *s->xi * (size_t)padded);
    s->xw = xalloc((size_t)padded);
    s->hrow[0] = xalloc(sizeof(int16_t) * (size_t)padded);
    s->hrow[1] = xalloc(sizeof(int16_t) * (size_t)padded);
    if (!s->xi || !s->xw || !s->hrow[0] || !s->hrow[1]) {
        hc_sampler_fini(s);
        return HC_ENOMEM;
    }
    for (int x = 0; x < padded; x++) {
        int xc = x < dw ? x : dw - 1; /* padding columns repeat the last one */
        htap(left + (xc + 0.5) * sx - 0.5, sw, &s->xi[x], &s->xw[x]);
    }
    if (hc_sampler_portable_only || !cpu_has_ssse3() || sw < 16) return 0;
    s->blk_base = xalloc(sizeof *s->blk_base * (size_t)blocks);
    s->blk_mask = xalloc(16 * (size_t)blocks);
    s->blk_wts = xalloc(16 * (size_t)blocks);
    if (!s->blk_base || !s->blk_mask || !s->blk_wts) {
        hc_sampler_fini(s);
        return HC_ENOMEM;
    }
    for (int b = 0; b < blocks; b++) {
        int base = s->xi[b * 8];
        if (base > sw - 16) base = sw - 16; /* keep the 16-byte load inside the row */
        s->blk_base[b] = base;
        for (int k = 0; k < 8; k++) {
            int rel = s->xi[b * 8 + k] - base;
            if (rel < 0 || rel + 1 > 15) { /* scale too small for one load: portable path */
                free(s->blk_base);
                free(s->blk_mask);
                free(s->blk_wts);
                s->blk_base = NULL;
                s->blk_mask = s->blk_wts = NULL;
                return 0;
            }
            s->blk_mask[b * 16 + 2 * k] = (uint8_t)rel;
            s->blk_mask[b * 16 + 2 * k + 1] = (uint8_t)(rel + 1);
            s->blk_wts[b * 16 + 2 * k] = (uint8_t)(64 - s->xw[b * 8 + k]);
            s->blk_wts[b * 16 + 2 * k + 1] = s->xw[b * 8 + k];
        }
    }
    s->n_blocks = blocks;
    return 0;
}

void hc_sampler_fini(hc_sampler *s) {
    free(s->xi);
    free(s->xw);
    free(s->blk_base);
    free(s->blk_mask);
    free(s->blk_wts);
    free(s->hrow[0]);
    free(s->hrow[1]);
    memset(s, 0, sizeof *s);
}

static void hpass_portable(const hc_sampler *s, const uint8_t *r, int16_t *h) {
    for (int x = 0; x < s->dw; x++) {
        int i = s->xi[x], w = s->xw[x];
        h[x] = (int16_t)(r[i] * (64 - w) + r[i + 1] * w);
    }
}

/* Vertical blend of columns [from, to) (the whole row, or the SIMD tail). */
static void vpass_range(const int16_t *h0, const int16_t *h1, int g, uint8_t *out, int from,
                        int to) {
    const int32_t gs = g << 9;
    for (int x = from; x < to; x++) {
        int v = h0[x];
        if (g) v += (int)(((int32_t)(h1[x] - h0[x]) * gs + 0x4000) >> 15);
        out[x] = (uint8_t)((v + 32) >> 6);
    }
}

#ifdef HC_X86
__attribute__((target("ssse3"))) static void hpass_ssse3(const hc_sampler *s, const uint8_t *r,
                                                         int16_t *h) {
    for (int b = 0; b < s->n_blocks; b++) {
        __m128i px = _mm_loadu_si128((const __m128i *)(r + s->blk_base[b]));
        __m128i pairs =
            _mm_shuffle_epi8(px, _mm_loadu_si128((const __m128i *)(s->blk_mask + 16 * b)));
        __m128i v =
            _mm_maddubs_epi16(pairs, _mm_loadu_si128((const __m128i *)(s->blk_wts + 16 * b)));
        _mm_storeu_si128((__m128i *)(h + 8 * b), v);
    }
}

__attribute__((target("ssse3"))) static void vpass_ssse3(const hc_sampler *s, const int16_t *h0,
                                                         const int16_t *h1, int g, uint8_t *out) {
    const __m128i gs = _mm_set1_epi16((int16_t)(g << 9)), rnd = _mm_set1_epi16(32);
    int x = 0;
    for (; x + 16 <= s->dw; x += 16) {
        __m128i a0 = _mm_loadu_si128((const __m128i *)(h0 + x)),
                a1 = _mm_loadu_si128((const __m128i *)(h0 + x + 8));
        if (g) {
            __m128i b0 = _mm_loadu_si128((const __m128i *)(h1 + x)),
                    b1 = _mm_loadu_si128((const __m128i *)(h1 + x + 8));
            a0 = _mm_add_epi16(a0, _mm_mulhrs_epi16(_mm_sub_epi16(b0, a0), gs));
            a1 = _mm_add_epi16(a1, _mm_mulhrs_epi16(_mm_sub_epi16(b1, a1), gs));
        }
        a0 = _mm_srli_epi16(_mm_add_epi16(a0, rnd), 6);
        a1 = _mm_srli_epi16(_mm_add_epi16(a1, rnd), 6);
        _mm_storeu_si128((__m128i *)(out + x), _mm_packus_epi16(a0, a1));
    }
    vpass_range(h0, h1, g, out, x, s->dw);
}
#endif

/* The horizontally resampled source row j. Row j lives in slot j & 1, so
 * the two rows a destination row blends never evict each other. */
static const int16_t *hrow(hc_sampler *s, int j) {
    int k = j & 1;
    if (s->hrow_src[k] != j) {
        const uint8_t *r = s->src + (size_t)j * s->sstride;
#ifdef HC_X86
        if (s->n_blocks)
            hpass_ssse3(s, r, s->hrow[k]);
        else
#endif
            hpass_portable(s, r, s->hrow[k]);
        s->hrow_src[k] = j;
    }
    return s->hrow[k];
}

void hc_sampler_row(hc_sampler *s, int y, uint8_t *out) {
    if (s->copy_dx >= 0) {
        memcpy(out, s->src + (size_t)(s->copy_dy + y) * s->sstride + s->copy_dx, (size_t)s->dw);
        return;
    }
    int j, g = vtap(s->top + (y + 0.5) * s->sy - 0.5, s->sh, &j);
    const int16_t *h0 = hrow(s, j), *h1 = g ? hrow(s, j + 1) : h0;
#ifdef HC_X86
    if (s->n_blocks) {
        vpass_ssse3(s, h0, h1, g, out);
        return;
    }
#endif
    vpass_range(h0, h1, g, out, 0, s->dw);
}

void hc_sample_view(const hc_yuv *cv, const hc_view *v, hc_yuv *out) {
    double z = v->zoom < 1 ? 1 : v->zoom;
    double vw = cv->w / z, vh = cv->h / z;
    double left = v->cx * cv->w - vw / 2, top = v->cy * cv->h - vh / 2;
    if (left < 0) left = 0;
    if (left > cv->w - vw) left = cv->w - vw;
    if (top < 0) top = 0;
    if (top > cv->h - vh) top = cv->h - vh;
    double sx = vw / out->w, sy = vh / out->h;
    for (int p = 0; p < 3; p++) {
        int d = p ? 2 : 1;
        hc_sampler s;
        if (hc_sampler_init(&s, cv->plane[p], cv->stride[p], cv->w / d, cv->h / d, out->w / d,
                            out->h / d, left / d, top / d, sx, sy) != 0) {
            hc_yuv_fill(out, 16, 128, 128);
            return;
        }
        for (int y = 0; y < out->h / d; y++)
            hc_sampler_row(&s, y, out->plane[p] + (size_t)y * out->stride[p]);
        hc_sampler_fini(&s);
    }
}
