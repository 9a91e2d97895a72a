/* Diagonal wipes (diagtl, diagtr, diagbl, diagbr): b enters from the named
 * corner behind a straight soft edge that runs parallel to the other
 * diagonal, so it leaves through the opposite corner. (xfade's diag* use a
 * hyperbola x*y; a straight edge reads better.) The edge is a linear
 * function of x on each row, so a row is a clamped ramp: flat parts are
 * copied, only the ramp is blended. Sizes are plane-relative and the soft
 * width is set in luma pixels / sub, so chroma edges sit under luma ones. */
#include "render/render_int.h"

#include <math.h>
#include <string.h>

/* Row of dst = a + (b - a) * clamp(a0 + x * da, 0, 1). */
static void ramp_row(uint8_t *d, const uint8_t *ra, const uint8_t *rb, int n, double a0,
                     double da) {
    /* [x0, x1): where the weight is strictly between 0 and 1 */
    int x0 = 0, x1 = n;
    if (da != 0) {
        double z0 = -a0 / da, z1 = (1 - a0) / da; /* x where weight is 0 and 1 */
        double lo = z0 < z1 ? z0 : z1, hi = z0 < z1 ? z1 : z0;
        x0 = lo < 0 ? 0 : lo > n ? n : (int)floor(lo);
        x1 = hi < 0 ? 0 : hi >= n ? n : (int)ceil(hi) + 1;
        if (x1 > n) x1 = n;
    }
    /* flat parts: the weight at their middle decides a or b */
    if (x0 > 0) memcpy(d, a0 + (x0 / 2) * da >= 0.5 ? rb : ra, (size_t)x0);
    if (x1 < n) {
        const uint8_t *src = a0 + ((x1 + n) / 2) * da >= 0.5 ? rb : ra;
        memcpy(d + x1, src + x1, (size_t)(n - x1));
    }
    for (int x = x0; x < x1; x++) {
        double w = a0 + x * da;
        int wi = w <= 0 ? 0 : w >= 1 ? 256 : (int)(w * 256 + 0.5);
        d[x] = (uint8_t)((ra[x] * (256 - wi) + rb[x] * wi + 128) >> 8);
    }
}

static void diag(const hc_tr_plane *t, bool from_left, bool from_top) {
    double W = t->w * t->sub, H = t->h * t->sub;
    double soft = (0.01 * (W + H) + 2) / t->sub;
    /* s = u + v in 0..2 (u, v: 0 at the entry corner); k = pixels per unit of s */
    double k = 1 / sqrt(1.0 / ((double)t->w * t->w) + 1.0 / ((double)t->h * t->h));
    double soft_s = soft / k, c = -soft_s / 2 + t->p * (2 + soft_s);
    /* weight(x, y) = (c - s) * k / soft + 0.5 */
    double du = (from_left ? 1.0 : -1.0) / t->w;
    double u0 = from_left ? 0.5 / t->w : 1 - 0.5 / t->w;
    for (int y = 0; y < t->h; y++) {
        double v = from_top ? (y + 0.5) / t->h : 1 - (y + 0.5) / t->h;
        double a0 = (c - v - u0) * k / soft + 0.5, da = -du * k / soft;
        ramp_row(tr_dst(t, y), tr_a(t, y), tr_b(t, y), t->w, a0, da);
    }
}

static void diagtl(const hc_tr_plane *t) {
    diag(t, true, true);
}
static void diagtr(const hc_tr_plane *t) {
    diag(t, false, true);
}
static void diagbl(const hc_tr_plane *t) {
    diag(t, true, false);
}
static void diagbr(const hc_tr_plane *t) {
    diag(t, false, false);
}

const hc_transition hc_tr_diagtl = {"diagtl", "soft diagonal edge from the top-left corner",
                                    HC_EASE_SMOOTH, diagtl};
const hc_transition hc_tr_diagtr = {"diagtr", "soft diagonal edge from the top-right corner",
                                    HC_EASE_SMOOTH, diagtr};
const hc_transition hc_tr_diagbl = {"diagbl", "soft diagonal edge from the bottom-left corner",
                                    HC_EASE_SMOOTH, diagbl};
const hc_transition hc_tr_diagbr = {"diagbr", "soft diagonal edge from the bottom-right corner",
                                    HC_EASE_SMOOTH, diagbr};
