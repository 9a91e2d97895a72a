/* The JPEG poster written next to each video: one hc_yuv frame encoded with
 * libavcodec's mjpeg encoder. JPEG (JFIF) is full range, our frames are
 * BT.709 limited range, so the planes are expanded through two small lookup
 * tables on the way in (4:2:0 is kept; no resampling).
 *
 * Invariant: the poster appears atomically: it is written to a temporary
 * file in the same directory and renamed over path only when complete, so
 * readers never see a half-written JPEG. */
#include "media/hc_media.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/error.h>

/* qscale 3 (ffmpeg's -q:v 3), roughly libjpeg quality 90. */
enum { POSTER_QSCALE = 3 };

static int av_fail(hc_err *err, int averr, const char *what, const char *path) {
    char av[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, av, sizeof av);
    return hc_err_set(err, averr == AVERROR(ENOMEM) ? HC_ENOMEM : HC_EENCODER, "poster %s: %s: %s",
                      path, what, av);
}

/* Limited (16..235 luma, 16..240 chroma) to full range (0..255). */
static void range_luts(uint8_t luma[256], uint8_t chroma[256]) {
    for (int i = 0; i < 256; i++) {
        long y = lround((i - 16) * 255.0 / 219.0);
        long c = lround((i - 128) * 255.0 / 224.0) + 128;
        luma[i] = (uint8_t)(y < 0 ? 0 : y > 255 ? 255 : y);
        chroma[i] = (uint8_t)(c < 0 ? 0 : c > 255 ? 255 : c);
    }
}

static void expand_range(AVFrame *dst, const hc_yuv *src) {
    uint8_t luma[256], chroma[256];
    range_luts(luma, chroma);
    for (int p = 0; p < 3; p++) {
        const uint8_t *lut = p ? chroma : luma;
        int pw = p ? src->w / 2 : src->w, ph = p ? src->h / 2 : src->h;
        for (int r = 0; r < ph; r++) {
            const uint8_t *s = src->plane[p] + (size_t)r * (size_t)src->stride[p];
            uint8_t *d = dst->data[p] + (size_t)r * (size_t)dst->linesize[p];
            for (int x = 0; x < pw; x++)
                d[x] = lut[s[x]];
        }
    }
}

/* Write data to a temporary sibling of path, then rename it into place. */
static int write_atomic(const char *path, const uint8_t *data, size_t len, hc_err *err) {
    size_t n = strlen(path) + 16;
    char *tmp = hc_xmalloc(n);
    snprintf(tmp, n, "%s.tmp-XXXXXX", path);
    int rc = 0;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = hc_err_set(err, HC_EIO, "poster %s: %s", path, strerror(errno));
        goto done;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
            rc = hc_err_set(err, HC_EIO, "poster %s: write: %s", path, strerror(errno));
            goto done;
        }
        off += (size_t)w;
    }
    /* mkstemp makes 0600; the poster is served like the video. */
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        rc = hc_err_set(err, HC_EIO, "poster %s: %s", path, strerror(errno));
        goto done;
    }
    int c = close(fd);
    fd = -1;
    if (c != 0 || rename(tmp, path) != 0)
        rc = hc_err_set(err, HC_EIO, "poster %s: %s", path, strerror(errno));
done:
    if (fd >= 0) close(fd);
    if (rc < 0) unlink(tmp);
    free(tmp);
    return rc;
}

int hc_poster_write(const hc_yuv *img, const char *path, hc_err *err) {
    if (!img || !img->plane[0] || img->w < 2 || img->h < 2 || img->w > 16384 || img->h > 16384 ||
        (img->w & 1) || (img->h & 1))
        return hc_err_set(err, HC_EINVAL, "poster %s: bad image %dx%d", path ? path : "",
                          img ? img->w : 0, img ? img->h : 0);
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec) return hc_err_set(err, HC_EENCODER, "poster %s: no mjpeg encoder", path);

    int rc = 0, ret;
    AVCodecContext *cc = avcodec_alloc_context3(codec);
    AVFrame *frame = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    if (!cc || !frame || !pkt) {
        rc = hc_err_set(err, HC_ENOMEM, "poster %s: out of memory", path);
        goto done;
    }
    cc->width = img->w;
    cc->height = img->h;
    cc->pix_fmt = AV_PIX_FMT_YUVJ420P;
    cc->color_range = AVCOL_RANGE_JPEG;
    cc->colorspace = AVCOL_SPC_BT709;
    cc->time_base = (AVRational){1, 1};
    cc->flags |= AV_CODEC_FLAG_QSCALE;
    cc->global_quality = POSTER_QSCALE * FF_QP2LAMBDA;
    if ((ret = avcodec_open2(cc, codec, NULL)) < 0) {
        rc = av_fail(err, ret, "open mjpeg", path);
        goto done;
    }
    frame->width = img->w;
    frame->height = img->h;
    frame->format = AV_PIX_FMT_YUVJ420P;
    frame->color_range = AVCOL_RANGE_JPEG;
    if ((ret = av_frame_get_buffer(frame, 0)) < 0) {
        rc = av_fail(err, ret, "frame", path);
        goto done;
    }
    expand_range(frame, img);
    frame->pts = 0;
    frame->quality = cc->global_quality; /* qscale mode reads it per frame */
    if ((ret = avcodec_send_frame(cc, frame)) < 0 || (ret = avcodec_receive_packet(cc, pkt)) < 0) {
        rc = av_fail(err, ret, "encode", path);
        goto done;
    }
    rc = write_atomic(path, pkt->data, (size_t)pkt->size, err);
done:
    av_packet_free(&pkt);
    av_frame_free(&frame);
    avcodec_free_context(&cc);
    return rc;
}
