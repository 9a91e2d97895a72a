/* The transition registry, aliases, easing, and the row helpers every
 * transition uses. A transition is one small file (tr_*.c) with a const
 * hc_transition; register it in the table below. */
#include "render/render_int.h"

#include <math.h>
#include <string.h>
#include <strings.h>

extern const hc_transition hc_tr_cut, hc_tr_fade, hc_tr_fadeblack, hc_tr_fadewhite, hc_tr_fadegrays,
    hc_tr_fadefast, hc_tr_fadeslow, hc_tr_distance, hc_tr_dissolve, hc_tr_wipeleft, hc_tr_wiperight,
    hc_tr_wipeup, hc_tr_wipedown, hc_tr_smoothleft, hc_tr_smoothright, hc_tr_smoothup,
    hc_tr_smoothdown, hc_tr_diagtl, hc_tr_diagtr, hc_tr_diagbl, hc_tr_diagbr, hc_tr_horzopen,
    hc_tr_horzclose, hc_tr_vertopen, hc_tr_vertclose, hc_tr_hlslice, hc_tr_hrslice, hc_tr_vuslice,
    hc_tr_vdslice, hc_tr_slideleft, hc_tr_slideright, hc_tr_slideup, hc_tr_slidedown,
    hc_tr_coverleft, hc_tr_coverright, hc_tr_coverup, hc_tr_coverdown, hc_tr_revealleft,
    hc_tr_revealright, hc_tr_revealup, hc_tr_revealdown, hc_tr_circleopen, hc_tr_circleclose,
    hc_tr_circlecrop, hc_tr_rectcrop, hc_tr_radial, hc_tr_pixelize, hc_tr_squeezeh, hc_tr_squeezev,
    hc_tr_zoom, hc_tr_slam, hc_tr_whip, hc_tr_doorway, hc_tr_bounce, hc_tr_flash, hc_tr_burn,
    hc_tr_glitch, hc_tr_vhs, hc_tr_swirl, hc_tr_dreamy, hc_tr_blur;

/* The first 18 are the original catalogue, in its order (validation
 * messages list names in this order, and hc_err truncates long ones). */
const hc_transition *const hc_transitions[] = {
    &hc_tr_cut,         &hc_tr_fade,
    &hc_tr_fadeblack,   &hc_tr_fadewhite,
    &hc_tr_fadegrays,   &hc_tr_dissolve,
    &hc_tr_wipeleft,    &hc_tr_wiperight,
    &hc_tr_wipeup,      &hc_tr_wipedown,
    &hc_tr_slideleft,   &hc_tr_slideright,
    &hc_tr_slideup,     &hc_tr_slidedown,
    &hc_tr_circleopen,  &hc_tr_circleclose,
    &hc_tr_zoom,        &hc_tr_bounce,
    &hc_tr_fadefast,    &hc_tr_fadeslow,
    &hc_tr_distance,    &hc_tr_smoothleft,
    &hc_tr_smoothright, &hc_tr_smoothup,
    &hc_tr_smoothdown,  &hc_tr_diagtl,
    &hc_tr_diagtr,      &hc_tr_diagbl,
    &hc_tr_diagbr,      &hc_tr_horzopen,
    &hc_tr_horzclose,   &hc_tr_vertopen,
    &hc_tr_vertclose,   &hc_tr_hlslice,
    &hc_tr_hrslice,     &hc_tr_vuslice,
    &hc_tr_vdslice,     &hc_tr_coverleft,
    &hc_tr_coverright,  &hc_tr_coverup,
    &hc_tr_coverdown,   &hc_tr_revealleft,
    &hc_tr_revealright, &hc_tr_revealup,
    &hc_tr_revealdown,  &hc_tr_circlecrop,
    &hc_tr_rectcrop,    &hc_tr_radial,
    &hc_tr_pixelize,    &hc_tr_squeezeh,
    &hc_tr_squeezev,    &hc_tr_slam,
    &hc_tr_whip,        &hc_tr_doorway,
    &hc_tr_flash,       &hc_tr_burn,
    &hc_tr_glitch,      &hc_tr_vhs,
    &hc_tr_swirl,       &hc_tr_dreamy,
    &hc_tr_blur,        NULL,
};

/* Names of the original engine and DESIGN.md §5 mapped to a real effect.
 *
 * `flash`: the original engine treated flash as an alias of fadewhite, but
 * DESIGN.md §5 also lists flash as a transition of its own (the Exciting and
 * Intense vibes flash on cuts). It is a real effect here (tr_flash.c): a
 * short overexposed white peak with the swap hidden under it, which is what
 * the original's users saw as a "flash"; fadewhite keeps the slow, linear
 * fade through white. So `flash` is not in this table.
 *
 * gl_* (the GL Transitions names the original accepted) map to the effect
 * nearest in look: gl_directionalwarp and gl_directionalwipe sweep from the
 * corner their default direction vector points at; gl_windowslice opens
 * slits from the left like hrslice; gl_cube turns a out to the left like
 * slideleft; gl_crosswarp stretches b in from the right like smoothleft. */
const hc_transition_alias hc_transition_aliases[] = {
    {"crossfade", "fade"},
    {"wipe", "wipeleft"},
    {"slide", "slideright"},
    {"none", "cut"},
    {"gl_crosswarp", "smoothleft"},
    {"gl_dreamy", "dreamy"},
    {"gl_cube", "slideleft"},
    {"gl_doorway", "doorway"},
    {"gl_pixelize", "pixelize"},
    {"gl_swirl", "swirl"},
    {"gl_directionalwarp", "diagbr"},
    {"gl_directionalwipe", "diagtl"},
    {"gl_windowslice", "hrslice"},
    {"gl_burn", "burn"},
    {"gl_overexposure", "flash"},
    {NULL, NULL},
};

const hc_transition *hc_transition_find(const char *name) {
    if (!name) return NULL;
    for (int i = 0; hc_transition_aliases[i].alias; i++)
        if (strcasecmp(name, hc_transition_aliases[i].alias) == 0) {
            name = hc_transition_aliases[i].name;
            break;
        }
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
    /* The endpoints are exact for every transition by construction: p <= 0
     * is a, p >= 1 is b (each transition also converges there smoothly). */
    if (p <= 0 || p >= 1) {
        const hc_yuv *src = p <= 0 ? a : b;
        for (int pl = 0; pl < 3; pl++) {
            int d = pl ? 2 : 1;
            if (src->plane[pl] == dst->plane[pl]) continue;
            for (int y = 0; y < dst->h / d; y++)
                memcpy(dst->plane[pl] + (size_t)y * dst->stride[pl],
                       src->plane[pl] + (size_t)y * src->stride[pl], (size_t)(dst->w / d));
        }
        return;
    }
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

static int clampi(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

void hc_disc_row(uint8_t *d, const uint8_t *in, const uint8_t *out, uint8_t out_value, int w,
                 double dy, double cx, double r, double soft) {
    double ri = r - soft / 2, ro = r + soft / 2, dy2 = dy * dy;
    if (ro <= 0 || dy2 >= ro * ro) {
        if (out)
            memcpy(d, out, (size_t)w);
        else
            memset(d, out_value, (size_t)w);
        return;
    }
    double half_o = sqrt(ro * ro - dy2), half_i = ri > 0 && dy2 < ri * ri ? sqrt(ri * ri - dy2) : 0;
    int xo0 = clampi((int)floor(cx - half_o), 0, w), xo1 = clampi((int)ceil(cx + half_o), xo0, w);
    int xi0 = xo0, xi1 = xo0; /* the inside span, empty without one */
    if (half_i > 0) {
        xi0 = clampi((int)ceil(cx - half_i), xo0, xo1);
        xi1 = clampi((int)floor(cx + half_i), xi0, xo1);
    }
    /* outside | rim | inside | rim | outside: only rim pixels pay for sqrt */
    if (out) {
        memcpy(d, out, (size_t)xo0);
        memcpy(d + xo1, out + xo1, (size_t)(w - xo1));
    } else {
        memset(d, out_value, (size_t)xo0);
        memset(d + xo1, out_value, (size_t)(w - xo1));
    }
    memcpy(d + xi0, in + xi0, (size_t)(xi1 - xi0));
    for (int side = 0; side < 2; side++) { /* the left rim, then the right one */
        for (int x = side ? xi1 : xo0, end = side ? xo1 : xi0; x < end; x++) {
            int o = out ? out[x] : out_value;
            double dx = x + 0.5 - cx;
            int wt = hc_edge_weight(r - sqrt(dx * dx + dy2), soft);
            d[x] = (uint8_t)((o * (256 - wt) + in[x] * wt + 128) >> 8);
        }
    }
}
