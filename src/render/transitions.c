/* The transition registry, aliases, easing, and the row helpers every
 * transition uses. A transition is one small file (tr_*.c) with a const
 * hc_transition; register it in the table below. */
#include "render/render_int.h"

#include <math.h>
#include <string.h>
#include <strings.h>

extern const hc_transition hc_tr_fade, hc_tr_fadeblack, hc_tr_fadewhite, hc_tr_fadegrays,
    hc_tr_dissolve, hc_tr_wipeleft, hc_tr_wiperight, hc_tr_wipeup, hc_tr_wipedown, hc_tr_slideleft,
    hc_tr_slideright, hc_tr_slideup, hc_tr_slidedown, hc_tr_circleopen, hc_tr_circleclose,
    hc_tr_zoom, hc_tr_bounce, hc_tr_cut;

const hc_transition *const hc_transitions[] = {
    &hc_tr_cut,
    &hc_tr_fade,
    &hc_tr_fadeblack,
    &hc_tr_fadewhite,
    &hc_tr_fadegrays,
    &hc_tr_dissolve,
    &hc_tr_wipeleft,
    &hc_tr_wiperight,
    &hc_tr_wipeup,
    &hc_tr_wipedown,
    &hc_tr_slideleft,
    &hc_tr_slideright,
    &hc_tr_slideup,
    &hc_tr_slidedown,
    &hc_tr_circleopen,
    &hc_tr_circleclose,
    &hc_tr_zoom,
    &hc_tr_bounce,
    NULL,
};

/* Names of the original engine and DESIGN.md §5 mapped to a real effect. */
static const struct {
    const char *alias, *name;
} aliases[] = {
    {"crossfade", "fade"},  {"wipe", "wipeleft"}, {"slide", "slideright"},
    {"flash", "fadewhite"}, {"none", "cut"},
};

const hc_transition *hc_transition_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (strcasecmp(name, aliases[i].alias) == 0) name = aliases[i].name;
    for (int i = 0; hc_transitions[i]; i++)
        if (strcasecmp(name, hc_transitions[i]->name) == 0) return hc_transitions[i];
    return NULL;
}

double hc_ease(hc_easing e, double p) {
    p = p < 0 ? 0 : p > 1 ? 1 : p;
    switch (e) {
    case HC_EASE_LINEAR:
        return p;
    case HC_EASE_BOUNCE: {
        /* easeOutBounce: lands, then two shrinking bounces; never past 1. */
        const double n = 7.5625, d = 2.75;
        if (p < 1 / d) return n * p * p;
        if (p < 2 / d) return p -= 1.5 / d, n * p * p + 0.75;
        if (p < 2.5 / d) return p -= 2.25 / d, n * p * p + 0.9375;
        return p -= 2.625 / d, n * p * p + 0.984375;
    }
    case HC_EASE_SMOOTH:
    default:
        return hc_smoothstep(p);
    }
}

void hc_blend_row(uint8_t *dst, const uint8_t *a, const uint8_t *b, int n, int w) {
    if (w <= 0) {
        if (dst != a) memmove(dst, a, (size_t)n);
        return;
    }
    if (w >= 256) {
        if (dst != b) memmove(dst, b, (size_t)n);
        return;
    }
    const uint16_t wb = (uint16_t)w, wa = (uint16_t)(256 - w);
    for (int i = 0; i < n; i++)
        dst[i] = (uint8_t)((a[i] * wa + b[i] * wb + 128) >> 8);
}

void hc_blend_row_mask(uint8_t *dst, const uint8_t *a, const uint8_t *b, const uint16_t *alpha,
                       int n) {
    for (int i = 0; i < n; i++)
        dst[i] = (uint8_t)((a[i] * (256 - alpha[i]) + b[i] * alpha[i] + 128) >> 8);
}

void hc_blend_row_const(uint8_t *dst, const uint8_t *a, uint8_t c, int n, int w) {
    const uint16_t wb = (uint16_t)w, wa = (uint16_t)(256 - w);
    const uint32_t cc = (uint32_t)c * wb + 128;
    for (int i = 0; i < n; i++)
        dst[i] = (uint8_t)((a[i] * wa + cc) >> 8);
}

double hc_value_noise(uint64_t seed, double t) {
    double fl = floor(t);
    int i = (int)fl;
    double f = t - fl, s = f * f * (3 - 2 * f);
    double a = hc_noise2(seed, i, 0) * 2 - 1, b = hc_noise2(seed, i + 1, 0) * 2 - 1;
    return a + (b - a) * s;
}

void hc_transition_apply(const hc_transition *t, double p, uint64_t seed, const hc_yuv *a,
                         const hc_yuv *b, hc_yuv *dst) {
    double e = hc_ease(t->easing, p);
    for (int pl = 0; pl < 3; pl++) {
        int d = pl ? 2 : 1;
        hc_tr_plane tp = {
            .dst = dst->plane[pl],
            .a = a->plane[pl],
            .b = b->plane[pl],
            .dst_stride = dst->stride[pl],
            .a_stride = a->stride[pl],
            .b_stride = b->stride[pl],
            .w = dst->w / d,
            .h = dst->h / d,
            .sub = d,
            .plane = pl,
            .p = e,
            .black = pl ? 128 : 16,
            .white = pl ? 128 : 235,
            .seed = seed,
        };
        t->plane(&tp);
    }
}
