/* `hydra-compose analyze AUDIO [--start S] [--duration D]`: decode the music
 * segment that would play and print its beat analysis as one JSON object
 * (DESIGN.md §12): {"bpm","beat_times","energy","duration","suggested_vibe",
 * "best_window_start"}. Beat times are seconds from S (the segment start),
 * the energy curve one value (0..1) per 0.5 s.
 *
 * suggested_vibe, from the tempo and the integrated loudness L (LUFS, EBU
 * R128; "loud" is L >= -9, "quiet" is L < -16):
 *   no steady beat (bpm 0)  -> Chill when quiet, else Minimal
 *   bpm < 85                -> Chill when quiet, else Emotional
 *   85 <= bpm < 110         -> Pop, or Exciting when loud
 *   110 <= bpm <= 130       -> Energetic, or Exciting when loud
 *   bpm > 130               -> Exciting, or Intense when loud
 * best_window_start: start (a multiple of 0.5 s) of the 15 s window with the
 * highest mean energy; 0 when the segment is shorter than 15 s.
 *
 * Exit codes as `render`: 0 success, 2 bad arguments or unusable audio, 1
 * anything else. */
#include "app/app.h"
#include "core/hc_core.h"
#include "media/hc_media.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WINDOW_S      15.0
#define ENERGY_STEP_S 0.5

static void help(FILE *f) {
    fputs("usage: hydra-compose analyze AUDIO [--start S] [--duration D]\n"
          "  Beat analysis of AUDIO from S seconds (default 0) for at most D seconds\n"
          "  (default: to the end), as JSON on stdout.\n",
          f);
}

static const char *suggest_vibe(double bpm, double lufs) {
    bool loud = isfinite(lufs) && lufs >= -9.0;
    bool quiet = !isfinite(lufs) || lufs < -16.0;
    if (bpm <= 0) return quiet ? "Chill" : "Minimal";
    if (bpm < 85) return quiet ? "Chill" : "Emotional";
    if (bpm < 110) return loud ? "Exciting" : "Pop";
    if (bpm <= 130) return loud ? "Exciting" : "Energetic";
    return loud ? "Intense" : "Exciting";
}

static double best_window(const hc_beats *b) {
    int w = (int)(WINDOW_S / ENERGY_STEP_S);
    if (b->duration_s < WINDOW_S || b->n_energy < w) return 0;
    double sum = 0, best = -1;
    int best_i = 0;
    for (int i = 0; i < b->n_energy; i++) {
        sum += b->energy[i];
        if (i >= w) sum -= b->energy[i - w];
        /* Only whole windows inside the segment; the earliest wins ties. */
        if (i >= w - 1 && sum > best + 1e-9) {
            best = sum;
            best_i = i - w + 1;
        }
    }
    return best_i * ENERGY_STEP_S;
}

static int parse_seconds(const char *opt, const char *s, double *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < 0) {
        fprintf(stderr, "hydra-compose analyze: %s: expected seconds >= 0, got \"%s\"\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

static double round_ms(double v) {
    return round(v * 1000) / 1000;
}

int hc_cmd_analyze(int argc, char **argv) {
    const char *path = NULL;
    double start = 0, dur = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--start") == 0 && i + 1 < argc) {
            if (parse_seconds(a, argv[++i], &start) < 0) return 2;
        } else if (strcmp(a, "--duration") == 0 && i + 1 < argc) {
            if (parse_seconds(a, argv[++i], &dur) < 0) return 2;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            help(stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "hydra-compose analyze: unknown option %s\n", a);
            help(stderr);
            return 2;
        } else if (!path)
            path = a;
        else {
            fprintf(stderr, "hydra-compose analyze: unexpected argument %s\n", a);
            return 2;
        }
    }
    if (!path) {
        help(stderr);
        return 2;
    }
    if (!getenv("HC_LOG_LEVEL")) hc_log_set_level(HC_LOG_WARN);

    hc_err err = {0};
    hc_audio audio = {0};
    hc_beats beats = {0};
    int rc = hc_media_init(&err);
    if (rc == 0) rc = hc_audio_decode(path, "audio", start, dur, &audio, &err);
    if (rc == 0) rc = hc_beats_analyze(&audio, &beats, &err);
    if (rc != 0) {
        if (!err.code) hc_err_set(&err, rc, "%s", hc_strerror(rc));
        fprintf(stderr, "hydra-compose: error: %s\n", err.msg);
        goto done;
    }
    double lufs = hc_audio_loudness(&audio);

    json_t *times = json_array(), *energy = json_array();
    for (int i = 0; i < beats.n; i++)
        json_array_append_new(times, json_real(round_ms(beats.times[i])));
    for (int i = 0; i < beats.n_energy; i++)
        json_array_append_new(energy, json_real(round_ms(beats.energy[i])));
    json_t *root =
        json_pack("{s:f, s:o, s:o, s:f, s:s, s:f}", "bpm", round_ms(beats.bpm), "beat_times", times,
                  "energy", energy, "duration", round_ms(beats.duration_s), "suggested_vibe",
                  suggest_vibe(beats.bpm, lufs), "best_window_start", best_window(&beats));
    if (!root || json_dumpf(root, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10)) != 0) {
        fprintf(stderr, "hydra-compose: error: cannot write the result\n");
        rc = HC_EIO;
    } else
        fputc('\n', stdout);
    json_decref(root);
done:
    hc_beats_fini(&beats);
    hc_audio_fini(&audio);
    return hc_err_exit_code(rc);
}
