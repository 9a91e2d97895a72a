/* Slides: b pushes a out of the frame (slideleft: both move left). The
 * offset is sub-pixel: each output pixel interpolates the concatenated
 * strip a|b at a fractional position, so slow slides glide. bounce drops b
 * in from the top over a with a bouncing landing. */
#include "render/render_int.h"

#include <math.h>
#include <string.h>

/* Pixel i of the strip a|b (row ra, rb, each n wide). */
static inline int strip(const uint8_t *ra, const uint8_t *rb, int n, int i) {
    return i < n ? ra[i] : rb[i - n < n ? i - n : n - 1];
}

static void slide_h(const hc_tr_plane *t, bool leftwards) {
    double off = t->p * t->w; /* how far the strip has moved */
    for (int y = 0; y < t->h; y++) {
        const uint8_t *ra = tr_a(t, y), *rb = tr_b(t, y);
        uint8_t *d = tr_dst(t, y);
        if (leftwards) {
            /* strip a|b viewed from position off */
            int i0 = (int)floor(off), w = (int)((off - i0) * 256 + 0.5);
            for (int x = 0; x < t->w; x++) {
                int p0 = strip(ra, rb, t->w, x + i0), p1 = strip(ra, rb, t->w, x + i0 + 1);
                d[x] = (uint8_t)((p0 * (256 - w) + p1 * w + 128) >> 8);
            }
        } else {
            /* strip b|a viewed from position w - off */
            double pos = t->w - off;
            int i0 = (int)floor(pos), w = (int)((pos - i0) * 256 + 0.5);
            for (int x = 0; x < t->w; x++) {
                int p0 = strip(rb, ra, t->w, x + i0), p1 = strip(rb, ra, t->w, x + i0 + 1);
                d[x] = (uint8_t)((p0 * (256 - w) + p1 * w + 128) >> 8);
            }
        }
    }
}

/* Row r of the vertical strip top|bottom (each h rows). */
static const uint8_t *vstrip(const hc_tr_plane *t, const uint8_t *top_base, int top_stride,
                             const uint8_t *bot_base, int bot_stride, int r) {
    if (r < 0) r = 0;
    if (r >= 2 * t->h) r = 2 * t->h - 1;
    return r < t->h ? top_base + (size_t)r * top_stride
                    : bot_base + (size_t)(r - t->h) * bot_stride;
}

static void slide_v(const hc_tr_plane *t, bool upwards) {
    double off = t->p * t->h;
    for (int y = 0; y < t->h; y++) {
        double pos = upwards ? y + off : y + t->h - off;
        int r0 = (int)floor(pos), w = (int)((pos - r0) * 256 + 0.5);
        const uint8_t *s0, *s1;
        if (upwards) {
            s0 = vstrip(t, t->a, t->a_stride, t->b, t->b_stride, r0);
            s1 = vstrip(t, t->a, t->a_stride, t->b, t->b_stride, r0 + 1);
        } else {
            s0 = vstrip(t, t->b, t->b_stride, t->a, t->a_stride, r0);
            s1 = vstrip(t, t->b, t->b_stride, t->a, t->a_stride, r0 + 1);
        }
        hc_blend_row(tr_dst(t, y), s0, s1, t->w, w);
    }
}

static void slideleft(const hc_tr_plane *t) {
    slide_h(t, true);
}
static void slideright(const hc_tr_plane *t) {
    slide_h(t, false);
}
static void slideup(const hc_tr_plane *t) {
    slide_v(t, true);
}
static void slidedown(const hc_tr_plane *t) {
    slide_v(t, false);
}

/* b falls from above and covers a; its bottom edge is anti-aliased. */
static void bounce(const hc_tr_plane *t) {
    double bottom = t->p * t->h; /* b's bottom edge, in rows from the top */
    for (int y = 0; y < t->h; y++) {
        double src = y - bottom + t->h; /* row of b shown here */
        int r0 = (int)floor(src);
        uint8_t *d = tr_dst(t, y);
        if (src < -1 || r0 >= t->h) {
            memcpy(d, tr_a(t, y), (size_t)t->w);
            continue;
        }
        int w = (int)((src - r0) * 256 + 0.5);
        const uint8_t *b0 = tr_b(t, r0 < 0 ? 0 : r0),
                      *b1 = tr_b(t, r0 + 1 >= t->h ? t->h - 1 : r0 + 1);
        hc_blend_row(d, b0, b1, t->w, w);
        /* Coverage of this row by b: fractional at the falling edge. */
        double cover = bottom - y;
        if (cover < 1) hc_blend_row(d, tr_a(t, y), d, t->w, hc_edge_weight(cover - 0.5, 1.0));
    }
}

const hc_transition hc_tr_slideleft = {"slideleft", "b pushes a out to the left", HC_EASE_SMOOTH,
                                       slideleft};
const hc_transition hc_tr_slideright = {"slideright", "b pushes a out to the right", HC_EASE_SMOOTH,
                                        slideright};
const hc_transition hc_tr_slideup = {"slideup", "b pushes a out upwards", HC_EASE_SMOOTH, slideup};
const hc_transition hc_tr_slidedown = {"slidedown", "b pushes a out downwards", HC_EASE_SMOOTH,
                                       slidedown};
const hc_transition hc_tr_bounce = {"bounce", "b drops in from the top and bounces", HC_EASE_BOUNCE,
                                    bounce};
