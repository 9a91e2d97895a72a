/* The compositor's hot loop: bilinear resampling of one plane in fixed
 * point, straight in YUV. Column positions and weights are computed once
 * per call (the scale is uniform), each row is a contiguous vertical blend
 * of two source rows followed by a horizontal gather, so the inner loops
 * are branch-free. Positions carry 8 fractional bits: motion moves in
 * 1/256-pixel steps, never integer jumps. */
#include "render/render_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int weight_at(double u, int n, int32_t *idx) {
    if (u < 0) u = 0;
    if (u > n - 1) u = n - 1;
    int i = (int)u;
    int w = (int)((u - i) * 256 + 0.5);
    if (w == 256) {
        i++;
        w = 0;
    }
    if (i >= n - 1) {
        i = n - 1;
        w = 0;
    }
    *idx = i;
    return w;
}

static bool near_int(double v, int *out) {
    double r = floor(v + 0.5);
    if (fabs(v - r) > 1e-6) return false;
    *out = (int)r;
    return true;
}

int hc_sampler_init(hc_sampler *s, const uint8_t *src, int sstride, int sw, int sh, int dw, int dh,
                    double left, double top, double sx, double sy) {
    memset(s, 0, sizeof *s);
    s->src = src;
    s->sstride = sstride;
    s->sw = sw;
    s->sh = sh;
    s->dw = dw;
    s->dh = dh;
    s->top = top;
    s->sy = sy;
    s->copy_dx = s->copy_dy = -1;
    int ix, iy;
    if (fabs(sx - 1) < 1e-9 && fabs(sy - 1) < 1e-9 && near_int(left, &ix) && near_int(top, &iy) &&
        ix >= 0 && iy >= 0 && ix + dw <= sw && iy + dh <= sh) {
        s->copy_dx = ix;
        s->copy_dy = iy;
        return 0;
    }
    s->xi = malloc(sizeof *s->xi * (size_t)dw);
    s->xw = malloc(sizeof *s->xw * (size_t)dw);
    s->tmp = malloc(sizeof *s->tmp * ((size_t)sw + 2));
    if (!s->xi || !s->xw || !s->tmp) {
        hc_sampler_fini(s);
        return HC_ENOMEM;
    }
    for (int x = 0; x < dw; x++)
        s->xw[x] = (uint16_t)weight_at(left + (x + 0.5) * sx - 0.5, sw, &s->xi[x]);
    s->x0 = s->xi[0];
    s->x1 = s->xi[dw - 1] + 1;
    if (s->x1 > sw - 1) s->x1 = sw - 1;
    return 0;
}

void hc_sampler_fini(hc_sampler *s) {
    free(s->xi);
    free(s->xw);
    free(s->tmp);
    s->xi = NULL;
    s->xw = NULL;
    s->tmp = NULL;
}

/* Horizontal gather of 8.8 fixed vertical blends: out = (t0*(256-w) + t1*w) >> 16. */
static void gather16(const hc_sampler *s, const uint16_t *t, uint8_t *out) {
    const int32_t *xi = s->xi;
    const uint16_t *xw = s->xw;
    for (int x = 0; x < s->dw; x++) {
        uint32_t i = (uint32_t)xi[x], w = xw[x];
        out[x] = (uint8_t)((t[i] * (256 - w) + t[i + 1] * w + 32768) >> 16);
    }
}

static void gather8(const hc_sampler *s, const uint8_t *r, uint8_t *out) {
    const int32_t *xi = s->xi;
    const uint16_t *xw = s->xw;
    for (int x = 0; x < s->dw; x++) {
        uint32_t i = (uint32_t)xi[x], w = xw[x];
        out[x] = (uint8_t)((r[i] * (256 - w) + r[i + 1] * w + 128) >> 8);
    }
}

void hc_sampler_row(const hc_sampler *s, int y, uint8_t *out) {
    if (s->copy_dx >= 0) {
        memcpy(out, s->src + (size_t)(s->copy_dy + y) * s->sstride + s->copy_dx, (size_t)s->dw);
        return;
    }
    int32_t j;
    int g = weight_at(s->top + (y + 0.5) * s->sy - 0.5, s->sh, &j);
    const uint8_t *r0 = s->src + (size_t)j * s->sstride;
    if (g == 0) {
        gather8(s, r0, out);
        return;
    }
    const uint8_t *r1 = r0 + s->sstride;
    uint16_t *t = s->tmp;
    const uint16_t g1 = (uint16_t)g, g0 = (uint16_t)(256 - g);
    /* Contiguous and branch-free: the compiler vectorises this. */
    for (int x = s->x0; x <= s->x1; x++)
        t[x] = (uint16_t)(r0[x] * g0 + r1[x] * g1);
    t[s->x1 + 1] = t[s->x1];
    gather16(s, t, out);
}

void hc_sample_view(const hc_yuv *cv, const hc_view *v, hc_yuv *out) {
    double z = v->zoom < 1 ? 1 : v->zoom;
    double vw = cv->w / z, vh = cv->h / z;
    double left = v->cx * cv->w - vw / 2, top = v->cy * cv->h - vh / 2;
    if (left < 0) left = 0;
    if (left > cv->w - vw) left = cv->w - vw;
    if (top < 0) top = 0;
    if (top > cv->h - vh) top = cv->h - vh;
    double sx = vw / out->w, sy = vh / out->h;
    for (int p = 0; p < 3; p++) {
        int d = p ? 2 : 1;
        hc_sampler s;
        if (hc_sampler_init(&s, cv->plane[p], cv->stride[p], cv->w / d, cv->h / d, out->w / d,
                            out->h / d, left / d, top / d, sx, sy) != 0) {
            hc_yuv_fill(out, 16, 128, 128);
            return;
        }
        for (int y = 0; y < out->h / d; y++)
            hc_sampler_row(&s, y, out->plane[p] + (size_t)y * out->stride[p]);
        hc_sampler_fini(&s);
    }
}
