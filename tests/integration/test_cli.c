/* End-to-end tests of `hydra-compose render`: real photos in, an MP4
 * probed with ffprobe out; the command-line contract (exit codes, --json,
 * poster) and every bad-input case named in the error. */
#include "hc_test.h"

#include <jansson.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_spec(const char *path, const char *json) {
    return hc_test_write_file(path, json, strlen(json));
}

/* Run render; returns exit status; stdout in *out, stderr in *errout. */
static int render(const char *spec, const char *out_mp4, const char *extra, char **out,
                  char **errout) {
    char cmd[4096], errpath[1024];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", hc_test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s render %s -o %s %s 2>%s", hc_test_bin(), spec, out_mp4,
             extra ? extra : "", errpath);
    int rc = hc_test_run(cmd, out);
    if (errout) *errout = hc_test_read_file(errpath, NULL);
    return rc;
}

static json_t *ffprobe(const char *path) {
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -count_frames -show_streams -show_format -of json %s", path);
    if (hc_test_run(cmd, &out) != 0) {
        free(out);
        return NULL;
    }
    json_t *j = json_loads(out, 0, NULL);
    free(out);
    return j;
}

static const char *sget(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* True if the top-level "moov" box comes before "mdat" (faststart). */
static bool moov_first(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    unsigned char h[16];
    long pos = 0;
    bool result = false;
    while (fseek(f, pos, SEEK_SET) == 0 && fread(h, 1, 8, f) == 8) {
        uint64_t size = (uint64_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
        if (memcmp(h + 4, "moov", 4) == 0) {
            result = true;
            break;
        }
        if (memcmp(h + 4, "mdat", 4) == 0) break;
        if (size == 1 && fread(h + 8, 1, 8, f) == 8) {
            size = 0;
            for (int i = 8; i < 16; i++)
                size = size << 8 | h[i];
        }
        if (size < 8) break;
        pos += (long)size;
    }
    fclose(f);
    return result;
}

HC_TEST_T(cli_render_probe_mp4_and_poster, 180) {
    const char *d = hc_test_tmpdir();
    CHECK(hc_test_make_jpegs(d, 3, 640, 480) == 0);
    char spec[1024], mp4[1024], jpg[1024];
    snprintf(spec, sizeof spec, "%s/spec.json", d);
    snprintf(mp4, sizeof mp4, "%s/out.mp4", d);
    snprintf(jpg, sizeof jpg, "%s/out.jpg", d);
    /* relative paths resolve against the spec's directory */
    CHECK(write_spec(
              spec,
              "{\"images\":[{\"url\":\"img0.jpg\"},{\"url\":\"img1.jpg\",\"focus\":{\"x\":0.2,"
              "\"y\":0.5}},"
              "{\"url\":\"img2.jpg\"}],\"settings\":{\"vibe\":\"Chill\",\"aspect_ratio\":\"4:5\","
              "\"resolution\":\"720p\",\"fps\":25,\"target_duration\":3.2,\"cut_duration\":1}}") ==
          0);
    char *out = NULL, *err = NULL;
    int rc = render(spec, mp4, "--json", &out, &err);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    /* --json: progress lines then the result */
    char *last = strrchr(out, '{');
    json_t *res = json_loads(last, 0, NULL);
    CHECKF(res, "last line is not JSON: %s", last);
    CHECK(strcmp(sget(res, "encoder"), "libx264") == 0);
    CHECK(strstr(sget(res, "output"), "out.mp4") && strstr(sget(res, "poster"), "out.jpg"));
    CHECK(fabs(json_real_value(json_object_get(res, "duration_s")) - 3.2) < 0.05);
    CHECK(json_is_array(json_object_get(res, "warnings")));
    CHECK(strstr(out, "\"stage\":\"rendering\"") && strstr(out, "\"frames_total\":80"));
    json_decref(res);
    json_t *p = ffprobe(mp4);
    CHECK(p);
    json_t *st = json_array_get(json_object_get(p, "streams"), 0);
    CHECK(strcmp(sget(st, "codec_name"), "h264") == 0);
    CHECK(strcmp(sget(st, "profile"), "High") == 0);
    CHECK(strcmp(sget(st, "pix_fmt"), "yuv420p") == 0);
    CHECK(strcmp(sget(st, "color_primaries"), "bt709") == 0);
    CHECK(json_integer_value(json_object_get(st, "width")) == 720);
    CHECK(json_integer_value(json_object_get(st, "height")) == 900);
    CHECK(strcmp(sget(st, "r_frame_rate"), "25/1") == 0);
    CHECK(strcmp(sget(st, "nb_read_frames"), "80") == 0);
    double dur = atof(sget(json_object_get(p, "format"), "duration"));
    CHECKF(fabs(dur - 3.2) <= 1.0 / 25 + 1e-6, "duration %.3f", dur);
    json_decref(p);
    CHECK(moov_first(mp4));
    size_t n = 0;
    char *poster = hc_test_read_file(jpg, &n);
    CHECK(poster && n > 1000 && (unsigned char)poster[0] == 0xFF &&
          (unsigned char)poster[1] == 0xD8);
    free(poster);
    free(out);
    free(err);
}

HC_TEST_T(cli_every_aspect_and_resolution, 300) {
    static const char *aspects[] = {"9:16", "16:9", "1:1", "4:5", "4:3"};
    static const char *res[] = {"720p", "1080p", "1440p", "2160p"};
    static const int sizes[5][4][2] = {
        {{720, 1280}, {1080, 1920}, {1440, 2560}, {2160, 3840}},
        {{1280, 720}, {1920, 1080}, {2560, 1440}, {3840, 2160}},
        {{720, 720}, {1080, 1080}, {1440, 1440}, {2160, 2160}},
        {{720, 900}, {1080, 1350}, {1440, 1800}, {2160, 2700}},
        {{960, 720}, {1440, 1080}, {1920, 1440}, {2880, 2160}},
    };
    const char *d = hc_test_tmpdir();
    CHECK(hc_test_make_jpegs(d, 2, 320, 240) == 0);
    for (int a = 0; a < 5; a++) {
        for (int r = 0; r < 4; r++) {
            char spec[1024], mp4[1024], json[1024];
            snprintf(spec, sizeof spec, "%s/s.json", d);
            snprintf(mp4, sizeof mp4, "%s/o.mp4", d);
            snprintf(
                json, sizeof json,
                "{\"images\":[\"img0.jpg\",\"img1.jpg\"],\"settings\":{\"aspect_ratio\":\"%s\","
                "\"resolution\":\"%s\",\"fps\":24,\"target_duration\":0.25,\"quality\":\"draft\","
                "\"fit\":\"%s\"}}",
                aspects[a], res[r],
                r % 3 == 0   ? "cover"
                : r % 3 == 1 ? "contain"
                             : "blur");
            CHECK(write_spec(spec, json) == 0);
            char *err = NULL;
            int rc = render(spec, mp4, "--quiet", NULL, &err);
            CHECKF(rc == 0, "%s %s: exit %d: %s", aspects[a], res[r], rc, err);
            free(err);
            json_t *p = ffprobe(mp4);
            CHECK(p);
            json_t *st = json_array_get(json_object_get(p, "streams"), 0);
            CHECKF(json_integer_value(json_object_get(st, "width")) == sizes[a][r][0] &&
                       json_integer_value(json_object_get(st, "height")) == sizes[a][r][1],
                   "%s %s: got %lldx%lld", aspects[a], res[r],
                   json_integer_value(json_object_get(st, "width")),
                   json_integer_value(json_object_get(st, "height")));
            CHECK(strcmp(sget(st, "nb_read_frames"), "6") == 0);
            json_decref(p);
        }
    }
}

HC_TEST_T(cli_every_fps, 120) {
    static const int fps[] = {24, 25, 30, 50, 60};
    const char *d = hc_test_tmpdir();
    CHECK(hc_test_make_jpegs(d, 2, 320, 240) == 0);
    for (int i = 0; i < 5; i++) {
        char spec[1024], mp4[1024], json[512];
        snprintf(spec, sizeof spec, "%s/s.json", d);
        snprintf(mp4, sizeof mp4, "%s/o.mp4", d);
        snprintf(
            json, sizeof json,
            "{\"images\":[\"img0.jpg\",\"img1.jpg\"],\"settings\":{\"aspect_ratio\":\"1:1\","
            "\"resolution\":\"720p\",\"fps\":%d,\"target_duration\":1.5,\"quality\":\"draft\"}}",
            fps[i]);
        CHECK(write_spec(spec, json) == 0);
        CHECK(render(spec, mp4, "--quiet", NULL, NULL) == 0);
        json_t *p = ffprobe(mp4);
        CHECK(p);
        json_t *st = json_array_get(json_object_get(p, "streams"), 0);
        char rate[16];
        snprintf(rate, sizeof rate, "%d/1", fps[i]);
        CHECKF(strcmp(sget(st, "r_frame_rate"), rate) == 0, "fps %d: %s", fps[i],
               sget(st, "r_frame_rate"));
        CHECKF(atoi(sget(st, "nb_read_frames")) == (int)lround(1.5 * fps[i]), "fps %d: %s frames",
               fps[i], sget(st, "nb_read_frames"));
        json_decref(p);
    }
}

/* Each bad input: exit 2, a message naming the field or file, no output. */
HC_TEST_T(cli_bad_input_exits_2_naming_the_problem, 120) {
    const char *d = hc_test_tmpdir();
    CHECK(hc_test_make_jpegs(d, 1, 320, 240) == 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/trunc.jpg", d);
    size_t n;
    char *full = NULL;
    {
        char src[1024];
        snprintf(src, sizeof src, "%s/img0.jpg", d);
        full = hc_test_read_file(src, &n);
        CHECK(full);
        CHECK(hc_test_write_file(path, full, n / 2) == 0);
        free(full);
    }
    snprintf(path, sizeof path, "%s/page.jpg", d);
    CHECK(hc_test_write_file(path, "<!DOCTYPE html><html><body>404</body></html>", 45) == 0);
    snprintf(path, sizeof path, "%s/empty.png", d);
    CHECK(hc_test_write_file(path, "", 0) == 0);
    static const struct {
        const char *json, *expect;
    } cases[] = {
        {"{\"images\":[]}", "images"},
        {"{\"images\":[\"img0.jpg\"],\"settings\":{\"vibe\":\"Groovy\"}}", "settings.vibe"},
        {"{\"images\":[\"img0.jpg\"],\"settings\":{\"fps\":29}}", "settings.fps"},
        {"{\"images\":[\"img0.jpg\"],\"settings\":{\"target_duration\":-4}}",
         "settings.target_duration"},
        {"{\"images\":[\"img0.jpg\"],\"settings\":{\"target_duration\":1e9}}",
         "settings.target_duration"},
        {"{\"images\":[\"img0.jpg\"],\"settings\":{\"aspect_ratio\":7}}", "settings.aspect_ratio"},
        {"{\"images\":[{\"url\":\"ftp://x/y.jpg\"}]}", "images[0].url"},
        {"{\"images\":[\"img0.jpg\"],\"settings\":{\"ai_effects\":{\"transitions\":[\"warp9\"]}}}",
         "warp9"},
        {"{\"images\":[\"img0.jpg\", \"missing.jpg\"]}", "images[1]"},
        {"{\"images\":[\"img0.jpg\", \"trunc.jpg\"]}", "images[1]"},
        {"{\"images\":[\"page.jpg\"]}", "images[0]"},
        {"{\"images\":[\"empty.png\"]}", "images[0]"},
        {"{\"images\":[\"img0.jpg\"", "JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char spec[1024], mp4[1024];
        snprintf(spec, sizeof spec, "%s/bad.json", d);
        snprintf(mp4, sizeof mp4, "%s/bad.mp4", d);
        CHECK(write_spec(spec, cases[i].json) == 0);
        char *err = NULL;
        int rc = render(spec, mp4, "--quiet", NULL, &err);
        CHECKF(rc == 2, "case %zu (%s): exit %d, stderr: %s", i, cases[i].json, rc, err);
        CHECKF(err && strstr(err, cases[i].expect), "case %zu: stderr lacks \"%s\": %s", i,
               cases[i].expect, err);
        CHECKF(access(mp4, F_OK) != 0, "case %zu left an output file", i);
        free(err);
    }
    /* 201 images */
    char *big = malloc(201 * 20 + 64), spec[1024], mp4[1024];
    strcpy(big, "{\"images\":[");
    for (int i = 0; i < 201; i++)
        strcat(big, i ? ",\"img0.jpg\"" : "\"img0.jpg\"");
    strcat(big, "]}");
    snprintf(spec, sizeof spec, "%s/many.json", d);
    snprintf(mp4, sizeof mp4, "%s/many.mp4", d);
    CHECK(write_spec(spec, big) == 0);
    free(big);
    char *err = NULL;
    CHECK(render(spec, mp4, "--quiet", NULL, &err) == 2);
    CHECKF(err && strstr(err, "200"), "%s", err);
    free(err);
}

HC_TEST_T(cli_unwritable_output_exits_1_and_json_error, 60) {
    const char *d = hc_test_tmpdir();
    CHECK(hc_test_make_jpegs(d, 1, 320, 240) == 0);
    char spec[1024];
    snprintf(spec, sizeof spec, "%s/s.json", d);
    CHECK(write_spec(spec, "{\"images\":[\"img0.jpg\"],\"settings\":{\"target_duration\":0.5,"
                           "\"resolution\":\"720p\"}}") == 0);
    char *out = NULL, *err = NULL;
    int rc = render(spec, "/nonexistent-dir/x.mp4", "--json", &out, &err);
    CHECKF(rc == 1, "exit %d: %s", rc, err);
    CHECK(strstr(out, "\"error\"") && strstr(err, "/nonexistent-dir/x.mp4"));
    free(out);
    free(err);
}

HC_TEST_T(cli_http_images_from_local_server, 120) {
    const char *d = hc_test_tmpdir();
    CHECK(hc_test_make_jpegs(d, 3, 480, 360) == 0);
    int port = hc_test_httpd(d);
    CHECK(port > 0);
    char spec[1024], mp4[1024], json[1024];
    snprintf(spec, sizeof spec, "%s/s.json", d);
    snprintf(mp4, sizeof mp4, "%s/o.mp4", d);
    snprintf(json, sizeof json,
             "{\"job_id\":\"test-001\",\"images\":[{\"url\":\"http://127.0.0.1:%d/img0.jpg\"},"
             "{\"url\":\"http://127.0.0.1:%d/redirect/2/img1.jpg\"},{\"url\":\"http://127.0.0.1:%d/"
             "flaky/1/img2.jpg\"}],"
             "\"settings\":{\"vibe\":\"Pop\",\"aspect_ratio\":\"9:16\",\"resolution\":\"720p\","
             "\"target_duration\":2}}",
             port, port, port);
    CHECK(write_spec(spec, json) == 0);
    char *err = NULL;
    int rc = render(spec, mp4, "--quiet", NULL, &err);
    CHECKF(rc == 0, "exit %d: %s", rc, err);
    free(err);
    /* an HTML page where an image should be */
    snprintf(json, sizeof json,
             "{\"images\":[{\"url\":\"http://127.0.0.1:%d/img0.jpg\"},{\"url\":\"http://"
             "127.0.0.1:%d/html\"}]}",
             port, port);
    CHECK(write_spec(spec, json) == 0);
    rc = render(spec, mp4, "--quiet", NULL, &err);
    CHECKF(rc == 2 && err && strstr(err, "images[1]") && strstr(err, "HTML"), "exit %d: %s", rc,
           err);
    free(err);
    /* 404 */
    snprintf(json, sizeof json, "{\"images\":[{\"url\":\"http://127.0.0.1:%d/nope.jpg\"}]}", port);
    CHECK(write_spec(spec, json) == 0);
    rc = render(spec, mp4, "--quiet", NULL, &err);
    CHECKF(rc == 2 && err && strstr(err, "images[0]") && strstr(err, "404"), "exit %d: %s", rc,
           err);
    free(err);
}

/* Every vibe renders with its whole look (grade, filters, overlays,
 * transitions, captions) and reports nothing left out. */
HC_TEST_T(cli_every_vibe_with_captions, 300) {
    const char *d = hc_test_tmpdir();
    CHECK(hc_test_make_jpegs(d, 3, 480, 360) == 0);
    for (int v = 0; v < 8; v++) {
        static const char *vibes[] = {"Exciting", "Emotional", "Pop",    "Minimal",
                                      "Chill",    "Intense",   "Dreamy", "Energetic"};
        char spec[1024], mp4[1024], json[1024];
        snprintf(spec, sizeof spec, "%s/s.json", d);
        snprintf(mp4, sizeof mp4, "%s/o.mp4", d);
        snprintf(json, sizeof json,
                 "{\"images\":[\"img0.jpg\",\"img1.jpg\",\"img2.jpg\"],\"script\":{\"lines\":["
                 "{\"text\":\"안녕하세요\",\"timing\":0.2,\"duration\":1.5},{\"text\":\"Hello "
                 "there\",\"timing\":1.8,\"duration\":3}]},"
                 "\"settings\":{\"vibe\":\"%s\",\"resolution\":\"720p\",\"target_duration\":3,"
                 "\"cut_duration\":1,"
                 "\"quality\":\"draft\"}}",
                 vibes[v]);
        CHECK(write_spec(spec, json) == 0);
        char *out = NULL, *err = NULL;
        int rc = render(spec, mp4, "--json", &out, &err);
        CHECKF(rc == 0, "%s: exit %d: %s", vibes[v], rc, err);
        json_t *res = json_loads(strrchr(out, '{'), 0, NULL);
        CHECK(res);
        CHECKF(json_array_size(json_object_get(res, "warnings")) == 0, "%s: warnings %s", vibes[v],
               strrchr(out, '{'));
        json_decref(res);
        json_t *p = ffprobe(mp4);
        CHECK(p);
        json_t *st = json_array_get(json_object_get(p, "streams"), 0);
        CHECK(strcmp(sget(st, "nb_read_frames"), "90") == 0);
        json_decref(p);
        free(out);
        free(err);
    }
}
