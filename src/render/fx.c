/* Lookup across the two effect registries (canvas filters in fx_canvas.c,
 * frame overlays in fx_frame.c). */
#include "render/render_int.h"

#include <strings.h>

const hc_fx *hc_fx_find(const char *name) {
    if (!name) return NULL;
    if (strcasecmp(name, "bloom") == 0) name = "glow";
    for (int i = 0; hc_fx_canvas[i]; i++)
        if (strcasecmp(name, hc_fx_canvas[i]->name) == 0) return hc_fx_canvas[i];
    for (int i = 0; hc_fx_frame[i]; i++)
        if (strcasecmp(name, hc_fx_frame[i]->name) == 0) return hc_fx_frame[i];
    return NULL;
}
