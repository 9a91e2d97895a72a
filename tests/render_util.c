/* Synthetic canvases, requests and frame hashes for the render tests. */
#include "render_util.h"
#include "hc_test.h"

#include <libavutil/md5.h>
#include <libavutil/mem.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void hc_test_pattern(hc_yuv *img, int w, int h, int kind) {
    hc_yuv_alloc(img, w, h);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            int v;
            switch (kind % 4) {
            case 0:
                v = 16 + (x * 219) / (w - 1);
                break;
            case 1:
                v = 16 + (y * 219) / (h - 1);
                break;
            case 2:
                v = ((x / 8 + y / 8) & 1) ? 200 : 40;
                break;
            default: {
                double d = hypot(x - w / 2.0, y - h / 2.0);
                v = 126 + (int)(100 * sin(d / 5));
            }
            }
            img->plane[0][(size_t)y * img->stride[0] + x] = (uint8_t)v;
        }
    }
    for (int y = 0; y < h / 2; y++) {
        for (int x = 0; x < w / 2; x++) {
            img->plane[1][(size_t)y * img->stride[1] + x] =
                (uint8_t)(64 + (x * 128) / (w / 2) + kind * 7);
            img->plane[2][(size_t)y * img->stride[2] + x] =
                (uint8_t)(64 + (y * 128) / (h / 2) - kind * 5);
        }
    }
}

hc_request *hc_test_request(const char *json) {
    hc_request *req = NULL;
    hc_err err = {0};
    hc_request_opts o = {.allow_local_files = true};
    if (hc_request_parse(json, strlen(json), &o, &req, &err) != 0) {
        fprintf(stderr, "    request: %s\n", err.msg);
        return NULL;
    }
    return req;
}

void hc_test_md5(const hc_yuv *img, char out[33]) {
    struct AVMD5 *m = av_md5_alloc();
    uint8_t d[16];
    av_md5_init(m);
    for (int p = 0; p < 3; p++) {
        int pw = p ? img->w / 2 : img->w, ph = p ? img->h / 2 : img->h;
        for (int y = 0; y < ph; y++)
            av_md5_update(m, img->plane[p] + (size_t)y * img->stride[p], (size_t)pw);
    }
    av_md5_final(m, d);
    av_free(m);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

void hc_golden_open(hc_golden *g) {
    char path[4200];
    snprintf(path, sizeof path, "%s/tests/golden/frames.txt", hc_test_root());
    g->text = hc_test_read_file(path, NULL);
    g->mismatches = 0;
}

bool hc_golden_check(hc_golden *g, const char *name, const char *md5) {
    if (getenv("HC_GOLDEN_UPDATE")) {
        char path[4200];
        snprintf(path, sizeof path, "%s/tests/golden/frames.part.new", hc_test_root());
        FILE *f = fopen(path, "a");
        if (f) {
            fprintf(f, "%s %s\n", name, md5);
            fclose(f);
        }
        return true;
    }
    char key[160];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = g->text ? strstr(g->text, key) : NULL;
    if (!p) {
        if (g->mismatches < 5)
            fprintf(stderr, "    no golden hash for %s (make golden-update)\n", name);
        g->mismatches++;
        return false;
    }
    p += strlen(key);
    if (strncmp(p, md5, 32) != 0) {
        if (g->mismatches < 5) fprintf(stderr, "    %s: got %s, expected %.32s\n", name, md5, p);
        g->mismatches++;
        return false;
    }
    return true;
}

void hc_golden_close(hc_golden *g) {
    free(g->text);
    g->text = NULL;
}
