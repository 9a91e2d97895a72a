#!/usr/bin/env python3
"""A SigV4-verifying HTTP server for tests/unit/test_sigv4.c: checks every
request's signature as received on the wire (after libcurl or curl sent
it) by recomputing it with botocore, the way an AWS service would.

Usage: sigv4_verify.py PORTFILE

Binds 127.0.0.1 on an ephemeral port, writes "PORT\\n" to PORTFILE (temp
file + rename). Known keys: S3RVER/S3RVER and AKIDEXAMPLE/wJalr...KEY.

Header form (Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
Signature=...) and query form (X-Amz-Algorithm ... X-Amz-Signature) are both
checked: the canonical request is rebuilt from the received method, path,
query and the signed headers only; for s3 a hashed x-amz-content-sha256
must match the body. Refusals are 403 with an S3-style XML body whose
<Code> is SignatureDoesNotMatch, AccessDenied (expired presigned URL),
RequestTimeTooSkewed (header form more than 15 minutes off),
InvalidAccessKeyId, XAmzContentSHA256Mismatch or MissingSecurityHeader.

Accepted requests act as a tiny object store: PUT stores the body under the
path, GET/HEAD return it (404 NoSuchKey otherwise), POST answers {} (JSON).
Exits 3 when botocore cannot be imported.
"""
import calendar
import hashlib
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote

try:
    import botocore.auth as auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as e:
    print("botocore missing: %s" % e, file=sys.stderr)
    sys.exit(3)

KEYS = {"S3RVER": "S3RVER", "AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
objects = {}
lock = threading.Lock()


class Refused(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code
        self.msg = msg


def parse_authorization(value):
    if not value.startswith("AWS4-HMAC-SHA256 "):
        raise Refused("InvalidArgument", "unsupported Authorization type")
    fields = {}
    for part in value[len("AWS4-HMAC-SHA256 "):].split(","):
        k, _, v = part.strip().partition("=")
        fields[k] = v
    return fields["Credential"], fields["SignedHeaders"], fields["Signature"]


def amz_time(s):
    return calendar.timegm(time.strptime(s, "%Y%m%dT%H%M%SZ"))


def verify(h, body):
    raw_path, _, raw_query = h.path.partition("?")
    pairs = [p for p in raw_query.split("&") if p] if raw_query else []
    qdict = {unquote(k): unquote(v) for k, _, v in (p.partition("=") for p in pairs)}
    query_form = "X-Amz-Algorithm" in qdict
    if query_form:
        if qdict["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
            raise Refused("InvalidArgument", "algorithm")
        cred = qdict["X-Amz-Credential"]
        signed = qdict["X-Amz-SignedHeaders"]
        given = qdict["X-Amz-Signature"]
        amzdate = qdict["X-Amz-Date"]
        expires = int(qdict["X-Amz-Expires"])
        if not 1 <= expires <= 604800:
            raise Refused("AuthorizationQueryParametersError", "X-Amz-Expires out of range")
        if time.time() > amz_time(amzdate) + expires:
            raise Refused("AccessDenied", "Request has expired")
        token = qdict.get("X-Amz-Security-Token")
        # the canonical query is everything but the signature, as sent
        pairs = [p for p in pairs if not p.startswith("X-Amz-Signature=")]
    else:
        a = h.headers.get("Authorization")
        if not a:
            raise Refused("AccessDenied", "no signature")
        cred, signed, given = parse_authorization(a)
        amzdate = h.headers.get("X-Amz-Date", "")
        if abs(time.time() - amz_time(amzdate)) > 900:
            raise Refused("RequestTimeTooSkewed", "X-Amz-Date too far from the server's time")
        token = h.headers.get("X-Amz-Security-Token")
        if token and "x-amz-security-token" not in signed.split(";"):
            raise Refused("MissingSecurityHeader", "the token is not signed")
    key_id, date, region, service, term = cred.split("/")
    if key_id not in KEYS:
        raise Refused("InvalidAccessKeyId", "unknown access key")
    if term != "aws4_request" or date != amzdate[:8]:
        raise Refused("SignatureDoesNotMatch", "credential scope")
    s3 = service == "s3"
    if s3 and not query_form:
        sha = h.headers.get("x-amz-content-sha256")
        if not sha:
            raise Refused("InvalidRequest", "x-amz-content-sha256 missing")
        if sha != "UNSIGNED-PAYLOAD" and sha != hashlib.sha256(body).hexdigest():
            raise Refused("XAmzContentSHA256Mismatch", "body hash")

    url = "http://%s%s%s" % (h.headers["Host"], raw_path, ("?" + "&".join(pairs)) if pairs else "")
    req = AWSRequest(method=h.command, url=url, data=body)
    for name in signed.split(";"):
        v = h.headers.get_all(name)
        if v is None:
            raise Refused("SignatureDoesNotMatch", "signed header %s not sent" % name)
        req.headers[name] = ",".join(v)
    req.context["timestamp"] = amzdate
    creds = Credentials(key_id, KEYS[key_id], token)
    if query_form:
        signer = (auth.S3SigV4QueryAuth if s3 else auth.SigV4QueryAuth)(creds, service, region,
                                                                      expires=expires)
    else:
        signer = (auth.S3SigV4Auth if s3 else auth.SigV4Auth)(creds, service, region)
    creq = signer.canonical_request(req)
    sts = signer.string_to_sign(req, creq)
    want = signer.signature(sts, req)
    if want != given:
        raise Refused("SignatureDoesNotMatch", "signature")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def send(self, code, body, ctype="application/xml"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        try:
            verify(self, body)
        except Refused as r:
            return self.send(403, "<Error><Code>%s</Code><Message>%s</Message></Error>"
                             % (r.code, r.msg))
        except (KeyError, ValueError) as e:
            return self.send(400, "<Error><Code>InvalidRequest</Code><Message>%s</Message>"
                             "</Error>" % type(e).__name__)
        path = self.path.split("?")[0]
        if self.command == "PUT":
            with lock:
                objects[path] = body
            return self.send(200, b"", "text/plain")
        if self.command == "POST":
            return self.send(200, "{}", "application/x-amz-json-1.0")
        with lock:
            data = objects.get(path)
        if data is None:
            return self.send(404, "<Error><Code>NoSuchKey</Code></Error>")
        self.send(200, data, "application/octet-stream")

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = handle_any


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, sys.argv[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
