/* radial: a clock wipe. b sweeps in clockwise from 12 o'clock around the
 * centre, behind a soft edge of constant pixel width (narrowing near the
 * centre, where the two edges meet). The sweep runs slightly past both ends
 * so that it starts and finishes with no trace of the seam.
 *
 * Speed: only pixels near the two edges (the 12 o'clock ray and the moving
 * ray) can be partly covered; each row finds that band (the perpendicular
 * distance to each ray's line is linear in x), copies the spans between from
 * a or b, and pays for atan2/sqrt only inside the band. */
#include "render/render_int.h"

#include <math.h>
#include <string.h>

#define TWO_PI 6.283185307179586
#define KAPPA  0.5 /* the edge is at most this many radians wide near the centre */

typedef struct {
    double cx, cy, soft, theta;
} radial_geo;

/* Coverage 0..1 of the soft interval [0, theta] at angle s; k = 1 / (angular
 * softness) at this pixel. */
static double interval(double s, double theta, double k) {
    double w0 = s * k + 0.5, w1 = (theta - s) * k + 0.5;
    double w = w0 < w1 ? w0 : w1;
    return w < 0 ? 0 : w > 1 ? 1 : w;
}

/* b's weight 0..256 at pixel centre offset (dx, dy) from the centre. */
static int radial_weight(const radial_geo *g, double dx, double dy) {
    double r = sqrt(dx * dx + dy * dy);
    double phi = atan2(dx, -dy); /* clockwise from 12 o'clock, -pi..pi */
    if (phi < 0) phi += TWO_PI;
    /* narrower near the centre (at most KAPPA radians), never under 2 px */
    double soft = KAPPA * r < 2 ? 2 : KAPPA * r;
    if (soft > g->soft) soft = g->soft;
    double k = r > 1e-9 ? r / soft : 0;
    /* the interval wraps around the seam: try the angle one turn either way */
    double c = interval(phi, g->theta, k);
    double c2 = interval(phi - TWO_PI, g->theta, k), c3 = interval(phi + TWO_PI, g->theta, k);
    if (c2 > c) c = c2;
    if (c3 > c) c = c3;
    return (int)(c * 256 + 0.5);
}

/* The x range [*lo, *hi) of row dy where |nx * dx + ny * dy| < half (the
 * band around a line through the centre with unit normal (nx, ny)), with a
 * pixel of margin; empty when lo >= hi. */
static void band(double nx, double ny, double dy, double half, double cx, int w, int *lo, int *hi) {
    double c = ny * dy;
    *lo = *hi = 0;
    if (fabs(nx) < 1e-9) {
        if (fabs(c) < half) *hi = w;
        return;
    }
    double e0 = (-half - c) / nx, e1 = (half - c) / nx;
    if (e0 > e1) {
        double tmp = e0;
        e0 = e1, e1 = tmp;
    }
    /* pixel centres x + 0.5 - cx in (e0, e1) */
    double f0 = floor(cx + e0 - 0.5) - 1, f1 = ceil(cx + e1 - 0.5) + 2;
    if (f1 <= 0 || f0 >= w) return;
    *lo = f0 < 0 ? 0 : (int)f0;
    *hi = f1 > w ? w : (int)f1;
}

static void fill_span(const hc_tr_plane *t, const radial_geo *g, int y, int x0, int x1) {
    if (x0 >= x1) return;
    double dy = y + 0.5 - g->cy, dx = (x0 + x1) / 2 + 0.5 - g->cx; /* the span's middle */
    const uint8_t *src = radial_weight(g, dx, dy) >= 128 ? tr_b(t, y) : tr_a(t, y);
    memcpy(tr_dst(t, y) + x0, src + x0, (size_t)(x1 - x0));
}

static void radial(const hc_tr_plane *t) {
    radial_geo g = {.cx = t->w / 2.0, .cy = t->h / 2.0};
    g.soft = (0.006 * (t->w + t->h) * t->sub + 2) / t->sub;
    /* overshoot by the widest angular edge (an interval of length -KAPPA
     * is clear of pixels where the edge is KAPPA wide) so both ends are clean */
    double over = KAPPA + 0.01;
    g.theta = -over + t->p * (TWO_PI + 2 * over);
    double half = g.soft / 2 + 1;
    double ct = cos(g.theta), st = sin(g.theta);
    for (int y = 0; y < t->h; y++) {
        double dy = y + 0.5 - g.cy;
        /* bands around the 12 o'clock line (normal (1, 0)) and the moving
         * edge's line: every partly covered pixel and every change between a
         * and b lies inside them, so the spans between are uniform */
        int l[2], h[2];
        band(1, 0, dy, half, g.cx, t->w, &l[0], &h[0]);
        band(ct, st, dy, half, g.cx, t->w, &l[1], &h[1]);
        if (l[1] < l[0]) {
            int tl = l[0], th = h[0];
            l[0] = l[1], h[0] = h[1], l[1] = tl, h[1] = th;
        }
        if (l[0] >= h[0]) l[0] = h[0] = l[1]; /* first empty: keep the second */
        if (l[1] < h[0]) {                    /* overlapping: merge */
            if (h[1] > h[0]) h[0] = h[1];
            l[1] = h[1] = h[0];
        }
        const uint8_t *ra = tr_a(t, y), *rb = tr_b(t, y);
        uint8_t *d = tr_dst(t, y);
        int x = 0;
        for (int k = 0; k < 2; k++) {
            if (l[k] >= h[k]) continue;
            fill_span(t, &g, y, x, l[k]);
            for (x = l[k]; x < h[k]; x++) {
                int w = radial_weight(&g, x + 0.5 - g.cx, dy);
                d[x] = (uint8_t)((ra[x] * (256 - w) + rb[x] * w + 128) >> 8);
            }
        }
        fill_span(t, &g, y, x, t->w);
    }
}

const hc_transition hc_tr_radial = {"radial", "clock wipe from 12 o'clock", HC_EASE_SMOOTH, radial};
