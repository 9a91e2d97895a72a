/* Smooth wipes (xfade's smoothleft/right/up/down): like the wipes, but the
 * edge is half the frame wide with an S-shaped (smoothstep) profile, so b
 * washes in as a travelling gradient. smoothleft: the gradient travels right
 * to left (b enters on the right). Geometry is in plane units, so the chroma
 * gradient lies exactly under the luma one. */
#include "render/render_int.h"

#include <stdlib.h>

/* Weight of b at distance pos from the entry side, edge centre at edge. */
static uint16_t smooth_weight(double edge, double pos, double soft) {
    return (uint16_t)(hc_smoothstep((edge - pos) / soft + 0.5) * 256 + 0.5);
}

static void smooth_h(const hc_tr_plane *t, bool leftwards) {
    uint16_t *alpha = malloc(sizeof *alpha * (size_t)t->w);
    if (!alpha) return;
    double soft = t->w * 0.5, edge = -soft / 2 + t->p * (t->w + soft);
    for (int x = 0; x < t->w; x++)
        alpha[x] = smooth_weight(edge, leftwards ? t->w - (x + 0.5) : x + 0.5, soft);
    for (int y = 0; y < t->h; y++)
        hc_blend_row_mask(tr_dst(t, y), tr_a(t, y), tr_b(t, y), alpha, t->w);
    free(alpha);
}

static void smooth_v(const hc_tr_plane *t, bool upwards) {
    double soft = t->h * 0.5, edge = -soft / 2 + t->p * (t->h + soft);
    for (int y = 0; y < t->h; y++)
        hc_blend_row(tr_dst(t, y), tr_a(t, y), tr_b(t, y), t->w,
                     smooth_weight(edge, upwards ? t->h - (y + 0.5) : y + 0.5, soft));
}

static void smoothleft(const hc_tr_plane *t) {
    smooth_h(t, true);
}
static void smoothright(const hc_tr_plane *t) {
    smooth_h(t, false);
}
static void smoothup(const hc_tr_plane *t) {
    smooth_v(t, true);
}
static void smoothdown(const hc_tr_plane *t) {
    smooth_v(t, false);
}

const hc_transition hc_tr_smoothleft = {"smoothleft", "wide gradient sweeps right to left",
                                        HC_EASE_SMOOTH, smoothleft};
const hc_transition hc_tr_smoothright = {"smoothright", "wide gradient sweeps left to right",
                                         HC_EASE_SMOOTH, smoothright};
const hc_transition hc_tr_smoothup = {"smoothup", "wide gradient sweeps bottom to top",
                                      HC_EASE_SMOOTH, smoothup};
const hc_transition hc_tr_smoothdown = {"smoothdown", "wide gradient sweeps top to bottom",
                                        HC_EASE_SMOOTH, smoothdown};
