/* Golden hashes of the colour grades and the canvas-stage filters: each
 * applied to 160 x 90 synthetic patterns (grades: the luma ramp, kind 0,
 * and the rings over a chroma gradient, kind 3; filters: the checker, kind
 * 2, and the rings), hashed raw. A change of look shows here; update with
 * scripts/golden-update.sh and say why in the commit. */
#include "hc_test.h"
#include "render/render_int.h"
#include "render_util.h"

#include <stdio.h>

HC_TEST(golden_grades_and_canvas_fx) {
    hc_golden g;
    hc_golden_open(&g);
    static const int grade_kinds[2] = {0, 3}, fx_kinds[2] = {2, 3};
    for (int grade = 0; grade < HC_GRADE_COUNT; grade++) {
        for (int k = 0; k < 2; k++) {
            char name[96], md5[33];
            hc_yuv img;
            hc_test_pattern(&img, 160, 90, grade_kinds[k]);
            CHECK(hc_grade_apply(grade, &img) == 0);
            hc_test_md5(&img, md5);
            snprintf(name, sizeof name, "grade/%s/k%d", hc_grade_names[grade], grade_kinds[k]);
            hc_golden_check(&g, name, md5);
            hc_yuv_fini(&img);
        }
    }
    for (int i = 0; hc_fx_canvas[i]; i++) {
        for (int k = 0; k < 2; k++) {
            char name[96], md5[33];
            hc_yuv img;
            hc_test_pattern(&img, 160, 90, fx_kinds[k]);
            hc_fx_ctx c = {.strength = 1, .seed = 42, .out_w = 160, .out_h = 90};
            hc_fx_canvas[i]->apply(&c, &img);
            hc_test_md5(&img, md5);
            snprintf(name, sizeof name, "canvas_fx/%s/k%d", hc_fx_canvas[i]->name, fx_kinds[k]);
            hc_golden_check(&g, name, md5);
            hc_yuv_fini(&img);
        }
    }
    CHECKF(g.mismatches == 0, "%d golden mismatches", g.mismatches);
    hc_golden_close(&g);
}
