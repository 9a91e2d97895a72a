/* Unit tests of image ingest (src/media/image.c): every supported format
 * decodes to the right size and colour, EXIF orientation, CMYK, 16-bit,
 * palette and alpha handling, the three fits, and the refusals (truncated,
 * not an image, empty, over the pixel cap). Test images are made at test
 * time with libvips itself, into the test's temporary directory. */
#include "hc_test.h"
#include "media/hc_media.h"

#include <libavutil/log.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>

/* BT.709 limited range of the colours used below. */
enum { RED_Y = 63, RED_U = 102, RED_V = 240, BLUE_Y = 32, BLUE_U = 240, BLUE_V = 118 };

static const char *tmp_path(const char *name) {
    static char buf[8][1024];
    static int i;
    char *p = buf[i++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", hc_test_tmpdir(), name);
    return p;
}

/* A w x h sRGB image of one colour (caller unrefs). */
static VipsImage *solid(int w, int h, double r, double g, double b) {
    VipsImage *black = NULL, *lin = NULL, *out = NULL;
    double a[3] = {0, 0, 0}, c[3] = {r, g, b};
    if (vips_black(&black, w, h, "bands", 3, NULL) ||
        vips_linear(black, &lin, a, c, 3, "uchar", TRUE, NULL) ||
        vips_copy(lin, &out, "interpretation", VIPS_INTERPRETATION_sRGB, NULL))
        out = NULL;
    if (black) g_object_unref(black);
    if (lin) g_object_unref(lin);
    return out;
}

/* Left half red, right half blue (w even). */
static VipsImage *halves(int w, int h) {
    VipsImage *l = solid(w / 2, h, 255, 0, 0), *r = solid(w / 2, h, 0, 0, 255), *out = NULL;
    if (l && r && vips_join(l, r, &out, VIPS_DIRECTION_HORIZONTAL, NULL)) out = NULL;
    if (l) g_object_unref(l);
    if (r) g_object_unref(r);
    return out;
}

/* Noise, so compressed files have plenty of data to truncate. */
static VipsImage *noise(int w, int h) {
    VipsImage *n = NULL, *u = NULL, *out = NULL;
    if (vips_gaussnoise(&n, w, h, "mean", 128.0, "sigma", 40.0, NULL) ||
        vips_cast(n, &u, VIPS_FORMAT_UCHAR, NULL))
        goto done;
    VipsImage *three[3] = {u, u, u};
    if (vips_bandjoin(three, &out, 3, NULL))
        out = NULL;
    else
        vips_image_set_int(out, "interpretation", VIPS_INTERPRETATION_sRGB);
done:
    if (n) g_object_unref(n);
    if (u) g_object_unref(u);
    return out;
}

static int save_and_unref(VipsImage *im, const char *path) {
    if (!im) return -1;
    int rc = vips_image_write_to_file(im, path, NULL);
    g_object_unref(im);
    if (rc) {
        fprintf(stderr, "    save %s: %s", path, vips_error_buffer());
        vips_error_clear();
    }
    return rc;
}

/* Mean of one plane over a rectangle (luma coordinates). */
static double mean(const hc_yuv *y, int plane, int x0, int y0, int w, int h) {
    int sh = plane ? 1 : 0;
    double sum = 0;
    int n = 0;
    for (int j = y0 >> sh; j < (y0 + h) >> sh; j++)
        for (int i = x0 >> sh; i < (x0 + w) >> sh; i++, n++)
            sum += y->plane[plane][(size_t)j * y->stride[plane] + i];
    return n ? sum / n : -1;
}

#define NEAR(a, b, tol) ((a) >= (b) - (tol) && (a) <= (b) + (tol))

/* Check the mean colour of a rectangle within tol. */
#define CHECK_YUV(img, x, y, w, h, ey, eu, ev, tol)                                                \
    do {                                                                                           \
        double my_ = mean(img, 0, x, y, w, h), mu_ = mean(img, 1, x, y, w, h),                     \
               mv_ = mean(img, 2, x, y, w, h);                                                     \
        CHECKF(NEAR(my_, ey, tol) && NEAR(mu_, eu, tol) && NEAR(mv_, ev, tol),                     \
               "YUV at %d,%d is %.1f %.1f %.1f, want %d %d %d (+-%d)", x, y, my_, mu_, mv_, ey,    \
               eu, ev, tol);                                                                       \
    } while (0)

static hc_image_prep cover(int w, int h) {
    return (hc_image_prep){.canvas_w = w, .canvas_h = h, .fit = HC_IMG_FIT_COVER};
}

/* Probe and prepare a solid red file; check size, format and colour. */
static void check_red_file(const char *path, const char *format, int w, int h) {
    hc_err err = {0};
    hc_image_info info;
    int rc = hc_image_probe(path, "images[0]", &info, &err);
    CHECKF(rc == 0, "probe %s: %s", format, err.msg);
    CHECKF(info.width == w && info.height == h, "%s: %dx%d", format, info.width, info.height);
    CHECKF(strcmp(info.format, format) == 0, "format %s, want %s", info.format, format);
    hc_yuv out;
    hc_image_prep prep = cover(64, 48);
    rc = hc_image_prepare(path, "images[0]", &prep, &out, &err);
    CHECKF(rc == 0, "prepare %s: %s", format, err.msg);
    CHECK(out.w == 64 && out.h == 48);
    CHECK_YUV(&out, 8, 8, 48, 32, RED_Y, RED_U, RED_V, 6);
    hc_yuv_fini(&out);
}

static void init(void) {
    hc_err err = {0};
    if (hc_media_init(&err)) {
        fprintf(stderr, "    hc_media_init: %s\n", err.msg);
        exit(1);
    }
    hc_log_set_level(HC_LOG_ERROR);
}

HC_TEST(image_jpeg_baseline_progressive) {
    init();
    VipsImage *im = solid(64, 48, 255, 0, 0);
    CHECK(im && vips_jpegsave(im, tmp_path("b.jpg"), "Q", 95, NULL) == 0);
    CHECK(vips_jpegsave(im, tmp_path("p.jpg"), "Q", 95, "interlace", TRUE, NULL) == 0);
    g_object_unref(im);
    check_red_file(tmp_path("b.jpg"), "jpeg", 64, 48);
    if (hc_test_failed()) return;
    check_red_file(tmp_path("p.jpg"), "jpeg", 64, 48);
}

HC_TEST(image_jpeg_grey) {
    init();
    VipsImage *rgb = solid(40, 30, 128, 128, 128), *g = NULL;
    CHECK(rgb && vips_colourspace(rgb, &g, VIPS_INTERPRETATION_B_W, NULL) == 0);
    g_object_unref(rgb);
    CHECK(g->Bands == 1);
    CHECK(save_and_unref(g, tmp_path("g.jpg")) == 0);
    hc_yuv out;
    hc_err err = {0};
    hc_image_prep prep = cover(40, 30);
    CHECKF(hc_image_prepare(tmp_path("g.jpg"), "images[0]", &prep, &out, &err) == 0, "%s", err.msg);
    CHECK_YUV(&out, 4, 4, 32, 22, 126, 128, 128, 4);
    hc_yuv_fini(&out);
}

HC_TEST(image_jpeg_cmyk_to_srgb) {
    init();
    /* C=0 M=100% Y=100% K=0: a strong red in any CMYK profile. */
    VipsImage *black = NULL, *lin = NULL, *cmyk = NULL;
    double a[4] = {0, 0, 0, 0}, c[4] = {0, 255, 255, 0};
    CHECK(vips_black(&black, 48, 32, "bands", 4, NULL) == 0);
    CHECK(vips_linear(black, &lin, a, c, 4, "uchar", TRUE, NULL) == 0);
    CHECK(vips_copy(lin, &cmyk, "interpretation", VIPS_INTERPRETATION_CMYK, NULL) == 0);
    g_object_unref(black);
    g_object_unref(lin);
    CHECK(vips_jpegsave(cmyk, tmp_path("cmyk.jpg"), NULL) == 0);
    g_object_unref(cmyk);
    VipsImage *back = vips_image_new_from_file(tmp_path("cmyk.jpg"), NULL);
    CHECK(back && back->Bands == 4); /* really a CMYK JPEG */
    g_object_unref(back);

    hc_yuv out;
    hc_err err = {0};
    hc_image_prep prep = cover(48, 32);
    CHECKF(hc_image_prepare(tmp_path("cmyk.jpg"), "images[0]", &prep, &out, &err) == 0, "%s",
           err.msg);
    double y = mean(&out, 0, 8, 8, 32, 16), u = mean(&out, 1, 8, 8, 32, 16),
           v = mean(&out, 2, 8, 8, 32, 16);
    CHECKF(v > 190 && u < 128 && y > 40 && y < 110, "CMYK red came out as %.0f %.0f %.0f", y, u, v);
    hc_yuv_fini(&out);
}

HC_TEST(image_png_16bit_palette_alpha) {
    init();
    /* 16-bit red. */
    VipsImage *r8 = solid(32, 32, 255, 0, 0), *r16 = NULL;
    CHECK(r8 && vips_colourspace(r8, &r16, VIPS_INTERPRETATION_RGB16, NULL) == 0);
    CHECK(r16->BandFmt == VIPS_FORMAT_USHORT);
    CHECK(vips_pngsave(r16, tmp_path("r16.png"), NULL) == 0);
    g_object_unref(r16);
    VipsImage *hdr = vips_image_new_from_file(tmp_path("r16.png"), NULL);
    CHECK(hdr && hdr->BandFmt == VIPS_FORMAT_USHORT);
    g_object_unref(hdr);
    /* Palette. */
    CHECK(vips_pngsave(r8, tmp_path("pal.png"), "palette", TRUE, NULL) == 0);
    g_object_unref(r8);
    check_red_file(tmp_path("r16.png"), "png", 32, 32);
    if (hc_test_failed()) return;
    check_red_file(tmp_path("pal.png"), "png", 32, 32);
    if (hc_test_failed()) return;

    /* White with alpha: transparent left half, opaque right half; flattened
     * on black. */
    VipsImage *white = solid(64, 32, 255, 255, 255), *al = NULL, *ar = NULL, *alpha = NULL,
              *rgba = NULL;
    CHECK(vips_black(&al, 32, 32, NULL) == 0);
    CHECK(vips_linear1(al, &ar, 1.0, 255.0, "uchar", TRUE, NULL) == 0);
    VipsImage *a8 = NULL;
    CHECK(vips_cast(al, &a8, VIPS_FORMAT_UCHAR, NULL) == 0);
    CHECK(vips_join(a8, ar, &alpha, VIPS_DIRECTION_HORIZONTAL, NULL) == 0);
    CHECK(vips_bandjoin2(white, alpha, &rgba, NULL) == 0);
    CHECK(rgba->Bands == 4);
    CHECK(vips_pngsave(rgba, tmp_path("alpha.png"), NULL) == 0);
    g_object_unref(white);
    g_object_unref(al);
    g_object_unref(ar);
    g_object_unref(a8);
    g_object_unref(alpha);
    g_object_unref(rgba);
    hc_yuv out;
    hc_err err = {0};
    hc_image_prep prep = cover(64, 32);
    CHECKF(hc_image_prepare(tmp_path("alpha.png"), "images[0]", &prep, &out, &err) == 0, "%s",
           err.msg);
    CHECK_YUV(&out, 2, 2, 24, 28, 16, 128, 128, 3);
    CHECK_YUV(&out, 38, 2, 24, 28, 235, 128, 128, 3);
    hc_yuv_fini(&out);
}

HC_TEST(image_webp_tiff_bmp) {
    init();
    CHECK(save_and_unref(solid(50, 40, 255, 0, 0), tmp_path("r.webp")) == 0);
    CHECK(save_and_unref(solid(50, 40, 255, 0, 0), tmp_path("r.tif")) == 0);
    VipsImage *im = solid(50, 40, 255, 0, 0);
    int rc = vips_magicksave(im, tmp_path("r.bmp"), "format", "bmp", NULL);
    g_object_unref(im);
    CHECKF(rc == 0, "magicksave bmp: %s", vips_error_buffer());
    check_red_file(tmp_path("r.webp"), "webp", 50, 40);
    if (hc_test_failed()) return;
    check_red_file(tmp_path("r.tif"), "tiff", 50, 40);
    if (hc_test_failed()) return;
    check_red_file(tmp_path("r.bmp"), "bmp", 50, 40);
}

HC_TEST(image_gif_first_frame) {
    init();
    /* Two 32x32 frames: red, then blue. */
    VipsImage *r = solid(32, 32, 255, 0, 0), *b = solid(32, 32, 0, 0, 255), *both = NULL;
    CHECK(r && b && vips_join(r, b, &both, VIPS_DIRECTION_VERTICAL, NULL) == 0);
    vips_image_set_int(both, "page-height", 32);
    CHECK(vips_gifsave(both, tmp_path("anim.gif"), NULL) == 0);
    g_object_unref(r);
    g_object_unref(b);
    g_object_unref(both);
    hc_image_info info;
    hc_err err = {0};
    CHECKF(hc_image_probe(tmp_path("anim.gif"), "images[0]", &info, &err) == 0, "%s", err.msg);
    CHECK(info.width == 32 && info.height == 32 && strcmp(info.format, "gif") == 0);
    hc_yuv out;
    hc_image_prep prep = cover(32, 32);
    CHECKF(hc_image_prepare(tmp_path("anim.gif"), "images[0]", &prep, &out, &err) == 0, "%s",
           err.msg);
    CHECK_YUV(&out, 4, 4, 24, 24, RED_Y, RED_U, RED_V, 8);
    hc_yuv_fini(&out);
}

/* HEIC/AVIF are encoded here with libheif when it can (HEVC needs x265);
 * otherwise the small files shipped in tests/data are used. */
static void heif_case(const char *name, const char *compression_nick, const char *format) {
    VipsImage *im = solid(64, 48, 255, 0, 0);
    const char *path = tmp_path(name);
    int comp = vips_enum_from_nick("hc", VIPS_TYPE_FOREIGN_HEIF_COMPRESSION, compression_nick);
    int rc = vips_heifsave(im, path, "compression", comp, "Q", 90, NULL);
    g_object_unref(im);
    if (rc) {
        vips_error_clear();
        static char shipped[1200];
        snprintf(shipped, sizeof shipped, "%s/tests/data/red-64x48.%s", hc_test_root(),
                 strcmp(format, "avif") == 0 ? "avif" : "heic");
        path = shipped;
        fprintf(stderr, "    heifsave %s unavailable; using %s\n", compression_nick, path);
    }
    check_red_file(path, format, 64, 48);
}

HC_TEST(image_heic) {
    init();
    heif_case("r.heic", "hevc", "heif");
}

HC_TEST(image_avif) {
    init();
    heif_case("r.avif", "av1", "avif");
}

HC_TEST(image_heif_shipped_samples) {
    init();
    char path[1200];
    snprintf(path, sizeof path, "%s/tests/data/red-64x48.heic", hc_test_root());
    check_red_file(path, "heif", 64, 48);
    if (hc_test_failed()) return;
    snprintf(path, sizeof path, "%s/tests/data/red-64x48.avif", hc_test_root());
    check_red_file(path, "avif", 64, 48);
}

HC_TEST(image_embedded_icc_to_srgb) {
    init();
    /* sRGB red re-encoded in Display P3 (pixels ~234,51,34) with the P3
     * profile embedded: it must come back as sRGB red. */
    VipsImage *red = solid(48, 32, 255, 0, 0), *p3 = NULL;
    CHECK(red && vips_icc_transform(red, &p3, "p3", "input_profile", "srgb", NULL) == 0);
    g_object_unref(red);
    CHECK(vips_image_get_typeof(p3, VIPS_META_ICC_NAME) != 0);
    CHECK(vips_pngsave(p3, tmp_path("p3.png"), NULL) == 0);
    CHECK(vips_jpegsave(p3, tmp_path("p3.jpg"), "Q", 98, NULL) == 0);
    g_object_unref(p3);
    hc_yuv out;
    hc_err err = {0};
    hc_image_prep prep = cover(48, 32);
    CHECKF(hc_image_prepare(tmp_path("p3.png"), "images[0]", &prep, &out, &err) == 0, "%s",
           err.msg);
    CHECK_YUV(&out, 8, 8, 32, 16, RED_Y, RED_U, RED_V, 5);
    hc_yuv_fini(&out);
    CHECKF(hc_image_prepare(tmp_path("p3.jpg"), "images[0]", &prep, &out, &err) == 0, "%s",
           err.msg);
    CHECK_YUV(&out, 8, 8, 32, 16, RED_Y, RED_U, RED_V, 7);
    hc_yuv_fini(&out);
}

HC_TEST(image_exif_orientation_6) {
    init();
    /* Stored 64x32, left red / right blue; orientation 6 means "rotate 90
     * clockwise to display": 32x64 with red on top, blue below. */
    VipsImage *im = halves(64, 32), *tagged = NULL;
    CHECK(im && vips_copy(im, &tagged, NULL) == 0);
    g_object_unref(im);
    vips_image_set_int(tagged, "orientation", 6);
    CHECK(vips_jpegsave(tagged, tmp_path("o6.jpg"), "Q", 95, NULL) == 0);
    g_object_unref(tagged);
    hc_image_info info;
    hc_err err = {0};
    CHECKF(hc_image_probe(tmp_path("o6.jpg"), "images[0]", &info, &err) == 0, "%s", err.msg);
    CHECKF(info.width == 32 && info.height == 64, "%dx%d", info.width, info.height);
    hc_yuv out;
    hc_image_prep prep = cover(32, 64);
    CHECKF(hc_image_prepare(tmp_path("o6.jpg"), "images[0]", &prep, &out, &err) == 0, "%s",
           err.msg);
    CHECK_YUV(&out, 4, 4, 24, 20, RED_Y, RED_U, RED_V, 8);
    CHECK_YUV(&out, 4, 40, 24, 20, BLUE_Y, BLUE_U, BLUE_V, 8);
    hc_yuv_fini(&out);
}

HC_TEST(image_cover_focus) {
    init();
    CHECK(save_and_unref(halves(200, 100), tmp_path("h.png")) == 0);
    hc_err err = {0};
    hc_yuv out;
    /* Portrait canvas over a landscape photo: the crop is a 50-wide slice. */
    hc_image_prep prep = {.canvas_w = 50,
                          .canvas_h = 100,
                          .fit = HC_IMG_FIT_COVER,
                          .has_focus = true,
                          .focus_x = 0.1,
                          .focus_y = 0.5};
    CHECKF(hc_image_prepare(tmp_path("h.png"), "images[0]", &prep, &out, &err) == 0, "%s", err.msg);
    CHECK_YUV(&out, 0, 0, 50, 100, RED_Y, RED_U, RED_V, 3);
    hc_yuv_fini(&out);
    prep.focus_x = 0.9;
    CHECKF(hc_image_prepare(tmp_path("h.png"), "images[0]", &prep, &out, &err) == 0, "%s", err.msg);
    CHECK_YUV(&out, 0, 0, 50, 100, BLUE_Y, BLUE_U, BLUE_V, 3);
    hc_yuv_fini(&out);
    /* Focus at the very edge clamps inside the image. */
    prep.focus_x = 1.0;
    CHECKF(hc_image_prepare(tmp_path("h.png"), "images[0]", &prep, &out, &err) == 0, "%s", err.msg);
    CHECK_YUV(&out, 0, 0, 50, 100, BLUE_Y, BLUE_U, BLUE_V, 3);
    hc_yuv_fini(&out);
    /* No focus: the centre, half red, half blue. */
    prep.has_focus = false;
    CHECKF(hc_image_prepare(tmp_path("h.png"), "images[0]", &prep, &out, &err) == 0, "%s", err.msg);
    CHECK_YUV(&out, 2, 10, 20, 80, RED_Y, RED_U, RED_V, 4);
    CHECK_YUV(&out, 28, 10, 20, 80, BLUE_Y, BLUE_U, BLUE_V, 4);
    hc_yuv_fini(&out);
}

HC_TEST(image_contain_and_blur_bars) {
    init();
    CHECK(save_and_unref(solid(100, 100, 255, 0, 0), tmp_path("sq.png")) == 0);
    hc_err err = {0};
    hc_yuv out;
    hc_image_prep prep = {.canvas_w = 100, .canvas_h = 200, .fit = HC_IMG_FIT_CONTAIN};
    CHECKF(hc_image_prepare(tmp_path("sq.png"), "images[0]", &prep, &out, &err) == 0, "%s",
           err.msg);
    CHECK_YUV(&out, 0, 0, 100, 44, 16, 128, 128, 0);
    CHECK_YUV(&out, 0, 156, 100, 44, 16, 128, 128, 0);
    CHECK_YUV(&out, 0, 54, 100, 92, RED_Y, RED_U, RED_V, 3);
    hc_yuv_fini(&out);

    prep.fit = HC_IMG_FIT_BLUR;
    CHECKF(hc_image_prepare(tmp_path("sq.png"), "images[0]", &prep, &out, &err) == 0, "%s",
           err.msg);
    /* Bars: the red, blurred and darkened to ~60% (Y ~44, V ~198). */
    double y = mean(&out, 0, 0, 0, 100, 40), v = mean(&out, 2, 0, 0, 100, 40);
    CHECKF(y > 30 && y < 60 && v > 170 && v < 225, "blur bar %.1f / %.1f", y, v);
    CHECK_YUV(&out, 0, 54, 100, 92, RED_Y, RED_U, RED_V, 3);
    hc_yuv_fini(&out);
}

static void check_refused(const char *path, int want_code, const char *want_msg) {
    hc_err err = {0};
    hc_image_info info;
    int rc = hc_image_probe(path, "images[2]", &info, &err);
    CHECKF(rc == want_code, "probe: rc %d (%s), want %d", rc, err.msg, want_code);
    CHECKF(strstr(err.msg, want_msg) != NULL, "probe: \"%s\" lacks \"%s\"", err.msg, want_msg);
    hc_err_clear(&err);
    hc_yuv out;
    hc_image_prep prep = cover(64, 64);
    rc = hc_image_prepare(path, "images[2]", &prep, &out, &err);
    CHECKF(rc == want_code, "prepare: rc %d (%s), want %d", rc, err.msg, want_code);
    CHECKF(strstr(err.msg, want_msg) != NULL, "prepare: \"%s\" lacks \"%s\"", err.msg, want_msg);
    CHECK(out.plane[0] == NULL);
}

HC_TEST(image_refuses_non_images) {
    init();
    const char *html = "\n  <!DOCTYPE html><html><body>Not found</body></html>\n";
    CHECK(hc_test_write_file(tmp_path("x.jpg"), html, strlen(html)) == 0);
    check_refused(tmp_path("x.jpg"), HC_EMEDIA, "images[2]: not an image (looks like HTML)");
    if (hc_test_failed()) return;
    CHECK(hc_test_write_file(tmp_path("empty.jpg"), "", 0) == 0);
    check_refused(tmp_path("empty.jpg"), HC_EMEDIA, "images[2]: empty file");
    if (hc_test_failed()) return;
    const unsigned char junk[] = {0x00, 0x01, 0xfe, 0x42, 0x00, 0x00, 0x07};
    CHECK(hc_test_write_file(tmp_path("junk.png"), junk, sizeof junk) == 0);
    check_refused(tmp_path("junk.png"), HC_EMEDIA,
                  "images[2]: not an image (unrecognised data, starts with 0x00 0x01");
    if (hc_test_failed()) return;
    const char *pdf = "%PDF-1.7\n...";
    CHECK(hc_test_write_file(tmp_path("doc.png"), pdf, strlen(pdf)) == 0);
    check_refused(tmp_path("doc.png"), HC_EMEDIA, "images[2]: not an image (looks like a PDF");
    if (hc_test_failed()) return;
    const char *json = "{\"error\": \"forbidden\"}";
    CHECK(hc_test_write_file(tmp_path("e.jpg"), json, strlen(json)) == 0);
    check_refused(tmp_path("e.jpg"), HC_EMEDIA, "looks like JSON");
}

HC_TEST(image_truncated_jpeg_and_png) {
    init();
    const char *names[] = {"t.jpg", "t.png"};
    for (int i = 0; i < 2; i++) {
        CHECK(save_and_unref(noise(256, 256), tmp_path(names[i])) == 0);
        size_t len;
        char *data = hc_test_read_file(tmp_path(names[i]), &len);
        CHECK(data && len > 4000);
        CHECK(hc_test_write_file(tmp_path(names[i]), data, len / 2) == 0);
        free(data);
        hc_err err = {0};
        hc_yuv out;
        hc_image_prep prep = cover(128, 128);
        int rc = hc_image_prepare(tmp_path(names[i]), "images[1]", &prep, &out, &err);
        CHECKF(rc == HC_EMEDIA, "%s: rc %d (%s)", names[i], rc, err.msg);
        CHECKF(strncmp(err.msg, "images[1]: corrupt or truncated image: ", 39) == 0 &&
                   strlen(err.msg) > 45,
               "%s: %s", names[i], err.msg);
        CHECK(out.plane[0] == NULL);
    }
}

static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return c ^ 0xffffffffu;
}

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

HC_TEST(image_pixel_cap_from_header) {
    init();
    /* A tiny PNG whose IHDR claims 30000x30000 (CRC fixed up): refused
     * from the header alone, long before anything is decoded. */
    CHECK(save_and_unref(solid(16, 16, 255, 0, 0), tmp_path("bomb.png")) == 0);
    size_t len;
    unsigned char *d = (unsigned char *)hc_test_read_file(tmp_path("bomb.png"), &len);
    CHECK(d && len > 33 && memcmp(d + 12, "IHDR", 4) == 0);
    put_be32(d + 16, 30000);
    put_be32(d + 20, 30000);
    put_be32(d + 29, crc32_of(d + 12, 17));
    CHECK(hc_test_write_file(tmp_path("bomb.png"), d, len) == 0);
    free(d);
    check_refused(tmp_path("bomb.png"), HC_ETOOBIG,
                  "images[2]: 30000x30000 pixels exceeds the 200 MP limit");
}

HC_TEST(image_rejects_bad_canvas) {
    init();
    CHECK(save_and_unref(solid(16, 16, 255, 0, 0), tmp_path("r.png")) == 0);
    hc_err err = {0};
    hc_yuv out;
    hc_image_prep prep = cover(101, 64);
    CHECK(hc_image_prepare(tmp_path("r.png"), "images[0]", &prep, &out, &err) == HC_EINVAL);
    prep = cover(0, 64);
    CHECK(hc_image_prepare(tmp_path("r.png"), "images[0]", &prep, &out, &err) == HC_EINVAL);
    prep = cover(16386, 64);
    CHECK(hc_image_prepare(tmp_path("r.png"), "images[0]", &prep, &out, &err) == HC_EINVAL);
    prep = cover(64, 64);
    prep.has_focus = true;
    prep.focus_x = 1.5;
    CHECK(hc_image_prepare(tmp_path("r.png"), "images[0]", &prep, &out, &err) == HC_EINVAL);
}

HC_TEST(image_path_with_brackets) {
    init();
    CHECK(save_and_unref(solid(20, 20, 255, 0, 0), tmp_path("photo.png")) == 0);
    CHECK(rename(tmp_path("photo.png"), tmp_path("photo[1]")) == 0);
    check_red_file(tmp_path("photo[1]"), "png", 20, 20);
}

HC_TEST_T(image_large_jpeg_shrinks_on_load, 120) {
    init();
    /* 8000x6000 (48 MP) into a 1080x1920 portrait canvas. */
    CHECK(save_and_unref(halves(8000, 6000), tmp_path("big.jpg")) == 0);
    hc_err err = {0};
    hc_yuv out;
    hc_image_prep prep = cover(1080, 1920);
    CHECKF(hc_image_prepare(tmp_path("big.jpg"), "images[0]", &prep, &out, &err) == 0, "%s",
           err.msg);
    CHECK(out.w == 1080 && out.h == 1920);
    /* The centre crop straddles the halves. */
    CHECK_YUV(&out, 100, 100, 300, 1700, RED_Y, RED_U, RED_V, 4);
    CHECK_YUV(&out, 700, 100, 300, 1700, BLUE_Y, BLUE_U, BLUE_V, 4);
    hc_yuv_fini(&out);
    prep.fit = HC_IMG_FIT_BLUR;
    CHECKF(hc_image_prepare(tmp_path("big.jpg"), "images[0]", &prep, &out, &err) == 0, "%s",
           err.msg);
    hc_yuv_fini(&out);
}

HC_TEST_T(image_8k_portrait_canvas, 120) {
    init();
    /* The largest canvas we render: 4320x7680, a small photo enlarged. */
    CHECK(save_and_unref(solid(600, 400, 255, 0, 0), tmp_path("s.jpg")) == 0);
    hc_err err = {0};
    hc_yuv out;
    hc_image_prep prep = {.canvas_w = 4320, .canvas_h = 7680, .fit = HC_IMG_FIT_BLUR};
    CHECKF(hc_image_prepare(tmp_path("s.jpg"), "images[0]", &prep, &out, &err) == 0, "%s", err.msg);
    CHECK(out.w == 4320 && out.h == 7680);
    CHECK_YUV(&out, 1000, 3600, 2000, 400, RED_Y, RED_U, RED_V, 5);
    double y = mean(&out, 0, 0, 0, 4320, 1000);
    CHECKF(y > 30 && y < 60, "blurred bar Y %.1f", y);
    hc_yuv_fini(&out);
}

typedef struct {
    const char *path;
    hc_img_fit fit;
    int rc;
    double y;
} thread_job;

static void *prepare_thread(void *arg) {
    thread_job *j = arg;
    hc_yuv out;
    hc_image_prep prep = {.canvas_w = 320, .canvas_h = 240, .fit = j->fit};
    for (int i = 0; i < 4 && j->rc == 0; i++) {
        j->rc = hc_image_prepare(j->path, "images[0]", &prep, &out, NULL);
        if (j->rc == 0) j->y = mean(&out, 0, 150, 110, 20, 20);
        hc_yuv_fini(&out);
    }
    return NULL;
}

HC_TEST(image_prepare_in_parallel) {
    init();
    CHECK(save_and_unref(solid(640, 480, 255, 0, 0), tmp_path("a.jpg")) == 0);
    CHECK(save_and_unref(solid(480, 640, 255, 0, 0), tmp_path("b.png")) == 0);
    CHECK(save_and_unref(solid(600, 400, 255, 0, 0), tmp_path("c.webp")) == 0);
    CHECK(save_and_unref(noise(256, 256), tmp_path("d.jpg")) == 0);
    thread_job jobs[4] = {{tmp_path("a.jpg"), HC_IMG_FIT_COVER, 0, 0},
                          {tmp_path("b.png"), HC_IMG_FIT_BLUR, 0, 0},
                          {tmp_path("c.webp"), HC_IMG_FIT_CONTAIN, 0, 0},
                          {tmp_path("d.jpg"), HC_IMG_FIT_COVER, 0, 0}};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, prepare_thread, &jobs[i]) == 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++)
        CHECKF(jobs[i].rc == 0, "thread %d: rc %d", i, jobs[i].rc);
    for (int i = 0; i < 3; i++)
        CHECKF(NEAR(jobs[i].y, RED_Y, 4), "thread %d: Y %.1f", i, jobs[i].y);
}

HC_TEST(image_media_init_routes_libav_log) {
    init();
    /* Capture stderr (this test runs in its own process). */
    int fd = dup(2);
    FILE *f = freopen(tmp_path("stderr.txt"), "w", stderr);
    CHECK(f != NULL);
    hc_log_set_level(HC_LOG_INFO);
    av_log(NULL, AV_LOG_WARNING, "odd stream %d\n", 7);
    av_log(NULL, AV_LOG_INFO, "chatter\n");
    av_log(NULL, AV_LOG_ERROR, "in two ");
    av_log(NULL, AV_LOG_ERROR, "pieces\n");
    hc_log_set_level(HC_LOG_DEBUG);
    av_log(NULL, AV_LOG_VERBOSE, "verbose now\n");
    fflush(stderr);
    dup2(fd, 2);
    close(fd);
    char *log = hc_test_read_file(tmp_path("stderr.txt"), NULL);
    CHECK(log);
    CHECKF(strstr(log, "\"level\":\"warn\",\"comp\":\"libav\",\"msg\":\"odd stream 7\"}"), "%s",
           log);
    CHECKF(!strstr(log, "chatter"), "%s", log);
    CHECKF(strstr(log, "\"level\":\"error\",\"comp\":\"libav\",\"msg\":\"in two pieces\"}"), "%s",
           log);
    CHECKF(strstr(log, "\"level\":\"debug\",\"comp\":\"libav\",\"msg\":\"verbose now\"}"), "%s",
           log);
    free(log);
}
