/* shake: on each beat the frame is knocked sideways and rings back, a
 * damped oscillation of about 1.5 % of the width that dies out in 0.2 s.
 * The direction of each knock comes from the seed and the beat's time, so
 * beats differ but a frame is reproducible. Sub-pixel translation via
 * hc_fx_warp_plane (bilinear, edges clamp); a no-op between beats. */
#include "render/fx_frame_int.h"

#include <math.h>

#define SHAKE_DUR_S 0.2
#define SHAKE_AMP   0.015 /* of the frame width, strength 1 */
#define SHAKE_HZ    11.0  /* ringing frequency along the knock */
#define PI          3.14159265358979323846

static void shake(const hc_fx_ctx *c, hc_yuv *img) {
    double env = hc_fx_beat_env(c->since_beat_s, SHAKE_DUR_S);
    double amp = SHAKE_AMP * img->w * c->strength * env;
    if (amp < 1.0 / 64) return;
    double t = c->since_beat_s;
    int64_t beat_ms = llround((c->time_s - t) * 1000);
    uint64_t h = hc_fx_hash(c->seed ^ 0x5348414b45ULL, (uint64_t)beat_ms, 0);
    double ang = (double)(h >> 11) * (2 * PI / 9007199254740992.0);
    /* Along the knock: starts at full displacement and rings back; across
     * it: a smaller wobble a quarter period out of phase. */
    double along = amp * cos(2 * PI * SHAKE_HZ * t);
    double across = 0.35 * amp * sin(2 * PI * SHAKE_HZ * 1.3 * t);
    double dx = along * cos(ang) - across * sin(ang);
    double dy = along * sin(ang) + across * cos(ang);
    for (int p = 0; p < 3; p++) {
        int d = p ? 2 : 1;
        hc_fx_warp_plane(img->plane[p], img->stride[p], img->w / d, img->h / d, -dx / d, -dy / d,
                         1.0);
    }
}

const hc_fx hc_fx_shake = {"shake", "a damped knock of the frame for 0.2 s after each beat",
                           HC_FX_FRAME, shake};
