/* Internals shared by the frame-stage overlays (fx_frame.c, fx_<name>.c):
 * their descriptors, the beat envelope and the in-place plane warp used by
 * shake and pulse. Not a public interface. */
#ifndef HC_FX_FRAME_INT_H
#define HC_FX_FRAME_INT_H

#include "render/render_int.h"

#include <stdint.h>

/* CPU dispatch for the per-pixel row loops. A loop is written once as
 * static HC_FX_INLINE void name_body(...); HC_FX_ROW(name, (params), (args))
 * then defines static void name(...), which runs the body compiled for AVX2
 * when the CPU has it, else for the baseline (the loops are integer-only,
 * so both give the same bytes). Chosen per call with
 * __builtin_cpu_supports, as the sampler does for SSSE3: no ifunc
 * resolver, which ThreadSanitizer builds cannot run. Tests set
 * hc_fx_baseline_only to check both give the same bytes. */
extern bool hc_fx_baseline_only;
#define HC_FX_INLINE inline __attribute__((always_inline))
#if defined(__x86_64__) && defined(__GNUC__)
#define HC_FX_ROW(name, params, args)                                                              \
    __attribute__((target("avx2"))) static void name##_avx2 params {                               \
        name##_body args;                                                                          \
    }                                                                                              \
    static void name##_base params {                                                               \
        name##_body args;                                                                          \
    }                                                                                              \
    static void name params {                                                                      \
        if (!hc_fx_baseline_only && __builtin_cpu_supports("avx2"))                                \
            name##_avx2 args;                                                                      \
        else                                                                                       \
            name##_base args;                                                                      \
    }
#else
#define HC_FX_ROW(name, params, args)                                                              \
    static void name params {                                                                      \
        name##_body args;                                                                          \
    }
#endif

extern const hc_fx hc_fx_vignette, hc_fx_film_grain, hc_fx_light_leak, hc_fx_flash, hc_fx_shake,
    hc_fx_glitch, hc_fx_pulse;

/* A beat's decaying envelope: 1 at the beat, falling as (1 - t/dur)^2 to 0
 * at dur; 0 before the first beat (since_s < 0) and after dur. */
static inline double hc_fx_beat_env(double since_s, double dur_s) {
    if (since_s < 0 || since_s >= dur_s) return 0;
    double u = 1 - since_s / dur_s;
    return u * u;
}

/* A 64-bit mix of a seed and two integers (SplitMix64 finaliser). */
static inline uint64_t hc_fx_hash(uint64_t seed, uint64_t a, uint64_t b) {
    uint64_t h = seed ^ (a * 0x9e3779b97f4a7c15ULL) ^ (b * 0xc2b2ae3d27d4eb4fULL);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

/* Resample one w x h plane in place, bilinear (hc_sampler, edges clamp):
 * destination pixel centre (x + .5, y + .5) takes the source point
 * (left + (x + .5) * s - .5, top + (y + .5) * s - .5), s > 0. Rows are
 * produced top-down into a small ring of row buffers and written back only
 * once no later row reads them, so the extra memory is a few rows (about
 * the largest vertical displacement). HC_ENOMEM leaves the plane as it
 * was. */
int hc_fx_warp_plane(uint8_t *plane, int stride, int w, int h, double left, double top, double s);

#endif
