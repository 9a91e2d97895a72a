/* zoom: cross-zoom. a rushes towards the viewer (scale 1 -> 1.6) while b
 * settles in from 1.6 -> 1, crossfading in the middle third. */
#include "render/render_int.h"

#include <stdlib.h>

static int zoomed_row(hc_sampler *s, const hc_tr_plane *t, const uint8_t *src, int stride,
                      double z) {
    double vw = t->w / z, vh = t->h / z;
    return hc_sampler_init(s, src, stride, t->w, t->h, t->w, t->h, (t->w - vw) / 2, (t->h - vh) / 2,
                           vw / t->w, vh / t->h);
}

static void zoom(const hc_tr_plane *t) {
    hc_sampler sa, sb;
    uint8_t *rb = malloc((size_t)t->w + 32);
    double za = 1 + 0.6 * t->p, zb = 1.6 - 0.6 * t->p;
    double m = (t->p - 1.0 / 3) * 3;
    int w = (int)(hc_smoothstep(m) * 256 + 0.5);
    if (!rb || zoomed_row(&sa, t, t->a, t->a_stride, za) != 0) {
        free(rb);
        return;
    }
    if (zoomed_row(&sb, t, t->b, t->b_stride, zb) != 0) {
        hc_sampler_fini(&sa);
        free(rb);
        return;
    }
    /* Outside the middle third only one picture shows: sample just that. */
    for (int y = 0; y < t->h; y++) {
        uint8_t *d = tr_dst(t, y);
        if (w < 256) hc_sampler_row(&sa, y, d);
        if (w == 256)
            hc_sampler_row(&sb, y, d);
        else if (w > 0) {
            hc_sampler_row(&sb, y, rb);
            hc_blend_row(d, d, rb, t->w, w);
        }
    }
    hc_sampler_fini(&sa);
    hc_sampler_fini(&sb);
    free(rb);
}

const hc_transition hc_tr_zoom = {"zoom", "cross-zoom: a rushes in, b settles", HC_EASE_SMOOTH,
                                  zoom};
