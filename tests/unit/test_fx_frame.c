/* Unit tests of the frame-stage overlays (src/render/fx_frame.c and
 * fx_<name>.c): what each must do to a frame, that the beat overlays are
 * no-ops between beats, legal ranges, determinism, and the in-place warp
 * matching an out-of-place resample bit for bit. */
#include "hc_test.h"
#include "render/fx_frame_int.h"
#include "render_util.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const hc_fx *fx(const char *name) {
    const hc_fx *f = hc_fx_find(name);
    return f && f->stage == HC_FX_FRAME ? f : NULL;
}

static hc_fx_ctx ctx_at(int64_t frame, double since_beat_s) {
    hc_fx_ctx c = {
        .frame = frame,
        .time_s = frame / 30.0,
        .clip_time_s = frame / 30.0,
        .since_beat_s = since_beat_s,
        .strength = 1,
        .seed = 42,
        .out_w = 320,
        .out_h = 180,
    };
    return c;
}

static uint8_t px(const hc_yuv *img, int p, int x, int y) {
    return img->plane[p][(size_t)y * img->stride[p] + x];
}

static double mean_plane(const hc_yuv *img, int p) {
    int d = p ? 2 : 1;
    double s = 0;
    for (int y = 0; y < img->h / d; y++)
        for (int x = 0; x < img->w / d; x++)
            s += px(img, p, x, y);
    return s / ((double)(img->w / d) * (img->h / d));
}

/* Mean absolute difference over all three planes. */
static double mad(const hc_yuv *a, const hc_yuv *b) {
    double s = 0;
    long n = 0;
    for (int p = 0; p < 3; p++) {
        int d = p ? 2 : 1;
        for (int y = 0; y < a->h / d; y++)
            for (int x = 0; x < a->w / d; x++, n++)
                s += abs(px(a, p, x, y) - px(b, p, x, y));
    }
    return s / n;
}

static bool same(const hc_yuv *a, const hc_yuv *b) {
    return mad(a, b) == 0;
}

static bool legal(const hc_yuv *img) {
    for (int p = 0; p < 3; p++) {
        int d = p ? 2 : 1, hi = p ? 240 : 235;
        for (int y = 0; y < img->h / d; y++)
            for (int x = 0; x < img->w / d; x++)
                if (px(img, p, x, y) < 16 || px(img, p, x, y) > hi) return false;
    }
    return true;
}

/* out = pattern kind, then fx applied with c. */
static void apply_to_pattern(const hc_fx *f, const hc_fx_ctx *c, int kind, int w, int h,
                             hc_yuv *out) {
    hc_test_pattern(out, w, h, kind);
    f->apply(c, out);
}

HC_TEST(fx_frame_registry_names_and_stage) {
    static const char *names[] = {"vignette", "film_grain", "light_leak", "flash",
                                  "shake",    "glitch",     "pulse"};
    int n = 0;
    for (; hc_fx_frame[n]; n++) {
        CHECK(hc_fx_frame[n]->stage == HC_FX_FRAME);
        CHECK(hc_fx_frame[n]->apply && hc_fx_frame[n]->desc && hc_fx_frame[n]->desc[0]);
        for (int k = 0; k < n; k++)
            CHECK(strcmp(hc_fx_frame[k]->name, hc_fx_frame[n]->name) != 0);
    }
    CHECK(n == 7);
    for (int i = 0; i < 7; i++)
        CHECKF(fx(names[i]), "%s not found", names[i]);
    CHECK(fx("FLASH") == fx("flash"));
}

HC_TEST(fx_frame_vignette_keeps_centre_darkens_corners) {
    hc_yuv img;
    hc_yuv_alloc(&img, 320, 180);
    hc_yuv_fill(&img, 160, 90, 170);
    hc_fx_ctx c = ctx_at(0, -1);
    fx("vignette")->apply(&c, &img);
    for (int y = 88; y <= 91; y++)
        for (int x = 158; x <= 161; x++)
            CHECKF(abs(px(&img, 0, x, y) - 160) <= 1, "centre %d", px(&img, 0, x, y));
    CHECK(abs(px(&img, 1, 80, 45) - 90) <= 1 && abs(px(&img, 2, 80, 45) - 170) <= 1);
    int corners[4][2] = {{0, 0}, {319, 0}, {0, 179}, {319, 179}};
    for (int i = 0; i < 4; i++) {
        int y = px(&img, 0, corners[i][0], corners[i][1]);
        CHECKF(y < 160 - 25, "corner %d luma %d", i, y);
        int u = px(&img, 1, corners[i][0] / 2, corners[i][1] / 2);
        int v = px(&img, 2, corners[i][0] / 2, corners[i][1] / 2);
        CHECK(u > 90 && u < 128 && v < 170 && v > 128); /* pulled towards grey */
    }
    /* Darkening grows outwards along the diagonal and the mid-edges stay
     * brighter than the corners. */
    int prev = 256;
    for (int k = 0; k <= 8; k++) {
        int y = px(&img, 0, 160 + k * 159 / 8, 90 + k * 89 / 8);
        CHECK(y <= prev);
        prev = y;
    }
    CHECK(px(&img, 0, 319, 90) > px(&img, 0, 319, 179));
    CHECK(px(&img, 0, 160, 0) > px(&img, 0, 319, 0));
    /* Strength scales it; 0 is a no-op. */
    hc_yuv weak;
    hc_yuv_alloc(&weak, 320, 180);
    hc_yuv_fill(&weak, 160, 90, 170);
    c.strength = 0.5;
    fx("vignette")->apply(&c, &weak);
    CHECK(px(&weak, 0, 0, 0) > px(&img, 0, 0, 0) && px(&weak, 0, 0, 0) < 160);
    hc_yuv_fill(&weak, 160, 90, 170);
    c.strength = 0;
    fx("vignette")->apply(&c, &weak);
    CHECK(px(&weak, 0, 0, 0) == 160);
    hc_yuv_fini(&img);
    hc_yuv_fini(&weak);
}

/* Many sizes at once from several threads: the per-size cache is shared
 * (and past its capacity masks are built per call and freed). */
typedef struct vig_job {
    int w, h;
    bool ok;
} vig_job;

static void *vig_thread(void *arg) {
    vig_job *j = arg;
    j->ok = true;
    for (int rep = 0; rep < 3; rep++) {
        hc_yuv a, b;
        hc_yuv_alloc(&a, j->w, j->h);
        hc_yuv_alloc(&b, j->w, j->h);
        hc_yuv_fill(&a, 120, 100, 150);
        hc_yuv_fill(&b, 120, 100, 150);
        hc_fx_ctx c = ctx_at(rep, -1);
        fx("vignette")->apply(&c, &a);
        fx("vignette")->apply(&c, &b);
        if (!same(&a, &b) || px(&a, 0, 0, 0) >= 120) j->ok = false;
        hc_yuv_fini(&a);
        hc_yuv_fini(&b);
    }
    return NULL;
}

HC_TEST(fx_frame_vignette_cache_threads_and_sizes) {
    enum { N = 24 };
    pthread_t th[N];
    vig_job jobs[N];
    for (int i = 0; i < N; i++) {
        jobs[i] = (vig_job){.w = 64 + 2 * (i % 12), .h = 48 + 2 * i};
        CHECK(pthread_create(&th[i], NULL, vig_thread, &jobs[i]) == 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++)
        CHECKF(jobs[i].ok, "size %dx%d", jobs[i].w, jobs[i].h);
}

HC_TEST(fx_frame_film_grain_is_temporal_and_keeps_mean) {
    for (int kind = 0; kind < 4; kind++) {
        hc_yuv orig, a, b;
        hc_test_pattern(&orig, 320, 180, kind);
        hc_fx_ctx c0 = ctx_at(10, -1), c1 = ctx_at(11, -1);
        apply_to_pattern(fx("film_grain"), &c0, kind, 320, 180, &a);
        apply_to_pattern(fx("film_grain"), &c1, kind, 320, 180, &b);
        CHECK(!same(&a, &b));
        CHECK(!same(&a, &orig));
        CHECK(legal(&a) && legal(&b));
        CHECKF(fabs(mean_plane(&a, 0) - mean_plane(&orig, 0)) <= 1, "kind %d mean %.2f vs %.2f",
               kind, mean_plane(&a, 0), mean_plane(&orig, 0));
        /* Grain is luma only, and subtle. */
        for (int p = 1; p < 3; p++)
            CHECK(mean_plane(&a, p) == mean_plane(&orig, p));
        CHECKF(mad(&a, &orig) < 3, "mad %.2f", mad(&a, &orig));
        /* The same frame gives the same grain. */
        hc_yuv a2;
        apply_to_pattern(fx("film_grain"), &c0, kind, 320, 180, &a2);
        CHECK(same(&a, &a2));
        hc_yuv_fini(&orig);
        hc_yuv_fini(&a);
        hc_yuv_fini(&b);
        hc_yuv_fini(&a2);
    }
}

HC_TEST(fx_frame_film_grain_less_in_shadows_and_highlights) {
    double dev[3];
    static const uint8_t level[3] = {20, 126, 230};
    for (int i = 0; i < 3; i++) {
        hc_yuv img;
        hc_yuv_alloc(&img, 256, 144);
        hc_yuv_fill(&img, level[i], 128, 128);
        hc_fx_ctx c = ctx_at(3, -1);
        fx("film_grain")->apply(&c, &img);
        double s = 0;
        for (int y = 0; y < 144; y++)
            for (int x = 0; x < 256; x++)
                s += abs(px(&img, 0, x, y) - level[i]);
        dev[i] = s / (256 * 144);
        hc_yuv_fini(&img);
    }
    CHECKF(dev[1] > 1.5 * dev[0] && dev[1] > 1.5 * dev[2], "%.2f %.2f %.2f", dev[0], dev[1],
           dev[2]);
    CHECK(dev[1] > 1 && dev[1] < 5);
}

HC_TEST(fx_frame_flash_brightens_at_beat_only) {
    hc_yuv orig, img;
    hc_test_pattern(&orig, 160, 90, 3);
    static const double none[] = {-1, -0.01, 0.5, 0.51, 2.0};
    for (int i = 0; i < 5; i++) {
        hc_fx_ctx c = ctx_at(20, none[i]);
        apply_to_pattern(fx("flash"), &c, 3, 160, 90, &img);
        CHECKF(same(&img, &orig), "since_beat_s %g", none[i]);
        hc_yuv_fini(&img);
    }
    hc_fx_ctx c = ctx_at(20, 0);
    apply_to_pattern(fx("flash"), &c, 3, 160, 90, &img);
    CHECKF(mean_plane(&img, 0) > mean_plane(&orig, 0) + 30, "%.1f vs %.1f", mean_plane(&img, 0),
           mean_plane(&orig, 0));
    CHECK(legal(&img));
    /* Decays: weaker 0.07 s later, gone by 0.15 s. */
    hc_yuv later;
    c.since_beat_s = 0.07;
    apply_to_pattern(fx("flash"), &c, 3, 160, 90, &later);
    CHECK(mean_plane(&later, 0) > mean_plane(&orig, 0) + 2);
    CHECK(mean_plane(&later, 0) < mean_plane(&img, 0) - 10);
    hc_yuv_fini(&later);
    c.since_beat_s = 0.15;
    apply_to_pattern(fx("flash"), &c, 3, 160, 90, &later);
    CHECK(same(&later, &orig));
    hc_yuv_fini(&later);
    hc_yuv_fini(&img);
    hc_yuv_fini(&orig);
}

static void beat_overlay_only_on_beats(const char *name, double dur_s) {
    hc_yuv orig, img;
    hc_test_pattern(&orig, 160, 90, 2);
    static const double none[] = {-1, 0.6, 1.5};
    for (int i = 0; i < 3; i++) {
        hc_fx_ctx c = ctx_at(50, none[i]);
        apply_to_pattern(fx(name), &c, 2, 160, 90, &img);
        CHECKF(same(&img, &orig), "%s at since_beat_s %g", name, none[i]);
        hc_yuv_fini(&img);
    }
    hc_fx_ctx c = ctx_at(50, dur_s + 0.01);
    apply_to_pattern(fx(name), &c, 2, 160, 90, &img);
    CHECKF(same(&img, &orig), "%s after its %g s", name, dur_s);
    hc_yuv_fini(&img);
    static const double on[] = {0, 1 / 30.0, 2 / 30.0};
    for (int i = 0; i < 3; i++) {
        c = ctx_at(50, on[i]);
        apply_to_pattern(fx(name), &c, 2, 160, 90, &img);
        CHECKF(mad(&img, &orig) > 2, "%s at %g: mad %.2f", name, on[i], mad(&img, &orig));
        CHECK(legal(&img));
        hc_yuv_fini(&img);
    }
    hc_yuv_fini(&orig);
}

HC_TEST(fx_frame_shake_and_pulse_only_on_beats) {
    beat_overlay_only_on_beats("shake", 0.2);
    if (hc_test_failed()) return;
    beat_overlay_only_on_beats("pulse", 0.25);
}

HC_TEST(fx_frame_pulse_zooms_around_centre) {
    hc_yuv img;
    hc_yuv_alloc(&img, 320, 180);
    /* A bright square in the centre grows; a flat frame stays flat. */
    hc_yuv_fill(&img, 40, 128, 128);
    for (int y = 70; y < 110; y++)
        memset(img.plane[0] + (size_t)y * img.stride[0] + 140, 200, 40);
    hc_fx_ctx c = ctx_at(5, 0);
    fx("pulse")->apply(&c, &img);
    CHECK(px(&img, 0, 160, 90) == 200);
    CHECK(px(&img, 0, 139, 90) > 40); /* the edge moved outwards */
    CHECK(px(&img, 0, 160, 69) > 40);
    CHECK(px(&img, 0, 0, 0) == 40 && px(&img, 0, 319, 179) == 40);
    hc_yuv_fini(&img);
}

/* Weighted centre of (Y - 40) over the frame, and its total. */
static void centroid(const hc_yuv *img, double *cx, double *cy, double *mass) {
    double sx = 0, sy = 0, m = 0;
    for (int y = 0; y < img->h; y++)
        for (int x = 0; x < img->w; x++) {
            double v = px(img, 0, x, y) - 40;
            sx += v * x;
            sy += v * y;
            m += v;
        }
    *cx = sx / m;
    *cy = sy / m;
    *mass = m;
}

HC_TEST(fx_frame_shake_translates_by_subpixel_amounts) {
    /* A bright square on a dark frame: shaken, it moves without changing
     * (a translation), by a few pixels, sub-pixel steps in between. */
    double moved[6];
    for (int k = 0; k < 6; k++) {
        hc_yuv img;
        hc_yuv_alloc(&img, 320, 180);
        hc_yuv_fill(&img, 40, 128, 128);
        for (int y = 70; y < 110; y++)
            memset(img.plane[0] + (size_t)y * img.stride[0] + 140, 200, 40);
        double cx0, cy0, m0, cx, cy, m;
        centroid(&img, &cx0, &cy0, &m0);
        hc_fx_ctx c = ctx_at(5, k * 0.03);
        fx("shake")->apply(&c, &img);
        centroid(&img, &cx, &cy, &m);
        CHECKF(fabs(m - m0) < m0 * 0.002, "mass %.0f vs %.0f", m, m0);
        moved[k] = hypot(cx - cx0, cy - cy0);
        CHECK(moved[k] < 0.015 * 320 + 0.1);
        CHECK(px(&img, 0, 0, 0) == 40 && legal(&img));
        hc_yuv_fini(&img);
    }
    CHECKF(moved[0] > 3, "%.2f px at the beat", moved[0]);
    /* Dies out: small by the end of its 0.2 s. */
    CHECKF(moved[5] < 0.5, "%.2f px at 0.15 s", moved[5]);
    /* Not whole pixels only. */
    bool frac = false;
    for (int k = 0; k < 6; k++)
        frac |= fabs(moved[k] - floor(moved[k] + 0.5)) > 0.05;
    CHECK(frac);
}

HC_TEST(fx_frame_light_leak_changes_slowly) {
    hc_yuv orig;
    hc_test_pattern(&orig, 320, 180, 0);
    double small = 0, big = 0, lit = 0;
    for (int k = 0; k < 6; k++) {
        double t = 0.5 + 1.7 * k;
        hc_yuv a, b, far;
        hc_fx_ctx c = ctx_at(0, -1);
        c.time_s = t;
        apply_to_pattern(fx("light_leak"), &c, 0, 320, 180, &a);
        c.time_s = t + 1 / 30.0;
        apply_to_pattern(fx("light_leak"), &c, 0, 320, 180, &b);
        c.time_s = t + 3;
        apply_to_pattern(fx("light_leak"), &c, 0, 320, 180, &far);
        CHECK(legal(&a) && legal(&far));
        small += mad(&a, &b) / 6;
        big += mad(&a, &far) / 6;
        lit += mad(&a, &orig) / 6;
        /* The glow only ever brightens. */
        CHECK(mean_plane(&a, 0) > mean_plane(&orig, 0));
        hc_yuv_fini(&a);
        hc_yuv_fini(&b);
        hc_yuv_fini(&far);
    }
    CHECKF(lit > 4, "visible: %.2f", lit);
    CHECKF(small < 0.6, "t, t + 1/30: %.3f", small);
    CHECKF(big > 4 * small && big > 1, "t, t + 3: %.3f vs %.3f", big, small);
    hc_yuv_fini(&orig);
}

HC_TEST(fx_frame_light_leak_is_warm) {
    hc_yuv img;
    hc_yuv_alloc(&img, 320, 180);
    hc_yuv_fill(&img, 60, 128, 128);
    hc_fx_ctx c = ctx_at(0, -1);
    c.time_s = 2;
    fx("light_leak")->apply(&c, &img);
    /* Warm: where it is lit, V (red) rises and U (blue) falls. */
    double u = mean_plane(&img, 1), v = mean_plane(&img, 2);
    CHECKF(v > 130 && u < 126, "u %.1f v %.1f", u, v);
    hc_yuv_fini(&img);
}

/* Frames in a burst, over 10 s at 30 fps without beats. */
static int glitch_frames(uint64_t seed, bool *active) {
    hc_yuv orig;
    hc_test_pattern(&orig, 96, 64, 1);
    int n = 0;
    for (int f = 0; f < 300; f++) {
        hc_yuv img;
        hc_fx_ctx c = ctx_at(f, -1);
        c.seed = seed;
        apply_to_pattern(fx("glitch"), &c, 1, 96, 64, &img);
        active[f] = !same(&img, &orig);
        n += active[f];
        hc_yuv_fini(&img);
    }
    hc_yuv_fini(&orig);
    return n;
}

HC_TEST(fx_frame_glitch_is_occasional_and_deterministic) {
    bool a[300], b[300], d[300];
    int na = glitch_frames(42, a), nb = glitch_frames(42, b), nd = glitch_frames(7, d);
    CHECKF(na >= 4 && na <= 60, "%d glitched frames of 300", na);
    CHECK(nd >= 4 && nd <= 60);
    CHECK(na == nb && memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, d, sizeof a) != 0);
    /* Bursts are a few frames long, not single scattered frames. */
    int runs = 0;
    for (int f = 0; f < 300; f++)
        runs += a[f] && (f == 0 || !a[f - 1]);
    CHECKF(na >= runs * 3 / 2, "%d frames in %d bursts", na, runs);
    /* The same seed and frame: the same pixels. */
    int f = 0;
    while (!a[f])
        f++;
    hc_yuv x, y;
    hc_fx_ctx c = ctx_at(f, -1);
    apply_to_pattern(fx("glitch"), &c, 2, 160, 90, &x);
    apply_to_pattern(fx("glitch"), &c, 2, 160, 90, &y);
    CHECK(same(&x, &y));
    CHECK(legal(&x));
    hc_yuv_fini(&x);
    hc_yuv_fini(&y);
}

HC_TEST(fx_frame_glitch_fires_after_some_beats) {
    int fired = 0;
    hc_yuv orig;
    hc_test_pattern(&orig, 96, 64, 1);
    for (int beat = 0; beat < 40; beat++) {
        hc_yuv img;
        hc_fx_ctx c = ctx_at(0, 0.02);
        c.time_s = 100 + beat * 0.73;
        c.frame = (int64_t)(c.time_s * 30);
        apply_to_pattern(fx("glitch"), &c, 1, 96, 64, &img);
        fired += !same(&img, &orig);
        hc_yuv_fini(&img);
    }
    hc_yuv_fini(&orig);
    CHECKF(fired >= 8 && fired <= 36, "%d of 40 beats", fired);
}

/* Every overlay, at and around beats and across time, on extreme and
 * patterned frames: Y stays in 16..235 and U, V in 16..240. */
HC_TEST(fx_frame_every_overlay_keeps_legal_range) {
    static const uint8_t fills[][3] = {
        {16, 16, 16}, {235, 240, 240}, {16, 240, 16}, {235, 16, 240}, {126, 128, 128}};
    static const double since[] = {-1, 0, 0.03, 0.1, 0.2};
    static const double strength[] = {0.3, 1, 1.5};
    for (int i = 0; hc_fx_frame[i]; i++) {
        for (int fi = 0; fi < 9; fi++) {
            for (int k = 0; k < 5; k++) {
                hc_yuv img;
                if (fi < 5) {
                    hc_yuv_alloc(&img, 96, 54);
                    hc_yuv_fill(&img, fills[fi][0], fills[fi][1], fills[fi][2]);
                } else {
                    hc_test_pattern(&img, 96, 54, fi - 5);
                }
                hc_fx_ctx c = ctx_at(13 * k + fi, since[k]);
                c.strength = strength[(fi + k) % 3];
                c.time_s = 0.9 * k + 0.1 * fi;
                hc_fx_frame[i]->apply(&c, &img);
                CHECKF(legal(&img), "%s fill %d case %d", hc_fx_frame[i]->name, fi, k);
                hc_yuv_fini(&img);
            }
        }
    }
}

HC_TEST(fx_frame_strength_zero_is_a_no_op) {
    hc_yuv orig, img;
    hc_test_pattern(&orig, 96, 54, 3);
    for (int i = 0; hc_fx_frame[i]; i++) {
        for (int k = 0; k < 3; k++) {
            hc_fx_ctx c = ctx_at(k * 7, k * 0.02);
            c.strength = 0;
            apply_to_pattern(hc_fx_frame[i], &c, 3, 96, 54, &img);
            CHECKF(same(&img, &orig), "%s", hc_fx_frame[i]->name);
            hc_yuv_fini(&img);
        }
    }
    hc_yuv_fini(&orig);
}

HC_TEST(fx_frame_tiny_frames) {
    static const int sizes[][2] = {{2, 2}, {4, 2}, {2, 6}, {6, 4}, {18, 2}, {34, 34}};
    for (int s = 0; s < 6; s++)
        for (int i = 0; hc_fx_frame[i]; i++)
            for (int k = 0; k < 3; k++) {
                hc_yuv img;
                hc_yuv_alloc(&img, sizes[s][0], sizes[s][1]);
                hc_yuv_fill(&img, 100, 120, 140);
                hc_fx_ctx c = ctx_at(k, k * 0.01);
                c.time_s = 1 + k;
                hc_fx_frame[i]->apply(&c, &img);
                CHECKF(legal(&img), "%s %dx%d", hc_fx_frame[i]->name, sizes[s][0], sizes[s][1]);
                hc_yuv_fini(&img);
            }
}

/* The in-place warp gives exactly what the sampler gives out of place,
 * for zooms in and out and shifts either way. */
HC_TEST(fx_frame_warp_in_place_matches_out_of_place) {
    static const double cases[][3] = {
        {0, 0, 1},      {3.25, 5.5, 1}, {-7.6, -2.3, 1}, {0.5, -11.75, 1}, {4.8, 2.7, 1 / 1.03},
        {-3, -3, 1.04}, {0, 40.2, 1},   {0, -60.9, 1},
    };
    for (int k = 0; k < 8; k++) {
        for (int portable = 0; portable < 2; portable++) {
            hc_sampler_portable_only = portable;
            hc_yuv src, ref;
            hc_test_pattern(&src, 160, 90, 3);
            hc_yuv_alloc(&ref, 160, 90);
            double left = cases[k][0], top = cases[k][1], s = cases[k][2];
            hc_sampler smp;
            CHECK(hc_sampler_init(&smp, src.plane[0], src.stride[0], 160, 90, 160, 90, left, top, s,
                                  s) == 0);
            for (int y = 0; y < 90; y++)
                hc_sampler_row(&smp, y, ref.plane[0] + (size_t)y * ref.stride[0]);
            hc_sampler_fini(&smp);
            CHECK(hc_fx_warp_plane(src.plane[0], src.stride[0], 160, 90, left, top, s) == 0);
            for (int y = 0; y < 90; y++)
                CHECKF(memcmp(src.plane[0] + (size_t)y * src.stride[0],
                              ref.plane[0] + (size_t)y * ref.stride[0], 160) == 0,
                       "case %d portable %d row %d", k, portable, y);
            hc_yuv_fini(&src);
            hc_yuv_fini(&ref);
        }
    }
    hc_sampler_portable_only = false;
}

/* The AVX2 and baseline builds of the row loops give the same bytes. */
HC_TEST(fx_frame_cpu_paths_agree) {
    for (int i = 0; hc_fx_frame[i]; i++) {
        for (int k = 0; k < 4; k++) {
            hc_yuv a, b;
            hc_fx_ctx c = ctx_at(92 + k, k * 0.04);
            c.time_s = 0.7 * k;
            c.strength = 0.5 + 0.3 * k;
            hc_fx_baseline_only = true;
            apply_to_pattern(hc_fx_frame[i], &c, k, 202, 114, &a);
            hc_fx_baseline_only = false;
            apply_to_pattern(hc_fx_frame[i], &c, k, 202, 114, &b);
            CHECKF(same(&a, &b), "%s case %d", hc_fx_frame[i]->name, k);
            hc_yuv_fini(&a);
            hc_yuv_fini(&b);
        }
    }
}
