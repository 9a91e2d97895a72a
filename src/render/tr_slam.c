/* slam: b slams down onto a: it falls from 1.3x to 1x, landing at 45 % of
 * the transition with a quick fade-in on the way, then the frame shakes
 * briefly with a decaying, seeded jolt while a (pushed back slightly) is
 * long gone. Scaling and the sub-pixel shake go through the bilinear
 * sampler, zoomed just enough that the shake never shows an edge. */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>

/* A sampler showing the plane src at zoom z around its centre, shifted by
 * (dx, dy) plane pixels. */
static int view_sampler(hc_sampler *s, const hc_tr_plane *t, const uint8_t *src, int stride,
                        double z, double dx, double dy) {
    double vw = t->w / z, vh = t->h / z;
    return hc_sampler_init(s, src, stride, t->w, t->h, t->w, t->h, (t->w - vw) / 2 + dx,
                           (t->h - vh) / 2 + dy, vw / t->w, vh / t->h);
}

static void slam(const hc_tr_plane *t) {
    const double land = 0.45;
    double fall = hc_smoothstep(t->p / land);
    double zb = 1.3 - 0.3 * fall * fall; /* accelerates into the landing */
    double za = 1 + 0.08 * fall;
    int m = (int)(hc_smoothstep(t->p / 0.3) * 256 + 0.5);
    /* the jolt after landing, in plane pixels */
    double amp = 0;
    if (t->p > land) {
        double k = (t->p - land) / (1 - land);
        amp = 0.025 * (t->w < t->h ? t->w : t->h) * exp(-4 * k) * (1 - k);
    }
    double n = t->p * 22;
    double dx = amp * hc_value_noise(t->seed ^ 0x5a1, n),
           dy = amp * hc_value_noise(t->seed ^ 0x5a2, n);
    zb += 2 * amp / (t->w < t->h ? t->w : t->h); /* room for the shake */
    hc_sampler sa, sb;
    uint8_t *row = malloc((size_t)t->w + 32);
    if (!row) return;
    if (view_sampler(&sb, t, t->b, t->b_stride, zb, dx, dy) != 0) {
        free(row);
        return;
    }
    bool need_a = m < 256;
    if (need_a && view_sampler(&sa, t, t->a, t->a_stride, za, 0, 0) != 0) {
        hc_sampler_fini(&sb);
        free(row);
        return;
    }
    for (int y = 0; y < t->h; y++) {
        uint8_t *d = tr_dst(t, y);
        hc_sampler_row(&sb, y, need_a ? row : d);
        if (need_a) {
            hc_sampler_row(&sa, y, d);
            hc_blend_row(d, d, row, t->w, m);
        }
    }
    if (need_a) hc_sampler_fini(&sa);
    hc_sampler_fini(&sb);
    free(row);
}

const hc_transition hc_tr_slam = {"slam", "b slams down from 1.3x and the frame shakes",
                                  HC_EASE_LINEAR, slam};
