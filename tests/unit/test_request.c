/* Unit tests of src/jobs/request.c: parsing and validation of render
 * requests (DESIGN.md §2), the enum tables and the output size table.
 * Error cases check the code and that the message names the field path. */
#include "hc_test.h"
#include "jobs/hc_jobs.h"

#include <string.h>

static const hc_request_opts local_opts = {true, "/specs"};
static const hc_request_opts server_opts = {false, NULL};

static int parse(const char *body, const hc_request_opts *opts, hc_request **req, hc_err *err) {
    hc_err_clear(err);
    return hc_request_parse(body, strlen(body), opts, req, err);
}

/* Parse body (server rules) and require success; req is the result. */
#define PARSE_OK(body, opts, req)                                                                  \
    do {                                                                                           \
        hc_err e_ = {0};                                                                           \
        int rc_ = parse((body), (opts), &(req), &e_);                                              \
        CHECKF(rc_ == 0 && (req), "parse failed (%d): %s\n      body: %s", rc_, e_.msg, (body));   \
    } while (0)

/* Parse body and require failure with code and needle in the message. */
#define PARSE_ERR(body, opts, want_code, needle)                                                   \
    do {                                                                                           \
        hc_err e_ = {0};                                                                           \
        hc_request *r_ = (hc_request *)1;                                                          \
        int rc_ = parse((body), (opts), &r_, &e_);                                                 \
        hc_request_free(rc_ == 0 ? r_ : NULL);                                                     \
        CHECKF(rc_ == (want_code) && r_ == NULL && e_.code == (want_code) &&                       \
                   strstr(e_.msg, (needle)),                                                       \
               "want %d containing '%s', got %d: '%s'\n      body: %s", (want_code), (needle),     \
               rc_, e_.msg, (body));                                                               \
    } while (0)

/* Run a table of {body, needle} cases that must all fail with HC_EINVAL. */
typedef struct {
    const char *body;
    const char *needle;
} bad_case;

static void run_bad_cases(const bad_case *cases, size_t n, const hc_request_opts *opts) {
    for (size_t i = 0; i < n; i++)
        PARSE_ERR(cases[i].body, opts, HC_EINVAL, cases[i].needle);
}

static bool has_warning(const hc_request *req, const char *needle) {
    for (int i = 0; i < req->warnings.n; i++)
        if (strstr(req->warnings.v[i], needle)) return true;
    return false;
}

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

/* ---- the seed guide's example and defaults ------------------------------- */

HC_TEST(request_seed_example_parses) {
    const char *body =
        "{\"job_id\":\"test-001\",\"images\":[{\"url\":\"https://example.com/image1.jpg\"}],"
        "\"settings\":{\"vibe\":\"Pop\",\"aspect_ratio\":\"9:16\",\"target_duration\":15}}";
    hc_request *req = NULL;
    PARSE_OK(body, &server_opts, req);
    CHECK(strcmp(req->job_id, "test-001") == 0);
    CHECK(!req->job_id_generated);
    CHECK(req->n_images == 1);
    CHECK(strcmp(req->images[0].url, "https://example.com/image1.jpg") == 0);
    CHECK(req->images[0].kind == HC_URL_HTTPS);
    CHECK(req->images[0].order == 0 && req->images[0].index == 0 && !req->images[0].has_focus);
    CHECK(req->settings.vibe == HC_VIBE_POP);
    CHECK(req->settings.aspect == HC_ASPECT_9_16);
    CHECK(req->settings.target_duration_s == 15);
    CHECK(req->settings.seed == fnv1a64("test-001") && !req->settings.has_seed);
    CHECK(req->warnings.n == 0);
    CHECK(req->base_dir == NULL);
    hc_request_free(req);
}

HC_TEST(request_defaults) {
    hc_request *req = NULL;
    PARSE_OK("{\"images\":[\"https://a.example/x.jpg\"]}", &server_opts, req);
    CHECK(req->job_id_generated);
    CHECK(strlen(req->job_id) == 15 && strncmp(req->job_id, "render-", 7) == 0);
    for (int i = 7; i < 15; i++)
        CHECK(strchr("0123456789abcdef", req->job_id[i]) != NULL);
    const hc_settings *s = &req->settings;
    CHECK(s->vibe == HC_VIBE_POP);
    CHECK(s->effect_preset == HC_PRESET_NONE);
    CHECK(s->aspect == HC_ASPECT_9_16);
    CHECK(s->target_duration_s == 0);
    CHECK(s->cut_duration_s == 0);
    CHECK(s->text_style == HC_TEXT_NONE);
    CHECK(s->color_grade == HC_GRADE_NONE);
    CHECK(s->use_ai_effects);
    CHECK(s->ai_prompt == NULL);
    CHECK(s->ai_transitions.n == 0 && s->ai_motions.n == 0 && s->ai_filters.n == 0);
    CHECK(s->ai_text_animations.n == 0 && s->ai_overlays.n == 0);
    CHECK(s->fps == 30);
    CHECK(s->resolution == HC_RES_1080P);
    CHECK(s->fit == HC_FIT_COVER);
    CHECK(s->hardware == HC_HW_AUTO);
    CHECK(s->quality == HC_QUALITY_STANDARD);
    CHECK(!s->has_seed && s->seed == fnv1a64(req->job_id));
    CHECK(!req->has_audio && req->audio_url == NULL);
    CHECK(req->n_lines == 0 && req->lines == NULL);
    CHECK(!req->output_s3_bucket && !req->output_s3_key);
    CHECK(!req->callback_url && !req->callback_secret && !req->metadata_json);
    CHECK(req->warnings.n == 0);
    hc_request_free(req);
}

HC_TEST(request_nulls_mean_defaults) {
    const char *body =
        "{\"job_id\":null,\"images\":[\"https://a.example/x.jpg\"],\"audio\":null,\"script\":null,"
        "\"settings\":{\"vibe\":null,\"target_duration\":null,\"cut_duration\":null,\"ai_prompt\":"
        "null,"
        "\"ai_effects\":null,\"fps\":null,\"seed\":null,\"use_ai_effects\":null},"
        "\"output\":null,\"callback_url\":null,\"callback_secret\":null,\"metadata\":null}";
    hc_request *req = NULL;
    PARSE_OK(body, &server_opts, req);
    CHECK(req->job_id_generated);
    CHECK(req->settings.vibe == HC_VIBE_POP && req->settings.fps == 30 &&
          req->settings.use_ai_effects);
    CHECK(!req->has_audio && req->n_lines == 0 && !req->metadata_json && !req->callback_url);
    CHECK(req->warnings.n == 0);
    hc_request_free(req);
}

HC_TEST(request_generated_job_ids_differ) {
    char seen[8][HC_MAX_JOB_ID_LEN + 1];
    for (int i = 0; i < 8; i++) {
        hc_request *req = NULL;
        PARSE_OK("{\"images\":[\"s3://b/k.jpg\"]}", &server_opts, req);
        snprintf(seen[i], sizeof seen[i], "%s", req->job_id);
        hc_request_free(req);
        for (int j = 0; j < i; j++)
            CHECKF(strcmp(seen[i], seen[j]) != 0, "repeated id %s", seen[i]);
    }
}

HC_TEST(request_seed_explicit_and_derived) {
    hc_request *a = NULL, *b = NULL, *c = NULL;
    PARSE_OK("{\"job_id\":\"same\",\"images\":[\"s3://b/k\"]}", &server_opts, a);
    PARSE_OK("{\"job_id\":\"same\",\"images\":[\"s3://b/k\"]}", &server_opts, b);
    PARSE_OK("{\"job_id\":\"other\",\"images\":[\"s3://b/k\"],\"settings\":{\"seed\":42}}",
             &server_opts, c);
    CHECK(a->settings.seed == b->settings.seed);
    CHECK(!a->settings.has_seed);
    CHECK(c->settings.has_seed && c->settings.seed == 42);
    hc_request_free(a);
    hc_request_free(b);
    hc_request_free(c);
    hc_request *d = NULL;
    PARSE_OK("{\"images\":[\"s3://b/k\"],\"settings\":{\"seed\":9223372036854775807}}",
             &server_opts, d);
    CHECK(d->settings.seed == 9223372036854775807ULL);
    hc_request_free(d);
    PARSE_OK("{\"images\":[\"s3://b/k\"],\"settings\":{\"seed\":0}}", &server_opts, d);
    CHECK(d->settings.has_seed && d->settings.seed == 0);
    hc_request_free(d);
}

/* ---- images --------------------------------------------------------------- */

HC_TEST(request_images_sorted_by_order_stably) {
    const char *body = "{\"images\":[{\"url\":\"https://h/a\",\"order\":2},"
                       "{\"url\":\"https://h/b\"},"              /* order 1 (its index) */
                       "{\"url\":\"https://h/c\",\"order\":1},"  /* ties with b: after b */
                       "{\"url\":\"https://h/d\",\"order\":-5}," /* negative orders are fine */
                       "\"https://h/e\"]}";                      /* order 4 */
    hc_request *req = NULL;
    PARSE_OK(body, &server_opts, req);
    CHECK(req->n_images == 5);
    const char *want[] = {"https://h/d", "https://h/b", "https://h/c", "https://h/a",
                          "https://h/e"};
    const int want_index[] = {3, 1, 2, 0, 4};
    for (int i = 0; i < 5; i++) {
        CHECKF(strcmp(req->images[i].url, want[i]) == 0, "image %d is %s", i, req->images[i].url);
        CHECK(req->images[i].index == want_index[i]);
    }
    CHECK(req->images[0].order == -5);
    hc_request_free(req);

    /* Equal orders keep array order. */
    PARSE_OK(
        "{\"images\":[{\"url\":\"https://h/1\",\"order\":7},{\"url\":\"https://h/2\",\"order\":7},"
        "{\"url\":\"https://h/3\",\"order\":7},{\"url\":\"https://h/0\",\"order\":6}]}",
        &server_opts, req);
    CHECK(strcmp(req->images[0].url, "https://h/0") == 0);
    CHECK(strcmp(req->images[1].url, "https://h/1") == 0);
    CHECK(strcmp(req->images[2].url, "https://h/2") == 0);
    CHECK(strcmp(req->images[3].url, "https://h/3") == 0);
    hc_request_free(req);

    /* An integral real is an integer. */
    PARSE_OK("{\"images\":[{\"url\":\"https://h/1\",\"order\":3.0}]}", &server_opts, req);
    CHECK(req->images[0].order == 3);
    hc_request_free(req);
}

HC_TEST(request_image_focus) {
    hc_request *req = NULL;
    PARSE_OK(
        "{\"images\":[{\"url\":\"https://h/a\",\"focus\":{\"x\":0.25,\"y\":1}},"
        "{\"url\":\"https://h/b\",\"focus\":{\"x\":0}},{\"url\":\"https://h/c\",\"focus\":null}]}",
        &server_opts, req);
    CHECK(req->images[0].has_focus && req->images[0].focus_x == 0.25 &&
          req->images[0].focus_y == 1);
    CHECK(req->images[1].has_focus && req->images[1].focus_x == 0 && req->images[1].focus_y == 0.5);
    CHECK(!req->images[2].has_focus);
    hc_request_free(req);
}

HC_TEST(request_image_count_limits) {
    /* Exactly HC_MAX_IMAGES is fine, one more is refused. */
    size_t cap = 64 + (HC_MAX_IMAGES + 1) * 24;
    char *body = malloc(cap);
    CHECK(body);
    for (int n = HC_MAX_IMAGES; n <= HC_MAX_IMAGES + 1; n++) {
        size_t o = (size_t)snprintf(body, cap, "{\"images\":[");
        for (int i = 0; i < n; i++)
            o += (size_t)snprintf(body + o, cap - o, "%s\"s3://b/%d.jpg\"", i ? "," : "", i);
        snprintf(body + o, cap - o, "]}");
        hc_err e = {0};
        hc_request *req = NULL;
        int rc = parse(body, &server_opts, &req, &e);
        if (n == HC_MAX_IMAGES) {
            CHECKF(rc == 0 && req->n_images == HC_MAX_IMAGES, "200 images: %s", e.msg);
            CHECK(strcmp(req->images[199].url, "s3://b/199.jpg") == 0);
            hc_request_free(req);
        } else {
            CHECK(rc == HC_EINVAL && req == NULL);
            CHECKF(strcmp(e.msg, "images: 201 images exceeds the limit of 200") == 0, "%s", e.msg);
        }
    }
    free(body);
    PARSE_ERR("{\"images\":[]}", &server_opts, HC_EINVAL,
              "images: must contain at least one image");
    PARSE_ERR("{\"job_id\":\"x\"}", &server_opts, HC_EINVAL, "images: required");
    PARSE_ERR("{\"images\":null}", &server_opts, HC_EINVAL, "images: required");
    PARSE_ERR("{\"images\":\"https://h/a\"}", &server_opts, HC_EINVAL,
              "images: must be an array (got string)");
}

HC_TEST(request_url_kinds_accepted) {
    static const struct {
        const char *url;
        hc_url_kind kind;
    } ok[] = {
        {"http://example.com", HC_URL_HTTP},
        {"http://example.com/a.jpg", HC_URL_HTTP},
        {"HTTPS://Example.COM/a.jpg?x=1&y=%20#frag", HC_URL_HTTPS},
        {"https://example.com:8443/a.jpg", HC_URL_HTTPS},
        {"https://example.com:1/a", HC_URL_HTTPS},
        {"https://example.com:65535/a", HC_URL_HTTPS},
        {"http://127.0.0.1:8080/a.png", HC_URL_HTTP},
        {"http://[::1]:8080/a.png", HC_URL_HTTP},
        {"http://[2001:db8::1]/a.png", HC_URL_HTTP},
        {"https://bucket.s3.us-east-1.amazonaws.com/key/a.jpg", HC_URL_HTTPS},
        {"https://例え.jp/a.jpg", HC_URL_HTTPS},
        {"s3://bucket/key.jpg", HC_URL_S3},
        {"s3://my.bucket-1/deep/key with space.jpg", HC_URL_S3},
        {"file:///abs/path/a.jpg", HC_URL_FILE},
        {"file://localhost/abs/a.jpg", HC_URL_FILE},
        {"/abs/path/a.jpg", HC_URL_PATH},
        {"relative/a b.jpg", HC_URL_PATH},
        {"./a.jpg", HC_URL_PATH},
        {"../up/a.jpg", HC_URL_PATH},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char body[512];
        snprintf(body, sizeof body, "{\"images\":[{\"url\":\"%s\"}]}", ok[i].url);
        hc_request *req = NULL;
        PARSE_OK(body, &local_opts, req);
        CHECKF(req->images[0].kind == ok[i].kind, "%s: kind %d", ok[i].url,
               (int)req->images[0].kind);
        CHECK(strcmp(req->images[0].url, ok[i].url) == 0); /* stored as given */
        CHECK(req->base_dir && strcmp(req->base_dir, "/specs") == 0);
        hc_request_free(req);
    }
}

HC_TEST(request_url_errors) {
    static const bad_case cases[] = {
        {"{\"images\":[{\"url\":\"ftp://h/a.jpg\"}]}",
         "images[0].url: unsupported scheme \"ftp\" (allowed: http, https, s3, file, or a path)"},
        {"{\"images\":[\"s3://b/k\",\"s3://b/k\",{\"url\":\"ftp://h/a\"}]}",
         "images[2].url: unsupported scheme \"ftp\""},
        {"{\"images\":[\"data:image/png;base64,AAAA\"]}",
         "images[0].url: unsupported scheme \"data\""},
        {"{\"images\":[\"javascript:alert(1)\"]}",
         "images[0].url: unsupported scheme \"javascript\""},
        {"{\"images\":[{\"url\":\"\"}]}", "images[0].url: must not be empty"},
        {"{\"images\":[\"\"]}", "images[0].url: must not be empty"},
        {"{\"images\":[{}]}", "images[0].url: required"},
        {"{\"images\":[{\"url\":null}]}", "images[0].url: required"},
        {"{\"images\":[{\"url\":5}]}", "images[0].url: must be a string (got integer)"},
        {"{\"images\":[5]}", "images[0]: must be an object or a URL string (got integer)"},
        {"{\"images\":[[\"https://h/a\"]]}",
         "images[0]: must be an object or a URL string (got array)"},
        {"{\"images\":[\"https://h/a b.jpg\"]}", "images[0].url: must not contain spaces"},
        {"{\"images\":[\"https://h/a\\nb.jpg\"]}",
         "images[0].url: must not contain control characters"},
        {"{\"images\":[\"/a\\u0001b.jpg\"]}", "images[0].url: must not contain control characters"},
        {"{\"images\":[\"https:/h/a.jpg\"]}", "images[0].url: malformed URL"},
        {"{\"images\":[\"https:h/a.jpg\"]}", "images[0].url: malformed URL"},
        {"{\"images\":[\"https://\"]}", "images[0].url: missing host"},
        {"{\"images\":[\"https:///a.jpg\"]}", "images[0].url: missing host"},
        {"{\"images\":[\"https://:80/a.jpg\"]}", "images[0].url: missing host"},
        {"{\"images\":[\"https://h:0/a\"]}",
         "images[0].url: port must be a number between 1 and 65535"},
        {"{\"images\":[\"https://h:65536/a\"]}", "images[0].url: port must be"},
        {"{\"images\":[\"https://h:/a\"]}", "images[0].url: port must be"},
        {"{\"images\":[\"https://h:8x/a\"]}", "images[0].url: port must be"},
        {"{\"images\":[\"https://h:1:2/a\"]}", "images[0].url: port must be"},
        {"{\"images\":[\"https://h:123456/a\"]}", "images[0].url: port must be"},
        {"{\"images\":[\"https://user:pw@h/a\"]}", "images[0].url: user credentials"},
        {"{\"images\":[\"https://h<x>/a\"]}", "images[0].url: invalid character '<' in host"},
        {"{\"images\":[\"http://[::1/a\"]}", "images[0].url: malformed IPv6 host"},
        {"{\"images\":[\"http://[]/a\"]}", "images[0].url: malformed IPv6 host"},
        {"{\"images\":[\"http://[zz]/a\"]}", "images[0].url: malformed IPv6 host"},
        {"{\"images\":[\"http://[::1]x/a\"]}", "images[0].url: malformed IPv6 host"},
        {"{\"images\":[\"http://[::1]:0/a\"]}", "images[0].url: port must be"},
        {"{\"images\":[\"s3://bucket\"]}", "images[0].url: must be s3://bucket/key"},
        {"{\"images\":[\"s3://bucket/\"]}", "images[0].url: must be s3://bucket/key"},
        {"{\"images\":[\"s3:///key\"]}", "images[0].url: must be s3://bucket/key"},
        {"{\"images\":[\"s3:bucket/key\"]}", "images[0].url: must be s3://bucket/key"},
        {"{\"images\":[\"s3://bu?ket/key\"]}", "images[0].url: must be s3://bucket/key"},
        {"{\"images\":[\"file://host/a.jpg\"]}", "images[0].url: must be file:///absolute/path"},
        {"{\"images\":[\"file:///\"]}", "images[0].url: must be file:///absolute/path"},
        {"{\"images\":[\"file:a.jpg\"]}", "images[0].url: must be file:///absolute/path"},
        {"{\"images\":[{\"url\":\"https://h/a\",\"order\":\"1\"}]}",
         "images[0].order: must be an integer (got string)"},
        {"{\"images\":[{\"url\":\"https://h/a\",\"order\":1.5}]}",
         "images[0].order: must be an integer (got 1.5)"},
        {"{\"images\":[{\"url\":\"https://h/a\",\"order\":3000000000}]}",
         "images[0].order: must be between"},
        {"{\"images\":[{\"url\":\"https://h/a\",\"focus\":[0.5,0.5]}]}",
         "images[0].focus: must be an object (got array)"},
        {"{\"images\":[{\"url\":\"https://h/a\",\"focus\":{\"x\":1.5}}]}",
         "images[0].focus.x: must be between 0 and 1 (got 1.5)"},
        {"{\"images\":[{\"url\":\"https://h/a\",\"focus\":{\"y\":-0.1}}]}",
         "images[0].focus.y: must be between 0 and 1"},
        {"{\"images\":[{\"url\":\"https://h/a\",\"focus\":{\"x\":\"mid\"}}]}",
         "images[0].focus.x: must be a number (got string)"},
    };
    run_bad_cases(cases, sizeof cases / sizeof cases[0], &local_opts);
    if (hc_test_failed()) return;

    /* Too long. */
    size_t n = HC_MAX_URL_LEN + 1;
    char *body = malloc(n + 64);
    CHECK(body);
    int o = snprintf(body, n + 64, "{\"images\":[\"https://h/");
    memset(body + o, 'a', n - 10);
    snprintf(body + o + n - 10, 64, "\"]}");
    PARSE_ERR(body, &server_opts, HC_EINVAL, "images[0].url: 4097 bytes exceeds the limit of 4096");
    free(body);
}

HC_TEST(request_local_files_need_permission) {
    static const bad_case cases[] = {
        {"{\"images\":[\"file:///etc/passwd\"]}",
         "images[0].url: local files are not allowed here"},
        {"{\"images\":[\"/etc/passwd\"]}", "images[0].url: local files are not allowed here"},
        {"{\"images\":[\"https://h/a\",\"a.jpg\"]}",
         "images[1].url: local files are not allowed here"},
        {"{\"images\":[\"https://h/a\"],\"audio\":{\"url\":\"song.mp3\"}}",
         "audio.url: local files are not allowed here"},
    };
    run_bad_cases(cases, sizeof cases / sizeof cases[0], &server_opts);
    /* NULL options are the strict server rules. */
    hc_err e = {0};
    hc_request *req = NULL;
    const char *body = "{\"images\":[\"a.jpg\"]}";
    CHECK(hc_request_parse(body, strlen(body), NULL, &req, &e) == HC_EINVAL && req == NULL);
    CHECK(strstr(e.msg, "local files are not allowed here"));
    /* Relative path allowed with the option; base_dir comes from the options. */
    hc_request_opts cwd_opts = {true, NULL};
    PARSE_OK(body, &cwd_opts, req);
    CHECK(req->images[0].kind == HC_URL_PATH && req->base_dir == NULL);
    hc_request_free(req);
}

/* ---- settings ------------------------------------------------------------- */

HC_TEST(request_settings_all_fields) {
    const char *body =
        "{\"job_id\":\"full.Job_1-x\",\"images\":[\"https://h/a\"],\"settings\":{"
        "\"vibe\":\"Dreamy\",\"effect_preset\":\"glitch_wave\",\"aspect_ratio\":\"4:5\","
        "\"target_duration\":600,\"cut_duration\":1.25,\"text_style\":\"slide_in\",\"color_grade\":"
        "\"sepia\","
        "\"use_ai_effects\":false,\"ai_prompt\":\"make it 따뜻한\","
        "\"ai_effects\":{\"transitions\":[\"fade\",\"gl_cube\"],\"motions\":[\"ken_burns\"],"
        "\"filters\":[\"film_grain\"],\"text_animations\":[\"typewriter\",\"wave\",\"karaoke\"],"
        "\"overlays\":[]},"
        "\"fps\":60,\"resolution\":\"2160p\",\"fit\":\"blur\",\"hardware\":\"gpu\",\"quality\":"
        "\"high\","
        "\"seed\":12345}}";
    hc_request *req = NULL;
    PARSE_OK(body, &server_opts, req);
    const hc_settings *s = &req->settings;
    CHECK(strcmp(req->job_id, "full.Job_1-x") == 0);
    CHECK(s->vibe == HC_VIBE_DREAMY);
    CHECK(s->effect_preset == HC_PRESET_GLITCH_WAVE);
    CHECK(s->aspect == HC_ASPECT_4_5);
    CHECK(s->target_duration_s == 600);
    CHECK(s->cut_duration_s == 1.25);
    CHECK(s->text_style == HC_TEXT_SLIDE_IN);
    CHECK(s->color_grade == HC_GRADE_SEPIA);
    CHECK(!s->use_ai_effects);
    CHECK(s->ai_prompt && strcmp(s->ai_prompt, "make it 따뜻한") == 0);
    CHECK(s->ai_transitions.n == 2 && strcmp(s->ai_transitions.v[1], "gl_cube") == 0);
    CHECK(s->ai_motions.n == 1 && strcmp(s->ai_motions.v[0], "ken_burns") == 0);
    CHECK(s->ai_filters.n == 1 && strcmp(s->ai_filters.v[0], "film_grain") == 0);
    CHECK(s->ai_text_animations.n == 3 && strcmp(s->ai_text_animations.v[2], "karaoke") == 0);
    CHECK(s->ai_overlays.n == 0);
    CHECK(s->fps == 60);
    CHECK(s->resolution == HC_RES_2160P);
    CHECK(s->fit == HC_FIT_BLUR);
    CHECK(s->hardware == HC_HW_GPU);
    CHECK(s->quality == HC_QUALITY_HIGH);
    CHECK(s->has_seed && s->seed == 12345);
    CHECK(req->warnings.n == 0);
    hc_request_free(req);

    /* Every fps value; integral reals too. */
    static const char *fps[] = {"24", "25", "30", "50", "60", "24.0"};
    static const int want[] = {24, 25, 30, 50, 60, 24};
    for (int i = 0; i < 6; i++) {
        char b[128];
        snprintf(b, sizeof b, "{\"images\":[\"s3://b/k\"],\"settings\":{\"fps\":%s}}", fps[i]);
        PARSE_OK(b, &server_opts, req);
        CHECK(req->settings.fps == want[i]);
        hc_request_free(req);
    }
}

HC_TEST(request_enums_match_case_insensitively) {
    hc_request *req = NULL;
    PARSE_OK(
        "{\"images\":[\"s3://b/"
        "k\"],\"settings\":{\"vibe\":\"energetic\",\"effect_preset\":\"ZOOM_BEAT\","
        "\"color_grade\":\"BW\",\"resolution\":\"720P\",\"fit\":\"Contain\",\"hardware\":\"CPU\","
        "\"quality\":\"Draft\",\"text_style\":\"Bold_Pop\",\"aspect_ratio\":\"16:9\"}}",
        &server_opts, req);
    CHECK(req->settings.vibe == HC_VIBE_ENERGETIC);
    CHECK(req->settings.effect_preset == HC_PRESET_ZOOM_BEAT);
    CHECK(req->settings.color_grade == HC_GRADE_BW);
    CHECK(req->settings.resolution == HC_RES_720P);
    CHECK(req->settings.fit == HC_FIT_CONTAIN);
    CHECK(req->settings.hardware == HC_HW_CPU);
    CHECK(req->settings.quality == HC_QUALITY_DRAFT);
    CHECK(req->settings.text_style == HC_TEXT_BOLD_POP);
    CHECK(req->settings.aspect == HC_ASPECT_16_9);
    hc_request_free(req);
}

HC_TEST(request_enum_tables) {
    /* Table sizes match the enums and every name finds itself. */
    static const struct {
        const char *const *names;
        int count;
    } tables[] = {
        {hc_vibe_names, HC_VIBE_COUNT},       {hc_preset_names, HC_PRESET_COUNT},
        {hc_aspect_names, HC_ASPECT_COUNT},   {hc_resolution_names, HC_RES_COUNT},
        {hc_text_style_names, HC_TEXT_COUNT}, {hc_grade_names, HC_GRADE_COUNT},
        {hc_fit_names, HC_FIT_COUNT},         {hc_hardware_names, HC_HW_COUNT},
        {hc_quality_names, HC_QUALITY_COUNT},
    };
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        int n = 0;
        while (tables[t].names[n])
            n++;
        CHECKF(n == tables[t].count, "table %zu has %d names, enum %d", t, n, tables[t].count);
        for (int i = 0; i < n; i++)
            CHECK(hc_enum_lookup(tables[t].names, tables[t].names[i]) == i);
    }
    CHECK(strcmp(hc_vibe_names[HC_VIBE_EXCITING], "Exciting") == 0);
    CHECK(strcmp(hc_vibe_names[HC_VIBE_ENERGETIC], "Energetic") == 0);
    CHECK(strcmp(hc_preset_names[HC_PRESET_SWIRL], "swirl") == 0);
    CHECK(strcmp(hc_aspect_names[HC_ASPECT_4_3], "4:3") == 0);
    CHECK(strcmp(hc_grade_names[HC_GRADE_VINTAGE], "vintage") == 0);
    CHECK(strcmp(hc_text_style_names[HC_TEXT_MINIMAL], "minimal") == 0);
    CHECK(hc_enum_lookup(hc_vibe_names, "POP") == HC_VIBE_POP);
    CHECK(hc_enum_lookup(hc_vibe_names, "Groovy") == -1);
    CHECK(hc_enum_lookup(hc_vibe_names, "") == -1);
    CHECK(hc_enum_lookup(hc_vibe_names, NULL) == -1);
    char buf[128];
    hc_enum_list(hc_fit_names, buf, sizeof buf);
    CHECK(strcmp(buf, "cover, contain, blur") == 0);
    hc_enum_list(hc_fit_names, buf, 10); /* truncates cleanly */
    CHECK(strlen(buf) < 10);
}

HC_TEST(request_settings_errors) {
#define S(x) "{\"images\":[\"s3://b/k\"],\"settings\":{" x "}}"
    static const bad_case cases[] = {
        {S("\"vibe\":\"Groovy\""),
         "settings.vibe: unknown value \"Groovy\" (allowed: Exciting, Emotional, Pop, "
         "Minimal, Chill, Intense, Dreamy, Energetic)"},
        {S("\"vibe\":\"\""), "settings.vibe: unknown value \"\""},
        {S("\"effect_preset\":\"wobble\""),
         "settings.effect_preset: unknown value \"wobble\" (allowed: zoom_beat,"},
        {S("\"aspect_ratio\":\"3:2\""),
         "settings.aspect_ratio: unknown value \"3:2\" (allowed: 9:16, 16:9, 1:1, 4:5, 4:3)"},
        {S("\"text_style\":\"comic\""), "settings.text_style: unknown value \"comic\""},
        {S("\"color_grade\":\"teal\""),
         "settings.color_grade: unknown value \"teal\" (allowed: vibrant, cinematic"},
        {S("\"resolution\":\"4k\""),
         "settings.resolution: unknown value \"4k\" (allowed: 720p, 1080p, 1440p, 2160p)"},
        {S("\"fit\":\"stretch\""),
         "settings.fit: unknown value \"stretch\" (allowed: cover, contain, blur)"},
        {S("\"hardware\":\"tpu\""),
         "settings.hardware: unknown value \"tpu\" (allowed: auto, gpu, cpu)"},
        {S("\"quality\":\"ultra\""),
         "settings.quality: unknown value \"ultra\" (allowed: draft, standard, high)"},
        {S("\"fps\":29"), "settings.fps: must be one of 24, 25, 30, 50, 60 (got 29)"},
        {S("\"fps\":0"), "settings.fps: must be one of 24, 25, 30, 50, 60 (got 0)"},
        {S("\"fps\":29.97"), "settings.fps: must be an integer (got 29.97)"},
        {S("\"fps\":\"30\""), "settings.fps: must be an integer (got string)"},
        {S("\"fps\":true"), "settings.fps: must be an integer (got boolean)"},
        {S("\"target_duration\":-3"),
         "settings.target_duration: must be between 0 and 600 seconds (got -3)"},
        {S("\"target_duration\":600.5"),
         "settings.target_duration: must be between 0 and 600 seconds (got 600.5)"},
        {S("\"target_duration\":\"15\""),
         "settings.target_duration: must be a number (got string)"},
        {S("\"cut_duration\":0"), "settings.cut_duration: must be greater than 0 (got 0)"},
        {S("\"cut_duration\":-1"), "settings.cut_duration: must be greater than 0 (got -1)"},
        {S("\"cut_duration\":{}"), "settings.cut_duration: must be a number (got object)"},
        {S("\"use_ai_effects\":1"), "settings.use_ai_effects: must be a boolean (got integer)"},
        {S("\"use_ai_effects\":\"true\""),
         "settings.use_ai_effects: must be a boolean (got string)"},
        {S("\"ai_prompt\":7"), "settings.ai_prompt: must be a string (got integer)"},
        {S("\"ai_effects\":[]"), "settings.ai_effects: must be an object (got array)"},
        {S("\"ai_effects\":{\"transitions\":\"fade\"}"),
         "settings.ai_effects.transitions: must be an array (got string)"},
        {S("\"ai_effects\":{\"motions\":[\"zoom_in\",3]}"),
         "settings.ai_effects.motions[1]: must be a string (got integer)"},
        {S("\"ai_effects\":{\"filters\":[\"\"]}"),
         "settings.ai_effects.filters[0]: must not be empty"},
        {S("\"ai_effects\":{\"overlays\":["
           "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"]}"),
         "settings.ai_effects.overlays[0]: 65 characters exceeds the limit of 64"},
        {S("\"ai_effects\":{\"text_animations\":[null]}"),
         "settings.ai_effects.text_animations[0]: must be a string (got null)"},
        {S("\"seed\":-1"), "settings.seed: must be a non-negative integer (got -1)"},
        {S("\"seed\":1.5"), "settings.seed: must be an integer (got 1.5)"},
        {S("\"seed\":\"42\""), "settings.seed: must be an integer (got string)"},
        {S("\"vibe\":3"), "settings.vibe: must be a string (got integer)"},
        {S("\"aspect_ratio\":[9,16]"), "settings.aspect_ratio: must be a string (got array)"},
        {"{\"images\":[\"s3://b/k\"],\"settings\":[]}", "settings: must be an object (got array)"},
        {"{\"images\":[\"s3://b/k\"],\"settings\":\"Pop\"}",
         "settings: must be an object (got string)"},
    };
#undef S
    run_bad_cases(cases, sizeof cases / sizeof cases[0], &server_opts);
}

HC_TEST(request_settings_limits) {
    /* Long user values are cut in messages, never overflowing them. */
    char body[4096], val[3000];
    memset(val, 'x', sizeof val - 1);
    val[sizeof val - 1] = 0;
    snprintf(body, sizeof body, "{\"images\":[\"s3://b/k\"],\"settings\":{\"vibe\":\"%s\"}}", val);
    PARSE_ERR(body, &server_opts, HC_EINVAL, "settings.vibe: unknown value \"xxxx");
    PARSE_ERR(body, &server_opts, HC_EINVAL, "...");

    /* ai_prompt: 2000 characters (6000 bytes of Hangul) is fine, 2001 is not. */
    size_t cap = 2001 * 3 + 128;
    char *big = malloc(cap);
    CHECK(big);
    for (int n = 2000; n <= 2001; n++) {
        size_t o =
            (size_t)snprintf(big, cap, "{\"images\":[\"s3://b/k\"],\"settings\":{\"ai_prompt\":\"");
        for (int i = 0; i < n; i++)
            o += (size_t)snprintf(big + o, cap - o, "한");
        snprintf(big + o, cap - o, "\"}}");
        if (n == 2000) {
            hc_request *req = NULL;
            PARSE_OK(big, &server_opts, req);
            CHECK(strlen(req->settings.ai_prompt) == 6000);
            hc_request_free(req);
        } else {
            PARSE_ERR(big, &server_opts, HC_EINVAL,
                      "settings.ai_prompt: 2001 characters exceeds the limit of 2000");
        }
    }
    free(big);

    /* ai_effects lists hold at most 200 entries. */
    cap = 64 + 201 * 8;
    big = malloc(cap);
    CHECK(big);
    for (int n = 200; n <= 201; n++) {
        size_t o = (size_t)snprintf(
            big, cap, "{\"images\":[\"s3://b/k\"],\"settings\":{\"ai_effects\":{\"motions\":[");
        for (int i = 0; i < n; i++)
            o += (size_t)snprintf(big + o, cap - o, "%s\"pan\"", i ? "," : "");
        snprintf(big + o, cap - o, "]}}}");
        if (n == 200) {
            hc_request *req = NULL;
            PARSE_OK(big, &server_opts, req);
            CHECK(req->settings.ai_motions.n == 200);
            hc_request_free(req);
        } else {
            PARSE_ERR(big, &server_opts, HC_EINVAL,
                      "settings.ai_effects.motions: 201 entries exceeds the limit of 200");
        }
    }
    free(big);

    /* An empty prompt is no prompt. */
    hc_request *req = NULL;
    PARSE_OK("{\"images\":[\"s3://b/k\"],\"settings\":{\"ai_prompt\":\"\",\"target_duration\":0}}",
             &server_opts, req);
    CHECK(req->settings.ai_prompt == NULL && req->settings.target_duration_s == 0);
    hc_request_free(req);
}

HC_TEST(request_cut_duration_clamped_with_warning) {
    static const struct {
        const char *val;
        double want;
        bool warns;
    } cases[] = {
        {"0.1", 0.3, true}, {"0.3", 0.3, false}, {"2", 2, false}, {"5", 5, false}, {"10", 5, true}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[128];
        snprintf(body, sizeof body,
                 "{\"images\":[\"s3://b/k\"],\"settings\":{\"cut_duration\":%s}}", cases[i].val);
        hc_request *req = NULL;
        PARSE_OK(body, &server_opts, req);
        CHECKF(req->settings.cut_duration_s == cases[i].want, "%s -> %g", cases[i].val,
               req->settings.cut_duration_s);
        CHECK(has_warning(req, "settings.cut_duration") == cases[i].warns);
        CHECK(req->warnings.n == (cases[i].warns ? 1 : 0));
        hc_request_free(req);
    }
}

/* ---- audio, script -------------------------------------------------------- */

HC_TEST(request_audio) {
    hc_request *req = NULL;
    PARSE_OK("{\"images\":[\"s3://b/k\"],\"audio\":{\"url\":\"https://h/song.mp3\"}}", &server_opts,
             req);
    CHECK(req->has_audio && strcmp(req->audio_url, "https://h/song.mp3") == 0);
    CHECK(req->audio_start_s == 0 && req->audio_duration_s == 0);
    hc_request_free(req);
    PARSE_OK("{\"images\":[\"s3://b/k\"],\"audio\":{\"url\":\"s3://b/"
             "s.mp3\",\"start_time\":12.5,\"duration\":30}}",
             &server_opts, req);
    CHECK(req->audio_start_s == 12.5 && req->audio_duration_s == 30);
    hc_request_free(req);
    PARSE_OK("{\"images\":[\"s3://b/k\"],\"audio\":{\"url\":\"s3://b/"
             "s.mp3\",\"start_time\":3600,\"duration\":null}}",
             &server_opts, req);
    CHECK(req->audio_start_s == 3600 && req->audio_duration_s == 0);
    hc_request_free(req);

    static const bad_case cases[] = {
        {"{\"images\":[\"s3://b/k\"],\"audio\":{}}", "audio.url: required"},
        {"{\"images\":[\"s3://b/k\"],\"audio\":\"https://h/a.mp3\"}",
         "audio: must be an object or null (got string)"},
        {"{\"images\":[\"s3://b/k\"],\"audio\":{\"url\":\"gopher://h/a\"}}",
         "audio.url: unsupported scheme \"gopher\""},
        {"{\"images\":[\"s3://b/k\"],\"audio\":{\"url\":[]}}",
         "audio.url: must be a string (got array)"},
        {"{\"images\":[\"s3://b/k\"],\"audio\":{\"url\":\"s3://b/a\",\"start_time\":-1}}",
         "audio.start_time: must be between 0 and 3600 seconds (got -1)"},
        {"{\"images\":[\"s3://b/k\"],\"audio\":{\"url\":\"s3://b/a\",\"start_time\":3601}}",
         "audio.start_time: must be between 0 and 3600"},
        {"{\"images\":[\"s3://b/k\"],\"audio\":{\"url\":\"s3://b/a\",\"start_time\":\"0\"}}",
         "audio.start_time: must be a number (got string)"},
        {"{\"images\":[\"s3://b/k\"],\"audio\":{\"url\":\"s3://b/a\",\"duration\":0}}",
         "audio.duration: must be greater than 0 (got 0)"},
        {"{\"images\":[\"s3://b/k\"],\"audio\":{\"url\":\"s3://b/a\",\"duration\":3601}}",
         "audio.duration: must be at most 3600 seconds (got 3601)"},
    };
    run_bad_cases(cases, sizeof cases / sizeof cases[0], &server_opts);
}

HC_TEST(request_script_lines) {
    hc_request *req = NULL;
    PARSE_OK("{\"images\":[\"s3://b/"
             "k\"],\"script\":{\"lines\":[{\"text\":\"안녕하세요\",\"timing\":1.0,\"duration\":3},"
             "{\"text\":\"Hi 👋\"},{\"text\":\"line\\nbreak\",\"timing\":7.5,\"duration\":0.5}]}}",
             &server_opts, req);
    CHECK(req->n_lines == 3);
    CHECK(strcmp(req->lines[0].text, "안녕하세요") == 0);
    CHECK(req->lines[0].timing_s == 1.0 && req->lines[0].duration_s == 3);
    CHECK(strcmp(req->lines[1].text, "Hi 👋") == 0);
    CHECK(req->lines[1].timing_s == 0 && req->lines[1].duration_s == 3); /* defaults */
    CHECK(req->lines[2].timing_s == 7.5 && req->lines[2].duration_s == 0.5);
    hc_request_free(req);
    PARSE_OK("{\"images\":[\"s3://b/k\"],\"script\":{}}", &server_opts, req);
    CHECK(req->n_lines == 0);
    hc_request_free(req);
    PARSE_OK("{\"images\":[\"s3://b/k\"],\"script\":{\"lines\":[]}}", &server_opts, req);
    CHECK(req->n_lines == 0);
    hc_request_free(req);

    static const bad_case cases[] = {
        {"{\"images\":[\"s3://b/k\"],\"script\":[]}",
         "script: must be an object or null (got array)"},
        {"{\"images\":[\"s3://b/k\"],\"script\":{\"lines\":{}}}",
         "script.lines: must be an array (got object)"},
        {"{\"images\":[\"s3://b/k\"],\"script\":{\"lines\":[\"hi\"]}}",
         "script.lines[0]: must be an object (got string)"},
        {"{\"images\":[\"s3://b/k\"],\"script\":{\"lines\":[{\"timing\":1}]}}",
         "script.lines[0].text: required"},
        {"{\"images\":[\"s3://b/k\"],\"script\":{\"lines\":[{\"text\":\"a\"},{\"text\":\"\"}]}}",
         "script.lines[1].text: must not be empty"},
        {"{\"images\":[\"s3://b/k\"],\"script\":{\"lines\":[{\"text\":5}]}}",
         "script.lines[0].text: must be a string (got integer)"},
        {"{\"images\":[\"s3://b/k\"],\"script\":{\"lines\":[{\"text\":\"a\",\"timing\":-0.5}]}}",
         "script.lines[0].timing: must be at least 0 (got -0.5)"},
        {"{\"images\":[\"s3://b/k\"],\"script\":{\"lines\":[{\"text\":\"a\",\"timing\":\"1\"}]}}",
         "script.lines[0].timing: must be a number (got string)"},
        {"{\"images\":[\"s3://b/k\"],\"script\":{\"lines\":[{\"text\":\"a\",\"duration\":0}]}}",
         "script.lines[0].duration: must be greater than 0 (got 0)"},
        {"{\"images\":[\"s3://b/k\"],\"script\":{\"lines\":[{\"text\":\"a\",\"duration\":false}]}}",
         "script.lines[0].duration: must be a number (got boolean)"},
        /* Lone surrogates are not text. */
        {"{\"images\":[\"s3://b/k\"],\"script\":{\"lines\":[{\"text\":\"\\ud800\"}]}}",
         "request body: invalid JSON"},
    };
    run_bad_cases(cases, sizeof cases / sizeof cases[0], &server_opts);
}

HC_TEST(request_script_limits) {
    /* 500 code points of 3-byte Hangul is fine, 501 is too many. */
    size_t cap = 501 * 3 + 128;
    char *body = malloc(cap);
    CHECK(body);
    for (int n = 500; n <= 501; n++) {
        size_t o = (size_t)snprintf(
            body, cap, "{\"images\":[\"s3://b/k\"],\"script\":{\"lines\":[{\"text\":\"");
        for (int i = 0; i < n; i++)
            o += (size_t)snprintf(body + o, cap - o, "가");
        snprintf(body + o, cap - o, "\"}]}}");
        if (n == 500) {
            hc_request *req = NULL;
            PARSE_OK(body, &server_opts, req);
            CHECK(strlen(req->lines[0].text) == 1500);
            hc_request_free(req);
        } else {
            PARSE_ERR(body, &server_opts, HC_EINVAL,
                      "script.lines[0].text: 501 characters exceeds the limit of 500");
        }
    }
    free(body);

    /* 100 lines are fine, 101 are not. */
    cap = 64 + 101 * 16;
    body = malloc(cap);
    CHECK(body);
    for (int n = 100; n <= 101; n++) {
        size_t o =
            (size_t)snprintf(body, cap, "{\"images\":[\"s3://b/k\"],\"script\":{\"lines\":[");
        for (int i = 0; i < n; i++)
            o += (size_t)snprintf(body + o, cap - o, "%s{\"text\":\"l\"}", i ? "," : "");
        snprintf(body + o, cap - o, "]}}");
        if (n == 100) {
            hc_request *req = NULL;
            PARSE_OK(body, &server_opts, req);
            CHECK(req->n_lines == 100);
            hc_request_free(req);
        } else {
            PARSE_ERR(body, &server_opts, HC_EINVAL,
                      "script.lines: 101 lines exceeds the limit of 100");
        }
    }
    free(body);
}

HC_TEST(request_invalid_utf8) {
    /* Raw invalid bytes: truncated sequence, overlong, stray continuation, surrogate, > U+10FFFF.
     */
    static const char *bad[] = {"\xe3\x81",     "\xc0\xaf",         "\x80",
                                "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[160];
        snprintf(body, sizeof body,
                 "{\"images\":[\"s3://b/k\"],\"script\":{\"lines\":[{\"text\":\"ok%sok\"}]}}",
                 bad[i]);
        hc_err e = {0};
        hc_request *req = NULL;
        int rc = parse(body, &server_opts, &req, &e);
        CHECKF(rc == HC_EINVAL && req == NULL, "case %zu: rc %d", i, rc);
        CHECKF(strstr(e.msg, "request body: invalid UTF-8 at line 1 column"), "case %zu: %s", i,
               e.msg);
        /* The message itself stays printable ASCII. */
        for (const char *p = e.msg; *p; p++)
            CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
    }
}

/* ---- output, callback, metadata, job_id ----------------------------------- */

HC_TEST(request_output_callback_metadata) {
    hc_request *req = NULL;
    PARSE_OK("{\"images\":[\"s3://b/"
             "k\"],\"output\":{\"s3_bucket\":\"my-bucket\",\"s3_key\":\"renders/x.mp4\"},"
             "\"callback_url\":\"https://app.example/api/callback\",\"callback_secret\":\"s3cr3t\","
             "\"metadata\":{ \"user\" : \"u1\", \"n\" : [1, 2, {\"deep\": true}] }}",
             &server_opts, req);
    CHECK(strcmp(req->output_s3_bucket, "my-bucket") == 0);
    CHECK(strcmp(req->output_s3_key, "renders/x.mp4") == 0);
    CHECK(strcmp(req->callback_url, "https://app.example/api/callback") == 0);
    CHECK(strcmp(req->callback_secret, "s3cr3t") == 0);
    CHECKF(strcmp(req->metadata_json, "{\"user\":\"u1\",\"n\":[1,2,{\"deep\":true}]}") == 0, "%s",
           req->metadata_json);
    hc_request_free(req);

    /* Output fields are independent; an empty secret is no secret. */
    PARSE_OK("{\"images\":[\"s3://b/k\"],\"output\":{\"s3_key\":\"a/"
             "b.mp4\"},\"callback_secret\":\"\",\"metadata\":{}}",
             &server_opts, req);
    CHECK(!req->output_s3_bucket && strcmp(req->output_s3_key, "a/b.mp4") == 0);
    CHECK(req->callback_secret == NULL);
    CHECK(strcmp(req->metadata_json, "{}") == 0);
    hc_request_free(req);

    /* Metadata of exactly 1024 compact bytes is fine. */
    char meta[1100], body[1300];
    memset(meta, 'm', sizeof meta);
    meta[1024 - 8] = 0; /* {"k":"<1016 chars>"} is 8 + 1016 bytes */
    snprintf(body, sizeof body, "{\"images\":[\"s3://b/k\"],\"metadata\":{\"k\":  \"%s\"}}", meta);
    PARSE_OK(body, &server_opts, req);
    CHECK(strlen(req->metadata_json) == 1024);
    hc_request_free(req);
    meta[1024 - 8] = 'm';
    meta[1024 - 7] = 0;
    snprintf(body, sizeof body, "{\"images\":[\"s3://b/k\"],\"metadata\":{\"k\":\"%s\"}}", meta);
    PARSE_ERR(body, &server_opts, HC_EINVAL, "metadata: 1025 bytes exceeds the limit of 1024");

    char secret[300];
    memset(secret, 's', sizeof secret);
    secret[257] = 0;
    snprintf(body, sizeof body, "{\"images\":[\"s3://b/k\"],\"callback_secret\":\"%s\"}", secret);
    PARSE_ERR(body, &server_opts, HC_EINVAL, "callback_secret: 257 bytes exceeds the limit of 256");
    secret[256] = 0;
    snprintf(body, sizeof body, "{\"images\":[\"s3://b/k\"],\"callback_secret\":\"%s\"}", secret);
    PARSE_OK(body, &server_opts, req);
    CHECK(strlen(req->callback_secret) == 256);
    hc_request_free(req);

    char *key = malloc(1200), *kbody = malloc(1400);
    CHECK(key && kbody);
    memset(key, 'k', 1025);
    key[1025] = 0;
    snprintf(kbody, 1400, "{\"images\":[\"s3://b/k\"],\"output\":{\"s3_key\":\"%s\"}}", key);
    PARSE_ERR(kbody, &server_opts, HC_EINVAL,
              "output.s3_key: 1025 bytes exceeds the limit of 1024");
    key[1024] = 0;
    snprintf(kbody, 1400, "{\"images\":[\"s3://b/k\"],\"output\":{\"s3_key\":\"%s\"}}", key);
    PARSE_OK(kbody, &server_opts, req);
    hc_request_free(req);
    free(key);
    free(kbody);

#define B(x) "{\"images\":[\"s3://b/k\"]," x "}"
    static const bad_case cases[] = {
        {B("\"output\":[]"), "output: must be an object (got array)"},
        {B("\"output\":{\"s3_key\":\"/abs.mp4\"}"),
         "output.s3_key: must be relative (no leading \"/\")"},
        {B("\"output\":{\"s3_key\":\"a/../../x.mp4\"}"),
         "output.s3_key: must not have an empty, \".\" or \"..\" segment"},
        {B("\"output\":{\"s3_key\":\"a\\\\b.mp4\"}"),
         "output.s3_key: must not contain backslashes"},
        {B("\"output\":{\"s3_key\":\"\"}"), "output.s3_key: must not be empty"},
        {B("\"output\":{\"s3_key\":\"a\\u0007b\"}"),
         "output.s3_key: must not contain backslashes or control characters"},
        {B("\"output\":{\"s3_key\":1}"), "output.s3_key: must be a string (got integer)"},
        {B("\"output\":{\"s3_bucket\":\"\"}"), "output.s3_bucket: must not be empty"},
        {B("\"output\":{\"s3_bucket\":\"a/b\"}"), "output.s3_bucket: must be a bucket name"},
        {B("\"output\":{\"s3_bucket\":true}"), "output.s3_bucket: must be a string (got boolean)"},
        {B("\"callback_url\":\"ftp://h/cb\""),
         "callback_url: unsupported scheme \"ftp\" (allowed: http, https)"},
        {B("\"callback_url\":\"s3://b/k\""), "callback_url: must be an http or https URL"},
        {B("\"callback_url\":\"/local/path\""), "callback_url: must be an http or https URL"},
        {B("\"callback_url\":\"https://\""), "callback_url: missing host"},
        {B("\"callback_url\":\"https://h:99999/\""), "callback_url: port must be"},
        {B("\"callback_url\":\"https://h/a b\""), "callback_url: must not contain spaces"},
        {B("\"callback_url\":\"\""), "callback_url: must not be empty"},
        {B("\"callback_url\":{}"), "callback_url: must be a string (got object)"},
        {B("\"callback_secret\":5"), "callback_secret: must be a string (got integer)"},
        {B("\"metadata\":[1,2]"), "metadata: must be an object (got array)"},
        {B("\"metadata\":\"x\""), "metadata: must be an object (got string)"},
    };
#undef B
    run_bad_cases(cases, sizeof cases / sizeof cases[0], &local_opts);

    /* Local callback targets stay refused even where local images are fine. */
    PARSE_ERR("{\"images\":[\"a.jpg\"],\"callback_url\":\"file:///tmp/x\"}", &local_opts, HC_EINVAL,
              "callback_url: must be an http or https URL");
}

HC_TEST(request_metadata_too_big_message) {
    /* The brief's example: a 1500-byte compact object. */
    char meta[1600], body[1800];
    memset(meta, 'q', sizeof meta);
    meta[1500 - 8] = 0;
    snprintf(body, sizeof body, "{\"images\":[\"s3://b/k\"],\"metadata\":{\"k\":\"%s\"}}", meta);
    PARSE_ERR(body, &server_opts, HC_EINVAL, "metadata: 1500 bytes exceeds the limit of 1024");
}

HC_TEST(request_job_id_rules) {
    char id[HC_MAX_JOB_ID_LEN + 2], body[300];
    memset(id, 'a', sizeof id);
    id[HC_MAX_JOB_ID_LEN] = 0;
    snprintf(body, sizeof body, "{\"job_id\":\"%s\",\"images\":[\"s3://b/k\"]}", id);
    hc_request *req = NULL;
    PARSE_OK(body, &server_opts, req);
    CHECK(strlen(req->job_id) == HC_MAX_JOB_ID_LEN && !req->job_id_generated);
    hc_request_free(req);
    id[HC_MAX_JOB_ID_LEN] = 'a';
    id[HC_MAX_JOB_ID_LEN + 1] = 0;
    snprintf(body, sizeof body, "{\"job_id\":\"%s\",\"images\":[\"s3://b/k\"]}", id);
    PARSE_ERR(body, &server_opts, HC_EINVAL, "job_id: 129 characters exceeds the limit of 128");

    static const bad_case cases[] = {
        {"{\"job_id\":\"\",\"images\":[\"s3://b/k\"]}", "job_id: must not be empty"},
        {"{\"job_id\":\"a b\",\"images\":[\"s3://b/k\"]}", "job_id: may only contain"},
        {"{\"job_id\":\"../etc\",\"images\":[\"s3://b/k\"]}", "job_id: may only contain"},
        {"{\"job_id\":\"잡\",\"images\":[\"s3://b/k\"]}", "job_id: may only contain"},
        {"{\"job_id\":42,\"images\":[\"s3://b/k\"]}", "job_id: must be a string (got integer)"},
        /* job_id is checked before images. */
        {"{\"job_id\":\"a/b\"}", "job_id: may only contain"},
    };
    run_bad_cases(cases, sizeof cases / sizeof cases[0], &server_opts);
}

/* ---- body-level errors and warnings --------------------------------------- */

HC_TEST(request_body_errors) {
    /* Oversized: refused by size before parsing. */
    size_t n = (size_t)HC_MAX_BODY_BYTES + 1;
    char *big = malloc(n);
    CHECK(big);
    memset(big, ' ', n);
    hc_err e = {0};
    hc_request *req = (hc_request *)1;
    CHECK(hc_request_parse(big, n, &server_opts, &req, &e) == HC_ETOOBIG && req == NULL);
    CHECKF(strcmp(e.msg, "request body: 1048577 bytes exceeds the limit of 1048576") == 0, "%s",
           e.msg);
    /* Exactly the limit is parsed (and here is just whitespace). */
    hc_err_clear(&e);
    CHECK(hc_request_parse(big, n - 1, &server_opts, &req, &e) == HC_EINVAL);
    CHECK(strstr(e.msg, "request body: invalid JSON"));
    free(big);

    static const bad_case cases[] = {
        {"", "request body: invalid JSON at line 1 column"},
        {"{", "request body: invalid JSON at line 1 column"},
        {"{\"images\":[\"s3://b/k\"],}", "request body: invalid JSON at line 1 column"},
        {"{\n  \"images\": [\n    \"s3://b/k\"\n  ]\n  \"x\": 1\n}",
         "request body: invalid JSON at line 5 column"},
        {"{\"images\":[\"s3://b/k\"]} trailing", "request body: invalid JSON"},
        {"{\"images\":[\"s3://b/k\"],\"images\":[\"s3://b/j\"]}",
         "request body: invalid JSON"}, /* duplicate key */
        {"{\"images\":[\"s3://b/k\"],\"settings\":{\"fps\":NaN}}", "request body: invalid JSON"},
        {"{\"images\":[\"s3://b/k\"],\"settings\":{\"target_duration\":1e999}}",
         "request body: invalid JSON"},
        {"{\"images\":[\"s3://b/k\\u0000\"]}", "request body: invalid JSON"},
        {"[]", "request body: must be a JSON object (got array)"},
        {"42", "request body: must be a JSON object (got integer)"},
        {"\"x\"", "request body: must be a JSON object (got string)"},
        {"null", "request body: must be a JSON object (got null)"},
    };
    run_bad_cases(cases, sizeof cases / sizeof cases[0], &server_opts);
    if (hc_test_failed()) return;

    /* Embedded NUL in the body (length-delimited input). */
    static const char nul_body[] = "{\"images\":[\"s3://b/k\"]}\0{}";
    hc_err_clear(&e);
    req = NULL;
    CHECK(hc_request_parse(nul_body, sizeof nul_body - 1, &server_opts, &req, &e) == HC_EINVAL &&
          !req);
    /* A body that is not NUL-terminated is read only up to len. */
    static const char unterminated[] = "{\"images\":[\"s3://b/k\"]}garbage";
    hc_err_clear(&e);
    CHECK(hc_request_parse(unterminated, 23, &server_opts, &req, &e) == 0 && req);
    hc_request_free(req);

    /* Bad arguments and a NULL err never crash. */
    req = NULL;
    CHECK(hc_request_parse(NULL, 0, &server_opts, &req, NULL) == HC_EINVAL && !req);
    CHECK(hc_request_parse(NULL, 5, &server_opts, &req, NULL) == HC_EINVAL && !req);
    CHECK(hc_request_parse("{}", 2, &server_opts, NULL, NULL) == HC_EINVAL);
    CHECK(hc_request_parse("{\"images\":[]}", 13, NULL, &req, NULL) == HC_EINVAL && !req);
    hc_request_free(NULL);
}

HC_TEST(request_first_problem_wins) {
    /* Several problems: the message names the first in field order. */
    PARSE_ERR("{\"metadata\":[],\"settings\":{\"fps\":1},\"images\":[\"ftp://h/a\"]}", &server_opts,
              HC_EINVAL, "images[0].url: unsupported scheme");
    PARSE_ERR("{\"images\":[\"s3://b/k\"],\"settings\":{\"quality\":\"x\",\"vibe\":\"y\"}}",
              &server_opts, HC_EINVAL, "settings.vibe:");
    /* A message already in err is kept (hc_err keeps the first error). */
    hc_err e = {0};
    hc_err_set(&e, HC_EIO, "earlier");
    hc_request *req = NULL;
    CHECK(hc_request_parse("{}", 2, &server_opts, &req, &e) == HC_EINVAL && !req);
    CHECK(e.code == HC_EIO && strcmp(e.msg, "earlier") == 0);
}

HC_TEST(request_unknown_fields_warn) {
    const char *body =
        "{\"images\":[{\"url\":\"s3://b/"
        "k\",\"caption\":\"x\",\"focus\":{\"x\":0.1,\"z\":1}}],\"foo\":1,"
        "\"settings\":{\"bar\":[],\"vibe\":\"Chill\",\"ai_effects\":{\"sounds\":[]}},"
        "\"audio\":{\"url\":\"s3://b/a.mp3\",\"volume\":0.5},"
        "\"script\":{\"font\":\"x\",\"lines\":[{\"text\":\"t\",\"color\":\"red\"}]},"
        "\"output\":{\"format\":\"mov\"},\"we\\\"ird\":true}";
    hc_request *req = NULL;
    PARSE_OK(body, &server_opts, req);
    static const char *want[] = {
        "unknown field images[0].focus.z ignored",
        "unknown field images[0].caption ignored",
        "unknown field audio.volume ignored",
        "unknown field script.lines[0].color ignored",
        "unknown field script.font ignored",
        "unknown field settings.ai_effects.sounds ignored",
        "unknown field settings.bar ignored",
        "unknown field output.format ignored",
        "unknown field foo ignored",
        "unknown field \"we\\\"ird\" ignored",
    };
    CHECKF(req->warnings.n == 10, "%d warnings", req->warnings.n);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECKF(has_warning(req, want[i]), "missing warning: %s", want[i]);
    CHECK(req->settings.vibe == HC_VIBE_CHILL);
    hc_request_free(req);

    /* Many unknown fields give a bounded number of warnings. */
    char big[8192];
    size_t o = (size_t)snprintf(big, sizeof big, "{\"images\":[\"s3://b/k\"]");
    for (int i = 0; i < 200; i++)
        o += (size_t)snprintf(big + o, sizeof big - o, ",\"k%d\":%d", i, i);
    snprintf(big + o, sizeof big - o, "}");
    PARSE_OK(big, &server_opts, req);
    CHECKF(req->warnings.n > 1 && req->warnings.n <= 32, "%d warnings", req->warnings.n);
    CHECK(has_warning(req, "more unknown fields ignored"));
    hc_request_free(req);
}

/* ---- output size ---------------------------------------------------------- */

HC_TEST(request_output_size_table) {
    static const int want[HC_ASPECT_COUNT][HC_RES_COUNT][2] = {
        /* 9:16 */ {{720, 1280}, {1080, 1920}, {1440, 2560}, {2160, 3840}},
        /* 16:9 */ {{1280, 720}, {1920, 1080}, {2560, 1440}, {3840, 2160}},
        /* 1:1 */ {{720, 720}, {1080, 1080}, {1440, 1440}, {2160, 2160}},
        /* 4:5 */ {{720, 900}, {1080, 1350}, {1440, 1800}, {2160, 2700}},
        /* 4:3 */ {{960, 720}, {1440, 1080}, {1920, 1440}, {2880, 2160}},
    };
    for (int a = 0; a < HC_ASPECT_COUNT; a++) {
        for (int r = 0; r < HC_RES_COUNT; r++) {
            int w = 0, h = 0;
            hc_output_size((hc_aspect)a, (hc_resolution)r, &w, &h);
            CHECKF(w == want[a][r][0] && h == want[a][r][1], "%s %s: %dx%d", hc_aspect_names[a],
                   hc_resolution_names[r], w, h);
            CHECK(w % 2 == 0 && h % 2 == 0);
        }
    }
    /* Out-of-range values fall back to the defaults instead of reading past the tables. */
    int w = 0, h = 0;
    hc_output_size((hc_aspect)99, (hc_resolution)-1, &w, &h);
    CHECK(w == 1080 && h == 1920);
    hc_output_size(HC_ASPECT_1_1, HC_RES_720P, NULL, &h); /* NULL outputs are allowed */
    CHECK(h == 720);
}

HC_TEST(request_output_size_from_request) {
    hc_request *req = NULL;
    PARSE_OK("{\"images\":[\"s3://b/"
             "k\"],\"settings\":{\"aspect_ratio\":\"4:3\",\"resolution\":\"1080p\"}}",
             &server_opts, req);
    int w, h;
    hc_output_size(req->settings.aspect, req->settings.resolution, &w, &h);
    CHECK(w == 1440 && h == 1080);
    hc_request_free(req);
}

/* ---- robustness ----------------------------------------------------------- */

static const char rich_request[] =
    "{\"job_id\":\"fuzz-1\",\"images\":[{\"url\":\"https://example.com:8080/a.jpg\",\"order\":2,"
    "\"focus\":{\"x\":0.5,\"y\":0.3}},\"s3://bucket/b.jpg\",{\"url\":\"file:///tmp/"
    "c.png\",\"order\":-1}],"
    "\"audio\":{\"url\":\"https://h/song.mp3\",\"start_time\":1.5,\"duration\":null},"
    "\"script\":{\"lines\":[{\"text\":\"안녕하세요 👋\",\"timing\":1.0,\"duration\":3}]},"
    "\"settings\":{\"vibe\":\"Pop\",\"effect_preset\":\"zoom_beat\",\"aspect_ratio\":\"9:16\","
    "\"target_duration\":15,\"cut_duration\":null,\"text_style\":\"bold_pop\",\"color_grade\":"
    "\"vibrant\","
    "\"use_ai_effects\":true,\"ai_prompt\":null,\"ai_effects\":{\"transitions\":[\"fade\"],"
    "\"motions\":[],"
    "\"filters\":[],\"text_animations\":[],\"overlays\":[\"vignette\"]},\"fps\":30,\"resolution\":"
    "\"1080p\","
    "\"fit\":\"cover\",\"hardware\":\"auto\",\"quality\":\"standard\",\"seed\":7,\"extra\":1},"
    "\"output\":{\"s3_bucket\":\"b\",\"s3_key\":\"renders/fuzz-1.mp4\"},"
    "\"callback_url\":\"https://app/api/"
    "callback\",\"callback_secret\":\"k\",\"metadata\":{\"a\":[1,{\"b\":null}]}}";

/* Parse a mutated body; any outcome but a crash or leak is fine, and a
 * failure must come with a message. */
static bool parse_any(const char *buf, size_t len) {
    hc_err e = {0};
    hc_request *req = NULL;
    int rc = hc_request_parse(buf, len, &local_opts, &req, &e);
    bool ok = rc == 0 ? req != NULL && e.code == 0 : req == NULL && e.code == rc && e.msg[0] != 0;
    hc_request_free(req);
    return ok;
}

HC_TEST_T(request_never_crashes_on_mutations, 120) {
    size_t n = sizeof rich_request - 1;
    hc_request *req = NULL;
    PARSE_OK(rich_request, &local_opts, req);
    CHECK(req->n_images == 3 && strcmp(req->images[0].url, "file:///tmp/c.png") == 0);
    CHECK(req->warnings.n == 1);
    hc_request_free(req);

    char *buf = malloc(n + 1);
    CHECK(buf);
    /* Every truncation (into a fresh, exactly sized buffer so ASan sees over-reads). */
    for (size_t cut = 0; cut <= n; cut++) {
        char *t = malloc(cut ? cut : 1);
        CHECK(t);
        memcpy(t, rich_request, cut);
        bool ok = parse_any(t, cut);
        free(t);
        CHECKF(ok, "truncated at %zu", cut);
    }
    /* Byte flips at every position with a handful of interesting values. */
    static const unsigned char vals[] = {0,   '"', '\\', '{', '}',  '[',  ']',  ',',  ':', '-',
                                         '0', '9', 'e',  ' ', 0x7f, 0x80, 0xc3, 0xff, 'n', 't'};
    for (size_t pos = 0; pos < n; pos++) {
        for (size_t v = 0; v < sizeof vals; v++) {
            memcpy(buf, rich_request, n);
            buf[pos] = (char)vals[v];
            CHECKF(parse_any(buf, n), "byte %zu set to 0x%02x", pos, vals[v]);
        }
    }
    /* Pseudo-random multi-byte mutations, deterministic. */
    uint64_t st = 1234;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(buf, rich_request, n);
        int flips = 1 + (int)(hc_rand_next(&st) % 4);
        for (int f = 0; f < flips; f++) {
            size_t pos = (size_t)(hc_rand_next(&st) % n);
            buf[pos] = (char)(hc_rand_next(&st) & 0xff);
        }
        size_t len = hc_rand_next(&st) % 8 == 0 ? (size_t)(hc_rand_next(&st) % (n + 1)) : n;
        CHECKF(parse_any(buf, len), "random iteration %d", iter);
    }
    free(buf);
}
