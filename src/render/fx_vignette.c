/* vignette: a soft darkening towards the corners, fixed to the frame. The
 * shape (an ellipse fitted to the frame, so a tall frame gets a tall
 * vignette) is precomputed once per frame size as 8-bit darkening masks for
 * luma and chroma (1.25 bytes per pixel, built once under the cache lock)
 * and cached for the life of the process: a handful of output sizes, at
 * most VIG_MAX_CACHED, past which masks are built per call and freed. The
 * entries stay reachable from a static list, so no leak is reported. Per
 * pixel it is then a multiply of (Y - 16), and chroma pulled a little
 * towards 128, in 16-bit integers the compiler vectorises. The centre is
 * left exactly as it was. */
#include "render/fx_frame_int.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#define VIG_AMP        0.42 /* full luma darkening (strength 1); the corners get 0.9 of it */
#define VIG_INNER      0.40 /* normalised radius (1 = corner) where darkening starts */
#define VIG_OUTER      1.15 /* ... and where it is full, just past the corners */
#define VIG_CHROMA     0.5  /* chroma is pulled towards grey this much of the luma darkening */
#define VIG_MAX_CACHED 16

typedef struct vig_mask {
    int w, h;
    uint8_t *y;  /* w x h darkening shape, 0..255 = none..full */
    uint8_t *uv; /* w/2 x h/2, scaled by VIG_CHROMA */
    struct vig_mask *next;
} vig_mask;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static vig_mask *cache; /* never freed: reachable, so not a leak */
static int n_cached;

/* Darkening 0..1 at a point given in units of the frame's half-size. */
static double darkening(double nx, double ny) {
    double r = sqrt((nx * nx + ny * ny) * 0.5); /* 1 at the corners */
    double t = (r - VIG_INNER) / (VIG_OUTER - VIG_INNER);
    return hc_smoothstep(t);
}

static void fill_mask(uint8_t *m, int w, int h, double scale) {
    for (int y = 0; y < h; y++) {
        double ny = ((y + 0.5) - h * 0.5) / (h * 0.5);
        for (int x = 0; x < w; x++) {
            double nx = ((x + 0.5) - w * 0.5) / (w * 0.5);
            m[(size_t)y * w + x] = (uint8_t)(darkening(nx, ny) * scale * 255 + 0.5);
        }
    }
}

static vig_mask *mask_new(int w, int h) {
    vig_mask *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->w = w;
    m->h = h;
    m->y = malloc((size_t)w * h);
    m->uv = malloc((size_t)(w / 2) * (h / 2));
    if (!m->y || !m->uv) {
        free(m->y);
        free(m->uv);
        free(m);
        return NULL;
    }
    fill_mask(m->y, w, h, 1.0);
    fill_mask(m->uv, w / 2, h / 2, VIG_CHROMA);
    return m;
}

static void mask_free(vig_mask *m) {
    if (!m) return;
    free(m->y);
    free(m->uv);
    free(m);
}

/* The cached mask for w x h; *owned set when the cache is full and the
 * caller must free it. */
static vig_mask *mask_get(int w, int h, int *owned) {
    *owned = 0;
    pthread_mutex_lock(&cache_lock);
    vig_mask *m = cache;
    while (m && (m->w != w || m->h != h))
        m = m->next;
    if (!m) {
        m = mask_new(w, h);
        if (m && n_cached < VIG_MAX_CACHED) {
            m->next = cache;
            cache = m;
            n_cached++;
        } else if (m) {
            *owned = 1;
        }
    }
    pthread_mutex_unlock(&cache_lock);
    return m;
}

/* Y = 16 + (Y - 16) * g, g = 1 - d * s: 16-bit lanes throughout (the
 * products stay below 2^16), so the compiler vectorises 8 or 16 pixels per
 * step; sq is s in Q8 (below 256). */
static HC_FX_INLINE void luma_row_body(uint8_t *restrict r, const uint8_t *restrict d, int n,
                                       uint16_t sq) {
    for (int x = 0; x < n; x++) {
        uint16_t v = r[x] < 16 ? 16 : r[x] > 235 ? 235 : r[x];
        uint16_t g = (uint16_t)(256 - (uint16_t)((uint16_t)(d[x] * sq) >> 8));
        r[x] = (uint8_t)(16 + ((uint16_t)((uint16_t)(v - 16) * g + 128) >> 8));
    }
}
HC_FX_ROW(luma_row, (uint8_t *restrict r, const uint8_t *restrict d, int n, uint16_t sq),
          (r, d, n, sq))

/* C = 128 + (C - 128) * g. */
static HC_FX_INLINE void chroma_row_body(uint8_t *restrict r, const uint8_t *restrict d, int n,
                                         uint16_t sq) {
    for (int x = 0; x < n; x++) {
        int16_t v = (int16_t)((r[x] < 16 ? 16 : r[x] > 240 ? 240 : r[x]) - 128);
        int16_t g = (int16_t)(256 - (uint16_t)((uint16_t)(d[x] * sq) >> 8));
        r[x] = (uint8_t)(128 + (int16_t)((int16_t)(v * g + 128) >> 8));
    }
}
HC_FX_ROW(chroma_row, (uint8_t *restrict r, const uint8_t *restrict d, int n, uint16_t sq),
          (r, d, n, sq))

static void vignette(const hc_fx_ctx *c, hc_yuv *img) {
    double s = c->strength < 0 ? 0 : c->strength > 2 ? 2 : c->strength;
    uint16_t sq = (uint16_t)(s * VIG_AMP * 256 + 0.5); /* <= 215 */
    if (sq == 0 || img->w < 2 || img->h < 2) return;
    int owned;
    vig_mask *m = mask_get(img->w, img->h, &owned);
    if (!m) return;
    for (int y = 0; y < img->h; y++)
        luma_row(img->plane[0] + (size_t)y * img->stride[0], m->y + (size_t)y * img->w, img->w, sq);
    int cw = img->w / 2;
    for (int p = 1; p < 3; p++)
        for (int y = 0; y < img->h / 2; y++)
            chroma_row(img->plane[p] + (size_t)y * img->stride[p], m->uv + (size_t)y * cw, cw, sq);
    if (owned) mask_free(m);
}

const hc_fx hc_fx_vignette = {"vignette", "soft darkening towards the corners", HC_FX_FRAME,
                              vignette};
