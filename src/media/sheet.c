/* Contact sheets for the gallery: YUV tiles converted to RGB (libswscale,
 * BT.709 limited to full range), labelled with libvips' text renderer,
 * joined into a grid and saved as one PNG. Not on any hot path. */
#include "media/hc_media.h"

#include <libswscale/swscale.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

static VipsImage *tile_rgb(const hc_yuv *img) {
    struct SwsContext *sws =
        sws_getContext(img->w, img->h, AV_PIX_FMT_YUV420P, img->w, img->h, AV_PIX_FMT_RGB24,
                       SWS_BILINEAR | SWS_ACCURATE_RND, NULL, NULL, NULL);
    if (!sws) return NULL;
    const int *bt709 = sws_getCoefficients(SWS_CS_ITU709);
    sws_setColorspaceDetails(sws, bt709, 0, bt709, 1, 0, 1 << 16, 1 << 16);
    size_t stride = (size_t)img->w * 3;
    uint8_t *rgb = malloc(stride * (size_t)img->h);
    if (!rgb) {
        sws_freeContext(sws);
        return NULL;
    }
    uint8_t *dst[4] = {rgb};
    int dst_stride[4] = {(int)stride};
    const uint8_t *src[4] = {img->plane[0], img->plane[1], img->plane[2]};
    sws_scale(sws, src, img->stride, 0, img->h, dst, dst_stride);
    sws_freeContext(sws);
    VipsImage *out = vips_image_new_from_memory_copy(rgb, stride * (size_t)img->h, img->w, img->h,
                                                     3, VIPS_FORMAT_UCHAR);
    free(rgb);
    return out;
}

/* White text on the sheet's background, `width` wide (NULL on failure). */
static VipsImage *label_rgb(const char *text, int width, int pt) {
    VipsImage *mask = NULL, *rgb = NULL;
    char font[32];
    snprintf(font, sizeof font, "sans %d", pt);
    if (vips_text(&mask, text, "width", width, "font", font, "dpi", 72, NULL) != 0) return NULL;
    VipsImage *bands[3] = {mask, mask, mask};
    int rc = vips_bandjoin(bands, &rgb, 3, NULL);
    g_object_unref(mask);
    return rc == 0 ? rgb : NULL;
}

int hc_sheet_write(const hc_yuv *const *tiles, const char *const *labels, int n, int cols,
                   const char *title, const char *path, hc_err *err) {
    if (n < 1 || cols < 1) return hc_err_set(err, HC_EINVAL, "contact sheet: nothing to draw");
    int rc = hc_media_init(err);
    if (rc != 0) return rc;
    VipsImage **cells = hc_xcalloc((size_t)n, sizeof *cells), *grid = NULL, *sheet = NULL;
    double bg[3] = {24, 24, 28};
    VipsArrayDouble *bga = vips_array_double_new(bg, 3);
    rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        VipsImage *t = tile_rgb(tiles[i]);
        if (!t) {
            rc = HC_ENOMEM;
            break;
        }
        VipsImage *l = labels && labels[i] ? label_rgb(labels[i], tiles[i]->w, 13) : NULL;
        if (l) {
            VipsImage *j = NULL;
            if (vips_join(t, l, &j, VIPS_DIRECTION_VERTICAL, "expand", TRUE, "shim", 4,
                          "background", bga, NULL) == 0) {
                g_object_unref(t);
                t = j;
            }
            g_object_unref(l);
        }
        cells[i] = t;
    }
    if (rc == 0 && vips_arrayjoin(cells, &grid, n, "across", cols, "shim", 12, "background", bga,
                                  "valign", VIPS_ALIGN_LOW, NULL) != 0)
        rc = HC_EINTERNAL;
    if (rc == 0 && title) {
        VipsImage *t = label_rgb(title, grid->Xsize, 20);
        if (t) {
            vips_join(t, grid, &sheet, VIPS_DIRECTION_VERTICAL, "expand", TRUE, "shim", 10,
                      "background", bga, NULL);
            g_object_unref(t);
        }
    }
    if (rc == 0) {
        VipsImage *final = NULL;
        /* A margin all round, then save. */
        if (vips_embed(sheet ? sheet : grid, &final, 12, 12, (sheet ? sheet : grid)->Xsize + 24,
                       (sheet ? sheet : grid)->Ysize + 24, "extend", VIPS_EXTEND_BACKGROUND,
                       "background", bga, NULL) != 0 ||
            vips_pngsave(final, path, "compression", 9, "palette", TRUE, "Q", 90, "effort", 7,
                         NULL) != 0)
            rc = hc_err_set(err, HC_EIO, "%s: %s", path, vips_error_buffer());
        if (final) g_object_unref(final);
        vips_error_clear();
    } else {
        hc_err_set(err, rc, "contact sheet: %s", vips_error_buffer());
        vips_error_clear();
    }
    for (int i = 0; i < n; i++)
        if (cells[i]) g_object_unref(cells[i]);
    free(cells);
    vips_area_unref(VIPS_AREA(bga));
    if (grid) g_object_unref(grid);
    if (sheet) g_object_unref(sheet);
    return rc;
}
