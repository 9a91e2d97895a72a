/* The pipeline driven through the library: raw composed frames hashed in
 * order (before any encoder, whose output may vary with its threads), so
 * the same request renders the same frames whatever the thread count. */
#include "hc_test.h"
#include "render/hc_render.h"
#include "render_util.h"

#include <libavutil/md5.h>
#include <libavutil/mem.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct hashes {
    struct AVMD5 *md5;
    int64_t frames;
    bool in_order;
} hashes;

static int on_frame(void *ud, int64_t index, const hc_yuv *f) {
    hashes *h = ud;
    if (index != h->frames) h->in_order = false;
    h->frames++;
    for (int p = 0; p < 3; p++) {
        int pw = p ? f->w / 2 : f->w, ph = p ? f->h / 2 : f->h;
        for (int y = 0; y < ph; y++)
            av_md5_update(h->md5, f->plane[p] + (size_t)y * f->stride[p], (size_t)pw);
    }
    return 0;
}

static int render_hash(const hc_request *req, int threads, char out[33], int64_t *frames) {
    hashes h = {.md5 = av_md5_alloc(), .in_order = true};
    av_md5_init(h.md5);
    hc_render_opts o = {.null_sink = true,
                        .allow_local = true,
                        .compose_threads = threads,
                        .on_frame = on_frame,
                        .ud = &h};
    hc_render_result res;
    hc_err err = {0};
    int rc = hc_render_run(req, &o, &res, &err);
    if (rc != 0) fprintf(stderr, "    render: %s\n", err.msg);
    uint8_t d[16];
    av_md5_final(h.md5, d);
    av_free(h.md5);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    *frames = h.in_order ? h.frames : -1;
    hc_render_result_fini(&res);
    return rc;
}

HC_TEST_T(pipeline_same_request_same_frames_any_threads, 180) {
    const char *d = hc_test_tmpdir();
    for (int i = 0; i < 3; i++) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -v error -y -f lavfi -i testsrc2=size=480x360:rate=1 -vf hue=h=%d "
                 "-frames:v 1 %s/img%d.jpg",
                 i * 70, d, i);
        CHECK(hc_test_run(cmd, NULL) == 0);
    }
    char json[1024];
    snprintf(json, sizeof json,
             "{\"images\":[\"%s/img0.jpg\",\"%s/img1.jpg\",\"%s/"
             "img2.jpg\"],\"settings\":{\"vibe\":\"Emotional\","
             "\"resolution\":\"720p\",\"target_duration\":3,\"cut_duration\":1,\"seed\":11,"
             "\"ai_effects\":{\"motions\":[\"ken_burns\",\"shake\",\"float\"],\"transitions\":["
             "\"dissolve\",\"slideup\"]}}}",
             d, d, d);
    hc_request *req = hc_test_request(json);
    CHECK(req);
    char h1[33], h2[33], h3[33];
    int64_t n1, n2, n3;
    CHECK(render_hash(req, 1, h1, &n1) == 0);
    CHECK(render_hash(req, 2, h2, &n2) == 0);
    CHECK(render_hash(req, 3, h3, &n3) == 0);
    CHECK(n1 == 90 && n2 == 90 && n3 == 90);
    CHECKF(strcmp(h1, h2) == 0 && strcmp(h1, h3) == 0, "%s %s %s", h1, h2, h3);
    hc_request_free(req);
}

HC_TEST_T(pipeline_cancel_stops_promptly, 60) {
    const char *d = hc_test_tmpdir();
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -v error -y -f lavfi -i testsrc2=size=480x360:rate=1 -frames:v 1 %s/img0.jpg",
             d);
    CHECK(hc_test_run(cmd, NULL) == 0);
    char json[512], out[1024];
    snprintf(json, sizeof json,
             "{\"images\":[\"%s/"
             "img0.jpg\"],\"settings\":{\"target_duration\":120,\"resolution\":\"720p\"}}",
             d);
    snprintf(out, sizeof out, "%s/o.mp4", d);
    hc_request *req = hc_test_request(json);
    CHECK(req);
    atomic_int cancel = 1;
    hc_render_opts o = {.out_path = out, .allow_local = true, .cancel = &cancel};
    hc_render_result res;
    hc_err err = {0};
    CHECK(hc_render_run(req, &o, &res, &err) == HC_ECANCELED);
    FILE *f = fopen(out, "r");
    CHECK(!f);
    hc_render_result_fini(&res);
    hc_request_free(req);
}

/* Fault injection: a failure mid-render (here from the frame callback, as
 * an encoder or disk error would come) stops every thread, returns the
 * code, and leaves neither the MP4 nor the poster behind. */
static int fail_at_40(void *ud, int64_t index, const hc_yuv *f) {
    (void)ud;
    (void)f;
    return index == 40 ? HC_EIO : 0;
}

HC_TEST_T(pipeline_failure_mid_render_leaves_nothing, 60) {
    const char *d = hc_test_tmpdir();
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "ffmpeg -v error -y -f lavfi -i testsrc2=size=480x360:rate=1 -frames:v 1 %s/img0.jpg",
             d);
    CHECK(hc_test_run(cmd, NULL) == 0);
    char json[512], out[1024], poster[1024], part[1100];
    snprintf(json, sizeof json,
             "{\"images\":[\"%s/img0.jpg\",\"%s/"
             "img0.jpg\"],\"settings\":{\"target_duration\":3,\"resolution\":\"720p\"}}",
             d, d);
    snprintf(out, sizeof out, "%s/o.mp4", d);
    snprintf(poster, sizeof poster, "%s/o.jpg", d);
    snprintf(part, sizeof part, "%s.part", out);
    hc_request *req = hc_test_request(json);
    CHECK(req);
    hc_render_opts o = {
        .out_path = out, .poster_path = poster, .allow_local = true, .on_frame = fail_at_40};
    hc_render_result res;
    hc_err err = {0};
    CHECK(hc_render_run(req, &o, &res, &err) == HC_EIO);
    CHECKF(strstr(err.msg, "frame 40"), "%s", err.msg);
    CHECK(access(out, F_OK) != 0 && access(poster, F_OK) != 0 && access(part, F_OK) != 0);
    hc_render_result_fini(&res);
    hc_request_free(req);
}
