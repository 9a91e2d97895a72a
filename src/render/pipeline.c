/* The render pipeline. Inputs are fetched concurrently and their headers
 * checked before any frame is made; then three kinds of work overlap:
 *   - prepare threads decode photos into clip canvases, a few clips ahead
 *     of the compositor (memory stays flat however long the video is);
 *   - compose threads draw frames, out of order, into a small ring of
 *     encoder frames (no copy between compositor and encoder);
 *   - the calling thread feeds the encoder in order, writes the poster
 *     when its frame passes, and frees canvases no frame needs any more.
 * One mutex and one condition variable guard the shared state; the work
 * itself runs unlocked. The first error stops every thread. */
#include "media/hc_media.h"
#include "render/render_int.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The first prepare thread keeps LOOKAHEAD_CLIPS ahead of the compositor;
 * the second only helps with a clip the compositor is already waiting for
 * (short clips, slow photos), so in the steady state one photo is decoded
 * at a time and peak memory stays low. */
enum { LOOKAHEAD_CLIPS = 2, PREP_THREADS = 2, MAX_COMPOSE_THREADS = 16 };

typedef struct prep_arg {
    struct pipe_state *ps;
    int lookahead;
} prep_arg;
enum { SLOT_EMPTY, SLOT_LOADING, SLOT_READY, SLOT_FREED };

typedef struct pipe_state {
    const hc_request *req;
    const hc_plan *plan;
    const hc_render_opts *opts;
    hc_fetched *files;
    const hc_image_info *info; /* per image, from the header checks */
    hc_captions *captions;     /* NULL without script lines */
    hc_audio track;            /* the soundtrack (frames 0 = silent) */
    int64_t audio_written;     /* sample frames handed to the encoder */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* canvases, one per clip */
    hc_yuv *canvas;
    const hc_yuv **canvas_ptr;
    int *canvas_state;
    int next_prep;
    /* frame ring */
    AVFrame **ring;
    int64_t *ring_frame; /* frame held by a slot once composed, else -1 */
    int ring_n;
    int64_t next_compose, consumed;
    bool stop;
    hc_err err;
} pipe_state;

static void pipe_fail(pipe_state *ps, const hc_err *e) {
    pthread_mutex_lock(&ps->mu);
    if (!ps->err.code) ps->err = *e;
    ps->stop = true;
    pthread_cond_broadcast(&ps->cv);
    pthread_mutex_unlock(&ps->mu);
}

static bool canceled(const pipe_state *ps) {
    return ps->opts->cancel && atomic_load(ps->opts->cancel);
}

/* The clip the compositor is working on: prepare up to LOOKAHEAD beyond. */
static int compose_clip(const pipe_state *ps) {
    int64_t f = ps->next_compose < ps->plan->n_frames ? ps->next_compose : ps->plan->n_frames - 1;
    int a, b;
    double p;
    hc_plan_at(ps->plan, f, &a, &b, &p);
    return b >= 0 ? b : a;
}

static void *prepare_main(void *arg) {
    pipe_state *ps = ((prep_arg *)arg)->ps;
    int lookahead = ((prep_arg *)arg)->lookahead;
    const hc_plan *plan = ps->plan;
    pthread_mutex_lock(&ps->mu);
    while (!ps->stop && ps->next_prep < plan->n_clips) {
        int c = ps->next_prep;
        if (c > compose_clip(ps) + lookahead) {
            pthread_cond_wait(&ps->cv, &ps->mu);
            continue;
        }
        ps->next_prep++;
        ps->canvas_state[c] = SLOT_LOADING;
        pthread_mutex_unlock(&ps->mu);

        const hc_image_ref *ref = &ps->req->images[plan->clips[c].image];
        hc_image_prep prep = {
            .fit = (hc_img_fit)ps->req->settings.fit,
            .has_focus = ref->has_focus,
            .focus_x = ref->focus_x,
            .focus_y = ref->focus_y,
        };
        const hc_image_info *in = &ps->info[plan->clips[c].image];
        hc_plan_canvas_for(plan, c, ps->req->settings.fit, in->width, in->height, &prep.canvas_w,
                           &prep.canvas_h);
        char label[32];
        snprintf(label, sizeof label, "images[%d]", ref->index);
        hc_err e = {0};
        hc_yuv img;
        int64_t t0 = hc_now_us();
        int rc = canceled(ps) ? hc_err_set(&e, HC_ECANCELED, "canceled")
                              : hc_image_prepare(ps->files[plan->clips[c].image].path, label, &prep,
                                                 &img, &e);
        HC_DEBUG("render", "clip %d canvas %dx%d from %s in %.1f ms", c, prep.canvas_w,
                 prep.canvas_h, label, (hc_now_us() - t0) / 1000.0);
        if (rc != 0) {
            pipe_fail(ps, &e);
            pthread_mutex_lock(&ps->mu);
            break;
        }
        hc_clip_finish_canvas(plan, c, &img);
        pthread_mutex_lock(&ps->mu);
        ps->canvas[c] = img;
        ps->canvas_state[c] = SLOT_READY;
        pthread_cond_broadcast(&ps->cv);
    }
    pthread_mutex_unlock(&ps->mu);
    return NULL;
}

static void *compose_main(void *arg) {
    pipe_state *ps = arg;
    const hc_plan *plan = ps->plan;
    hc_scratch scratch = {0};
    pthread_mutex_lock(&ps->mu);
    while (!ps->stop && ps->next_compose < plan->n_frames) {
        int64_t f = ps->next_compose;
        int slot = (int)(f % ps->ring_n);
        int a, b;
        double p;
        hc_plan_at(plan, f, &a, &b, &p);
        if (f - ps->consumed >= ps->ring_n || ps->canvas_state[a] != SLOT_READY ||
            (b >= 0 && ps->canvas_state[b] != SLOT_READY)) {
            pthread_cond_wait(&ps->cv, &ps->mu);
            continue;
        }
        ps->next_compose++;
        pthread_cond_broadcast(&ps->cv); /* the prepare threads may move on */
        pthread_mutex_unlock(&ps->mu);

        AVFrame *frame = ps->ring[slot];
        int rc = av_frame_make_writable(frame) < 0 ? HC_ENOMEM : 0;
        if (rc == 0) {
            hc_yuv view;
            hc_yuv_from_frame(&view, frame);
            rc = hc_compose_frame(plan, f, ps->canvas_ptr, &scratch, &view);
            if (rc == 0 && ps->captions)
                rc = hc_captions_draw(ps->captions, (double)f / plan->fps, &view);
        }
        if (rc != 0) {
            hc_err e = {0};
            hc_err_set(&e, rc, "compose frame %lld: %s", (long long)f, hc_strerror(rc));
            pipe_fail(ps, &e);
        }
        pthread_mutex_lock(&ps->mu);
        ps->ring_frame[slot] = f;
        pthread_cond_broadcast(&ps->cv);
    }
    pthread_mutex_unlock(&ps->mu);
    hc_scratch_fini(&scratch);
    return NULL;
}

static void report(const hc_render_opts *o, const char *stage, int64_t done, int64_t total,
                   double eta) {
    if (!o->progress) return;
    hc_progress p = {stage, done, total, eta};
    o->progress(o->ud, &p);
}

static void fetch_done(void *ud, int index, int n_done, int n_total) {
    (void)index;
    report(ud, "downloading", n_done, n_total, -1);
}

/* Release canvases of clips that no frame from `consumed` on needs. */
static void release_canvases(pipe_state *ps) {
    for (int c = 0; c < ps->plan->n_clips; c++) {
        if (ps->canvas_state[c] == SLOT_READY && ps->plan->clips[c].end <= ps->consumed) {
            hc_yuv_fini(&ps->canvas[c]);
            ps->canvas_state[c] = SLOT_FREED;
        }
    }
}

static int64_t poster_frame(const hc_plan *plan) {
    const hc_clip *c = &plan->clips[0];
    int64_t own_end = plan->n_clips > 1 ? plan->clips[1].start : plan->n_frames;
    int64_t f = (c->start + own_end) / 2;
    return f < plan->n_frames ? f : plan->n_frames - 1;
}

/* Feed the encoder in order; the caller's thread. */
static int encode_loop(pipe_state *ps, hc_encoder *enc, const char *poster_tmp, hc_err *err) {
    const hc_plan *plan = ps->plan;
    int64_t t0 = hc_now_us(), last_report = 0, pf = poster_frame(plan);
    for (int64_t f = 0; f < plan->n_frames; f++) {
        int slot = (int)(f % ps->ring_n);
        pthread_mutex_lock(&ps->mu);
        while (!ps->stop && ps->ring_frame[slot] != f)
            pthread_cond_wait(&ps->cv, &ps->mu);
        bool stop = ps->stop;
        pthread_mutex_unlock(&ps->mu);
        if (stop) return ps->err.code;
        if (canceled(ps)) return hc_err_set(err, HC_ECANCELED, "render canceled");
        int rc = 0;
        hc_yuv view;
        hc_yuv_from_frame(&view, ps->ring[slot]);
        if (ps->opts->on_frame && (rc = ps->opts->on_frame(ps->opts->ud, f, &view)) != 0)
            return hc_err_set(err, rc, "frame %lld: stopped by the frame callback (%s)",
                              (long long)f, hc_strerror(rc));
        if (f == pf && poster_tmp) rc = hc_poster_write(&view, poster_tmp, err);
        if (rc == 0 && ps->track.frames > 0) { /* the audio up to the end of this frame */
            int64_t until = (f + 1) * HC_AUDIO_RATE / plan->fps;
            if (until > ps->track.frames) until = ps->track.frames;
            if (until > ps->audio_written)
                rc = hc_encoder_write_audio(enc, ps->track.samples + 2 * ps->audio_written,
                                            until - ps->audio_written, err);
            ps->audio_written = until;
        }
        if (rc == 0) rc = hc_encoder_write(enc, ps->ring[slot], f, err);
        if (rc != 0) return rc;
        pthread_mutex_lock(&ps->mu);
        ps->ring_frame[slot] = -1;
        ps->consumed = f + 1;
        release_canvases(ps);
        pthread_cond_broadcast(&ps->cv);
        pthread_mutex_unlock(&ps->mu);
        int64_t now = hc_now_us();
        if (now - last_report > 200000 || f + 1 == plan->n_frames) {
            last_report = now;
            double rate = (double)(f + 1) / ((now - t0) / 1e6 + 1e-9);
            report(ps->opts, "rendering", f + 1, plan->n_frames, (plan->n_frames - f - 1) / rate);
        }
    }
    return 0;
}

static int fetch_inputs(const hc_request *req, const hc_render_opts *opts, const char *work_dir,
                        hc_fetched *files, hc_image_info *info, hc_err *err) {
    int n = req->n_images;
    const char **urls = hc_xcalloc((size_t)n, sizeof *urls),
               **labels = hc_xcalloc((size_t)n, sizeof *labels);
    char(*lab)[32] = hc_xcalloc((size_t)n, sizeof *lab);
    for (int i = 0; i < n; i++) {
        snprintf(lab[i], sizeof lab[i], "images[%d]", req->images[i].index);
        urls[i] = req->images[i].url;
        labels[i] = lab[i];
    }
    hc_fetch_opts fo = {
        .work_dir = work_dir,
        .base_dir = req->base_dir,
        .allow_local = opts->allow_local,
        .cancel = opts->cancel,
        .on_done = fetch_done,
        .ud = (void *)opts,
    };
    report(opts, "downloading", 0, n, -1);
    int rc = hc_fetch_many(urls, labels, n, &fo, files, err);
    /* Check every header before the first frame: a bad input fails the job
     * now, naming the image, not minutes into the render. */
    for (int i = 0; rc == 0 && i < n; i++)
        rc = hc_image_probe(files[i].path, labels[i], &info[i], err);
    free(urls);
    free(labels);
    free(lab);
    return rc;
}

/* The music: fetch, decode the segment that plays (from audio.start_time,
 * for audio.duration or as long as the video needs), find its beats, and
 * repeat them for every loop of the segment. Unusable music (unreachable,
 * corrupt, no audio stream, silent) does not stop the render: the video is
 * made silent and a warning names the problem. Music over the length
 * limit is a request error. */
static int prepare_audio(const hc_request *req, const hc_render_opts *opts, const char *work_dir,
                         hc_audio *music, hc_beats *beats, hc_strlist *warnings, hc_err *err) {
    report(opts, "analyzing", 0, 1, -1);
    const hc_vibe_style *vs = &hc_vibe_styles[req->settings.vibe];
    double target = req->settings.target_duration_s;
    double max_s = req->audio_duration_s > 0 ? req->audio_duration_s
                   : target > 0              ? target
                                             : vs->auto_max_s;
    hc_fetched f = {0};
    hc_fetch_opts fo = {.work_dir = work_dir,
                        .base_dir = req->base_dir,
                        .allow_local = opts->allow_local,
                        .cancel = opts->cancel,
                        .max_bytes = (size_t)512 << 20};
    const char *url = req->audio_url, *label = "audio.url";
    hc_err e = {0};
    int rc = hc_fetch_many(&url, &label, 1, &fo, &f, &e);
    if (rc == 0) rc = hc_audio_decode(f.path, "audio.url", req->audio_start_s, max_s, music, &e);
    hc_fetched_fini(&f);
    if (rc == HC_ETOOBIG || rc == HC_EINVAL || rc == HC_ECANCELED)
        return hc_err_set(err, rc, "%s", e.msg);
    if (rc != 0) {
        hc_strlist_add(warnings, "%s; the video is silent", e.msg);
        return 0;
    }
    rc = hc_beats_analyze(music, beats, &e);
    if (rc != 0) {
        hc_strlist_add(warnings, "audio: beat analysis failed (%s); cuts follow the vibe's pace",
                       e.msg);
        hc_beats_fini(beats);
        memset(beats, 0, sizeof *beats);
    }
    /* The segment loops to fill the video: so do its beats, with the
     * soundtrack's own loop period (repeats overlap at their seams). */
    double need = target > 0 ? target : vs->auto_max_s;
    double period_s =
        (double)hc_audio_loop_period(music->frames, llround(need * HC_AUDIO_RATE)) / HC_AUDIO_RATE;
    if (beats->n > 0 && period_s > 0 && period_s < need) {
        int loops = (int)ceil(need / period_s), n = beats->n;
        double *t = hc_xcalloc((size_t)n * (size_t)loops, sizeof *t);
        for (int l = 0; l < loops; l++)
            for (int i = 0; i < n; i++)
                t[l * n + i] = beats->times[i] + l * period_s;
        free(beats->times);
        beats->times = t;
        beats->n = n * loops;
    }
    report(opts, "analyzing", 1, 1, -1);
    return 0;
}

int hc_render_run(const hc_request *req, const hc_render_opts *opts, hc_render_result *result,
                  hc_err *err) {
    int64_t t_start = hc_now_us();
    memset(result, 0, sizeof *result);
    hc_plan *plan = NULL;
    hc_fetched *files = NULL;
    hc_image_info *info = NULL;
    hc_encoder *enc = NULL;
    hc_audio music = {0};
    hc_beats beats = {0};
    pipe_state ps = {0};
    pthread_t prep_t[PREP_THREADS], comp_t[MAX_COMPOSE_THREADS];
    prep_arg prep_args[PREP_THREADS];
    int n_prep = 0, n_comp = 0;
    char work_dir[4096] = "", out_tmp[4200] = "", poster_tmp[4200] = "";
    bool own_work_dir = false, mu_init = false;
    int rc = hc_media_init(err);
    if (rc == 0) rc = hc_render_validate(req, err);
    if (rc != 0) goto done;
    for (int i = 0; i < req->warnings.n; i++)
        hc_strlist_add(&result->warnings, "%s", req->warnings.v[i]);

    if (opts->work_dir) {
        snprintf(work_dir, sizeof work_dir, "%s", opts->work_dir);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(work_dir, sizeof work_dir, "%s/hc-render-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(work_dir)) {
            rc = hc_err_set(err, HC_EIO, "work directory %s: %s", work_dir, strerror(errno));
            goto done;
        }
        own_work_dir = true;
    }
    files = hc_xcalloc((size_t)req->n_images, sizeof *files);
    info = hc_xcalloc((size_t)req->n_images, sizeof *info);
    int64_t t_fetch = hc_now_us();
    rc = fetch_inputs(req, opts, work_dir, files, info, err);
    if (rc != 0) goto done;
    HC_INFO("render", "fetched and checked %d image(s) in %.0f ms", req->n_images,
            (hc_now_us() - t_fetch) / 1000.0);

    /* Music, then the timeline (cuts on its beats) and the soundtrack. */
    if (req->has_audio &&
        (rc = prepare_audio(req, opts, work_dir, &music, &beats, &result->warnings, err)) != 0)
        goto done;
    rc = hc_plan_build_music(req, &beats, (double)music.frames / HC_AUDIO_RATE, &plan, err);
    if (rc != 0) goto done;
    for (int i = 0; i < plan->warnings.n; i++)
        hc_strlist_add(&result->warnings, "%s", plan->warnings.v[i]);
    result->width = plan->width;
    result->height = plan->height;
    result->fps = plan->fps;
    result->frames = plan->n_frames;
    result->duration_s = plan->duration_s;
    result->bpm = beats.bpm;
    result->n_cuts = plan->n_clips - 1;
    result->cuts_s = hc_xcalloc((size_t)plan->n_clips, sizeof *result->cuts_s);
    for (int k = 1; k < plan->n_clips; k++)
        result->cuts_s[k - 1] = (double)plan->clips[k].own_start / plan->fps;
    if (music.frames > 0 &&
        (rc = hc_audio_soundtrack(&music, plan->duration_s, &ps.track, err)) != 0)
        goto done;

    /* Captions: built before any frame, so a font problem fails early. */
    const hc_name_list *anim =
        req->settings.use_ai_effects ? &req->settings.ai_text_animations : NULL;
    if (req->n_lines > 0) {
        rc = hc_captions_new(req, plan->width, plan->height, plan->duration_s, plan->text_style,
                             anim, &ps.captions, err);
        if (rc != 0) goto done;
    }

    /* Encoder */
    hc_encoder_choice choice;
    if (opts->null_sink) {
        snprintf(choice.codec, sizeof choice.codec, "null");
        snprintf(choice.reason, sizeof choice.reason, "null sink (no encoding)");
    } else {
        hc_encoder_choose((hc_enc_hw)req->settings.hardware, opts->use_nvenc, hc_nvenc_probe,
                          &choice);
        snprintf(out_tmp, sizeof out_tmp, "%s.part", opts->out_path);
        if (opts->poster_path) snprintf(poster_tmp, sizeof poster_tmp, "%s", opts->poster_path);
    }
    snprintf(result->encoder, sizeof result->encoder, "%s", choice.codec);
    snprintf(result->encoder_reason, sizeof result->encoder_reason, "%s", choice.reason);
    hc_encoder_opts eo = {
        .width = plan->width,
        .height = plan->height,
        .fps = plan->fps,
        .quality = (hc_enc_quality)req->settings.quality,
        .codec = choice.codec,
        .audio = ps.track.frames > 0,
        .path = out_tmp,
    };
    rc = hc_encoder_open(&eo, &enc, err);
    if (rc != 0) goto done;

    /* Shared state and threads */
    ps.req = req;
    ps.plan = plan;
    ps.opts = opts;
    ps.files = files;
    ps.info = info;
    pthread_mutex_init(&ps.mu, NULL);
    pthread_cond_init(&ps.cv, NULL);
    mu_init = true;
    ps.canvas = hc_xcalloc((size_t)plan->n_clips, sizeof *ps.canvas);
    ps.canvas_ptr = hc_xcalloc((size_t)plan->n_clips, sizeof *ps.canvas_ptr);
    ps.canvas_state = hc_xcalloc((size_t)plan->n_clips, sizeof *ps.canvas_state);
    for (int c = 0; c < plan->n_clips; c++)
        ps.canvas_ptr[c] = &ps.canvas[c];
    int n_threads = opts->compose_threads > 0 ? opts->compose_threads : hc_cpu_count();
    if (n_threads > MAX_COMPOSE_THREADS) n_threads = MAX_COMPOSE_THREADS;
    ps.ring_n = n_threads + 2;
    ps.ring = hc_xcalloc((size_t)ps.ring_n, sizeof *ps.ring);
    ps.ring_frame = hc_xcalloc((size_t)ps.ring_n, sizeof *ps.ring_frame);
    for (int i = 0; i < ps.ring_n; i++) {
        ps.ring_frame[i] = -1;
        if (!(ps.ring[i] = hc_encoder_frame_alloc(enc))) {
            rc = hc_err_set(err, HC_ENOMEM, "out of memory allocating frames");
            goto done;
        }
    }
    report(opts, "rendering", 0, plan->n_frames, -1);
    for (; n_prep < PREP_THREADS && n_prep < plan->n_clips; n_prep++) {
        prep_args[n_prep] = (prep_arg){&ps, n_prep == 0 ? LOOKAHEAD_CLIPS : 0};
        if (pthread_create(&prep_t[n_prep], NULL, prepare_main, &prep_args[n_prep]) != 0) break;
    }
    for (; n_comp < n_threads; n_comp++)
        if (pthread_create(&comp_t[n_comp], NULL, compose_main, &ps) != 0) break;
    if (n_prep == 0 || n_comp == 0) {
        rc = hc_err_set(err, HC_EINTERNAL, "could not start render threads");
        pipe_fail(&ps, err);
    } else {
        rc = encode_loop(&ps, enc, poster_tmp[0] ? poster_tmp : NULL, err);
    }
    if (rc != 0) {
        hc_err e = {0};
        hc_err_set(&e, rc, "%s", err && err->code ? err->msg : hc_strerror(rc));
        pipe_fail(&ps, &e);
    }
    for (int i = 0; i < n_prep; i++)
        pthread_join(prep_t[i], NULL);
    for (int i = 0; i < n_comp; i++)
        pthread_join(comp_t[i], NULL);
    if (rc == 0 && ps.err.code) rc = ps.err.code;
    if (rc != 0) {
        if (err && !err->code && ps.err.code) *err = ps.err;
        goto done;
    }
    report(opts, "finalizing", plan->n_frames, plan->n_frames, 0);
    rc = hc_encoder_finish(enc, err);
    if (rc == 0 && out_tmp[0] && rename(out_tmp, opts->out_path) != 0)
        rc = hc_err_set(err, HC_EIO, "output %s: %s", opts->out_path, strerror(errno));

done:
    hc_encoder_free(enc);
    if (rc != 0) {
        if (out_tmp[0]) unlink(out_tmp);
        if (poster_tmp[0]) unlink(poster_tmp);
    }
    if (ps.ring)
        for (int i = 0; i < ps.ring_n; i++)
            av_frame_free(&ps.ring[i]);
    free(ps.ring);
    free(ps.ring_frame);
    if (ps.canvas)
        for (int c = 0; c < plan->n_clips; c++)
            hc_yuv_fini(&ps.canvas[c]);
    free(ps.canvas);
    free(ps.canvas_ptr);
    free(ps.canvas_state);
    if (mu_init) {
        pthread_mutex_destroy(&ps.mu);
        pthread_cond_destroy(&ps.cv);
    }
    if (files) {
        for (int i = 0; i < req->n_images; i++)
            hc_fetched_fini(&files[i]);
        free(files);
    }
    free(info);
    if (own_work_dir) hc_remove_tree(work_dir);
    hc_captions_free(ps.captions);
    hc_audio_fini(&ps.track);
    hc_audio_fini(&music);
    hc_beats_fini(&beats);
    hc_plan_free(plan);
    result->render_s = (hc_now_us() - t_start) / 1e6;
    return rc;
}

void hc_render_result_fini(hc_render_result *r) {
    if (!r) return;
    hc_strlist_fini(&r->warnings);
    free(r->cuts_s);
    r->cuts_s = NULL;
}
