#!/usr/bin/env bash
# bench/lambda.sh: `hydra-compose lambda` against the Lambda Runtime API stand-in
# (tests/data/lambda_runtime.py) on loopback.
#
# Usage: bench/lambda.sh         (from anywhere inside the repository; build hydra-compose first)
#   STARTS=10      cold starts measured (a fresh process and data directory each)
#   SUBMITS=300    submits measured on one warm process (after 20 unmeasured)
#   STATUS=300     status reads measured on the same process
#   HC_BIN=PATH    the hydra-compose to measure (default: <repo>/build/hydra-compose)
#   RESULTS=PATH   where the dated section is appended (default: bench/LAMBDA-RESULTS.md)
#   KEEP=1         keep the work directory
#
# Cold start: the first event (an API Gateway POST /render) is queued in the stand-in, then the
# process is started (HC_STORE=sqlite in a fresh directory, HC_EXECUTOR=local with 0 workers and
# 0 GPU slots, so no render and no NVENC probe runs). Measured from just before the exec to the
# stand-in receiving the first /next ("init") and the invocation's /response ("first answer").
# For scale, the same number of runs of `hydra-compose version` (the dynamic loader and the
# binary's shared libraries, nothing else) is timed first.
# Submit latency: one event at a time, a new job each (202, durable in SQLite before the answer;
# image URLs on example.com, never fetched: no worker runs),
# "event in -> response out" = the stand-in's /next returning the event until its /response
# arrived (the runtime's whole turn: parse, the API handler, SQLite commit, JSON out, POST), and
# "round trip" = queued by the driver until answered (adds the stand-in's own Python overhead).
# The stand-in and the driver share the 2 cores with the runtime. Prints a markdown section and
# appends it to RESULTS.
set -euo pipefail

die() { echo "lambda.sh: $*" >&2; exit 1; }

ROOT=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel) || die "not inside the repository"
STARTS=${STARTS:-10}
SUBMITS=${SUBMITS:-300}
STATUS=${STATUS:-300}
HC_BIN=${HC_BIN:-$ROOT/build/hydra-compose}
RESULTS=${RESULTS:-$ROOT/bench/LAMBDA-RESULTS.md}
for v in STARTS SUBMITS STATUS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got \"${!v}\")"
done
command -v python3 >/dev/null || die "python3 not found"
[[ -x $HC_BIN ]] || die "$HC_BIN not found; run make (or set HC_BIN)"
HC_BIN=$(realpath "$HC_BIN")

WORK=$(mktemp -d /tmp/hc-bench-lambda.XXXXXX)
cleanup() {
    [[ -n ${RT_PID:-} ]] && kill "$RT_PID" 2>/dev/null || true
    [[ ${KEEP:-} == 1 ]] && echo "lambda.sh: work directory kept: $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

python3 "$ROOT/tests/data/lambda_runtime.py" "$WORK/port" 2>"$WORK/runtime.log" &
RT_PID=$!
for _ in $(seq 100); do [[ -s $WORK/port ]] && break; sleep 0.05; done
PORT=$(cat "$WORK/port") || die "the stand-in did not start"

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)
DIRTY=$(git -C "$ROOT" status --porcelain -- src | grep -q . && echo " + uncommitted changes in src/" || true)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

SECTION=$(HC_BIN=$HC_BIN PORT=$PORT WORK=$WORK STARTS=$STARTS SUBMITS=$SUBMITS STATUS=$STATUS \
    python3 - <<'EOF'
import json, os, statistics, subprocess, time, urllib.request

hc, port, work = os.environ["HC_BIN"], int(os.environ["PORT"]), os.environ["WORK"]
starts, submits, nstatus = (int(os.environ[k]) for k in ("STARTS", "SUBMITS", "STATUS"))
base = "http://127.0.0.1:%d" % port


def event(method, path, query="", body=None):
    ev = {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
          "headers": {"content-type": "application/json"},
          "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                      "sourceIp": "192.0.2.1"}, "stage": "$default"},
          "isBase64Encoded": False}
    if body is not None:
        ev["body"] = body
    return json.dumps(ev).encode()


def submit_body(job_id):
    return json.dumps({"job_id": job_id,
                       "images": [{"url": "https://example.com/a.jpg"}, {"url": "https://example.com/b.jpg"}],
                       "settings": {"duration": 10, "vibe": "Exciting"}})


def post(path, data):
    with urllib.request.urlopen(urllib.request.Request(base + path, data=data, method="POST"), timeout=60) as r:
        return json.loads(r.read())


def invoke(ev, wait=30):
    rec = post("/test/invoke?wait=%d" % wait, ev)
    if rec.get("kind") != "response":
        raise SystemExit("lambda.sh: invocation failed: %r" % rec)
    return rec


def start(tag, data_dir):
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % port, HC_DATA_DIR=data_dir,
               HC_STORE="sqlite:%s/jobs.db" % data_dir, HC_EXECUTOR="local", HC_WORKERS="0",
               HC_GPU_SLOTS="0", HC_LOG_LEVEL="warn")
    log = open(os.path.join(work, "lambda-%s.log" % tag), "w")
    t0 = time.time()
    p = subprocess.Popen([hc, "lambda"], env=env, stderr=log, stdout=subprocess.DEVNULL)
    return p, t0


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


# ---- the floor: exec of `hydra-compose version` (the loader and the shared libraries only) ----
floor = []
for i in range(starts):
    t0 = time.time()
    subprocess.run([hc, "version"], stdout=subprocess.DEVNULL, check=True)
    floor.append((time.time() - t0) * 1000)

# ---- cold starts ----
inits, firsts = [], []
for i in range(starts):
    data_dir = os.path.join(work, "cold-%d" % i)
    rid = post("/test/invoke", event("POST", "/render", body=submit_body("cold-%d" % i)))["request_id"]
    p, t0 = start("cold-%d" % i, data_dir)
    with urllib.request.urlopen(base + "/test/result/%s?wait=30" % rid, timeout=60) as r:
        rec = json.loads(r.read())
    if rec.get("kind") != "response" or json.loads(rec["body"])["statusCode"] != 202:
        raise SystemExit("lambda.sh: cold start %d: %r" % (i, rec))
    inits.append((rec["delivered_t"] - t0) * 1000)
    firsts.append((rec["answered_t"] - t0) * 1000)
    p.kill()
    p.wait()

# ---- warm: submits and status reads on one process ----
p, _ = start("warm", os.path.join(work, "warm"))
for i in range(20):
    invoke(event("POST", "/render", body=submit_body("warmup-%d" % i)))
turn, trip = [], []
for i in range(submits):
    rec = invoke(event("POST", "/render", body=submit_body("job-%d" % i)))
    if json.loads(rec["body"])["statusCode"] != 202:
        raise SystemExit("lambda.sh: submit %d: %s" % (i, rec["body"]))
    turn.append((rec["answered_t"] - rec["delivered_t"]) * 1000)
    trip.append((rec["answered_t"] - rec["queued_t"]) * 1000)
sturn = []
for i in range(nstatus):
    rec = invoke(event("GET", "/render/status", query="job_id=job-%d" % (i % submits)))
    if json.loads(rec["body"])["statusCode"] != 200:
        raise SystemExit("lambda.sh: status %d: %s" % (i, rec["body"]))
    sturn.append((rec["answered_t"] - rec["delivered_t"]) * 1000)
rss = 0
with open("/proc/%d/status" % p.pid) as f:
    for line in f:
        if line.startswith("VmHWM:"):
            rss = int(line.split()[1]) // 1024
p.kill()
p.wait()

m = statistics.median
print("| measurement | median ms | p90 ms | p99 ms | min ms | max ms | n |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, v in (("exec of `hydra-compose version` (libraries loaded, nothing else)", floor),
                ("cold start: exec to first /next (init)", inits),
                ("cold start: exec to first answer (a submit)", firsts),
                ("submit: event in -> response out (202, SQLite commit)", turn),
                ("submit: round trip through the stand-in", trip),
                ("status read: event in -> response out (200)", sturn)):
    print("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %d |" % (name, m(v), pct(v, 0.9), pct(v, 0.99), min(v), max(v), len(v)))
print()
print("Warm process peak RSS: %d MiB." % rss)
EOF
)

LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
{
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') ($(hostname -s))"
    echo
    echo "Command: \`STARTS=$STARTS SUBMITS=$SUBMITS STATUS=$STATUS bench/lambda.sh\`"
    echo
    echo "- source: $COMMIT$DIRTY; $("$HC_BIN" version)"
    echo "- machine: $(nproc) CPUs, $CPU; the stand-in and the driver (Python) on the same machine"
    echo "- load average (1/5/15 min): $LOAD0 at start, $LOAD1 at end"
    echo "- runtime: HC_STORE=sqlite (fresh directory per cold start), HC_EXECUTOR=local, HC_WORKERS=0, HC_GPU_SLOTS=0"
    echo
    echo "$SECTION"
} | tee -a "$RESULTS"
