/* End to end with music: click/drum tracks made by ffmpeg at known tempos,
 * rendered through the CLI; the output is checked from the outside (the
 * result's cuts against the true beats, ffprobe, ffmpeg's ebur128). */
#include "hc_test.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A kick-like thump every beat from `first` s (60 Hz burst + click). */
static int make_track(const char *path, double bpm, double first, double dur, double gain) {
    char cmd[2048];
    double T = 60.0 / bpm;
    snprintf(cmd, sizeof cmd,
             "ffmpeg -v error -y -f lavfi -i "
             "\"aevalsrc='%g*gte(t,%g)*(sin(2*PI*60*t)+0.3*sin(2*PI*2400*t)*exp(-60*mod(t-%g,%g)))"
             "*exp(-18*mod(t-%g,%g))|%g*gte(t,%g)*sin(2*PI*60*t)*exp(-18*mod(t-%g,%g))':s=44100:d=%"
             "g\" %s",
             gain, first, first, T, first, T, gain, first, first, T, dur, path);
    return hc_test_run(cmd, NULL);
}

static int render_json(const char *spec_json, const char *out, char **stdout_text,
                       char **err_text) {
    char spec[1024], cmd[4096], errp[1024];
    snprintf(spec, sizeof spec, "%s/spec.json", hc_test_tmpdir());
    snprintf(errp, sizeof errp, "%s/err.txt", hc_test_tmpdir());
    if (hc_test_write_file(spec, spec_json, strlen(spec_json)) != 0) return -1;
    snprintf(cmd, sizeof cmd, "%s render %s -o %s --json 2>%s", hc_test_bin(), spec, out, errp);
    int rc = hc_test_run(cmd, stdout_text);
    *err_text = hc_test_read_file(errp, NULL);
    return rc;
}

static int make_images(void) {
    for (int i = 0; i < 3; i++) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "ffmpeg -v error -y -f lavfi -i testsrc2=size=320x240:rate=1 -vf hue=h=%d "
                 "-frames:v 1 %s/img%d.jpg",
                 i * 80, hc_test_tmpdir(), i);
        if (hc_test_run(cmd, NULL) != 0) return -1;
    }
    return 0;
}

HC_TEST_T(music_cuts_on_the_beat_at_four_tempos, 300) {
    static const double bpms[] = {74, 82, 120, 144};
    const char *d = hc_test_tmpdir();
    CHECK(make_images() == 0);
    for (int i = 0; i < 4; i++) {
        char track[1024], out[1024], json[2048];
        snprintf(track, sizeof track, "%s/drums%d.mp3", d, i);
        snprintf(out, sizeof out, "%s/o%d.mp4", d, i);
        const double first = 0.137, start = 0.4, T = 60 / bpms[i];
        CHECK(make_track(track, bpms[i], first, 20, 0.3) == 0);
        snprintf(json, sizeof json,
                 "{\"images\":[\"%s/img0.jpg\",\"%s/img1.jpg\",\"%s/"
                 "img2.jpg\"],\"audio\":{\"url\":\"%s\",\"start_time\":%g},"
                 "\"settings\":{\"vibe\":\"Minimal\",\"resolution\":\"720p\",\"aspect_ratio\":\"1:"
                 "1\",\"fps\":30,"
                 "\"target_duration\":10,\"quality\":\"draft\"}}",
                 d, d, d, track, start);
        char *so = NULL, *se = NULL;
        int rc = render_json(json, out, &so, &se);
        CHECKF(rc == 0, "%g BPM: exit %d: %s", bpms[i], rc, se);
        json_t *res = json_loads(strrchr(so, '{'), 0, NULL);
        CHECK(res);
        double bpm = json_real_value(json_object_get(res, "bpm"));
        CHECKF(fabs(bpm - bpms[i]) <= 0.02 * bpms[i], "%g BPM detected as %.2f", bpms[i], bpm);
        json_t *cuts = json_object_get(res, "cuts_s");
        CHECKF(json_array_size(cuts) >= 4, "%g BPM: %zu cuts", bpms[i], json_array_size(cuts));
        size_t k;
        json_t *c;
        json_array_foreach(cuts, k, c) {
            /* true beats of the played segment: first + n T - start */
            double t = json_real_value(c) + start, n = round((t - first) / T),
                   off = fabs(t - (first + n * T));
            CHECKF(off <= 1.0 / 30 + 1e-6, "%g BPM: cut at %.3f s is %.3f s off the beat", bpms[i],
                   json_real_value(c), off);
        }
        CHECK(json_array_size(json_object_get(res, "warnings")) == 0);
        json_decref(res);
        free(so);
        free(se);
        /* the MP4: AAC 48 kHz stereo, durations matching */
        char cmd[2048], *probe = NULL;
        snprintf(cmd, sizeof cmd, "ffprobe -v error -show_streams -of json %s", out);
        CHECK(hc_test_run(cmd, &probe) == 0);
        json_t *p = json_loads(probe, 0, NULL);
        CHECK(p);
        double vd = 0, ad = 0;
        size_t si;
        json_t *st;
        bool aac = false;
        json_array_foreach(json_object_get(p, "streams"), si, st) {
            const char *type = json_string_value(json_object_get(st, "codec_type"));
            double dur = atof(json_string_value(json_object_get(st, "duration")));
            if (strcmp(type, "video") == 0)
                vd = dur;
            else {
                ad = dur;
                aac = strcmp(json_string_value(json_object_get(st, "codec_name")), "aac") == 0 &&
                      strcmp(json_string_value(json_object_get(st, "sample_rate")), "48000") == 0 &&
                      json_integer_value(json_object_get(st, "channels")) == 2;
            }
        }
        CHECKF(aac, "no AAC 48 kHz stereo track: %s", probe);
        CHECKF(fabs(vd - 10) < 1e-6 && fabs(ad - vd) <= 1024.0 / 48000 + 1e-6,
               "video %.4f s, audio %.4f s", vd, ad);
        json_decref(p);
        free(probe);
    }
}

HC_TEST_T(music_loudness_fades_and_loop, 180) {
    const char *d = hc_test_tmpdir();
    CHECK(make_images() == 0);
    char quiet[1024], out[1024], json[2048];
    snprintf(quiet, sizeof quiet, "%s/quiet.wav", d);
    snprintf(out, sizeof out, "%s/o.mp4", d);
    /* 6 s of quiet music for 20 s of video: it loops three times */
    CHECK(make_track(quiet, 120, 0.25, 6.0, 0.03) == 0);
    snprintf(json, sizeof json,
             "{\"images\":[\"%s/img0.jpg\",\"%s/img1.jpg\"],\"audio\":{\"url\":\"%s\"},"
             "\"settings\":{\"vibe\":\"Pop\",\"resolution\":\"720p\",\"aspect_ratio\":\"1:1\","
             "\"target_duration\":20,\"quality\":\"draft\"}}",
             d, d, quiet);
    char *so = NULL, *se = NULL;
    CHECKF(render_json(json, out, &so, &se) == 0, "%s", se);
    /* Cuts stay on the beat after every loop seam: each repeat starts 20 ms
     * (the crossfade) before the previous one ends, so the beats recur every
     * 5.98 s, not every 6 s (after two loops that is more than a frame). */
    json_t *res = json_loads(strrchr(so, '{'), 0, NULL);
    CHECK(res);
    const double period = 6.0 - 0.020;
    size_t k, late = 0;
    json_t *c;
    json_array_foreach(json_object_get(res, "cuts_s"), k, c) {
        double t = json_real_value(c), local = fmod(t, period);
        double off = fabs(local - (0.25 + round((local - 0.25) / 0.5) * 0.5));
        CHECKF(off <= 1.0 / 30 + 1e-6, "cut at %.3f s is %.3f s off the looped beat", t, off);
        late += t > 2 * period;
    }
    CHECKF(late > 0, "no cut after the second seam: %s", strrchr(so, '{'));
    json_decref(res);
    free(so);
    free(se);
    char cmd[2048], *txt = NULL;
    snprintf(cmd, sizeof cmd,
             "ffmpeg -nostats -i %s -vn -af ebur128 -f null - 2>&1 | grep -A2 'Integrated "
             "loudness' | grep ' I:'",
             out);
    CHECK(hc_test_run(cmd, &txt) == 0);
    double lufs = 0;
    CHECKF(sscanf(strstr(txt, "I:") + 2, "%lf", &lufs) == 1 && fabs(lufs + 14) <= 1.0,
           "integrated %s", txt);
    free(txt);
    /* the first and last 10 ms are faded (near silence) */
    snprintf(cmd, sizeof cmd,
             "ffmpeg -hide_banner -nostats -i %s -t 0.01 -af volumedetect -f null - 2>&1 | grep "
             "max_volume",
             out);
    CHECK(hc_test_run(cmd, &txt) == 0);
    double maxdb = 0;
    char *m = strstr(txt, "max_volume:");
    CHECKF(m && sscanf(m + 11, "%lf", &maxdb) == 1 && maxdb < -30, "start not faded: %s", txt);
    free(txt);
}

HC_TEST_T(music_bad_audio_renders_silent_with_warning, 120) {
    const char *d = hc_test_tmpdir();
    CHECK(make_images() == 0);
    char bad[1024], out[1024], json[2048];
    snprintf(bad, sizeof bad, "%s/broken.mp3", d);
    CHECK(hc_test_write_file(bad, "ID3\3\0\0\0\0\0\0not really an mp3 at all, just text", 46) == 0);
    snprintf(out, sizeof out, "%s/o.mp4", d);
    snprintf(json, sizeof json,
             "{\"images\":[\"%s/"
             "img0.jpg\"],\"audio\":{\"url\":\"%s\"},\"settings\":{\"resolution\":\"720p\","
             "\"target_duration\":2}}",
             d, bad);
    char *so = NULL, *se = NULL;
    CHECKF(render_json(json, out, &so, &se) == 0, "%s", se);
    CHECKF(strstr(so, "audio.url") && strstr(so, "silent"), "%s", strrchr(so, '{'));
    free(so);
    free(se);
    /* over the 30 minute limit: a request error */
    char longw[1024], cmd[2048];
    snprintf(longw, sizeof longw, "%s/long.wav", d);
    snprintf(cmd, sizeof cmd,
             "ffmpeg -v error -y -f lavfi -i anullsrc=r=8000:cl=mono -t 1860 -c:a pcm_u8 %s",
             longw);
    CHECK(hc_test_run(cmd, NULL) == 0);
    snprintf(json, sizeof json,
             "{\"images\":[\"%s/"
             "img0.jpg\"],\"audio\":{\"url\":\"%s\"},\"settings\":{\"resolution\":\"720p\","
             "\"target_duration\":2}}",
             d, longw);
    int rc = render_json(json, out, &so, &se);
    CHECKF(rc == 2 && se && strstr(se, "audio"), "exit %d: %s", rc, se);
    free(so);
    free(se);
}
