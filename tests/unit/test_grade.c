/* Unit tests of the colour grades (src/render/grade.c): no-op grades are
 * bit-identical, each grade moves colour the way DESIGN.md §5 says, and
 * the fixed-point LUT matches the float definition (hc_grade_ref) within
 * 2 code values, on the SSE2 and portable paths alike. */
#include "hc_test.h"
#include "render/fx_int.h"
#include "render_util.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static uint8_t px(const hc_yuv *img, int p, int x, int y) {
    return img->plane[p][(size_t)y * img->stride[p] + x];
}

/* Mean of plane p. */
static double mean(const hc_yuv *img, int p) {
    int w = p ? img->w / 2 : img->w, h = p ? img->h / 2 : img->h;
    double s = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            s += px(img, p, x, y);
    return s / ((double)w * h);
}

/* Mean chroma distance from neutral, sqrt((U-128)^2 + (V-128)^2). */
static double mean_chroma(const hc_yuv *img) {
    double s = 0;
    for (int y = 0; y < img->h / 2; y++)
        for (int x = 0; x < img->w / 2; x++)
            s += hypot(px(img, 1, x, y) - 128.0, px(img, 2, x, y) - 128.0);
    return s / ((double)(img->w / 2) * (img->h / 2));
}

/* A grey ramp: Y from lo to hi along x, U = V = 128. */
static void grey_ramp(hc_yuv *img, int w, int h, int lo, int hi) {
    hc_yuv_alloc(img, w, h);
    hc_yuv_fill(img, 16, 128, 128);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            img->plane[0][(size_t)y * img->stride[0] + x] = (uint8_t)(lo + (hi - lo) * x / (w - 1));
}

/* Random legal pixels: (U, V) per block; every other block's luma spread
 * over the whole range, the others within one 8-code cell (both paths). */
static void random_image(hc_yuv *img, int w, int h, unsigned seed) {
    hc_yuv_alloc(img, w, h);
    srand(seed);
    for (int y = 0; y < h / 2; y++)
        for (int x = 0; x < w / 2; x++) {
            img->plane[1][(size_t)y * img->stride[1] + x] = (uint8_t)(16 + rand() % 225);
            img->plane[2][(size_t)y * img->stride[2] + x] = (uint8_t)(16 + rand() % 225);
            int base = 16 + rand() % 212, spread = (x + y) & 1;
            for (int k = 0; k < 4; k++) {
                int v = spread ? 16 + rand() % 220 : (base & ~7) + rand() % 8;
                v = v < 16 ? 16 : v > 235 ? 235 : v;
                img->plane[0][(size_t)(2 * y + k / 2) * img->stride[0] + 2 * x + k % 2] =
                    (uint8_t)v;
            }
        }
}

static int clampi(double v, int lo, int hi) {
    long r = lround(v);
    return (int)(r < lo ? lo : r > hi ? hi : r);
}

HC_TEST(grade_natural_and_none_are_bit_identical) {
    for (int kind = 0; kind < 4; kind++) {
        hc_yuv img;
        char before[33], after[33];
        hc_test_pattern(&img, 96, 64, kind);
        hc_test_md5(&img, before);
        CHECK(hc_grade_apply(HC_GRADE_NONE, &img) == 0);
        CHECK(hc_grade_apply(HC_GRADE_NATURAL, &img) == 0);
        hc_test_md5(&img, after);
        CHECK(strcmp(before, after) == 0);
        hc_yuv_fini(&img);
    }
}

HC_TEST(grade_every_other_grade_changes_a_pattern) {
    for (int g = 0; g < HC_GRADE_COUNT; g++) {
        if (g == HC_GRADE_NATURAL) continue;
        hc_yuv img;
        char before[33], after[33];
        hc_test_pattern(&img, 96, 64, 3);
        hc_test_md5(&img, before);
        CHECK(hc_grade_apply(g, &img) == 0);
        hc_test_md5(&img, after);
        CHECKF(strcmp(before, after) != 0, "%s left the image unchanged", hc_grade_names[g]);
        hc_yuv_fini(&img);
    }
}

HC_TEST(grade_rejects_unknown_values) {
    hc_yuv img;
    hc_test_pattern(&img, 32, 32, 0);
    CHECK(hc_grade_apply(HC_GRADE_COUNT, &img) == HC_EINVAL);
    CHECK(hc_grade_apply(-2, &img) == HC_EINVAL);
    CHECK(hc_grade_apply(HC_GRADE_VIBRANT, NULL) == HC_EINVAL);
    hc_yuv_fini(&img);
}

HC_TEST(grade_bw_gives_neutral_chroma_and_keeps_luma) {
    hc_yuv img, orig;
    random_image(&img, 128, 96, 3);
    random_image(&orig, 128, 96, 3);
    CHECK(hc_grade_apply(HC_GRADE_BW, &img) == 0);
    for (int y = 0; y < 48; y++)
        for (int x = 0; x < 64; x++) {
            CHECK(abs(px(&img, 1, x, y) - 128) <= 1);
            CHECK(abs(px(&img, 2, x, y) - 128) <= 1);
        }
    for (int y = 0; y < 96; y++)
        for (int x = 0; x < 128; x++)
            CHECK(px(&img, 0, x, y) == px(&orig, 0, x, y));
    hc_yuv_fini(&img);
    hc_yuv_fini(&orig);
}

HC_TEST(grade_vibrant_saturates_colour_and_keeps_grey_grey) {
    hc_yuv img;
    hc_test_pattern(&img, 128, 96, 3);
    double before = mean_chroma(&img);
    CHECK(hc_grade_apply(HC_GRADE_VIBRANT, &img) == 0);
    double after = mean_chroma(&img);
    CHECKF(after > before * 1.2, "chroma %.2f -> %.2f", before, after);
    hc_yuv_fini(&img);

    hc_yuv grey, orig;
    grey_ramp(&grey, 128, 16, 16, 235);
    grey_ramp(&orig, 128, 16, 16, 235);
    CHECK(hc_grade_apply(HC_GRADE_VIBRANT, &grey) == 0);
    for (int p = 0; p < 3; p++)
        for (int y = 0; y < (p ? 8 : 16); y++)
            for (int x = 0; x < (p ? 64 : 128); x++)
                CHECKF(abs(px(&grey, p, x, y) - px(&orig, p, x, y)) <= 1, "plane %d x %d: %d", p, x,
                       px(&grey, p, x, y));
    hc_yuv_fini(&grey);
    hc_yuv_fini(&orig);
}

HC_TEST(grade_bright_raises_mean_luma) {
    for (int kind = 0; kind < 4; kind++) {
        hc_yuv img;
        hc_test_pattern(&img, 96, 64, kind);
        double before = mean(&img, 0);
        CHECK(hc_grade_apply(HC_GRADE_BRIGHT, &img) == 0);
        CHECKF(mean(&img, 0) > before + 10, "kind %d: %.1f -> %.1f", kind, before, mean(&img, 0));
        hc_yuv_fini(&img);
    }
}

HC_TEST(grade_moody_desaturates_darkens_and_shifts_to_blue) {
    hc_yuv img;
    hc_test_pattern(&img, 128, 96, 3);
    double c0 = mean_chroma(&img), y0 = mean(&img, 0), u0 = mean(&img, 1), v0 = mean(&img, 2);
    CHECK(hc_grade_apply(HC_GRADE_MOODY, &img) == 0);
    CHECKF(mean_chroma(&img) < c0 * 0.85, "chroma %.2f -> %.2f", c0, mean_chroma(&img));
    CHECKF(mean(&img, 0) < y0 - 5, "Y %.1f -> %.1f", y0, mean(&img, 0));
    /* Bluer than the desaturation alone (saturation 0.7 x contrast 1.15
     * scale chroma by 0.805) would leave it: U up, V down. */
    double ud = 128 + 0.805 * (u0 - 128), vd = 128 + 0.805 * (v0 - 128);
    CHECKF(mean(&img, 1) > ud + 2, "U %.1f -> %.1f (desaturated %.1f)", u0, mean(&img, 1), ud);
    CHECKF(mean(&img, 2) < vd, "V %.1f -> %.1f (desaturated %.1f)", v0, mean(&img, 2), vd);
    hc_yuv_fini(&img);

    /* On grey: blue in shadows and mids, none in highlights. */
    hc_yuv grey;
    grey_ramp(&grey, 128, 16, 60, 160);
    CHECK(hc_grade_apply(HC_GRADE_MOODY, &grey) == 0);
    CHECK(mean(&grey, 1) > 132 && mean(&grey, 2) < 128);
    hc_yuv_fini(&grey);
}

HC_TEST(grade_sepia_of_grey_ramp_has_sepia_hue) {
    hc_yuv img;
    grey_ramp(&img, 256, 16, 40, 235);
    CHECK(hc_grade_apply(HC_GRADE_SEPIA, &img) == 0);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 128; x++)
            CHECKF(px(&img, 1, x, y) < 128 && px(&img, 2, x, y) > 128, "x %d: U %d V %d", x,
                   px(&img, 1, x, y), px(&img, 2, x, y));
    hc_yuv_fini(&img);
}

HC_TEST(grade_warm_and_cool_tint_grey_their_way) {
    hc_yuv warm, cool;
    grey_ramp(&warm, 128, 16, 40, 220);
    grey_ramp(&cool, 128, 16, 40, 220);
    CHECK(hc_grade_apply(HC_GRADE_WARM, &warm) == 0);
    CHECK(hc_grade_apply(HC_GRADE_COOL, &cool) == 0);
    CHECKF(mean(&warm, 1) < 127.5 && mean(&warm, 2) > 128.5, "warm U %.1f V %.1f", mean(&warm, 1),
           mean(&warm, 2));
    CHECKF(mean(&cool, 1) > 132 && mean(&cool, 2) < 126, "cool U %.1f V %.1f", mean(&cool, 1),
           mean(&cool, 2));
    hc_yuv_fini(&warm);
    hc_yuv_fini(&cool);
}

/* The LUT against the float definition: luma at its own Y, chroma at the
 * 2x2 block's mean Y, both with the block's (U, V). */
HC_TEST(grade_lut_matches_float_reference_within_2) {
    for (int g = 0; g < HC_GRADE_COUNT; g++) {
        hc_yuv img, orig;
        random_image(&img, 256, 128, 100 + (unsigned)g);
        random_image(&orig, 256, 128, 100 + (unsigned)g);
        CHECK(hc_grade_apply(g, &img) == 0);
        int worst = 0;
        for (int by = 0; by < 64; by++)
            for (int bx = 0; bx < 128; bx++) {
                double u = px(&orig, 1, bx, by), v = px(&orig, 2, bx, by), sum = 0;
                for (int k = 0; k < 4; k++) {
                    int x = 2 * bx + k % 2, y = 2 * by + k / 2;
                    double in[3] = {px(&orig, 0, x, y), u, v}, out[3];
                    sum += in[0];
                    hc_grade_ref(g, in, out);
                    int d = abs(px(&img, 0, x, y) - clampi(out[0], 16, 235));
                    worst = d > worst ? d : worst;
                }
                double in[3] = {sum / 4, u, v}, out[3];
                hc_grade_ref(g, in, out);
                int du = abs(px(&img, 1, bx, by) - clampi(out[1], 16, 240));
                int dv = abs(px(&img, 2, bx, by) - clampi(out[2], 16, 240));
                worst = du > worst ? du : worst;
                worst = dv > worst ? dv : worst;
            }
        CHECKF(worst <= 2, "%s: LUT differs from the float grade by %d", hc_grade_names[g], worst);
        hc_yuv_fini(&img);
        hc_yuv_fini(&orig);
    }
}

HC_TEST(grade_simd_and_portable_paths_are_bit_identical) {
    for (int g = 0; g < HC_GRADE_COUNT; g++) {
        hc_yuv a, b;
        char ma[33], mb[33];
        random_image(&a, 192, 96, 7);
        random_image(&b, 192, 96, 7);
        hc_grade_portable_only = false;
        CHECK(hc_grade_apply(g, &a) == 0);
        hc_grade_portable_only = true;
        CHECK(hc_grade_apply(g, &b) == 0);
        hc_grade_portable_only = false;
        hc_test_md5(&a, ma);
        hc_test_md5(&b, mb);
        CHECKF(strcmp(ma, mb) == 0, "%s", hc_grade_names[g]);
        hc_yuv_fini(&a);
        hc_yuv_fini(&b);
    }
}

HC_TEST(grade_output_stays_in_legal_range) {
    for (int g = 0; g < HC_GRADE_COUNT; g++) {
        hc_yuv img;
        random_image(&img, 128, 64, 11);
        CHECK(hc_grade_apply(g, &img) == 0);
        for (int p = 0; p < 3; p++)
            for (int y = 0; y < (p ? 32 : 64); y++)
                for (int x = 0; x < (p ? 64 : 128); x++) {
                    int v = px(&img, p, x, y);
                    CHECKF(v >= 16 && v <= (p ? 240 : 235), "%s plane %d: %d", hc_grade_names[g], p,
                           v);
                }
        hc_yuv_fini(&img);
    }
}

/* First use from several threads at once: one LUT, identical results. */
static void *grade_thread(void *arg) {
    hc_yuv *img = arg;
    for (int g = 0; g < HC_GRADE_COUNT; g++)
        hc_grade_apply(g, &img[g]);
    return NULL;
}

HC_TEST(grade_first_use_is_thread_safe) {
    enum { T = 4 };
    static hc_yuv imgs[T][HC_GRADE_COUNT];
    for (int t = 0; t < T; t++)
        for (int g = 0; g < HC_GRADE_COUNT; g++)
            hc_test_pattern(&imgs[t][g], 64, 32, 3);
    pthread_t th[T];
    for (int t = 0; t < T; t++)
        CHECK(pthread_create(&th[t], NULL, grade_thread, imgs[t]) == 0);
    for (int t = 0; t < T; t++)
        pthread_join(th[t], NULL);
    for (int g = 0; g < HC_GRADE_COUNT; g++) {
        char m0[33], m[33];
        hc_test_md5(&imgs[0][g], m0);
        for (int t = 1; t < T; t++) {
            hc_test_md5(&imgs[t][g], m);
            CHECK(strcmp(m0, m) == 0);
        }
    }
    for (int t = 0; t < T; t++)
        for (int g = 0; g < HC_GRADE_COUNT; g++)
            hc_yuv_fini(&imgs[t][g]);
}
