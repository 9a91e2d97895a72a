/* flash: a white flash on each beat. The frame is blended towards limited-
 * range white (Y 235, U = V = 128) by an amount that spikes at the beat and
 * decays to nothing over 0.15 s; between beats it is a no-op. */
#include "render/fx_frame_int.h"

#define FLASH_DUR_S 0.15
#define FLASH_PEAK  0.55 /* blend towards white at the beat, strength 1 */

static void flash(const hc_fx_ctx *c, hc_yuv *img) {
    double a = FLASH_PEAK * c->strength * hc_fx_beat_env(c->since_beat_s, FLASH_DUR_S);
    int w = (int)(a * 256 + 0.5);
    if (w <= 0) return;
    if (w > 256) w = 256;
    for (int p = 0; p < 3; p++) {
        int d = p ? 2 : 1;
        uint8_t target = p ? 128 : 235;
        for (int y = 0; y < img->h / d; y++) {
            uint8_t *r = img->plane[p] + (size_t)y * img->stride[p];
            hc_blend_row_const(r, r, target, img->w / d, w);
        }
    }
}

const hc_fx hc_fx_flash = {"flash", "white flash decaying over 0.15 s after each beat", HC_FX_FRAME,
                           flash};
