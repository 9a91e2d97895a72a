#!/usr/bin/env python3
"""Sign requests with botocore at a fixed clock, for tests/unit/test_sigv4.c.

Usage: botocore_sign.py CASES.json

CASES.json is a list of objects:
  name, form ("header" | "query"), service, region, method, url,
  headers ([[name, value], ...]), body (text), unsigned (bool: s3 with
  UNSIGNED-PAYLOAD), access_key_id, secret_access_key, token (or ""),
  expires (query form), now (Unix seconds).
Prints one JSON object: {name: {"headers": {name: value}} | {"url": URL}}
with the header lines botocore added (X-Amz-Date, X-Amz-Security-Token,
X-Amz-Content-SHA256, Authorization) or the presigned URL.

Exits 3 when botocore cannot be imported (the C test then skips).
"""
import datetime
import json
import sys
import types

try:
    import botocore
    import botocore.auth as auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
except ImportError as e:
    print("botocore missing: %s" % e, file=sys.stderr)
    sys.exit(3)


def fixed_clock(now):
    class Fixed(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=now)

    # botocore.auth reads datetime.datetime.utcnow(); give it a module
    # whose datetime class answers with the fixed time.
    auth.datetime = types.SimpleNamespace(datetime=Fixed, timedelta=datetime.timedelta)


def sign(c):
    fixed_clock(c["now"])
    creds = Credentials(c["access_key_id"], c["secret_access_key"], c["token"] or None)
    req = AWSRequest(method=c["method"], url=c["url"], data=c["body"].encode())
    for k, v in c["headers"]:
        req.headers[k] = v
    s3 = c["service"] == "s3"
    if c["form"] == "query":
        cls = auth.S3SigV4QueryAuth if s3 else auth.SigV4QueryAuth
        cls(creds, c["service"], c["region"], expires=c["expires"]).add_auth(req)
        return {"url": req.url}
    if c.get("unsigned"):
        req.context["client_config"] = types.SimpleNamespace(s3={"payload_signing_enabled": False})
    before = set(k.lower() for k in req.headers.keys())
    cls = auth.S3SigV4Auth if s3 else auth.SigV4Auth
    cls(creds, c["service"], c["region"]).add_auth(req)
    added = {k: v for k, v in req.headers.items() if k.lower() not in before}
    return {"headers": added}


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    out = {c["name"]: sign(c) for c in cases}
    out["_botocore_version"] = botocore.__version__
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
