/* Cover and reveal (xfade's cover* and reveal*): in cover*, b slides in over
 * a still a (coverleft: b moves left, entering on the right); in reveal*, a
 * slides out uncovering a still b (revealleft: a moves left). The offset is
 * in 1/256 pixel steps: the moving layer is interpolated at its fractional
 * position and the pixel under its edge is blended by its coverage, so slow
 * moves glide without stair-steps. */
#include "render/render_int.h"

#include <math.h>
#include <string.h>

/* One line of n pixels (or one row pointer per line for vertical moves):
 * the moving layer m shifted by off (in 1/256 px) towards higher indices,
 * over the still layer s: m occupies [off, n). */
static void line_after(uint8_t *d, const uint8_t *m, const uint8_t *s, int n, long off) {
    int i0 = (int)(off >> 8), f = (int)(off & 255);
    if (i0 >= n) {
        memcpy(d, s, (size_t)n);
        return;
    }
    memcpy(d, s, (size_t)i0);
    /* pixel i0: s on the left f/256 of it, m[0] on the rest */
    d[i0] = (uint8_t)((s[i0] * f + m[0] * (256 - f) + 128) >> 8);
    if (i0 + 1 < n) hc_blend_row(d + i0 + 1, m, m + 1, n - i0 - 1, 256 - f);
}

/* The moving layer m shifted by off towards lower indices: m occupies
 * [0, n - off). */
static void line_before(uint8_t *d, const uint8_t *m, const uint8_t *s, int n, long off) {
    int i0 = (int)(off >> 8), f = (int)(off & 255);
    if (i0 >= n) {
        memcpy(d, s, (size_t)n);
        return;
    }
    int last = n - i0 - 1; /* the pixel under m's edge */
    if (last > 0) hc_blend_row(d, m + i0, m + i0 + 1, last, f);
    d[last] = (uint8_t)((m[n - 1] * (256 - f) + s[last] * f + 128) >> 8);
    memcpy(d + last + 1, s + last + 1, (size_t)(n - last - 1));
}

/* Same for rows: the moving plane (rows mrow(y)) over the still one. */
typedef struct {
    const uint8_t *base;
    int stride;
} rows;

static const uint8_t *row_of(rows r, int y) {
    return r.base + (size_t)y * r.stride;
}

static void rows_after(const hc_tr_plane *t, rows m, rows s, long off) {
    int i0 = (int)(off >> 8), f = (int)(off & 255);
    for (int y = 0; y < t->h; y++) {
        uint8_t *d = tr_dst(t, y);
        if (y < i0)
            memcpy(d, row_of(s, y), (size_t)t->w);
        else if (y == i0)
            hc_blend_row(d, row_of(m, 0), row_of(s, y), t->w, f);
        else
            hc_blend_row(d, row_of(m, y - i0 - 1), row_of(m, y - i0), t->w, 256 - f);
    }
}

static void rows_before(const hc_tr_plane *t, rows m, rows s, long off) {
    int i0 = (int)(off >> 8), f = (int)(off & 255), last = t->h - i0 - 1;
    for (int y = 0; y < t->h; y++) {
        uint8_t *d = tr_dst(t, y);
        if (y > last)
            memcpy(d, row_of(s, y), (size_t)t->w);
        else if (y == last)
            hc_blend_row(d, row_of(m, t->h - 1), row_of(s, y), t->w, f);
        else
            hc_blend_row(d, row_of(m, y + i0), row_of(m, y + i0 + 1), t->w, f);
    }
}

typedef enum { LEFT, RIGHT, UP, DOWN } dir;

/* cover (b moves over a) or reveal (a moves off b), moving in direction d. */
static void move(const hc_tr_plane *t, bool cover, dir d) {
    rows ra = {t->a, t->a_stride}, rb = {t->b, t->b_stride};
    rows m = cover ? rb : ra, s = cover ? ra : rb;
    double frac = cover ? 1 - t->p : t->p; /* how far m is from its rest position */
    int n = d == LEFT || d == RIGHT ? t->w : t->h;
    long off = lround(frac * n * 256);
    /* cover moving left = the layer sits after its rest position; reveal
     * moving left = before it */
    bool after = cover ? (d == LEFT || d == UP) : (d == RIGHT || d == DOWN);
    if (d == UP || d == DOWN) {
        if (after)
            rows_after(t, m, s, off);
        else
            rows_before(t, m, s, off);
        return;
    }
    for (int y = 0; y < t->h; y++) {
        if (after)
            line_after(tr_dst(t, y), row_of(m, y), row_of(s, y), t->w, off);
        else
            line_before(tr_dst(t, y), row_of(m, y), row_of(s, y), t->w, off);
    }
}

static void coverleft(const hc_tr_plane *t) {
    move(t, true, LEFT);
}
static void coverright(const hc_tr_plane *t) {
    move(t, true, RIGHT);
}
static void coverup(const hc_tr_plane *t) {
    move(t, true, UP);
}
static void coverdown(const hc_tr_plane *t) {
    move(t, true, DOWN);
}
static void revealleft(const hc_tr_plane *t) {
    move(t, false, LEFT);
}
static void revealright(const hc_tr_plane *t) {
    move(t, false, RIGHT);
}
static void revealup(const hc_tr_plane *t) {
    move(t, false, UP);
}
static void revealdown(const hc_tr_plane *t) {
    move(t, false, DOWN);
}

const hc_transition hc_tr_coverleft = {"coverleft", "b slides in from the right over a",
                                       HC_EASE_SMOOTH, coverleft};
const hc_transition hc_tr_coverright = {"coverright", "b slides in from the left over a",
                                        HC_EASE_SMOOTH, coverright};
const hc_transition hc_tr_coverup = {"coverup", "b slides up over a", HC_EASE_SMOOTH, coverup};
const hc_transition hc_tr_coverdown = {"coverdown", "b slides down over a", HC_EASE_SMOOTH,
                                       coverdown};
const hc_transition hc_tr_revealleft = {"revealleft", "a slides out to the left, uncovering b",
                                        HC_EASE_SMOOTH, revealleft};
const hc_transition hc_tr_revealright = {"revealright", "a slides out to the right, uncovering b",
                                         HC_EASE_SMOOTH, revealright};
const hc_transition hc_tr_revealup = {"revealup", "a slides up, uncovering b", HC_EASE_SMOOTH,
                                      revealup};
const hc_transition hc_tr_revealdown = {"revealdown", "a slides down, uncovering b", HC_EASE_SMOOTH,
                                        revealdown};
