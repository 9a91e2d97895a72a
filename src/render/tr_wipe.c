/* Wipes: a straight soft edge sweeps across, revealing b behind it.
 * wipeleft moves the edge right to left (b enters on the right), like
 * ffmpeg's xfade. The edge is 2 % of the frame wide: no stair-steps. */
#include "render/render_int.h"

#include <stdlib.h>

static void wipe_h(const hc_tr_plane *t, bool leftwards) {
    uint16_t *alpha = malloc(sizeof *alpha * (size_t)t->w);
    if (!alpha) return;
    double soft = t->w * 0.02 + 1, edge = -soft / 2 + t->p * (t->w + soft);
    for (int x = 0; x < t->w; x++) {
        double pos = leftwards ? t->w - (x + 0.5) : x + 0.5; /* distance from the entry side */
        alpha[x] = (uint16_t)hc_edge_weight(edge - pos, soft);
    }
    for (int y = 0; y < t->h; y++)
        hc_blend_row_mask(tr_dst(t, y), tr_a(t, y), tr_b(t, y), alpha, t->w);
    free(alpha);
}

static void wipe_v(const hc_tr_plane *t, bool upwards) {
    double soft = t->h * 0.02 + 1, edge = -soft / 2 + t->p * (t->h + soft);
    for (int y = 0; y < t->h; y++) {
        double pos = upwards ? t->h - (y + 0.5) : y + 0.5;
        hc_blend_row(tr_dst(t, y), tr_a(t, y), tr_b(t, y), t->w, hc_edge_weight(edge - pos, soft));
    }
}

static void wipeleft(const hc_tr_plane *t) {
    wipe_h(t, true);
}
static void wiperight(const hc_tr_plane *t) {
    wipe_h(t, false);
}
static void wipeup(const hc_tr_plane *t) {
    wipe_v(t, true);
}
static void wipedown(const hc_tr_plane *t) {
    wipe_v(t, false);
}

const hc_transition hc_tr_wipeleft = {"wipeleft", "soft edge sweeps right to left", HC_EASE_SMOOTH,
                                      wipeleft};
const hc_transition hc_tr_wiperight = {"wiperight", "soft edge sweeps left to right",
                                       HC_EASE_SMOOTH, wiperight};
const hc_transition hc_tr_wipeup = {"wipeup", "soft edge sweeps bottom to top", HC_EASE_SMOOTH,
                                    wipeup};
const hc_transition hc_tr_wipedown = {"wipedown", "soft edge sweeps top to bottom", HC_EASE_SMOOTH,
                                      wipedown};
