#!/usr/bin/env python3
"""A stand-in for AWS Secrets Manager's GetSecretValue (python3 stdlib).

Usage: secrets_api.py PORTFILE SECRETS.json

SECRETS.json maps secret names to their SecretString (text). Binds 127.0.0.1
on an ephemeral port and writes "PORT\\n" to PORTFILE (temp file + rename).

  POST /  X-Amz-Target: secretsmanager.GetSecretValue
          Content-Type: application/x-amz-json-1.1
          {"SecretId": NAME} -> {"ARN", "Name", "SecretString", "VersionId",
                                 "VersionStages": ["AWSCURRENT"], "CreatedDate"}
An unknown name is 400 ResourceNotFoundException; a request without a
well-formed SigV4 Authorization header (service "secretsmanager") and
X-Amz-Date is 400 IncompleteSignature / 403 UnrecognizedClientException.
GET /_control/log lists the SecretIds asked for (unsigned, for tests).
"""
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=[A-Za-z0-9]+/\d{8}/[a-z0-9-]+/secretsmanager/aws4_request, "
    r"SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$")
SECRETS = {}
LOG = []
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def err(self, code, t, msg):
        self.reply(code, {"__type": t, "message": msg})

    def do_GET(self):
        if self.path == "/_control/log":
            with LOCK:
                return self.reply(200, LOG)
        self.err(404, "UnknownOperationException", "no such route")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if not AUTH_RE.match(self.headers.get("Authorization") or "") or \
                not self.headers.get("X-Amz-Date"):
            return self.err(403, "UnrecognizedClientException",
                            "missing or malformed SigV4 Authorization or X-Amz-Date")
        if self.headers.get("X-Amz-Target") != "secretsmanager.GetSecretValue":
            return self.err(400, "UnknownOperationException", "only GetSecretValue")
        if not (self.headers.get("Content-Type") or "").startswith("application/x-amz-json-1.1"):
            return self.err(400, "SerializationException", "Content-Type application/x-amz-json-1.1")
        try:
            body = json.loads(raw)
        except ValueError:
            return self.err(400, "SerializationException", "the body is not JSON")
        name = body.get("SecretId")
        with LOCK:
            LOG.append(name)
        if name not in SECRETS:
            return self.err(400, "ResourceNotFoundException",
                            "Secrets Manager can't find the specified secret.")
        self.reply(200, {"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + name,
                         "Name": name, "SecretString": SECRETS[name],
                         "VersionId": "00000000-0000-0000-0000-000000000001",
                         "VersionStages": ["AWSCURRENT"], "CreatedDate": time.time()})


def main():
    portfile, path = sys.argv[1], sys.argv[2]
    with open(path) as f:
        SECRETS.update(json.load(f))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
