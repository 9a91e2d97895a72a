#!/usr/bin/env python3
"""A stand-in for the AWS Lambda Runtime API (version 2018-06-01), for the
tests and the benchmark (python3 standard library only).

Usage: lambda_runtime.py PORTFILE [TIMEOUT_S]

Binds 127.0.0.1 on an ephemeral port and writes "PORT\\n" to PORTFILE
atomically. AWS_LAMBDA_RUNTIME_API for the runtime is then 127.0.0.1:PORT.
TIMEOUT_S (default 30) sets each invocation's Lambda-Runtime-Deadline-Ms.

The runtime's side, as documented for custom runtimes:
  GET  /2018-06-01/runtime/invocation/next
       long-polls until the test queues an event; 200 with the event as the
       body and the headers Lambda-Runtime-Aws-Request-Id,
       Lambda-Runtime-Deadline-Ms, Lambda-Runtime-Invoked-Function-Arn,
       Lambda-Runtime-Trace-Id
  POST /2018-06-01/runtime/invocation/{id}/response   202 {"status":"OK"}
  POST /2018-06-01/runtime/invocation/{id}/error      202 {"status":"OK"}
       (Lambda-Runtime-Function-Error-Type header recorded)
  POST /2018-06-01/runtime/init/error                 202 {"status":"OK"}
  An id that is not the invocation in flight, or one already answered, is
  400 {"errorMessage", "errorType": "InvalidRequestID"}; a response body over
  6 MB is 413 (errorType "RequestEntityTooLarge"), as Lambda does.

The test's side:
  POST /test/invoke[?wait=S]   queue the body as an event; answers
                               {"request_id": ID}, or with wait the result
                               (below) once the runtime answered
  GET  /test/result/ID?wait=S  {"kind": "response"|"error", "body": text,
                                "error_type": header value or null,
                                "queued_t", "delivered_t", "answered_t": seconds
                                since the epoch (float), "next_headers": {...}}
                               404 until answered (after waiting up to S)
  GET  /test/init-error?wait=S the init error: {"body", "error_type", "t"}, or 404
  GET  /test/stats             {"next_calls", "waiting": runtimes blocked in
                                /next, "queued", "first_next_t": time of the
                                first /next or null, "errors": [bad requests]}

Invariant: an invocation is delivered to one /next only, and answered at
most once; nothing is listened on but loopback; SIGTERM ends it at once.
"""

import json
import os
import select
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PREFIX = "/2018-06-01/runtime"
MAX_RESPONSE = 6 * 1024 * 1024


class State:
    def __init__(self, timeout_s):
        self.timeout_s = timeout_s
        self.cv = threading.Condition()
        self.queue = []  # [id] waiting for a /next
        self.inv = {}  # id -> record
        self.in_flight = set()  # delivered, not answered
        self.init_error = None
        self.next_calls = 0
        self.waiting = 0
        self.first_next_t = None
        self.bad = []


STATE = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, code, obj=None, headers=None, raw=None):
        body = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if raw is None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _wait(self, q):
        try:
            return float(q.get("wait", ["0"])[0])
        except ValueError:
            return 0.0

    # ---- the runtime's side ----

    def _next(self):
        s = STATE
        with s.cv:
            s.next_calls += 1
            if s.first_next_t is None:
                s.first_next_t = time.time()
            s.waiting += 1
            while True:
                if self._client_gone():
                    s.waiting -= 1
                    self.close_connection = True
                    return  # a runtime that died while polling takes no event
                if s.queue:
                    break
                s.cv.wait(0.2)
            s.waiting -= 1
            rid = s.queue.pop(0)
            rec = s.inv[rid]
            rec["delivered_t"] = time.time()
            s.in_flight.add(rid)
            s.cv.notify_all()
        deadline = int((time.time() + s.timeout_s) * 1000)
        headers = {
            "Lambda-Runtime-Aws-Request-Id": rid,
            "Lambda-Runtime-Deadline-Ms": str(deadline),
            "Lambda-Runtime-Invoked-Function-Arn":
                "arn:aws:lambda:us-east-1:123456789012:function:hydra-compose-api",
            "Lambda-Runtime-Trace-Id":
                "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
        }
        rec["next_headers"] = headers
        self._send(200, raw=rec["event"], headers=dict(headers, **{"Content-Type": "application/json"}))

    def _client_gone(self):
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            return bool(r) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _answer(self, rid, kind, body):
        s = STATE
        with s.cv:
            if rid not in s.in_flight:
                s.bad.append({"kind": kind, "request_id": rid})
                self._send(400, {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})
                return
            if kind == "response" and len(body) > MAX_RESPONSE:
                s.bad.append({"kind": "too-large", "request_id": rid})
                self._send(413, {"errorMessage": "Exceeded maximum allowed payload size (6291556 bytes).",
                                 "errorType": "RequestEntityTooLarge"})
                return
            s.in_flight.discard(rid)
            rec = s.inv[rid]
            rec["kind"] = kind
            rec["body"] = body.decode("utf-8", "replace")
            rec["error_type"] = self.headers.get("Lambda-Runtime-Function-Error-Type")
            rec["answered_t"] = time.time()
            s.cv.notify_all()
        self._send(202, {"status": "OK"})

    # ---- the test's side ----

    def _result(self, rid, wait):
        s = STATE
        end = time.time() + wait
        with s.cv:
            while rid in s.inv and "kind" not in s.inv[rid] and time.time() < end:
                s.cv.wait(max(0.0, end - time.time()))
            rec = s.inv.get(rid)
            if not rec or "kind" not in rec:
                return None
            out = {k: v for k, v in rec.items() if k != "event"}
            out["request_id"] = rid
            return out

    def do_GET(self):
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        s = STATE
        if u.path == PREFIX + "/invocation/next":
            return self._next()
        if u.path.startswith("/test/result/"):
            rec = self._result(u.path[len("/test/result/"):], self._wait(q))
            return self._send(200, rec) if rec else self._send(404, {"error": "not answered"})
        if u.path == "/test/init-error":
            end = time.time() + self._wait(q)
            with s.cv:
                while s.init_error is None and time.time() < end:
                    s.cv.wait(max(0.0, end - time.time()))
                rec = s.init_error
            return self._send(200, rec) if rec else self._send(404, {"error": "none"})
        if u.path == "/test/stats":
            with s.cv:
                return self._send(200, {"next_calls": s.next_calls, "waiting": s.waiting,
                                        "queued": len(s.queue), "first_next_t": s.first_next_t,
                                        "errors": s.bad})
        self._send(404, {"errorMessage": "not found", "errorType": "NotFound"})

    def do_POST(self):
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        body = self._body()
        s = STATE
        if u.path == PREFIX + "/init/error":
            with s.cv:
                s.init_error = {"body": body.decode("utf-8", "replace"),
                                "error_type": self.headers.get("Lambda-Runtime-Function-Error-Type"),
                                "t": time.time()}
                s.cv.notify_all()
            return self._send(202, {"status": "OK"})
        if u.path.startswith(PREFIX + "/invocation/"):
            rest = u.path[len(PREFIX + "/invocation/"):]
            rid, _, what = rest.rpartition("/")
            if what in ("response", "error") and rid:
                return self._answer(rid, what, body)
        if u.path == "/test/invoke":
            rid = str(uuid.uuid4())
            with s.cv:
                s.inv[rid] = {"event": body, "queued_t": time.time()}
                s.queue.append(rid)
                s.cv.notify_all()
            wait = self._wait(q)
            if wait > 0:
                rec = self._result(rid, wait)
                return self._send(200, rec) if rec else self._send(504, {"request_id": rid})
            return self._send(200, {"request_id": rid})
        self._send(404, {"errorMessage": "not found", "errorType": "NotFound"})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A runtime killed mid-request (the tests do that) is not an error here.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    global STATE
    portfile = sys.argv[1]
    STATE = State(float(sys.argv[2]) if len(sys.argv) > 2 else 30.0)
    srv = Server(("127.0.0.1", 0), Handler)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
