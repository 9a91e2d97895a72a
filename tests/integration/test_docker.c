/* The Docker images of the AWS deployment (deploy/aws-batch/docker/): built
 * from this tree by scripts/docker-build.sh (cached layers: under a second
 * when nothing changed, a minute or two from scratch), then run as AWS Batch
 * and Lambda run them: the image's own user (uid 10001, never root), its
 * entry point, a mounted directory for the job. The CPU image renders a
 * captioned job with no network to an MP4 that ffprobe reads and whose
 * Korean/Japanese/Chinese captions match the native binary's pixels; the
 * GPU image finds h264_nvenc in its libavcodec and, with no GPU on this
 * machine, falls back to libx264 saying why. Skipped only when the Docker
 * daemon is not reachable. */
#include "hc_test.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define IMG_CPU "hydra-compose:cpu"
#define IMG_GPU "hydra-compose:gpu"

/* Captions in the three CJK scripts the caption code picks fonts for. */
#define CAPTION "안녕하세요 こんにちは 你好"

#define NEED_IMAGES()                                                                              \
    do {                                                                                           \
        char why_[512];                                                                            \
        if (hc_test_docker_reachable(why_, sizeof why_) != 0) SKIP(why_);                          \
        CHECKF(hc_test_docker_build(NULL) == 0,                                                    \
               "scripts/docker-build.sh failed: see %s/docker-build.log", hc_test_tmpdir());       \
    } while (0)

/* A directory the image's user can write, with n 1280x720 JPEGs and a 2 s
 * 720p job (captions when caption is not NULL, settings.hardware=hw). */
static int make_job(const char *dir, const char *hw, const char *caption) {
    if (mkdir(dir, 0755) != 0) return -1;
    if (hc_test_make_jpegs(dir, 3, 1280, 720) != 0) return -1;
    char spec[2048], path[1024];
    snprintf(spec, sizeof spec,
             "{\"job_id\":\"docker-1\",\"images\":[{\"url\":\"img0.jpg\"},{\"url\":\"img1.jpg\"},"
             "{\"url\":\"img2.jpg\"}],\"settings\":{\"aspect_ratio\":\"16:9\",\"resolution\":"
             "\"720p\",\"target_duration\":2,\"hardware\":\"%s\",\"effect_preset\":\"crossfade\"}"
             "%s%s%s}",
             hw, caption ? ",\"script\":{\"lines\":[{\"text\":\"" : "", caption ? caption : "",
             caption ? "\",\"timing\":0.2,\"duration\":1.6}]}" : "");
    snprintf(path, sizeof path, "%s/job.json", dir);
    if (hc_test_write_file(path, spec, strlen(spec)) != 0) return -1;
    char cmd[2048];
    /* As root: the image's user owns it (as on Batch); else open to all. */
    snprintf(cmd, sizeof cmd, "chown -R 10001:10001 %s 2>/dev/null || chmod -R a+rwX %s", dir, dir);
    return hc_test_run(cmd, NULL);
}

/* The last line of s, parsed as JSON (the render's result line). */
static json_t *last_json_line(const char *s) {
    if (!s) return NULL;
    const char *end = s + strlen(s);
    while (end > s && (end[-1] == '\n' || end[-1] == ' '))
        end--;
    const char *start = end;
    while (start > s && start[-1] != '\n')
        start--;
    return json_loadb(start, (size_t)(end - start), 0, NULL);
}

static const char *sget(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* `docker run --rm --network none -v dir:/job IMAGE render /job/job.json
 * -o /job/OUT --json`; stdout in *out, stderr in dir/NAME.err. */
static int docker_render(const char *image, const char *dir, const char *out_name, char **out) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "docker run --rm --network none -v %s:/job %s render /job/job.json -o /job/%s --json "
             "2>%s/%s.err",
             dir, image, out_name, dir, out_name);
    return hc_test_run(cmd, out);
}

/* PSNR (luma+chroma average, dB; 1000 for identical) of the bottom 40% of
 * the frames at t seconds of two videos: where the captions are. */
static double caption_psnr(const char *a, const char *b, double t) {
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "ffmpeg -hide_banner -nostats -ss %.2f -i %s -ss %.2f -i %s -lavfi "
             "'[0:v]crop=iw:ih*0.4:0:ih*0.6[a];[1:v]crop=iw:ih*0.4:0:ih*0.6[b];[a][b]psnr' "
             "-frames:v 1 -f null - 2>&1",
             t, a, t, b);
    int rc = hc_test_run(cmd, &out);
    double v = -1;
    const char *p = out ? strstr(out, "average:") : NULL;
    if (rc == 0 && p) {
        p += strlen("average:");
        v = strncmp(p, "inf", 3) == 0 ? 1000.0 : atof(p);
    }
    free(out);
    return v;
}

HC_TEST_T(docker_images_run_as_uid_10001_with_the_worker_entry_point, 900) {
    NEED_IMAGES();
    const char *images[] = {IMG_CPU, IMG_GPU};
    for (int i = 0; i < 2; i++) {
        char cmd[1024], *out = NULL;
        snprintf(cmd, sizeof cmd,
                 "docker image inspect -f '{{.Config.User}}|{{json .Config.Entrypoint}}|"
                 "{{json .Config.Cmd}}|{{.Config.WorkingDir}}' %s",
                 images[i]);
        CHECK(hc_test_run(cmd, &out) == 0);
        CHECKF(strcmp(out, "10001:10001|[\"/usr/local/bin/hydra-compose\"]|[\"worker\"]|/data\n") ==
                   0,
               "%s config: %s", images[i], out);
        free(out);
        /* What the process really is, and that its home is writable. */
        snprintf(
            cmd, sizeof cmd,
            "docker run --rm --network none --entrypoint /bin/sh %s -c "
            "'id -u; id -g; touch /data/w && echo writable; test -w /etc && echo etc-writable; "
            "command -v cc gcc make || echo no-compiler'",
            images[i]);
        CHECK(hc_test_run(cmd, &out) == 0);
        CHECKF(strcmp(out, "10001\n10001\nwritable\nno-compiler\n") == 0, "%s: %s", images[i], out);
        free(out);
        /* The entry point is the binary itself. */
        snprintf(cmd, sizeof cmd, "docker run --rm --network none %s version", images[i]);
        CHECK(hc_test_run(cmd, &out) == 0);
        CHECKF(strncmp(out, "hydra-compose ", 14) == 0, "%s version: %s", images[i], out);
        free(out);
    }
}

HC_TEST_T(docker_images_are_lean, 900) {
    NEED_IMAGES();
    char *out = NULL;
    /* No apt lists, no docs or man pages, no Serif CJK faces, a stripped
     * binary (no .debug_info / .symtab section names in it); the fonts the
     * captions use and a built fontconfig cache are there. */
    const char *script =
        "ls /var/lib/apt/lists | grep -v -x -e lock -e partial | wc -l; "
        "find /usr/share/man /usr/share/info -type f | wc -l; "
        "find /usr/share/doc -type f ! -name copyright | wc -l; "
        "ls /usr/share/fonts/opentype/noto; "
        "grep -c -a -e .debug_info -e .symtab /usr/local/bin/hydra-compose; "
        "ls /var/cache/fontconfig | grep -c cache-; "
        "fc-match -f '%{family[0]}\\n' 'Noto Sans CJK JP:bold'; fc-match -f '%{family[0]}\\n' "
        "Symbola";
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "docker run --rm --network none --entrypoint /bin/sh %s -c \"%s\"",
             IMG_CPU, script);
    CHECK(hc_test_run(cmd, &out) == 0);
    int lists = -1, man = -1, docs = -1, dbg = -1, caches = -1;
    char f1[64] = "", f2[64] = "", fam1[64] = "", fam2[64] = "";
    int n = sscanf(out, "%d %d %d %63s %63s %d %d %63[^\n] %63[^\n]", &lists, &man, &docs, f1, f2,
                   &dbg, &caches, fam1, fam2);
    CHECKF(n == 9, "unexpected: %s", out);
    CHECKF(lists == 0 && man == 0 && docs == 0, "apt lists %d, man/info %d, docs %d", lists, man,
           docs);
    CHECKF(strcmp(f1, "NotoSansCJK-Bold.ttc") == 0 && strcmp(f2, "NotoSansCJK-Regular.ttc") == 0,
           "fonts: %s", out);
    CHECKF(dbg == 0, "binary not stripped: %s", out);
    CHECKF(caches > 0, "no fontconfig cache: %s", out);
    CHECKF(strcmp(fam1, "Noto Sans CJK JP") == 0 && strcmp(fam2, "Symbola") == 0, "fc-match: %s",
           out);
    free(out);
    /* The built cache is valid as the image holds it (layers keep no
     * nanoseconds of the font directories' mtimes): fontconfig rescans no
     * font and writes no cache of its own at start. */
    snprintf(cmd, sizeof cmd,
             "docker run --rm --network none --entrypoint /bin/sh %s -c 'fc-list >/dev/null; "
             "ls -A /data/.cache/fontconfig 2>/dev/null | wc -l'",
             IMG_CPU);
    CHECK(hc_test_run(cmd, &out) == 0);
    CHECKF(atoi(out) == 0, "fontconfig wrote %d cache files in $HOME: the image's are stale",
           atoi(out));
    free(out);
    /* The GPU image is the CPU image plus two variables: the same layers. */
    CHECK(hc_test_run("test \"$(docker image inspect -f '{{json .RootFS.Layers}}' " IMG_CPU
                      ")\" = \"$(docker image inspect -f '{{json .RootFS.Layers}}' " IMG_GPU ")\"",
                      NULL) == 0);
}

HC_TEST_T(docker_cpu_image_renders_a_captioned_job_offline, 900) {
    NEED_IMAGES();
    char dir[1024], *out = NULL;
    snprintf(dir, sizeof dir, "%s/job", hc_test_tmpdir());
    CHECK(make_job(dir, "auto", CAPTION) == 0);
    int rc = docker_render(IMG_CPU, dir, "out.mp4", &out);
    CHECKF(rc == 0, "docker render exit %d: %s", rc, out ? out : "");
    json_t *res = last_json_line(out);
    CHECKF(res, "no JSON result line: %s", out);
    CHECK(strcmp(sget(res, "encoder"), "libx264") == 0);
    CHECKF(strstr(sget(res, "encoder_reason"), "USE_NVENC=0") != NULL, "reason: %s",
           sget(res, "encoder_reason"));
    CHECK(strcmp(sget(res, "output"), "/job/out.mp4") == 0);
    CHECK(json_array_size(json_object_get(res, "warnings")) == 0);
    json_decref(res);
    /* A progress line with frames encoded came before the result. */
    CHECK(strstr(out, "\"frames_done\":") != NULL);
    free(out);

    /* ffprobe reads it: H.264, 1280x720, 2 s; written by uid 10001. */
    char mp4[1100], cmd[8192];
    snprintf(mp4, sizeof mp4, "%s/out.mp4", dir);
    struct stat st;
    CHECK(stat(mp4, &st) == 0 && st.st_size > 10000);
    CHECKF(st.st_uid == 10001, "owner uid %u", (unsigned)st.st_uid);
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height "
             "-show_entries format=duration -of default=nw=1 %s",
             mp4);
    CHECK(hc_test_run(cmd, &out) == 0);
    CHECKF(strstr(out, "codec_name=h264\nwidth=1280\nheight=720\n") != NULL, "ffprobe: %s", out);
    const char *d = strstr(out, "duration=");
    CHECK(d && fabs(atof(d + 9) - 2.0) < 0.1);
    free(out);
    snprintf(cmd, sizeof cmd, "%s/out.jpg", dir);
    CHECK(access(cmd, R_OK) == 0); /* the poster */

    /* The captions are drawn with the same fonts as on this machine: the
     * caption band matches the native binary's render of the same job, and
     * differs from a render without the captions (so the band holds them). */
    char native[1100], bare[1100], bare_dir[1100];
    snprintf(native, sizeof native, "%s/native.mp4", hc_test_tmpdir());
    snprintf(cmd, sizeof cmd, "USE_NVENC=0 %s render %s/job.json -o %s --quiet 2>/dev/null",
             hc_test_bin(), dir, native);
    CHECK(hc_test_run(cmd, NULL) == 0);
    snprintf(bare_dir, sizeof bare_dir, "%s/bare", hc_test_tmpdir());
    CHECK(make_job(bare_dir, "auto", NULL) == 0);
    snprintf(bare, sizeof bare, "%s/bare.mp4", hc_test_tmpdir());
    snprintf(cmd, sizeof cmd, "USE_NVENC=0 %s render %s/job.json -o %s --quiet 2>/dev/null",
             hc_test_bin(), bare_dir, bare);
    CHECK(hc_test_run(cmd, NULL) == 0);
    double same = caption_psnr(mp4, native, 1.0), diff = caption_psnr(native, bare, 1.0);
    CHECKF(same >= 45.0, "caption band vs native: PSNR %.1f dB (fonts differ?)", same);
    CHECKF(diff > 0 && diff < 35.0, "caption band without captions: PSNR %.1f dB", diff);
}

/* Lambda runs the image as an unprivileged user of its own choosing with a
 * read-only file system but /tmp: the binary, its libraries and fontconfig
 * (its cache built into the image) must not need to write anywhere else. */
HC_TEST_T(docker_cpu_image_renders_as_lambda_runs_it_read_only_any_uid, 900) {
    NEED_IMAGES();
    char dir[1024], cmd[4096], *out = NULL;
    snprintf(dir, sizeof dir, "%s/job", hc_test_tmpdir());
    CHECK(make_job(dir, "auto", CAPTION) == 0);
    snprintf(
        cmd, sizeof cmd,
        "docker run --rm --network none --read-only --tmpfs /tmp -u 993:990 -v %s:/job:ro "
        "--entrypoint /bin/sh %s -c '/usr/local/bin/hydra-compose render /job/job.json -o "
        "/tmp/out.mp4 --json 2>/tmp/err && echo size=$(stat -c %%s /tmp/out.mp4); cat /tmp/err'",
        dir, IMG_CPU);
    int rc = hc_test_run(cmd, &out);
    CHECKF(rc == 0, "exit %d: %s", rc, out ? out : "");
    /* The result line, the MP4's size, then stderr (nothing from fontconfig). */
    CHECKF(strstr(out, "\"output\":\"/tmp/out.mp4\"") != NULL, "%s", out);
    const char *size = strstr(out, "\nsize=");
    CHECKF(size && atol(size + 6) > 10000, "%s", out);
    CHECKF(!strstr(out, "ontconfig") && !strstr(out, "Read-only"), "stderr: %s", out);
    free(out);
}

/* An API Gateway HTTP API event (payload 2.0) through the Lambda Runtime
 * API stand-in at port; the runtime's answer ({statusCode, body, ...}),
 * or NULL. */
static json_t *lambda_invoke(int port, const char *method, const char *path, const char *body) {
    json_t *ev = json_pack(
        "{s:s, s:s, s:s, s:s, s:{}, s:{s:s, s:s, s:{s:s, s:s, s:s, s:s}, "
        "s:s, s:I}, s:b}",
        "version", "2.0", "routeKey", "$default", "rawPath", path, "rawQueryString", "", "headers",
        "requestContext", "requestId", "docker-1", "stage", "$default", "http", "method", method,
        "path", path, "protocol", "HTTP/1.1", "sourceIp", "192.0.2.1", "time",
        "03/Dec/2026:12:00:00 +0000", "timeEpoch", (json_int_t)1796299200000, "isBase64Encoded", 0);
    if (body) json_object_set_new(ev, "body", json_string(body));
    char *text = json_dumps(ev, JSON_COMPACT), url[128], *resp = NULL;
    json_decref(ev);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/test/invoke?wait=60", port);
    long st = hc_test_http("POST", url, text, NULL, &resp, NULL);
    free(text);
    json_t *rec = st == 200 && resp ? json_loads(resp, 0, NULL) : NULL;
    free(resp);
    const char *kind = json_string_value(json_object_get(rec, "kind"));
    json_t *out = kind && !strcmp(kind, "response")
                      ? json_loads(json_string_value(json_object_get(rec, "body")), 0, NULL)
                      : NULL;
    json_decref(rec);
    return out;
}

/* The Lambda function: the CPU image with command ["lambda"], run as Lambda
 * runs it (read-only root, /tmp writable, its own uid), against the Runtime
 * API stand-in on this machine's loopback; a SQLite store in /tmp and no
 * workers (submitted jobs stay queued); HC_DATA_DIR in /tmp as the
 * function's environment in deploy/aws-batch/terraform/api.tf sets it. */
HC_TEST_T(docker_cpu_image_serves_api_gateway_events_as_the_lambda, 900) {
    NEED_IMAGES();
    char portfile[1024], cmd[4096];
    snprintf(portfile, sizeof portfile, "%s/.lambda-port", hc_test_tmpdir());
    pid_t rt = fork();
    CHECK(rt >= 0);
    if (rt == 0) {
        snprintf(cmd, sizeof cmd, "%s/tests/data/lambda_runtime.py", hc_test_root());
        execlp("python3", "python3", cmd, portfile, (char *)NULL);
        _exit(127);
    }
    int port = -1;
    for (int i = 0; i < 200 && port < 0; i++) {
        char *p = hc_test_read_file(portfile, NULL);
        if (p && strchr(p, '\n')) port = atoi(p);
        free(p);
        if (port < 0) hc_test_sleep_ms(25);
    }
    CHECKF(port > 0, "the Lambda Runtime API stand-in did not start");
    char name[64];
    snprintf(name, sizeof name, "hc-test-lambda-%d", (int)getpid());
    snprintf(cmd, sizeof cmd,
             "docker run -d --rm --name %s --network host --read-only --tmpfs /tmp -u 993:990 "
             "-e AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d -e HC_DATA_DIR=/tmp/hydra-data "
             "-e HC_EXECUTOR=local -e HC_WORKERS=0 %s lambda >/dev/null",
             name, port, IMG_CPU);
    CHECK(hc_test_run(cmd, NULL) == 0);
    json_t *r = lambda_invoke(port, "POST", "/render",
                              "{\"job_id\":\"dock-1\",\"images\":[{\"url\":\"https://example.com/"
                              "a.jpg\"},{\"url\":\"https://example.com/b.jpg\"}]}");
    json_t *r2 = lambda_invoke(port, "GET", "/render/nope", NULL);
    snprintf(cmd, sizeof cmd, "docker logs %s >%s/lambda.log 2>&1; docker rm -f %s >/dev/null",
             name, hc_test_tmpdir(), name);
    hc_test_run(cmd, NULL);
    kill(rt, SIGTERM);
    waitpid(rt, NULL, 0);
    CHECKF(r, "no answer to the submit event (container log: %s/lambda.log)", hc_test_tmpdir());
    CHECKF(json_integer_value(json_object_get(r, "statusCode")) == 202, "submit: %s",
           json_string_value(json_object_get(r, "body")));
    CHECK(strstr(json_string_value(json_object_get(r, "body")), "\"queued\""));
    CHECK(r2 && json_integer_value(json_object_get(r2, "statusCode")) == 404);
    json_decref(r);
    json_decref(r2);
}

HC_TEST_T(docker_cpu_image_styles_json_matches_the_native_binary, 900) {
    NEED_IMAGES();
    char *in_image = NULL, *native = NULL, cmd[1024];
    CHECK(hc_test_run("docker run --rm --network none " IMG_CPU " styles --json", &in_image) == 0);
    json_t *j = json_loads(in_image, 0, NULL);
    CHECKF(j && json_array_size(json_object_get(j, "vibes")) > 0, "styles --json: %.200s",
           in_image);
    json_decref(j);
    snprintf(cmd, sizeof cmd, "%s styles --json", hc_test_bin());
    CHECK(hc_test_run(cmd, &native) == 0);
    CHECK(strcmp(in_image, native) == 0);
    free(in_image);
    free(native);
}

HC_TEST_T(docker_gpu_image_has_nvenc_and_falls_back_to_libx264_without_a_gpu, 900) {
    NEED_IMAGES();
    char *out = NULL;
    /* The variables without which the NVIDIA runtime mounts no NVENC. */
    CHECK(hc_test_run("docker image inspect -f '{{json .Config.Env}}' " IMG_GPU, &out) == 0);
    CHECKF(strstr(out, "\"NVIDIA_DRIVER_CAPABILITIES=compute,video,utility\"") &&
               strstr(out, "\"NVIDIA_VISIBLE_DEVICES=all\"") && !strstr(out, "USE_NVENC"),
           "env: %s", out);
    free(out);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/job", hc_test_tmpdir());
    CHECK(make_job(dir, "gpu", NULL) == 0);
    int rc = docker_render(IMG_GPU, dir, "gpu.mp4", &out);
    CHECKF(rc == 0, "docker render exit %d: %s", rc, out ? out : "");
    json_t *res = last_json_line(out);
    CHECKF(res, "no JSON result line: %s", out);
    const char *reason = sget(res, "encoder_reason");
    CHECK(strcmp(sget(res, "encoder"), "libx264") == 0);
    /* h264_nvenc is in the image's libavcodec (else "not built into this
     * libavcodec"); what is missing is the driver the NVIDIA runtime mounts. */
    CHECKF(strstr(reason, "h264_nvenc: Cannot load libcuda.so.1") &&
               strstr(reason, "settings.hardware=gpu fell back to libx264") &&
               !strstr(reason, "not built"),
           "reason: %s", reason);
    json_decref(res);
    free(out);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 "
             "%s/gpu.mp4",
             dir);
    CHECK(hc_test_run(cmd, &out) == 0);
    CHECKF(strcmp(out, "h264\n") == 0, "ffprobe: %s", out);
    free(out);
}
