/* Centre-line wipes (xfade's horzopen, horzclose, vertopen, vertclose): b
 * opens from the horizontal (horz*) or vertical (vert*) centre line
 * outwards, or closes in from both edges towards it. Soft edges 2 % of the
 * frame wide; geometry in plane units so chroma matches luma. */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>

/* Weight of b at distance dist from the centre line (open) or from the
 * nearest edge (close); half = half the frame across the line. */
static int open_weight(double p, double dist, double half, double soft) {
    double e = -soft / 2 + p * (half + soft);
    return hc_edge_weight(e - dist, soft);
}

static void horz(const hc_tr_plane *t, bool open) {
    double half = t->h / 2.0, soft = (t->h * t->sub * 0.02 + 1) / t->sub;
    for (int y = 0; y < t->h; y++) {
        double dc = fabs(y + 0.5 - half);
        int w = open_weight(t->p, open ? dc : half - dc, half, soft);
        hc_blend_row(tr_dst(t, y), tr_a(t, y), tr_b(t, y), t->w, w);
    }
}

static void vert(const hc_tr_plane *t, bool open) {
    uint16_t *alpha = malloc(sizeof *alpha * (size_t)t->w);
    if (!alpha) return;
    double half = t->w / 2.0, soft = (t->w * t->sub * 0.02 + 1) / t->sub;
    for (int x = 0; x < t->w; x++) {
        double dc = fabs(x + 0.5 - half);
        alpha[x] = (uint16_t)open_weight(t->p, open ? dc : half - dc, half, soft);
    }
    for (int y = 0; y < t->h; y++)
        hc_blend_row_mask(tr_dst(t, y), tr_a(t, y), tr_b(t, y), alpha, t->w);
    free(alpha);
}

static void horzopen(const hc_tr_plane *t) {
    horz(t, true);
}
static void horzclose(const hc_tr_plane *t) {
    horz(t, false);
}
static void vertopen(const hc_tr_plane *t) {
    vert(t, true);
}
static void vertclose(const hc_tr_plane *t) {
    vert(t, false);
}

const hc_transition hc_tr_horzopen = {"horzopen", "b opens from the horizontal centre line",
                                      HC_EASE_SMOOTH, horzopen};
const hc_transition hc_tr_horzclose = {"horzclose", "b closes in from the top and bottom",
                                       HC_EASE_SMOOTH, horzclose};
const hc_transition hc_tr_vertopen = {"vertopen", "b opens from the vertical centre line",
                                      HC_EASE_SMOOTH, vertopen};
const hc_transition hc_tr_vertclose = {"vertclose", "b closes in from the left and right",
                                       HC_EASE_SMOOTH, vertclose};
