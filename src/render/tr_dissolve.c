/* dissolve: b appears grain by grain. A grain is a 2x2 luma block and its
 * chroma sample, so colour and brightness switch together (per-pixel luma
 * grains over shared chroma gave coloured speckles). Each grain has a fixed
 * random threshold from a cheap integer hash; a short ramp lets grains fade
 * in rather than pop. Integer arithmetic throughout. */
#include "render/render_int.h"

#include <stdlib.h>

/* Threshold of grain (gx, gy) in 0..65535. */
static inline uint32_t grain(uint32_t seed, uint32_t gx, uint32_t gy) {
    uint32_t h = gx * 0x8da6b343u ^ gy * 0xd8163841u ^ seed;
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    h *= 0x297a2d39u;
    h ^= h >> 15;
    return h >> 16;
}

static void dissolve(const hc_tr_plane *t) {
    uint16_t *alpha = malloc(sizeof *alpha * (size_t)t->w);
    if (!alpha) return;
    /* alpha = (p * (1 + ramp) - n) / ramp, ramp = 0.15, in 1/65536 units */
    const int64_t pos = (int64_t)(t->p * 1.15 * 65536 + 0.5), ramp = (int64_t)(0.15 * 65536);
    const uint32_t seed = (uint32_t)(t->seed ^ (t->seed >> 32));
    const int shift = t->sub == 1 ? 1 : 0; /* luma pixels to grain coordinates */
    for (int y = 0; y < t->h; y++) {
        /* A luma grain is 2 columns by 2 rows: each threshold is hashed
         * once, and an odd luma row reuses the alpha row above it. */
        if (!(shift && (y & 1)))
            for (int x = 0; x < t->w; x += 1 << shift) {
                int64_t a =
                    (pos - grain(seed, (uint32_t)x >> shift, (uint32_t)y >> shift)) * 256 / ramp;
                alpha[x] = (uint16_t)(a < 0 ? 0 : a > 256 ? 256 : a);
                if (shift && x + 1 < t->w) alpha[x + 1] = alpha[x];
            }
        hc_blend_row_mask(tr_dst(t, y), tr_a(t, y), tr_b(t, y), alpha, t->w);
    }
    free(alpha);
}

const hc_transition hc_tr_dissolve = {"dissolve", "random grain dissolve", HC_EASE_LINEAR,
                                      dissolve};
