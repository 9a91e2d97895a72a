/* Shared helpers for render tests: synthetic canvases and requests. */
#ifndef HC_RENDER_UTIL_H
#define HC_RENDER_UTIL_H

#include "core/hc_core.h"
#include "jobs/hc_jobs.h"

#include <stdbool.h>

/* A w x h canvas with a deterministic pattern (kind 0..3: gradients,
 * checker, rings) so golden hashes see geometry and colour. */
void hc_test_pattern(hc_yuv *img, int w, int h, int kind);
/* Parse a request from JSON text (allow local files); NULL on error (the
 * message is printed). */
hc_request *hc_test_request(const char *json);
/* MD5 of an image's visible pixels as 32 hex chars into out[33]. */
void hc_test_md5(const hc_yuv *img, char out[33]);

/* Golden hashes (tests/golden/frames.txt, "name md5" lines). Open, check
 * any number of names, close. Under HC_GOLDEN_UPDATE=1 (make
 * golden-update) checks record instead of compare. Test names that check
 * goldens must start with golden_ so make golden-update runs them. */
typedef struct hc_golden {
    char *text;
    int mismatches;
} hc_golden;
void hc_golden_open(hc_golden *g);
/* Compare (or record) one hash; false on mismatch (printed, first 5). */
bool hc_golden_check(hc_golden *g, const char *name, const char *md5);
void hc_golden_close(hc_golden *g);

#endif
