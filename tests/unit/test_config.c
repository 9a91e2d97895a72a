/* Configuration (DESIGN.md §10): environment, flags over it, the original
 * engine's aliases, derived defaults, bad values named, secrets never
 * printed, constant-time key matching. */
#include "core/hc_core.h"
#include "hc_test.h"

#include <stdlib.h>
#include <string.h>

HC_TEST(config_defaults_env_and_flags) {
    unsetenv("HC_LISTEN");
    unsetenv("HC_WORKERS");
    setenv("HC_DATA_DIR", "/srv/hydra", 1);
    setenv("HC_MAX_ATTEMPTS", "5", 1);
    char a0[] = "--listen", a1[] = "127.0.0.1:0", a2[] = "keep-me", a3[] = "--max-attempts=7",
         a4[] = "--callback-secret-in-body";
    char *argv[] = {a0, a1, a2, a3, a4};
    hc_config c;
    int rest = -1;
    hc_err err = {0};
    CHECK(hc_config_load(&c, 5, argv, &rest, &err) == 0);
    CHECK(rest == 1 && !strcmp(argv[0], "keep-me"));
    CHECK(!strcmp(c.listen, "127.0.0.1:0"));
    CHECK(c.max_attempts == 7); /* the flag wins over the environment */
    CHECK(c.callback_secret_in_body);
    CHECK(!strcmp(c.store, "sqlite:/srv/hydra/jobs.db"));
    CHECK(!strcmp(c.storage, "file:/srv/hydra/outputs"));
    CHECK(c.workers >= 1 && c.job_timeout_s == 900 && c.gpu_slots == -1);
    CHECK(!strcmp(c.executor, "local") && !strcmp(c.log_level, "info"));
    CHECK(c.public_url == NULL);
    hc_config_fini(&c);
    unsetenv("HC_DATA_DIR");
    unsetenv("HC_MAX_ATTEMPTS");
}

HC_TEST(config_relative_data_dir_becomes_absolute) {
    setenv("HC_DATA_DIR", "./rel-data", 1);
    hc_config c;
    CHECK(hc_config_load(&c, 0, NULL, NULL, NULL) == 0);
    CHECK(c.data_dir[0] == '/' && strstr(c.data_dir, "/rel-data") && !strstr(c.data_dir, "./"));
    hc_config_fini(&c);
    unsetenv("HC_DATA_DIR");
}

HC_TEST(config_original_engine_aliases) {
    setenv("DYNAMODB_JOBS_TABLE", "hydra-compose-jobs", 1);
    setenv("AWS_S3_BUCKET", "my-bucket", 1);
    hc_config c;
    CHECK(hc_config_load(&c, 0, NULL, NULL, NULL) == 0);
    CHECK(!strcmp(c.store, "dynamodb:hydra-compose-jobs"));
    CHECK(!strcmp(c.storage, "s3://my-bucket/"));
    hc_config_fini(&c);
    /* The contract name wins over the alias. */
    setenv("HC_STORE", "sqlite:/x.db", 1);
    CHECK(hc_config_load(&c, 0, NULL, NULL, NULL) == 0);
    CHECK(!strcmp(c.store, "sqlite:/x.db"));
    hc_config_fini(&c);
    unsetenv("HC_STORE");
    unsetenv("DYNAMODB_JOBS_TABLE");
    unsetenv("AWS_S3_BUCKET");
}

HC_TEST(config_bad_values_name_the_setting) {
    hc_config c;
    hc_err err = {0};
    char a0[] = "--workers", a1[] = "lots";
    char *argv[] = {a0, a1};
    CHECK(hc_config_load(&c, 2, argv, NULL, &err) == HC_EINVAL);
    CHECK(strstr(err.msg, "--workers") && strstr(err.msg, "lots"));
    setenv("HC_JOB_TIMEOUT_S", "-5", 1);
    hc_err_clear(&err);
    CHECK(hc_config_load(&c, 0, NULL, NULL, &err) == HC_EINVAL);
    CHECK(strstr(err.msg, "HC_JOB_TIMEOUT_S"));
    unsetenv("HC_JOB_TIMEOUT_S");
    char b0[] = "--log-level", b1[] = "loud";
    char *argv2[] = {b0, b1};
    hc_err_clear(&err);
    CHECK(hc_config_load(&c, 2, argv2, NULL, &err) == HC_EINVAL);
    CHECK(strstr(err.msg, "--log-level"));
    char c0[] = "--listen";
    char *argv3[] = {c0};
    hc_err_clear(&err);
    CHECK(hc_config_load(&c, 1, argv3, NULL, &err) == HC_EINVAL);
    CHECK(strstr(err.msg, "needs a value"));
}

HC_TEST(config_help_hides_secrets) {
    setenv("HC_API_KEYS", "key-one,key-two", 1);
    setenv("CALLBACK_SECRET", "whsec-xyz", 1);
    hc_config c;
    CHECK(hc_config_load(&c, 0, NULL, NULL, NULL) == 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    hc_config_help(f, &c);
    fclose(f);
    CHECK(strstr(buf, "HC_API_KEYS") && strstr(buf, "CALLBACK_SECRET"));
    CHECK(!strstr(buf, "key-one") && !strstr(buf, "whsec-xyz"));
    CHECK(strstr(buf, "(set, hidden)"));
    free(buf);
    hc_config_fini(&c);
    unsetenv("HC_API_KEYS");
    unsetenv("CALLBACK_SECRET");
}

HC_TEST(config_key_matching) {
    CHECK(hc_config_key_matches("alpha,beta", "alpha"));
    CHECK(hc_config_key_matches("alpha, beta ", "beta"));
    CHECK(!hc_config_key_matches("alpha,beta", "alph"));
    CHECK(!hc_config_key_matches("alpha,beta", "alphaa"));
    CHECK(!hc_config_key_matches("alpha,beta", ""));
    CHECK(!hc_config_key_matches(NULL, "alpha"));
    CHECK(!hc_config_key_matches("alpha,,", ""));
    CHECK(!hc_config_key_matches("", "x"));
}

HC_TEST(config_export_reaches_children) {
    hc_config c;
    char a0[] = "--public-url", a1[] = "http://example.test:9/";
    char *argv[] = {a0, a1};
    CHECK(hc_config_load(&c, 2, argv, NULL, NULL) == 0);
    CHECK(!strcmp(c.public_url, "http://example.test:9")); /* trailing slash trimmed */
    setenv("HC_API_KEYS", "k1", 1);
    setenv("CALLBACK_SECRET", "s1", 1);
    CHECK(hc_config_export(&c) == 0);
    /* Secrets stay with the server, not its children. */
    CHECK(!getenv("HC_API_KEYS") && !getenv("CALLBACK_SECRET"));
    CHECK(getenv("HC_MAX_ATTEMPTS") && !strcmp(getenv("HC_MAX_ATTEMPTS"), "3"));
    hc_config_fini(&c);
    hc_config d;
    CHECK(hc_config_load(&d, 0, NULL, NULL, NULL) == 0);
    CHECK(d.public_url && !strcmp(d.public_url, "http://example.test:9"));
    hc_config_fini(&d);
    unsetenv("HC_PUBLIC_URL");
}
