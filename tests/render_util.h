/* Shared helpers for render tests: synthetic canvases and requests. */
#ifndef HC_RENDER_UTIL_H
#define HC_RENDER_UTIL_H

#include "core/hc_core.h"
#include "jobs/hc_jobs.h"

/* A w x h canvas with a deterministic pattern (kind 0..3: gradients,
 * checker, rings) so golden hashes see geometry and colour. */
void hc_test_pattern(hc_yuv *img, int w, int h, int kind);
/* Parse a request from JSON text (allow local files); NULL on error (the
 * message is printed). */
hc_request *hc_test_request(const char *json);
/* MD5 of an image's visible pixels as 32 hex chars into out[33]. */
void hc_test_md5(const hc_yuv *img, char out[33]);

#endif
