/* `hydra-compose gallery DIR`: contact sheets a person can look at, one PNG
 * per family (transitions at 25/50/75 %, motions, grades, filters and
 * overlays, caption styles), drawn by the real compositor from the demo
 * photos. docs/gallery/ keeps the current ones (bench/gallery.sh). */
#include "app/app.h"
#include "core/hc_core.h"
#include "jobs/hc_jobs.h"
#include "media/hc_media.h"
#include "render/hc_render.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tile sizes: the two large families use smaller tiles to keep the PNGs small. */
enum { TW = 216, TH = 384, SMALL_TW = 144, SMALL_TH = 256 };

typedef struct sheet {
    int tw, th; /* tile size */
    hc_yuv *tiles;
    char **labels;
    int n, cap;
} sheet;

static void sheet_free(sheet *s) {
    for (int i = 0; i < s->n; i++) {
        hc_yuv_fini(&s->tiles[i]);
        free(s->labels[i]);
    }
    free(s->tiles);
    free(s->labels);
    memset(s, 0, sizeof *s);
}

static hc_yuv *sheet_add(sheet *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static hc_yuv *sheet_add(sheet *s, const char *fmt, ...) {
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->tiles = realloc(s->tiles, sizeof *s->tiles * (size_t)s->cap);
        s->labels = realloc(s->labels, sizeof *s->labels * (size_t)s->cap);
        if (!s->tiles || !s->labels) abort();
    }
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    s->labels[s->n] = hc_strdup(buf);
    hc_yuv *t = &s->tiles[s->n++];
    if (hc_yuv_alloc(t, s->tw, s->th) != 0) abort();
    return t;
}

static int sheet_save(sheet *s, int cols, const char *title, const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    const hc_yuv **tiles = calloc((size_t)s->n, sizeof *tiles);
    for (int i = 0; i < s->n; i++)
        tiles[i] = &s->tiles[i];
    hc_err err = {0};
    int rc = hc_sheet_write(tiles, (const char *const *)s->labels, s->n, cols, title, path, &err);
    if (rc != 0)
        fprintf(stderr, "hydra-compose gallery: %s\n", err.msg);
    else
        printf("%s\n", path);
    free(tiles);
    sheet_free(s);
    return rc;
}

static int load(const char *dir, const char *name, int w, int h, hc_yuv *out) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    hc_image_prep prep = {.canvas_w = w, .canvas_h = h, .fit = HC_IMG_FIT_COVER};
    hc_err err = {0};
    int rc = hc_image_prepare(path, name, &prep, out, &err);
    if (rc != 0) fprintf(stderr, "hydra-compose gallery: %s\n", err.msg);
    return rc;
}

static void view(const hc_yuv *canvas, double zoom, hc_yuv *out) {
    hc_view v = {zoom, 0.5, 0.5};
    hc_sample_view(canvas, &v, out);
}

static int transitions(const char *photos, const char *dir) {
    sheet s = {.tw = SMALL_TW, .th = SMALL_TH};
    hc_yuv a, b;
    if (load(photos, "RainDrops.jpg", s.tw, s.th, &a)) return 1;
    if (load(photos, "Garden.jpg", s.tw, s.th, &b)) {
        hc_yuv_fini(&a);
        return 1;
    }
    for (int i = 0; hc_transitions[i]; i++)
        for (int q = 1; q <= 3; q++)
            hc_transition_apply(hc_transitions[i], q * 0.25, 7, &a, &b,
                                sheet_add(&s, "%s %d%%", hc_transitions[i]->name, q * 25));
    hc_yuv_fini(&a);
    hc_yuv_fini(&b);
    return sheet_save(&s, 9, "Transitions at 25 / 50 / 75 %", dir, "transitions.png");
}

static int motions(const char *photos, const char *dir) {
    sheet s = {.tw = SMALL_TW, .th = SMALL_TH};
    for (int i = 0; hc_motions[i]; i++) {
        const hc_motion *m = hc_motions[i];
        int cw = (int)(s.tw * m->max_zoom / 2 + 0.5) * 2,
            ch = (int)(s.th * m->max_zoom / 2 + 0.5) * 2;
        hc_yuv c;
        if (load(photos, "LadyBird.jpg", cw, ch, &c)) {
            sheet_free(&s);
            return 1;
        }
        for (int q = 0; q <= 2; q++) {
            hc_motion_params mp = {.t = q / 2.0, .time_s = q * 1.6, .dur_s = 3.2, .seed = 3};
            hc_view v;
            m->at(&mp, &v);
            hc_sample_view(&c, &v,
                           sheet_add(&s, "%s t=%.1f (zoom %.3f)", m->name, q / 2.0, v.zoom));
        }
        hc_yuv_fini(&c);
    }
    return sheet_save(&s, 9, "Motions at the start, middle and end of a clip", dir, "motions.png");
}

static int grades(const char *photos, const char *dir) {
    hc_yuv src;
    if (load(photos, "Garden.jpg", TW, TH, &src)) return 1;
    sheet s = {.tw = TW, .th = TH};
    for (int g = 0; g < HC_GRADE_COUNT; g++) {
        hc_yuv *t = sheet_add(&s, "%s", hc_grade_names[g]);
        hc_yuv_copy(t, &src);
        hc_grade_apply(g, t);
    }
    hc_yuv_fini(&src);
    return sheet_save(&s, 5, "Colour grades", dir, "grades.png");
}

static int overlays(const char *photos, const char *dir) {
    hc_yuv src;
    if (load(photos, "Aqua.jpg", TW, TH, &src)) return 1;
    sheet s = {.tw = TW, .th = TH};
    hc_yuv_copy(sheet_add(&s, "(none)"), &src);
    for (int stage = 0; stage < 2; stage++) {
        const hc_fx *const *list = stage == 0 ? hc_fx_canvas : hc_fx_frame;
        for (int i = 0; list[i]; i++) {
            hc_yuv *t = sheet_add(&s, "%s (%s)", list[i]->name, stage == 0 ? "filter" : "overlay");
            hc_yuv_copy(t, &src);
            hc_fx_ctx c = {.frame = 30,
                           .time_s = 1.0,
                           .clip_time_s = 1.0,
                           .since_beat_s = 0.03,
                           .strength = 1,
                           .seed = 5,
                           .out_w = TW,
                           .out_h = TH};
            list[i]->apply(&c, t);
        }
    }
    hc_yuv_fini(&src);
    return sheet_save(&s, 6, "Filters (on each photo) and overlays (on each frame)", dir,
                      "overlays.png");
}

static int captions(const char *photos, const char *dir) {
    hc_yuv src;
    if (load(photos, "Dune.jpg", 540, 960, &src)) return 1;
    sheet s = {.tw = TW, .th = TH};
    int rc = 0;
    for (int st = 0; st < HC_TEXT_COUNT && rc == 0; st++) {
        char json[1024];
        snprintf(json, sizeof json,
                 "{\"images\":[\"x.jpg\"],\"script\":{\"lines\":[{\"text\":\"안녕하세요 "
                 "여러분\",\"timing\":0,\"duration\":3},"
                 "{\"text\":\"Hello, summer "
                 "days\",\"timing\":3,\"duration\":3}]},\"settings\":{\"text_style\":\"%s\"}}",
                 hc_text_style_names[st]);
        hc_request *req = NULL;
        hc_err err = {0};
        hc_request_opts ro = {.allow_local_files = true};
        hc_captions *cap = NULL;
        rc = hc_request_parse(json, strlen(json), &ro, &req, &err);
        if (rc == 0) rc = hc_captions_new(req, 540, 960, 6, st, NULL, &cap, &err);
        for (int line = 0; rc == 0 && line < 2; line++) {
            hc_yuv big;
            if ((rc = hc_yuv_alloc(&big, src.w, src.h)) != 0) break;
            hc_yuv_copy(&big, &src);
            rc = hc_captions_draw(cap, line * 3 + 1.5, &big);
            view(&big, 1,
                 sheet_add(&s, "%s: %s", hc_text_style_names[st], line ? "Latin" : "Korean"));
            hc_yuv_fini(&big);
        }
        if (rc != 0)
            fprintf(stderr, "hydra-compose gallery: captions: %s\n",
                    err.msg[0] ? err.msg : hc_strerror(rc));
        hc_captions_free(cap);
        hc_request_free(req);
    }
    hc_yuv_fini(&src);
    if (rc != 0) {
        sheet_free(&s);
        return 1;
    }
    return sheet_save(&s, 4, "Caption styles (Korean and Latin)", dir, "captions.png");
}

int hc_cmd_gallery(int argc, char **argv) {
    const char *dir = NULL, *photos = "examples/photos";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--photos") == 0 && i + 1 < argc)
            photos = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            puts("usage: hydra-compose gallery DIR [--photos DIR]\n\n"
                 "Write contact sheets (transitions.png, motions.png, grades.png, overlays.png,\n"
                 "captions.png) into DIR, drawn from the demo photos (default examples/photos).");
            return 0;
        } else
            dir = argv[i];
    }
    if (!dir) {
        fputs("usage: hydra-compose gallery DIR [--photos DIR]\n", stderr);
        return 2;
    }
    hc_err err = {0};
    if (hc_media_init(&err) != 0) {
        fprintf(stderr, "hydra-compose gallery: %s\n", err.msg);
        return 1;
    }
    int failed = 0;
    failed += transitions(photos, dir) != 0;
    failed += motions(photos, dir) != 0;
    failed += grades(photos, dir) != 0;
    failed += overlays(photos, dir) != 0;
    failed += captions(photos, dir) != 0;
    return failed ? 1 : 0;
}
