/* film_grain: temporal luma grain. One 512 x 512 tile of zero-mean noise,
 * blurred to a grain of about 1.5 px, is built once per process (static
 * storage, 256 KiB); each frame reads it at an offset drawn from a hash of
 * the seed and the frame index, so the grain changes every frame at the
 * cost of one multiply-add per pixel. The amount follows the luma (full in
 * the mid-tones, 0.3 of it at black and white, as on film) as a parabola.
 * Output is clamped to 16..235; chroma is untouched. */
#include "render/fx_frame_int.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#define TILE        512  /* power of two */
#define GRAIN_SIGMA 3.5  /* noise standard deviation in mid-tones, in code values, strength 1 */
#define TILE_SIGMA  32.0 /* the tile's standard deviation (int8) */

static int8_t tile[TILE * TILE];
static pthread_once_t tile_once = PTHREAD_ONCE_INIT;

static void tile_build(void) {
    float *a = malloc(sizeof *a * TILE * TILE), *b = malloc(sizeof *b * TILE * TILE);
    if (!a || !b) { /* the tile stays zero: no grain, nothing worse */
        free(a);
        free(b);
        return;
    }
    /* Roughly Gaussian white noise (sum of four uniforms) ... */
    for (int y = 0; y < TILE; y++)
        for (int x = 0; x < TILE; x++) {
            uint64_t h = hc_fx_hash(0x677261696eULL, (uint64_t)x, (uint64_t)y);
            double s = 0;
            for (int k = 0; k < 4; k++)
                s += (double)((h >> (16 * k)) & 0xffff) / 65535.0;
            a[y * TILE + x] = (float)(s - 2);
        }
    /* ... blurred by [1 2 1] / 4 each way (wrapping, so the tile tiles):
     * a grain of one to two pixels instead of single-pixel speckle. */
    for (int y = 0; y < TILE; y++)
        for (int x = 0; x < TILE; x++) {
            const float *r = a + y * TILE;
            b[y * TILE + x] =
                (r[(x + TILE - 1) & (TILE - 1)] + 2 * r[x] + r[(x + 1) & (TILE - 1)]) * 0.25f;
        }
    double sum = 0, sum2 = 0;
    for (int y = 0; y < TILE; y++)
        for (int x = 0; x < TILE; x++) {
            float v = (b[((y + TILE - 1) & (TILE - 1)) * TILE + x] + 2 * b[y * TILE + x] +
                       b[((y + 1) & (TILE - 1)) * TILE + x]) *
                      0.25f;
            a[y * TILE + x] = v;
            sum += v;
            sum2 += (double)v * v;
        }
    double n = (double)TILE * TILE, mean = sum / n, sd = sqrt(sum2 / n - mean * mean);
    for (int i = 0; i < TILE * TILE; i++) {
        double v = (a[i] - mean) / sd * TILE_SIGMA;
        v = v < -127 ? -127 : v > 127 ? 127 : v;
        tile[i] = (int8_t)lrint(v);
    }
    free(a);
    free(b);
}

/* Y += n * amp(Y) / 256 over one contiguous run of the tile, where
 * amp(Y) = a + b * u (219 - u) / 2^16, u = Y - 16: a parabola, 0.3 of the
 * mid-tone amount at black and white. All in 16-bit lanes (u (219 - u) <
 * 12000, b < 2^9, |n amp| < 2^15) so it vectorises. */
static HC_FX_INLINE void grain_run_body(uint8_t *restrict r, const int8_t *restrict n, int len,
                                        uint16_t a, uint16_t b) {
    for (int x = 0; x < len; x++) {
        uint16_t u = (uint16_t)((r[x] < 16 ? 16 : r[x] > 235 ? 235 : r[x]) - 16);
        uint16_t p = (uint16_t)(u * (uint16_t)(219 - u));
        int16_t amp = (int16_t)(a + (uint16_t)(((uint32_t)p * b) >> 16));
        int16_t v = (int16_t)(u + 16 + (int16_t)((int16_t)(n[x] * amp + 128) >> 8));
        r[x] = (uint8_t)(v < 16 ? 16 : v > 235 ? 235 : v);
    }
}
HC_FX_ROW(grain_run,
          (uint8_t *restrict r, const int8_t *restrict n, int len, uint16_t a, uint16_t b),
          (r, n, len, a, b))

static void film_grain(const hc_fx_ctx *c, hc_yuv *img) {
    double s = c->strength < 0 ? 0 : c->strength > 2 ? 2 : c->strength;
    /* The mid-tone gain in Q8 of the tile (sigma TILE_SIGMA): at most 64,
     * so |n * amp| < 2^13. */
    double k = 256 * GRAIN_SIGMA / TILE_SIGMA * s;
    uint16_t a = (uint16_t)lrint(0.3 * k);
    uint16_t b = (uint16_t)lrint(0.7 * k * 4 / (219.0 * 219.0) * 65536);
    if (a == 0 && b == 0) return;
    pthread_once(&tile_once, tile_build);
    uint64_t h = hc_fx_hash(c->seed ^ 0x4752414eULL, (uint64_t)c->frame, 0);
    int ox = (int)(h & (TILE - 1)), oy = (int)((h >> 20) & (TILE - 1));
    for (int y = 0; y < img->h; y++) {
        uint8_t *r = img->plane[0] + (size_t)y * img->stride[0];
        const int8_t *n = tile + (size_t)((y + oy) & (TILE - 1)) * TILE;
        for (int x = 0; x < img->w;) {
            int tx = (x + ox) & (TILE - 1), len = TILE - tx;
            if (len > img->w - x) len = img->w - x;
            grain_run(r + x, n + tx, len, a, b);
            x += len;
        }
    }
}

const hc_fx hc_fx_film_grain = {"film_grain", "temporal luma grain, strongest in the mid-tones",
                                HC_FX_FRAME, film_grain};
