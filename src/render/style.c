/* The style tables of DESIGN.md §4 (vibes, effect presets) and the check
 * of names the style library owns (ai_effects entries). A vibe's effects
 * are filter/overlay names with strengths ("fx"); Emotional's "slight
 * desaturate" is its cinematic grade's saturation 0.9. */
#include "render/render_int.h"

#include <stdio.h>
#include <string.h>

const hc_vibe_style hc_vibe_styles[HC_VIBE_COUNT] = {
    [HC_VIBE_EXCITING] = {"Exciting", 2.5, "zoom", 0.15, "zoom_in", "vibrant", "bold_pop",
                          "shake on beat, flash, glow", 10, 15, "glow=0.6 shake flash=0.8"},
    [HC_VIBE_EMOTIONAL] = {"Emotional", 4.5, "fade", 1.0, "pan", "cinematic", "fade_in",
                           "film grain, vignette, slight desaturate", 20, 30,
                           "film_grain=0.7 vignette=0.8"},
    [HC_VIBE_POP] = {"Pop", 3.0, "bounce", 0.25, "zoom_out", "bright", "slide_in",
                     "colour pop, soft glow", 15, 20, "sharpen=0.4 glow=0.4"},
    [HC_VIBE_MINIMAL] = {"Minimal", 3.5, "cut", 0, "static", "natural", "minimal", "", 15, 25, ""},
    [HC_VIBE_CHILL] = {"Chill", 4.0, "fade", 0.8, "slow_zoom", "natural", "fade_in",
                       "soft blur, vignette", 15, 30, "soft_blur=0.5 vignette=0.6"},
    [HC_VIBE_INTENSE] = {"Intense", 1.5, "glitch", 0.1, "shake", "moody", "bold_pop",
                         "glitch, flash, chromatic aberration", 8, 15,
                         "chromatic_aberration glitch flash=0.8"},
    [HC_VIBE_DREAMY] = {"Dreamy", 5.0, "swirl", 1.0, "float", "bright", "fade_in",
                        "soft blur, glow, light leak", 20, 45,
                        "soft_blur=0.6 glow=0.8 light_leak=0.8"},
    [HC_VIBE_ENERGETIC] = {"Energetic", 2.0, "bounce", 0.2, "bounce", "vibrant", "slide_in",
                           "flash, pulse", 12, 20, "flash=0.7 pulse"},
};

const hc_preset_style hc_preset_styles[HC_PRESET_COUNT] = {
    [HC_PRESET_ZOOM_BEAT] = {"zoom_beat", "zoom", 0.2, "zoom_in"},
    [HC_PRESET_CROSSFADE] = {"crossfade", "fade", 0.8, NULL},
    [HC_PRESET_BOUNCE] = {"bounce", "bounce", 0.25, "bounce"},
    [HC_PRESET_MINIMAL] = {"minimal", "cut", 0, "static"},
    [HC_PRESET_PULSE_FLOW] = {"pulse_flow", "fade", 0.5, "pulse"},
    [HC_PRESET_GLITCH_WAVE] = {"glitch_wave", "glitch", 0.15, "shake"},
    [HC_PRESET_SLIDE] = {"slide", "slideleft", 0.4, "pan"},
    [HC_PRESET_SWIRL] = {"swirl", "swirl", 1.0, "float"},
};

/* "fade, fadeblack, ..., crossfade, wipe, ...": real names, then aliases. */
static void list_transitions(char *buf, size_t len) {
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; hc_transitions[i] && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", hc_transitions[i]->name);
    for (int i = 0; hc_transition_aliases[i].alias && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, ", %s", hc_transition_aliases[i].alias);
}

static void list_motions(char *buf, size_t len) {
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; hc_motions[i] && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", hc_motions[i]->name);
}

static void list_fx(char *buf, size_t len) {
    size_t o = 0;
    buf[0] = 0;
    for (int stage = 0; stage < 2; stage++) {
        const hc_fx *const *l = stage == 0 ? hc_fx_canvas : hc_fx_frame;
        for (int i = 0; l[i] && o < len; i++)
            o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", l[i]->name);
    }
    if (o < len) snprintf(buf + o, len - o, ", bloom");
}

/* Check every name of list against `known`; HC_EINVAL naming field[i]. */
static int check_names(const hc_name_list *list, const char *field, const char *what,
                       bool (*known)(const char *), void (*allowed)(char *, size_t), hc_err *err) {
    for (int i = 0; i < list->n; i++) {
        if (known(list->v[i])) continue;
        char names[900];
        allowed(names, sizeof names);
        return hc_err_set(err, HC_EINVAL,
                          "settings.ai_effects.%s[%d]: unknown %s \"%.64s\" (allowed: %s)", field,
                          i, what, list->v[i], names);
    }
    return 0;
}

static bool is_transition(const char *n) {
    return hc_transition_find(n) != NULL;
}
static bool is_motion(const char *n) {
    return hc_motion_find(n) != NULL;
}
static bool is_fx(const char *n) {
    return hc_fx_find(n) != NULL;
}
static bool is_animation(const char *n) {
    for (int i = 0; hc_text_animation_names[i]; i++)
        if (strcmp(hc_text_animation_names[i], n) == 0) return true;
    return false;
}
static void list_animations(char *buf, size_t len) {
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; hc_text_animation_names[i] && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", hc_text_animation_names[i]);
}

int hc_render_validate(const hc_request *req, hc_err *err) {
    const hc_settings *s = &req->settings;
    int rc = check_names(&s->ai_transitions, "transitions", "transition", is_transition,
                         list_transitions, err);
    if (rc == 0)
        rc = check_names(&s->ai_motions, "motions", "motion", is_motion, list_motions, err);
    if (rc == 0) rc = check_names(&s->ai_filters, "filters", "filter", is_fx, list_fx, err);
    if (rc == 0) rc = check_names(&s->ai_overlays, "overlays", "overlay", is_fx, list_fx, err);
    if (rc == 0)
        rc = check_names(&s->ai_text_animations, "text_animations", "text animation", is_animation,
                         list_animations, err);
    return rc;
}
