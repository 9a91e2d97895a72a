/* Frame-stage overlays: the registry (one descriptor per fx_<name>.c) and
 * the in-place plane warp shared by shake and pulse. Every overlay is a
 * pure function of (ctx, frame): same inputs, same pixels, on any thread. */
#include "render/fx_frame_int.h"

#include <stdlib.h>
#include <string.h>

bool hc_fx_baseline_only;

const hc_fx *const hc_fx_frame[] = {
    &hc_fx_vignette, &hc_fx_film_grain, &hc_fx_light_leak, &hc_fx_flash,
    &hc_fx_shake,    &hc_fx_glitch,     &hc_fx_pulse,      NULL,
};

/* The first source row destination row y may read (the sampler reads rows
 * j and j + 1 with j >= this); non-decreasing in y because s > 0. */
static int first_src_row(double top, double s, int h, int y) {
    double v = top + (y + 0.5) * s - 0.5;
    if (v < 0) v = 0;
    if (v > h - 1) v = h - 1;
    return (int)v;
}

int hc_fx_warp_plane(uint8_t *plane, int stride, int w, int h, double left, double top, double s) {
    if (w < 2 || h < 1 || !(s > 0)) return HC_EINVAL;
    /* Row y is held in the ring from when it is produced until every later
     * destination row reads only source rows past it. Size the ring for
     * the worst row (a cheap pass over h integers). */
    int ring_rows = 1;
    for (int y = 0; y < h; y++) {
        int done = first_src_row(top, s, h, y);
        if (done > y) done = y;
        if (y + 1 - done > ring_rows) ring_rows = y + 1 - done;
    }
    hc_sampler smp;
    int rc = hc_sampler_init(&smp, plane, stride, w, h, w, h, left, top, s, s);
    if (rc != 0) return rc;
    uint8_t *ring = malloc((size_t)ring_rows * (size_t)w);
    if (!ring) {
        hc_sampler_fini(&smp);
        return HC_ENOMEM;
    }
    int written = 0; /* rows [0, written) of plane hold their result */
    for (int y = 0; y < h; y++) {
        hc_sampler_row(&smp, y, ring + (size_t)(y % ring_rows) * w);
        int safe = y + 1 < h ? first_src_row(top, s, h, y + 1) : h;
        if (safe > y + 1) safe = y + 1;
        for (; written < safe; written++)
            memcpy(plane + (size_t)written * stride, ring + (size_t)(written % ring_rows) * w,
                   (size_t)w);
    }
    free(ring);
    hc_sampler_fini(&smp);
    return 0;
}
