/* Light transitions: flash (a camera-flash white-out with the cut hidden at
 * its peak; distinct from fadewhite, a slow linear fade through white) and
 * burn (GL Transitions' Burn: a warm orange glow added at the middle while
 * a crossfades to b). Both crossfade a to b, then map each plane through a
 * 256-entry table built per call. */
#include "render/render_int.h"

#include <math.h>

static void crossfade_then(const hc_tr_plane *t, double m, const uint8_t lut[256]) {
    int w = (int)(m * 256 + 0.5);
    for (int y = 0; y < t->h; y++) {
        uint8_t *d = tr_dst(t, y);
        hc_blend_row(d, tr_a(t, y), tr_b(t, y), t->w, w);
        for (int x = 0; x < t->w; x++)
            d[x] = lut[d[x]];
    }
}

static uint8_t clamp8(double v) {
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5);
}

/* The flash's strength: a bell peaking (at 1) in the middle, 0 at the ends. */
static double flash_strength(double p) {
    const double sigma = 0.13, floor_v = exp(-0.25 / (sigma * sigma));
    double x = (p - 0.5) / sigma, f = (exp(-x * x) - floor_v) / (1 - floor_v);
    return f < 0 ? 0 : f;
}

static void flash(const hc_tr_plane *t) {
    double f = flash_strength(t->p);
    uint8_t lut[256];
    for (int v = 0; v < 256; v++) {
        if (t->plane == 0) {
            /* overexpose: highlights blow out first, then everything */
            double y = (v - 16) / 219.0;
            y = y < 0 ? 0 : y > 1 ? 1 : y;
            y = 1 - pow(1 - y, 1 + 6 * f);
            y += (1 - y) * f * f;
            lut[v] = clamp8(16 + 219 * y);
        } else {
            lut[v] = clamp8(128 + (v - 128) * (1 - f)); /* washed out */
        }
    }
    /* the cut happens under the brightest part */
    crossfade_then(t, hc_smoothstep((t->p - 0.42) / 0.16), lut);
}

static void burn(const hc_tr_plane *t) {
    /* GL Burn adds colour (0.9, 0.4, 0.2) x 2p(1 - p); in BT.709 YUV that is
     * Y +0.49, Cb -0.157, Cr +0.26 of full scale per unit */
    static const double add[3] = {0.49 * 219, -0.157 * 224, 0.26 * 224};
    double g = 2 * t->p * (1 - t->p);
    uint8_t lut[256];
    for (int v = 0; v < 256; v++) {
        lut[v] = clamp8(v + add[t->plane] * g);
        /* glow, not superwhite: luma stops at white unless it was above */
        if (t->plane == 0 && lut[v] > t->white && v <= t->white) lut[v] = t->white;
    }
    crossfade_then(t, t->p, lut);
}

const hc_transition hc_tr_flash = {"flash", "white flash peak hides the cut", HC_EASE_LINEAR,
                                   flash};
const hc_transition hc_tr_burn = {"burn", "warm orange burn while crossfading", HC_EASE_SMOOTH,
                                  burn};
