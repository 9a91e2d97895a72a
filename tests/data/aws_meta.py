#!/usr/bin/env python3
"""Stand-in for the AWS credentials endpoints, for tests/unit/test_aws.c
(python3 standard library only).

Usage: aws_meta.py PORTFILE [--expires-in S] [--auth-token T] [--role R]

Binds 127.0.0.1 on an ephemeral port and writes "PORT\\n" to PORTFILE
(temp file + rename). Serves, following the documented shapes:

  ECS/Batch container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
  and _FULL_URI): GET of any path under /v2/credentials/ or /creds answers
    {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn"}
  When --auth-token is given, the request must carry "Authorization: T"
  (the FULL_URI form's AWS_CONTAINER_AUTHORIZATION_TOKEN), else 401.

  EC2 IMDSv2:
    PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds
        (1..21600) -> a session token (text); without the header -> 400;
        a GET there -> 403 (IMDSv2 only).
    GET /latest/meta-data/iam/security-credentials/ with a valid
        X-aws-ec2-metadata-token -> the role name; else 401.
    GET /latest/meta-data/iam/security-credentials/ROLE -> {"Code": "Success",
        "LastUpdated", "Type": "AWS-HMAC", "AccessKeyId", "SecretAccessKey",
        "Token", "Expiration"}; else 401 / 404.

  A JSON API (for hc_aws_json), POST /json-api/ signed with SigV4 (else 403):
    X-Amz-Target Test.Throttle -> 400 ThrottlingException twice, then 200;
    Test.Unavailable -> 503; Test.Fail -> 400 ValidationException ("Message");
    key id AKIADENIED -> 400 UnrecognizedClientException;
    anything else -> 200 with what it saw (target, content type, token, body).

Every answer hands out new keys (AccessKeyId ends in a counter) expiring
--expires-in seconds from now (default 3600). GET /_stats -> JSON counts
per path and the number of credentials handed out.
"""
import datetime
import json
import os
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = sys.argv[2:]


def opt(name, default):
    if name in args:
        return args[args.index(name) + 1]
    return default


EXPIRES_IN = int(opt("--expires-in", "3600"))
AUTH_TOKEN = opt("--auth-token", None)
ROLE = opt("--role", "hc-test-role")
lock = threading.Lock()
counts = {}
issued = [0]
imds_tokens = set()


def new_creds():
    with lock:
        issued[0] += 1
        n = issued[0]
    exp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=EXPIRES_IN)
    return {
        "AccessKeyId": "ASIASTANDIN%06d" % n,
        "SecretAccessKey": "standin-secret-%d" % n,
        "Token": "standin-token-%d" % n,
        "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def send(self, code, body, ctype="text/plain"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def count(self):
        path = self.path.split("?")[0]
        with lock:
            counts[self.command + " " + path] = counts.get(self.command + " " + path, 0) + 1
        return path

    def do_PUT(self):
        path = self.count()
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        if path != "/latest/api/token":
            return self.send(404, "not found")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
        if not ttl or not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.send(400, "missing or invalid X-aws-ec2-metadata-token-ttl-seconds")
        tok = secrets.token_urlsafe(24)
        with lock:
            imds_tokens.add(tok)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("X-aws-ec2-metadata-token-ttl-seconds", ttl)
        self.send_header("Content-Length", str(len(tok)))
        self.end_headers()
        self.wfile.write(tok.encode())

    def do_GET(self):
        path = self.count()
        if path == "/_stats":
            with lock:
                body = json.dumps({"counts": counts, "issued": issued[0]})
            return self.send(200, body, "application/json")
        if path == "/latest/api/token":
            return self.send(403, "IMDSv2 only: PUT")
        if path.startswith("/latest/meta-data/iam/security-credentials/"):
            tok = self.headers.get("X-aws-ec2-metadata-token")
            with lock:
                ok = tok in imds_tokens
            if not ok:
                return self.send(401, "")
            rest = path[len("/latest/meta-data/iam/security-credentials/"):]
            if rest == "":
                return self.send(200, ROLE)
            if rest != ROLE:
                return self.send(404, "")
            c = new_creds()
            c.update({"Code": "Success", "Type": "AWS-HMAC",
                      "LastUpdated": datetime.datetime.now(datetime.timezone.utc)
                      .strftime("%Y-%m-%dT%H:%M:%SZ")})
            return self.send(200, json.dumps(c), "text/plain")
        if path.startswith("/v2/credentials/") or path.startswith("/creds"):
            if AUTH_TOKEN is not None and self.headers.get("Authorization") != AUTH_TOKEN:
                return self.send(401, json.dumps({"message": "bad authorization token"}),
                                 "application/json")
            c = new_creds()
            c["RoleArn"] = "arn:aws:iam::123456789012:role/" + ROLE
            return self.send(200, json.dumps(c), "application/json")
        self.send(404, "not found")

    def do_POST(self):
        # A JSON API for hc_aws_json: X-Amz-Target says what happens.
        path = self.count()
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if not path.startswith("/json-api"):
            return self.send(404, "not found")
        target = self.headers.get("X-Amz-Target", "")
        auth = self.headers.get("Authorization", "")
        with lock:
            k = "target " + target
            counts[k] = counts.get(k, 0) + 1
            seen = counts[k]
        if not auth.startswith("AWS4-HMAC-SHA256 Credential="):
            return self.send(403, json.dumps({"__type": "MissingAuthenticationTokenException",
                                              "message": "no signature"}),
                             "application/x-amz-json-1.0")
        if "Credential=AKIADENIED/" in auth:
            return self.send(400, json.dumps({
                "__type": "com.amazon.coral.service#UnrecognizedClientException",
                "message": "The security token included in the request is invalid."}),
                "application/x-amz-json-1.0")
        if target == "Test.Throttle" and seen <= 2:
            return self.send(400, json.dumps({
                "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                "message": "Rate of requests exceeds the allowed throughput."}),
                "application/x-amz-json-1.0")
        if target == "Test.Unavailable":
            return self.send(503, json.dumps({"__type": "ServiceUnavailable", "message": "down"}),
                             "application/x-amz-json-1.0")
        if target == "Test.Fail":
            return self.send(400, json.dumps({
                "__type": "com.amazon.coral.validate#ValidationException",
                "Message": "1 validation error detected"}), "application/x-amz-json-1.1")
        echo = {"target": target, "content_type": self.headers.get("Content-Type"),
                "date": self.headers.get("X-Amz-Date"),
                "token": self.headers.get("X-Amz-Security-Token"),
                "body": body.decode(), "attempt": seen}
        self.send(200, json.dumps(echo), "application/x-amz-json-1.0")


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    portfile = sys.argv[1]
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
