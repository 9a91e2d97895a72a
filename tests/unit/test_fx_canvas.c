/* Unit tests of the canvas-stage filters (src/render/fx_canvas.c and its
 * fx_blur.c, fx_wash.c, fx_lens.c): the registry, legal range, what each
 * filter does to frequencies and colour, and that strength scales the
 * change linearly (0 = none). */
#include "hc_test.h"
#include "render/fx_int.h"
#include "render_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint8_t px(const hc_yuv *img, int p, int x, int y) {
    return img->plane[p][(size_t)y * img->stride[p] + x];
}

static const hc_fx *find(const char *name) {
    const hc_fx *f = hc_fx_find(name);
    if (!f || f->stage != HC_FX_CANVAS) hc_test_fail(__FILE__, __LINE__, "no canvas fx %s", name);
    return f;
}

static void apply(const hc_fx *f, double strength, hc_yuv *img) {
    hc_fx_ctx c = {.strength = strength, .seed = 9, .out_w = img->w, .out_h = img->h};
    f->apply(&c, img);
}

/* A copy of pattern `kind` with the filter applied. */
static void filtered(const hc_fx *f, double strength, int w, int h, int kind, hc_yuv *out) {
    hc_test_pattern(out, w, h, kind);
    apply(f, strength, out);
}

static bool legal(const hc_yuv *img) {
    for (int p = 0; p < 3; p++)
        for (int y = 0; y < (p ? img->h / 2 : img->h); y++)
            for (int x = 0; x < (p ? img->w / 2 : img->w); x++) {
                int v = px(img, p, x, y);
                if (v < 16 || v > (p ? 240 : 235)) return false;
            }
    return true;
}

/* Sum of |a - b| over all planes. */
static double diff(const hc_yuv *a, const hc_yuv *b) {
    double s = 0;
    for (int p = 0; p < 3; p++)
        for (int y = 0; y < (p ? a->h / 2 : a->h); y++)
            for (int x = 0; x < (p ? a->w / 2 : a->w); x++)
                s += abs(px(a, p, x, y) - px(b, p, x, y));
    return s;
}

/* High-frequency energy of the luma: squared neighbour differences. */
static double hf_energy(const hc_yuv *img) {
    double s = 0;
    for (int y = 0; y + 1 < img->h; y++)
        for (int x = 0; x + 1 < img->w; x++) {
            int c = px(img, 0, x, y);
            s += (double)(px(img, 0, x + 1, y) - c) * (px(img, 0, x + 1, y) - c) +
                 (double)(px(img, 0, x, y + 1) - c) * (px(img, 0, x, y + 1) - c);
        }
    return s;
}

static double mean(const hc_yuv *img, int p) {
    int w = p ? img->w / 2 : img->w, h = p ? img->h / 2 : img->h;
    double s = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            s += px(img, p, x, y);
    return s / ((double)w * h);
}

HC_TEST(fx_canvas_registry_names_and_stage) {
    static const char *names[] = {"soft_blur",
                                  "sharpen",
                                  "glow",
                                  "haze",
                                  "chromatic_aberration",
                                  "color_wash_warm",
                                  "color_wash_cool",
                                  "color_wash_purple",
                                  "color_wash_teal",
                                  "color_wash_golden"};
    int n = 0;
    for (; hc_fx_canvas[n]; n++) {
        const hc_fx *f = hc_fx_canvas[n];
        CHECK(f->stage == HC_FX_CANVAS && f->apply && f->name && f->desc);
        CHECK(hc_fx_find(f->name) == f);
        for (int j = 0; j < n; j++)
            CHECK(strcmp(hc_fx_canvas[j]->name, f->name) != 0);
    }
    CHECK(n == (int)(sizeof names / sizeof *names));
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        CHECKF(find(names[i]), "%s", names[i]);
    CHECK(hc_fx_find("bloom") == hc_fx_find("glow"));
    CHECK(hc_fx_find("BLOOM") == hc_fx_find("glow"));
}

HC_TEST(fx_canvas_each_changes_the_image_and_keeps_legal_range) {
    for (int i = 0; hc_fx_canvas[i]; i++)
        for (int kind = 0; kind < 4; kind++) {
            hc_yuv orig, img;
            hc_test_pattern(&orig, 320, 180, kind);
            filtered(hc_fx_canvas[i], 1, 320, 180, kind, &img);
            /* (A blur leaves kinds 0 and 1, linear ramps, as they are.) */
            CHECKF(kind < 2 || diff(&orig, &img) > 0, "%s kind %d: unchanged",
                   hc_fx_canvas[i]->name, kind);
            CHECKF(legal(&img), "%s kind %d: out of range", hc_fx_canvas[i]->name, kind);
            hc_yuv_fini(&orig);
            hc_yuv_fini(&img);
        }
}

HC_TEST(fx_canvas_soft_blur_reduces_checker_high_frequencies) {
    hc_yuv orig, img;
    hc_test_pattern(&orig, 640, 360, 2);
    filtered(find("soft_blur"), 1, 640, 360, 2, &img);
    double before = hf_energy(&orig), after = hf_energy(&img);
    CHECKF(after < before * 0.5, "energy %.0f -> %.0f", before, after);
    /* ... and keeps the mean. */
    CHECK(fabs(mean(&img, 0) - mean(&orig, 0)) < 1);
    hc_yuv_fini(&orig);
    hc_yuv_fini(&img);
}

HC_TEST(fx_canvas_sharpen_increases_high_frequencies) {
    /* The hard checker and a softened one (edges over a few pixels). */
    for (int soft = 0; soft < 2; soft++) {
        hc_yuv orig, img;
        hc_test_pattern(&orig, 640, 360, 2);
        if (soft) apply(find("soft_blur"), 1, &orig);
        hc_test_pattern(&img, 640, 360, 2);
        hc_yuv_copy(&img, &orig);
        apply(find("sharpen"), 1, &img);
        double before = hf_energy(&orig), after = hf_energy(&img);
        CHECKF(after > before * 1.1, "soft %d: energy %.0f -> %.0f", soft, before, after);
        /* Chroma untouched. */
        for (int y = 0; y < 180; y++)
            for (int x = 0; x < 320; x++)
                CHECK(px(&img, 1, x, y) == px(&orig, 1, x, y));
        hc_yuv_fini(&orig);
        hc_yuv_fini(&img);
    }
}

HC_TEST(fx_canvas_spatial_filters_keep_flat_images_flat) {
    static const char *names[] = {"soft_blur", "sharpen", "chromatic_aberration"};
    for (int i = 0; i < 3; i++) {
        hc_yuv img;
        hc_yuv_alloc(&img, 200, 120);
        hc_yuv_fill(&img, 120, 100, 150);
        apply(find(names[i]), 1, &img);
        for (int y = 0; y < 60; y++)
            for (int x = 0; x < 100; x++)
                CHECKF(px(&img, 0, 2 * x, 2 * y) == 120 && px(&img, 1, x, y) == 100 &&
                           px(&img, 2, x, y) == 150,
                       "%s at %d,%d", names[i], x, y);
        hc_yuv_fini(&img);
    }
}

HC_TEST(fx_canvas_glow_brightens_around_highlights_only) {
    /* A white square on dark grey. */
    hc_yuv img;
    hc_yuv_alloc(&img, 400, 200);
    hc_yuv_fill(&img, 50, 128, 128);
    for (int y = 80; y < 120; y++)
        memset(img.plane[0] + (size_t)y * img.stride[0] + 180, 235, 40);
    apply(find("glow"), 1, &img);
    CHECKF(px(&img, 0, 170, 100) > 60, "next to the highlight: %d", px(&img, 0, 170, 100));
    CHECKF(px(&img, 0, 10, 10) <= 51, "far away: %d", px(&img, 0, 10, 10));
    CHECK(px(&img, 0, 200, 100) == 235);
    hc_yuv_fini(&img);
}

HC_TEST(fx_canvas_haze_lifts_blacks_and_lowers_contrast) {
    hc_yuv orig, img;
    hc_test_pattern(&orig, 320, 180, 0);
    filtered(find("haze"), 1, 320, 180, 0, &img);
    CHECKF(px(&img, 0, 0, 0) > 40, "black -> %d", px(&img, 0, 0, 0));
    int c0 = px(&orig, 0, 319, 0) - px(&orig, 0, 0, 0),
        c1 = px(&img, 0, 319, 0) - px(&img, 0, 0, 0);
    CHECKF(c1 < c0 * 0.9, "contrast %d -> %d", c0, c1);
    /* Warm-white veil: on grey, V up and U down. */
    hc_yuv grey;
    hc_yuv_alloc(&grey, 64, 64);
    hc_yuv_fill(&grey, 126, 128, 128);
    apply(find("haze"), 1, &grey);
    CHECK(px(&grey, 1, 5, 5) < 128 && px(&grey, 2, 5, 5) > 128);
    hc_yuv_fini(&orig);
    hc_yuv_fini(&img);
    hc_yuv_fini(&grey);
}

HC_TEST(fx_canvas_chromatic_aberration_fringes_grow_towards_edges) {
    /* Grey vertical bars: no chroma at all before, red/blue fringes after,
     * stronger at the sides than in the centre. */
    hc_yuv img;
    hc_yuv_alloc(&img, 640, 120);
    hc_yuv_fill(&img, 40, 128, 128);
    for (int y = 0; y < 120; y++)
        for (int x = 0; x < 640; x++)
            if ((x / 40) & 1) img.plane[0][(size_t)y * img.stride[0] + x] = 220;
    apply(find("chromatic_aberration"), 1, &img);
    double edge = 0, centre = 0;
    for (int x = 0; x < 320; x++) {
        double c = abs(px(&img, 1, x, 30) - 128) + abs(px(&img, 2, x, 30) - 128);
        if (x < 60 || x >= 260) edge += c;
        if (x >= 130 && x < 190) centre += c;
    }
    CHECKF(edge > 2 * centre && edge > 100, "edge %.0f centre %.0f", edge, centre);
    /* Luma untouched. */
    CHECK(px(&img, 0, 0, 0) == 40 && px(&img, 0, 40, 0) == 220);
    hc_yuv_fini(&img);
}

HC_TEST(fx_canvas_color_washes_move_mean_chroma_towards_their_hue) {
    static const struct {
        const char *name;
        double u, v; /* the wash colour, about */
    } washes[] = {{"color_wash_warm", 82, 174},
                  {"color_wash_cool", 179, 96},
                  {"color_wash_purple", 188, 152},
                  {"color_wash_teal", 142, 66},
                  {"color_wash_golden", 72, 155}};
    for (int i = 0; i < 5; i++)
        for (int kind = 0; kind < 4; kind += 3) {
            hc_yuv orig, img;
            hc_test_pattern(&orig, 320, 180, kind);
            filtered(find(washes[i].name), 1, 320, 180, kind, &img);
            double d0 = hypot(mean(&orig, 1) - washes[i].u, mean(&orig, 2) - washes[i].v);
            double d1 = hypot(mean(&img, 1) - washes[i].u, mean(&img, 2) - washes[i].v);
            /* 25 % of the way. */
            CHECKF(d1 < d0 * 0.8 && d1 > d0 * 0.7, "%s: %.1f -> %.1f", washes[i].name, d0, d1);
            /* Luma mostly kept. */
            CHECK(fabs(mean(&img, 0) - mean(&orig, 0)) < 6);
            hc_yuv_fini(&orig);
            hc_yuv_fini(&img);
        }
}

/* A low-contrast checker (luma 90 / 150): every filter makes changes of
 * many codes (so rounding small ones does not blur the ratio) and none
 * reaches the clamps. */
static void low_contrast_checker(hc_yuv *img) {
    hc_test_pattern(img, 320, 180, 2);
    for (int y = 0; y < 180; y++)
        for (int x = 0; x < 320; x++) {
            uint8_t *p = img->plane[0] + (size_t)y * img->stride[0] + x;
            *p = *p > 100 ? 150 : 90;
        }
}

HC_TEST(fx_canvas_strength_scales_the_change) {
    hc_yuv orig;
    low_contrast_checker(&orig);
    for (int i = 0; hc_fx_canvas[i]; i++) {
        hc_yuv out[4];
        static const double strengths[4] = {1, 0.5, 0, 3};
        for (int k = 0; k < 4; k++) {
            low_contrast_checker(&out[k]);
            apply(hc_fx_canvas[i], strengths[k], &out[k]);
        }
        double df = diff(&orig, &out[0]), dh = diff(&orig, &out[1]);
        CHECKF(dh > 0.4 * df && dh < 0.6 * df, "%s: half %.0f full %.0f", hc_fx_canvas[i]->name, dh,
               df);
        CHECKF(diff(&orig, &out[2]) == 0, "%s: strength 0 changed the image",
               hc_fx_canvas[i]->name);
        /* Above 1 is 1. */
        CHECK(diff(&out[3], &out[0]) == 0);
        for (int k = 0; k < 4; k++)
            hc_yuv_fini(&out[k]);
    }
    hc_yuv_fini(&orig);
}

HC_TEST(fx_canvas_tiny_and_thin_canvases) {
    static const int sizes[][2] = {{2, 2}, {4, 2}, {2, 6}, {6, 4}, {34, 2}, {2, 34}, {1002, 8}};
    for (int s = 0; s < 7; s++)
        for (int i = 0; hc_fx_canvas[i]; i++) {
            hc_yuv img;
            hc_yuv_alloc(&img, sizes[s][0], sizes[s][1]);
            hc_yuv_fill(&img, 100, 120, 140);
            img.plane[0][0] = 235;
            apply(hc_fx_canvas[i], 1, &img);
            CHECKF(legal(&img), "%s %dx%d", hc_fx_canvas[i]->name, sizes[s][0], sizes[s][1]);
            hc_yuv_fini(&img);
        }
}

HC_TEST(fx_canvas_box_radii_match_the_gaussian) {
    for (double sigma = 0.6; sigma < 40; sigma *= 1.3) {
        int r[3];
        hc_fx_box_radii(sigma, r);
        double var = 0;
        for (int i = 0; i < 3; i++) {
            double w = 2 * r[i] + 1;
            var += (w * w - 1) / 12;
        }
        CHECKF(fabs(sqrt(var) - sigma) < 0.2 * sigma + 0.3, "sigma %.2f -> %.2f (%d %d %d)", sigma,
               sqrt(var), r[0], r[1], r[2]);
    }
}

HC_TEST(fx_canvas_gauss_plane_is_symmetric_and_keeps_sum) {
    /* A single bright dot spreads symmetrically and keeps its energy. */
    enum { W = 61, H = 41 };
    uint8_t src[W * H], dst[W * H], tmp[W * H];
    for (int k = 0; k < 2; k++) {
        memset(src, 40, sizeof src);
        src[20 * W + 30] = 250;
        CHECK(hc_fx_gauss_plane(src, W, W, H, 2.0 + k, dst, tmp) == 0);
        for (int d = 1; d < 8; d++) {
            CHECK(dst[20 * W + 30 - d] == dst[20 * W + 30 + d]);
            CHECK(dst[(20 - d) * W + 30] == dst[(20 + d) * W + 30]);
        }
        CHECK(dst[20 * W + 30] > 40 && dst[20 * W + 30] < 250);
        CHECK(dst[20 * W + 30] > dst[20 * W + 33] && dst[20 * W + 33] >= dst[20 * W + 36]);
        CHECK(dst[0] == 40);
        long sum = 0;
        for (int i = 0; i < W * H; i++)
            sum += dst[i] - 40;
        CHECKF(labs(sum - 210) <= 20, "sum %ld", sum);
    }
}
