/* Canvas-stage filters (DESIGN.md §5): applied once to each clip's canvas
 * when it is prepared, so a filter costs one pass over a photo, not one per
 * frame. This file is only the registry; the filters live by family in
 * fx_blur.c (soft_blur, sharpen, glow), fx_wash.c (haze, color_wash_*) and
 * fx_lens.c (chromatic_aberration). Adding one = a const hc_fx with stage
 * HC_FX_CANVAS in one of those (or a new fx_<name>.c) plus a line here.
 *
 * Every filter takes c->strength 0..1 as a linear amount (0.5 = about half
 * the change of 1, 0 = none; see hc_fx_amount256), reads nothing else of
 * the context, and keeps legal input in the legal range. `bloom` is an
 * alias of glow (fx.c). */
#include "render/fx_int.h"

const hc_fx *const hc_fx_canvas[] = {
    &hc_fx_soft_blur,
    &hc_fx_sharpen,
    &hc_fx_glow,
    &hc_fx_haze,
    &hc_fx_chromatic_aberration,
    &hc_fx_color_wash_warm,
    &hc_fx_color_wash_cool,
    &hc_fx_color_wash_purple,
    &hc_fx_color_wash_teal,
    &hc_fx_color_wash_golden,
    NULL,
};
