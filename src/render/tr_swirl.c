/* swirl: the picture twists around the centre, most at the middle of the
 * transition and most near the centre (angle A * (1 - r^2/R^2)^2, R most of
 * the half-diagonal: 0.7), while a crossfades to b under the twist; then it
 * unwinds. Bilinear sampling is linear, so warping the crossfade equals
 * crossfading the warps: a and b are blended first (one vectorised pass)
 * and the blend is warped once (8-bit weights, 16.16 positions).
 *
 * Speed: the angle depends on r^2 only, so cos and sin come from a small
 * table over r^2 / R^2 (linearly interpolated): no per-pixel sqrt or trig.
 * Each row is warped only where it crosses the disc r < R (its extent is one
 * sqrt per row); outside, it is a plain crossfade. Positions are exact
 * every 8 pixels and stepped linearly in between. */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    /* Round half away from zero, inline (lrintf is a libm call here). */
    float fx = (g->cx - 0.5f + dx * c - dy * s) * 65536.0f,
          fy = (g->cy - 0.5f + dx * s + dy * c) * 65536.0f;
    *sx = (int32_t)(fx + (fx >= 0 ? 0.5f : -0.5f));
    *sy = (int32_t)(fy + (fy >= 0 ? 0.5f : -0.5f));
}

/* Bilinear read at 16.16 (sx, sy), clamped to the plane, x 65536. The
 * source has one readable column and row past its edges (zero weight). */
static inline uint32_t bilinear(const uint8_t *base, int stride, int32_t sx, int32_t sy, int32_t mx,
                                int32_t my) {
    sx = sx < 0 ? 0 : sx > mx ? mx : sx;
    sy = sy < 0 ? 0 : sy > my ? my : sy;
    int fx = (sx >> 8) & 255, fy = (sy >> 8) & 255;
    const uint8_t *p = base + (size_t)(sy >> 16) * stride + (sx >> 16);
    int top = (p[0] << 8) + (p[1] - p[0]) * fx,
        bot = (p[stride] << 8) + (p[stride + 1] - p[stride]) * fx;
    return (uint32_t)((top << 8) + (bot - top) * fy);
}

#if defined(__x86_64__)
#include <immintrin.h>

/* The same bilinear read for 8 pixels at once: positions sx + k * ddx,
 * sy + k * ddy (k = 0..7); two 32-bit gathers fetch each pixel's pair of
 * taps on its two rows. Bit-identical to bilinear(). */
__attribute__((target("avx2"), always_inline)) static inline void
warp8_avx2(const uint8_t *src, int stride, int32_t sx, int32_t sy, int32_t ddx, int32_t ddy,
           int32_t mx, int32_t my, uint8_t *out) {
    const __m256i k = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), zero = _mm256_setzero_si256();
    __m256i x =
        _mm256_add_epi32(_mm256_set1_epi32(sx), _mm256_mullo_epi32(k, _mm256_set1_epi32(ddx)));
    __m256i y =
        _mm256_add_epi32(_mm256_set1_epi32(sy), _mm256_mullo_epi32(k, _mm256_set1_epi32(ddy)));
    x = _mm256_min_epi32(_mm256_max_epi32(x, zero), _mm256_set1_epi32(mx));
    y = _mm256_min_epi32(_mm256_max_epi32(y, zero), _mm256_set1_epi32(my));
    const __m256i b255 = _mm256_set1_epi32(255), lo8 = _mm256_set1_epi32(0xff);
    __m256i fx = _mm256_and_si256(_mm256_srli_epi32(x, 8), b255),
            fy = _mm256_and_si256(_mm256_srli_epi32(y, 8), b255);
    __m256i off =
        _mm256_add_epi32(_mm256_mullo_epi32(_mm256_srli_epi32(y, 16), _mm256_set1_epi32(stride)),
                         _mm256_srli_epi32(x, 16));
    __m256i r0 = _mm256_i32gather_epi32((const int *)src, off, 1);
    __m256i r1 = _mm256_i32gather_epi32((const int *)(src + stride), off, 1);
    __m256i p00 = _mm256_and_si256(r0, lo8), p01 = _mm256_and_si256(_mm256_srli_epi32(r0, 8), lo8);
    __m256i p10 = _mm256_and_si256(r1, lo8), p11 = _mm256_and_si256(_mm256_srli_epi32(r1, 8), lo8);
    __m256i top = _mm256_add_epi32(_mm256_slli_epi32(p00, 8),
                                   _mm256_mullo_epi32(_mm256_sub_epi32(p01, p00), fx));
    __m256i bot = _mm256_add_epi32(_mm256_slli_epi32(p10, 8),
                                   _mm256_mullo_epi32(_mm256_sub_epi32(p11, p10), fx));
    __m256i v = _mm256_add_epi32(_mm256_slli_epi32(top, 8),
                                 _mm256_mullo_epi32(_mm256_sub_epi32(bot, top), fy));
    v = _mm256_srli_epi32(_mm256_add_epi32(v, _mm256_set1_epi32(32768)), 16);
    __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64((__m128i *)out, _mm_packus_epi16(w, w));
}

/* libgcc caches the CPU features: no cache of our own (it would be a data
 * race between compose threads). */
static bool have_avx2(void) {
    return __builtin_cpu_supports("avx2");
}
#endif

/* Pixels [x0, x1) of row y from the blended plane src: exact positions
 * every SPAN pixels, linear in between (the warp is smooth: under 0.15 px
 * of error). Written once, compiled twice: with AVX2 gathers for whole
 * spans, and portable. */
enum { SPAN = 8 };
#define WARP_SPAN_BODY(KERNEL)                                                                     \
    uint8_t *d = tr_dst(t, y);                                                                     \
    const float dy = (float)(y + 0.5) - g->cy;                                                     \
    const int32_t mx = (t->w - 1) << 16, my = (t->h - 1) << 16;                                    \
    int32_t nx, ny; /* exact position at the start of the next span */                             \
    warp_at(g, (float)x0 + 0.5f - g->cx, dy, &nx, &ny);                                            \
    for (int xs = x0; xs < x1; xs += SPAN) {                                                       \
        int32_t sx0 = nx, sy0 = ny;                                                                \
        warp_at(g, (float)(xs + SPAN) + 0.5f - g->cx, dy, &nx, &ny);                               \
        int32_t ddx = (nx - sx0) / SPAN, ddy = (ny - sy0) / SPAN;                                  \
        int xe = xs + SPAN < x1 ? xs + SPAN : x1;                                                  \
        KERNEL                                                                                     \
        for (int x = xs; x < xe; x++, sx0 += ddx, sy0 += ddy)                                      \
            d[x] = (uint8_t)((bilinear(src, stride, sx0, sy0, mx, my) + 32768) >> 16);             \
    }

static void warp_span(const hc_tr_plane *t, const swirl_geo *g, const uint8_t *src, int stride,
                      int y, int x0, int x1) {
    WARP_SPAN_BODY(;)
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void warp_span_avx2(const hc_tr_plane *t, const swirl_geo *g,
                                                           const uint8_t *src, int stride, int y,
                                                           int x0, int x1) {
    WARP_SPAN_BODY(if (xe - xs == SPAN) {
        warp8_avx2(src, stride, sx0, sy0, ddx, ddy, mx, my, d + xs);
        continue;
    })
}
#endif

static void swirl(const hc_tr_plane *t) {
    double twist = 2.4 * sin(M_PI * t->p); /* radians at the centre */
    int m = (int)(hc_smoothstep((t->p - 0.35) / 0.3) * 256 + 0.5);
    double cx = t->w / 2.0, cy = t->h / 2.0, R = 0.7 * sqrt(cx * cx + cy * cy);
    /* The crossfade, with a spare column and row for the bilinear reads. */
    int stride = t->w + 16; /* room for the 4-byte gathers past the last column */
    uint8_t *mix = malloc((size_t)stride * (size_t)(t->h + 1));
    float *tab = malloc(sizeof *tab * 2 * (SWIRL_N + 2));
    if (!tab || !mix) {
        free(tab);
        free(mix);
        return;
    }
    for (int y = 0; y < t->h; y++) {
        uint8_t *r = mix + (size_t)y * stride;
        hc_blend_row(r, tr_a(t, y), tr_b(t, y), t->w, m);
        r[t->w] = r[t->w - 1];
    }
    memcpy(mix + (size_t)t->h * stride, mix + (size_t)(t->h - 1) * stride, (size_t)stride);
    swirl_geo g = {(float)cx, (float)cy, (float)(SWIRL_N / (R * R)), tab, tab + SWIRL_N + 2};
    for (int i = 0; i <= SWIRL_N + 1; i++) {
        double q = (double)i / SWIRL_N, ang = q < 1 ? twist * (1 - q) * (1 - q) : 0;
        tab[i] = (float)cos(ang), tab[SWIRL_N + 2 + i] = (float)sin(ang);
    }
    for (int y = 0; y < t->h; y++) {
        uint8_t *d = tr_dst(t, y);
        const uint8_t *r = mix + (size_t)y * stride;
        double dy = y + 0.5 - cy, e2 = R * R - dy * dy;
        int x0 = 0, x1 = 0; /* the warped span: one sqrt per row */
        if (e2 > 0) {
            double e = sqrt(e2);
            x0 = (int)floor(cx - e - 0.5);
            x1 = (int)ceil(cx + e + 0.5);
            x0 = x0 < 0 ? 0 : x0 > t->w ? t->w : x0;
            x1 = x1 < x0 ? x0 : x1 > t->w ? t->w : x1;
        }
        if (x0 > 0) memcpy(d, r, (size_t)x0);
        if (x1 < t->w) memcpy(d + x1, r + x1, (size_t)(t->w - x1));
        if (x0 >= x1) continue;
#if defined(__x86_64__)
        if (have_avx2() && !hc_sampler_portable_only) {
            warp_span_avx2(t, &g, mix, stride, y, x0, x1);
            continue;
        }
#endif
        warp_span(t, &g, mix, stride, y, x0, x1);
    }
    free(tab);
    free(mix);
}

const hc_transition hc_tr_swirl = {"swirl", "twist around the centre, crossfading under it",
                                   HC_EASE_SMOOTH, swirl};
