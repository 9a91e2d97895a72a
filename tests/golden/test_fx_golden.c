/* Golden hashes of the frame-stage overlays: each overlay applied to the
 * 160 x 90 synthetic patterns at a few (frame, since_beat_s) points, on a
 * beat, just after one, between beats (frame 92 is inside a glitch burst
 * for seed 42), hashed
 * raw. A change of look shows here; update with scripts/golden-update.sh
 * and say why in the commit. */
#include "hc_test.h"
#include "render/render_int.h"
#include "render_util.h"

#include <stdio.h>

HC_TEST(golden_frame_fx) {
    static const struct {
        int64_t frame;
        double since_beat_s;
    } at[] = {{0, 0}, {31, 0.05}, {47, 0.12}, {92, -1}, {262, -1}};
    hc_golden g;
    hc_golden_open(&g);
    for (int i = 0; hc_fx_frame[i]; i++) {
        for (int k = 0; k < 5; k++) {
            char name[96], md5[33];
            hc_yuv img;
            hc_test_pattern(&img, 160, 90, (i + k) % 4);
            hc_fx_ctx c = {
                .frame = at[k].frame,
                .time_s = at[k].frame / 30.0,
                .clip_time_s = at[k].frame / 30.0,
                .since_beat_s = at[k].since_beat_s,
                .strength = 1,
                .seed = 42,
                .out_w = 160,
                .out_h = 90,
            };
            hc_fx_frame[i]->apply(&c, &img);
            hc_test_md5(&img, md5);
            snprintf(name, sizeof name, "frame_fx/%s/%d", hc_fx_frame[i]->name, k);
            hc_golden_check(&g, name, md5);
            hc_yuv_fini(&img);
        }
    }
    CHECKF(g.mismatches == 0, "%d golden mismatches", g.mismatches);
    hc_golden_close(&g);
}
