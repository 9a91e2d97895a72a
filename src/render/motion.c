/* Motions: where the camera looks inside a clip's canvas over time. Each
 * returns a view (zoom, centre) as a smooth function of the clip's time, so
 * the compositor can sample any frame independently and sub-pixel exact.
 * Reference amounts (DESIGN.md §5): zoom 1.00 <-> 1.05 (slow) to 1.20
 * (fast), smoothstep easing; pans travel 3-8 % of the frame. */
#include "render/render_int.h"

#include <math.h>
#include <string.h>
#include <strings.h>

static const double PI = 3.14159265358979323846;

static void centre(hc_view *v, double zoom) {
    v->zoom = zoom;
    v->cx = v->cy = 0.5;
}

static void m_static(const hc_motion_params *p, hc_view *v) {
    (void)p;
    centre(v, 1.0);
}

static void m_zoom_in(const hc_motion_params *p, hc_view *v) {
    centre(v, 1.0 + 0.15 * hc_smoothstep(p->t));
}

static void m_zoom_out(const hc_motion_params *p, hc_view *v) {
    centre(v, 1.15 - 0.15 * hc_smoothstep(p->t));
}

static void m_slow_zoom(const hc_motion_params *p, hc_view *v) {
    centre(v, 1.0 + 0.05 * hc_smoothstep(p->t));
}

/* A pan travels 6 % of the canvas (6.5 % of the frame) at zoom 1.08. */
static void pan(const hc_motion_params *p, hc_view *v, double dx, double dy) {
    double s = hc_smoothstep(p->t) - 0.5;
    v->zoom = 1.08;
    v->cx = 0.5 + dx * 0.06 * s;
    v->cy = 0.5 + dy * 0.06 * s;
}

static void m_pan_left(const hc_motion_params *p, hc_view *v) {
    pan(p, v, -1, 0);
}
static void m_pan_right(const hc_motion_params *p, hc_view *v) {
    pan(p, v, 1, 0);
}
static void m_pan_up(const hc_motion_params *p, hc_view *v) {
    pan(p, v, 0, -1);
}
static void m_pan_down(const hc_motion_params *p, hc_view *v) {
    pan(p, v, 0, 1);
}

/* pan: a direction chosen per clip from the seed. */
static void m_pan(const hc_motion_params *p, hc_view *v) {
    static const double dirs[4][2] = {{-1, 0}, {1, 0}, {0, -1}, {0, 1}};
    const double *d = dirs[p->seed % 4];
    pan(p, v, d[0], d[1]);
}

/* ken_burns: zoom in or out (from the seed) while drifting along a seeded
 * angle. */
static void m_ken_burns(const hc_motion_params *p, hc_view *v) {
    uint64_t s = p->seed;
    double angle = hc_rand_unit(&s) * 2 * PI, in = hc_rand_unit(&s) < 0.5;
    double e = hc_smoothstep(p->t);
    v->zoom = in ? 1.04 + 0.12 * e : 1.16 - 0.12 * e;
    v->cx = 0.5 + cos(angle) * 0.035 * (e - 0.5);
    v->cy = 0.5 + sin(angle) * 0.035 * (e - 0.5);
}

/* shake: smooth value noise at ~7 Hz, about 1 % of the frame. */
static void m_shake(const hc_motion_params *p, hc_view *v) {
    v->zoom = 1.06;
    v->cx = 0.5 + 0.012 * hc_value_noise(p->seed, p->time_s * 7);
    v->cy = 0.5 + 0.012 * hc_value_noise(p->seed ^ 0x5bd1e995, p->time_s * 7);
}

/* float: a slow drift on two incommensurate sines, breathing zoom. */
static void m_float(const hc_motion_params *p, hc_view *v) {
    double ph = (double)(p->seed % 1000) / 1000 * 2 * PI;
    v->zoom = 1.07 + 0.02 * sin(2 * PI * p->time_s / 6.0 + ph);
    v->cx = 0.5 + 0.02 * sin(2 * PI * p->time_s / 4.0 + ph);
    v->cy = 0.5 + 0.015 * sin(2 * PI * p->time_s / 5.3 + 2 * ph);
}

/* bounce: the picture hops twice a second, landing softly. */
static void m_bounce(const hc_motion_params *p, hc_view *v) {
    double h = fabs(sin(PI * p->time_s * 2.0));
    v->zoom = 1.08;
    v->cx = 0.5;
    v->cy = 0.5 + 0.025 * (h - 0.5);
}

/* pulse: a gentle zoom heartbeat at 2 Hz. */
static void m_pulse(const hc_motion_params *p, hc_view *v) {
    centre(v, 1.03 + 0.03 * (0.5 - 0.5 * cos(2 * PI * p->time_s * 2.0)));
}

#define MOTION(n, d, z)                                                                            \
    { #n, d, z, m_##n }
static const hc_motion motions[] = {
    MOTION(static, "no movement", 1.0),
    MOTION(zoom_in, "eased zoom 1.00 -> 1.15", 1.15),
    MOTION(zoom_out, "eased zoom 1.15 -> 1.00", 1.15),
    MOTION(slow_zoom, "eased zoom 1.00 -> 1.05", 1.05),
    MOTION(pan, "pan in a seeded direction (6.5 % of the frame)", 1.08),
    MOTION(pan_left, "pan towards the left", 1.08),
    MOTION(pan_right, "pan towards the right", 1.08),
    MOTION(pan_up, "pan upwards", 1.08),
    MOTION(pan_down, "pan downwards", 1.08),
    MOTION(ken_burns, "zoom with a seeded drift", 1.16),
    MOTION(shake, "hand-held shake (smooth noise)", 1.06),
    MOTION(float, "slow floating drift", 1.09),
    MOTION(bounce, "hops twice a second", 1.08),
    MOTION(pulse, "zoom heartbeat", 1.06),
};

const hc_motion *const hc_motions[] = {
    &motions[0],  &motions[1],  &motions[2],  &motions[3],  &motions[4],
    &motions[5],  &motions[6],  &motions[7],  &motions[8],  &motions[9],
    &motions[10], &motions[11], &motions[12], &motions[13], NULL,
};

const hc_motion *hc_motion_find(const char *name) {
    if (!name) return NULL;
    if (strcasecmp(name, "kenburns") == 0) name = "ken_burns";
    for (int i = 0; hc_motions[i]; i++)
        if (strcasecmp(name, hc_motions[i]->name) == 0) return hc_motions[i];
    return NULL;
}
