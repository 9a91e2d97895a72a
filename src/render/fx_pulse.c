/* pulse: on each beat the frame punches in by 3 % around its centre and
 * eases back over 0.25 s (bilinear zoom through hc_fx_warp_plane); a no-op
 * between beats. */
#include "render/fx_frame_int.h"

#define PULSE_DUR_S 0.25
#define PULSE_ZOOM  0.03 /* extra zoom at the beat, strength 1 */

static void pulse(const hc_fx_ctx *c, hc_yuv *img) {
    double z = 1 + PULSE_ZOOM * c->strength * hc_fx_beat_env(c->since_beat_s, PULSE_DUR_S);
    /* Below 1/64 pixel of movement at the frame's edge: nothing to draw. */
    if ((z - 1) * img->w * 0.5 < 1.0 / 64) return;
    for (int p = 0; p < 3; p++) {
        int d = p ? 2 : 1, w = img->w / d, h = img->h / d;
        double s = 1 / z;
        hc_fx_warp_plane(img->plane[p], img->stride[p], w, h, (w - w * s) / 2, (h - h * s) / 2, s);
    }
}

const hc_fx hc_fx_pulse = {"pulse", "a 3 % zoom punch easing out over 0.25 s after each beat",
                           HC_FX_FRAME, pulse};
