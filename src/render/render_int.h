/* Internals shared by the render module's files: the row sampler, row
 * blending helpers for transitions, easing, and the small noise functions.
 * Not a public interface. */
#ifndef HC_RENDER_INT_H
#define HC_RENDER_INT_H

#include "render/hc_render.h"

#include <stdint.h>

/* A prepared bilinear resampler from one source plane to a dw x dh
 * destination: destination pixel centre (x + .5, y + .5) maps to source
 * (left + (x + .5) * sx - .5, top + (y + .5) * sy - .5), clamped to the
 * plane. Separable: each needed source row is resampled horizontally once
 * (6-bit weights, 16-bit results), then pairs of such rows are blended
 * vertically (6-bit weights). The SSSE3 path (pshufb gather, pmaddubsw,
 * pmulhrsw) and the portable path compute bit-identical results. One per
 * thread (owns row buffers). */
typedef struct hc_sampler {
    const uint8_t *src;
    int sstride, sw, sh, dw, dh;
    double top, sy;
    int32_t *xi;          /* per destination column: left source index */
    uint8_t *xw;          /* per destination column: weight of xi + 1 (0..64) */
    int n_blocks;         /* SIMD blocks of 8 columns (0 = portable path) */
    int32_t *blk_base;    /* per block: first source byte loaded */
    uint8_t *blk_mask;    /* per block: 16-byte pshufb mask (pairs i, i + 1) */
    uint8_t *blk_wts;     /* per block: 16 signed weights (64 - w, w) */
    int16_t *hrow[2];     /* horizontally resampled rows (cache of two) */
    int hrow_src[2];      /* which source row each holds (-1 none) */
    int copy_dx, copy_dy; /* >= 0: an integer-aligned 1:1 copy from this offset */
} hc_sampler;

int hc_sampler_init(hc_sampler *s, const uint8_t *src, int sstride, int sw, int sh, int dw, int dh,
                    double left, double top, double sx, double sy);
/* Resample destination row y (rows should be asked in increasing order for
 * the row cache to work; any order is correct). */
void hc_sampler_row(hc_sampler *s, int y, uint8_t *out);
void hc_sampler_fini(hc_sampler *s);
/* Tests: force the portable path (false = use SIMD when the CPU has it). */
extern bool hc_sampler_portable_only;

/* Eased progress. */
double hc_ease(hc_easing e, double p);
static inline double hc_smoothstep(double t) {
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return t * t * (3 - 2 * t);
}

/* dst = a + (b - a) * w / 256 over n bytes (w 0..256). */
void hc_blend_row(uint8_t *dst, const uint8_t *a, const uint8_t *b, int n, int w);
/* dst = a + (b - a) * alpha[i] / 256 over n bytes. */
void hc_blend_row_mask(uint8_t *dst, const uint8_t *a, const uint8_t *b, const uint16_t *alpha,
                       int n);
/* dst = a + (c - a) * w / 256 towards a constant c. */
void hc_blend_row_const(uint8_t *dst, const uint8_t *a, uint8_t c, int n, int w);
/* Row of a soft disc of radius r centred at column cx, dy rows from its
 * centre: pixels inside come from `in`, outside from `out` (NULL: the
 * constant out_value), with a rim `soft` pixels wide. Rows are split into
 * spans fully inside, fully outside and the rim, so only rim pixels pay for
 * a square root. */
void hc_disc_row(uint8_t *d, const uint8_t *in, const uint8_t *out, uint8_t out_value, int w,
                 double dy, double cx, double r, double soft);
/* Weight 0..256 for coverage of a soft edge: d = signed distance (pixels,
 * positive inside), soft = edge width in pixels. */
static inline int hc_edge_weight(double d, double soft) {
    double a = d / soft + 0.5;
    a = a < 0 ? 0 : a > 1 ? 1 : a;
    return (int)(a * 256 + 0.5);
}
/* Deterministic hash noise in [0, 1) for integer coordinates. */
static inline double hc_noise2(uint64_t seed, int x, int y) {
    uint64_t h = seed ^ ((uint64_t)(uint32_t)x * 0x9e3779b97f4a7c15ULL) ^
                 ((uint64_t)(uint32_t)y * 0xc2b2ae3d27d4eb4fULL);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}
/* Smooth 1-D value noise in [-1, 1] (continuous, C1). */
double hc_value_noise(uint64_t seed, double t);

/* Row pointer helpers for transitions. */
static inline uint8_t *tr_dst(const hc_tr_plane *t, int y) {
    return t->dst + (size_t)y * t->dst_stride;
}
static inline const uint8_t *tr_a(const hc_tr_plane *t, int y) {
    return t->a + (size_t)y * t->a_stride;
}
static inline const uint8_t *tr_b(const hc_tr_plane *t, int y) {
    return t->b + (size_t)y * t->b_stride;
}

#endif
