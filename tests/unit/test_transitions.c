/* Unit tests of the transition catalogue (src/render/tr_*.c): every name of
 * DESIGN.md §5 resolves, the aliases point at real effects, shape edges are
 * soft (no stair-steps), chroma geometry lies under luma geometry, and every
 * effect leaves a and reaches b without a jump. */
#include "hc_test.h"
#include "render/render_int.h"
#include "render_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Every transition name and alias DESIGN.md §5 lists. */
static const char *const design_names[] = {
    "cut", "fade", "fadeblack", "fadewhite", "fadegrays", "dissolve", "wipeleft", "wiperight",
    "wipeup", "wipedown", "slideleft", "slideright", "slideup", "slidedown", "smoothleft",
    "smoothright", "smoothup", "smoothdown", "circleopen", "circleclose", "radial", "pixelize",
    "diagtl", "diagtr", "diagbl", "diagbr", "distance", "squeezeh", "squeezev", "zoom", "whip",
    "flash", "glitch", "swirl", "bounce",
    /* aliases of the original engine */
    "crossfade", "wipe", "slide", "slam", "vhs", "blur", "gl_crosswarp", "gl_dreamy", "gl_cube",
    "gl_doorway", "gl_pixelize", "gl_swirl", "gl_directionalwarp", "gl_directionalwipe",
    "gl_windowslice", "gl_burn", "gl_overexposure", NULL};

HC_TEST(transition_every_design_name_and_alias_resolves) {
    for (int i = 0; design_names[i]; i++) {
        CHECKF(hc_transition_find(design_names[i]), "%s does not resolve", design_names[i]);
    }
    CHECK(hc_transition_find("CrossFade") == hc_transition_find("fade"));
    CHECK(hc_transition_find("slide") == hc_transition_find("slideright"));
    CHECK(hc_transition_find("wipe") == hc_transition_find("wipeleft"));
    /* flash is an effect of its own, not fadewhite */
    CHECK(strcmp(hc_transition_find("flash")->name, "flash") == 0);
    CHECK(hc_transition_find("flash") != hc_transition_find("fadewhite"));
    CHECK(hc_transition_find("warp9") == NULL && hc_transition_find(NULL) == NULL);
    /* aliases name real effects and never shadow one */
    int n_alias = 0;
    for (int i = 0; hc_transition_aliases[i].alias; i++, n_alias++) {
        const hc_transition *t = hc_transition_find(hc_transition_aliases[i].alias);
        CHECKF(t && strcmp(t->name, hc_transition_aliases[i].name) == 0, "alias %s",
               hc_transition_aliases[i].alias);
        for (int j = 0; hc_transitions[j]; j++)
            CHECKF(strcmp(hc_transitions[j]->name, hc_transition_aliases[i].alias) != 0,
                   "alias %s shadows a real effect", hc_transition_aliases[i].alias);
    }
    CHECK(n_alias >= 15);
    /* at least 35 real, distinct effects, each with a description */
    int n = 0;
    for (; hc_transitions[n]; n++) {
        CHECK(hc_transitions[n]->desc && hc_transitions[n]->desc[0]);
        for (int j = 0; j < n; j++)
            CHECKF(strcmp(hc_transitions[j]->name, hc_transitions[n]->name) != 0, "%s twice",
                   hc_transitions[n]->name);
    }
    CHECKF(n >= 35, "only %d transitions", n);
}

HC_TEST(transition_validation_lists_real_names_and_aliases) {
    hc_request *req = hc_test_request(
        "{\"images\":[\"a.jpg\",\"b.jpg\"],\"settings\":{\"ai_effects\":{\"transitions\":"
        "[\"radial\",\"gl_cube\",\"vhs\",\"warp9\"]}}}");
    CHECK(req);
    hc_err err = {0};
    CHECK(hc_render_validate(req, &err) == HC_EINVAL);
    CHECK(strstr(err.msg, "transitions[3]") && strstr(err.msg, "warp9"));
    hc_request_free(req);
}

/* a all black, b all white (flat chroma u_a / u_b). */
static void black_white(hc_yuv *a, hc_yuv *b, int w, int h, uint8_t ua, uint8_t ub) {
    hc_yuv_alloc(a, w, h);
    hc_yuv_alloc(b, w, h);
    hc_yuv_fill(a, 16, ua, 128);
    hc_yuv_fill(b, 235, ub, 128);
}

/* The largest step between neighbouring luma pixels and the number of
 * partly blended pixels. */
static void edge_stats(const hc_yuv *img, int *max_step, int *mid) {
    *max_step = 0, *mid = 0;
    for (int y = 0; y < img->h; y++) {
        const uint8_t *r = img->plane[0] + (size_t)y * img->stride[0];
        for (int x = 0; x < img->w; x++) {
            if (r[x] > 30 && r[x] < 220) (*mid)++;
            if (x > 0 && abs(r[x] - r[x - 1]) > *max_step) *max_step = abs(r[x] - r[x - 1]);
            if (y > 0 && abs(r[x] - r[x - img->stride[0]]) > *max_step)
                *max_step = abs(r[x] - r[x - img->stride[0]]);
        }
    }
}

HC_TEST(transition_shape_edges_are_soft) {
    /* Black to white: an anti-aliased edge never jumps from black to white
     * between neighbours, whatever its angle, and has blended pixels. */
    static const char *const shapes[] = {
        "radial",     "diagtl",   "diagtr",   "diagbl",    "diagbr",   "circleopen", "circleclose",
        "smoothleft", "smoothup", "horzopen", "vertclose", "wipeleft", "wipedown",   NULL};
    hc_yuv a, b, out;
    black_white(&a, &b, 320, 200, 128, 128);
    hc_yuv_alloc(&out, 320, 200);
    for (int i = 0; shapes[i]; i++) {
        for (int q = 1; q <= 9; q += 2) {
            hc_transition_apply(hc_transition_find(shapes[i]), q / 10.0, 3, &a, &b, &out);
            int max_step, mid;
            edge_stats(&out, &max_step, &mid);
            /* a hard edge steps 219; 2-px soft edges ~110 (a little more at
             * radial's centre, where the wedge's tip is) */
            CHECKF(max_step <= 130, "%s at %d%%: a step of %d between neighbours", shapes[i],
                   q * 10, max_step);
            if (q >= 3 && q <= 7) /* the edge is well inside the frame */
                CHECKF(mid >= 40, "%s at %d%%: only %d edge pixels", shapes[i], q * 10, mid);
        }
    }
    /* along a circle around the centre, radial's two edges (12 o'clock and
     * the moving one) each have blended pixels */
    hc_transition_apply(hc_transition_find("radial"), 0.4, 3, &a, &b, &out);
    int mid = 0, prev = -1, jumps = 0;
    for (int k = 0; k < 2000; k++) {
        double ang = k * 2 * M_PI / 2000;
        int x = (int)(160 + 70 * sin(ang)), y = (int)(100 - 70 * cos(ang));
        int v = out.plane[0][(size_t)y * out.stride[0] + x];
        if (v > 30 && v < 220) mid++;
        if (prev >= 0 && abs(v - prev) > 130) jumps++;
        prev = v;
    }
    CHECKF(mid >= 2 * 3 * 2000 / 440 && jumps == 0, "radial rim: %d blended, %d jumps", mid, jumps);
    hc_yuv_fini(&a);
    hc_yuv_fini(&b);
    hc_yuv_fini(&out);
}

/* Where the fraction of b crosses one half along a line, in luma pixels
 * (interpolated between pixel centres): f[i] for i < n, each pixel `scale`
 * luma pixels wide. Returns the number of crossings (at most max). */
static int crossings(const double *f, int n, double scale, double *at, int max) {
    int k = 0;
    for (int i = 1; i < n && k < max; i++)
        if ((f[i - 1] < 0.5) != (f[i] < 0.5))
            at[k++] = (i - 0.5 + (0.5 - f[i - 1]) / (f[i] - f[i - 1])) * scale;
    return k;
}

HC_TEST(transition_chroma_geometry_matches_luma) {
    /* With flat a and b, every edge crossed by a row (or column) of chroma
     * lies where the edge crosses the two luma rows (columns) over it:
     * chroma position x 2 = luma position, within one chroma pixel. (The
     * slices are left out: their slits start thinner than a chroma pixel.) */
    static const char *const geo[] = {
        "wipeleft",   "wiperight",   "wipeup",     "wipedown",   "smoothleft", "smoothright",
        "smoothup",   "smoothdown",  "diagtl",     "diagtr",     "diagbl",     "diagbr",
        "horzopen",   "horzclose",   "vertopen",   "vertclose",  "slideleft",  "slideright",
        "slideup",    "slidedown",   "coverleft",  "coverright", "coverup",    "coverdown",
        "revealleft", "revealright", "revealup",   "revealdown", "circleopen", "circleclose",
        "radial",     "bounce",      "circlecrop", "rectcrop",   NULL};
    enum { W = 256, H = 160, UA = 60, UB = 200 };
    hc_yuv a, b, out;
    black_white(&a, &b, W, H, UA, UB);
    hc_yuv_alloc(&out, W, H);
    double fl[W], fc[W / 2], xl[32], xc[32];
    const uint8_t *Y = out.plane[0], *U = out.plane[1];
    const int ys = out.stride[0], us = out.stride[1];
    int checked = 0;
    for (int i = 0; geo[i]; i++) {
        /* circlecrop and rectcrop show a or b over black (U = 128): use the
         * rising half, where b grows out of black */
        int ua = strstr(geo[i], "crop") ? 128 : UA;
        for (int q = 1; q <= 3; q++) {
            double p = strstr(geo[i], "crop") ? 0.5 + q * 0.12 : q * 0.25;
            hc_transition_apply(hc_transition_find(geo[i]), p, 5, &a, &b, &out);
            for (int line = 1; line <= 3; line++) {
                /* rows at H/4, H/2, 3H/4 (even luma rows, so the chroma row is under both) */
                int yc = line * H / 8;
                for (int x = 0; x < W; x++)
                    fl[x] = ((Y[2 * yc * ys + x] + Y[(2 * yc + 1) * ys + x]) / 2.0 - 16) / 219;
                for (int x = 0; x < W / 2; x++)
                    fc[x] = (U[yc * us + x] - ua) / (double)(UB - ua);
                int nl = crossings(fl, W, 1, xl, 32), nc = crossings(fc, W / 2, 2, xc, 32);
                CHECKF(nl == nc, "%s at %.2f, row %d: %d luma edges, %d chroma", geo[i], p, 2 * yc,
                       nl, nc);
                for (int k = 0; k < nl; k++, checked++)
                    CHECKF(fabs(xl[k] - xc[k]) <= 2,
                           "%s at %.2f, row %d: edge at %.2f, chroma %.2f", geo[i], p, 2 * yc,
                           xl[k], xc[k]);
                /* columns at W/4, W/2, 3W/4 */
                int xcol = line * W / 8;
                for (int y = 0; y < H; y++)
                    fl[y] = ((Y[y * ys + 2 * xcol] + Y[y * ys + 2 * xcol + 1]) / 2.0 - 16) / 219;
                for (int y = 0; y < H / 2; y++)
                    fc[y] = (U[y * us + xcol] - ua) / (double)(UB - ua);
                nl = crossings(fl, H, 1, xl, 32), nc = crossings(fc, H / 2, 2, xc, 32);
                CHECKF(nl == nc, "%s at %.2f, column %d: %d luma edges, %d chroma", geo[i], p,
                       2 * xcol, nl, nc);
                for (int k = 0; k < nl; k++, checked++)
                    CHECKF(fabs(xl[k] - xc[k]) <= 2,
                           "%s at %.2f, column %d: edge at %.2f, chroma %.2f", geo[i], p, 2 * xcol,
                           xl[k], xc[k]);
            }
        }
    }
    CHECKF(checked > 200, "only %d edges checked", checked);
    hc_yuv_fini(&a);
    hc_yuv_fini(&b);
    hc_yuv_fini(&out);
}

/* Mean absolute luma difference. */
static double mean_diff(const hc_yuv *x, const hc_yuv *y) {
    double s = 0;
    for (int r = 0; r < x->h; r++)
        for (int c = 0; c < x->w; c++)
            s += abs(x->plane[0][(size_t)r * x->stride[0] + c] -
                     y->plane[0][(size_t)r * y->stride[0] + c]);
    return s / ((double)x->w * x->h);
}

HC_TEST(transition_ends_are_continuous) {
    /* Just after the start each effect is (nearly) a, just before the end
     * (nearly) b: no pop at either end of a transition. */
    hc_yuv a, b, out;
    hc_test_pattern(&a, 160, 96, 0);
    hc_test_pattern(&b, 160, 96, 3);
    hc_yuv_alloc(&out, 160, 96);
    for (int i = 0; hc_transitions[i]; i++) {
        const hc_transition *t = hc_transitions[i];
        hc_transition_apply(t, 0.002, 9, &a, &b, &out);
        double da = mean_diff(&out, &a);
        hc_transition_apply(t, 0.998, 9, &a, &b, &out);
        double db = mean_diff(&out, &b);
        CHECKF(da < 1.5 && db < 1.5, "%s: %.2f from a at the start, %.2f from b at the end",
               t->name, da, db);
    }
    hc_yuv_fini(&a);
    hc_yuv_fini(&b);
    hc_yuv_fini(&out);
}

HC_TEST(transition_radial_sweeps_clockwise_from_twelve) {
    hc_yuv a, b, out;
    black_white(&a, &b, 200, 200, 128, 128);
    hc_yuv_alloc(&out, 200, 200);
    hc_transition_apply(hc_transition_find("radial"), 0.3, 1, &a, &b, &out);
    /* b covers 12 to 2 o'clock (eased p 0.22: 73 degrees), not the rest */
    const uint8_t *y0 = out.plane[0];
    int s = out.stride[0];
    CHECK(y0[40 * s + 130] > 200); /* top right */
    CHECK(y0[40 * s + 70] < 30);   /* top left */
    CHECK(y0[160 * s + 100] < 30); /* bottom */
    CHECK(y0[100 * s + 20] < 30);  /* left */
    hc_yuv_fini(&a);
    hc_yuv_fini(&b);
    hc_yuv_fini(&out);
}

/* Transitions with SIMD paths (swirl's AVX2 gathers, the sampler) give the
 * same bytes as their portable paths. */
HC_TEST(transition_simd_matches_portable) {
    hc_yuv a, b, x, y;
    hc_test_pattern(&a, 320, 240, 1);
    hc_test_pattern(&b, 320, 240, 3);
    hc_yuv_alloc(&x, 320, 240);
    hc_yuv_alloc(&y, 320, 240);
    for (int i = 0; hc_transitions[i]; i++) {
        for (int q = 1; q <= 3; q++) {
            hc_sampler_portable_only = false;
            hc_transition_apply(hc_transitions[i], q * 0.25, 9, &a, &b, &x);
            hc_sampler_portable_only = true;
            hc_transition_apply(hc_transitions[i], q * 0.25, 9, &a, &b, &y);
            hc_sampler_portable_only = false;
            char hx[33], hy[33];
            hc_test_md5(&x, hx);
            hc_test_md5(&y, hy);
            CHECKF(strcmp(hx, hy) == 0, "%s at %d%%: SIMD and portable differ",
                   hc_transitions[i]->name, q * 25);
        }
    }
    hc_yuv_fini(&a);
    hc_yuv_fini(&b);
    hc_yuv_fini(&x);
    hc_yuv_fini(&y);
}
