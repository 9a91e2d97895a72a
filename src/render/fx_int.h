/* Internals shared by the colour grades (grade.c) and the canvas-stage
 * filters (fx_canvas.c and its fx_<family>.c files): the filter
 * descriptors the registry lists, plane helpers (separable box blur with
 * running sums, legal-range clamps, colour constants) and the float
 * reference of the grades that the LUT is built from (tests compare the two).
 * Not a public interface.
 *
 * Invariant: every helper is deterministic integer arithmetic on the
 * pixels (floats only for per-call constants), so results are golden-hashable. */
#ifndef HC_FX_INT_H
#define HC_FX_INT_H

#include "render/render_int.h"

#include <stdint.h>

/* ---- grades --------------------------------------------------------------- */
/* The float definition of a grade (grade.c): one pixel of limited-range
 * code values in (Y, U, V, 0..255, fractional allowed) to graded code
 * values out, not clamped or rounded (hc_grade_apply clamps to 16..235 /
 * 16..240 after interpolating the LUT built from this). grade is an hc_grade
 * value; NONE and NATURAL return the input. */
void hc_grade_ref(int grade, const double in[3], double out[3]);
/* Tests: interpolate the grade LUT on the portable path even where SSE2 is
 * available (both give bit-identical results). */
extern bool hc_grade_portable_only;

/* ---- canvas filters (registered in fx_canvas.c) --------------------------- */
extern const hc_fx hc_fx_soft_blur, hc_fx_sharpen, hc_fx_glow; /* fx_blur.c */
extern const hc_fx hc_fx_haze, hc_fx_color_wash_warm, hc_fx_color_wash_cool,
    hc_fx_color_wash_purple, hc_fx_color_wash_teal, hc_fx_color_wash_golden; /* fx_wash.c */
extern const hc_fx hc_fx_chromatic_aberration;                               /* fx_lens.c */

/* The effect amount of a context as a 0..256 fixed-point weight: strength
 * clamped to 0..1 (NaN = 0), as the frame overlays read it: 0 is no change
 * at all (filters return at once), 1 the reference look. */
static inline int hc_fx_amount256(const hc_fx_ctx *c) {
    double s = c->strength;
    if (!(s > 0)) return 0;
    if (s > 1) s = 1;
    return (int)(s * 256 + 0.5);
}

/* n / d rounded to nearest, halves away from zero (d > 0). */
static inline int hc_fx_div_round(int n, int d) {
    return n >= 0 ? (n + d / 2) / d : -((-n + d / 2) / d);
}
/* a + (b - a) * w / 256, rounded symmetrically (w 0..256). */
static inline int hc_fx_mix(int a, int b, int w) {
    return a + hc_fx_div_round((b - a) * w, 256);
}

static inline uint8_t hc_fx_clamp_u8(int v, int lo, int hi) {
    return (uint8_t)(v < lo ? lo : v > hi ? hi : v);
}

/* Plane geometry of an hc_yuv: p 0 = Y, 1 = U, 2 = V. */
static inline int hc_fx_plane_w(const hc_yuv *img, int p) {
    return p ? img->w / 2 : img->w;
}
static inline int hc_fx_plane_h(const hc_yuv *img, int p) {
    return p ? img->h / 2 : img->h;
}
static inline uint8_t *hc_fx_row(const hc_yuv *img, int p, int y) {
    return img->plane[p] + (size_t)y * img->stride[p];
}

/* A w x h scratch plane (tight stride = w). */
typedef struct hc_fx_plane {
    uint8_t *px;
    int w, h;
} hc_fx_plane;
/* Allocate; HC_ENOMEM on failure (px NULL). */
int hc_fx_plane_alloc(hc_fx_plane *pl, int w, int h);
void hc_fx_plane_fini(hc_fx_plane *pl);

/* Approximate gaussian blur of sigma (pixels) as three box blurs along each
 * axis with running sums (O(pixels) for any radius, edges replicated):
 * src (stride sstride) -> dst (tight, w x h). tmp is a w x h scratch plane.
 * sigma < 0.5 copies. HC_ENOMEM if the row buffers cannot be allocated. */
int hc_fx_gauss_plane(const uint8_t *src, int sstride, int w, int h, double sigma, uint8_t *dst,
                      uint8_t *tmp);

/* The three box radii whose cascade has a variance closest to sigma^2. */
void hc_fx_box_radii(double sigma, int r[3]);

#endif
