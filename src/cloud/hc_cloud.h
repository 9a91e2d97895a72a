/* The AWS side of the service: credentials, endpoints and SigV4 request
 * signing, and the clients built on them (S3, DynamoDB, Batch, Secrets
 * Manager, the Lambda runtime). Every request goes out through the one
 * HTTP client of core (hc_httpc_do).
 *
 * Invariant: no function here logs or puts into an error message an access
 * key secret, a session token, a signature, an Authorization header or a
 * presigned URL's query. Sections are self-contained, one per part. */
#ifndef HC_CLOUD_H
#define HC_CLOUD_H

#include "core/hc_core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- AWS credentials, endpoints, SigV4 (sigv4.c, aws.c) -------------------- */
typedef struct hc_aws_creds {
    char access_key_id[128];
    char secret_access_key[128];
    char session_token[4096]; /* "" for long-term keys */
    int64_t expires_unix;     /* 0 = does not expire */
} hc_aws_creds;

typedef struct hc_sigv4 {
    const hc_aws_creds *creds;
    const char *region;  /* "us-east-1" */
    const char *service; /* signing name: "s3", "dynamodb", "batch", "secretsmanager" */
    int64_t now_unix;    /* 0 = the wall clock; tests fix it */
} hc_sigv4;

/* Header form. headers: the request's own "Name: value" lines that will be sent (all are signed;
 * Host is derived from url when not given). payload_sha256: hex SHA-256 of the body, or
 * "UNSIGNED-PAYLOAD", or NULL to hash body[0..body_len) (or to take the value of an
 * x-amz-content-sha256 line among headers). Appends to *out the lines to send with
 * the request: "X-Amz-Date: ...", "X-Amz-Security-Token: ..." (temporary credentials),
 * "x-amz-content-sha256: ..." (service "s3"), "Authorization: AWS4-HMAC-SHA256 ...". The query
 * string of url is canonicalised (sorted, encoded) as SigV4 requires.
 *
 * The url's path and query must be percent-encoded as they go on the wire
 * (hc_url_encode; a space is %20, a '+' is a literal plus). Service "s3"
 * signs the path as given; every other service signs it normalised (dot
 * segments and repeated slashes removed) and encoded once more, as the
 * SigV4 specification says. HC_EINVAL (naming the problem, never a
 * secret) for a bad URL, a header line without ':', an Authorization
 * header among headers, missing credentials, region or service. */
int hc_sigv4_sign(const hc_sigv4 *sv, const char *method, const char *url,
                  const char *const *headers, const void *body, size_t body_len,
                  const char *payload_sha256, hc_strlist *out, hc_err *err);
/* Query form: url with X-Amz-Algorithm, -Credential, -Date, -Expires (1..604800 s),
 * -SignedHeaders=host, -Security-Token (temporary credentials), -Signature; caller frees.
 * The url's own query is kept as given, the X-Amz-* parameters follow it
 * (X-Amz-Signature last). The payload is "UNSIGNED-PAYLOAD" for s3, the
 * hash of an empty body otherwise. NULL on error (err says why). */
char *hc_sigv4_presign(const hc_sigv4 *sv, const char *method, const char *url, int expires_s,
                       hc_err *err);

/* The signer on a request already split into its parts, with the
 * intermediate texts: what hc_sigv4_sign/presign do after parsing the URL,
 * and what tests check against published canonical requests. */
enum { HC_SIGV4_AUTO = 0, HC_SIGV4_YES, HC_SIGV4_NO };
typedef struct hc_sigv4_parts {
    const char *method;         /* "GET" */
    const char *host;           /* the Host header's value; NULL: it must be among headers */
    const char *path;           /* as on the wire ("/a%20b"); NULL or "" = "/" */
    const char *query;          /* as on the wire, without '?'; NULL = none */
    const char *const *headers; /* "Name: value" lines, NULL-terminated (may be NULL) */
    const void *body;
    size_t body_len;
    const char *payload_sha256; /* as for hc_sigv4_sign */
    int expires_s;              /* 0: header form; 1..604800: query form */
    /* Tri-states (HC_SIGV4_AUTO = the service's rule): normalise the path
     * (not for s3), encode the path again (not for s3), add and sign
     * x-amz-content-sha256 in the header form (s3 only). */
    int normalize_path, double_encode, content_sha256;
} hc_sigv4_parts;

typedef struct hc_sigv4_result {
    hc_buf canonical_request;
    hc_buf string_to_sign;
    char signature[65]; /* lower-case hex */
    hc_strlist headers; /* header form: the lines to add, as hc_sigv4_sign appends them */
    hc_buf query;       /* query form: the query to send (the given one, then X-Amz-*) */
} hc_sigv4_result;
/* res is initialised here; hc_sigv4_result_fini frees it (also on failure).
 * Errors as hc_sigv4_sign. */
int hc_sigv4_compute(const hc_sigv4 *sv, const hc_sigv4_parts *p, hc_sigv4_result *res,
                     hc_err *err);
void hc_sigv4_result_fini(hc_sigv4_result *res);

/* The process's AWS context: region, endpoints, credentials provider chain (as the SDKs: env
 * AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN; AWS_PROFILE + shared
 * ~/.aws/credentials and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE); the
 * ECS/Batch container endpoint AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (169.254.170.2) or _FULL_URI
 * with AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE); EC2 IMDSv2 (AWS_EC2_METADATA_SERVICE_ENDPOINT,
 * token PUT then GET), refreshed 5 minutes before expiry). Thread-safe. */
typedef struct hc_aws hc_aws;
int hc_aws_open(hc_aws **out,
                hc_err *err); /* from the environment; NULL region is an error only when used */
void hc_aws_close(hc_aws *aws);
const char *
hc_aws_region(const hc_aws *aws); /* AWS_REGION, else AWS_DEFAULT_REGION, else profile region */
/* Base URL for a service ("s3", "dynamodb", "batch", "secretsmanager"): AWS_ENDPOINT_URL_<ID>
 * (ID: S3, DYNAMODB, BATCH, SECRETS_MANAGER), else AWS_ENDPOINT_URL, else
 * https://<endpoint-prefix>.<region>.amazonaws.com. No trailing slash. */
int hc_aws_endpoint(const hc_aws *aws, const char *service, char *buf, size_t len, hc_err *err);
/* Current credentials (copied; refreshed when within 5 min of expiry). HC_EIO/HC_ENET when none. */
/* (Also HC_EIO for half-configured ones, e.g. a key id without a secret; a
 * missing region is HC_EIO from hc_aws_endpoint and hc_aws_call.) */
int hc_aws_creds_get(hc_aws *aws, hc_aws_creds *out, hc_err *err);
/* One signed AWS API call through hc_httpc_do with an unguarded infrastructure policy (retries
 * with back-off on 5xx, 429 and the throttling error codes in the body: ThrottlingException,
 * ProvisionedThroughputExceededException, RequestLimitExceeded, TooManyRequestsException,
 * SlowDown); signs each attempt afresh. service: signing name as above. req->headers must not
 * contain Authorization. Returns as hc_httpc_do. */
int hc_aws_call(hc_aws *aws, const char *service, const hc_httpc_req *req, hc_httpc_resp *resp,
                hc_err *err);
/* For JSON APIs (DynamoDB "DynamoDB_20120810.X", Secrets Manager "secretsmanager.X"): POST body to
 * the service endpoint "/" with X-Amz-Target and Content-Type application/x-amz-json-1.0 (1.1 for
 * secretsmanager); on a non-2xx answer returns HC_ENET for 5xx/throttling after retries, HC_EINVAL
 * (4xx) etc., with the AWS error type and message in err ("dynamodb:
 * ConditionalCheckFailedException:
 * ..."), and the error type copied into aws_type (may be NULL) so callers can branch on it.
 * (HC_EIO, not HC_EINVAL, for a 401/403 or a refused-credentials type such as
 * UnrecognizedClientException, AccessDeniedException, ExpiredTokenException.) */
int hc_aws_json(hc_aws *aws, const char *service, const char *target, const char *body, hc_buf *out,
                char *aws_type, size_t aws_type_len, hc_err *err);
/* The base URL AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is appended to
 * (NULL: the ECS/Batch agent, http://169.254.170.2); for tests, which
 * cannot listen there. Drops cached credentials. */
void hc_aws_set_container_host(hc_aws *aws, const char *base_url);
/* ---- end of AWS credentials, endpoints, SigV4 ------------------------------- */


/* ---- Lambda Runtime API (lambda.c) ------------------------------------------
 * The custom-runtime loop of AWS Lambda, API version 2018-06-01, on the
 * endpoint AWS_LAMBDA_RUNTIME_API ("HOST:PORT", loopback in Lambda):
 *   GET  /2018-06-01/runtime/invocation/next              (no timeout: it
 *        blocks until an event arrives, the environment may be frozen meanwhile)
 *   POST /2018-06-01/runtime/invocation/{id}/response     the handler's answer
 *   POST /2018-06-01/runtime/invocation/{id}/error        a handler failure
 *   POST /2018-06-01/runtime/init/error                   a failure before the loop
 * Errors are {"errorMessage","errorType","stackTrace":[]} with the
 * Lambda-Runtime-Function-Error-Type header. Requests are infrastructure:
 * unguarded, retried on connection failures (the Runtime API is local).
 *
 * Invariant: every invocation taken from /next gets exactly one answer,
 * /response or /error, before the next /next. */
typedef struct hc_lambda hc_lambda;

typedef struct hc_lambda_invocation {
    char request_id[128];    /* Lambda-Runtime-Aws-Request-Id */
    int64_t deadline_ms;     /* Lambda-Runtime-Deadline-Ms (Unix ms), 0 when absent */
    char function_arn[512];  /* Lambda-Runtime-Invoked-Function-Arn */
    char trace_id[1024];     /* Lambda-Runtime-Trace-Id, also put in _X_AMZN_TRACE_ID */
    hc_buf event;            /* the event (JSON text) */
} hc_lambda_invocation;
void hc_lambda_invocation_fini(hc_lambda_invocation *inv);

/* The event's answer: 0 with the response JSON in *out, or an HC_E* code
 * with err's message, reported to /error (errorType: *error_type when the
 * handler set it, else "HC_" + hc_errname). */
typedef int (*hc_lambda_handler)(void *ud, const hc_lambda_invocation *inv, hc_buf *out,
                                 char *error_type, size_t error_type_len, hc_err *err);

/* runtime_api: "HOST:PORT" (AWS_LAMBDA_RUNTIME_API); HC_EINVAL when empty. */
int hc_lambda_open(const char *runtime_api, hc_lambda **out, hc_err *err);
void hc_lambda_close(hc_lambda *l); /* NULL is a no-op */
/* Wait (without a time limit) for the next invocation. HC_ENET when the
 * Runtime API cannot be reached, HC_EIO on a response without a request id. */
int hc_lambda_next(hc_lambda *l, hc_lambda_invocation *inv, hc_err *err);
int hc_lambda_respond(hc_lambda *l, const char *request_id, const void *body, size_t len,
                      hc_err *err);
int hc_lambda_fail(hc_lambda *l, const char *request_id, const char *error_type,
                   const char *message, hc_err *err);
/* An initialisation failure (the process exits after it). */
int hc_lambda_init_error(hc_lambda *l, const char *error_type, const char *message, hc_err *err);
/* next -> handler -> response or error, until *stop is set (checked
 * between invocations; may be NULL) or the Runtime API fails (returned). */
int hc_lambda_run(hc_lambda *l, hc_lambda_handler handler, void *ud, const volatile bool *stop,
                  hc_err *err);
/* ---- end of Lambda Runtime API --------------------------------------------- */

/* ---- AWS Batch and Secrets Manager (batch.c, secrets.c) --------------------
 * Batch: the REST JSON API (POST /v1/submitjob, /v1/describejobs,
 * /v1/terminatejob; signing name "batch") through hc_aws_call, whose
 * policy backs off and retries throttled calls (Batch's rate limits are
 * low). Errors name the operation and Batch's message; 4xx is HC_EINVAL,
 * throttling and 5xx after retries HC_ENET. */
typedef struct hc_batch_submit {
    const char *job_name;       /* [A-Za-z0-9][A-Za-z0-9_-]{0,127} */
    const char *job_queue;      /* name or ARN */
    const char *job_definition; /* name, name:revision or ARN */
    const char *const *env;     /* containerOverrides.environment: "NAME=VALUE", NULL-terminated */
} hc_batch_submit;
/* SubmitJob; the jobId into job_id. */
int hc_batch_submit_job(hc_aws *aws, const hc_batch_submit *in, char *job_id, size_t len,
                        hc_err *err);

typedef struct hc_batch_job {
    char job_id[128];
    char job_queue[256];
    char status[16]; /* SUBMITTED PENDING RUNNABLE STARTING RUNNING SUCCEEDED FAILED */
    char status_reason[256];
    int64_t started_ms; /* 0 = not started */
    int attempts;       /* attempts[] entries */
} hc_batch_job;
/* DescribeJobs for ids[0..n) (1..100). *out (caller frees) gets the jobs
 * Batch knows, in its order; ids it does not know are absent. */
int hc_batch_describe_jobs(hc_aws *aws, const char *const *ids, int n, hc_batch_job **out,
                           int *n_out, hc_err *err);
/* TerminateJob (pending jobs are canceled, running ones stopped). */
int hc_batch_terminate_job(hc_aws *aws, const char *job_id, const char *reason, hc_err *err);

/* Secrets Manager GetSecretValue of secret_id: its SecretString is a JSON
 * object whose string members are exported with setenv (values equal to
 * "REPLACE_ME", Terraform's placeholder, are skipped; numbers and booleans
 * are exported as their JSON text). Values are never logged nor put in err.
 * *n_set (may be NULL) gets how many were exported. Not thread-safe
 * (setenv): call before starting threads. */
int hc_secrets_export(hc_aws *aws, const char *secret_id, int *n_set, hc_err *err);
/* ---- end of AWS Batch and Secrets Manager ---------------------------------- */

#endif
