/* `hydra-compose styles` and `gallery`: the catalogue client apps build
 * pickers from, and the contact sheets people look at. */
#include "hc_test.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *find_name(json_t *list, const char *name) {
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && strcmp(n, name) == 0) return n;
    }
    return NULL;
}

HC_TEST(styles_json_lists_the_whole_library) {
    char cmd[4200], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s styles --json", hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 0);
    json_t *j = json_loads(out, 0, NULL);
    CHECKF(j, "not JSON: %.200s", out);
    static const struct {
        const char *key;
        size_t min;
        const char *sample;
    } want[] = {
        {"vibes", 8, "Dreamy"},
        {"effect_presets", 8, "glitch_wave"},
        {"transitions", 35, "circleopen"},
        {"motions", 13, "ken_burns"},
        {"grades", 10, "sepia"},
        {"overlays", 15, "light_leak"},
        {"text_styles", 4, "bold_pop"},
        {"text_animations", 14, "karaoke"},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        json_t *list = json_object_get(j, want[i].key);
        CHECKF(json_is_array(list) && json_array_size(list) >= want[i].min, "%s: %zu entries",
               want[i].key, json_array_size(list));
        CHECKF(find_name(list, want[i].sample), "%s lacks %s", want[i].key, want[i].sample);
    }
    /* a vibe carries its table row; a transition its aliases */
    json_t *v = json_array_get(json_object_get(j, "vibes"), 0);
    CHECK(json_is_number(json_object_get(v, "pace_s")) &&
          json_is_string(json_object_get(v, "transition")));
    size_t i;
    json_t *t;
    bool fade_has_crossfade = false;
    json_array_foreach(json_object_get(j, "transitions"), i, t) {
        if (strcmp(json_string_value(json_object_get(t, "name")), "fade") != 0) continue;
        size_t k;
        json_t *a;
        json_array_foreach(json_object_get(t, "aliases"), k, a) fade_has_crossfade |=
            strcmp(json_string_value(a), "crossfade") == 0;
    }
    CHECK(fade_has_crossfade);
    json_decref(j);
    free(out);
    snprintf(cmd, sizeof cmd, "%s styles", hc_test_bin());
    CHECK(hc_test_run(cmd, &out) == 0);
    CHECK(strstr(out, "vibes:") && strstr(out, "transitions:") && strstr(out, "swirl"));
    free(out);
}

HC_TEST_T(gallery_writes_one_sheet_per_family, 240) {
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "%s gallery %s --photos %s/examples/photos > /dev/null",
             hc_test_bin(), hc_test_tmpdir(), hc_test_root());
    CHECK(hc_test_run(cmd, NULL) == 0);
    static const char *files[] = {"transitions.png", "motions.png", "grades.png", "overlays.png",
                                  "captions.png"};
    for (size_t i = 0; i < 5; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", hc_test_tmpdir(), files[i]);
        struct stat st;
        CHECKF(stat(path, &st) == 0 && st.st_size > 10000, "%s missing or tiny", files[i]);
        size_t n = 0;
        char *png = hc_test_read_file(path, &n);
        CHECK(png && n > 8 && memcmp(png, "\x89PNG", 4) == 0);
        free(png);
    }
}
