/* Secrets Manager: GetSecretValue of a JSON secret, its members exported
 * into the environment (SECRETS_NAME, DESIGN.md §10).
 *
 * Invariant: a secret's values go only to setenv: never to a log line, an
 * error message or anything returned; names may be logged by callers. */
#include "cloud/hc_cloud.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A member name usable as an environment variable name. */
static bool env_name_ok(const char *k) {
    if (!*k || (*k >= '0' && *k <= '9')) return false;
    for (const char *p = k; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

int hc_secrets_export(hc_aws *aws, const char *secret_id, int *n_set, hc_err *err) {
    if (n_set) *n_set = 0;
    if (!secret_id || !*secret_id)
        return hc_err_set(err, HC_EINVAL, "SECRETS_NAME: empty secret name");
    json_t *req = json_pack("{s:s}", "SecretId", secret_id);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    hc_buf out = {0};
    char type[128] = "";
    int rc = hc_aws_json(aws, "secretsmanager", "secretsmanager.GetSecretValue", body, &out, type,
                         sizeof type, err);
    free(body);
    if (rc != 0) {
        hc_err_prefix(err, "SECRETS_NAME %s: ", secret_id);
        hc_buf_fini(&out);
        return rc;
    }
    json_error_t je;
    json_t *ans = json_loadb(out.p ? out.p : "", out.n, 0, &je);
    /* The buffer held the secret: wipe it before freeing. */
    if (out.p) memset(out.p, 0, out.n);
    hc_buf_fini(&out);
    const char *ss = json_string_value(json_object_get(ans, "SecretString"));
    if (!ss) {
        json_decref(ans);
        return hc_err_set(err, HC_EINVAL,
                          "SECRETS_NAME %s: the secret has no SecretString (binary secrets are "
                          "not supported)",
                          secret_id);
    }
    json_t *obj = json_loads(ss, 0, &je);
    json_decref(ans);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return hc_err_set(err, HC_EINVAL,
                          "SECRETS_NAME %s: SecretString is not a JSON object of NAME: value",
                          secret_id);
    }
    int n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (!env_name_ok(k)) continue;
        char *text = NULL;
        if (json_is_string(v))
            text = hc_strdup(json_string_value(v));
        else if (json_is_number(v) || json_is_boolean(v))
            text = json_dumps(v, JSON_ENCODE_ANY);
        else
            continue;
        if (text && strcmp(text, "REPLACE_ME") != 0 && setenv(k, text, 1) == 0) n++;
        if (text) {
            memset(text, 0, strlen(text));
            free(text);
        }
    }
    json_decref(obj);
    if (n_set) *n_set = n;
    return 0;
}
