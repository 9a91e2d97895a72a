/* Colour grades (DESIGN.md §5), applied once to each clip's canvas.
 *
 * Each grade is defined in float on gamma-encoded BT.709 R'G'B' (0..1 for
 * legal colours; nothing is clipped inside a grade so it stays smooth and
 * interpolates well), by hc_grade_ref below. One fixed pipeline, in order:
 *
 *   L0 = 0.2126 R + 0.7152 G + 0.0722 B          luma of the input (weights)
 *   c *= gain[c]                                 white balance
 *   c  = L + sat * (c - L)                       saturation about Rec.709 luma L
 *   c  = 0.5 + contrast * (c - 0.5)              contrast about mid grey
 *   c += brightness
 *   c += ws(L0) shadows[c] + wm(L0) mids[c] + offset[c]    colour balance
 *   c  = c^(1/gamma)  (c > 0; linear below 0)    gamma > 1 brightens
 *   (r,g,b) = M (r,g,b)                          sepia matrix / luma only
 *
 * with ws = 1 - smoothstep(0, .5, L0) (shadows), wh = smoothstep(.5, 1, L0)
 * (highlights) and wm = 1 - ws - wh (mids): a C1 partition of unity over
 * luma, so the balance has no kinks. White balance "as if the camera were
 * set to T kelvin on a 6500 K scene": the gains are rgb(6500 K) / rgb(T)
 * for the Planckian locus (Kim et al. cubic fit -> XYZ -> linear BT.709),
 * normalised to keep luma, applied in gamma space as gain^(1/2.2) (exact
 * for a pure power-law transfer). So 7000 K is a little warm and 4000 K
 * clearly blue, as on a camera; `cool` uses half of the 4000 K shift (a
 * full one is a tungsten-setting blue cast, not a grade). The values per
 * grade (DESIGN.md's reference values) are the table `grades` below.
 *
 * Applying: a 33 x 33 x 33 LUT over input (Y, U, V) code values (nodes
 * every 8 codes, 0..256) of unclamped outputs in 1/16 code (+1024 offset,
 * below 2^15; the grades' outputs span about -60..360 codes), built once
 * per grade on first use (mutex-guarded, published with release/acquire;
 * 280 KB each, kept), then interpolated trilinearly in fixed point per 2x2
 * luma block: each Y output at its own Y and the block's (U, V), the
 * chroma outputs at the block's mean Y (sum / 4, kept in quarter codes).
 * Clamping to 16..235 / 16..240 happens after interpolation, so the LUT
 * itself has no kinks: over every legal (Y, U, V) the result is within 1
 * code of the float definition. The (U, V) step uses pmaddwd where SSE2
 * is available, bit-identical to the portable path. `bw` needs no LUT:
 * Rec.709 luma of the decoded R'G'B' is Y itself, so it keeps Y and sets
 * chroma to 128. */
#include "render/fx_int.h"

#include <math.h>
#include <pthread.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { GRADE_PLAIN, GRADE_MONO, GRADE_SEPIA };

typedef struct grade_def {
    double temp_k;     /* white balance setting (0 = none) */
    double temp_mix;   /* fraction of that shift applied (0 = full) */
    double sat;        /* saturation, 1 = unchanged */
    double contrast;   /* 1 = unchanged */
    double brightness; /* added */
    double shadows[3], mids[3], offset[3];
    double gamma; /* 1 = unchanged */
    int kind;
} grade_def;

/* Reference values of DESIGN.md §5 (index = hc_grade). */
static const grade_def grades[HC_GRADE_COUNT] = {
    [HC_GRADE_VIBRANT] = {.sat = 1.3, .contrast = 1, .gamma = 1},
    [HC_GRADE_CINEMATIC] = {.sat = 0.9,
                            .contrast = 1.1,
                            .shadows = {-0.05, 0, 0.05},
                            .mids = {-0.03, 0, 0.03},
                            .gamma = 1},
    [HC_GRADE_BRIGHT] = {.sat = 1, .contrast = 1, .brightness = 0.1, .gamma = 1.1},
    [HC_GRADE_MOODY] = {.sat = 0.7,
                        .contrast = 1.15,
                        .brightness = -0.1,
                        .shadows = {0, 0, 0.1},
                        .mids = {0, 0, 0.05},
                        .gamma = 1},
    [HC_GRADE_NATURAL] = {.sat = 1, .contrast = 1, .gamma = 1},
    [HC_GRADE_BW] = {.sat = 1, .contrast = 1, .gamma = 1, .kind = GRADE_MONO},
    [HC_GRADE_WARM] = {.temp_k = 7000, .sat = 1.1, .contrast = 1, .gamma = 1},
    [HC_GRADE_COOL] = {.temp_k = 4000, .temp_mix = 0.5, .sat = 0.95, .contrast = 1, .gamma = 1},
    [HC_GRADE_VINTAGE] = {.sat = 0.8, .contrast = 0.9, .offset = {0.1, 0.05, 0}, .gamma = 1.1},
    [HC_GRADE_SEPIA] = {.sat = 1, .contrast = 1, .gamma = 1, .kind = GRADE_SEPIA},
};

/* ---- float definition ------------------------------------------------------ */
#define KR 0.2126
#define KG 0.7152
#define KB 0.0722

static double smooth(double e0, double e1, double x) {
    double t = (x - e0) / (e1 - e0);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return t * t * (3 - 2 * t);
}

/* Linear BT.709 RGB of the Planckian radiator at t kelvin, luminance 1. */
static void planck_rgb(double t, double rgb[3]) {
    double x, y, t2 = t * t, t3 = t2 * t;
    if (t <= 4000)
        x = -0.2661239e9 / t3 - 0.2343589e6 / t2 + 0.8776956e3 / t + 0.179910;
    else
        x = -3.0258469e9 / t3 + 2.1070379e6 / t2 + 0.2226347e3 / t + 0.240390;
    if (t <= 2222)
        y = -1.1063814 * x * x * x - 1.34811020 * x * x + 2.18555832 * x - 0.20219683;
    else if (t <= 4000)
        y = -0.9549476 * x * x * x - 1.37418593 * x * x + 2.09137015 * x - 0.16748867;
    else
        y = 3.0817580 * x * x * x - 5.87338670 * x * x + 3.75112997 * x - 0.37001483;
    double X = x / y, Y = 1, Z = (1 - x - y) / y;
    rgb[0] = 3.2404542 * X - 1.5371385 * Y - 0.4985314 * Z;
    rgb[1] = -0.9692660 * X + 1.8760108 * Y + 0.0415560 * Z;
    rgb[2] = 0.0556434 * X - 0.2040259 * Y + 1.0572252 * Z;
}

/* Gamma-space gains of a camera white balance set to t kelvin on a scene
 * lit at 6500 K (mix = fraction of the shift, in linear light). */
static void wb_gains(double t, double mix, double g[3]) {
    double ref[3], at[3];
    planck_rgb(6500, ref);
    planck_rgb(t, at);
    for (int c = 0; c < 3; c++)
        g[c] = pow(ref[c] / at[c], mix);
    double l = KR * g[0] + KG * g[1] + KB * g[2];
    for (int c = 0; c < 3; c++)
        g[c] = pow(g[c] / l, 1 / 2.2);
}

/* White-balance gains per grade, computed once. */
static double gains[HC_GRADE_COUNT][3];
static pthread_once_t gains_once = PTHREAD_ONCE_INIT;

static void gains_init(void) {
    for (int g = 0; g < HC_GRADE_COUNT; g++)
        if (grades[g].temp_k > 0)
            wb_gains(grades[g].temp_k, grades[g].temp_mix > 0 ? grades[g].temp_mix : 1, gains[g]);
}

void hc_grade_ref(int grade, const double in[3], double out[3]) {
    if (grade < 0 || grade >= HC_GRADE_COUNT || grade == HC_GRADE_NATURAL) {
        memcpy(out, in, 3 * sizeof *out);
        return;
    }
    const grade_def *d = &grades[grade];
    double yl = (in[0] - 16) / 219, cb = (in[1] - 128) / 224, cr = (in[2] - 128) / 224;
    double c[3] = {yl + 1.5748 * cr, yl - 0.187324 * cb - 0.468124 * cr, yl + 1.8556 * cb};
    double l0 = yl;
    if (d->temp_k > 0) {
        pthread_once(&gains_once, gains_init);
        for (int i = 0; i < 3; i++)
            c[i] *= gains[grade][i];
    }
    double l = KR * c[0] + KG * c[1] + KB * c[2];
    double ws = 1 - smooth(0, 0.5, l0), wh = smooth(0.5, 1, l0), wm = 1 - ws - wh;
    for (int i = 0; i < 3; i++) {
        double v = l + d->sat * (c[i] - l);
        v = 0.5 + d->contrast * (v - 0.5) + d->brightness;
        v += ws * d->shadows[i] + wm * d->mids[i] + d->offset[i];
        if (d->gamma != 1 && v > 0) v = pow(v, 1 / d->gamma);
        c[i] = v;
    }
    if (d->kind == GRADE_MONO) {
        c[0] = c[1] = c[2] = KR * c[0] + KG * c[1] + KB * c[2];
    } else if (d->kind == GRADE_SEPIA) {
        double r = c[0], g = c[1], b = c[2];
        c[0] = 0.393 * r + 0.769 * g + 0.189 * b;
        c[1] = 0.349 * r + 0.686 * g + 0.168 * b;
        c[2] = 0.272 * r + 0.534 * g + 0.131 * b;
    }
    l = KR * c[0] + KG * c[1] + KB * c[2];
    out[0] = 16 + 219 * l;
    out[1] = 128 + 224 * (c[2] - l) / 1.8556;
    out[2] = 128 + 224 * (c[0] - l) / 1.5748;
}

/* ---- the LUT ------------------------------------------------------------- */
#define N             33   /* nodes per axis, every 8 codes: 0, 8, ..., 256 */
#define OFFSET        1024 /* stored = (code + OFFSET) * 16 */
#define NODE(y, u, v) (((size_t)(v)*N + (size_t)(u)) * N + (size_t)(y))

typedef struct grade_lut {
    uint16_t t[N * N * N][4]; /* Y', U', V', unused at NODE(y, u, v) */
} grade_lut;

static _Atomic(grade_lut *) luts[HC_GRADE_COUNT];
static pthread_mutex_t lut_lock = PTHREAD_MUTEX_INITIALIZER;

static void lut_build(int grade, grade_lut *lut) {
    for (int v = 0; v < N; v++)
        for (int u = 0; u < N; u++)
            for (int y = 0; y < N; y++) {
                double in[3] = {8.0 * y, 8.0 * u, 8.0 * v}, out[3];
                hc_grade_ref(grade, in, out);
                uint16_t *node = lut->t[NODE(y, u, v)];
                for (int c = 0; c < 3; c++) {
                    double s = floor((out[c] + OFFSET) * 16 + 0.5);
                    /* < 2^15 for pmaddwd: outputs -1024..1023 codes. */
                    node[c] = (uint16_t)(s < 0 ? 0 : s > 32767 ? 32767 : s);
                }
                node[3] = 0;
            }
}

/* The grade's LUT, built on first use; NULL if out of memory. */
static const grade_lut *lut_get(int grade) {
    grade_lut *lut = atomic_load_explicit(&luts[grade], memory_order_acquire);
    if (lut) return lut;
    pthread_mutex_lock(&lut_lock);
    lut = atomic_load_explicit(&luts[grade], memory_order_relaxed);
    if (!lut && (lut = malloc(sizeof *lut))) {
        lut_build(grade, lut);
        /* Kept for the life of the process (280 KB per grade used). */
        atomic_store_explicit(&luts[grade], lut, memory_order_release);
    }
    pthread_mutex_unlock(&lut_lock);
    return lut;
}

bool hc_grade_portable_only;

/* The four LUT columns around one (U, V) and their bilinear weights (sum 64). */
typedef struct corners {
    const uint16_t (*c[4])[4];
    int w[4];
} corners;

static inline void corners_init(const grade_lut *lut, int u, int v, corners *k) {
    int fu = u & 7, fv = v & 7;
    k->w[0] = (8 - fu) * (8 - fv);
    k->w[1] = fu * (8 - fv);
    k->w[2] = (8 - fu) * fv;
    k->w[3] = fu * fv;
    k->c[0] = lut->t + NODE(0, u >> 3, v >> 3);
    k->c[1] = k->c[0] + N;
    k->c[2] = k->c[0] + N * N;
    k->c[3] = k->c[0] + N * N + N;
}

/* Bilinear (U, V) interpolation of Y', U', V' at Y nodes n and n + 1:
 * o[0..2] at n, o[4..6] at n + 1 (64 x the table's values). */
static inline void bil2_portable(const corners *k, int n, int32_t o[8]) {
    for (int j = 0; j < 2; j++)
        for (int c = 0; c < 4; c++)
            o[4 * j + c] = k->w[0] * k->c[0][n + j][c] + k->w[1] * k->c[1][n + j][c] +
                           k->w[2] * k->c[2][n + j][c] + k->w[3] * k->c[3][n + j][c];
}

#ifdef __SSE2__
/* The same with pmaddwd: nodes n and n + 1 of a column are 16 adjacent
 * bytes; interleaving two columns' values pairs them with their weights.
 * Exact (table values < 2^15), so bit-identical to the portable path. */
static inline void bil2_sse2(const corners *k, int n, int32_t o[8]) {
    __m128i a = _mm_loadu_si128((const __m128i *)k->c[0][n]);
    __m128i b = _mm_loadu_si128((const __m128i *)k->c[1][n]);
    __m128i c = _mm_loadu_si128((const __m128i *)k->c[2][n]);
    __m128i d = _mm_loadu_si128((const __m128i *)k->c[3][n]);
    __m128i w01 = _mm_set1_epi32((int)((uint32_t)k->w[1] << 16 | (uint32_t)k->w[0]));
    __m128i w23 = _mm_set1_epi32((int)((uint32_t)k->w[3] << 16 | (uint32_t)k->w[2]));
    __m128i n0 = _mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi16(a, b), w01),
                               _mm_madd_epi16(_mm_unpacklo_epi16(c, d), w23));
    __m128i n1 = _mm_add_epi32(_mm_madd_epi16(_mm_unpackhi_epi16(a, b), w01),
                               _mm_madd_epi16(_mm_unpackhi_epi16(c, d), w23));
    _mm_storeu_si128((__m128i *)o, n0);
    _mm_storeu_si128((__m128i *)(o + 4), n1);
}
#define bil2(k, n, o) (hc_grade_portable_only ? bil2_portable(k, n, o) : bil2_sse2(k, n, o))
#else
#define bil2(k, n, o) bil2_portable(k, n, o)
#endif

/* Output code values from two bilinear results a (node n) and b (node n
 * + 1) at Y fraction f of 8 (luma) or of 32 (the quarter-code block mean). */
static inline int lerp8(int a, int b, int f) {
    return ((a * (8 - f) + b * f + (1 << 12)) >> 13) - OFFSET;
}
static inline int lerp32(int a, int b, int f) {
    return ((a * (32 - f) + b * f + (1 << 14)) >> 15) - OFFSET;
}

/* One 2x2 block: y[0..3] its luma (in place), *u, *v its chroma. The four
 * luma values share (U, V), so the (U, V) bilinear step is done once per Y
 * node the block spans (two when its luma lies in one 8-code cell, the
 * usual case in photos) and each pixel only interpolates along Y. Fixed
 * point: (U, V) weights sum to 64 (6 bits), Y weights to 8 (3 bits; 32 =
 * 5 bits for the quarter-code mean), table values 4 fraction bits. */
static inline void block(const grade_lut *lut, uint8_t *y[4], uint8_t *u, uint8_t *v) {
    corners k;
    corners_init(lut, *u, *v, &k);
    int yv[4] = {*y[0], *y[1], *y[2], *y[3]};
    int lo = yv[0] >> 3, hi = lo;
    for (int i = 1; i < 4; i++) {
        int n = yv[i] >> 3;
        lo = n < lo ? n : lo;
        hi = n > hi ? n : hi;
    }
    int32_t o[8];
    int sum = yv[0] + yv[1] + yv[2] + yv[3], n = sum >> 5, f = sum & 31;
    bil2(&k, n, o);
    *u = hc_fx_clamp_u8(lerp32(o[1], o[5], f), 16, 240);
    *v = hc_fx_clamp_u8(lerp32(o[2], o[6], f), 16, 240);
    if (lo == hi) {
        /* All four in the mean's cell. */
        for (int i = 0; i < 4; i++)
            *y[i] = hc_fx_clamp_u8(lerp8(o[0], o[4], yv[i] & 7), 16, 235);
        return;
    }
    for (int i = 0; i < 4; i++) {
        bil2(&k, yv[i] >> 3, o);
        *y[i] = hc_fx_clamp_u8(lerp8(o[0], o[4], yv[i] & 7), 16, 235);
    }
}

static void apply_lut(const grade_lut *lut, hc_yuv *img) {
    int cw = img->w / 2, ch = img->h / 2;
    for (int cy = 0; cy < ch; cy++) {
        uint8_t *y0 = hc_fx_row(img, 0, 2 * cy), *y1 = hc_fx_row(img, 0, 2 * cy + 1);
        uint8_t *ur = hc_fx_row(img, 1, cy), *vr = hc_fx_row(img, 2, cy);
        for (int cx = 0; cx < cw; cx++) {
            uint8_t *p[4] = {y0 + 2 * cx, y0 + 2 * cx + 1, y1 + 2 * cx, y1 + 2 * cx + 1};
            block(lut, p, ur + cx, vr + cx);
        }
    }
}

int hc_grade_apply(int grade, hc_yuv *img) {
    if (grade == HC_GRADE_NONE || grade == HC_GRADE_NATURAL) return 0;
    if (grade < 0 || grade >= HC_GRADE_COUNT || !img || (img->w & 1) || (img->h & 1))
        return HC_EINVAL;
    if (grade == HC_GRADE_BW) {
        for (int p = 1; p < 3; p++)
            for (int y = 0; y < hc_fx_plane_h(img, p); y++)
                memset(hc_fx_row(img, p, y), 128, (size_t)hc_fx_plane_w(img, p));
        return 0;
    }
    const grade_lut *lut = lut_get(grade);
    if (!lut) return HC_ENOMEM;
    apply_lut(lut, img);
    return 0;
}
