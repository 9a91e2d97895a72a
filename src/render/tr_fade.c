/* Fades: fade (crossfade), fadeblack and fadewhite (through a colour),
 * fadegrays (colour drains out of a, then flows into b), cut. */
#include "render/render_int.h"

static void fade(const hc_tr_plane *t) {
    int w = (int)(t->p * 256 + 0.5);
    for (int y = 0; y < t->h; y++)
        hc_blend_row(tr_dst(t, y), tr_a(t, y), tr_b(t, y), t->w, w);
}

static void through(const hc_tr_plane *t, uint8_t c) {
    for (int y = 0; y < t->h; y++) {
        if (t->p < 0.5)
            hc_blend_row_const(tr_dst(t, y), tr_a(t, y), c, t->w, (int)(t->p * 2 * 256 + 0.5));
        else
            hc_blend_row_const(tr_dst(t, y), tr_b(t, y), c, t->w,
                               (int)((1 - t->p) * 2 * 256 + 0.5));
    }
}

static void fadeblack(const hc_tr_plane *t) {
    through(t, t->black);
}

static void fadewhite(const hc_tr_plane *t) {
    through(t, t->white);
}

static void fadegrays(const hc_tr_plane *t) {
    if (t->plane == 0) {
        fade(t);
        return;
    }
    through(t, 128);
}

static void cut(const hc_tr_plane *t) {
    for (int y = 0; y < t->h; y++)
        hc_blend_row(tr_dst(t, y), tr_a(t, y), tr_b(t, y), t->w, t->p < 0.5 ? 0 : 256);
}

const hc_transition hc_tr_fade = {"fade", "crossfade", HC_EASE_SMOOTH, fade};
const hc_transition hc_tr_fadeblack = {"fadeblack", "fade through black", HC_EASE_LINEAR,
                                       fadeblack};
const hc_transition hc_tr_fadewhite = {"fadewhite", "fade through white", HC_EASE_LINEAR,
                                       fadewhite};
const hc_transition hc_tr_fadegrays = {"fadegrays", "fade through greys", HC_EASE_SMOOTH,
                                       fadegrays};
const hc_transition hc_tr_cut = {"cut", "hard cut", HC_EASE_LINEAR, cut};
