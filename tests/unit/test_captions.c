/* Unit tests of src/render/captions.c: captions drawn with libass onto a
 * mid-grey 1080x1920 frame, judged by their "ink" (luma > 200: the white
 * fill) and "dark" (luma < 60: outline and shadow) pixels.
 *
 * Tofu check: a script whose font is missing draws .notdef boxes (or
 * nothing). Each script is drawn next to a line of as many private-use
 * characters (U+E000, which no font has) and the two ink masks must differ
 * in most of their pixels (XOR / OR > 0.5); real glyphs and boxes of the
 * same advance would overlap almost entirely. */
#include "hc_test.h"
#include "render/render_int.h"
#include "render_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { W = 1080, H = 1920 };

typedef struct ink {
    long n, dark;
    int x0, y0, x1, y1; /* bounding box of ink, x1/y1 exclusive; x1 = 0 when none */
} ink;

static void grey(hc_yuv *f) {
    hc_yuv_fill(f, 126, 128, 128);
}

static void measure(const hc_yuv *f, ink *k) {
    *k = (ink){.x0 = f->w, .y0 = f->h};
    for (int y = 0; y < f->h; y++) {
        const uint8_t *r = f->plane[0] + (size_t)y * f->stride[0];
        for (int x = 0; x < f->w; x++) {
            if (r[x] < 60) k->dark++;
            if (r[x] <= 200) continue;
            k->n++;
            if (x < k->x0) k->x0 = x;
            if (y < k->y0) k->y0 = y;
            if (x + 1 > k->x1) k->x1 = x + 1;
            if (y + 1 > k->y1) k->y1 = y + 1;
        }
    }
}

static bool frames_equal(const hc_yuv *a, const hc_yuv *b) {
    for (int p = 0; p < 3; p++) {
        int w = p ? a->w / 2 : a->w, h = p ? a->h / 2 : a->h;
        for (int y = 0; y < h; y++)
            if (memcmp(a->plane[p] + (size_t)y * a->stride[p],
                       b->plane[p] + (size_t)y * b->stride[p], (size_t)w))
                return false;
    }
    return true;
}

/* Captions for lines (the JSON array's inside) in a video of dur_s. */
static hc_captions *make(const char *lines, double dur_s, int style, const char *anim) {
    char json[8192];
    snprintf(json, sizeof json,
             "{\"images\":[{\"url\":\"a.jpg\"}],\"script\":{\"lines\":[%s]}%s%s%s}", lines,
             anim ? ",\"settings\":{\"ai_effects\":{\"text_animations\":[\"" : "", anim ? anim : "",
             anim ? "\"]}}" : "");
    hc_request *req = hc_test_request(json);
    if (!req) return NULL;
    hc_captions *c = NULL;
    hc_err err = {0};
    const hc_name_list *an = anim ? &req->settings.ai_text_animations : NULL;
    int rc = hc_captions_new(req, W, H, dur_s, style, an, &c, &err);
    if (rc != 0) fprintf(stderr, "    hc_captions_new: %s\n", err.msg);
    hc_request_free(req);
    return c;
}

/* Draw one line of text (JSON-escaped) at t onto a grey frame. */
static bool draw_text(const char *text_json, int style, const char *anim, double t, hc_yuv *f,
                      ink *k) {
    char line[4096];
    snprintf(line, sizeof line, "{\"text\":\"%s\",\"timing\":0,\"duration\":4}", text_json);
    hc_captions *c = make(line, 10, style, anim);
    if (!c) return false;
    grey(f);
    int rc = hc_captions_draw(c, t, f);
    hc_captions_free(c);
    measure(f, k);
    return rc == 0;
}

static double mask_difference(const hc_yuv *a, const hc_yuv *b) {
    long x = 0, o = 0;
    for (int y = 0; y < a->h; y++) {
        const uint8_t *ra = a->plane[0] + (size_t)y * a->stride[0];
        const uint8_t *rb = b->plane[0] + (size_t)y * b->stride[0];
        for (int i = 0; i < a->w; i++) {
            bool ia = ra[i] > 200, ib = rb[i] > 200;
            x += ia != ib;
            o += ia || ib;
        }
    }
    return o ? (double)x / o : 0;
}

HC_TEST(captions_scripts_render_shaped_not_tofu) {
    static const struct {
        const char *name, *text, *tofu;
        int n;
    } cases[] = {
        {"hangul", "안녕하세요", "\\uE000\\uE000\\uE000\\uE000\\uE000", 5},
        {"japanese", "こんにちは", "\\uE000\\uE000\\uE000\\uE000\\uE000", 5},
        {"chinese", "你好世界", "\\uE000\\uE000\\uE000\\uE000", 4},
        {"latin", "Hello", "\\uE000\\uE000\\uE000\\uE000\\uE000", 5},
        {"emoji", "\\uD83D\\uDE00\\uD83C\\uDF89\\u2764", "\\uE000\\uE000\\uE000", 3},
    };
    hc_yuv f, tofu;
    CHECK(hc_yuv_alloc(&f, W, H) == 0 && hc_yuv_alloc(&tofu, W, H) == 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ink k, kt;
        CHECK(draw_text(cases[i].text, HC_TEXT_BOLD_POP, NULL, 2.0, &f, &k));
        CHECK(draw_text(cases[i].tofu, HC_TEXT_BOLD_POP, NULL, 2.0, &tofu, &kt));
        double diff = mask_difference(&f, &tofu);
        /* a 96 px line (5 % of 1920): glyphs some 65 px tall, in the lower third */
        CHECKF(k.n > 400L * cases[i].n && k.n < 4000L * cases[i].n, "%s: %ld ink px", cases[i].name,
               k.n);
        CHECKF(k.y1 - k.y0 > 30 && k.y1 - k.y0 < 110, "%s: ink height %d", cases[i].name,
               k.y1 - k.y0);
        CHECKF(k.y1 <= H - H * 12 / 100 && k.y0 > H * 2 / 3, "%s: ink rows %d..%d", cases[i].name,
               k.y0, k.y1);
        CHECKF(abs((k.x0 + k.x1) - W) < 40, "%s: not centred %d..%d", cases[i].name, k.x0, k.x1);
        CHECKF(k.dark > k.n / 4, "%s: outline/shadow %ld dark px", cases[i].name, k.dark);
        CHECKF(diff > 0.5, "%s: looks like tofu (mask difference %.2f)", cases[i].name, diff);
    }
    hc_yuv_fini(&f);
    hc_yuv_fini(&tofu);
}

HC_TEST(captions_chroma_stays_neutral_for_white_on_grey) {
    hc_yuv f;
    ink k;
    CHECK(hc_yuv_alloc(&f, W, H) == 0);
    CHECK(draw_text("Hello", HC_TEXT_BOLD_POP, NULL, 2.0, &f, &k));
    for (int y = 0; y < H / 2; y++)
        for (int x = 0; x < W / 2; x++) {
            CHECK(abs(f.plane[1][(size_t)y * f.stride[1] + x] - 128) <= 1);
            CHECK(abs(f.plane[2][(size_t)y * f.stride[2] + x] - 128) <= 1);
        }
    /* white fill reaches limited-range white */
    int maxy = 0;
    for (int y = k.y0; y < k.y1; y++)
        for (int x = k.x0; x < k.x1; x++)
            if (f.plane[0][(size_t)y * f.stride[0] + x] > maxy)
                maxy = f.plane[0][(size_t)y * f.stride[0] + x];
    CHECK(maxy == 235);
    hc_yuv_fini(&f);
}

HC_TEST(captions_outside_time_draw_nothing) {
    hc_captions *c = make("{\"text\":\"안녕하세요\",\"timing\":1,\"duration\":2}", 10, 0, NULL);
    CHECK(c);
    hc_yuv f, ref;
    CHECK(hc_yuv_alloc(&f, W, H) == 0 && hc_yuv_alloc(&ref, W, H) == 0);
    grey(&ref);
    static const double times[] = {0, 0.99, 3.0, 3.5, 9.9, -1};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        grey(&f);
        CHECK(hc_captions_draw(c, times[i], &f) == 0);
        CHECKF(frames_equal(&f, &ref), "drew at %.2f s", times[i]);
    }
    grey(&f);
    CHECK(hc_captions_draw(c, 2.0, &f) == 0);
    CHECK(!frames_equal(&f, &ref));
    hc_yuv small;
    CHECK(hc_yuv_alloc(&small, 64, 64) == 0);
    CHECK(hc_captions_draw(c, 2.0, &small) == HC_EINVAL);
    hc_yuv_fini(&small);
    hc_captions_free(c);
    hc_captions_free(NULL);
    hc_yuv_fini(&f);
    hc_yuv_fini(&ref);
}

HC_TEST(captions_line_crossing_the_end_is_clipped_and_late_lines_dropped) {
    /* video of 3 s: line 1 runs 1..6 s (clipped at 3), line 2 starts at 3 (dropped) */
    hc_captions *c = make("{\"text\":\"Hello\",\"timing\":1,\"duration\":5},"
                          "{\"text\":\"World\",\"timing\":3,\"duration\":2}",
                          3, 0, NULL);
    CHECK(c);
    hc_yuv f;
    ink k;
    CHECK(hc_yuv_alloc(&f, W, H) == 0);
    grey(&f);
    CHECK(hc_captions_draw(c, 2.5, &f) == 0);
    measure(&f, &k);
    CHECK(k.n > 1000);
    static const double past[] = {3.0, 3.2, 4.0, 5.9};
    for (size_t i = 0; i < sizeof past / sizeof past[0]; i++) {
        grey(&f);
        CHECK(hc_captions_draw(c, past[i], &f) == 0);
        measure(&f, &k);
        CHECKF(k.n == 0 && k.dark == 0, "drew at %.1f s", past[i]);
    }
    hc_captions_free(c);
    /* every line past the end: no captions object at all */
    c = make("{\"text\":\"late\",\"timing\":4,\"duration\":2}", 3, 0, NULL);
    CHECK(c == NULL);
    hc_yuv_fini(&f);
}

/* Rows of ink: vertical extent measured in line heights (96 px). */
HC_TEST(captions_long_lines_wrap_to_three_rows_inside_margins) {
    static const char *const texts[] = {
        "The quick brown fox jumps over the lazy dog while the band plays on and on, and the "
        "crowd keeps singing along until the very last light of the evening goes out over the "
        "quiet harbour town by the sea, where nobody ever sleeps before dawn",
        "今日はとても良い天気ですね。公園で散歩しましょう！桜がきれいに咲いています。明日も晴れる"
        "といいですね。友達と一緒にお弁当を食べて、写真をたくさん撮りました。",
        "오늘은 정말 좋은 날씨예요 우리 같이 공원에 가서 산책하고 맛있는 점심도 먹고 사진도 많이 "
        "찍어요 그리고 저녁에는 바닷가에 가서 노을을 보면서 이야기를 나눠요 정말 행복한 하루예요",
        "Supercalifragilisticexpialidociousandevenlongerwordswithoutanybreakswhatsoever",
    };
    hc_yuv f;
    CHECK(hc_yuv_alloc(&f, W, H) == 0);
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        ink k;
        CHECK(draw_text(texts[i], HC_TEXT_BOLD_POP, NULL, 2.0, &f, &k));
        int height = k.y1 - k.y0;
        CHECKF(k.n > 2000, "text %zu: %ld ink px", i, k.n);
        CHECKF(height > 96 && height <= 3 * 96 + 10, "text %zu: ink height %d", i, height);
        CHECKF(k.x0 >= W * 5 / 100 && k.x1 <= W - W * 5 / 100, "text %zu: ink x %d..%d", i, k.x0,
               k.x1);
        /* nothing dark (outline, shadow) in the outer 5 % either */
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                if (x >= W * 5 / 100 && x < W - W * 5 / 100) continue;
                CHECK(f.plane[0][(size_t)y * f.stride[0] + x] == 126);
            }
    }
    hc_yuv_fini(&f);
}

HC_TEST(captions_user_markup_is_literal_text) {
    hc_yuv f;
    ink k, plain;
    CHECK(hc_yuv_alloc(&f, W, H) == 0);
    /* {\fs400}x would be a 400 px "x" if the tag were obeyed */
    CHECK(draw_text("{\\\\fs400}x", HC_TEXT_BOLD_POP, NULL, 2.0, &f, &k));
    CHECKF(k.y1 - k.y0 < 110, "ink height %d", k.y1 - k.y0);
    CHECK(draw_text("x", HC_TEXT_BOLD_POP, NULL, 2.0, &f, &plain));
    CHECKF(k.x1 - k.x0 > 5 * (plain.x1 - plain.x0), "markup not drawn: width %d", k.x1 - k.x0);
    /* \N typed by the user stays on one row; a real newline breaks it */
    CHECK(draw_text("a\\\\Nb", HC_TEXT_BOLD_POP, NULL, 2.0, &f, &k));
    CHECKF(k.y1 - k.y0 < 96, "\\N broke the line: height %d", k.y1 - k.y0);
    CHECK(draw_text("a\\nb", HC_TEXT_BOLD_POP, NULL, 2.0, &f, &k));
    CHECKF(k.y1 - k.y0 > 96, "newline did not break: height %d", k.y1 - k.y0);
    /* a user \{ must not swallow the braces around it */
    CHECK(draw_text("\\\\{\\\\b0}x\\\\", HC_TEXT_MINIMAL, NULL, 2.0, &f, &k));
    CHECK(k.n > 300 && k.y1 - k.y0 < 110);
    hc_yuv_fini(&f);
}

HC_TEST(captions_animations_start_softer_than_they_end) {
    static const char *const anims[] = {"typewriter",   "word_by_word", "fade",      "blur_in",
                                        "split_reveal", "scale_pop",    "bounce_in", "karaoke"};
    hc_yuv f;
    CHECK(hc_yuv_alloc(&f, W, H) == 0);
    for (size_t i = 0; i < sizeof anims / sizeof anims[0]; i++) {
        ink early, late;
        bool karaoke = strcmp(anims[i], "karaoke") == 0;
        CHECK(draw_text("Hello there my good friends", HC_TEXT_BOLD_POP, anims[i],
                        karaoke ? 0.3 : 0.04, &f, &early));
        CHECK(draw_text("Hello there my good friends", HC_TEXT_BOLD_POP, anims[i], 3.0, &f, &late));
        if (karaoke) {
            /* the sweep turns the sung words yellow (luma < 200): white ink goes */
            CHECKF(early.n > 2 * late.n && early.n > 3000, "%s: %ld vs %ld", anims[i], early.n,
                   late.n);
        } else {
            CHECKF(late.n > 3000, "%s: %ld ink px late", anims[i], late.n);
            CHECKF(early.n < late.n * 3 / 4, "%s: %ld ink px early, %ld late", anims[i], early.n,
                   late.n);
        }
    }
    hc_yuv_fini(&f);
}

HC_TEST(captions_every_animation_draws_inside_the_frame) {
    hc_yuv f;
    CHECK(hc_yuv_alloc(&f, W, H) == 0);
    int n = 0;
    for (int i = 0; hc_text_animation_names[i]; i++, n++) {
        const char *a = hc_text_animation_names[i];
        static const double times[] = {0.05, 0.2, 1.0, 2.0, 3.9};
        long most = 0;
        for (size_t t = 0; t < sizeof times / sizeof times[0]; t++) {
            ink k;
            CHECKF(draw_text("안녕하세요 Hello 😀", HC_TEXT_FADE_IN, a, times[t], &f, &k), "%s", a);
            if (k.n > most) most = k.n;
            if (k.n)
                CHECKF(k.y0 > H / 2 && k.y1 < H, "%s at %.2f: rows %d..%d", a, times[t], k.y0,
                       k.y1);
        }
        CHECKF(most > 2000, "%s: %ld ink px at most", a, most);
    }
    CHECK(n == 14);
    /* unknown names fall back to the style's animation */
    ink k;
    CHECK(draw_text("Hello", HC_TEXT_SLIDE_IN, "no_such_animation", 2.0, &f, &k));
    CHECK(k.n > 1000);
    hc_yuv_fini(&f);
}

HC_TEST(captions_styles_differ_minimal_is_lighter) {
    hc_yuv f;
    ink bold, minimal;
    CHECK(hc_yuv_alloc(&f, W, H) == 0);
    CHECK(draw_text("Hello world", HC_TEXT_BOLD_POP, NULL, 2.0, &f, &bold));
    CHECK(draw_text("Hello world", HC_TEXT_MINIMAL, NULL, 2.0, &f, &minimal));
    CHECK(minimal.n < bold.n);           /* regular weight, smaller */
    CHECK(minimal.dark < bold.dark / 2); /* thin outline, no shadow */
    for (int s = 0; s < HC_TEXT_COUNT; s++) {
        ink k;
        CHECK(draw_text("Hello world", s, NULL, 2.0, &f, &k));
        CHECK(k.n > 1000);
    }
    hc_yuv_fini(&f);
}

typedef struct draw_job {
    hc_captions *c;
    const char (*md5)[33]; /* expected per frame */
    int bad;
} draw_job;

static void *draw_thread(void *arg) {
    draw_job *j = arg;
    hc_yuv f;
    if (hc_yuv_alloc(&f, W, H) != 0) {
        j->bad = -1;
        return NULL;
    }
    for (int i = 0; i < 50; i++) {
        grey(&f);
        if (hc_captions_draw(j->c, i * 0.1, &f) != 0) j->bad++;
        char md5[33];
        hc_test_md5(&f, md5);
        if (strcmp(md5, j->md5[i]) != 0) j->bad++;
    }
    hc_yuv_fini(&f);
    return NULL;
}

HC_TEST(captions_concurrent_draws_match_serial_ones) {
    hc_captions *c = make("{\"text\":\"안녕하세요 여러분\",\"timing\":0,\"duration\":2.5},"
                          "{\"text\":\"こんにちは 😀\",\"timing\":2.5,\"duration\":2.5}",
                          5, HC_TEXT_BOLD_POP, "wave");
    CHECK(c);
    char(*md5)[33] = calloc(50, sizeof *md5);
    hc_yuv f;
    CHECK(md5 && hc_yuv_alloc(&f, W, H) == 0);
    for (int i = 0; i < 50; i++) {
        grey(&f);
        CHECK(hc_captions_draw(c, i * 0.1, &f) == 0);
        hc_test_md5(&f, md5[i]);
    }
    draw_job jobs[2] = {{c, (const char(*)[33])md5, 0}, {c, (const char(*)[33])md5, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, draw_thread, &jobs[i]) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK(jobs[0].bad == 0 && jobs[1].bad == 0);
    hc_yuv_fini(&f);
    free(md5);
    hc_captions_free(c);
}

HC_TEST(captions_animation_names_are_listed) {
    static const char *const want[] = {"fade",         "typewriter", "word_by_word", "bounce_in",
                                       "scale_pop",    "slide_up",   "slide_down",   "slide_left",
                                       "slide_right",  "glitch",     "wave",         "karaoke",
                                       "split_reveal", "blur_in"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        bool found = false;
        for (int j = 0; hc_text_animation_names[j]; j++)
            found |= strcmp(hc_text_animation_names[j], want[i]) == 0;
        CHECKF(found, "%s missing", want[i]);
    }
}
