#!/usr/bin/env python3
"""A fault-injecting stand-in in front of an S3-compatible server, for the
storage tests: it forwards every request unchanged (the Host header too, so
SigV4 signatures still verify upstream) and logs one line per request, except:

  --fail-part N:COUNT   answer UploadPart number N with 500 InternalError
                        (an S3 error document) COUNT times (-1 = always);
  AbortMultipartUpload  (DELETE ?uploadId=...) is answered here with 204 No
                        Content as the S3 API documents it (s3rver has no
                        such route) and logged, so a test can see it was sent.

usage: s3fault.py PORTFILE UPSTREAM_PORT LOGFILE [--fail-part N:COUNT]
The chosen port is written to PORTFILE (a line), as tests/data/httpd.py does.
"""
import http.client
import http.server
import sys
import threading
import urllib.parse

portfile, upstream, logfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fail_part, fail_left = None, 0
args = sys.argv[4:]
while args:
    if args[0] == "--fail-part":
        n, c = args[1].split(":")
        fail_part, fail_left = int(n), int(c)
        args = args[2:]
    else:
        sys.exit("unknown argument " + args[0])

lock = threading.Lock()
HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


def log(line):
    with lock, open(logfile, "a") as f:
        f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, body=b"", ctype="application/xml"):
        self.send_response(status)
        if body:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        global fail_left
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        if self.command == "PUT" and "partNumber" in q:
            part = int(q["partNumber"][0])
            with lock:
                hit = part == fail_part and fail_left != 0
                if hit and fail_left > 0:
                    fail_left -= 1
            if hit:
                log("%s %s 500 injected" % (self.command, u.path))
                self.reply(500, b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>"
                                b"InternalError</Code><Message>injected failure</Message></Error>")
                return
            log("PUT %s part %d %d" % (u.path, part, len(body)))
        if self.command == "DELETE" and "uploadId" in q:
            log("ABORT %s %s" % (u.path, q["uploadId"][0]))
            self.reply(204)
            return
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
        try:
            conn.request(self.command, self.path, body=body if body else None, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
        finally:
            conn.close()
        if not ("partNumber" in q and self.command == "PUT"):
            log("%s %s %d" % (self.command, u.path + ("?" + u.query if u.query else ""), r.status))
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length",
                         (r.getheader("Content-Length") or "0") if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % srv.server_address[1])
import os  # noqa: E402

os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
