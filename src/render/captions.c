/* Captions: script.lines drawn with libass (DESIGN.md §6).
 *
 * hc_captions_new turns the lines into an ASS script held in memory: one
 * style (the text style's look, scaled to the frame), one Dialogue per
 * line (a few more for `glitch`), PlayRes = the video size so script
 * pixels are frame pixels. libass shapes the text (HarfBuzz, FriBidi) and
 * finds fonts through fontconfig: Noto Sans CJK (KR, or JP / SC when the
 * line has kana / only Han) is the default, and fontconfig's fallback
 * reaches Symbola for emoji (libass cannot draw the colour bitmaps of Noto
 * Color Emoji, so that font must not be installed ahead of Symbola).
 *
 * Layout is decided once, here, and then frozen: each line is first laid
 * out by libass's own smart wrapping in a probe render in which every
 * break unit (a word, or a CJK character) has its own colour, so the
 * returned images tell which unit landed on which row. The breaks found
 * are written into the final text as explicit \N with WrapStyle 2 (no
 * wrapping), so scale animations never reflow the text. A line needing
 * more than 3 rows is shrunk to 85 % then 70 % of the font size, and if it
 * still needs more it is cut after the units of its first 3 rows and ends
 * in an ellipsis "…" (units are dropped until the ellipsis fits too).
 * Breaking rules: at spaces (libass's own), between CJK characters (a
 * hidden 1-pixel space gives libass the opportunity; kinsoku: no break
 * before closing punctuation or small kana, nor after opening brackets),
 * and, only for a word wider than the frame, between any two graphemes.
 *
 * Styles: bold_pop, fade_in, slide_in share the reference look (white
 * bold, black outline 3 px and 2 px shadow per 1080 px of the short side,
 * line height 5 % of the frame height, bottom centre, margins 8 % at the
 * sides and 12 % at the bottom); minimal is regular weight, 4.2 %, a thin
 * outline and no shadow. Their own animations: bold_pop \fscx/\fscy
 * 80 -> 100 in 200 ms, fade_in \fad(300,300), slide_in \move up from 4 %
 * lower with a fade, minimal a short fade. Named animations replace them:
 * fade (\fad), typewriter (per grapheme: hidden \1a\3a\4a, shown by a
 * 1 ms \t), word_by_word (the same per break unit, 120 ms fades),
 * bounce_in (\move down + squash \t), scale_pop (50 -> 112 -> 100 %),
 * slide_* (\move from 5 % of the height / 12 % of the width), glitch
 * (six 60 ms slices at jittered \pos over red and cyan copies, then the
 * steady text), wave (per-grapheme \frz keyframes about an \org ten frame
 * widths away: a vertical sine offset with no visible tilt), karaoke (\kf
 * per unit over 85 % of the line, white to yellow), split_reveal (an
 * approximation: an animated rectangular \clip opening from the text's
 * middle outwards), blur_in (\blur 10 -> 0 with the outline held back,
 * since libass blurs only the outline of outlined text).
 *
 * Escaping: user text never reaches libass as markup. '{' and '}' become
 * libass's escapes \{ and \} (literal braces); a backslash is kept and
 * followed by U+2060 WORD JOINER (invisible, zero width) so it can never
 * combine with what follows into \N, \n, \h, \{ or \}; a newline becomes
 * \N, other control characters are dropped.
 *
 * Drawing: ass_render_frame at the time in ms, then each returned alpha
 * mask is blended into the YUV 4:2:0 frame with its colour converted to
 * BT.709 limited range once per image; luma per pixel, chroma per 2x2
 * block with the block's mean alpha. A libass renderer is not thread-safe:
 * rendering and blending run under the captions' mutex. Times outside
 * every line return at once, without libass.
 *
 * Invariant: after hc_captions_new the track is never modified, so a
 * frame's captions are a pure function of its time. */
#include "render/render_int.h"

#include <ass/ass.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The names accepted in settings.ai_effects.text_animations (DESIGN §6). */
const char *const hc_text_animation_names[] = {
    "fade",     "typewriter", "word_by_word", "bounce_in",   "scale_pop",
    "slide_up", "slide_down", "slide_left",   "slide_right", "glitch",
    "wave",     "karaoke",    "split_reveal", "blur_in",     NULL,
};

enum {
    AN_STYLE = -1, /* the text style's own animation */
    AN_FADE,
    AN_TYPEWRITER,
    AN_WORD_BY_WORD,
    AN_BOUNCE_IN,
    AN_SCALE_POP,
    AN_SLIDE_UP,
    AN_SLIDE_DOWN,
    AN_SLIDE_LEFT,
    AN_SLIDE_RIGHT,
    AN_GLITCH,
    AN_WAVE,
    AN_KARAOKE,
    AN_SPLIT_REVEAL,
    AN_BLUR_IN,
};

enum { MAX_ROWS = 3 };
#define FONT_KR     "Noto Sans CJK KR"
#define FONT_JP     "Noto Sans CJK JP"
#define FONT_SC     "Noto Sans CJK SC"
#define WORD_JOINER "\xe2\x81\xa0"
#define ELLIPSIS    "\xe2\x80\xa6"

/* ---- string builder ------------------------------------------------------ */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_grow(sbuf *b, size_t more) {
    if (b->oom || b->len + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = true;
        return;
    }
    b->s = s;
    b->cap = cap;
}

static void sb_putn(sbuf *b, const char *s, size_t n) {
    sb_grow(b, n);
    if (b->oom) return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void sb_puts(sbuf *b, const char *s) {
    sb_putn(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    sb_grow(b, (size_t)n);
    if (b->oom) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void sb_fini(sbuf *b) {
    free(b->s);
    *b = (sbuf){0};
}

/* ---- text: code points, graphemes, break units ----------------------------- */
/* Decode one UTF-8 code point at s (n bytes left); invalid or overlong
 * sequences decode as U+FFFD and consume one byte. */
static uint32_t utf8_next(const unsigned char *s, size_t n, int *len) {
    uint32_t c = s[0];
    int k = c < 0x80             ? 0
            : (c & 0xe0) == 0xc0 ? 1
            : (c & 0xf0) == 0xe0 ? 2
            : (c & 0xf8) == 0xf0 ? 3
                                 : -1;
    if (k == 0) {
        *len = 1;
        return c;
    }
    if (k < 0 || (size_t)k >= n) goto bad;
    c &= 0x3f >> k;
    for (int i = 1; i <= k; i++) {
        if ((s[i] & 0xc0) != 0x80) goto bad;
        c = c << 6 | (s[i] & 0x3f);
    }
    static const uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (c < min[k] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) goto bad;
    *len = k + 1;
    return c;
bad:
    *len = 1;
    return 0xfffd;
}

/* Code points that continue the grapheme before them: an approximation of
 * UAX #29's Extend / SpacingMark (combining marks of the common blocks,
 * Indic and Thai vowel signs), variation selectors, ZWJ, emoji modifiers,
 * tag characters and Hangul medial/final jamo. */
static bool cp_extends(uint32_t c) {
    return (c >= 0x300 && c <= 0x36f) || (c >= 0x483 && c <= 0x489) || (c >= 0x591 && c <= 0x5bd) ||
           (c >= 0x610 && c <= 0x61a) || (c >= 0x64b && c <= 0x65f) || (c >= 0x900 && c <= 0x903) ||
           (c >= 0x93a && c <= 0x94f) || (c >= 0x951 && c <= 0x957) || (c >= 0x962 && c <= 0x963) ||
           (c >= 0x981 && c <= 0x983) || (c >= 0x9bc && c <= 0x9d7) ||
           (c >= 0xe31 && c <= 0xe3a && c != 0xe32 && c != 0xe33) || (c >= 0xe47 && c <= 0xe4e) ||
           (c >= 0x1160 && c <= 0x11ff) || (c >= 0x1ab0 && c <= 0x1aff) ||
           (c >= 0x1dc0 && c <= 0x1dff) || c == 0x200c || c == 0x200d ||
           (c >= 0x20d0 && c <= 0x20ff) || (c >= 0x302a && c <= 0x302f) ||
           (c >= 0x3099 && c <= 0x309a) || (c >= 0xfe00 && c <= 0xfe0f) ||
           (c >= 0xfe20 && c <= 0xfe2f) || (c >= 0x1f3fb && c <= 0x1f3ff) ||
           (c >= 0xe0020 && c <= 0xe007f) || (c >= 0xe0100 && c <= 0xe01ef);
}

static bool cp_is_ri(uint32_t c) {
    return c >= 0x1f1e6 && c <= 0x1f1ff;
}

/* Han, kana, CJK symbols and full-width forms: text that breaks between
 * characters. (Hangul is written with spaces and breaks at them.) */
static bool cp_is_cjk(uint32_t c) {
    return (c >= 0x2e80 && c <= 0x2fdf) || (c >= 0x3000 && c <= 0x30ff) ||
           (c >= 0x31c0 && c <= 0x31ff) || (c >= 0x3400 && c <= 0x4dbf) ||
           (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff) ||
           (c >= 0xff00 && c <= 0xffef) || (c >= 0x20000 && c <= 0x3ffff);
}

static bool cp_is_kana(uint32_t c) {
    return (c >= 0x3041 && c <= 0x30ff && c != 0x30fb && c != 0x30fc) ||
           (c >= 0x31f0 && c <= 0x31ff) || (c >= 0xff66 && c <= 0xff9d);
}

static bool cp_is_han(uint32_t c) {
    return (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) ||
           (c >= 0xf900 && c <= 0xfaff) || (c >= 0x20000 && c <= 0x3ffff);
}

static bool cp_is_hangul(uint32_t c) {
    return (c >= 0xac00 && c <= 0xd7af) || (c >= 0x1100 && c <= 0x11ff) ||
           (c >= 0x3130 && c <= 0x318f);
}

/* Kinsoku: never break before these (closing punctuation, small kana,
 * prolonged sound mark) ... */
static bool cp_no_break_before(uint32_t c) {
    static const char *const set = ",.!?:;)]}%";
    if (c < 0x80) return c && strchr(set, (int)c);
    static const uint32_t cjk[] = {
        0x3001, 0x3002, 0xff0c, 0xff0e, 0x30fb, 0xff1a, 0xff1b, 0xff1f, 0xff01, 0x30fc, 0x309d,
        0x309e, 0x30fd, 0x30fe, 0x300d, 0x300f, 0xff09, 0xff3d, 0xff5d, 0x3015, 0x3009, 0x300b,
        0x3011, 0x3019, 0x3017, 0x301f, 0x2019, 0x201d, 0xff60, 0x00bb, 0x3005, 0x303b, 0x2010,
        0x30a0, 0x2013, 0x301c, 0xff5e, 0x2026, 0x3041, 0x3043, 0x3045, 0x3047, 0x3049, 0x3063,
        0x3083, 0x3085, 0x3087, 0x308e, 0x3095, 0x3096, 0x30a1, 0x30a3, 0x30a5, 0x30a7, 0x30a9,
        0x30c3, 0x30e3, 0x30e5, 0x30e7, 0x30ee, 0x30f5, 0x30f6};
    for (size_t i = 0; i < sizeof cjk / sizeof cjk[0]; i++)
        if (c == cjk[i]) return true;
    return c >= 0x31f0 && c <= 0x31ff;
}

/* ... nor after these (opening brackets and quotes). */
static bool cp_no_break_after(uint32_t c) {
    static const uint32_t set[] = {'(',    '[',    '{',    0x300c, 0x300e, 0xff08, 0xff3b,
                                   0xff5b, 0x3014, 0x3008, 0x300a, 0x3010, 0x3018, 0x3016,
                                   0x301d, 0x2018, 0x201c, 0xff5f, 0x00ab};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        if (c == set[i]) return true;
    return false;
}

typedef enum { G_TEXT, G_SPACE, G_NEWLINE } gkind;

typedef struct grapheme {
    int off, len;         /* bytes in the line's normalised ctext */
    uint32_t first, last; /* first and last code point */
    gkind kind;
    bool cjk;
} grapheme;

/* How a unit is joined to the next one. */
typedef enum { SEP_END, SEP_SPACE, SEP_HIDDEN, SEP_FORCED } sep_kind;

typedef struct bunit {
    int g0, g1;   /* graphemes [g0, g1), trailing spaces included */
    int ink_end;  /* graphemes [g0, ink_end) without the trailing spaces */
    sep_kind sep; /* joint to the next unit */
    bool newline; /* frozen layout: a row break follows */
    int orig;     /* index of its word in the split without emergency breaks */
} bunit;

typedef struct ctext {
    const char *s; /* normalised UTF-8 (borrowed from the caller of text_split) */
    grapheme *g;
    int ng;
    bunit *u;
    int nu;
} ctext;

static void text_fini(ctext *t) {
    free(t->g);
    free(t->u);
    *t = (ctext){0};
}

/* Normalise user text into out: valid UTF-8, CR LF and CR as LF, tabs as
 * spaces, other C0/C1 controls dropped, surrounding white space trimmed. */
static void text_normalise(const char *in, sbuf *out) {
    const unsigned char *s = (const unsigned char *)in;
    size_t n = strlen(in);
    for (size_t i = 0; i < n;) {
        int len;
        uint32_t c = utf8_next(s + i, n - i, &len);
        if (c == '\r') {
            c = '\n';
            if (i + 1 < n && s[i + 1] == '\n') len = 2;
        }
        i += (size_t)len;
        if (c == '\t') c = ' ';
        if ((c < 0x20 && c != '\n') || (c >= 0x7f && c < 0xa0)) continue;
        char buf[4];
        int k = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (k == 1)
            buf[0] = (char)c;
        else {
            for (int j = k - 1; j > 0; j--, c >>= 6)
                buf[j] = (char)(0x80 | (c & 0x3f));
            buf[0] = (char)((k == 2 ? 0xc0 : k == 3 ? 0xe0 : 0xf0) | c);
        }
        sb_putn(out, buf, (size_t)k);
    }
    if (out->oom || !out->s) return;
    size_t a = 0, b = out->len;
    while (a < b && (out->s[a] == ' ' || out->s[a] == '\n'))
        a++;
    while (b > a && (out->s[b - 1] == ' ' || out->s[b - 1] == '\n'))
        b--;
    memmove(out->s, out->s + a, b - a);
    out->len = b - a;
    out->s[out->len] = 0;
}

/* Split normalised text into graphemes and break units. Emergency: also
 * allow a break between any two graphemes of the units flagged in `split`
 * (indices of the split without it; NULL = none), and with split_own_row
 * start each such word on a row of its own. */
static int text_split(const char *s, const bool *split, bool split_own_row, ctext *t) {
    size_t n = strlen(s);
    *t = (ctext){.s = s};
    t->g = malloc((n + 1) * sizeof *t->g);
    t->u = malloc((n + 1) * sizeof *t->u);
    if (!t->g || !t->u) return HC_ENOMEM;
    const unsigned char *p = (const unsigned char *)s;
    bool after_zwj = false;
    for (size_t i = 0; i < n;) {
        int len;
        uint32_t c = utf8_next(p + i, n - i, &len);
        grapheme *last = t->ng ? &t->g[t->ng - 1] : NULL;
        bool joins =
            last && last->kind == G_TEXT && c != ' ' && c != '\n' &&
            (cp_extends(c) || after_zwj ||
             (cp_is_ri(c) && cp_is_ri(last->first) && last->first == last->last && last->len == 4));
        if (joins) {
            last->len += len;
            last->last = c;
        } else {
            t->g[t->ng++] = (grapheme){.off = (int)i,
                                       .len = len,
                                       .first = c,
                                       .last = c,
                                       .kind = c == ' '    ? G_SPACE
                                               : c == '\n' ? G_NEWLINE
                                                           : G_TEXT,
                                       .cjk = cp_is_cjk(c)};
        }
        after_zwj = c == 0x200d;
        i += (size_t)len;
    }
    /* Units: a run of text graphemes plus the spaces after it. */
    int unit_index = 0; /* index of the unit in the layout without forced splits */
    for (int i = 0; i < t->ng;) {
        bunit u = {.g0 = i, .sep = SEP_END};
        bool split_here = false;
        int j = i;
        while (j < t->ng && t->g[j].kind == G_TEXT) {
            j++;
            if (j >= t->ng || t->g[j].kind != G_TEXT) break;
            const grapheme *a = &t->g[j - 1], *b = &t->g[j];
            bool cjk_break =
                (a->cjk || b->cjk) && !cp_no_break_after(a->last) && !cp_no_break_before(b->first);
            /* after a hyphen inside a word ("well-|known"), not a leading minus */
            cjk_break |= (a->last == '-' || a->last == 0x2010) && j >= 2 &&
                         t->g[j - 2].kind == G_TEXT && b->first != '-' &&
                         !cp_no_break_before(b->first);
            bool forced = split && split[unit_index];
            if (cjk_break || forced) {
                u.sep = SEP_HIDDEN;
                split_here = !cjk_break;
                break;
            }
        }
        u.ink_end = j;
        if (u.sep != SEP_HIDDEN) {
            while (j < t->ng && t->g[j].kind == G_SPACE)
                j++;
            if (j < t->ng && t->g[j].kind == G_NEWLINE) {
                while (j < t->ng && (t->g[j].kind == G_NEWLINE || t->g[j].kind == G_SPACE))
                    j++;
                u.sep = j < t->ng ? SEP_FORCED : SEP_END;
            } else {
                u.sep = j < t->ng ? SEP_SPACE : SEP_END;
            }
        }
        if (j == i) j++; /* cannot happen: text is trimmed, units start with text */
        u.g1 = j;
        /* A word split in an emergency starts a row of its own rather than
         * leaving a few letters at the end of the row before. */
        u.orig = unit_index;
        bool first_piece =
            split && split[unit_index] && (t->nu == 0 || t->u[t->nu - 1].orig != unit_index);
        if (split_own_row && first_piece && t->nu > 0 && t->u[t->nu - 1].sep == SEP_SPACE)
            t->u[t->nu - 1].sep = SEP_FORCED;
        /* The pieces of a word split in an emergency keep the word's index. */
        if (!split_here) unit_index++;
        t->u[t->nu++] = u;
        i = j;
    }
    return 0;
}

/* Append grapheme gi of t escaped for ASS text. */
static void put_escaped(sbuf *b, const ctext *t, int gi) {
    const grapheme *g = &t->g[gi];
    for (int i = 0; i < g->len; i++) {
        char ch = t->s[g->off + i];
        if (ch == '{')
            sb_puts(b, "\\{");
        else if (ch == '}')
            sb_puts(b, "\\}");
        else if (ch == '\\')
            sb_puts(b, "\\" WORD_JOINER);
        else
            sb_putn(b, &ch, 1);
    }
}

/* ---- the captions object ---------------------------------------------------- */
typedef struct window {
    long long start_ms, end_ms; /* visible [start, end) */
} window;

/* One Dialogue of the final script with its exact times. */
typedef struct event_time {
    long long start_ms, dur_ms;
} event_time;

struct hc_captions {
    ASS_Library *lib;
    ASS_Renderer *rend;
    ASS_Track *track;
    int w, h;
    window *win; /* per kept line */
    int n_win;
    pthread_mutex_t mu;
};

/* The look of a text style at a frame size. */
typedef struct look {
    int fs;                  /* font size = line height, script px = frame px */
    double bord, shad, unit; /* outline, shadow; unit = 1 px at 1080 */
    int bold;
    int ml, mr, mv;
    unsigned shadow_alpha; /* 0 opaque .. 255 transparent */
} look;

static void look_for(int style, int w, int h, look *lk) {
    /* Outline and shadow scale with the short side: equal to the width for
     * the portrait frames the reference look was drawn on, and keeping the
     * same proportion to the text in landscape frames. */
    double unit = (w < h ? w : h) / 1080.0;
    bool minimal = style == HC_TEXT_MINIMAL;
    *lk = (look){
        .fs = (int)lround((minimal ? 0.042 : 0.05) * h),
        .bord = (minimal ? 1.5 : 3.0) * unit,
        .shad = minimal ? 0 : 2.0 * unit,
        .unit = unit,
        .bold = minimal ? 0 : 1,
        .ml = (int)lround(0.08 * w),
        .mr = (int)lround(0.08 * w),
        .mv = (int)lround(0.12 * h),
        .shadow_alpha = 0x60,
    };
}

/* The script header with one style "C". wrap_style 0 for probes (libass
 * wraps), 2 for the final script (breaks are explicit). */
static void put_header(sbuf *b, int w, int h, const look *lk, int wrap_style) {
    sb_printf(b,
              "[Script Info]\nScriptType: v4.00+\nPlayResX: %d\nPlayResY: %d\nWrapStyle: %d\n"
              "ScaledBorderAndShadow: yes\nYCbCr Matrix: None\n\n"
              "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, "
              "OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, "
              "Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, "
              "MarginV, Encoding\n"
              "Style: C," FONT_KR ",%d,&H00FFFFFF,&H00FFFFFF,&H00000000,&H%02X000000,%d,0,0,0,"
              "100,100,0,0,1,%.2f,%.2f,2,%d,%d,%d,1\n\n"
              "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, "
              "Effect, Text\n",
              w, h, wrap_style, lk->fs, lk->shadow_alpha, lk->bold ? -1 : 0, lk->bord, lk->shad,
              lk->ml, lk->mr, lk->mv);
}

/* Font family for a line: Japanese when it has kana, Chinese when it has
 * Han but no Hangul, else Korean (whose Latin is fine for Latin text). */
static const char *font_for(const ctext *t) {
    bool han = false, hangul = false;
    for (int i = 0; i < t->ng; i++) {
        uint32_t c = t->g[i].first;
        if (cp_is_kana(c)) return FONT_JP;
        han |= cp_is_han(c);
        hangul |= cp_is_hangul(c);
    }
    return han && !hangul ? FONT_SC : FONT_KR;
}

static void log_ass(int level, const char *fmt, va_list va, void *data) {
    (void)data;
    /* libass levels: 0 fatal .. 4 info, 6 verbose, 7 debug. */
    if (level > 6 || HC_LOG_DEBUG < hc_log_threshold) return;
    hc_log_vwrite(HC_LOG_DEBUG, "captions", fmt, va);
}

/* ---- probes: libass lays a line out, we read where units landed ------------- */
typedef struct probe {
    int rows;           /* rows of ctext */
    int *row_of;        /* per unit (borrowed scratch of size nu) */
    bool overflow;      /* ink outside the side margins */
    int *wide;          /* per unit: ink wider than the text area (scratch) */
    int x0, y0, x1, y1; /* ink box (y1 = -1 when nothing drawn) */
} probe;

/* Render t at scale fs with libass's smart wrapping; units [0, nu) (and an
 * ellipsis after unit nu - 1 when `ellipsis`). */
static int run_probe(hc_captions *c, const look *lk, const ctext *t, int nu, bool ellipsis, int fs,
                     const char *font, probe *pr) {
    sbuf b = {0};
    put_header(&b, c->w, c->h, lk, 0);
    sb_printf(&b, "Dialogue: 0,0:00:00.00,0:01:00.00,C,,0,0,0,,{\\bord0\\shad0\\fs%d", fs);
    if (strcmp(font, FONT_KR) != 0) sb_printf(&b, "\\fn%s", font);
    sb_puts(&b, "}");
    for (int k = 0; k < nu; k++) {
        const bunit *u = &t->u[k];
        /* unit k is drawn in colour k + 1 (RGB bytes, ASS writes BGR) */
        unsigned col = (unsigned)k + 1;
        sb_printf(&b, "{\\1c&H%02X%02X%02X&}", col & 0xff, (col >> 8) & 0xff, (col >> 16) & 0xff);
        bool last = k == nu - 1;
        int end = last ? u->ink_end : u->g1;
        for (int g = u->g0; g < end; g++)
            put_escaped(&b, t, g);
        if (last) break;
        if (u->sep == SEP_HIDDEN)
            sb_printf(&b, "{\\fs1} {\\fs%d}", fs);
        else if (u->sep == SEP_FORCED)
            sb_puts(&b, "\\N");
    }
    if (ellipsis) sb_puts(&b, ELLIPSIS);
    sb_puts(&b, "\n");
    if (b.oom) {
        sb_fini(&b);
        return HC_ENOMEM;
    }
    ASS_Track *tr = ass_read_memory(c->lib, b.s, b.len, NULL);
    sb_fini(&b);
    if (!tr || tr->n_events != 1) {
        if (tr) ass_free_track(tr);
        return HC_EINTERNAL;
    }
    ASS_Image *img = ass_render_frame(c->rend, tr, 0, NULL);
    /* Per unit: the vertical centre of its ink (-1 = none). */
    int n_all = nu + (ellipsis ? 1 : 0);
    double *cy = malloc((size_t)(n_all > 0 ? n_all : 1) * sizeof *cy);
    if (!cy) {
        ass_free_track(tr);
        return HC_ENOMEM;
    }
    for (int k = 0; k < n_all; k++)
        cy[k] = -1;
    pr->x0 = c->w, pr->y0 = c->h, pr->x1 = -1, pr->y1 = -1;
    pr->overflow = false;
    int area_l = lk->ml - 2, area_r = c->w - lk->mr + 2;
    for (int k = 0; k < nu; k++)
        pr->wide[k] = 0;
    for (; img; img = img->next) {
        if (img->type != IMAGE_TYPE_CHARACTER || img->w <= 0 || img->h <= 0) continue;
        int k = (int)(img->color >> 8) - 1; /* RGBA; the ellipsis keeps the last colour */
        if (k < 0 || k >= nu) continue;
        if (cy[k] < 0) cy[k] = img->dst_y + img->h / 2.0;
        if (img->dst_x < pr->x0) pr->x0 = img->dst_x;
        if (img->dst_y < pr->y0) pr->y0 = img->dst_y;
        if (img->dst_x + img->w > pr->x1) pr->x1 = img->dst_x + img->w;
        if (img->dst_y + img->h > pr->y1) pr->y1 = img->dst_y + img->h;
        if (img->dst_x < area_l || img->dst_x + img->w > area_r) pr->overflow = true;
        if (img->w > area_r - area_l) pr->wide[k] = 1;
    }
    /* Rows: a unit whose centre is more than half a line below the row's
     * first unit starts a new row (rows are `fs` apart). */
    int row = 0;
    double row_cy = -1;
    for (int k = 0; k < nu; k++) {
        if (cy[k] >= 0) {
            if (row_cy < 0)
                row_cy = cy[k];
            else if (cy[k] > row_cy + 0.5 * fs) {
                row++;
                row_cy = cy[k];
            }
        }
        pr->row_of[k] = row;
    }
    pr->rows = row_cy < 0 ? 0 : row + 1;
    free(cy);
    ass_free_track(tr);
    return 0;
}

/* A line laid out: its text, units with frozen row breaks, font size, and
 * where its ink lands. */
typedef struct layout {
    sbuf norm; /* normalised ctext */
    ctext t;
    int nu;        /* units kept (after truncation) */
    bool ellipsis; /* "…" after the last unit */
    int fs;
    int rows;
    const char *font;
    int y0, y1; /* ink rows (probe, without outline) */
} layout;

static void layout_fini(layout *l) {
    text_fini(&l->t);
    sb_fini(&l->norm);
}

static void freeze_rows(layout *l, const probe *pr) {
    for (int k = 0; k < l->nu; k++)
        l->t.u[k].newline =
            k + 1 < l->nu && (l->t.u[k].sep == SEP_FORCED || pr->row_of[k + 1] > pr->row_of[k]);
    l->rows = pr->rows;
    l->y0 = pr->y0;
    l->y1 = pr->y1;
}

/* Lay out one line: at most MAX_ROWS rows inside the margins (see the
 * header comment for the rules). Empty text gives l->nu == 0. */
static int layout_line(hc_captions *c, const look *lk, const char *user, layout *l) {
    *l = (layout){0};
    text_normalise(user, &l->norm);
    if (l->norm.oom) return HC_ENOMEM;
    if (!l->norm.s || !l->norm.len) return 0;
    int rc = text_split(l->norm.s, NULL, false, &l->t);
    if (rc != 0) return rc;
    l->font = font_for(&l->t);
    size_t cap = (size_t)l->t.nu + 1;
    int *row_of = NULL, *wide = NULL;
    bool *split = NULL;
    probe pr = {0};
    static const double scales[] = {1.0, 0.85, 0.7};
    for (int si = 0; si < 3; si++) {
        l->fs = (int)lround(lk->fs * scales[si]);
        /* Pass 0: words break at their usual places. Words wider than the
         * text area are then split between any graphemes, starting a row of
         * their own (pass 1), or, if that needs too many rows, not (pass 2). */
        for (int pass = 0; pass < 3; pass++) {
            if (pass > 0 || si > 0) {
                text_fini(&l->t);
                rc = text_split(l->norm.s, pass ? split : NULL, pass == 1, &l->t);
                if (rc != 0) goto done;
            }
            free(row_of), free(wide);
            cap = (size_t)l->t.nu + 1;
            row_of = malloc(cap * sizeof *row_of);
            wide = malloc(cap * sizeof *wide);
            if (!row_of || !wide) {
                rc = HC_ENOMEM;
                goto done;
            }
            pr = (probe){.row_of = row_of, .wide = wide};
            l->nu = l->t.nu;
            if ((rc = run_probe(c, lk, &l->t, l->nu, false, l->fs, l->font, &pr)) != 0) goto done;
            if (pass == 0) {
                bool any_wide = false;
                for (int k = 0; k < l->nu; k++)
                    any_wide |= wide[k] != 0;
                if (!pr.overflow || !any_wide) break;
                free(split);
                split = calloc(cap, sizeof *split);
                if (!split) {
                    rc = HC_ENOMEM;
                    goto done;
                }
                for (int k = 0; k < l->nu; k++)
                    split[k] = wide[k] != 0;
            } else if (pr.rows <= MAX_ROWS || pass == 2) {
                break;
            }
        }
        if (pr.rows <= MAX_ROWS) {
            freeze_rows(l, &pr);
            goto done;
        }
    }
    /* Still too long at 70 %: keep the units of the first rows, add "…",
     * drop units until it fits. */
    int keep = 0;
    while (keep < l->nu && row_of[keep] < MAX_ROWS)
        keep++;
    for (; keep > 0; keep--) {
        l->nu = keep;
        l->ellipsis = true;
        if ((rc = run_probe(c, lk, &l->t, keep, true, l->fs, l->font, &pr)) != 0) goto done;
        if (pr.rows <= MAX_ROWS) break;
    }
    if (keep == 0) { /* not even one unit fits (cannot happen after splitting words): not drawn */
        l->nu = 0;
        goto done;
    }
    freeze_rows(l, &pr);
    HC_DEBUG("captions", "line shortened to %d of %d units at %d px", keep, l->t.nu, l->fs);
done:
    free(row_of);
    free(wide);
    free(split);
    return rc;
}

/* ---- final events: text body with per-animation tags ------------------------ */
typedef enum { BODY_PLAIN, BODY_TYPEWRITER, BODY_WORDS, BODY_KARAOKE, BODY_WAVE } body_kind;

typedef struct body_params {
    body_kind kind;
    long long dur_ms;
    const look *lk;
    /* typewriter/words: per item interval; wave: geometry */
    double step_ms;
    double wave_amp_deg, wave_period_ms;
    int wave_keys;
} body_params;

static int count_visible(const layout *l) {
    int n = 0;
    for (int k = 0; k < l->nu; k++)
        for (int g = l->t.u[k].g0; g < l->t.u[k].ink_end; g++)
            n++;
    return n + (l->ellipsis ? 1 : 0);
}

static void put_alpha_hidden(sbuf *b) {
    sb_puts(b, "\\1a&HFF&\\3a&HFF&\\4a&HFF&");
}

static void put_alpha_shown(sbuf *b, const look *lk) {
    sb_printf(b, "\\1a&H00&\\3a&H00&\\4a&H%02X&", lk->shadow_alpha);
}

/* Tags before visible item j (grapheme or unit) of n. */
static void put_item_tags(sbuf *b, const body_params *bp, int j, int n) {
    long long t;
    switch (bp->kind) {
    case BODY_TYPEWRITER:
        t = llround(j * bp->step_ms);
        sb_puts(b, "{");
        put_alpha_hidden(b);
        sb_printf(b, "\\t(%lld,%lld,", t, t + 1);
        put_alpha_shown(b, bp->lk);
        sb_puts(b, ")}");
        break;
    case BODY_WORDS:
        t = llround(j * bp->step_ms);
        sb_puts(b, "{");
        put_alpha_hidden(b);
        sb_printf(b, "\\t(%lld,%lld,", t, t + 120);
        put_alpha_shown(b, bp->lk);
        sb_puts(b, ")}");
        break;
    case BODY_WAVE: {
        /* Rotation about a far-away origin (\org in the prefix) moves a
         * character vertically while turning it by a fraction of a degree:
         * keyframes of a sine, each character a phase later. */
        double step = bp->wave_period_ms / 8, ph = j * 0.55;
        sb_printf(b, "{\\frz%.4f", bp->wave_amp_deg * sin(ph));
        for (int k = 1; k <= bp->wave_keys; k++) {
            double a = k == bp->wave_keys ? 0 : bp->wave_amp_deg * sin(ph + k * M_PI / 4);
            sb_printf(b, "\\t(%lld,%lld,\\frz%.4f)", llround((k - 1) * step), llround(k * step), a);
        }
        sb_puts(b, "}");
        break;
    }
    default:
        break;
    }
    (void)n;
}

static void put_body(sbuf *b, const layout *l, const body_params *bp) {
    int n_items = bp->kind == BODY_WORDS || bp->kind == BODY_KARAOKE ? l->nu : count_visible(l);
    int total_g = count_visible(l);
    long long kar_total_cs = bp->dur_ms * 85 / 1000, kar_used = 0;
    int item = 0, g_done = 0;
    for (int k = 0; k < l->nu; k++) {
        const bunit *u = &l->t.u[k];
        if (bp->kind == BODY_WORDS) put_item_tags(b, bp, item++, n_items);
        if (bp->kind == BODY_KARAOKE) {
            /* \kf per unit, sized by its graphemes, over 85 % of the line */
            int ng = u->ink_end - u->g0 + (k == l->nu - 1 && l->ellipsis);
            g_done += ng;
            long long upto = total_g ? kar_total_cs * g_done / total_g : 0;
            sb_printf(b, "{\\kf%lld}", upto - kar_used);
            kar_used = upto;
        }
        bool last = k == l->nu - 1;
        int end = last || u->newline ? u->ink_end : u->g1;
        for (int g = u->g0; g < end; g++) {
            bool space = l->t.g[g].kind != G_TEXT;
            if (!space && (bp->kind == BODY_TYPEWRITER || bp->kind == BODY_WAVE))
                put_item_tags(b, bp, item++, n_items);
            if (l->t.g[g].kind == G_NEWLINE) continue; /* only inside dropped spans */
            put_escaped(b, &l->t, g);
        }
        if (u->newline) sb_puts(b, "\\N");
    }
    if (l->ellipsis) {
        if (bp->kind == BODY_TYPEWRITER || bp->kind == BODY_WAVE)
            put_item_tags(b, bp, item++, n_items);
        sb_puts(b, ELLIPSIS);
    }
}

static long long clamp_ll(long long v, long long lo, long long hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* \fad(in, out) shortened to fit a short line. */
static void put_fad(sbuf *b, long long in, long long out, long long dur) {
    in = clamp_ll(in, 0, dur / 3), out = clamp_ll(out, 0, dur / 3);
    sb_printf(b, "\\fad(%lld,%lld)", in, out);
}

typedef struct events {
    sbuf script;
    event_time *times;
    int n, cap;
} events;

static void add_event(events *ev, int layer, long long start, long long dur, const char *text) {
    if (ev->n == ev->cap) {
        int cap = ev->cap ? ev->cap * 2 : 16;
        event_time *t = realloc(ev->times, (size_t)cap * sizeof *t);
        if (!t) {
            ev->script.oom = true;
            return;
        }
        ev->times = t, ev->cap = cap;
    }
    ev->times[ev->n++] = (event_time){start, dur};
    HC_DEBUG("captions", "event %d: %lld+%lld ms: %.300s", ev->n - 1, start, dur, text);
    /* Times are set exactly (ms) on the parsed events; the text's are placeholders. */
    sb_printf(&ev->script, "Dialogue: %d,0:00:00.00,0:00:01.00,C,,0,0,0,,%s\n", layer, text);
}

/* Emit the events of one line: start/dur in ms, style's own animation when
 * anim == AN_STYLE. */
static void emit_line(events *ev, const hc_captions *c, const look *lk, int style, int anim,
                      const layout *l, long long start, long long dur, int line_index) {
    int w = c->w, h = c->h;
    long long x = w / 2, y = h - lk->mv;
    sbuf pre = {0}, body = {0}, ev_text = {0};
    body_params bp = {.kind = BODY_PLAIN, .dur_ms = dur, .lk = lk};
    sb_puts(&pre, "{");
    if (l->fs != lk->fs) sb_printf(&pre, "\\fs%d", l->fs);
    if (strcmp(l->font, FONT_KR) != 0) sb_printf(&pre, "\\fn%s", l->font);
    double u = lk->unit;
    int n_vis = count_visible(l);
    if (anim == AN_STYLE) {
        switch (style) {
        case HC_TEXT_FADE_IN:
            put_fad(&pre, 300, 300, dur);
            break;
        case HC_TEXT_SLIDE_IN:
            sb_printf(&pre, "\\move(%lld,%lld,%lld,%lld,0,350)", x, y + lround(0.04 * h), x, y);
            put_fad(&pre, 300, 200, dur);
            break;
        case HC_TEXT_MINIMAL:
            put_fad(&pre, 200, 200, dur);
            break;
        default: /* bold_pop */
            sb_puts(&pre, "\\fscx80\\fscy80\\t(0,200,\\fscx100\\fscy100)");
            put_fad(&pre, 80, 200, dur);
            break;
        }
    } else {
        switch (anim) {
        case AN_FADE:
            put_fad(&pre, 400, 300, dur);
            break;
        case AN_TYPEWRITER:
            bp.kind = BODY_TYPEWRITER;
            bp.step_ms = fmin(70.0, 0.6 * (double)dur / (n_vis > 0 ? n_vis : 1));
            put_fad(&pre, 0, 200, dur);
            break;
        case AN_WORD_BY_WORD:
            bp.kind = BODY_WORDS;
            bp.step_ms = fmin(280.0, 0.6 * (double)dur / (l->nu > 0 ? l->nu : 1));
            put_fad(&pre, 0, 200, dur);
            break;
        case AN_BOUNCE_IN: /* drop from above, squash on landing, settle */
            sb_printf(&pre,
                      "\\move(%lld,%lld,%lld,%lld,0,260)\\t(260,330,\\fscx108\\fscy88)"
                      "\\t(330,430,\\fscx100\\fscy100)",
                      x, y - lround(0.06 * h), x, y);
            put_fad(&pre, 120, 200, dur);
            break;
        case AN_SCALE_POP:
            sb_puts(&pre, "\\fscx50\\fscy50\\t(0,160,\\fscx112\\fscy112)"
                          "\\t(160,260,\\fscx100\\fscy100)");
            put_fad(&pre, 60, 200, dur);
            break;
        case AN_SLIDE_UP:
        case AN_SLIDE_DOWN:
        case AN_SLIDE_LEFT:
        case AN_SLIDE_RIGHT: {
            long long dx = anim == AN_SLIDE_LEFT    ? lround(0.12 * w)
                           : anim == AN_SLIDE_RIGHT ? -lround(0.12 * w)
                                                    : 0;
            long long dy = anim == AN_SLIDE_UP     ? lround(0.05 * h)
                           : anim == AN_SLIDE_DOWN ? -lround(0.05 * h)
                                                   : 0;
            sb_printf(&pre, "\\move(%lld,%lld,%lld,%lld,0,400)", x + dx, y + dy, x, y);
            put_fad(&pre, 250, 200, dur);
            break;
        }
        case AN_WAVE: {
            bp.kind = BODY_WAVE;
            /* origin 10 frame widths to the left: 1 degree ~ 0.17 * 10 w px */
            double r = 10.0 * w + w / 2.0, amp_px = 0.012 * h;
            bp.wave_amp_deg = amp_px / r * 180 / M_PI;
            bp.wave_period_ms = 1200;
            long long keys = dur / (long long)(bp.wave_period_ms / 8);
            long long budget = 2400 / (n_vis > 0 ? n_vis : 1);
            bp.wave_keys = (int)clamp_ll(keys < budget ? keys : budget, 1, 64);
            double cy = l->y1 >= 0 ? (l->y0 + l->y1) / 2.0 : (double)y;
            sb_printf(&pre, "\\org(%lld,%.0f)", x - llround(r), cy);
            put_fad(&pre, 200, 200, dur);
            break;
        }
        case AN_KARAOKE:
            bp.kind = BODY_KARAOKE;
            sb_puts(&pre, "\\1c&H00D8FF&\\2c&HFFFFFF&"); /* sung: warm yellow; to sing: white */
            put_fad(&pre, 150, 200, dur);
            break;
        case AN_SPLIT_REVEAL: {
            /* Approximation: the text is revealed from its middle row of
             * pixels outwards, as if covers above and below slid apart. */
            double pad = lk->bord + lk->shad + 4 * u;
            double mid = l->y1 >= 0 ? (l->y0 + l->y1) / 2.0 : y - l->fs / 2.0;
            double top = (l->y1 >= 0 ? l->y0 : y - l->rows * l->fs) - pad;
            double bot = (l->y1 >= 0 ? l->y1 : y) + pad;
            sb_printf(&pre, "\\clip(0,%.0f,%d,%.0f)\\t(0,450,\\clip(0,%.0f,%d,%.0f))", mid, w, mid,
                      top, w, bot);
            put_fad(&pre, 0, 200, dur);
            break;
        }
        case AN_BLUR_IN:
            /* libass blurs only the outline of outlined text: no outline
             * while the fill is blurred, it grows back as the blur ends */
            sb_printf(&pre, "\\bord0\\blur%.1f\\t(0,500,\\blur0)\\t(400,560,\\bord%.2f)", 10 * u,
                      lk->bord);
            put_fad(&pre, 100, 200, dur);
            break;
        default: /* glitch: the steady part; the glitch slices are added below */
            sb_printf(&pre, "\\pos(%lld,%lld)", x, y);
            put_fad(&pre, 0, 200, dur);
            break;
        }
    }
    sb_puts(&pre, "}");
    put_body(&body, l, &bp);
    if (pre.oom || body.oom) {
        ev->script.oom = true;
        goto done;
    }
    if (anim == AN_GLITCH) {
        /* The first ~360 ms: six 60 ms slices, each with the text at a
         * jittered offset over red and cyan copies split sideways. */
        long long g_end = dur < 1080 ? dur / 3 : 360, slice = 60;
        long long steady_from = 0;
        for (long long t0 = 0; t0 + slice <= g_end; t0 += slice) {
            int k = (int)(t0 / slice);
            double jx = (hc_noise2((uint64_t)line_index, k, 0) - 0.5) * 0.03 * w;
            double jy = (hc_noise2((uint64_t)line_index, k, 1) - 0.5) * 0.012 * h;
            double split = (0.004 + 0.01 * hc_noise2((uint64_t)line_index, k, 2)) * w;
            static const char *const split_col[2] = {"&H0000FF&",
                                                     "&HFFFF00&"}; /* red, cyan (BGR) */
            for (int s = 0; s < 2; s++) {
                ev_text.len = 0;
                sb_printf(&ev_text, "{\\pos(%.0f,%.0f)\\1c%s\\bord0\\shad0\\1a&H50&",
                          x + jx + (s ? split : -split), y + jy, split_col[s]);
                if (l->fs != lk->fs) sb_printf(&ev_text, "\\fs%d", l->fs);
                if (strcmp(l->font, FONT_KR) != 0) sb_printf(&ev_text, "\\fn%s", l->font);
                sb_puts(&ev_text, "}");
                put_body(&ev_text, l, &bp);
                if (!ev_text.oom) add_event(ev, 0, start + t0, slice, ev_text.s);
            }
            ev_text.len = 0;
            sb_printf(&ev_text, "{\\pos(%.0f,%.0f)", x + jx, y + jy);
            if (l->fs != lk->fs) sb_printf(&ev_text, "\\fs%d", l->fs);
            if (strcmp(l->font, FONT_KR) != 0) sb_printf(&ev_text, "\\fn%s", l->font);
            sb_puts(&ev_text, "}");
            put_body(&ev_text, l, &bp);
            if (!ev_text.oom) add_event(ev, 1, start + t0, slice, ev_text.s);
            steady_from = t0 + slice;
        }
        if (ev_text.oom) ev->script.oom = true;
        if (dur - steady_from > 0) {
            ev_text.len = 0;
            sb_putn(&ev_text, pre.s, pre.len);
            sb_putn(&ev_text, body.s, body.len);
            if (!ev_text.oom) add_event(ev, 1, start + steady_from, dur - steady_from, ev_text.s);
        }
    } else {
        sb_putn(&ev_text, pre.s, pre.len);
        sb_putn(&ev_text, body.s, body.len);
        if (!ev_text.oom) add_event(ev, 1, start, dur, ev_text.s);
    }
    if (ev_text.oom) ev->script.oom = true;
done:
    sb_fini(&pre);
    sb_fini(&body);
    sb_fini(&ev_text);
}

/* ---- public ------------------------------------------------------------------ */
void hc_captions_free(hc_captions *c) {
    if (!c) return;
    if (c->track) ass_free_track(c->track);
    if (c->rend) ass_renderer_done(c->rend);
    if (c->lib) ass_library_done(c->lib);
    pthread_mutex_destroy(&c->mu);
    free(c->win);
    free(c);
}

static int anim_lookup(const char *name) {
    if (!name) return AN_STYLE;
    for (int i = 0; hc_text_animation_names[i]; i++)
        if (strcmp(name, hc_text_animation_names[i]) == 0) return i;
    return AN_STYLE; /* unknown: the validator reports it; here the style's own */
}

int hc_captions_new(const hc_request *req, int w, int h, double duration_s, int style,
                    const hc_name_list *animations, hc_captions **out, hc_err *err) {
    *out = NULL;
    if (!req || w <= 0 || h <= 0 || w > 16384 || h > 16384 || (w | h) & 1 || !(duration_s > 0))
        return hc_err_set(err, HC_EINVAL, "captions: bad frame size %dx%d or duration %g", w, h,
                          duration_s);
    if (style < 0 || style >= HC_TEXT_COUNT) style = HC_TEXT_BOLD_POP;
    long long end_ms = llround(duration_s * 1000);
    int kept = 0;
    for (int i = 0; i < req->n_lines; i++)
        if (llround(req->lines[i].timing_s * 1000) < end_ms && req->lines[i].duration_s > 0) kept++;
    if (kept == 0) return 0;

    int rc = 0;
    events ev = {0};
    layout lay = {0};
    hc_captions *c = calloc(1, sizeof *c);
    if (!c) return hc_err_set(err, HC_ENOMEM, "captions: out of memory");
    pthread_mutex_init(&c->mu, NULL);
    c->w = w, c->h = h;
    c->win = calloc((size_t)kept, sizeof *c->win);
    c->lib = ass_library_init();
    if (!c->win || !c->lib) {
        rc = hc_err_set(err, c->win ? HC_EINTERNAL : HC_ENOMEM,
                        "captions: libass failed to initialise");
        goto fail;
    }
    ass_set_message_cb(c->lib, log_ass, NULL);
    ass_set_extract_fonts(c->lib, 0);
    c->rend = ass_renderer_init(c->lib);
    if (!c->rend) {
        rc = hc_err_set(err, HC_EINTERNAL, "captions: libass renderer failed to initialise");
        goto fail;
    }
    ass_set_frame_size(c->rend, w, h);
    ass_set_storage_size(c->rend, w, h);
    ass_set_shaper(c->rend, ASS_SHAPING_COMPLEX);
    ass_set_hinting(c->rend, ASS_HINTING_NONE);
    ass_set_fonts(c->rend, NULL, FONT_KR, ASS_FONTPROVIDER_AUTODETECT, NULL, 1);

    look lk;
    look_for(style, w, h, &lk);
    /* Can libass draw anything at all? (no font provider, no fonts) */
    {
        layout probe_l = {0};
        rc = layout_line(c, &lk, "Ag", &probe_l);
        bool ok = rc == 0 && probe_l.rows == 1;
        layout_fini(&probe_l);
        if (rc == HC_ENOMEM) {
            rc = hc_err_set(err, rc, "captions: out of memory");
            goto fail;
        }
        if (!ok) {
            rc = hc_err_set(err, HC_EINTERNAL,
                            "captions: libass drew no text (no usable font through fontconfig; "
                            "install fonts-noto-cjk)");
            goto fail;
        }
    }

    put_header(&ev.script, w, h, &lk, 2);
    for (int i = 0; i < req->n_lines; i++) {
        const hc_caption *cap = &req->lines[i];
        long long start = llround(cap->timing_s * 1000);
        long long stop = llround((cap->timing_s + cap->duration_s) * 1000);
        if (start >= end_ms || !(cap->duration_s > 0)) continue; /* dropped: past the end */
        if (start < 0) start = 0;
        if (stop > end_ms) stop = end_ms; /* clipped at the end */
        if (stop <= start) continue;
        const char *name =
            animations && animations->n > 0 ? animations->v[i % animations->n] : NULL;
        if ((rc = layout_line(c, &lk, cap->text ? cap->text : "", &lay)) != 0) {
            rc =
                hc_err_set(err, rc, "script.lines[%d]: %s", i,
                           rc == HC_ENOMEM ? "out of memory" : "libass failed to lay the text out");
            goto fail;
        }
        if (lay.nu > 0) {
            emit_line(&ev, c, &lk, style, anim_lookup(name), &lay, start, stop - start, i);
            c->win[c->n_win++] = (window){start, stop};
        } else if (lay.norm.len) {
            HC_WARN("captions", "script.lines[%d]: text could not be laid out; not drawn", i);
        }
        layout_fini(&lay);
    }
    if (ev.script.oom) {
        rc = hc_err_set(err, HC_ENOMEM, "captions: out of memory");
        goto fail;
    }
    c->track = ass_read_memory(c->lib, ev.script.s, ev.script.len, NULL);
    if (!c->track || c->track->n_events != ev.n) {
        rc = hc_err_set(err, HC_EINTERNAL,
                        "captions: libass did not read the script (%d of %d events)",
                        c->track ? c->track->n_events : 0, ev.n);
        goto fail;
    }
    for (int k = 0; k < ev.n; k++) {
        c->track->events[k].Start = ev.times[k].start_ms;
        c->track->events[k].Duration = ev.times[k].dur_ms;
    }
    HC_DEBUG("captions", "%d line(s), %d event(s), %zu bytes of ASS", c->n_win, ev.n,
             ev.script.len);
    sb_fini(&ev.script);
    free(ev.times);
    if (c->n_win == 0) {
        hc_captions_free(c);
        return 0;
    }
    *out = c;
    return 0;
fail:
    layout_fini(&lay);
    sb_fini(&ev.script);
    free(ev.times);
    hc_captions_free(c);
    return rc;
}

/* Colour of an ASS_Image (0xRRGGBBAA, AA = transparency) in limited-range
 * BT.709 Y'CbCr. */
static void rgb_to_yuv709(uint32_t rgba, int *y, int *u, int *v) {
    double r = (rgba >> 24) & 0xff, g = (rgba >> 16) & 0xff, b = (rgba >> 8) & 0xff;
    double yf = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    *y = (int)lround(16 + yf * 219.0 / 255);
    *u = (int)lround(128 + (b - yf) / 1.8556 * 224.0 / 255);
    *v = (int)lround(128 + (r - yf) / 1.5748 * 224.0 / 255);
}

static inline uint8_t mix(uint8_t bg, int fg, int a /* 0..255 */) {
    return (uint8_t)((bg * (255 - a) + fg * a + 127) / 255);
}

static void blend_image(const ASS_Image *img, hc_yuv *f) {
    int opa = 255 - (int)(img->color & 0xff);
    if (opa <= 0) return;
    int cy, cu, cv;
    rgb_to_yuv709(img->color, &cy, &cu, &cv);
    int x0 = img->dst_x < 0 ? 0 : img->dst_x, y0 = img->dst_y < 0 ? 0 : img->dst_y;
    int x1 = img->dst_x + img->w, y1 = img->dst_y + img->h;
    if (x1 > f->w) x1 = f->w;
    if (y1 > f->h) y1 = f->h;
    if (x0 >= x1 || y0 >= y1) return;
    for (int y = y0; y < y1; y++) {
        const unsigned char *m = img->bitmap + (size_t)(y - img->dst_y) * img->stride - img->dst_x;
        uint8_t *row = f->plane[0] + (size_t)y * f->stride[0];
        for (int x = x0; x < x1; x++)
            if (m[x]) row[x] = mix(row[x], cy, (m[x] * opa + 127) / 255);
    }
    /* Chroma: the 2x2 block's mean alpha (pixels outside the mask count 0). */
    for (int by = y0 >> 1; by <= (y1 - 1) >> 1; by++) {
        uint8_t *ru = f->plane[1] + (size_t)by * f->stride[1];
        uint8_t *rv = f->plane[2] + (size_t)by * f->stride[2];
        for (int bx = x0 >> 1; bx <= (x1 - 1) >> 1; bx++) {
            int sum = 0;
            for (int dy = 0; dy < 2; dy++) {
                int y = 2 * by + dy;
                if (y < y0 || y >= y1) continue;
                const unsigned char *m =
                    img->bitmap + (size_t)(y - img->dst_y) * img->stride - img->dst_x;
                for (int dx = 0; dx < 2; dx++) {
                    int x = 2 * bx + dx;
                    if (x >= x0 && x < x1) sum += m[x];
                }
            }
            if (!sum) continue;
            int a = ((sum + 2) / 4 * opa + 127) / 255;
            ru[bx] = mix(ru[bx], cu, a);
            rv[bx] = mix(rv[bx], cv, a);
        }
    }
}

int hc_captions_draw(hc_captions *c, double time_s, hc_yuv *frame) {
    if (!c) return 0;
    if (!frame || frame->w != c->w || frame->h != c->h) return HC_EINVAL;
    long long now = llround(time_s * 1000);
    bool visible = false;
    for (int i = 0; i < c->n_win && !visible; i++)
        visible = now >= c->win[i].start_ms && now < c->win[i].end_ms;
    if (!visible) return 0; /* nothing to draw: no libass call, no lock */
    pthread_mutex_lock(&c->mu);
    /* Frames are composed out of order on several threads, each into a
     * fresh frame, so libass's change detection cannot save the blending;
     * it is read only to keep libass's bookkeeping as documented. */
    int changed = 0;
    for (ASS_Image *img = ass_render_frame(c->rend, c->track, now, &changed); img; img = img->next)
        if (img->w > 0 && img->h > 0) blend_image(img, frame);
    pthread_mutex_unlock(&c->mu);
    return 0;
}
