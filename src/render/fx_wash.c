/* Canvas filters that tint: the colour washes (warm, cool, purple, teal,
 * golden) and haze. Both are per-pixel blends towards a constant colour:
 *
 *   wash: chroma 25 % of the way to the wash colour's (U, V), luma 4 % of
 *         the way to its Y (luma mostly kept, so the photo's light stays);
 *   haze: a light warm-white veil (R'G'B' 1.00, 0.96, 0.88) over 18 % of
 *         every plane: blacks lifted to about 54, contrast down to 82 %.
 *
 * Blends of legal values towards a legal colour stay legal. Strength s
 * scales the blend weight (s = 0.5 moves half as far). */
#include "render/fx_int.h"

#include <math.h>

/* Limited-range BT.709 code values of an R'G'B' colour (0..1). */
static void rgb_to_yuv(const double rgb[3], int yuv[3]) {
    double y = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
    yuv[0] = (int)lround(16 + 219 * y);
    yuv[1] = (int)lround(128 + 224 * (rgb[2] - y) / 1.8556);
    yuv[2] = (int)lround(128 + 224 * (rgb[0] - y) / 1.5748);
}

/* Blend every plane towards yuv with weights w[p] (1/256; 0 = untouched). */
static void blend_towards(hc_yuv *img, const int yuv[3], const int w[3]) {
    for (int p = 0; p < 3; p++) {
        if (!w[p]) continue;
        int pw = hc_fx_plane_w(img, p), ph = hc_fx_plane_h(img, p), t = yuv[p], k = w[p];
        /* A 256-entry table per plane: cheaper than the arithmetic. */
        uint8_t lut[256];
        for (int v = 0; v < 256; v++)
            lut[v] = (uint8_t)hc_fx_mix(v, t, k);
        for (int y = 0; y < ph; y++) {
            uint8_t *r = hc_fx_row(img, p, y);
            for (int x = 0; x < pw; x++)
                r[x] = lut[r[x]];
        }
    }
}

static void wash(const hc_fx_ctx *c, hc_yuv *img, double r, double g, double b) {
    int s = hc_fx_amount256(c), yuv[3];
    if (!s) return;
    rgb_to_yuv((const double[3]){r, g, b}, yuv);
    int w[3] = {(10 * s + 128) / 256, (64 * s + 128) / 256, (64 * s + 128) / 256};
    blend_towards(img, yuv, w);
}

static void wash_warm(const hc_fx_ctx *c, hc_yuv *img) {
    wash(c, img, 1.00, 0.62, 0.30);
}
static void wash_cool(const hc_fx_ctx *c, hc_yuv *img) {
    wash(c, img, 0.35, 0.60, 1.00);
}
static void wash_purple(const hc_fx_ctx *c, hc_yuv *img) {
    wash(c, img, 0.62, 0.35, 0.95);
}
static void wash_teal(const hc_fx_ctx *c, hc_yuv *img) {
    wash(c, img, 0.10, 0.65, 0.65);
}
static void wash_golden(const hc_fx_ctx *c, hc_yuv *img) {
    wash(c, img, 1.00, 0.80, 0.35);
}

const hc_fx hc_fx_color_wash_warm = {
    .name = "color_wash_warm",
    .desc = "orange tint (chroma 25 % of the way)",
    .stage = HC_FX_CANVAS,
    .apply = wash_warm,
};
const hc_fx hc_fx_color_wash_cool = {
    .name = "color_wash_cool",
    .desc = "blue tint (chroma 25 % of the way)",
    .stage = HC_FX_CANVAS,
    .apply = wash_cool,
};
const hc_fx hc_fx_color_wash_purple = {
    .name = "color_wash_purple",
    .desc = "purple tint (chroma 25 % of the way)",
    .stage = HC_FX_CANVAS,
    .apply = wash_purple,
};
const hc_fx hc_fx_color_wash_teal = {
    .name = "color_wash_teal",
    .desc = "teal tint (chroma 25 % of the way)",
    .stage = HC_FX_CANVAS,
    .apply = wash_teal,
};
const hc_fx hc_fx_color_wash_golden = {
    .name = "color_wash_golden",
    .desc = "golden tint (chroma 25 % of the way)",
    .stage = HC_FX_CANVAS,
    .apply = wash_golden,
};

static void haze(const hc_fx_ctx *c, hc_yuv *img) {
    int s = hc_fx_amount256(c), yuv[3];
    if (!s) return;
    rgb_to_yuv((const double[3]){1.00, 0.96, 0.88}, yuv);
    int k = (46 * s + 128) / 256; /* 18 % */
    blend_towards(img, yuv, (const int[3]){k, k, k});
}

const hc_fx hc_fx_haze = {
    .name = "haze",
    .desc = "lifted blacks, lower contrast, warm-white veil",
    .stage = HC_FX_CANVAS,
    .apply = haze,
};
