/* The video writer: H.264 through libavcodec (libx264, or h264_nvenc when a
 * GPU is usable) into an MP4 through libavformat, following FFmpeg's
 * doc/examples/mux.c. Also the encoder choice (settings.hardware x env
 * USE_NVENC x a probe of NVENC, cached per process) and a "null" codec that
 * discards frames, the sink the compositor benchmarks against.
 *
 * Invariants: the output is H.264 High, yuv420p, BT.709 limited range, one
 * frame per 1/fps tick, +faststart (moov before mdat). hc_encoder_write
 * never leaves the encoder holding a reference to the caller's frame once it
 * returns: both libx264 and NVENC (system-memory input) copy the picture on
 * submission, and if an encoder ever keeps a reference we notice (the frame
 * stops being writable) and from then on submit private copies. Foreign
 * errors are translated here: AVERROR -> HC_EENCODER, or HC_EIO for the
 * file, with libav's own text.
 *
 * With opts->audio there is also an AAC-LC track (FFmpeg's native "aac",
 * 48 kHz stereo fltp, 192 kb/s): interleaved float from the caller is
 * buffered into 1024-sample frames, pts counted in samples, and both streams
 * go through av_interleaved_write_frame. finish sends the last short frame
 * (aac takes a small last frame) so audio ends where the caller's samples
 * end. */
#include "media/hc_media.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/opt.h>

#define COMP "encoder"

struct hc_encoder {
    bool null_sink; /* codec "null": frames are counted and dropped */
    int width, height;
    char codec[32];
    char *path; /* owned copy of opts->path */
    AVCodecContext *cc;
    AVFormatContext *fc; /* fc->pb is open while io_open */
    AVStream *st;        /* owned by fc */
    AVPacket *pkt;
    AVFrame *copy;   /* private input copy, once copy_input is set */
    bool copy_input; /* the encoder was seen keeping input references */
    bool finished, failed;
    int64_t frames;
    /* AAC track (opts->audio); acc == NULL without one. */
    AVCodecContext *acc;
    AVStream *ast;   /* owned by fc */
    AVFrame *aframe; /* the 1024-sample fltp frame being filled */
    int afill;       /* samples in aframe so far */
    int64_t apts;    /* samples submitted to the encoder */
};

/* ---- error translation --------------------------------------------------- */

/* AVERRORs that mean the file system, not the encoder, is at fault. */
static int code_for_averror(int averr, int fallback) {
    switch (averr) {
    case AVERROR(ENOMEM):
        return HC_ENOMEM;
    case AVERROR(ENOENT):
    case AVERROR(EACCES):
    case AVERROR(EPERM):
    case AVERROR(ENOSPC):
    case AVERROR(EIO):
    case AVERROR(EROFS):
    case AVERROR(EDQUOT):
    case AVERROR(EFBIG):
    case AVERROR(ENOTDIR):
    case AVERROR(EISDIR):
    case AVERROR(ENAMETOOLONG):
        return HC_EIO;
    default:
        return fallback;
    }
}

/* Record "<what>: <libav's text>" in err and return code. */
__attribute__((format(printf, 4, 5))) static int av_fail(hc_err *err, int code, int averr,
                                                         const char *fmt, ...) {
    char what[192], av[AV_ERROR_MAX_STRING_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    av_strerror(averr, av, sizeof av);
    return hc_err_set(err, code, "%s: %s", what, av);
}

/* ---- NVENC probe --------------------------------------------------------- */

/* NVENC's loader (ffnvcodec) dlopens these; checking them ourselves gives
 * the same text libav logs ("Cannot load libcuda.so.1") without having to
 * capture the process-wide libav log callback. */
static int nvenc_check_lib(const char *lib, hc_err *err) {
    void *h = dlopen(lib, RTLD_LAZY | RTLD_LOCAL);
    if (h) {
        dlclose(h);
        return 0;
    }
    const char *why = dlerror();
    size_t n = strlen(lib);
    if (why && strncmp(why, lib, n) == 0 && strncmp(why + n, ": ", 2) == 0) why += n + 2;
    return hc_err_set(err, HC_EUNSUPPORTED, "h264_nvenc: Cannot load %s (%s)", lib,
                      why ? why : "unknown reason");
}

/* Open h264_nvenc at 256x256, encode one frame and flush. */
static int nvenc_try(hc_err *err) {
    const AVCodec *codec = avcodec_find_encoder_by_name("h264_nvenc");
    if (!codec)
        return hc_err_set(err, HC_EUNSUPPORTED, "h264_nvenc: not built into this libavcodec");
    int rc = nvenc_check_lib("libcuda.so.1", err);
    if (rc == 0) rc = nvenc_check_lib("libnvidia-encode.so.1", err);
    if (rc < 0) return rc;

    AVCodecContext *cc = avcodec_alloc_context3(codec);
    AVFrame *frame = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int ret;
    if (!cc || !frame || !pkt) {
        rc = hc_err_set(err, HC_ENOMEM, "h264_nvenc: out of memory");
        goto done;
    }
    cc->width = cc->height = 256;
    cc->pix_fmt = AV_PIX_FMT_YUV420P;
    cc->time_base = (AVRational){1, 25};
    cc->framerate = (AVRational){25, 1};
    if ((ret = avcodec_open2(cc, codec, NULL)) < 0) {
        rc = av_fail(err, HC_EENCODER, ret, "h264_nvenc: open");
        goto done;
    }
    frame->width = frame->height = 256;
    frame->format = AV_PIX_FMT_YUV420P;
    if ((ret = av_frame_get_buffer(frame, 0)) < 0) {
        rc = av_fail(err, HC_EENCODER, ret, "h264_nvenc: frame");
        goto done;
    }
    for (int p = 0; p < 3; p++)
        memset(frame->data[p], p ? 128 : 16, (size_t)frame->linesize[p] * (p ? 128 : 256));
    frame->pts = 0;
    if ((ret = avcodec_send_frame(cc, frame)) < 0 || (ret = avcodec_send_frame(cc, NULL)) < 0) {
        rc = av_fail(err, HC_EENCODER, ret, "h264_nvenc: encode");
        goto done;
    }
    while ((ret = avcodec_receive_packet(cc, pkt)) >= 0)
        av_packet_unref(pkt);
    if (ret != AVERROR_EOF) {
        rc = av_fail(err, HC_EENCODER, ret, "h264_nvenc: encode");
        goto done;
    }
    rc = 0;
done:
    av_packet_free(&pkt);
    av_frame_free(&frame);
    avcodec_free_context(&cc);
    return rc;
}

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static int probe_code;
static char probe_msg[sizeof(((hc_err *)0)->msg)];

static void probe_run(void) {
    hc_err e = {0};
    int64_t t0 = hc_now_us();
    probe_code = nvenc_try(&e);
    snprintf(probe_msg, sizeof probe_msg, "%s", e.msg);
    if (probe_code == 0)
        HC_INFO(COMP, "NVENC probe succeeded in %lld ms", (long long)(hc_now_us() - t0) / 1000);
    else
        HC_INFO(COMP, "NVENC probe failed: %s", probe_msg);
}

int hc_nvenc_probe(hc_err *err) {
    pthread_once(&probe_once, probe_run);
    if (probe_code < 0) return hc_err_set(err, probe_code, "%s", probe_msg);
    return 0;
}

/* ---- encoder choice ------------------------------------------------------ */

/* vsnprintf: the probe's message may fill the reason; truncation is fine. */
__attribute__((format(printf, 2, 3))) static void set_reason(hc_encoder_choice *out,
                                                             const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof out->reason, fmt, ap);
    va_end(ap);
}

void hc_encoder_choose(hc_enc_hw hardware, const char *use_nvenc, hc_nvenc_probe_fn probe,
                       hc_encoder_choice *out) {
    enum { ENV_AUTO, ENV_ON, ENV_OFF } env = ENV_AUTO;
    bool env_unknown = false;
    if (use_nvenc && *use_nvenc) {
        if (strcmp(use_nvenc, "1") == 0)
            env = ENV_ON;
        else if (strcmp(use_nvenc, "0") == 0)
            env = ENV_OFF;
        else if (strcmp(use_nvenc, "auto") != 0)
            env_unknown = true;
    }
    char note[96] = "";
    if (env_unknown)
        snprintf(note, sizeof note, "; USE_NVENC=\"%.32s\" not understood, treated as auto",
                 use_nvenc);
    snprintf(out->codec, sizeof out->codec, "libx264");

    /* Forbidding wins over preferring, and the probe (which may take a
     * second on a GPU machine) runs only when its answer matters. */
    if (hardware == HC_ENC_HW_CPU) {
        set_reason(out, "settings.hardware=cpu%s%s", env == ENV_ON ? " (USE_NVENC=1 ignored)" : "",
                   note);
        return;
    }
    if (env == ENV_OFF) {
        set_reason(out, "USE_NVENC=0 forbids NVENC%s",
                   hardware == HC_ENC_HW_GPU ? " (settings.hardware=gpu ignored)" : "");
        return;
    }
    const char *why = hardware == HC_ENC_HW_GPU ? "settings.hardware=gpu"
                      : env == ENV_ON           ? "USE_NVENC=1"
                                                : "settings.hardware=auto";
    hc_err e = {0};
    int rc = (probe ? probe : hc_nvenc_probe)(&e);
    if (rc == 0) {
        snprintf(out->codec, sizeof out->codec, "h264_nvenc");
        set_reason(out, "NVENC probe succeeded (%s)%s", why, note);
    } else if (hardware == HC_ENC_HW_GPU || env == ENV_ON) {
        set_reason(out, "NVENC unavailable (%s); %s fell back to libx264%s",
                   e.msg[0] ? e.msg : hc_strerror(rc), why, note);
    } else {
        set_reason(out, "NVENC unavailable (%s); using libx264 (%s)%s",
                   e.msg[0] ? e.msg : hc_strerror(rc), why, note);
    }
}

/* ---- encoder ------------------------------------------------------------- */

typedef struct {
    const char *x264_preset;
    const char *x264_crf;
    const char *nvenc_preset;
    const char *nvenc_cq;
} quality_params;

static const quality_params quality_table[] = {
    [HC_ENC_Q_DRAFT] = {"superfast", "26", "p1", "28"},
    [HC_ENC_Q_STANDARD] = {"veryfast", "21", "p4", "23"},
    [HC_ENC_Q_HIGH] = {"slow", "18", "p6", "19"},
};

static int set_opt(AVCodecContext *cc, const char *name, const char *val, hc_err *err) {
    int ret = av_opt_set(cc->priv_data, name, val, 0);
    if (ret < 0)
        return av_fail(err, HC_EENCODER, ret, "%s: option %s=%s", cc->codec->name, name, val);
    return 0;
}

/* Codec context per DESIGN §7: High profile, BT.709 limited range, the
 * quality level's preset and constant-quality target. The GOP is the
 * encoder's own default (x264: up to 250 frames, with keyframes at scene
 * cuts), as with the ffmpeg CLI: a 2 s GOP cost 8 % more x264 instructions
 * (callgrind, 150 frames) for no visible gain on short videos. */
static int configure_codec(hc_encoder *enc, const hc_encoder_opts *opts, hc_err *err) {
    AVCodecContext *cc = enc->cc;
    const quality_params *q = &quality_table[opts->quality];
    cc->width = opts->width;
    cc->height = opts->height;
    cc->pix_fmt = AV_PIX_FMT_YUV420P;
    cc->time_base = (AVRational){1, opts->fps};
    cc->framerate = (AVRational){opts->fps, 1};
    cc->sample_aspect_ratio = (AVRational){1, 1};
    cc->color_primaries = AVCOL_PRI_BT709;
    cc->color_trc = AVCOL_TRC_BT709;
    cc->colorspace = AVCOL_SPC_BT709;
    cc->color_range = AVCOL_RANGE_MPEG;
    cc->bit_rate = 0;     /* NVENC's default 2M would cap the VBR/CQ target */
    cc->thread_count = 0; /* auto, as the ffmpeg CLI */
    cc->profile = FF_PROFILE_H264_HIGH;
    if (enc->fc->oformat->flags & AVFMT_GLOBALHEADER) cc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

    int rc = set_opt(cc, "profile", "high", err);
    if (strcmp(opts->codec, "libx264") == 0) {
        if (rc == 0) rc = set_opt(cc, "preset", q->x264_preset, err);
        if (rc == 0) rc = set_opt(cc, "crf", q->x264_crf, err);
    } else {
        if (rc == 0) rc = set_opt(cc, "preset", q->nvenc_preset, err);
        if (rc == 0) rc = set_opt(cc, "tune", "hq", err);
        if (rc == 0) rc = set_opt(cc, "rc", "vbr", err);
        if (rc == 0) rc = set_opt(cc, "cq", q->nvenc_cq, err);
    }
    return rc;
}

static int check_opts(const hc_encoder_opts *o, hc_err *err) {
    if (o->width < 16 || o->height < 16 || o->width > 16384 || o->height > 16384 ||
        (o->width & 1) || (o->height & 1))
        return hc_err_set(err, HC_EINVAL, "encoder: size %dx%d: must be even, 16..16384", o->width,
                          o->height);
    if (o->fps < 1 || o->fps > 240)
        return hc_err_set(err, HC_EINVAL, "encoder: fps %d: must be 1..240", o->fps);
    if ((int)o->quality < HC_ENC_Q_DRAFT || (int)o->quality > HC_ENC_Q_HIGH)
        return hc_err_set(err, HC_EINVAL, "encoder: unknown quality %d", (int)o->quality);
    if (!o->codec ||
        (strcmp(o->codec, "libx264") && strcmp(o->codec, "h264_nvenc") && strcmp(o->codec, "null")))
        return hc_err_set(err, HC_EINVAL,
                          "encoder: codec \"%s\": must be libx264, h264_nvenc or null",
                          o->codec ? o->codec : "(null)");
    if (strcmp(o->codec, "null") && (!o->path || !*o->path))
        return hc_err_set(err, HC_EINVAL, "encoder: no output path");
    return 0;
}

/* Move every packet the encoder cc (video or audio) has ready into the
 * muxer. */
static int drain_codec(hc_encoder *enc, AVCodecContext *cc, AVStream *st, hc_err *err) {
    for (;;) {
        int ret = avcodec_receive_packet(cc, enc->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return 0;
        if (ret < 0) return av_fail(err, HC_EENCODER, ret, "%s: encode", cc->codec->name);
        /* Constant frame rate: each packet is one tick. libx264 leaves the
         * duration unset, and the MP4's last sample needs it. */
        if (enc->pkt->duration == 0 && cc == enc->cc) enc->pkt->duration = 1;
        av_packet_rescale_ts(enc->pkt, cc->time_base, st->time_base);
        enc->pkt->stream_index = st->index;
        ret = av_interleaved_write_frame(enc->fc, enc->pkt); /* unrefs pkt */
        if (ret < 0)
            return av_fail(err, code_for_averror(ret, HC_EENCODER), ret, "output %s: write",
                           enc->path);
    }
}

/* The AAC encoder and its stream (after the video stream, so video stays
 * stream 0). */
static int open_audio(hc_encoder *enc, hc_err *err) {
    const AVCodec *codec = avcodec_find_encoder_by_name("aac");
    if (!codec) return hc_err_set(err, HC_EENCODER, "aac: not built into this libavcodec");
    AVCodecContext *cc = enc->acc = avcodec_alloc_context3(codec);
    if (!cc) return hc_err_set(err, HC_ENOMEM, "aac: out of memory");
    cc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    cc->sample_rate = HC_AUDIO_RATE;
    cc->bit_rate = 192000;
    cc->profile = FF_PROFILE_AAC_LOW;
    cc->time_base = (AVRational){1, HC_AUDIO_RATE};
    int ret = av_channel_layout_copy(&cc->ch_layout, &(AVChannelLayout)AV_CHANNEL_LAYOUT_STEREO);
    if (ret < 0) return av_fail(err, HC_EENCODER, ret, "aac: channel layout");
    if (enc->fc->oformat->flags & AVFMT_GLOBALHEADER) cc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((ret = avcodec_open2(cc, codec, NULL)) < 0)
        return av_fail(err, HC_EENCODER, ret, "aac: open 48 kHz stereo");
    if (cc->frame_size <= 0) cc->frame_size = 1024; /* aac sets it; be safe */
    if (!(enc->ast = avformat_new_stream(enc->fc, NULL)))
        return hc_err_set(err, HC_ENOMEM, "output %s: out of memory", enc->path);
    enc->ast->time_base = cc->time_base;
    if ((ret = avcodec_parameters_from_context(enc->ast->codecpar, cc)) < 0)
        return av_fail(err, HC_EENCODER, ret, "aac: stream parameters");
    AVFrame *f = enc->aframe = av_frame_alloc();
    if (!f) return hc_err_set(err, HC_ENOMEM, "aac: out of memory");
    f->format = AV_SAMPLE_FMT_FLTP;
    f->sample_rate = HC_AUDIO_RATE;
    f->nb_samples = cc->frame_size;
    if ((ret = av_channel_layout_copy(&f->ch_layout, &cc->ch_layout)) < 0 ||
        (ret = av_frame_get_buffer(f, 0)) < 0)
        return av_fail(err, HC_ENOMEM, ret, "aac: frame");
    return 0;
}

/* Encode the buffered audio frame (nb samples of it). */
static int send_audio(hc_encoder *enc, int nb, hc_err *err) {
    AVFrame *f = enc->aframe;
    f->nb_samples = nb;
    f->pts = enc->apts;
    int ret = avcodec_send_frame(enc->acc, f);
    if (ret < 0)
        return av_fail(err, HC_EENCODER, ret, "aac: encode at sample %lld", (long long)enc->apts);
    enc->apts += nb;
    enc->afill = 0;
    return drain_codec(enc, enc->acc, enc->ast, err);
}

int hc_encoder_open(const hc_encoder_opts *opts, hc_encoder **out, hc_err *err) {
    *out = NULL;
    int rc = check_opts(opts, err);
    if (rc < 0) return rc;
    hc_encoder *enc = hc_xcalloc(1, sizeof *enc);
    enc->width = opts->width;
    enc->height = opts->height;
    snprintf(enc->codec, sizeof enc->codec, "%s", opts->codec);
    if (strcmp(opts->codec, "null") == 0) {
        enc->null_sink = true;
        *out = enc;
        return 0;
    }
    enc->path = hc_strdup(opts->path);

    AVDictionary *mux_opts = NULL;
    bool created = false;
    int ret;
    const AVCodec *codec = avcodec_find_encoder_by_name(opts->codec);
    if (!codec) {
        rc = hc_err_set(err, HC_EENCODER, "%s: not built into this libavcodec", opts->codec);
        goto fail;
    }
    ret = avformat_alloc_output_context2(&enc->fc, NULL, "mp4", enc->path);
    if (ret < 0) {
        rc = av_fail(err, code_for_averror(ret, HC_EENCODER), ret, "output %s: mp4 muxer",
                     enc->path);
        goto fail;
    }
    enc->cc = avcodec_alloc_context3(codec);
    enc->pkt = av_packet_alloc();
    if (!enc->cc || !enc->pkt) {
        rc = hc_err_set(err, HC_ENOMEM, "%s: out of memory", opts->codec);
        goto fail;
    }
    if ((rc = configure_codec(enc, opts, err)) < 0) goto fail;
    if ((ret = avcodec_open2(enc->cc, codec, NULL)) < 0) {
        rc = av_fail(err, code_for_averror(ret, HC_EENCODER), ret, "%s: open %dx%d@%d", opts->codec,
                     opts->width, opts->height, opts->fps);
        goto fail;
    }
    enc->st = avformat_new_stream(enc->fc, NULL);
    if (!enc->st) {
        rc = hc_err_set(err, HC_ENOMEM, "output %s: out of memory", enc->path);
        goto fail;
    }
    enc->st->time_base = enc->cc->time_base;
    enc->st->avg_frame_rate = enc->cc->framerate;
    if ((ret = avcodec_parameters_from_context(enc->st->codecpar, enc->cc)) < 0) {
        rc = av_fail(err, HC_EENCODER, ret, "%s: stream parameters", opts->codec);
        goto fail;
    }
    if (opts->audio && (rc = open_audio(enc, err)) < 0) goto fail;
    if ((ret = avio_open(&enc->fc->pb, enc->path, AVIO_FLAG_WRITE)) < 0) {
        rc = av_fail(err, code_for_averror(ret, HC_EIO), ret, "output %s", enc->path);
        goto fail;
    }
    created = true;
    /* faststart: the trailer rewrites the file with the index in front, so
     * players can start before the whole file has arrived. */
    av_dict_set(&mux_opts, "movflags", "+faststart", 0);
    if ((ret = avformat_write_header(enc->fc, &mux_opts)) < 0) {
        rc = av_fail(err, code_for_averror(ret, HC_EENCODER), ret, "output %s: header", enc->path);
        goto fail;
    }
    av_dict_free(&mux_opts);
    HC_DEBUG(COMP, "opened %s %dx%d@%d quality %d -> %s", opts->codec, opts->width, opts->height,
             opts->fps, (int)opts->quality, enc->path);
    *out = enc;
    return 0;

fail:
    av_dict_free(&mux_opts);
    /* Nothing useful was written; don't leave an empty file behind. */
    if (created) {
        avio_closep(&enc->fc->pb);
        unlink(enc->path);
    }
    hc_encoder_free(enc);
    return rc;
}

AVFrame *hc_encoder_frame_alloc(const hc_encoder *enc) {
    AVFrame *f = av_frame_alloc();
    if (!f) return NULL;
    f->width = enc->width;
    f->height = enc->height;
    f->format = AV_PIX_FMT_YUV420P;
    f->color_primaries = AVCOL_PRI_BT709;
    f->color_trc = AVCOL_TRC_BT709;
    f->colorspace = AVCOL_SPC_BT709;
    f->color_range = AVCOL_RANGE_MPEG;
    f->sample_aspect_ratio = (AVRational){1, 1};
    /* 64-byte aligned rows with padding, so SIMD loops may over-read. */
    if (av_frame_get_buffer(f, 64) < 0) av_frame_free(&f);
    return f;
}

void hc_yuv_from_frame(hc_yuv *view, AVFrame *frame) {
    memset(view, 0, sizeof *view);
    view->w = frame->width;
    view->h = frame->height;
    for (int p = 0; p < 3; p++) {
        view->plane[p] = frame->data[p];
        view->stride[p] = frame->linesize[p];
    }
    view->own = false;
}

/* The frame to submit in copy mode: a private copy of the caller's. */
static int copy_frame(hc_encoder *enc, const AVFrame *src, hc_err *err) {
    if (!enc->copy && !(enc->copy = av_frame_alloc()))
        return hc_err_set(err, HC_ENOMEM, "%s: out of memory", enc->codec);
    av_frame_unref(enc->copy);
    enc->copy->width = src->width;
    enc->copy->height = src->height;
    enc->copy->format = src->format;
    int ret = av_frame_get_buffer(enc->copy, 64);
    if (ret >= 0) ret = av_frame_copy(enc->copy, src);
    if (ret >= 0) ret = av_frame_copy_props(enc->copy, src);
    if (ret < 0)
        return av_fail(err, code_for_averror(ret, HC_EENCODER), ret, "%s: copy", enc->codec);
    return 0;
}

int hc_encoder_write(hc_encoder *enc, AVFrame *frame, int64_t pts, hc_err *err) {
    if (enc->finished || enc->failed)
        return hc_err_set(err, HC_EINTERNAL, "%s: write after %s", enc->codec,
                          enc->finished ? "finish" : "an error");
    if (frame->width != enc->width || frame->height != enc->height ||
        frame->format != AV_PIX_FMT_YUV420P)
        return hc_err_set(err, HC_EINTERNAL,
                          "%s: frame %dx%d format %d, encoder wants %dx%d yuv420p", enc->codec,
                          frame->width, frame->height, frame->format, enc->width, enc->height);
    enc->frames++;
    if (enc->null_sink) return 0;

    frame->pts = pts;
    frame->pict_type = AV_PICTURE_TYPE_NONE; /* let the encoder decide */
    AVFrame *send = frame;
    int rc;
    if (enc->copy_input) {
        if ((rc = copy_frame(enc, frame, err)) < 0) goto fail;
        send = enc->copy;
    }
    bool was_writable = av_frame_is_writable(frame);
    int ret = avcodec_send_frame(enc->cc, send);
    if (ret < 0) {
        rc = av_fail(err, code_for_averror(ret, HC_EENCODER), ret, "%s: encode frame %lld",
                     enc->codec, (long long)pts);
        goto fail;
    }
    if ((rc = drain_codec(enc, enc->cc, enc->st, err)) < 0) goto fail;
    /* libavcodec refs the frame on send and drops the ref once the encoder
     * has taken the picture; libx264 and NVENC copy it at once, so after the
     * drain we hold the only reference again. If an encoder ever keeps one,
     * switch to private copies so the compositor can reuse its frames. */
    if (send == frame && was_writable && !av_frame_is_writable(frame)) {
        HC_WARN(COMP, "%s keeps references to input frames; copying them from now on", enc->codec);
        enc->copy_input = true;
    }
    return 0;
fail:
    enc->failed = true;
    return rc;
}

int hc_encoder_write_audio(hc_encoder *enc, const float *interleaved, int64_t frames, hc_err *err) {
    if (enc->finished || enc->failed)
        return hc_err_set(err, HC_EINTERNAL, "%s: audio after %s", enc->codec,
                          enc->finished ? "finish" : "an error");
    if (frames < 0) return hc_err_set(err, HC_EINTERNAL, "aac: %lld samples", (long long)frames);
    if (enc->null_sink || !enc->acc) return 0; /* no audio track: ignored */
    int rc = 0, ret;
    int64_t i = 0;
    while (i < frames) {
        /* The encoder may still hold the last frame's buffer. */
        if (enc->afill == 0 && (ret = av_frame_make_writable(enc->aframe)) < 0) {
            rc = av_fail(err, HC_ENOMEM, ret, "aac: frame");
            break;
        }
        float *l = (float *)enc->aframe->extended_data[0];
        float *r = (float *)enc->aframe->extended_data[1];
        int fs = enc->acc->frame_size;
        int64_t n = frames - i < fs - enc->afill ? frames - i : fs - enc->afill;
        for (int64_t k = 0; k < n; k++) {
            l[enc->afill + k] = interleaved[2 * (i + k)];
            r[enc->afill + k] = interleaved[2 * (i + k) + 1];
        }
        enc->afill += (int)n;
        i += n;
        if (enc->afill == fs && (rc = send_audio(enc, fs, err)) < 0) break;
    }
    if (rc < 0) enc->failed = true;
    return rc;
}

/* Send the last partial frame (short if the encoder takes that, else padded
 * with silence) and flush the audio encoder. */
static int finish_audio(hc_encoder *enc, hc_err *err) {
    int rc = 0;
    if (enc->afill > 0) {
        int nb = enc->afill;
        if (!(enc->acc->codec->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME)) {
            int fs = enc->acc->frame_size;
            for (int c = 0; c < 2; c++)
                memset((float *)enc->aframe->extended_data[c] + nb, 0,
                       (size_t)(fs - nb) * sizeof(float));
            nb = fs;
        }
        if ((rc = send_audio(enc, nb, err)) < 0) return rc;
    }
    int ret = avcodec_send_frame(enc->acc, NULL);
    if (ret < 0) return av_fail(err, HC_EENCODER, ret, "aac: flush");
    return drain_codec(enc, enc->acc, enc->ast, err);
}

int hc_encoder_finish(hc_encoder *enc, hc_err *err) {
    if (enc->finished) return 0;
    if (enc->failed) return hc_err_set(err, HC_EINTERNAL, "%s: finish after an error", enc->codec);
    if (enc->null_sink) {
        enc->finished = true;
        return 0;
    }
    int rc, ret = avcodec_send_frame(enc->cc, NULL);
    if (ret < 0) {
        rc = av_fail(err, HC_EENCODER, ret, "%s: flush", enc->codec);
        goto fail;
    }
    if ((rc = drain_codec(enc, enc->cc, enc->st, err)) < 0) goto fail;
    if (enc->acc && (rc = finish_audio(enc, err)) < 0) goto fail;
    if ((ret = av_write_trailer(enc->fc)) < 0) {
        rc = av_fail(err, code_for_averror(ret, HC_EIO), ret, "output %s: trailer", enc->path);
        goto fail;
    }
    if ((ret = avio_closep(&enc->fc->pb)) < 0) {
        rc = av_fail(err, code_for_averror(ret, HC_EIO), ret, "output %s: close", enc->path);
        goto fail;
    }
    enc->finished = true;
    HC_DEBUG(COMP, "finished %s: %lld frames", enc->path, (long long)enc->frames);
    return 0;
fail:
    enc->failed = true;
    return rc;
}

void hc_encoder_free(hc_encoder *enc) {
    if (!enc) return;
    /* Without finish the file stays partial (no trailer); the caller
     * deletes it. */
    if (enc->fc) {
        if (enc->fc->pb) avio_closep(&enc->fc->pb);
        avformat_free_context(enc->fc);
    }
    avcodec_free_context(&enc->cc);
    avcodec_free_context(&enc->acc);
    av_frame_free(&enc->aframe);
    av_packet_free(&enc->pkt);
    av_frame_free(&enc->copy);
    free(enc->path);
    free(enc);
}
