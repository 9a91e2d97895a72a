/* circleopen (b grows from the centre in a circle) and circleclose (a
 * shrinks into the centre). Rows are split into spans fully inside, fully
 * outside and the soft rim, so only rim pixels pay for a square root. */
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
    double ri = r - soft / 2, ro = r + soft / 2;
    for (int y = 0; y < t->h; y++) {
        const uint8_t *rin = in_base + (size_t)y * in_stride,
                      *rout = out_base + (size_t)y * out_stride;
        uint8_t *d = tr_dst(t, y);
        double dy = y + 0.5 - cy, dy2 = dy * dy;
        if (ro <= 0 || dy2 >= ro * ro) {
            memcpy(d, rout, (size_t)t->w);
            continue;
        }
        double half_o = sqrt(ro * ro - dy2),
               half_i = ri > 0 && dy2 < ri * ri ? sqrt(ri * ri - dy2) : 0;
        int xo0 = (int)floor(cx - half_o), xo1 = (int)ceil(cx + half_o);
        int xi0 = (int)ceil(cx - half_i), xi1 = (int)floor(cx + half_i);
        for (int x = 0; x < t->w; x++) {
            if (x < xo0 || x >= xo1)
                d[x] = rout[x];
            else if (half_i > 0 && x >= xi0 && x < xi1)
                d[x] = rin[x];
            else {
                double dx = x + 0.5 - cx;
                int w = hc_edge_weight(r - sqrt(dx * dx + dy2), soft);
                d[x] = (uint8_t)((rout[x] * (256 - w) + rin[x] * w + 128) >> 8);
            }
        }
    }
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
