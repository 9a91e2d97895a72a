/* `hydra-compose styles [--json]`: the whole style library, so client apps
 * can build pickers: vibes (their table row), effect presets, transitions
 * (with aliases), motions, grades, filters, overlays, text styles and text
 * animations. JSON shape: DESIGN.md §12. */
#include "app/app.h"
#include "core/hc_core.h"
#include "jobs/hc_jobs.h"
#include "render/hc_render.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static json_t *names_array(const char *const *names) {
    json_t *a = json_array();
    for (int i = 0; names[i]; i++)
        json_array_append_new(a, json_pack("{s:s}", "name", names[i]));
    return a;
}

static json_t *catalogue(void) {
    json_t *root = json_object(), *a;

    a = json_array();
    for (int v = 0; v < HC_VIBE_COUNT; v++) {
        const hc_vibe_style *s = &hc_vibe_styles[v];
        char desc[256];
        snprintf(desc, sizeof desc, "%.1f s per image, %s (%.2f s), %s, %s grade, %s text%s%s",
                 s->pace_s, s->transition, s->transition_s, s->motion, s->grade, s->text_style,
                 s->effects[0] ? "; " : "", s->effects);
        json_t *row = json_pack(
            "{s:s, s:s, s:f, s:s, s:f, s:s, s:s, s:s, s:s, s:s, s:[f,f]}", "name", s->name,
            "description", desc, "pace_s", s->pace_s, "transition", s->transition, "transition_s",
            s->transition_s, "motion", s->motion, "grade", s->grade, "text_style", s->text_style,
            "effects", s->effects, "fx", s->fx, "auto_duration_s", s->auto_min_s, s->auto_max_s);
        json_array_append_new(a, row);
    }
    json_object_set_new(root, "vibes", a);

    a = json_array();
    for (int p = 0; p < HC_PRESET_COUNT; p++) {
        const hc_preset_style *s = &hc_preset_styles[p];
        json_t *o = json_pack("{s:s, s:s, s:f}", "name", s->name, "transition", s->transition,
                              "transition_s", s->transition_s);
        json_object_set_new(o, "motion", s->motion ? json_string(s->motion) : json_null());
        json_array_append_new(a, o);
    }
    json_object_set_new(root, "effect_presets", a);

    a = json_array();
    for (int i = 0; hc_transitions[i]; i++) {
        json_t *aliases = json_array();
        for (int k = 0; hc_transition_aliases[k].alias; k++)
            if (strcmp(hc_transition_aliases[k].name, hc_transitions[i]->name) == 0)
                json_array_append_new(aliases, json_string(hc_transition_aliases[k].alias));
        json_array_append_new(a, json_pack("{s:s, s:s, s:o}", "name", hc_transitions[i]->name,
                                           "description", hc_transitions[i]->desc, "aliases",
                                           aliases));
    }
    json_object_set_new(root, "transitions", a);

    a = json_array();
    for (int i = 0; hc_motions[i]; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:f}", "name", hc_motions[i]->name,
                                           "description", hc_motions[i]->desc, "max_zoom",
                                           hc_motions[i]->max_zoom));
    json_object_set_new(root, "motions", a);

    json_object_set_new(root, "grades", names_array(hc_grade_names));

    a = json_array();
    for (int stage = 0; stage < 2; stage++) {
        const hc_fx *const *list = stage == 0 ? hc_fx_canvas : hc_fx_frame;
        for (int i = 0; list[i]; i++)
            json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name", list[i]->name,
                                               "description", list[i]->desc, "stage",
                                               stage == 0 ? "filter" : "overlay"));
    }
    json_object_set_new(root, "overlays", a);

    json_object_set_new(root, "text_styles", names_array(hc_text_style_names));
    json_object_set_new(root, "text_animations", names_array(hc_text_animation_names));
    return root;
}

static void print_plain(json_t *root) {
    const char *key;
    json_t *list;
    json_object_foreach(root, key, list) {
        printf("%s:\n", key);
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e) {
            const char *d = json_string_value(json_object_get(e, "description"));
            printf("  %-22s %s\n", json_string_value(json_object_get(e, "name")), d ? d : "");
        }
    }
}

int hc_cmd_styles(int argc, char **argv) {
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else {
            fputs("usage: hydra-compose styles [--json]\n",
                  strcmp(argv[i], "--help") ? stderr : stdout);
            return strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    json_t *root = catalogue();
    if (json) {
        char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(s);
        free(s);
    } else {
        print_plain(root);
    }
    json_decref(root);
    return 0;
}
