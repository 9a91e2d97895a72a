/* light_leak: a warm glow bleeding in from one edge of the frame, as when
 * light leaks past a film camera's door. Two soft Gaussian blobs (a wide
 * red-orange halo and a smaller amber core, both stretched along the edge)
 * sit just outside the edge the seed picks (left, right or top) and drift
 * slowly along it, breathing in brightness; both move smoothly in time
 * (sines and value noise of time_s, periods of many seconds), so
 * consecutive frames barely differ. Screen-blended: in RGB out = x + a c
 * (1 - x), taken here with one (1 - x) from luma for all three components,
 * and softened to (1 - 0.6 x) so the glow still warms highlights a little
 * instead of vanishing there (luma clamped at 235). A Gaussian is
 * separable: per call only w + h exponentials; per pixel two 16-bit
 * multiply-adds for the blob weights and one for the blend. */
#include "render/fx_frame_int.h"

#include <math.h>
#include <stdlib.h>

#define PI            3.14159265358979323846
#define LEAK_PERIOD_S 17.0 /* one sweep along the edge and back */

typedef struct leak_blob {
    double cx, cy, sx, sy; /* centre and spread, luma pixels */
    double alpha;          /* peak opacity */
    double y, u, v;        /* the light's colour: Y 0..1, U/V offsets in code values */
} leak_blob;

/* A colour in RGB 0..1 as BT.709 normalised luma and limited-range chroma
 * offsets. */
static void blob_colour(leak_blob *b, double r, double g, double bl) {
    b->y = 0.2126 * r + 0.7152 * g + 0.0722 * bl;
    b->u = 224 * (bl - b->y) / 1.8556;
    b->v = 224 * (r - b->y) / 1.5748;
}

/* The two blobs at this time, in luma pixel coordinates. */
static void leak_blobs(const hc_fx_ctx *c, int w, int h, leak_blob b[2]) {
    uint64_t hs = hc_fx_hash(c->seed ^ 0x4c45414bULL, 1, 2);
    int edge = (int)(hs % 3); /* 0 left, 1 right, 2 top */
    double phase = (double)((hs >> 8) & 0xffff) / 65536.0 * 2 * PI;
    double t = c->time_s;
    double along = 0.5 + 0.38 * sin(2 * PI * t / LEAK_PERIOD_S + phase) +
                   0.08 * hc_value_noise(hs ^ 1, t * 0.23);
    double core_off = 0.10 * sin(2 * PI * t / (LEAK_PERIOD_S * 0.61) + 2 * phase);
    double out = 0.06 + 0.05 * hc_value_noise(hs ^ 2, t * 0.17); /* outside the edge, of w */
    double breathe = 0.78 + 0.22 * hc_value_noise(hs ^ 3, t * 0.31);
    double len = edge == 2 ? w : h;
    double a0 = along * len, a1 = (along + core_off) * len;
    double d0 = -out * w, d1 = (0.03 - out) * w; /* the core sits a little further in */
    /* Each blob is stretched along its edge, a streak rather than a spot. */
    double across[2] = {0.38 * w, 0.17 * w}, along_s[2] = {0.60 * w, 0.30 * w};
    b[0].alpha = 0.75 * breathe;
    b[1].alpha = 0.60 * breathe;
    blob_colour(&b[0], 1.0, 0.36, 0.10);
    blob_colour(&b[1], 1.0, 0.75, 0.40);
    double d[2] = {d0, d1}, a[2] = {a0, a1};
    for (int k = 0; k < 2; k++) {
        switch (edge) {
        case 0:
            b[k].cx = d[k];
            b[k].cy = a[k];
            break;
        case 1:
            b[k].cx = w - d[k];
            b[k].cy = a[k];
            break;
        default:
            b[k].cx = a[k];
            b[k].cy = d[k];
        }
        b[k].sx = edge == 2 ? along_s[k] : across[k];
        b[k].sy = edge == 2 ? across[k] : along_s[k];
    }
}

/* 65535 * exp(-((i + .5) * sub - c)^2 / (2 sigma^2)) for i in 0..n-1. */
static void gauss(uint16_t *g, int n, int sub, double c, double sigma) {
    double k = 1 / (2 * sigma * sigma);
    for (int i = 0; i < n; i++) {
        double d = (i + 0.5) * sub - c;
        g[i] = (uint16_t)(65535 * exp(-d * d * k) + 0.5);
    }
}

/* (a * b) >> 16 on 16-bit lanes (pmulhuw). */
static inline uint16_t mulhi(uint16_t a, uint16_t b) {
    return (uint16_t)(((uint32_t)a * b) >> 16);
}

/* The light's gain over luma v (16..235), 219 (1 - x) in screen; here
 * 219 (1 - 0.6 x), so highlights still warm up a little (clamped). */
static inline uint16_t room(uint16_t v) {
    return (uint16_t)(219 - (((v - 16) * 154) >> 8));
}

/* Y += room(Y) / 219 * (g0 r0 + g1 r1), profiles and row gains in Q16. */
static HC_FX_INLINE void luma_row_body(uint8_t *restrict r, const uint16_t *restrict g0,
                                       const uint16_t *restrict g1, uint16_t r0, uint16_t r1,
                                       int n) {
    for (int x = 0; x < n; x++) {
        uint16_t v = r[x] < 16 ? 16 : r[x] > 235 ? 235 : r[x];
        uint16_t k = (uint16_t)(mulhi(g0[x], r0) + mulhi(g1[x], r1));
        uint16_t add = mulhi((uint16_t)(room(v) << 8), k); /* Q8 */
        uint16_t o = (uint16_t)(v + ((uint16_t)(add + 128) >> 8));
        r[x] = (uint8_t)(o > 235 ? 235 : o);
    }
}
HC_FX_ROW(luma_row,
          (uint8_t *restrict r, const uint16_t *restrict g0, const uint16_t *restrict g1,
           uint16_t r0, uint16_t r1, int n),
          (r, g0, g1, r0, r1, n))

/* C += room(Y) / 219 * (g0 c0 + g1 c1), Y the co-sited luma (every
 * other pixel); profiles Q16, row gains c0, c1 signed Q14 (code values per
 * unit of (1 - x), |c| < 2^13), all in 16-bit lanes. */
static HC_FX_INLINE void chroma_row_body(uint8_t *restrict r, const uint8_t *restrict luma,
                                         const uint16_t *restrict g0, const uint16_t *restrict g1,
                                         int16_t c0, int16_t c1, int n) {
    for (int x = 0; x < n; x++) {
        uint16_t l = luma[2 * x] < 16 ? 16 : luma[2 * x] > 235 ? 235 : luma[2 * x];
        /* k = g c / 2^16 (Q14); room 2^7 k / 2^16 = room k / 2^9:
         * the change in Q5 (the 1/219 is folded into c). */
        int16_t k =
            (int16_t)((((int32_t)(g0[x] >> 1) * c0) >> 15) + (((int32_t)(g1[x] >> 1) * c1) >> 15));
        int16_t add = (int16_t)(((int32_t)(int16_t)(room(l) << 7) * k) >> 16);
        int16_t v = (int16_t)(r[x] + ((add + 16) >> 5));
        r[x] = (uint8_t)(v < 16 ? 16 : v > 240 ? 240 : v);
    }
}
HC_FX_ROW(chroma_row,
          (uint8_t *restrict r, const uint8_t *restrict luma, const uint16_t *restrict g0,
           const uint16_t *restrict g1, int16_t c0, int16_t c1, int n),
          (r, luma, g0, g1, c0, c1, n))

static void light_leak(const hc_fx_ctx *c, hc_yuv *img) {
    double s = c->strength < 0 ? 0 : c->strength > 1.5 ? 1.5 : c->strength;
    int w = img->w, h = img->h, cw = w / 2, ch = h / 2;
    if (s <= 0 || w < 2 || h < 2) return;
    leak_blob b[2];
    leak_blobs(c, w, h, b);
    /* Per blob a column and a row profile, for luma and for chroma; only
     * w + h exponentials each. */
    uint16_t *prof = malloc(sizeof *prof * 2 * ((size_t)w + h + cw + ch));
    if (!prof) return;
    uint16_t *gx[2], *gy[2], *cx[2], *cy[2];
    uint16_t *p = prof;
    for (int i = 0; i < 2; i++) {
        gx[i] = p, p += w;
        gy[i] = p, p += h;
        cx[i] = p, p += cw;
        cy[i] = p, p += ch;
        gauss(gx[i], w, 1, b[i].cx, b[i].sx);
        gauss(gy[i], h, 1, b[i].cy, b[i].sy);
        gauss(cx[i], cw, 2, b[i].cx, b[i].sx);
        gauss(cy[i], ch, 2, b[i].cy, b[i].sy);
    }
    /* Chroma first: its (1 - x) must come from the luma before the glow.
     * Per row c_i = s alpha_i profile_y colour_i / 219 in Q14. */
    for (int y = 0; y < ch; y++) {
        const uint8_t *l = img->plane[0] + (size_t)(2 * y) * img->stride[0];
        double a0 = s * b[0].alpha * cy[0][y] / 65535.0 / 219 * 16384,
               a1 = s * b[1].alpha * cy[1][y] / 65535.0 / 219 * 16384;
        int16_t u0 = (int16_t)lrint(a0 * b[0].u), u1 = (int16_t)lrint(a1 * b[1].u);
        int16_t v0 = (int16_t)lrint(a0 * b[0].v), v1 = (int16_t)lrint(a1 * b[1].v);
        if (!u0 && !u1 && !v0 && !v1) continue;
        chroma_row(img->plane[1] + (size_t)y * img->stride[1], l, cx[0], cx[1], u0, u1, cw);
        chroma_row(img->plane[2] + (size_t)y * img->stride[2], l, cx[0], cx[1], v0, v1, cw);
    }
    for (int y = 0; y < h; y++) {
        /* Row gains at unit (1 - x): alpha * profile * colour luma, Q16. */
        double q0 = s * b[0].alpha * b[0].y * gy[0][y], q1 = s * b[1].alpha * b[1].y * gy[1][y];
        if ((q0 + q1) * 219 < 0.25 * 65535) continue; /* under a quarter code value anywhere */
        if (q0 + q1 > 65535) {                        /* the two together at most lift to white */
            double f = 65535 / (q0 + q1);
            q0 *= f;
            q1 *= f;
        }
        uint16_t r0 = (uint16_t)(q0 + 0.5), r1 = (uint16_t)(q1 + 0.5);
        luma_row(img->plane[0] + (size_t)y * img->stride[0], gx[0], gx[1], r0, r1, w);
    }
    free(prof);
}

const hc_fx hc_fx_light_leak = {"light_leak", "a warm glow drifting slowly along one edge",
                                HC_FX_FRAME, light_leak};
