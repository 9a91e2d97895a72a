/* circleopen (b grows from the centre in a circle) and circleclose (a
 * shrinks into the centre), with a soft rim (hc_disc_row). */
#include "render/render_int.h"

#include <math.h>
#include <string.h>

static void circle(const hc_tr_plane *t, bool open) {
    double cx = t->w / 2.0, cy = t->h / 2.0, rmax = sqrt(cx * cx + cy * cy);
    double soft = 3.0 / t->sub + rmax * 0.01;
    double r = -soft / 2 + (open ? t->p : 1 - t->p) * (rmax + soft);
    /* inside the circle: b when opening, a when closing */
    const uint8_t *in_base = open ? t->b : t->a, *out_base = open ? t->a : t->b;
    int in_stride = open ? t->b_stride : t->a_stride, out_stride = open ? t->a_stride : t->b_stride;
    for (int y = 0; y < t->h; y++)
        hc_disc_row(tr_dst(t, y), in_base + (size_t)y * in_stride,
                    out_base + (size_t)y * out_stride, 0, t->w, y + 0.5 - cy, cx, r, soft);
}

static void circleopen(const hc_tr_plane *t) {
    circle(t, true);
}
static void circleclose(const hc_tr_plane *t) {
    circle(t, false);
}

const hc_transition hc_tr_circleopen = {"circleopen", "b grows from the centre in a circle",
                                        HC_EASE_SMOOTH, circleopen};
const hc_transition hc_tr_circleclose = {"circleclose", "a shrinks into the centre", HC_EASE_SMOOTH,
                                         circleclose};
