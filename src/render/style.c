/* The style tables of DESIGN.md §4 (vibes, effect presets) and the check
 * of names the style library owns. What is not built yet (grades, overlays,
 * captions) is reported as a warning by the planner, never silently
 * dropped. */
#include "render/render_int.h"

#include <stdio.h>
#include <string.h>

const hc_vibe_style hc_vibe_styles[HC_VIBE_COUNT] = {
    [HC_VIBE_EXCITING] = {"Exciting", 2.5, "zoom", 0.15, "zoom_in", "vibrant", "bold_pop",
                          "shake on beat, flash, glow", 10, 15},
    [HC_VIBE_EMOTIONAL] = {"Emotional", 4.5, "fade", 1.0, "pan", "cinematic", "fade_in",
                           "film grain, vignette, slight desaturate", 20, 30},
    [HC_VIBE_POP] = {"Pop", 3.0, "bounce", 0.25, "zoom_out", "bright", "slide_in",
                     "colour pop, soft glow", 15, 20},
    [HC_VIBE_MINIMAL] = {"Minimal", 3.5, "cut", 0, "static", "natural", "minimal", "", 15, 25},
    [HC_VIBE_CHILL] = {"Chill", 4.0, "fade", 0.8, "slow_zoom", "natural", "fade_in",
                       "soft blur, vignette", 15, 30},
    [HC_VIBE_INTENSE] = {"Intense", 1.5, "glitch", 0.1, "shake", "moody", "bold_pop",
                         "glitch, flash, chromatic aberration", 8, 15},
    [HC_VIBE_DREAMY] = {"Dreamy", 5.0, "swirl", 1.0, "float", "bright", "fade_in",
                        "soft blur, glow, light leak", 20, 45},
    [HC_VIBE_ENERGETIC] = {"Energetic", 2.0, "bounce", 0.2, "bounce", "vibrant", "slide_in",
                           "flash, pulse", 12, 20},
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

/* Names of DESIGN.md §5 that the catalogue accepts but this build does not
 * draw yet: accepted (the request is valid), rendered with the nearest
 * built effect, and reported in the result's warnings. */
static const char *const planned_transitions[] = {
    "smoothleft",
    "smoothright",
    "smoothup",
    "smoothdown",
    "radial",
    "pixelize",
    "diagtl",
    "diagtr",
    "diagbl",
    "diagbr",
    "distance",
    "squeezeh",
    "squeezev",
    "whip",
    "glitch",
    "swirl",
    "slam",
    "vhs",
    "blur",
    "gl_crosswarp",
    "gl_dreamy",
    "gl_cube",
    "gl_doorway",
    "gl_pixelize",
    "gl_swirl",
    "gl_directionalwarp",
    "gl_directionalwipe",
    "gl_windowslice",
    "gl_burn",
    "gl_overexposure",
    NULL,
};

bool hc_transition_planned(const char *name) {
    for (int i = 0; planned_transitions[i]; i++)
        if (strcmp(planned_transitions[i], name) == 0) return true;
    return false;
}

static void list_transitions(char *buf, size_t len) {
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; hc_transitions[i] && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", hc_transitions[i]->name);
    for (int i = 0; planned_transitions[i] && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, ", %s", planned_transitions[i]);
    if (o < len) snprintf(buf + o, len - o, ", crossfade, wipe, slide, flash");
}

static void list_motions(char *buf, size_t len) {
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; hc_motions[i] && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", hc_motions[i]->name);
}

int hc_render_validate(const hc_request *req, hc_err *err) {
    char allowed[1024];
    const hc_name_list *tl = &req->settings.ai_transitions, *ml = &req->settings.ai_motions;
    for (int i = 0; i < tl->n; i++) {
        if (hc_transition_find(tl->v[i]) || hc_transition_planned(tl->v[i])) continue;
        list_transitions(allowed, sizeof allowed);
        return hc_err_set(
            err, HC_EINVAL,
            "settings.ai_effects.transitions[%d]: unknown transition \"%.64s\" (allowed: %s)", i,
            tl->v[i], allowed);
    }
    for (int i = 0; i < ml->n; i++) {
        if (hc_motion_find(ml->v[i])) continue;
        list_motions(allowed, sizeof allowed);
        return hc_err_set(err, HC_EINVAL,
                          "settings.ai_effects.motions[%d]: unknown motion \"%.64s\" (allowed: %s)",
                          i, ml->v[i], allowed);
    }
    return 0;
}
