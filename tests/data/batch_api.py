#!/usr/bin/env python3
"""A stand-in for the AWS Batch API, for the executor tests (python3 stdlib).

Usage: batch_api.py PORTFILE [--run CMD] [--kill CMD] [--lose]
                             [--stall-queue NAME]... [--retry-attempts N]

Binds 127.0.0.1 on an ephemeral port and writes "PORT\\n" to PORTFILE (temp
file + rename). Follows the documented REST JSON shapes of the Batch API
(signing name "batch"):

  POST /v1/submitjob     {jobName, jobQueue, jobDefinition, containerOverrides:
                          {environment: [{name, value}]}, ...}
                         -> {jobArn, jobName, jobId}
  POST /v1/describejobs  {jobs: [id, ...]} (at most 100)
                         -> {jobs: [{jobArn, jobName, jobId, jobQueue, status,
                             statusReason, createdAt, startedAt, stoppedAt,
                             attempts: [{container: {exitCode}, startedAt,
                             stoppedAt, statusReason}], jobDefinition,
                             container: {environment}}]}; unknown ids are left out
  POST /v1/terminatejob  {jobId, reason} -> {}

Every /v1 request must carry a well-formed SigV4 Authorization header
("AWS4-HMAC-SHA256 Credential=AKID/YYYYMMDD/REGION/batch/aws4_request,
SignedHeaders=...host...x-amz-date..., Signature=<64 hex>") and X-Amz-Date,
else 403 (the signature itself is not recomputed: the signer has its own
tests). jobName must match [A-Za-z0-9][A-Za-z0-9_-]{0,127}; containerOverrides
over 8 KiB is a ClientException, as on AWS. Errors: 400/403 with
x-amzn-ErrorType and {"__type", "message"}.

Running: with --run CMD a job becomes RUNNING by spawning CMD (shell words)
with the job's containerOverrides.environment plus AWS_BATCH_JOB_ID,
AWS_BATCH_JOB_ATTEMPT, AWS_BATCH_JQ_NAME in its environment; exit 0 ->
SUCCEEDED; exit 3 -> another attempt while attempts < --retry-attempts (the
job definitions' retry strategy: exit 3 retried), else FAILED. CMD is a
template: {env} becomes "-e NAME" for each of those per-job variables (for
`docker run`, whose client passes the values on from its environment) and
{name} a name unique to the attempt ("hc-<jobId>-<attempt>", e.g. a
container name). --kill CMD (a template with {name}) is run when an attempt
is reclaimed or terminated, after the signal to CMD's process (the container
a `docker run` client started outlives a SIGKILL of the client). Jobs in a
--stall-queue stay RUNNABLE (no capacity). With --lose, submitted jobs are
accepted and then forgotten (DescribeJobs does not return them).

Control routes (unsigned, for tests):
  GET  /_control/jobs            every job as above, plus "terminated" and
                                 "pid", keyed by jobId
  GET  /_control/log             the /v1 operations seen, in order
  POST /_control/reclaim?job=ID  spot reclaim: SIGKILL the running attempt,
                                 then start the next one (statusReason of the
                                 attempt "Host EC2 (instance i-0) terminated.")
  POST /_control/lose?job=ID     forget one job (its process is killed)
"""
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ARGS = {"run": None, "kill": None, "lose": False, "stall": set(), "retry_attempts": 2}
JOBS = {}
LOG = []
LOCK = threading.Lock()
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=[A-Za-z0-9]+/\d{8}/[a-z0-9-]+/batch/aws4_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$")


def now_ms():
    return int(time.time() * 1000)


def public(job):
    return {k: v for k, v in job.items() if not k.startswith("_")}


def start_attempt(job):
    """Start the next attempt of job (under LOCK)."""
    if ARGS["run"] is None or job["jobQueue"] in ARGS["stall"]:
        job["status"] = "RUNNABLE"
        return
    n = len(job["attempts"]) + 1
    env = dict(os.environ)
    names = []
    for e in job["container"]["environment"]:
        env[e["name"]] = e["value"]
        names.append(e["name"])
    env["AWS_BATCH_JOB_ID"] = job["jobId"]
    env["AWS_BATCH_JOB_ATTEMPT"] = str(n)
    env["AWS_BATCH_JQ_NAME"] = job["jobQueue"]
    names += ["AWS_BATCH_JOB_ID", "AWS_BATCH_JOB_ATTEMPT", "AWS_BATCH_JQ_NAME"]
    name = "hc-%s-%d" % (job["jobId"], n)
    argv = []
    for w in shlex.split(ARGS["run"]):
        if w == "{env}":
            for k in names:
                argv += ["-e", k]
        else:
            argv.append(w.replace("{name}", name))
    # Same process group as the stand-in: whoever kills the group (the
    # test runner) kills the workers too.
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL)
    job["_name"] = name
    attempt = {"container": {}, "startedAt": now_ms()}
    job["attempts"].append(attempt)
    job["status"] = "RUNNING"
    job["startedAt"] = job.get("startedAt") or attempt["startedAt"]
    job["pid"] = proc.pid
    job["_proc"] = proc
    threading.Thread(target=watch, args=(job, proc, attempt), daemon=True).start()


def watch(job, proc, attempt):
    code = proc.wait()
    with LOCK:
        attempt["stoppedAt"] = now_ms()
        attempt["container"]["exitCode"] = code
        if job.get("_proc") is not proc:
            return  # reclaimed or terminated: decided elsewhere
        job["_proc"] = None
        job["pid"] = None
        if job["status"] != "RUNNING":
            return
        if code == 0:
            job["status"] = "SUCCEEDED"
            job["stoppedAt"] = now_ms()
        elif code == 3 and len(job["attempts"]) < ARGS["retry_attempts"]:
            start_attempt(job)
        else:
            job["status"] = "FAILED"
            job["statusReason"] = "Essential container in task exited"
            attempt["statusReason"] = "Essential container in task exited"
            job["stoppedAt"] = now_ms()


def kill(job, sig=signal.SIGKILL):
    proc = job.get("_proc")
    job["_proc"] = None
    job["pid"] = None
    if proc and proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
        if ARGS["kill"]:
            name = job.get("_name", "")
            subprocess.run([w.replace("{name}", name) for w in shlex.split(ARGS["kill"])],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, obj, err_type=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        if err_type:
            self.send_header("x-amzn-ErrorType", err_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def client_error(self, msg, code=400, t="ClientException"):
        self.reply(code, {"__type": t, "message": msg}, t)

    def do_GET(self):
        u = urlparse(self.path)
        with LOCK:
            if u.path == "/_control/jobs":
                return self.reply(200, {k: public(v) for k, v in JOBS.items()})
            if u.path == "/_control/log":
                return self.reply(200, LOG)
        self.reply(404, {"message": "no such route"})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        u = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path.startswith("/_control/"):
            return self.control(u.path, q)
        if not u.path.startswith("/v1/"):
            return self.reply(404, {"message": "no such route"})
        auth = self.headers.get("Authorization") or ""
        m = AUTH_RE.match(auth)
        if not m or not self.headers.get("X-Amz-Date"):
            return self.client_error("missing or malformed SigV4 Authorization or X-Amz-Date",
                                     403, "UnrecognizedClientException")
        signed = m.group(1).split(";")
        if "host" not in signed or "x-amz-date" not in signed:
            return self.client_error("host and x-amz-date must be signed", 403,
                                     "UnrecognizedClientException")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self.client_error("the body is not JSON")
        op = u.path[len("/v1/"):]
        with LOCK:
            LOG.append({"op": op, "body": body})
            if op == "submitjob":
                return self.submit(body)
            if op == "describejobs":
                return self.describe(body)
            if op == "terminatejob":
                return self.terminate(body)
        self.client_error("unknown operation " + op)

    def submit(self, b):
        for f in ("jobName", "jobQueue", "jobDefinition"):
            if not isinstance(b.get(f), str) or not b[f]:
                return self.client_error(f + " is required")
        if not NAME_RE.match(b["jobName"]):
            return self.client_error("jobName %r: up to 128 letters, numbers, hyphens and "
                                     "underscores, starting with a letter or number" % b["jobName"])
        co = b.get("containerOverrides") or {}
        if len(json.dumps(co, separators=(",", ":"))) > 8192:
            return self.client_error("Container overrides length must be at most 8192")
        env = co.get("environment") or []
        for e in env:
            if not isinstance(e, dict) or not isinstance(e.get("name"), str) or \
                    not isinstance(e.get("value"), str):
                return self.client_error("containerOverrides.environment: {name, value} strings")
        jid = str(uuid.uuid4())
        arn = "arn:aws:batch:us-east-1:123456789012:job/" + jid
        job = {"jobArn": arn, "jobName": b["jobName"], "jobId": jid, "jobQueue": b["jobQueue"],
               "jobDefinition": b["jobDefinition"], "status": "SUBMITTED", "statusReason": "",
               "createdAt": now_ms(), "attempts": [], "container": {"environment": env},
               "terminated": False, "pid": None}
        if not ARGS["lose"]:
            JOBS[jid] = job
            start_attempt(job)
        self.reply(200, {"jobArn": arn, "jobName": b["jobName"], "jobId": jid})

    def describe(self, b):
        ids = b.get("jobs")
        if not isinstance(ids, list) or not ids or len(ids) > 100:
            return self.client_error("jobs: a list of 1 to 100 job ids")
        out = [public(JOBS[i]) for i in ids if i in JOBS]
        self.reply(200, {"jobs": out})

    def terminate(self, b):
        jid, reason = b.get("jobId"), b.get("reason")
        if not isinstance(jid, str) or not isinstance(reason, str):
            return self.client_error("jobId and reason are required")
        job = JOBS.get(jid)
        if job is None:
            return self.client_error("Job " + jid + " not found")
        job["terminated"] = True
        if job["status"] not in ("SUCCEEDED", "FAILED"):
            kill(job, signal.SIGTERM)  # SIGTERM, as ECS stops a task
            job["status"] = "FAILED"
            job["statusReason"] = reason
            job["stoppedAt"] = now_ms()
        self.reply(200, {})

    def control(self, path, q):
        with LOCK:
            job = JOBS.get(q.get("job", ""))
            if path == "/_control/reclaim" and job and job["status"] == "RUNNING":
                kill(job)
                job["attempts"][-1]["statusReason"] = "Host EC2 (instance i-0) terminated."
                start_attempt(job)
                return self.reply(200, public(job))
            if path == "/_control/lose" and job:
                kill(job)
                del JOBS[job["jobId"]]
                return self.reply(200, {})
        self.reply(404, {"message": "no such job or route"})


def main():
    argv = sys.argv[1:]
    portfile = argv.pop(0)
    while argv:
        a = argv.pop(0)
        if a == "--run":
            ARGS["run"] = argv.pop(0)
        elif a == "--kill":
            ARGS["kill"] = argv.pop(0)
        elif a == "--lose":
            ARGS["lose"] = True
        elif a == "--stall-queue":
            ARGS["stall"].add(argv.pop(0))
        elif a == "--retry-attempts":
            ARGS["retry_attempts"] = int(argv.pop(0))
        else:
            sys.exit("batch_api.py: unknown argument " + a)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, portfile)

    def stop(*_):
        with LOCK:
            for j in JOBS.values():
                kill(j)
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    srv.serve_forever()


if __name__ == "__main__":
    main()
