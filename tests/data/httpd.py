#!/usr/bin/env python3
"""Test HTTP server for the C tests (python3 standard library only).

Usage: httpd.py PORTFILE DIR

Binds 127.0.0.1 on an ephemeral port, writes "PORT\\n" to PORTFILE atomically
(temp file + rename, so a reader never sees a partial number), and serves the
files under DIR with sensible content types. Every request is counted per
path (query stripped), so tests can assert how often a URL was tried.

Special routes (NAME is a file path under DIR):
  /redirect/N/NAME      302 to /redirect/N-1/NAME ... /redirect/0/NAME serves NAME
  /status/CODE          always answers CODE with a short text/plain body
  /flaky/K/NAME         the first K requests for this path get 503, then NAME
  /retry-after/NAME     429 with "Retry-After: 1" once (per path), then NAME
  /slow/NAME            sleeps 5 s, then serves NAME
  /html                 an HTML page, Content-Type text/html
  /big                  200 MB of zeros with a Content-Length
  /big-chunked          200 MB of zeros, chunked (no Content-Length)
  /empty                200 with an empty body (Content-Type image/jpeg)
  /hits/PATH            the number of requests seen for /PATH, as text
  /hits                 all counts as a JSON object
  /redirect-to?url=URL  302 to URL (any host: tests of the private-address guard)

Callback receiver (POST, also PUT; NAME is any label, each its own log):
  POST /callback/NAME         records the request, answers 200
  POST /hook/K/NAME           records it; 500 for the first K posts to NAME, then 200
  POST /hook-status/CODE/NAME records it, always answers CODE (3xx with a Location)
  GET  /hooks/NAME            JSON array of what NAME received, in order:
                              {"method", "headers": {lower-case name: value}, "body": text,
                               "t": seconds since the epoch (float)}

Invariant: nothing is served from outside DIR; the server only listens on
loopback; SIGTERM ends it at once (handler threads are daemons). Logging is
quiet: only unexpected handler errors go to stderr.
"""

import json
import mimetypes
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIG_BYTES = 200 * 1000 * 1000
CHUNK = 64 * 1024

EXTRA_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".avif": "image/avif",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".flac": "audio/flac",
    ".mp4": "video/mp4",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}

HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Not an image</title></head>"
    b"<body><p>This is a web page, not a photo.</p></body></html>\n"
)


class State:
    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.lock = threading.Lock()
        self.hits = {}
        self.hooks = {}  # NAME -> [{"headers", "body", "t"}]

    def hit(self, path):
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            return self.hits[path]

    def count(self, path):
        with self.lock:
            return self.hits.get(path, 0)

    def snapshot(self):
        with self.lock:
            return dict(self.hits)

    def record(self, name, entry):
        with self.lock:
            self.hooks.setdefault(name, []).append(entry)
            return len(self.hooks[name])

    def received(self, name):
        with self.lock:
            return list(self.hooks.get(name, []))


def content_type(path):
    ext = os.path.splitext(path)[1].lower()
    if ext in EXTRA_TYPES:
        return EXTRA_TYPES[ext]
    guessed, _ = mimetypes.guess_type(path)
    return guessed or "application/octet-stream"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes
    server_version = "hc-test-httpd/1"
    state = None  # set in main()

    def log_message(self, format, *args):  # noqa: A002 - quiet access log
        pass

    # ---- helpers ----------------------------------------------------------
    def send_body(self, code, body, ctype, extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def send_text(self, code, text, extra=None):
        self.send_body(code, text.encode(), "text/plain; charset=utf-8", extra)

    def send_file(self, name):
        rel = urllib.parse.unquote(name).lstrip("/")
        full = os.path.realpath(os.path.join(self.state.root, rel))
        if full != self.state.root and not full.startswith(self.state.root + os.sep):
            return self.send_text(403, "outside the served directory\n")
        if not os.path.isfile(full):
            return self.send_text(404, "not found\n")
        with open(full, "rb") as f:
            data = f.read()
        self.send_body(200, data, content_type(full))

    def send_zeros(self, chunked):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(BIG_BYTES))
        self.end_headers()
        if self.command == "HEAD":
            return
        block = bytes(CHUNK)
        left = BIG_BYTES
        while left > 0:
            n = min(left, CHUNK)
            if chunked:
                self.wfile.write(b"%x\r\n" % n + block[:n] + b"\r\n")
            else:
                self.wfile.write(block[:n])
            left -= n
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    # ---- routing ----------------------------------------------------------
    def route(self):
        path = urllib.parse.urlsplit(self.path).path
        parts = path.lstrip("/").split("/")
        head = parts[0]
        if head == "hits":
            if len(parts) == 1 or parts[1] == "":
                body = json.dumps(self.state.snapshot()).encode()
                return self.send_body(200, body, "application/json")
            return self.send_text(200, "%d\n" % self.state.count("/" + "/".join(parts[1:])))
        n = self.state.hit(path)
        if head == "redirect" and len(parts) >= 3 and parts[1].isdigit():
            left = int(parts[1])
            rest = "/".join(parts[2:])
            if left <= 0:
                return self.send_file(rest)
            loc = "/redirect/%d/%s" % (left - 1, rest)
            return self.send_text(302, "redirect\n", {"Location": loc})
        if head == "status" and len(parts) == 2 and parts[1].isdigit():
            code = int(parts[1])
            return self.send_text(code, "status %d\n" % code)
        if head == "flaky" and len(parts) >= 3 and parts[1].isdigit():
            if n <= int(parts[1]):
                return self.send_text(503, "try again later\n")
            return self.send_file("/".join(parts[2:]))
        if head == "retry-after" and len(parts) >= 2:
            if n == 1:
                return self.send_text(429, "slow down\n", {"Retry-After": "1"})
            return self.send_file("/".join(parts[1:]))
        if head == "slow" and len(parts) >= 2:
            time.sleep(5)
            return self.send_file("/".join(parts[1:]))
        if head == "redirect-to":
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            loc = query.get("url", [""])[0]
            return self.send_text(302, "redirect\n", {"Location": loc})
        if head == "hooks" and len(parts) >= 2:
            body = json.dumps(self.state.received("/".join(parts[1:]))).encode()
            return self.send_body(200, body, "application/json")
        if path == "/html":
            return self.send_body(200, HTML_PAGE, "text/html; charset=utf-8")
        if path == "/big":
            return self.send_zeros(chunked=False)
        if path == "/big-chunked":
            return self.send_zeros(chunked=True)
        if path == "/empty":
            return self.send_body(200, b"", "image/jpeg")
        return self.send_file(path)

    def handle_one(self):
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            # The client gave up (byte cap, timeout, abort): expected in tests.
            self.close_connection = True

    def handle_post(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            path = urllib.parse.urlsplit(self.path).path
            parts = path.lstrip("/").split("/")
            head = parts[0]
            self.state.hit(path)
            entry = {
                "method": self.command,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
                "t": time.time(),
            }
            if head == "callback" and len(parts) >= 2:
                self.state.record("/".join(parts[1:]), entry)
                return self.send_text(200, "ok\n")
            if head == "hook" and len(parts) >= 3 and parts[1].isdigit():
                n = self.state.record("/".join(parts[2:]), entry)
                if n <= int(parts[1]):
                    return self.send_text(500, "receiver failure %d\n" % n)
                return self.send_text(200, "ok\n")
            if head == "hook-status" and len(parts) >= 3 and parts[1].isdigit():
                self.state.record("/".join(parts[2:]), entry)
                code = int(parts[1])
                extra = {"Location": "/callback/redirected"} if 300 <= code < 400 else None
                return self.send_text(code, "status %d\n" % code, extra)
            return self.send_text(404, "no such receiver\n")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    do_GET = handle_one
    do_HEAD = handle_one
    do_POST = handle_post
    do_PUT = handle_post


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops SYNs when 8+ clients connect at once

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: httpd.py PORTFILE DIR\n")
        return 2
    portfile, root = sys.argv[1], sys.argv[2]
    Handler.state = State(root)
    server = Server(("127.0.0.1", 0), Handler)

    def on_term(signum, frame):
        # Exit at once: handler threads may be mid-sleep or mid-stream.
        os._exit(0)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    tmp = "%s.tmp.%d" % (portfile, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, portfile)
    server.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
