/* glitch: brief digital break-ups. Most frames are untouched; a burst of a
 * few frames (60-160 ms) fires at random moments (a chance per 0.45 s slot
 * of time, drawn from the seed) and shortly after some beats. During a
 * burst each frame tears a handful of horizontal slices sideways (wrapping,
 * as a broken decoder does) and splits the chroma: U one way, V the other,
 * more inside the torn slices. Strength scales both the chance of a burst
 * and its amount. Everything random is a hash of (seed, time slot, beat
 * time or frame index): the same seed and frame give the same pixels. */
#include "render/fx_frame_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_S        0.45 /* one chance of a burst per slot */
#define BURST_CHANCE  0.22 /* per slot, strength 1 */
#define BEAT_CHANCE   0.5  /* that a beat sets one off */
#define BEAT_WINDOW_S 0.12

static double unit(uint64_t h) {
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* Is this frame inside a burst? */
static bool glitch_active(const hc_fx_ctx *c, double s) {
    uint64_t seed = c->seed ^ 0x474c49544348ULL;
    if (c->since_beat_s >= 0 && c->since_beat_s < BEAT_WINDOW_S) {
        int64_t beat_ms = llround((c->time_s - c->since_beat_s) * 1000);
        if (unit(hc_fx_hash(seed, (uint64_t)beat_ms, 1)) < BEAT_CHANCE * s) return true;
    }
    int64_t slot = (int64_t)floor(c->time_s / SLOT_S);
    uint64_t h = hc_fx_hash(seed, (uint64_t)slot, 2);
    if (unit(h) >= BURST_CHANCE * s) return false;
    double len = 0.06 + 0.10 * unit(hc_fx_hash(seed, (uint64_t)slot, 3));
    double start = slot * SLOT_S + unit(hc_fx_hash(seed, (uint64_t)slot, 4)) * (SLOT_S - len);
    return c->time_s >= start && c->time_s < start + len;
}

/* row[x] = old row[x - dx]: wrapping around, or clamping at the edges. */
static void shift_row(uint8_t *row, int n, int dx, bool wrap, uint8_t *tmp) {
    if (dx == 0 || n <= 0) return;
    memcpy(tmp, row, (size_t)n);
    if (wrap) {
        dx %= n;
        if (dx < 0) dx += n;
        memcpy(row + dx, tmp, (size_t)(n - dx));
        memcpy(row, tmp + n - dx, (size_t)dx);
        return;
    }
    if (dx >= n || dx <= -n) {
        memset(row, dx > 0 ? tmp[0] : tmp[n - 1], (size_t)n);
    } else if (dx > 0) {
        memcpy(row + dx, tmp, (size_t)(n - dx));
        memset(row, tmp[0], (size_t)dx);
    } else {
        memcpy(row, tmp - dx, (size_t)(n + dx));
        memset(row + n + dx, tmp[n - 1], (size_t)-dx);
    }
}

static void glitch(const hc_fx_ctx *c, hc_yuv *img) {
    double s = c->strength < 0 ? 0 : c->strength > 1.5 ? 1.5 : c->strength;
    int w = img->w, h = img->h, cw = w / 2, ch = h / 2;
    if (s <= 0 || w < 4 || h < 4 || !glitch_active(c, s)) return;
    uint8_t *tmp = malloc((size_t)w);
    if (!tmp) return;
    uint64_t fseed = hc_fx_hash(c->seed ^ 0x534c494345ULL, (uint64_t)c->frame, 0);
    double amt = s * (0.6 + 0.4 * unit(fseed));
    /* The whole frame's chroma split, in chroma pixels. */
    int split = (int)lround(0.004 * w * amt);
    for (int y = 0; y < ch; y++) {
        shift_row(img->plane[1] + (size_t)y * img->stride[1], cw, split, false, tmp);
        shift_row(img->plane[2] + (size_t)y * img->stride[2], cw, -split, false, tmp);
    }
    int n = 3 + (int)(fseed % 5);
    for (int i = 0; i < n; i++) {
        uint64_t a = hc_fx_hash(fseed, (uint64_t)i, 1), b = hc_fx_hash(fseed, (uint64_t)i, 2);
        int y0 = (int)(unit(a) * h) & ~1;
        int sh = ((int)((0.01 + 0.07 * unit(b)) * h) + 1) & ~1;
        if (y0 + sh > h) sh = (h - y0) & ~1;
        double mag = (0.015 + 0.08 * unit(hc_fx_hash(a, b, 3))) * w * amt;
        int dx = 2 * (int)lround(mag / 2) * ((a >> 7) & 1 ? 1 : -1); /* even: chroma follows */
        int cs = (int)lround(0.008 * w * amt * unit(hc_fx_hash(b, a, 4)));
        for (int y = y0; y < y0 + sh; y++)
            shift_row(img->plane[0] + (size_t)y * img->stride[0], w, dx, true, tmp);
        for (int y = y0 / 2; y < (y0 + sh) / 2; y++) {
            shift_row(img->plane[1] + (size_t)y * img->stride[1], cw, dx / 2 + cs, true, tmp);
            shift_row(img->plane[2] + (size_t)y * img->stride[2], cw, dx / 2 - cs, true, tmp);
        }
    }
    free(tmp);
}

const hc_fx hc_fx_glitch = {"glitch", "occasional bursts of torn slices and chroma split",
                            HC_FX_FRAME, glitch};
