/* deploy/aws-batch checked as far as it can be without AWS and without a
 * terraform binary:
 *   - the Terraform tree passes the schema check (check-schema.mjs: every
 *     resource type, argument, nested block, required argument and reference
 *     against the hashicorp/aws 6.25.0 bindings of @cdktf/provider-aws);
 *   - the checker rejects every bad fixture (test/bad/NAME.tf) naming the
 *     problem its "# expect:" lines state, and rejects the real tree after
 *     each of a few one-word mutations, so a passing check means something;
 *   - the tree keeps the product contract (check/test/contract.test.mjs:
 *     DESIGN.md table, environment names, retry strategy, no NAT, IAM);
 *   - deploy.sh passes `bash -n` and shellcheck, prints its usage, and its
 *     `test` subcommand drives a real `hydra-compose serve` through the
 *     guide's example to `completed` (terraform answered by a stand-in that
 *     prints the outputs; the AWS CLI a stand-in that fails if called).
 *
 * Skipped only when the checker's node_modules are missing (the message
 * gives the install command). */
#include "hc_test.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECKER_DIR "deploy/aws-batch/check"
#define INSTALL_HINT                                                                               \
    "deploy/aws-batch/check/node_modules is absent: run `npm ci --prefix deploy/aws-batch/check` " \
    "(or scripts/install-deps.sh)"

/* The last `max` bytes of s (for failure messages). */
static const char *tail(const char *s, size_t max) {
    if (!s) return "";
    size_t n = strlen(s);
    return n > max ? s + n - max : s;
}

static bool checker_installed(void) {
    char p[4096];
    snprintf(p, sizeof p, "%s/" CHECKER_DIR "/node_modules/@cdktf/provider-aws/package.json",
             hc_test_root());
    if (access(p, R_OK) != 0) return false;
    snprintf(p, sizeof p, "%s/" CHECKER_DIR "/node_modules/@cdktf/hcl2json/package.json",
             hc_test_root());
    return access(p, R_OK) == 0;
}

/* Runs the checker on `target` (a directory or file); output (stdout and
 * stderr) in *out. */
static int run_checker(const char *target, char **out) {
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "node '%s/" CHECKER_DIR "/check-schema.mjs' '%s' 2>&1",
             hc_test_root(), target);
    return hc_test_run(cmd, out);
}

/* The problems the checker's --each mode printed for `target`: the text
 * after its "== TARGET: N problem(s)" header up to the next header, copied
 * into buf; the count N, or -1 when the target has no header. */
static int section(const char *out, const char *target, char *buf, size_t len) {
    char head[4200];
    snprintf(head, sizeof head, "== %s: ", target);
    const char *at = out ? strstr(out, head) : NULL;
    if (!at) return -1;
    at += strlen(head);
    int n = atoi(at);
    const char *body = strchr(at, '\n');
    body = body ? body + 1 : at + strlen(at);
    const char *end = strstr(body, "\n== ");
    size_t l = end ? (size_t)(end - body) + 1 : strlen(body);
    if (l >= len) l = len - 1;
    memcpy(buf, body, l);
    buf[l] = 0;
    return n;
}

HC_TEST_T(deploy_terraform_schema_real_tree, 180) {
    if (!checker_installed()) SKIP(INSTALL_HINT);
    char tree[4096];
    snprintf(tree, sizeof tree, "%s/deploy/aws-batch/terraform", hc_test_root());
    char *out = NULL;
    int rc = run_checker(tree, &out);
    CHECKF(rc == 0, "the schema check failed (exit %d):\n%s", rc, tail(out, 3000));
    CHECKF(out && strstr(out, "check-schema: ok: 6 files"), "no ok summary over 6 files:\n%s",
           tail(out, 1000));
    CHECKF(strstr(out, "hashicorp/aws 6.25.0"), "checked against another provider version:\n%s",
           out);
    free(out);
}

/* The "# expect: ..." lines of a fixture, NUL-separated into buf; count. */
static int fixture_expects(const char *text, char *buf, size_t len, const char **items, int max) {
    int n = 0;
    size_t used = 0;
    for (const char *p = text; p && *p && n < max;) {
        const char *eol = strchr(p, '\n');
        size_t l = eol ? (size_t)(eol - p) : strlen(p);
        if (l > 10 && strncmp(p, "# expect: ", 10) == 0 && used + l - 10 + 1 <= len) {
            memcpy(buf + used, p + 10, l - 10);
            buf[used + l - 10] = 0;
            items[n++] = buf + used;
            used += l - 10 + 1;
        }
        p = eol ? eol + 1 : NULL;
    }
    return n;
}

HC_TEST_T(deploy_terraform_schema_rejects_bad_fixtures, 240) {
    if (!checker_installed()) SKIP(INSTALL_HINT);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/" CHECKER_DIR "/test/bad", hc_test_root());
    DIR *d = opendir(dir);
    CHECKF(d, "cannot open %s", dir);
    static char names[64][256];
    int fixtures = 0;
    struct dirent *e;
    while ((e = readdir(d)) && fixtures < 64) {
        size_t l = strlen(e->d_name);
        if (l < 4 || l >= 256 || strcmp(e->d_name + l - 3, ".tf") != 0) continue;
        snprintf(names[fixtures++], sizeof names[0], "%s", e->d_name);
    }
    closedir(d);
    const char *required[4] = {"unknown-argument.tf", "missing-required.tf", "bad-attribute.tf",
                               "unknown-resource.tf"};
    for (int i = 0; i < 4; i++) {
        bool seen = false;
        for (int j = 0; j < fixtures; j++)
            seen = seen || strcmp(names[j], required[i]) == 0;
        CHECKF(seen, "fixture %s is missing", required[i]);
    }
    CHECKF(fixtures >= 10, "only %d bad fixtures", fixtures);

    /* One checker process over all fixtures, each its own module. */
    char cmd[65536];
    int n =
        snprintf(cmd, sizeof cmd, "cd '%s' && node '%s/" CHECKER_DIR "/check-schema.mjs' --each",
                 dir, hc_test_root());
    for (int j = 0; j < fixtures; j++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " '%s'", names[j]);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " 2>&1");
    char *out = NULL;
    int rc = hc_test_run(cmd, &out);
    CHECKF(rc == 1, "the checker exited %d over the bad fixtures, not 1:\n%s", rc, tail(out, 3000));
    for (int j = 0; j < fixtures; j++) {
        char path[4096 + 512];
        snprintf(path, sizeof path, "%.4000s/%.255s", dir, names[j]);
        char *text = hc_test_read_file(path, NULL);
        char buf[8192];
        const char *expects[16];
        int ne = fixture_expects(text, buf, sizeof buf, expects, 16);
        free(text);
        CHECKF(ne > 0, "%s has no \"# expect:\" line", path);
        static char sec[65536];
        int np = section(out, names[j], sec, sizeof sec);
        CHECKF(np > 0, "%s was not rejected:\n%s", names[j], tail(out, 3000));
        for (int i = 0; i < ne; i++)
            CHECKF(strstr(sec, expects[i]), "%s: no problem naming\n  %s\nin:\n%s", names[j],
                   expects[i], sec);
        CHECKF(np == ne, "%s: %d problems, %d expected:\n%s", names[j], np, ne, sec);
    }
    free(out);
}

/* Replace the first occurrence of `from` by `to` in file; false when absent. */
static bool mutate(const char *file, const char *from, const char *to) {
    size_t len = 0;
    char *s = hc_test_read_file(file, &len);
    if (!s) return false;
    char *at = strstr(s, from);
    if (!at) {
        free(s);
        return false;
    }
    size_t fl = strlen(from), tl = strlen(to);
    char *o = malloc(len - fl + tl + 1);
    size_t pre = (size_t)(at - s);
    memcpy(o, s, pre);
    memcpy(o + pre, to, tl);
    memcpy(o + pre + tl, at + fl, len - pre - fl);
    int rc = hc_test_write_file(file, o, len - fl + tl);
    free(o);
    free(s);
    return rc == 0;
}

HC_TEST_T(deploy_terraform_schema_catches_mutations, 300) {
    if (!checker_installed()) SKIP(INSTALL_HINT);
    static const struct {
        const char *file, *from, *to, *expect;
    } muts[] = {
        {"compute.tf", "allocation_strategy = \"SPOT_PRICE", "allocation_strategie = \"SPOT_PRICE",
         "unknown argument \"allocation_strategie\" (did you mean \"allocation_strategy\"?)"},
        {"compute.tf", "  type                  = \"container\"\n", "",
         "aws_batch_job_definition.gpu: missing required argument \"type\""},
        {"compute.tf", "    ec2_configuration {\n      image_type = \"ECS_AL2023_NVIDIA\"",
         "    ec2_config {\n      image_type = \"ECS_AL2023_NVIDIA\"",
         "compute_resources: unknown nested block \"ec2_config\""},
        {"api.tf", "aws_lambda_function.api.invoke_arn", "aws_lambda_function.api.invoke_url",
         "aws_lambda_function has no attribute \"invoke_url\""},
        {"main.tf", "resource \"aws_dynamodb_table\" \"jobs\"",
         "resource \"aws_dynamodb_tabel\" \"jobs\"",
         "unknown resource type \"aws_dynamodb_tabel\""},
        {"api.tf", "var.presign_ttl_s", "var.presign_ttl",
         "no variable \"presign_ttl\" is declared"},
        {"compute.tf", "aws_subnet.public[*].id", "aws_subnet.public.id",
         "aws_subnet.public has count: index it before \".id\""},
        {"api.tf", "\"batch:DescribeJobs\"", "\"batch:Describe*\"",
         "grants the wildcard action \"batch:Describe*\""},
    };
    enum { NMUT = sizeof muts / sizeof muts[0] };
    char src[4096], tmp[4096], cmd[16384];
    snprintf(src, sizeof src, "%s/deploy/aws-batch/terraform", hc_test_root());
    for (size_t i = 0; i < NMUT; i++) {
        snprintf(tmp, sizeof tmp, "%s/tf%zu", hc_test_tmpdir(), i);
        snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", src, tmp);
        CHECKF(hc_test_run(cmd, NULL) == 0, "cp -r %s failed", src);
        char file[8192];
        snprintf(file, sizeof file, "%s/%s", tmp, muts[i].file);
        CHECKF(mutate(file, muts[i].from, muts[i].to), "%s no longer contains \"%s\"", muts[i].file,
               muts[i].from);
    }
    int n =
        snprintf(cmd, sizeof cmd, "cd '%s' && node '%s/" CHECKER_DIR "/check-schema.mjs' --each",
                 hc_test_tmpdir(), hc_test_root());
    for (size_t i = 0; i < NMUT; i++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " tf%zu", i);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " 2>&1");
    char *out = NULL;
    int rc = hc_test_run(cmd, &out);
    CHECKF(rc == 1, "the checker exited %d over the mutated trees, not 1:\n%s", rc,
           tail(out, 3000));
    for (size_t i = 0; i < NMUT; i++) {
        char name[32];
        snprintf(name, sizeof name, "tf%zu", i);
        static char sec[65536];
        int np = section(out, name, sec, sizeof sec);
        /* A renamed resource also leaves its references dangling. */
        CHECKF(np >= 1, "mutation %zu (%s: %s -> %s): not rejected (%d):\n%s", i, muts[i].file,
               muts[i].from, muts[i].to, np, np < 0 ? tail(out, 3000) : sec);
        CHECKF(strstr(sec, muts[i].expect), "mutation %zu: no problem naming\n  %s\nin:\n%s", i,
               muts[i].expect, sec);
    }
    free(out);
}

HC_TEST_T(deploy_terraform_node_suite, 240) {
    if (!checker_installed()) SKIP(INSTALL_HINT);
    char cmd[8192], log[4096];
    snprintf(log, sizeof log, "%s/node-test.log", hc_test_tmpdir());
    snprintf(cmd, sizeof cmd, "cd '%s/" CHECKER_DIR "' && node --test test/ >'%s' 2>&1",
             hc_test_root(), log);
    int rc = hc_test_run(cmd, NULL);
    char *out = hc_test_read_file(log, NULL);
    bool summary = out && (strstr(out, "# fail 0") || strstr(out, "\xe2\x84\xb9 fail 0"));
    if (rc != 0 || !summary) {
        const char *first = out ? strstr(out, "not ok") : NULL;
        fprintf(stderr, "    --- node --test (first failure) ---\n%.4000s\n", first ? first : "");
        fprintf(stderr, "    --- node --test (end) ---\n%s\n", tail(out, 1500));
    }
    free(out);
    CHECKF(rc == 0, "node --test test/ in " CHECKER_DIR " failed (exit %d); log: %s", rc, log);
    CHECKF(summary, "node --test exited 0 without a \"fail 0\" summary; log: %s", log);
}

HC_TEST(deploy_sh_bash_n_and_shellcheck) {
    char cmd[8192], script[4096];
    snprintf(script, sizeof script, "%s/deploy/aws-batch/deploy.sh", hc_test_root());
    CHECKF(access(script, X_OK) == 0, "%s is missing or not executable", script);
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "bash -n '%s' 2>&1", script);
    int rc = hc_test_run(cmd, &out);
    CHECKF(rc == 0, "bash -n deploy.sh: exit %d\n%s", rc, out);
    free(out);
    CHECKF(hc_test_run("command -v shellcheck >/dev/null 2>&1", NULL) == 0,
           "shellcheck not found: apt-get install shellcheck (scripts/debian-packages.txt)");
    /* shellcheck can fail here (an unquoted expansion is SC2086)... */
    char bad[4096];
    snprintf(bad, sizeof bad, "%s/bad.sh", hc_test_tmpdir());
    const char *bad_sh = "#!/usr/bin/env bash\nrm -rf $1/tmp\n";
    CHECK(hc_test_write_file(bad, bad_sh, strlen(bad_sh)) == 0);
    snprintf(cmd, sizeof cmd, "shellcheck '%s' 2>&1", bad);
    rc = hc_test_run(cmd, &out);
    CHECKF(rc != 0 && strstr(out, "SC2086"), "shellcheck passed a script with SC2086:\n%s", out);
    free(out);
    /* ...and deploy.sh is clean. */
    snprintf(cmd, sizeof cmd, "shellcheck '%s' 2>&1", script);
    rc = hc_test_run(cmd, &out);
    CHECKF(rc == 0, "shellcheck deploy.sh: exit %d\n%s", rc, out);
    free(out);
}

HC_TEST(deploy_sh_usage_names_every_subcommand) {
    char cmd[8192];
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s/deploy/aws-batch/deploy.sh' bogus 2>&1", hc_test_root());
    int rc = hc_test_run(cmd, &out);
    CHECKF(rc == 2, "deploy.sh bogus: exit %d, not 2", rc);
    const char *subs[] = {"init", "plan", "apply", "build", "test", "outputs", "destroy"};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "./deploy.sh %s ", subs[i]);
        CHECKF(strstr(out, want), "usage does not mention \"%s\":\n%s", want, out);
    }
    free(out);
}

/* Write an executable file. */
static int write_exec(const char *path, const char *text) {
    if (hc_test_write_file(path, text, strlen(text)) != 0) return -1;
    return chmod(path, 0755);
}

/* `deploy.sh test` against a real `hydra-compose serve`: the guide's example
 * request (vibe Pop, 9:16, 15 s) with images served on loopback, polled to
 * `completed`. */
HC_TEST_T(deploy_sh_test_drives_a_real_server_to_completed, 420) {
    const char *tmp = hc_test_tmpdir();
    char dir[4096], data[4096], bin[4096], url[256], path[8192], text[8192], cmd[16384];
    snprintf(dir, sizeof dir, "%s/img", tmp);
    snprintf(bin, sizeof bin, "%s/bin", tmp);
    snprintf(data, sizeof data, "%s/data", tmp);
    CHECK(mkdir(dir, 0755) == 0 && mkdir(bin, 0755) == 0);
    CHECK(hc_test_make_jpegs(dir, 3, 640, 480) == 0);
    int port = hc_test_httpd(dir);
    CHECK(port > 0);
    int pid = hc_test_serve(data, "--url-allow 127.0.0.1 --workers 1", url, sizeof url);
    CHECKF(pid > 0, "hydra-compose serve did not start (log in %s)", tmp);

    /* terraform: only `-chdir=DIR output -raw NAME` is answered. */
    snprintf(path, sizeof path, "%s/terraform", bin);
    snprintf(text, sizeof text,
             "#!/bin/sh\n"
             "echo \"$*\" >>'%s/terraform.calls'\n"
             "[ \"$2\" = output ] && [ \"$3\" = -raw ] || exit 64\n"
             "case \"$4\" in\n"
             "  api_endpoint) printf '%%s' '%s' ;;\n"
             "  region) printf us-east-1 ;;\n"
             "  *) exit 1 ;;\n"
             "esac\n",
             tmp, url);
    CHECK(write_exec(path, text) == 0);
    /* aws: must not be called when TEST_IMAGE_URLS is given. */
    snprintf(path, sizeof path, "%s/aws", bin);
    snprintf(text, sizeof text, "#!/bin/sh\necho \"$*\" >>'%s/aws.calls'\nexit 97\n", tmp);
    CHECK(write_exec(path, text) == 0);

    char log[4096];
    snprintf(log, sizeof log, "%s/deploy-test.log", tmp);
    snprintf(cmd, sizeof cmd,
             "PATH='%s':\"$PATH\" TEST_JOB_ID=deploy-test-1 TEST_POLL_S=1 TEST_TIMEOUT_S=360 "
             "TEST_IMAGE_URLS='http://127.0.0.1:%d/img0.jpg http://127.0.0.1:%d/img1.jpg "
             "http://127.0.0.1:%d/img2.jpg' '%s/deploy/aws-batch/deploy.sh' test >'%s' 2>&1",
             bin, port, port, port, hc_test_root(), log);
    int rc = hc_test_run(cmd, NULL);
    char *out = hc_test_read_file(log, NULL);
    CHECKF(rc == 0, "deploy.sh test: exit %d\n%s", rc, tail(out, 3000));
    CHECKF(out && strstr(out, "POST ") && strstr(out, "/render (job deploy-test-1)"),
           "no POST in the output:\n%s", tail(out, 2000));
    CHECKF(strstr(out, "status: completed"), "never saw status completed:\n%s", tail(out, 2000));
    CHECKF(strstr(out, "\"status\":\"completed\""), "final status JSON missing:\n%s",
           tail(out, 2000));
    free(out);
    snprintf(path, sizeof path, "%s/aws.calls", tmp);
    CHECKF(access(path, F_OK) != 0, "deploy.sh test called the AWS CLI");

    /* The job the script submitted is the guide's example. */
    char *resp = NULL;
    char surl[512];
    snprintf(surl, sizeof surl, "%s/render/status?job_id=deploy-test-1", url);
    long st = hc_test_http("GET", surl, NULL, NULL, &resp, NULL);
    bool vibe = resp && strstr(resp, "\"job_id\":\"deploy-test-1\"");
    free(resp);
    kill(pid, SIGTERM);
    CHECKF(st == 200 && vibe, "GET %s: %ld", surl, st);
}
