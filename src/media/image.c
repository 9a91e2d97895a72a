/* Image ingest: recognise a photo by its magic bytes, read its header
 * through libvips, and turn it into a canvas-sized BT.709 limited-range
 * YUV 4:2:0 image (cover, contain or blur fit).
 *
 * Invariants: nothing is decoded before the magic bytes say it is a
 * supported image and the header passes the pixel cap; decoding goes
 * through libvips' thumbnail operations, so JPEG/WebP/HEIF shrink on load
 * and EXIF orientation and ICC profiles are applied; pixels leave libvips a
 * strip at a time straight into libswscale, so the only full-size buffer is
 * the YUV result. Every libvips failure is reported with libvips' own text. */
#include "media/hc_media.h"

#include <assert.h>
#include <errno.h>
#include <libavutil/mem.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <vips/vips.h>

/* Rows of RGB handed to libswscale at once (even: 4:2:0 chroma rows pair). */
#define STRIP_ROWS 16
/* Cover fit scales the whole photo before cropping; past this many times
 * the canvas area (a panorama into a portrait canvas), scale less, crop,
 * then enlarge the crop, so memory stays bounded. */
#define COVER_MAX_AREA_FACTOR 4.0
/* Blur fit: the background is blurred at 1/BLUR_REDUCE of the canvas. */
#define BLUR_REDUCE     8
#define BLUR_SIGMA      5.0
#define BLUR_BRIGHTNESS 0.6
/* rgb_to_yuv: libvips failed while producing pixels. */
#define VIPS_FAILED 1

typedef enum {
    KIND_JPEG,
    KIND_PNG,
    KIND_GIF,
    KIND_WEBP,
    KIND_BMP,
    KIND_TIFF,
    KIND_HEIF,
    KIND_AVIF,
} image_kind;

static const char *const kind_names[] = {"jpeg", "png",  "gif",  "webp",
                                         "bmp",  "tiff", "heif", "avif"};

/* ---- errors from libvips ----------------------------------------------- */

/* Take libvips' error text (and clear it) and record it after `what`.
 * libvips keeps one error buffer per process, and some successful calls
 * leave text in it (libheif's reads past the end: "bad seek"), so each
 * operation clears it before starting. Under concurrent prepares a message
 * may pick up a line from another thread's failure, or lose its own to
 * another thread's clear (then "unknown libvips error"); we accept that
 * rather than serialise decoding. */
static int vips_fail(hc_err *err, int code, const char *label, const char *what) {
    char *text = vips_error_buffer_copy();
    char clean[200];
    size_t o = 0;
    for (const char *p = text ? text : ""; *p && o < sizeof clean - 1; p++) {
        if (*p == '\n') {
            /* Join lines with "; ", dropping the trailing newline. */
            if (p[1] && o + 2 < sizeof clean - 1) {
                clean[o++] = ';';
                clean[o++] = ' ';
            }
        } else {
            clean[o++] = *p;
        }
    }
    clean[o] = 0;
    g_free(text);
    return hc_err_set(err, code, "%s: %s: %s", label, what, o ? clean : "unknown libvips error");
}

/* ---- sniffing ----------------------------------------------------------- */

static bool has_prefix_ci(const unsigned char *p, size_t n, const char *s) {
    size_t k = strlen(s);
    if (n < k) return false;
    for (size_t i = 0; i < k; i++) {
        unsigned char c = p[i];
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        if (c != (unsigned char)s[i]) return false;
    }
    return true;
}

static bool contains_ci(const unsigned char *p, size_t n, const char *s) {
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (has_prefix_ci(p + i, n - i, s)) return true;
    return false;
}

static bool is_brand(const unsigned char *b, const char *const *list) {
    for (; *list; list++)
        if (memcmp(b, *list, 4) == 0) return true;
    return false;
}

/* An ISO-BMFF file (ftyp box): HEIC, AVIF, or a video. Returns the kind,
 * or -1 with *looks set. */
static int sniff_ftyp(const unsigned char *b, size_t n, const char **looks) {
    static const char *const avif[] = {"avif", "avis", NULL};
    static const char *const heif[] = {"heic", "heix", "heim", "heis", "hevc", "hevx",
                                       "hevm", "hevs", "mif1", "msf1", NULL};
    size_t box = (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
    if (box > n) box = n;
    if (is_brand(b + 8, avif)) return KIND_AVIF;
    if (memcmp(b + 8, "mif1", 4) != 0 && memcmp(b + 8, "msf1", 4) != 0 && is_brand(b + 8, heif))
        return KIND_HEIF;
    /* Major brand mif1 (or anything else): look at the compatible brands. */
    for (size_t i = 16; i + 4 <= box; i += 4)
        if (is_brand(b + i, avif)) return KIND_AVIF;
    for (size_t i = 16; i + 4 <= box; i += 4)
        if (is_brand(b + i, heif)) return KIND_HEIF;
    if (is_brand(b + 8, heif)) return KIND_HEIF;
    *looks = "an MP4/QuickTime video";
    return -1;
}

/* What a non-image looks like, for the message. */
static const char *describe_other(const unsigned char *b, size_t n, bool *is_image) {
    *is_image = false;
    if (n >= 5 && memcmp(b, "%PDF-", 5) == 0) return "a PDF document";
    if (n >= 4 && memcmp(b, "PK\x03\x04", 4) == 0) return "a ZIP archive";
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return "gzip data";
    if (n >= 4 && memcmp(b, "\x1a\x45\xdf\xa3", 4) == 0) return "a Matroska/WebM video";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "AVI ", 4) == 0)
        return "an AVI video";
    if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WAVE", 4) == 0) return "WAV audio";
    if (n >= 4 && memcmp(b, "OggS", 4) == 0) return "Ogg media";
    if (n >= 3 && memcmp(b, "ID3", 3) == 0) return "MP3 audio";
    if (n >= 4 && memcmp(b, "fLaC", 4) == 0) return "FLAC audio";
    *is_image = true;
    if ((n >= 2 && b[0] == 0xff && b[1] == 0x0a) ||
        (n >= 12 && memcmp(b, "\0\0\0\x0cJXL \r\n\x87\n", 12) == 0))
        return "JPEG XL";
    if ((n >= 12 && memcmp(b, "\0\0\0\x0cjP  \r\n\x87\n", 12) == 0) ||
        (n >= 4 && memcmp(b, "\xff\x4f\xff\x51", 4) == 0))
        return "JPEG 2000";
    if (n >= 4 && memcmp(b, "8BPS", 4) == 0) return "Photoshop PSD";
    if (n >= 4 && memcmp(b, "\0\0\1\0", 4) == 0) return "ICO";

    /* Text formats: skip a UTF-8 byte-order mark and leading white space. */
    size_t i = 0;
    if (n >= 3 && memcmp(b, "\xef\xbb\xbf", 3) == 0) i = 3;
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    const unsigned char *t = b + i;
    size_t tn = n - i;
    if (has_prefix_ci(t, tn, "<svg") ||
        (has_prefix_ci(t, tn, "<?xml") && contains_ci(t, tn, "<svg")))
        return "SVG";
    *is_image = false;
    if (tn > 0 && t[0] == '<') {
        static const char *const html[] = {"<!doctype html", "<html",   "<head", "<body", "<meta",
                                           "<title",         "<script", "<!--",  NULL};
        for (int k = 0; html[k]; k++)
            if (has_prefix_ci(t, tn, html[k])) return "HTML";
        if (contains_ci(t, tn, "<html")) return "HTML";
        if (has_prefix_ci(t, tn, "<?xml")) return "XML";
    }
    if (tn > 0 && (t[0] == '{' || t[0] == '[')) return "JSON";
    bool text = tn > 0;
    for (size_t k = 0; k < n && text; k++)
        if (b[k] == 0 ||
            (b[k] < 0x20 && b[k] != '\t' && b[k] != '\r' && b[k] != '\n' && b[k] != '\f'))
            text = false;
    if (text) return "text";
    return NULL;
}

/* Read the first bytes of path and decide what it is. */
static int sniff(const char *path, const char *label, image_kind *kind, hc_err *err) {
    unsigned char b[512];
    FILE *f = fopen(path, "rb");
    if (!f) return hc_err_set(err, HC_EIO, "%s: cannot open file: %s", label, strerror(errno));
    size_t n = fread(b, 1, sizeof b, f);
    bool bad = ferror(f);
    fclose(f);
    if (bad) return hc_err_set(err, HC_EIO, "%s: cannot read file", label);
    if (n == 0) return hc_err_set(err, HC_EMEDIA, "%s: empty file", label);

    if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
        *kind = KIND_JPEG;
    else if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        *kind = KIND_PNG;
    else if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
        *kind = KIND_GIF;
    else if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
        *kind = KIND_WEBP;
    else if (n >= 4 && (memcmp(b, "II*\0", 4) == 0 || memcmp(b, "MM\0*", 4) == 0 ||
                        memcmp(b, "II+\0", 4) == 0 || memcmp(b, "MM\0+", 4) == 0))
        *kind = KIND_TIFF;
    else if (n >= 18 && b[0] == 'B' && b[1] == 'M' &&
             (b[14] == 12 || b[14] == 40 || b[14] == 52 || b[14] == 56 || b[14] == 64 ||
              b[14] == 108 || b[14] == 124) &&
             b[15] == 0 && b[16] == 0 && b[17] == 0)
        *kind = KIND_BMP;
    else {
        const char *looks = NULL;
        if (n >= 16 && memcmp(b + 4, "ftyp", 4) == 0) {
            int k = sniff_ftyp(b, n, &looks);
            if (k >= 0) {
                *kind = (image_kind)k;
                return 0;
            }
            return hc_err_set(err, HC_EMEDIA, "%s: not an image (looks like %s)", label, looks);
        }
        bool is_image;
        looks = describe_other(b, n, &is_image);
        if (looks && is_image)
            return hc_err_set(err, HC_EMEDIA, "%s: unsupported image format (%s)", label, looks);
        if (looks)
            return hc_err_set(err, HC_EMEDIA, "%s: not an image (looks like %s)", label, looks);
        char hex[32] = "";
        size_t o = 0;
        for (size_t i = 0; i < n && i < 4; i++)
            o += (size_t)snprintf(hex + o, sizeof hex - o, "%s0x%02x", i ? " " : "", b[i]);
        return hc_err_set(err, HC_EMEDIA, "%s: not an image (unrecognised data, starts with %s)",
                          label, hex);
    }
    return 0;
}

/* ---- header --------------------------------------------------------------- */

/* Open path lazily (header only) with the loader its magic bytes named, so
 * no other loader ever sees the data. */
static VipsImage *open_header(const char *path, image_kind kind) {
    VipsImage *im = NULL;
    int rc;
#define HDR_OPTS "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL
    switch (kind) {
    case KIND_JPEG:
        rc = vips_jpegload(path, &im, HDR_OPTS);
        break;
    case KIND_PNG:
        rc = vips_pngload(path, &im, HDR_OPTS);
        break;
    case KIND_GIF:
        rc = vips_gifload(path, &im, HDR_OPTS);
        break;
    case KIND_WEBP:
        rc = vips_webpload(path, &im, HDR_OPTS);
        break;
    case KIND_TIFF:
        rc = vips_tiffload(path, &im, HDR_OPTS);
        break;
    case KIND_BMP:
        rc = vips_magickload(path, &im, HDR_OPTS);
        break;
    case KIND_HEIF:
    case KIND_AVIF:
        rc = vips_heifload(path, &im, HDR_OPTS);
        break;
    default:
        rc = -1;
        break;
    }
#undef HDR_OPTS
    return rc ? NULL : im;
}

/* BMP goes through ImageMagick and HEIC/AVIF through libheif, both
 * optional libvips modules. */
static bool loader_available(image_kind kind) {
    const char *nick = kind == KIND_BMP                         ? "magickload"
                       : kind == KIND_HEIF || kind == KIND_AVIF ? "heifload"
                                                                : NULL;
    return !nick || vips_type_find("VipsOperation", nick) != 0;
}

/* Probe, keeping the header image for prepare (*hdr: caller unrefs). */
static int probe(const char *path, const char *label, hc_image_info *info, VipsImage **hdr,
                 image_kind *kind_out, hc_err *err) {
    image_kind kind = KIND_JPEG;
    int rc = hc_media_init(err);
    if (rc) return rc;
    if ((rc = sniff(path, label, &kind, err))) return rc;
    vips_error_clear(); /* see vips_fail */
    if (!loader_available(kind))
        return hc_err_set(err, HC_EUNSUPPORTED, "%s: %s images are not supported by this build",
                          label, kind_names[kind]);
    VipsImage *im = open_header(path, kind);
    if (!im) return vips_fail(err, HC_EMEDIA, label, "corrupt or truncated image");

    int w = im->Xsize, h = im->Ysize;
    if (vips_image_get_orientation_swap(im)) {
        int t = w;
        w = h;
        h = t;
    }
    if (w < 1 || h < 1) {
        rc = hc_err_set(err, HC_EMEDIA, "%s: image has no pixels (%dx%d)", label, w, h);
    } else if ((long long)w * h > HC_IMAGE_MAX_PIXELS) {
        rc = hc_err_set(err, HC_ETOOBIG, "%s: %dx%d pixels exceeds the %lld MP limit", label, w, h,
                        HC_IMAGE_MAX_PIXELS / 1000000);
    } else {
        info->width = w;
        info->height = h;
        snprintf(info->format, sizeof info->format, "%s", kind_names[kind]);
    }
    if (rc || !hdr)
        g_object_unref(im);
    else
        *hdr = im;
    if (kind_out) *kind_out = kind;
    return rc;
}

int hc_image_probe(const char *path, const char *label, hc_image_info *info, hc_err *err) {
    assert(path && label && info);
    memset(info, 0, sizeof *info);
    return probe(path, label, info, NULL, NULL, err);
}

/* ---- prepare ---------------------------------------------------------------- */

/* A scratch array of images owned by one context object: unreffing the
 * context releases every intermediate (one cleanup for the whole pipeline). */
typedef struct {
    VipsObject *ctx;
    VipsImage **t;
    int n, cap;
} pipe_t;

static VipsImage **slot(pipe_t *p) {
    assert(p->n < p->cap);
    return &p->t[p->n++];
}

/* Whatever came out of the thumbnail: 3-band 8-bit sRGB, alpha flattened
 * on black. */
static int to_rgb8(pipe_t *p, VipsImage *in, VipsImage **out) {
    VipsImage *cur = in;
    if (vips_image_hasalpha(cur)) {
        bool deep = cur->BandFmt == VIPS_FORMAT_USHORT;
        double black[1] = {0};
        VipsArrayDouble *bg = vips_array_double_new(black, 1);
        int rc =
            vips_flatten(cur, slot(p), "background", bg, "max_alpha", deep ? 65535.0 : 255.0, NULL);
        vips_area_unref(VIPS_AREA(bg));
        if (rc) return -1;
        cur = p->t[p->n - 1];
    }
    if (cur->Type != VIPS_INTERPRETATION_sRGB || cur->Bands != 3) {
        if (vips_colourspace_issupported(cur)) {
            if (vips_colourspace(cur, slot(p), VIPS_INTERPRETATION_sRGB, NULL)) return -1;
            cur = p->t[p->n - 1];
        }
    }
    if (cur->BandFmt != VIPS_FORMAT_UCHAR) {
        /* 16-bit data keeps its top byte; anything else is clamped. */
        if (vips_cast(cur, slot(p), VIPS_FORMAT_UCHAR, "shift", cur->BandFmt == VIPS_FORMAT_USHORT,
                      NULL))
            return -1;
        cur = p->t[p->n - 1];
    }
    if (cur->Bands == 1 || cur->Bands == 2) {
        VipsImage *g = cur;
        if (cur->Bands == 2) {
            if (vips_extract_band(cur, slot(p), 0, NULL)) return -1;
            g = p->t[p->n - 1];
        }
        VipsImage *three[3] = {g, g, g};
        if (vips_bandjoin(three, slot(p), 3, NULL)) return -1;
        cur = p->t[p->n - 1];
    } else if (cur->Bands > 3) {
        if (vips_extract_band(cur, slot(p), 0, "n", 3, NULL)) return -1;
        cur = p->t[p->n - 1];
    }
    *out = cur;
    return 0;
}

/* Make in exactly w x h (resizes may land a pixel off), centred, edges
 * copied outward. */
static int exact_size(pipe_t *p, VipsImage *in, int w, int h, VipsImage **out) {
    if (in->Xsize == w && in->Ysize == h) {
        *out = in;
        return 0;
    }
    if (vips_gravity(in, slot(p), VIPS_COMPASS_DIRECTION_CENTRE, w, h, "extend", VIPS_EXTEND_COPY,
                     NULL))
        return -1;
    *out = p->t[p->n - 1];
    return 0;
}

static int clampi(long v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : (int)v;
}

/* The photo being prepared: its path, what the magic bytes said, and its
 * header (opened by probe with the matching loader). */
typedef struct {
    const char *path;
    image_kind kind;
    VipsImage *hdr;
} photo_t;

/* The JPEG shrink-on-load factor (1, 2, 4 or 8) that still decodes at
 * least tw x th (displayed). vips_thumbnail keeps a further factor of two
 * for its final resize, which for a 48 MP photo into a phone canvas means
 * decoding every pixel; libjpeg's scaled IDCT is good enough, and much
 * cheaper in time and memory. */
static int jpeg_shrink(const photo_t *ph, int tw, int th) {
    bool swap = vips_image_get_orientation_swap(ph->hdr);
    int need_w = swap ? th : tw, need_h = swap ? tw : th;
    int k = 1;
    while (k < 8 && ph->hdr->Xsize / (2 * k) >= need_w && ph->hdr->Ysize / (2 * k) >= need_h)
        k *= 2;
    return k;
}

static int thumbnail_image(VipsImage *in, int tw, int th, const char *profile, VipsImage **out) {
    return profile ? vips_thumbnail_image(in, out, tw, "height", th, "size", VIPS_SIZE_FORCE,
                                          "export_profile", profile, NULL)
                   : vips_thumbnail_image(in, out, tw, "height", th, "size", VIPS_SIZE_FORCE, NULL);
}

static int thumbnail_once(const photo_t *ph, int tw, int th, bool to_srgb, VipsImage **out) {
    const char *profile = to_srgb ? "srgb" : NULL;
    /* BMP: ImageMagick has no streaming loader in libvips; BMPs are small
     * and gain nothing from shrink-on-load, so thumbnail the opened image. */
    if (ph->kind == KIND_BMP) return thumbnail_image(ph->hdr, tw, th, profile, out);
    /* A source, not a file name: libvips would parse a trailing "[...]" in
     * a file name as loader options. */
    VipsSource *src = vips_source_new_from_file(ph->path);
    if (!src) return -1;
    int rc;
    if (ph->kind == KIND_JPEG) {
        VipsImage *in = NULL;
        rc = vips_jpegload_source(src, &in, "shrink", jpeg_shrink(ph, tw, th), "access",
                                  VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
        if (!rc) rc = thumbnail_image(in, tw, th, profile, out);
        if (in) g_object_unref(in);
    } else if (profile) {
        rc = vips_thumbnail_source(src, out, tw, "height", th, "size", VIPS_SIZE_FORCE,
                                   "option_string", "fail_on=truncated", "export_profile", profile,
                                   NULL);
    } else {
        rc = vips_thumbnail_source(src, out, tw, "height", th, "size", VIPS_SIZE_FORCE,
                                   "option_string", "fail_on=truncated", NULL);
    }
    g_object_unref(src); /* the pipeline keeps its own references */
    return rc;
}

/* Decode at tw x th: shrink-on-load, EXIF rotation, ICC to sRGB. */
static int thumbnail(pipe_t *p, const photo_t *ph, int tw, int th, VipsImage **out) {
    VipsImage **o = slot(p);
    int rc = -1;
    if (vips_image_get_typeof(ph->hdr, VIPS_META_ICC_NAME)) {
        rc = thumbnail_once(ph, tw, th, true, o);
        /* A broken embedded profile: decode without colour management
         * rather than refuse the photo. */
        if (rc) vips_error_clear();
    }
    if (rc) rc = thumbnail_once(ph, tw, th, false, o);
    *out = *o;
    return rc;
}

static int prep_cover(pipe_t *p, const photo_t *ph, const hc_image_info *info,
                      const hc_image_prep *prep, VipsImage **out) {
    int cw = prep->canvas_w, ch = prep->canvas_h;
    double W = info->width, H = info->height;
    double s = fmax(cw / W, ch / H);
    /* Bound the scaled photo; see COVER_MAX_AREA_FACTOR. */
    double s2 = fmin(s, sqrt(COVER_MAX_AREA_FACTOR * cw * ch / (W * H)));
    long sw = lround(W * s2), sh = lround(H * s2);
    if (sw < 1) sw = 1;
    if (sh < 1) sh = 1;
    /* The canvas window at this scale (exactly cw x ch when s2 == s). */
    int crw = clampi(s2 == s ? cw : lround(cw * s2 / s), 1, INT32_MAX);
    int crh = clampi(s2 == s ? ch : lround(ch * s2 / s), 1, INT32_MAX);
    if (sw < crw) sw = crw;
    if (sh < crh) sh = crh;
    VipsImage *im;
    if (sw > VIPS_MAX_COORD || sh > VIPS_MAX_COORD) {
        vips_error("hc_image", "scaled size %ldx%ld is out of range", sw, sh);
        return -1;
    }
    if (thumbnail(p, ph, (int)sw, (int)sh, &im) || to_rgb8(p, im, &im)) return -1;
    crw = clampi(crw, 1, im->Xsize);
    crh = clampi(crh, 1, im->Ysize);
    double fx = prep->has_focus ? prep->focus_x : 0.5;
    double fy = prep->has_focus ? prep->focus_y : 0.5;
    int left = clampi(lround(fx * im->Xsize - crw / 2.0), 0, im->Xsize - crw);
    int top = clampi(lround(fy * im->Ysize - crh / 2.0), 0, im->Ysize - crh);
    if (vips_extract_area(im, slot(p), left, top, crw, crh, NULL)) return -1;
    im = p->t[p->n - 1];
    if (crw != cw || crh != ch) {
        if (vips_resize(im, slot(p), (double)cw / crw, "vscale", (double)ch / crh, NULL)) return -1;
        im = p->t[p->n - 1];
    }
    return exact_size(p, im, cw, ch, out);
}

/* The contained size: fits inside the canvas, aspect kept. */
static void contain_size(const hc_image_info *info, int cw, int ch, int *tw, int *th) {
    double s = fmin((double)cw / info->width, (double)ch / info->height);
    *tw = clampi(lround(info->width * s), 1, cw);
    *th = clampi(lround(info->height * s), 1, ch);
}

static int prep_contain(pipe_t *p, const photo_t *ph, const hc_image_info *info,
                        const hc_image_prep *prep, VipsImage **out) {
    int cw = prep->canvas_w, ch = prep->canvas_h, tw, th;
    contain_size(info, cw, ch, &tw, &th);
    VipsImage *im;
    if (thumbnail(p, ph, tw, th, &im) || to_rgb8(p, im, &im)) return -1;
    /* RGB black becomes Y=16, U=V=128 in limited range. */
    if (vips_embed(im, slot(p), (cw - im->Xsize) / 2, (ch - im->Ysize) / 2, cw, ch, "extend",
                   VIPS_EXTEND_BLACK, NULL))
        return -1;
    *out = p->t[p->n - 1];
    return 0;
}

static int prep_blur(pipe_t *p, const photo_t *ph, const hc_image_info *info,
                     const hc_image_prep *prep, VipsImage **out) {
    int cw = prep->canvas_w, ch = prep->canvas_h, tw, th;
    contain_size(info, cw, ch, &tw, &th);
    VipsImage *fg;
    if (thumbnail(p, ph, tw, th, &fg) || to_rgb8(p, fg, &fg)) return -1;
    /* Used twice (background and foreground) while the loader is
     * sequential: decode once into memory (at most canvas-sized). */
    if (!(*slot(p) = vips_image_copy_memory(fg))) return -1;
    fg = p->t[p->n - 1];
    tw = fg->Xsize;
    th = fg->Ysize;

    /* Background: the canvas-aspect centre of the photo, blurred at a small
     * size (cheap, and blur hides the low resolution), darkened, enlarged. */
    int bw = cw / BLUR_REDUCE > 2 ? cw / BLUR_REDUCE : 2;
    int bh = ch / BLUR_REDUCE > 2 ? ch / BLUR_REDUCE : 2;
    int cropw = tw, croph = th;
    if ((long long)tw * ch > (long long)th * cw)
        cropw = clampi(lround((double)th * cw / ch), 1, tw);
    else
        croph = clampi(lround((double)tw * ch / cw), 1, th);
    VipsImage *bg;
    if (vips_extract_area(fg, slot(p), (tw - cropw) / 2, (th - croph) / 2, cropw, croph, NULL))
        return -1;
    bg = p->t[p->n - 1];
    if (vips_resize(bg, slot(p), (double)bw / cropw, "vscale", (double)bh / croph, NULL)) return -1;
    bg = p->t[p->n - 1];
    if (vips_gaussblur(bg, slot(p), BLUR_SIGMA, NULL)) return -1;
    bg = p->t[p->n - 1];
    if (vips_linear1(bg, slot(p), BLUR_BRIGHTNESS, 0.0, "uchar", TRUE, NULL)) return -1;
    bg = p->t[p->n - 1];
    if (vips_resize(bg, slot(p), (double)cw / bg->Xsize, "vscale", (double)ch / bg->Ysize, "kernel",
                    VIPS_KERNEL_LINEAR, NULL))
        return -1;
    bg = p->t[p->n - 1];
    if (exact_size(p, bg, cw, ch, &bg)) return -1;
    if (vips_insert(bg, fg, slot(p), (cw - tw) / 2, (ch - th) / 2, NULL)) return -1;
    *out = p->t[p->n - 1];
    return 0;
}

/* Pull rgb (cw x ch, 3-band uchar) through libvips a strip at a time and
 * convert each strip into out. Returns 0, VIPS_FAILED (libvips' error is
 * pending) or a negative HC_E* code. */
static int rgb_to_yuv(VipsImage *rgb, hc_yuv *out) {
    int w = rgb->Xsize, h = rgb->Ysize;
    int rc = HC_ENOMEM;
    VipsRegion *reg = NULL;
    struct SwsContext *sws = NULL;
    int stride = (w * 3 + 63) & ~63;
    uint8_t *buf = av_malloc((size_t)stride * STRIP_ROWS);
    if (!buf) goto done;
    sws = sws_getContext(w, h, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUV420P,
                         SWS_BILINEAR | SWS_ACCURATE_RND, NULL, NULL, NULL);
    if (!sws) goto done;
    /* Full-range RGB in, BT.709 limited-range YUV out. */
    const int *bt709 = sws_getCoefficients(SWS_CS_ITU709);
    if (sws_setColorspaceDetails(sws, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16) < 0) {
        rc = HC_EINTERNAL;
        goto done;
    }
    if (!(reg = vips_region_new(rgb))) {
        rc = VIPS_FAILED;
        goto done;
    }
    for (int y = 0; y < h; y += STRIP_ROWS) {
        int rows = h - y < STRIP_ROWS ? h - y : STRIP_ROWS;
        VipsRect r = {0, y, w, rows};
        if (vips_region_prepare(reg, &r)) {
            rc = VIPS_FAILED;
            goto done;
        }
        /* Copy into an aligned buffer: libswscale is faster on (and warns
         * about anything but) aligned rows. */
        for (int i = 0; i < rows; i++)
            memcpy(buf + (size_t)i * stride, VIPS_REGION_ADDR(reg, 0, y + i), (size_t)w * 3);
        const uint8_t *src[4] = {buf, NULL, NULL, NULL};
        const int src_stride[4] = {stride, 0, 0, 0};
        if (sws_scale(sws, src, src_stride, y, rows, out->plane, out->stride) < 0) {
            rc = HC_EINTERNAL;
            goto done;
        }
    }
    rc = 0;
done:
    if (reg) g_object_unref(reg);
    sws_freeContext(sws);
    av_free(buf);
    return rc;
}

int hc_image_prepare(const char *path, const char *label, const hc_image_prep *prep, hc_yuv *out,
                     hc_err *err) {
    assert(path && label && prep && out);
    memset(out, 0, sizeof *out);
    int cw = prep->canvas_w, ch = prep->canvas_h;
    if (cw < 2 || ch < 2 || cw > 16384 || ch > 16384 || cw % 2 || ch % 2)
        return hc_err_set(err, HC_EINVAL, "%s: canvas %dx%d must be even and 2..16384", label, cw,
                          ch);
    if (prep->fit != HC_IMG_FIT_COVER && prep->fit != HC_IMG_FIT_CONTAIN &&
        prep->fit != HC_IMG_FIT_BLUR)
        return hc_err_set(err, HC_EINVAL, "%s: unknown fit %d", label, (int)prep->fit);
    if (prep->has_focus &&
        !(prep->focus_x >= 0 && prep->focus_x <= 1 && prep->focus_y >= 0 && prep->focus_y <= 1))
        return hc_err_set(err, HC_EINVAL, "%s: focus (%g, %g) must be within 0..1", label,
                          prep->focus_x, prep->focus_y);

    hc_image_info info;
    photo_t ph = {path, KIND_JPEG, NULL};
    int rc = probe(path, label, &info, &ph.hdr, &ph.kind, err);
    if (rc) return rc;
    vips_error_clear(); /* the header read may leave harmless text */

    pipe_t p = {VIPS_OBJECT(vips_image_new()), NULL, 0, 32};
    /* Intermediates hang off ctx and go when it does. */
    p.t = (VipsImage **)vips_object_local_array(p.ctx, p.cap);
    VipsImage *rgb = NULL;
    int vr;
    switch (prep->fit) {
    case HC_IMG_FIT_CONTAIN:
        vr = prep_contain(&p, &ph, &info, prep, &rgb);
        break;
    case HC_IMG_FIT_BLUR:
        vr = prep_blur(&p, &ph, &info, prep, &rgb);
        break;
    default:
        vr = prep_cover(&p, &ph, &info, prep, &rgb);
        break;
    }
    if (vr) {
        rc = vips_fail(err, HC_EMEDIA, label, "corrupt or truncated image");
        goto done;
    }
    assert(rgb->Xsize == cw && rgb->Ysize == ch && rgb->Bands == 3 &&
           rgb->BandFmt == VIPS_FORMAT_UCHAR);
    if ((rc = hc_yuv_alloc(out, cw, ch))) {
        hc_err_set(err, rc, "%s: cannot allocate a %dx%d canvas", label, cw, ch);
        goto done;
    }
    rc = rgb_to_yuv(rgb, out);
    if (rc == VIPS_FAILED)
        rc = vips_fail(err, HC_EMEDIA, label, "corrupt or truncated image");
    else if (rc)
        hc_err_set(err, rc, "%s: converting to YUV failed", label);
    if (rc) hc_yuv_fini(out);
done:
    g_object_unref(p.ctx);
    g_object_unref(ph.hdr);
    if (rc) memset(out, 0, sizeof *out);
    return rc;
}
