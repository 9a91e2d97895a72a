/* Crossfades steered by how much each pixel changes (xfade's distance,
 * fadefast, fadeslow). Each plane is blended with a per-pixel weight looked
 * up from |a - b| in a 256-entry table built per call, so the cost is that
 * of a plain crossfade.
 *
 * distance: pixels that differ most between a and b switch first, the rest
 * crossfade; as xfade's, but with a soft threshold (its hard step leaves
 * speckle), and measured on luma only: xfade measures the distance over all
 * planes of a pixel together, but here each plane is transitioned on its
 * own, and U and V switching at different moments shows false colours. So
 * luma switches by its own distance and the colour planes crossfade with p.
 * fadefast / fadeslow: crossfades whose curve is steeper / gentler where
 * the pixel changes most (same formulas as xfade). */
#include "render/render_int.h"

#include <math.h>

static void lut_blend(const hc_tr_plane *t, const uint16_t lut[256]) {
    for (int y = 0; y < t->h; y++) {
        const uint8_t *ra = tr_a(t, y), *rb = tr_b(t, y);
        uint8_t *d = tr_dst(t, y);
        for (int x = 0; x < t->w; x++) {
            int diff = ra[x] > rb[x] ? ra[x] - rb[x] : rb[x] - ra[x];
            int w = lut[diff];
            d[x] = (uint8_t)((ra[x] * (256 - w) + rb[x] * w + 128) >> 8);
        }
    }
}

static uint16_t to_weight(double wb) {
    return (uint16_t)(wb <= 0 ? 0 : wb >= 1 ? 256 : wb * 256 + 0.5);
}

static void distance(const hc_tr_plane *t) {
    if (t->plane != 0) {
        /* U and V are transitioned apart and would switch at different
         * moments (false colours); both follow the luma's mean schedule */
        int w = (int)(t->p * 256 + 0.5);
        for (int y = 0; y < t->h; y++)
            hc_blend_row(tr_dst(t, y), tr_a(t, y), tr_b(t, y), t->w, w);
        return;
    }
    uint16_t lut[256];
    const double soft = 0.15, scale = 1.0 / 160;
    double keep = 1 - t->p; /* a's share left */
    for (int d = 0; d < 256; d++) {
        double dn = d * scale;
        dn = dn > 1 ? 1 : dn;
        /* still a (fading) while the distance is below the threshold */
        double s = hc_smoothstep((keep * (1 + soft) - dn) / soft);
        lut[d] = to_weight(1 - s * keep);
    }
    lut_blend(t, lut);
}

static void fade_curve(const hc_tr_plane *t, bool fast) {
    uint16_t lut[256];
    for (int d = 0; d < 256; d++) {
        double k = 1 + log(fast ? 1 + d / 255.0 : 2 - d / 255.0);
        lut[d] = to_weight(1 - pow(1 - t->p, k));
    }
    lut_blend(t, lut);
}

static void fadefast(const hc_tr_plane *t) {
    fade_curve(t, true);
}
static void fadeslow(const hc_tr_plane *t) {
    fade_curve(t, false);
}

const hc_transition hc_tr_distance = {"distance", "pixels that change most switch first",
                                      HC_EASE_SMOOTH, distance};
const hc_transition hc_tr_fadefast = {"fadefast", "crossfade, faster where pixels change most",
                                      HC_EASE_SMOOTH, fadefast};
const hc_transition hc_tr_fadeslow = {"fadeslow", "crossfade, slower where pixels change most",
                                      HC_EASE_SMOOTH, fadeslow};
