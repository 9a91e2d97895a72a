/* dissolve: b appears grain by grain; each luma pixel has a fixed random
 * threshold (chroma uses its top-left luma neighbour's), with a short ramp
 * so grains fade in rather than pop. */
#include "render/render_int.h"

#include <stdlib.h>

static void dissolve(const hc_tr_plane *t) {
    uint16_t *alpha = malloc(sizeof *alpha * (size_t)t->w);
    if (!alpha) return;
    const double ramp = 0.15, p = t->p * (1 + ramp);
    for (int y = 0; y < t->h; y++) {
        for (int x = 0; x < t->w; x++) {
            double n = hc_noise2(t->seed, x * t->sub, y * t->sub);
            double a = (p - n) / ramp;
            a = a < 0 ? 0 : a > 1 ? 1 : a;
            alpha[x] = (uint16_t)(a * 256 + 0.5);
        }
        hc_blend_row_mask(tr_dst(t, y), tr_a(t, y), tr_b(t, y), alpha, t->w);
    }
    free(alpha);
}

const hc_transition hc_tr_dissolve = {"dissolve", "random grain dissolve", HC_EASE_LINEAR,
                                      dissolve};
