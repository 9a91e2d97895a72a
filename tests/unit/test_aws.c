/* The AWS context (src/cloud/aws.c): region and endpoints from the
 * environment and profiles, the credentials chain in order (environment,
 * shared files, container endpoint, IMDSv2 against tests/data/aws_meta.py),
 * refresh before expiry, the FULL_URI authorization token, signed JSON
 * calls with retries on throttling (stand-in) and against dynalite. Each
 * test runs in its own process, so setenv is private to it. */
#include "cloud/hc_cloud.h"
#include "hc_test.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* A clean AWS environment: nothing from the machine leaks into a test. */
static void clean_env(void) {
    static const char *const vars[] = {"AWS_ACCESS_KEY_ID",
                                       "AWS_SECRET_ACCESS_KEY",
                                       "AWS_SESSION_TOKEN",
                                       "AWS_PROFILE",
                                       "AWS_REGION",
                                       "AWS_DEFAULT_REGION",
                                       "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                       "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                       "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                                       "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                                       "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                                       "AWS_ENDPOINT_URL",
                                       "AWS_ENDPOINT_URL_S3",
                                       "AWS_ENDPOINT_URL_DYNAMODB",
                                       "AWS_ENDPOINT_URL_BATCH",
                                       "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                                       "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    char p[4096];
    snprintf(p, sizeof p, "%s/no-credentials", hc_test_tmpdir());
    setenv("AWS_SHARED_CREDENTIALS_FILE", p, 1);
    snprintf(p, sizeof p, "%s/no-config", hc_test_tmpdir());
    setenv("AWS_CONFIG_FILE", p, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

/* Start tests/data/aws_meta.py with args; returns the port (pid in *pid). */
static int start_meta(const char *args, pid_t *pid_out) {
    static int nth;
    char portfile[4096], cmd[8192];
    snprintf(portfile, sizeof portfile, "%s/meta-%d.port", hc_test_tmpdir(), nth++);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        snprintf(cmd, sizeof cmd, "exec python3 %s/tests/data/aws_meta.py %s %s", hc_test_root(),
                 portfile, args ? args : "");
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    if (pid_out) *pid_out = pid;
    for (int i = 0; i < 200; i++) {
        char *s = hc_test_read_file(portfile, NULL);
        int port = s && strchr(s, '\n') ? atoi(s) : 0;
        free(s);
        if (port > 0) return port;
        hc_test_sleep_ms(25);
    }
    return -1;
}

/* The stand-in's count for "METHOD /path" (or "issued"). */
static long meta_count(int port, const char *key) {
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/_stats", port);
    char *body = NULL;
    long st = hc_test_http("GET", url, NULL, NULL, &body, NULL);
    long n = -1;
    json_t *j = st == 200 ? json_loads(body, 0, NULL) : NULL;
    if (j) {
        if (strcmp(key, "issued") == 0)
            n = (long)json_integer_value(json_object_get(j, "issued"));
        else
            n = (long)json_integer_value(json_object_get(json_object_get(j, "counts"), key));
        json_decref(j);
    }
    free(body);
    return n;
}

static void write_file(const char *name, const char *text, char *path, size_t len) {
    snprintf(path, len, "%s/%s", hc_test_tmpdir(), name);
    hc_test_write_file(path, text, strlen(text));
}

/* ---- region, endpoints ------------------------------------------------------------- */

HC_TEST(aws_region_and_endpoints) {
    clean_env();
    hc_aws *a;
    hc_err err = {0};
    char buf[256];
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECK(hc_aws_region(a) == NULL);
    /* No region is an error only when one is needed. */
    CHECK(hc_aws_endpoint(a, "s3", buf, sizeof buf, &err) == HC_EIO);
    CHECKF(strstr(err.msg, "region"), "%s", err.msg);
    hc_err_clear(&err);
    hc_aws_close(a);

    setenv("AWS_DEFAULT_REGION", "eu-central-1", 1);
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECKF(strcmp(hc_aws_region(a), "eu-central-1") == 0, "%s", hc_aws_region(a));
    hc_aws_close(a);
    setenv("AWS_REGION", "eu-west-1", 1);
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECKF(strcmp(hc_aws_region(a), "eu-west-1") == 0, "%s", hc_aws_region(a));

    static const char *const want[][2] = {
        {"s3", "https://s3.eu-west-1.amazonaws.com"},
        {"dynamodb", "https://dynamodb.eu-west-1.amazonaws.com"},
        {"batch", "https://batch.eu-west-1.amazonaws.com"},
        {"secretsmanager", "https://secretsmanager.eu-west-1.amazonaws.com"},
    };
    for (int i = 0; i < 4; i++) {
        CHECK(hc_aws_endpoint(a, want[i][0], buf, sizeof buf, &err) == 0);
        CHECKF(strcmp(buf, want[i][1]) == 0, "%s: %s", want[i][0], buf);
    }
    CHECK(hc_aws_endpoint(a, "lambda", buf, sizeof buf, &err) == HC_EINVAL);
    hc_err_clear(&err);

    /* AWS_ENDPOINT_URL for all, AWS_ENDPOINT_URL_<ID> over it; no trailing slash. */
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/", 1);
    setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9001//", 1);
    setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4568", 1);
    CHECK(hc_aws_endpoint(a, "dynamodb", buf, sizeof buf, &err) == 0);
    CHECKF(strcmp(buf, "http://127.0.0.1:9000") == 0, "%s", buf);
    CHECK(hc_aws_endpoint(a, "secretsmanager", buf, sizeof buf, &err) == 0);
    CHECKF(strcmp(buf, "http://127.0.0.1:9001") == 0, "%s", buf);
    CHECK(hc_aws_endpoint(a, "s3", buf, sizeof buf, &err) == 0);
    CHECKF(strcmp(buf, "http://127.0.0.1:4568") == 0, "%s", buf);
    setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true", 1);
    CHECK(hc_aws_endpoint(a, "s3", buf, sizeof buf, &err) == 0);
    CHECKF(strcmp(buf, "https://s3.eu-west-1.amazonaws.com") == 0, "%s", buf);
    hc_aws_close(a);

    setenv("AWS_REGION", "cn-north-1", 1);
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECK(hc_aws_endpoint(a, "s3", buf, sizeof buf, &err) == 0);
    CHECKF(strcmp(buf, "https://s3.cn-north-1.amazonaws.com.cn") == 0, "%s", buf);
    hc_aws_close(a);
}

/* ---- environment and shared files ---------------------------------------------------- */

HC_TEST(aws_creds_env_and_shared_files) {
    clean_env();
    char cpath[4096], fpath[4096];
    write_file("credentials",
               "# shared credentials\n"
               "[default]\n"
               "aws_access_key_id = AKIADEFAULT\n"
               "aws_secret_access_key = default/secret\n"
               "\n"
               "[dev]\n"
               "aws_access_key_id=AKIADEV\n"
               "aws_secret_access_key=dev+secret\n"
               "aws_session_token = devtoken==\n"
               "[half]\n"
               "aws_access_key_id = AKIAHALF\n",
               fpath, sizeof fpath);
    write_file("config",
               "[default]\n"
               "region = us-west-2\n"
               "[profile dev]\n"
               "region = ap-southeast-2\n"
               "s3 =\n"
               "  addressing_style = path\n"
               "[profile cfgonly]\n"
               "region = sa-east-1\n"
               "aws_access_key_id = AKIACFGONLY\n"
               "aws_secret_access_key = cfg-secret\n",
               cpath, sizeof cpath);
    setenv("AWS_SHARED_CREDENTIALS_FILE", fpath, 1);
    setenv("AWS_CONFIG_FILE", cpath, 1);

    static const struct {
        const char *profile, *key, *secret, *token, *region;
    } cases[] = {
        {NULL, "AKIADEFAULT", "default/secret", "", "us-west-2"},
        {"dev", "AKIADEV", "dev+secret", "devtoken==", "ap-southeast-2"},
        {"cfgonly", "AKIACFGONLY", "cfg-secret", "", "sa-east-1"},
    };
    for (int i = 0; i < 3; i++) {
        if (cases[i].profile)
            setenv("AWS_PROFILE", cases[i].profile, 1);
        else
            unsetenv("AWS_PROFILE");
        hc_aws *a;
        hc_err err = {0};
        hc_aws_creds c;
        CHECK(hc_aws_open(&a, &err) == 0);
        CHECKF(hc_aws_region(a) && strcmp(hc_aws_region(a), cases[i].region) == 0, "%s: %s",
               cases[i].key, hc_aws_region(a));
        CHECKF(hc_aws_creds_get(a, &c, &err) == 0, "%s", err.msg);
        CHECKF(strcmp(c.access_key_id, cases[i].key) == 0 &&
                   strcmp(c.secret_access_key, cases[i].secret) == 0 &&
                   strcmp(c.session_token, cases[i].token) == 0 && c.expires_unix == 0,
               "%s: got %s", cases[i].key, c.access_key_id);
        hc_aws_close(a);

        /* botocore reads the same profile the same way (when installed). */
        const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
        char cmd[8192], *out = NULL;
        snprintf(cmd, sizeof cmd, "%s -c 'import botocore' 2>/dev/null", py);
        bool have_botocore = hc_test_run(cmd, NULL) == 0;
        snprintf(cmd, sizeof cmd,
                 "%s -c 'import botocore.session as s; x = s.Session(); c = x.get_credentials(); "
                 "print(c.access_key, c.secret_key, c.token or \"\", "
                 "x.get_config_variable(\"region\"))' "
                 "2>/dev/null",
                 py);
        int st = have_botocore ? hc_test_run(cmd, &out) : -1;
        CHECKF(!have_botocore || st == 0, "botocore exited %d", st);
        if (have_botocore) {
            char want[512];
            snprintf(want, sizeof want, "%s %s %s %s\n", cases[i].key, cases[i].secret,
                     cases[i].token, cases[i].region);
            CHECKF(strcmp(out, want) == 0, "botocore: %s want %s", out, want);
        }
        free(out);
    }

    /* A profile with half a key pair is an error naming the file and field. */
    setenv("AWS_PROFILE", "half", 1);
    hc_aws *a;
    hc_err err = {0};
    hc_aws_creds c;
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECK(hc_aws_creds_get(a, &c, &err) == HC_EIO);
    CHECKF(strstr(err.msg, "[half]") && strstr(err.msg, "aws_secret_access_key"), "%s", err.msg);
    hc_aws_close(a);

    /* The environment comes first. */
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    setenv("AWS_SESSION_TOKEN", "env-token", 1);
    hc_err_clear(&err);
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECK(hc_aws_creds_get(a, &c, &err) == 0);
    CHECKF(strcmp(c.access_key_id, "AKIAENV") == 0 && strcmp(c.session_token, "env-token") == 0,
           "%s", c.access_key_id);
    hc_aws_close(a);
    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECK(hc_aws_creds_get(a, &c, &err) == HC_EIO);
    CHECKF(strstr(err.msg, "AWS_SECRET_ACCESS_KEY"), "%s", err.msg);
    hc_aws_close(a);

    /* Nothing at all (IMDS disabled): HC_EIO saying where it looked. */
    clean_env();
    hc_err_clear(&err);
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECK(hc_aws_creds_get(a, &c, &err) == HC_EIO);
    CHECKF(strstr(err.msg, "no credentials"), "%s", err.msg);
    hc_aws_close(a);
}

/* ---- container endpoint and IMDSv2 ------------------------------------------------------ */

HC_TEST(aws_creds_chain_order_container_then_imds) {
    clean_env();
    int port = start_meta(NULL, NULL);
    CHECK(port > 0);
    char url[256], fpath[4096];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/creds", port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
    unsetenv("AWS_EC2_METADATA_DISABLED");
    write_file("credentials",
               "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n", fpath,
               sizeof fpath);

    /* environment > shared file > container > IMDS */
    static const char *const steps[] = {"env", "file", "container", "imds"};
    for (int s = 0; s < 4; s++) {
        if (s == 0) {
            setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
            setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
            setenv("AWS_SHARED_CREDENTIALS_FILE", fpath, 1);
        } else if (s == 1) {
            unsetenv("AWS_ACCESS_KEY_ID");
            unsetenv("AWS_SECRET_ACCESS_KEY");
        } else if (s == 2) {
            unsetenv("AWS_SHARED_CREDENTIALS_FILE");
            char none[4096];
            snprintf(none, sizeof none, "%s/none", hc_test_tmpdir());
            setenv("AWS_SHARED_CREDENTIALS_FILE", none, 1);
        } else {
            unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        }
        hc_aws *a;
        hc_err err = {0};
        hc_aws_creds c;
        CHECK(hc_aws_open(&a, &err) == 0);
        CHECKF(hc_aws_creds_get(a, &c, &err) == 0, "%s: %s", steps[s], err.msg);
        hc_aws_close(a);
        const char *want = s == 0 ? "AKIAENV" : s == 1 ? "AKIAFILE" : "ASIASTANDIN";
        CHECKF(strncmp(c.access_key_id, want, strlen(want)) == 0, "%s: %s", steps[s],
               c.access_key_id);
        if (s >= 2) {
            CHECKF(strncmp(c.session_token, "standin-token-", 14) == 0, "%s token", steps[s]);
            CHECKF(c.expires_unix > time(NULL) + 3000, "%s expiry %lld", steps[s],
                   (long long)c.expires_unix);
        }
        long creds_get = meta_count(port, "GET /creds");
        long imds = meta_count(port, "PUT /latest/api/token");
        CHECKF(creds_get == (s >= 2 ? 1 : 0), "%s: container fetched %ld times", steps[s],
               creds_get);
        CHECKF(imds == (s == 3 ? 1 : 0), "%s: IMDS token fetched %ld times", steps[s], imds);
    }
    /* IMDSv2's three steps, each once. */
    CHECK(meta_count(port, "GET /latest/meta-data/iam/security-credentials/") == 1);
    CHECK(meta_count(port, "GET /latest/meta-data/iam/security-credentials/hc-test-role") == 1);
}

HC_TEST(aws_creds_full_uri_authorization_token) {
    clean_env();
    int port = start_meta("--auth-token tok-123", NULL);
    CHECK(port > 0);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/creds", port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    hc_aws *a;
    hc_err err = {0};
    hc_aws_creds c;

    /* No token: the endpoint refuses, and the message carries no token. */
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECK(hc_aws_creds_get(a, &c, &err) == HC_EIO);
    CHECKF(strstr(err.msg, "401"), "%s", err.msg);
    hc_aws_close(a);

    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok-123", 1);
    hc_err_clear(&err);
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECKF(hc_aws_creds_get(a, &c, &err) == 0, "%s", err.msg);
    CHECK(strncmp(c.access_key_id, "ASIASTANDIN", 11) == 0);
    hc_aws_close(a);

    /* The token file wins over the variable and is read on every fetch. */
    char tpath[4096];
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
    write_file("token", "tok-123\n", tpath, sizeof tpath);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tpath, 1);
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECKF(hc_aws_creds_get(a, &c, &err) == 0, "%s", err.msg);
    hc_aws_close(a);
    write_file("token", "rotated-away\n", tpath, sizeof tpath);
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECK(hc_aws_creds_get(a, &c, &err) == HC_EIO);
    CHECKF(!strstr(err.msg, "rotated-away") && !strstr(err.msg, "tok-123"), "%s", err.msg);
    hc_aws_close(a);

    /* Plain http to anything but loopback or the agent is refused. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://198.51.100.7/creds", 1);
    hc_err_clear(&err);
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECK(hc_aws_creds_get(a, &c, &err) == HC_EIO);
    CHECKF(strstr(err.msg, "FULL_URI"), "%s", err.msg);
    hc_aws_close(a);
}

HC_TEST_T(aws_creds_refresh_before_expiry, 60) {
    clean_env();
    /* 1 h of validity: fetched once, served from the cache after. */
    pid_t pid;
    int port = start_meta("--expires-in 3600", &pid);
    CHECK(port > 0);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/creds", port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    hc_aws *a;
    hc_err err = {0};
    hc_aws_creds c1, c2;
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECK(hc_aws_creds_get(a, &c1, &err) == 0);
    CHECK(hc_aws_creds_get(a, &c2, &err) == 0);
    CHECK(meta_count(port, "issued") == 1);
    CHECK(strcmp(c1.access_key_id, c2.access_key_id) == 0);
    hc_aws_close(a);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);

    /* 5 min + 3 s: cached now, refreshed once inside the 5-minute window. */
    port = start_meta("--expires-in 303", &pid);
    CHECK(port > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v2/credentials/abc", port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    CHECK(hc_aws_open(&a, &err) == 0);
    CHECK(hc_aws_creds_get(a, &c1, &err) == 0);
    CHECK(hc_aws_creds_get(a, &c2, &err) == 0);
    CHECKF(meta_count(port, "issued") == 1, "issued %ld", meta_count(port, "issued"));
    hc_test_sleep_ms(4500);
    CHECK(hc_aws_creds_get(a, &c2, &err) == 0);
    CHECKF(meta_count(port, "issued") == 2, "issued %ld", meta_count(port, "issued"));
    CHECK(strcmp(c1.access_key_id, c2.access_key_id) != 0);

    /* The endpoint gone: the refresh fails, but the still-valid keys are
     * served (they expire in about 5 minutes). */
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    hc_aws_creds c3;
    CHECKF(hc_aws_creds_get(a, &c3, &err) == 0, "%s", err.msg);
    CHECK(strcmp(c3.access_key_id, c2.access_key_id) == 0);
    hc_aws_close(a);
}

/* ---- signed calls -------------------------------------------------------------------------- */

HC_TEST(aws_json_retries_throttling_and_reports_errors) {
    clean_env();
    int port = start_meta(NULL, NULL);
    CHECK(port > 0);
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/json-api", port);
    setenv("AWS_ENDPOINT_URL_DYNAMODB", url, 1);
    setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", url, 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIATEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    setenv("AWS_SESSION_TOKEN", "session", 1);
    hc_aws *a;
    hc_err err = {0};
    CHECK(hc_aws_open(&a, &err) == 0);
    hc_buf out = {0};
    char type[128];

    /* Throttled twice (400 ThrottlingException), then answered: 3 signed attempts. */
    int rc =
        hc_aws_json(a, "dynamodb", "Test.Throttle", "{\"a\":1}", &out, type, sizeof type, &err);
    CHECKF(rc == 0, "rc %d: %s", rc, err.msg);
    json_t *j = json_loads(out.p, 0, NULL);
    CHECKF(j && json_integer_value(json_object_get(j, "attempt")) == 3, "%s", out.p);
    CHECK(strcmp(json_string_value(json_object_get(j, "content_type")),
                 "application/x-amz-json-1.0") == 0);
    CHECK(strcmp(json_string_value(json_object_get(j, "token")), "session") == 0);
    CHECK(strcmp(json_string_value(json_object_get(j, "body")), "{\"a\":1}") == 0);
    json_decref(j);
    out.n = 0;

    CHECK(hc_aws_json(a, "secretsmanager", "secretsmanager.GetSecretValue", "{}", &out, type,
                      sizeof type, &err) == 0);
    j = json_loads(out.p, 0, NULL);
    CHECK(j && strcmp(json_string_value(json_object_get(j, "content_type")),
                      "application/x-amz-json-1.1") == 0);
    json_decref(j);

    /* A 4xx: HC_EINVAL, the type without its namespace, "Message" read too. */
    rc = hc_aws_json(a, "dynamodb", "Test.Fail", "{}", NULL, type, sizeof type, &err);
    CHECKF(rc == HC_EINVAL, "rc %d", rc);
    CHECKF(strcmp(type, "ValidationException") == 0, "%s", type);
    CHECKF(strstr(err.msg, "dynamodb: ValidationException: 1 validation error detected"), "%s",
           err.msg);
    CHECK(!strstr(err.msg, "secret") && !strstr(err.msg, "session"));
    hc_err_clear(&err);

    /* Unsigned (here: the stand-in's 403 for a missing signature) is HC_EIO. */
    {
        hc_httpc_resp r;
        char u[256];
        snprintf(u, sizeof u, "http://127.0.0.1:%d/json-api/", port);
        CHECK(hc_httpc_do(NULL,
                          &(hc_httpc_req){.method = "POST", .url = u, .body = "{}", .body_len = 2},
                          &r, &err) == 0);
        CHECKF(r.status == 403, "%ld", r.status);
        hc_httpc_resp_fini(&r);
    }
    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_ACCESS_KEY_ID", "AKIADENIED", 1);
    hc_aws_close(a);
    CHECK(hc_aws_open(&a, &err) == 0);
    rc = hc_aws_json(a, "dynamodb", "Test.Denied", "{}", NULL, type, sizeof type, &err);
    CHECKF(rc == HC_EIO && strcmp(type, "UnrecognizedClientException") == 0, "rc %d %s: %s", rc,
           type, err.msg);
    hc_err_clear(&err);
    setenv("AWS_ACCESS_KEY_ID", "AKIATEST", 1);
    hc_aws_close(a);
    CHECK(hc_aws_open(&a, &err) == 0);

    /* A 5xx after the retries: HC_ENET. */
    rc = hc_aws_json(a, "dynamodb", "Test.Unavailable", "{}", NULL, type, sizeof type, &err);
    CHECKF(rc == HC_ENET, "rc %d: %s", rc, err.msg);
    CHECKF(meta_count(port, "target Test.Unavailable") == 5, "%ld tries",
           meta_count(port, "target Test.Unavailable"));
    hc_buf_fini(&out);
    hc_aws_close(a);
}

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

HC_TEST(aws_json_against_dynalite) {
    char js[4096];
    snprintf(js, sizeof js, "%s/tests/emulators/node_modules/dynalite/cli.js", hc_test_root());
    if (access(js, R_OK) != 0) SKIP("dynalite is not installed (tests/emulators)");
    clean_env();
    int port = free_port();
    CHECK(port > 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char ps[16];
        snprintf(ps, sizeof ps, "%d", port);
        execlp("node", "node", js, "--port", ps, (char *)NULL);
        _exit(127);
    }
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    setenv("AWS_ENDPOINT_URL", url, 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIATEST", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    hc_aws *a;
    hc_err err = {0};
    CHECK(hc_aws_open(&a, &err) == 0);
    hc_buf out = {0};
    char type[128];
    int rc = -1;
    for (int i = 0; i < 100 && rc != 0; i++) { /* until dynalite listens */
        hc_err_clear(&err);
        out.n = 0;
        rc = hc_aws_json(a, "dynamodb", "DynamoDB_20120810.ListTables", "{}", &out, type,
                         sizeof type, &err);
        if (rc) hc_test_sleep_ms(100);
    }
    CHECKF(rc == 0, "ListTables: %s", err.msg);
    CHECKF(strstr(out.p, "\"TableNames\""), "%s", out.p);

    out.n = 0;
    rc = hc_aws_json(a, "dynamodb", "DynamoDB_20120810.DescribeTable", "{\"TableName\":\"nope\"}",
                     &out, type, sizeof type, &err);
    CHECKF(rc == HC_EINVAL && strcmp(type, "ResourceNotFoundException") == 0, "rc %d type %s: %s",
           rc, type, err.msg);
    CHECKF(strstr(err.msg, "dynamodb: ResourceNotFoundException: "), "%s", err.msg);
    hc_buf_fini(&out);
    hc_aws_close(a);
}

HC_TEST(aws_creds_container_relative_uri) {
    clean_env();
    int port = start_meta(NULL, NULL);
    CHECK(port > 0);
    /* Batch and ECS set the relative form; the agent's address is fixed
     * (169.254.170.2), so the test points the context at the stand-in. */
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/task-1234", 1);
    hc_aws *a;
    hc_err err = {0};
    hc_aws_creds c;
    CHECK(hc_aws_open(&a, &err) == 0);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    hc_aws_set_container_host(a, base);
    CHECKF(hc_aws_creds_get(a, &c, &err) == 0, "%s", err.msg);
    CHECK(strncmp(c.access_key_id, "ASIASTANDIN", 11) == 0 && c.session_token[0]);
    CHECK(meta_count(port, "GET /v2/credentials/task-1234") == 1);
    hc_aws_close(a);
}

typedef struct {
    hc_aws *a;
    int fails;
} thr_arg;

static void *get_many(void *p) {
    thr_arg *t = p;
    for (int i = 0; i < 25; i++) {
        hc_aws_creds c;
        if (hc_aws_creds_get(t->a, &c, NULL) != 0 || strncmp(c.access_key_id, "ASIA", 4) != 0)
            t->fails++;
    }
    return NULL;
}

HC_TEST(aws_creds_threads_share_one_fetch) {
    clean_env();
    int port = start_meta(NULL, NULL);
    CHECK(port > 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/creds", port);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
    hc_aws *a;
    CHECK(hc_aws_open(&a, NULL) == 0);
    pthread_t th[8];
    thr_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (thr_arg){.a = a};
        CHECK(pthread_create(&th[i], NULL, get_many, &args[i]) == 0);
    }
    int fails = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        fails += args[i].fails;
    }
    CHECKF(fails == 0, "%d failed gets", fails);
    CHECKF(meta_count(port, "issued") == 1, "issued %ld", meta_count(port, "issued"));
    hc_aws_close(a);
}

/* hc_aws_call against s3rver: a PUT of a file range (UNSIGNED-PAYLOAD), a
 * GET back, through the endpoint from AWS_ENDPOINT_URL_S3. */
HC_TEST(aws_call_s3_put_file_and_get) {
    clean_env();
    int port = hc_test_s3rver("hc-aws");
    if (port == -2) SKIP("s3rver is not installed (tests/emulators)");
    CHECK(port > 0);
    char ep[64], url[512], path[4096];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", port);
    setenv("AWS_ENDPOINT_URL_S3", ep, 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    write_file("upload.bin", "0123456789abcdef", path, sizeof path);
    hc_aws *a;
    hc_err err = {0};
    CHECK(hc_aws_open(&a, &err) == 0);
    char base[256];
    CHECK(hc_aws_endpoint(a, "s3", base, sizeof base, &err) == 0);
    snprintf(url, sizeof url, "%s/hc-aws/out/part%%201.bin", base);
    const char *hdrs[] = {"Content-Type: application/octet-stream", NULL};
    hc_httpc_resp r;
    int rc = hc_aws_call(a, "s3",
                         &(hc_httpc_req){.method = "PUT",
                                         .url = url,
                                         .headers = hdrs,
                                         .body_path = path,
                                         .body_off = 4,
                                         .body_len = 8},
                         &r, &err);
    CHECKF(rc == 0 && r.status == 200, "PUT rc %d status %ld: %s", rc, r.status, err.msg);
    hc_httpc_resp_fini(&r);
    rc = hc_aws_call(a, "s3", &(hc_httpc_req){.url = url}, &r, &err);
    CHECKF(rc == 0 && r.status == 200 && strcmp(r.body.p, "456789ab") == 0, "GET %ld %s", r.status,
           r.body.p);
    hc_httpc_resp_fini(&r);

    /* The same through the botocore verifier, which checks the signature. */
    int vport = hc_test_sigv4_verifier();
    if (vport > 0) {
        snprintf(ep, sizeof ep, "http://127.0.0.1:%d", vport);
        setenv("AWS_ENDPOINT_URL_S3", ep, 1);
        CHECK(hc_aws_endpoint(a, "s3", base, sizeof base, &err) == 0);
        snprintf(url, sizeof url, "%s/hc-aws/out/part%%201.bin", base);
        rc = hc_aws_call(a, "s3",
                         &(hc_httpc_req){.method = "PUT",
                                         .url = url,
                                         .headers = hdrs,
                                         .body_path = path,
                                         .body_off = 4,
                                         .body_len = 8},
                         &r, &err);
        CHECKF(rc == 0 && r.status == 200, "verified PUT rc %d status %ld: %s %s", rc, r.status,
               err.msg, r.body.p);
        hc_httpc_resp_fini(&r);
        rc = hc_aws_call(a, "s3", &(hc_httpc_req){.url = url}, &r, &err);
        CHECKF(rc == 0 && r.status == 200 && strcmp(r.body.p, "456789ab") == 0,
               "verified GET %ld %s", r.status, r.body.p);
        hc_httpc_resp_fini(&r);
        /* and a JSON API call (dynamodb signing rules, session token) */
        setenv("AWS_ENDPOINT_URL_DYNAMODB", ep, 1);
        setenv("AWS_SESSION_TOKEN", "a-session-token", 1);
        hc_aws_close(a);
        CHECK(hc_aws_open(&a, &err) == 0);
        hc_buf out = {0};
        char type[64];
        rc = hc_aws_json(a, "dynamodb", "DynamoDB_20120810.ListTables", "{\"Limit\":1}", &out, type,
                         sizeof type, &err);
        CHECKF(rc == 0 && strcmp(out.p, "{}") == 0, "verified JSON call rc %d: %s", rc, err.msg);
        hc_buf_fini(&out);
    } else {
        CHECKF(vport == -3, "verifier did not start");
    }

    /* Authorization among the caller's headers is refused before sending. */
    const char *bad[] = {"Authorization: AWS4-HMAC-SHA256 x", NULL};
    rc = hc_aws_call(a, "s3", &(hc_httpc_req){.url = url, .headers = bad}, &r, &err);
    CHECKF(rc == HC_EINVAL, "rc %d", rc);
    hc_httpc_resp_fini(&r);
    hc_aws_close(a);
}
