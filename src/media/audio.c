/* Music for the soundtrack (DESIGN.md §8): decoding any common audio format
 * (or the audio track of a video) with libavformat/libavcodec, resampling
 * with libswresample to 48 kHz stereo float, and shaping the soundtrack:
 * looping with an equal-power crossfade at each seam, the 0.7 -> 1.0 gain
 * envelope, 0.75 s fades, and EBU R128 loudness normalisation to -14 LUFS
 * (libebur128) with a soft limiter keeping peaks under -1 dBFS.
 *
 * Invariant: every hc_audio holds interleaved stereo float at HC_AUDIO_RATE,
 * samples finite; decode drops samples before start_s exactly (by the
 * decoded frames' timestamps), so what is returned starts at start_s.
 * Foreign errors (AVERROR) are translated here to HC_EMEDIA with libav's
 * text and the caller's label. */
#include "media/hc_media.h"

/* Starts later than this seek instead of decoding from the beginning. */
#define HC_AUDIO_SEEK_AFTER_S 120.0

#include <ebur128.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libswresample/swresample.h>

#define COMP "audio"

/* Equal-power crossfade at each loop seam. */
#define SEAM_S 0.020
/* Gain envelope: 0.7 for the first 2 s, then a smooth ramp to 1.0. */
#define INTRO_GAIN   0.7
#define INTRO_S      2.0
#define INTRO_RAMP_S 0.25
#define FADE_S       0.75
#define TARGET_LUFS  -14.0
/* Soft limiter: transparent below KNEE, approaching CEIL (-1 dBFS) above. */
#define LIMIT_KNEE 0.75
#define LIMIT_CEIL 0.891
/* A soundtrack longer than this is a caller bug, not a request. */
#define MAX_SOUNDTRACK_S (4 * 3600.0)

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int media_fail(hc_err *err, int averr, const char *label, const char *what) {
    char av[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, av, sizeof av);
    return hc_err_set(err, HC_EMEDIA, "%s: %s (%s)", label, what, av);
}

/* ---- decode -------------------------------------------------------------- */

/* Growable interleaved stereo buffer. */
typedef struct {
    float *v;
    int64_t frames, cap;
} fbuf;

static int fbuf_reserve(fbuf *b, int64_t frames) {
    if (b->frames + frames <= b->cap) return 0;
    int64_t cap = b->cap ? b->cap : 48000;
    while (cap < b->frames + frames)
        cap *= 2;
    float *v = realloc(b->v, (size_t)cap * 2 * sizeof *v);
    if (!v) return HC_ENOMEM;
    b->v = v;
    b->cap = cap;
    return 0;
}

typedef struct {
    const char *label;
    SwrContext *swr;
    float *tmp; /* resampler output */
    int tmp_cap;
    fbuf out;
    int64_t max_frames;  /* 0 = no limit */
    int64_t skip_frames; /* output frames still to drop before start_s */
    bool have_t0;        /* skip_frames established from the first timestamp */
    bool seeked;         /* decoding started at a seek point, not the start */
    double origin_s;     /* the stream's start time (its first audible sample) */
    double start_s;
    bool full; /* max_frames reached */
} dec_state;

/* Append n resampled frames, dropping those before start_s, up to max. */
static int take(dec_state *d, const float *s, int64_t n) {
    if (d->skip_frames > 0) {
        int64_t k = d->skip_frames < n ? d->skip_frames : n;
        d->skip_frames -= k;
        s += 2 * k;
        n -= k;
    }
    if (d->max_frames > 0 && d->out.frames + n >= d->max_frames) {
        n = d->max_frames - d->out.frames;
        d->full = true;
    }
    if (n <= 0) return 0;
    if (fbuf_reserve(&d->out, n) < 0) return HC_ENOMEM;
    memcpy(d->out.v + 2 * d->out.frames, s, (size_t)n * 2 * sizeof *s);
    d->out.frames += n;
    return 0;
}

/* Resample one decoded frame (or flush the resampler when frame is NULL). */
static int resample(dec_state *d, const AVFrame *frame, hc_err *err) {
    int in = frame ? frame->nb_samples : 0;
    int cap = swr_get_out_samples(d->swr, in);
    if (cap < 0) return media_fail(err, cap, d->label, "resample");
    if (cap == 0) return 0;
    if (cap > d->tmp_cap) {
        float *t = realloc(d->tmp, (size_t)cap * 2 * sizeof *t);
        if (!t) return hc_err_set(err, HC_ENOMEM, "%s: out of memory", d->label);
        d->tmp = t;
        d->tmp_cap = cap;
    }
    uint8_t *outp[1] = {(uint8_t *)d->tmp};
    int got =
        swr_convert(d->swr, outp, cap, frame ? (const uint8_t **)frame->extended_data : NULL, in);
    if (got < 0) return media_fail(err, got, d->label, "resample");
    if (take(d, d->tmp, got) < 0) return hc_err_set(err, HC_ENOMEM, "%s: out of memory", d->label);
    return 0;
}

/* The first decoded frame: set up the resampler from its real format and,
 * from its timestamp, how many output frames lie before start_s. */
static int first_frame(dec_state *d, const AVFrame *f, AVRational tb, hc_err *err) {
    AVChannelLayout in_layout = {0}, out_layout = AV_CHANNEL_LAYOUT_STEREO;
    int ret;
    if (f->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || f->ch_layout.nb_channels <= 0)
        av_channel_layout_default(&in_layout,
                                  f->ch_layout.nb_channels > 0 ? f->ch_layout.nb_channels : 2);
    else if ((ret = av_channel_layout_copy(&in_layout, &f->ch_layout)) < 0)
        return media_fail(err, ret, d->label, "channel layout");
    ret = swr_alloc_set_opts2(&d->swr, &out_layout, AV_SAMPLE_FMT_FLT, HC_AUDIO_RATE, &in_layout,
                              (enum AVSampleFormat)f->format, f->sample_rate, 0, NULL);
    av_channel_layout_uninit(&in_layout);
    if (ret >= 0) ret = swr_init(d->swr);
    if (ret < 0) return media_fail(err, ret, d->label, "resampler setup");
    /* start_s counts from the first audible sample: from the start of the
     * file that is the first decoded sample (the stream's own start time,
     * e.g. an MP3's trimmed encoder delay, is not music); after a seek,
     * the frame's timestamp relative to that start time says where we are. */
    int64_t ts = f->best_effort_timestamp;
    double t0 = d->seeked && ts != AV_NOPTS_VALUE ? (double)ts * av_q2d(tb) - d->origin_s : 0.0;
    double skip = (d->start_s - t0) * HC_AUDIO_RATE;
    d->skip_frames = skip > 0 ? llround(skip) : 0;
    d->have_t0 = true;
    return 0;
}

int hc_audio_decode(const char *path, const char *label, double start_s, double max_s,
                    hc_audio *out, hc_err *err) {
    memset(out, 0, sizeof *out);
    if (!label) label = "audio";
    if (!(start_s >= 0) || !(max_s >= 0) || !isfinite(start_s) || !isfinite(max_s))
        return hc_err_set(err, HC_EINVAL, "%s: start %g s, length %g s: must be >= 0", label,
                          start_s, max_s);
    AVFormatContext *fc = NULL;
    AVCodecContext *cc = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    dec_state d = {.label = label, .start_s = start_s};
    int rc = 0, ret, bad_packets = 0, good_frames = 0;
    if (!pkt || !frame) {
        rc = hc_err_set(err, HC_ENOMEM, "%s: out of memory", label);
        goto done;
    }
    if ((ret = avformat_open_input(&fc, path, NULL, NULL)) < 0) {
        rc = media_fail(err, ret, label, "not a readable audio file");
        goto done;
    }
    if ((ret = avformat_find_stream_info(fc, NULL)) < 0) {
        rc = media_fail(err, ret, label, "not a readable audio file");
        goto done;
    }
    const AVCodec *codec = NULL;
    int si = av_find_best_stream(fc, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
    if (si == AVERROR_STREAM_NOT_FOUND) {
        rc = hc_err_set(err, HC_EMEDIA, "%s: no audio stream in %s", label, base_name(path));
        goto done;
    }
    if (si < 0 || !codec) {
        rc = hc_err_set(err, HC_EMEDIA, "%s: no decoder for the audio in %s", label,
                        base_name(path));
        goto done;
    }
    AVStream *st = fc->streams[si];
    double dur = fc->duration != AV_NOPTS_VALUE   ? (double)fc->duration / AV_TIME_BASE
                 : st->duration != AV_NOPTS_VALUE ? (double)st->duration * av_q2d(st->time_base)
                                                  : -1;
    out->source_duration_s = dur;
    if (dur > HC_AUDIO_MAX_SOURCE_S) {
        rc = hc_err_set(err, HC_ETOOBIG, "%s: music is %d:%02d long; the limit is %d minutes",
                        label, (int)dur / 60, (int)dur % 60, (int)(HC_AUDIO_MAX_SOURCE_S / 60));
        goto done;
    }
    if (dur > 0 && start_s >= dur) {
        rc = hc_err_set(err, HC_EMEDIA,
                        "%s: start_time %.3g s is past the end of the music (%.3g s)", label,
                        start_s, dur);
        goto done;
    }
    if (!(cc = avcodec_alloc_context3(codec))) {
        rc = hc_err_set(err, HC_ENOMEM, "%s: out of memory", label);
        goto done;
    }
    if ((ret = avcodec_parameters_to_context(cc, st->codecpar)) < 0 ||
        (ret = avcodec_open2(cc, codec, NULL)) < 0) {
        rc = media_fail(err, ret, label, "cannot open the audio decoder");
        goto done;
    }
    cc->pkt_timebase = st->time_base;
    for (unsigned i = 0; i < fc->nb_streams; i++)
        if ((int)i != si) fc->streams[i]->discard = AVDISCARD_ALL;
    if (start_s > HC_AUDIO_SEEK_AFTER_S) {
        /* Land at or before start_s; the samples in between are dropped by
         * timestamp. A failed seek just means decoding from the start.
         * Only far in: after a seek, formats with encoder delay (MP3,
         * AAC) stamp frames ~25 ms off the timeline a decode from the
         * start gives, which is more than a video frame; nearer starts
         * are decoded from the beginning (MP3 decodes ~100x real time) so
         * beats stay frame-exact. */
        int64_t ts = (int64_t)((start_s - 1) * AV_TIME_BASE);
        d.seeked = true;
        d.origin_s =
            st->start_time == AV_NOPTS_VALUE ? 0.0 : (double)st->start_time * av_q2d(st->time_base);
        if (avformat_seek_file(fc, -1, INT64_MIN, ts, ts, 0) < 0)
            avformat_seek_file(fc, -1, INT64_MIN, 0, 0, 0);
    }
    d.max_frames = max_s > 0 ? llround(max_s * HC_AUDIO_RATE) : 0;
    int64_t limit_frames = (int64_t)((HC_AUDIO_MAX_SOURCE_S + 1) * HC_AUDIO_RATE);

    bool eof = false;
    while (!d.full) {
        if (!eof) {
            ret = av_read_frame(fc, pkt);
            if (ret == AVERROR_EOF || ret == AVERROR(EIO) || ret == AVERROR_INVALIDDATA) {
                eof = true;
                ret = avcodec_send_packet(cc, NULL);
            } else if (ret < 0) {
                rc = media_fail(err, ret, label, "read");
                goto done;
            } else {
                if (pkt->stream_index != si) {
                    av_packet_unref(pkt);
                    continue;
                }
                ret = avcodec_send_packet(cc, pkt);
                av_packet_unref(pkt);
                /* A damaged packet in otherwise good music is skipped. */
                if (ret == AVERROR_INVALIDDATA) {
                    bad_packets++;
                    ret = 0;
                }
            }
            if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
                rc = media_fail(err, ret, label, "decode");
                goto done;
            }
        }
        for (;;) {
            ret = avcodec_receive_frame(cc, frame);
            if (ret == AVERROR(EAGAIN)) break;
            if (ret == AVERROR_EOF) goto decoded;
            if (ret == AVERROR_INVALIDDATA) {
                bad_packets++;
                continue;
            }
            if (ret < 0) {
                rc = media_fail(err, ret, label, "decode");
                goto done;
            }
            good_frames++;
            if (!d.have_t0 && (rc = first_frame(&d, frame, st->time_base, err)) < 0) goto done;
            rc = resample(&d, frame, err);
            av_frame_unref(frame);
            if (rc < 0) goto done;
            if (d.out.frames > limit_frames) {
                rc = hc_err_set(err, HC_ETOOBIG, "%s: music is longer than the limit of %d minutes",
                                label, (int)(HC_AUDIO_MAX_SOURCE_S / 60));
                goto done;
            }
            if (d.full) break;
        }
    }
decoded:
    if (d.swr && !d.full && (rc = resample(&d, NULL, err)) < 0) goto done;
    /* Random bytes can pass for a few frames of MP3; real music has far
     * more good frames than damaged ones. */
    if (bad_packets > 0 && bad_packets >= good_frames) {
        rc = hc_err_set(err, HC_EMEDIA, "%s: corrupt audio data in %s", label, base_name(path));
        goto done;
    }
    if (d.out.frames == 0) {
        if (d.have_t0 && start_s > 0)
            rc = hc_err_set(err, HC_EMEDIA, "%s: start_time %.3g s is past the end of the music",
                            label, start_s);
        else
            rc = hc_err_set(err, HC_EMEDIA, "%s: no decodable audio in %s", label, base_name(path));
        goto done;
    }
    /* Decoders may emit NaN/inf on damaged input; keep the invariant. */
    for (int64_t i = 0; i < 2 * d.out.frames; i++)
        if (!isfinite(d.out.v[i])) d.out.v[i] = 0.0f;
    out->samples = d.out.v;
    out->frames = d.out.frames;
    d.out.v = NULL;
    if (out->source_duration_s < 0) out->source_duration_s = (double)out->frames / HC_AUDIO_RATE;
    HC_DEBUG(COMP, "%s: decoded %.3f s from %.3f s of %s", label,
             (double)out->frames / HC_AUDIO_RATE, start_s, base_name(path));
    rc = 0;
done:
    free(d.out.v);
    free(d.tmp);
    swr_free(&d.swr);
    avcodec_free_context(&cc);
    avformat_close_input(&fc);
    av_packet_free(&pkt);
    av_frame_free(&frame);
    return rc;
}

void hc_audio_fini(hc_audio *a) {
    if (!a) return;
    free(a->samples);
    memset(a, 0, sizeof *a);
}

/* ---- soundtrack ---------------------------------------------------------- */

double hc_audio_loudness(const hc_audio *a) {
    if (!a || !a->samples || a->frames <= 0) return -HUGE_VAL;
    ebur128_state *st = ebur128_init(2, HC_AUDIO_RATE, EBUR128_MODE_I);
    if (!st) return -HUGE_VAL;
    double lufs = -HUGE_VAL;
    if (ebur128_add_frames_float(st, a->samples, (size_t)a->frames) != EBUR128_SUCCESS ||
        ebur128_loudness_global(st, &lufs) != EBUR128_SUCCESS)
        lufs = -HUGE_VAL;
    ebur128_destroy(&st);
    return lufs;
}

/* Gain at frame i of n: the intro level easing to full, times the fades. */
static double envelope(int64_t i, int64_t n) {
    double t = (double)i / HC_AUDIO_RATE;
    double g = 1.0;
    if (t < INTRO_S) {
        g = INTRO_GAIN;
    } else if (t < INTRO_S + INTRO_RAMP_S) {
        double x = (t - INTRO_S) / INTRO_RAMP_S;
        g = INTRO_GAIN + (1.0 - INTRO_GAIN) * x * x * (3 - 2 * x); /* smoothstep */
    }
    double fade_n = FADE_S * HC_AUDIO_RATE;
    if ((double)i < fade_n) g *= (double)i / fade_n;
    if ((double)(n - 1 - i) < fade_n) g *= (double)(n - 1 - i) / fade_n;
    return g;
}

static float soft_limit(float x) {
    float ax = fabsf(x);
    if (ax <= LIMIT_KNEE) return x;
    float y = LIMIT_KNEE +
              (LIMIT_CEIL - LIMIT_KNEE) * tanhf((ax - LIMIT_KNEE) / (LIMIT_CEIL - LIMIT_KNEE));
    return x < 0 ? -y : y;
}

int64_t hc_audio_loop_period(int64_t music_frames, int64_t out_frames) {
    int64_t seam = llround(SEAM_S * HC_AUDIO_RATE);
    if (music_frames >= out_frames || music_frames <= 2 * seam) seam = 0;
    return music_frames - seam;
}

int hc_audio_soundtrack(const hc_audio *music, double duration_s, hc_audio *out, hc_err *err) {
    memset(out, 0, sizeof *out);
    if (!(duration_s > 0) || duration_s > MAX_SOUNDTRACK_S)
        return hc_err_set(err, HC_EINVAL, "soundtrack: duration %g s: must be in (0, %g]",
                          duration_s, MAX_SOUNDTRACK_S);
    if (!music || !music->samples || music->frames <= 0)
        return hc_err_set(err, HC_EINVAL, "soundtrack: no music");
    int64_t n = llround(duration_s * HC_AUDIO_RATE);
    if (n < 1) n = 1;
    float *s = malloc((size_t)n * 2 * sizeof *s);
    if (!s) return hc_err_set(err, HC_ENOMEM, "soundtrack: out of memory");

    /* Loop: each repeat starts SEAM frames before the previous one ends and
     * the overlap is crossfaded with equal power (sin/cos), so a seam never
     * jumps. Music too short for a crossfade just repeats. */
    const float *m = music->samples;
    int64_t period = hc_audio_loop_period(music->frames, n), seam = music->frames - period;
    for (int64_t t = 0; t < n; t++) {
        int64_t k = t / period, i = t % period;
        for (int c = 0; c < 2; c++) {
            if (k > 0 && i < seam) {
                double th = ((double)i + 0.5) / (double)seam * (M_PI / 2);
                s[2 * t + c] = (float)(m[2 * i + c] * sin(th) + m[2 * (period + i) + c] * cos(th));
            } else {
                s[2 * t + c] = m[2 * i + c];
            }
        }
    }
    for (int64_t t = 0; t < n; t++) {
        float g = (float)envelope(t, n);
        s[2 * t] *= g;
        s[2 * t + 1] *= g;
    }

    out->samples = s;
    out->frames = n;
    out->source_duration_s = music->source_duration_s;
    double lufs = hc_audio_loudness(out);
    if (isfinite(lufs)) {
        float gain = (float)pow(10.0, (TARGET_LUFS - lufs) / 20.0);
        float peak = 0;
        for (int64_t i = 0; i < 2 * n; i++) {
            s[i] *= gain;
            if (fabsf(s[i]) > peak) peak = fabsf(s[i]);
        }
        /* Above -1 dBFS: soften the peaks rather than clip them. */
        if (peak > LIMIT_CEIL)
            for (int64_t i = 0; i < 2 * n; i++)
                s[i] = soft_limit(s[i]);
        HC_DEBUG(COMP, "soundtrack %.3f s: %.1f LUFS, gain %.1f dB, peak %.2f%s", duration_s, lufs,
                 20 * log10(gain), peak, peak > LIMIT_CEIL ? " (limited)" : "");
    }
    return 0;
}
