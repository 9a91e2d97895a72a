#!/usr/bin/env bash
# bench/api.sh: the HTTP job API under load, and the reference job through the API against the CLI.
#
# Usage: bench/api.sh            (from anywhere inside the repository; build hydra-compose first)
#   RUNS=3         reference-job runs of each kind (medians; interleaved cli api cli api ...)
#   DURATION=10    seconds of each wrk measurement      THREADS=2 CONNS=64   wrk threads / connections
#   PHOTOS=DIR     the reference photos (default: <repo>/../shared/media/photos, every *.jpg)
#   HC_BIN=PATH    the hydra-compose to measure (default: <repo>/build/hydra-compose)
#   LOG_LEVEL=warn the servers' --log-level (info writes an access-log line per request)
#   RESULTS=PATH   where the dated section is appended (default: bench/API-RESULTS.md)
#   SKIP_REFERENCE=1  only the wrk part        SKIP_WRK=1  only the reference job
#   KEEP=1         keep the work directory     STRICT=1    exit 3 when a target fails
#
# Part 1, the API alone (wrk on loopback): a server with `--workers 0` (accept only: jobs stay queued,
# no render competes with the server for the 2 cores) and a throwaway data directory.
#   POST /render        bench/wrk/post_render.lua: the seed guide's example body, a unique job_id per
#                       request (every response a 202, a new durable job in SQLite). The image URL is
#                       a closed loopback port, so nothing would leave the machine even with workers.
#   GET /render/status  bench/wrk/status.lua: one existing job, over and over.
#   Targets: POST >= 2000 requests/s; status >= 20000 requests/s with p99 < 10 ms.
# Part 2, the reference job of bench/reference.sh (8 photos, 1080x1920, 30 fps, 15 s, crossfades,
# Ken Burns, libx264 veryfast CRF 21) with its photos served over HTTP by `python3 -m http.server`
# on 127.0.0.1. The same request body is rendered by `hydra-compose render` (wall time of the
# command) and submitted with curl to a server with `--workers 1` (wall time from the POST until a
# status poll, every 100 ms, sees `completed`). Target: API <= 1.2 x CLI (medians).
# wrk shares the 2 cores with the server, so part 1 measures both together; that is the pessimistic
# case. Prints a markdown section and appends it to RESULTS.
set -euo pipefail

die() { echo "api.sh: $*" >&2; exit 1; }
note() { echo "api.sh: $*" >&2; }

ROOT=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel) || die "not inside the repository"
RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
CONNS=${CONNS:-64}
PHOTOS=${PHOTOS:-$ROOT/../shared/media/photos}
HC_BIN=${HC_BIN:-$ROOT/build/hydra-compose}
LOG_LEVEL=${LOG_LEVEL:-warn}
RESULTS=${RESULTS:-$ROOT/bench/API-RESULTS.md}
WRK_DIR=$ROOT/bench/wrk

# The reference job (as bench/reference.sh).
W=1080 H=1920 FPS=30 DUR_S=15
FRAMES=$((DUR_S * FPS))
# Targets.
LIMIT_POST_RPS=2000
LIMIT_STATUS_RPS=20000
LIMIT_STATUS_P99_MS=10
LIMIT_API_VS_CLI=1.2

# ---- preflight --------------------------------------------------------------------------------
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got \"$RUNS\")"
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a positive integer (got \"$DURATION\")"
for tool in curl python3 awk; do command -v "$tool" >/dev/null || die "$tool not found"; done
[[ ${SKIP_WRK:-} == 1 ]] || command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
[[ ${SKIP_REFERENCE:-} == 1 ]] || command -v ffprobe >/dev/null || die "ffprobe not found"
[[ -x $HC_BIN ]] || die "$HC_BIN not found; run make (or set HC_BIN)"
HC_BIN=$(realpath "$HC_BIN")
if [[ ${SKIP_REFERENCE:-} != 1 ]]; then
    [[ -d $PHOTOS ]] || die "photo directory $PHOTOS not found (set PHOTOS)"
    PHOTOS=$(realpath "$PHOTOS")
    mapfile -t photos < <(find "$PHOTOS" -maxdepth 1 -type f -iname '*.jpg' -printf '%f\n' | LC_ALL=C sort)
    NPHOTOS=${#photos[@]}
    ((NPHOTOS >= 2)) || die "need at least 2 JPEGs in $PHOTOS (found $NPHOTOS)"
fi

WORK=$(mktemp -d -t hydra-api-bench.XXXXXX)
PIDS=()
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [[ ${KEEP:-} == 1 ]]; then note "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- helpers ----------------------------------------------------------------------------------
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
passfail() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
now() { date +%s.%N; }
# field NAME < "RESULT a=1 b=2": the value of NAME.
field() { tr ' ' '\n' | sed -n "s/^$1=//p"; }
# json_get KEY < JSON: a top-level value (strings unquoted, null empty).
json_get() { python3 -c 'import json,sys; v=json.load(sys.stdin).get(sys.argv[1]); print("" if v is None else v)' "$1"; }

# start_server NAME ARGS...: hydra-compose serve on an ephemeral loopback port, data in $WORK/NAME;
# sets URL and SERVER_PID once it printed its URL.
start_server() {
    local name=$1; shift
    "$HC_BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/$name" --url-allow 127.0.0.1 \
        --log-level "$LOG_LEVEL" "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    URL=""
    local i
    for ((i = 0; i < 300; i++)); do
        URL=$(grep -o -m1 'http://[^ ]*' "$WORK/$name.out" 2>/dev/null || true)
        [[ -n $URL ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -5 "$WORK/$name.log" >&2; die "server $name exited at start"; }
        sleep 0.1
    done
    [[ -n $URL ]] || die "server $name printed no URL within 30 s"
    note "server $name: $URL (pid $SERVER_PID; $*)"
}

# stop_server PID: SIGTERM, then SIGKILL if it has not exited within 30 s (noted, not fatal).
stop_server() {
    kill -TERM "$1" 2>/dev/null || true
    local i
    for ((i = 0; i < 300; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$1" 2>/dev/null; then
        note "server pid $1 still running 30 s after SIGTERM; killing it"
        kill -KILL "$1" 2>/dev/null || true
    fi
    wait "$1" 2>/dev/null || true
}

# run_wrk NAME SCRIPT URL ARGS...: one wrk measurement; sets RPS, P50_MS, P99_MS, NON2XX, ERRS.
run_wrk() {
    local name=$1 script=$2 url=$3; shift 3
    wrk -t "$THREADS" -c "$CONNS" -d "${DURATION}s" --timeout 5s -s "$script" "$url" -- "$@" \
        >"$WORK/wrk-$name.txt" 2>&1 || { cat "$WORK/wrk-$name.txt" >&2; die "wrk $name failed"; }
    local r
    r=$(grep -m1 '^RESULT ' "$WORK/wrk-$name.txt") || { cat "$WORK/wrk-$name.txt" >&2; die "wrk $name: no RESULT line"; }
    RPS=$(calc %.0f "$(field requests <<<"$r") / ($(field duration_us <<<"$r") / 1e6)")
    P50_MS=$(calc %.2f "$(field p50_us <<<"$r") / 1000")
    P99_MS=$(calc %.2f "$(field p99_us <<<"$r") / 1000")
    MAX_MS=$(calc %.1f "$(field max_us <<<"$r") / 1000")
    NON2XX=$(field non2xx <<<"$r")
    ERRS=$(($(field connect_err <<<"$r") + $(field read_err <<<"$r") + $(field write_err <<<"$r") + $(field timeouts <<<"$r")))
    note "wrk $name: $RPS requests/s, p50 $P50_MS ms, p99 $P99_MS ms, max $MAX_MS ms, non-2xx $NON2XX, socket errors $ERRS"
}

# ---- part 1: wrk --------------------------------------------------------------------------------
wrk_table="" wrk_targets=""
if [[ ${SKIP_WRK:-} != 1 ]]; then
    start_server api --workers 0 --gpu-slots 0
    api_pid=$SERVER_PID api_url=$URL
    # The job the status benchmark reads, and a check that the route answers as expected.
    code=$(curl -s -o "$WORK/status-job.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data '{"job_id":"bench-status","images":[{"url":"http://127.0.0.1:9/image1.jpg"}],"settings":{"vibe":"Pop","aspect_ratio":"9:16","target_duration":15}}' \
        "$api_url/render")
    [[ $code == 202 ]] || { cat "$WORK/status-job.json" >&2; die "POST /render answered $code, want 202"; }
    code=$(curl -s -o /dev/null -w '%{http_code}' "$api_url/render/status?job_id=bench-status")
    [[ $code == 200 ]] || die "GET /render/status answered $code, want 200"

    note "warm-up (2 s each)"
    DURATION_SAVED=$DURATION DURATION=2
    run_wrk warm-post "$WRK_DIR/post_render.lua" "$api_url" "warm" "http://127.0.0.1:9/image1.jpg"
    run_wrk warm-status "$WRK_DIR/status.lua" "$api_url" bench-status
    DURATION=$DURATION_SAVED

    run_wrk post "$WRK_DIR/post_render.lua" "$api_url" "bench-$$" "http://127.0.0.1:9/image1.jpg"
    post_rps=$RPS post_p50=$P50_MS post_p99=$P99_MS post_max=$MAX_MS post_non2xx=$NON2XX post_errs=$ERRS
    run_wrk status "$WRK_DIR/status.lua" "$api_url" bench-status
    st_rps=$RPS st_p50=$P50_MS st_p99=$P99_MS st_max=$MAX_MS st_non2xx=$NON2XX st_errs=$ERRS
    # Every POST must have made a job: the store's count of queued jobs says so.
    queued=$(curl -s "$api_url/metrics" | awk '/^hydra_jobs[{].*status="queued"/ { print $2; exit }')
    db_size=$(du -sh "$WORK/api" | cut -f1)
    rss_kib=$(awk '/VmHWM/ { print $2 }' "/proc/$api_pid/status" 2>/dev/null || echo 0)
    stop_server "$api_pid"

    wrk_table=$(
        echo "| route | requests/s | p50 ms | p99 ms | max ms | non-2xx | socket errors |"
        echo "|---|---:|---:|---:|---:|---:|---:|"
        echo "| POST /render (new job each) | $post_rps | $post_p50 | $post_p99 | $post_max | $post_non2xx | $post_errs |"
        echo "| GET /render/status | $st_rps | $st_p50 | $st_p99 | $st_max | $st_non2xx | $st_errs |"
    )
    wrk_table+=$'\n\n'"Jobs queued in the store afterwards: ${queued:-unknown (no hydra_jobs metric)}; data directory $db_size; server peak RSS $((rss_kib / 1024)) MiB."
    wrk_targets=$(
        echo "| POST /render requests/s | $post_rps | >= $LIMIT_POST_RPS | $(passfail "$post_rps >= $LIMIT_POST_RPS && $post_non2xx == 0") |"
        echo "| GET /render/status requests/s | $st_rps | >= $LIMIT_STATUS_RPS | $(passfail "$st_rps >= $LIMIT_STATUS_RPS && $st_non2xx == 0") |"
        echo "| GET /render/status p99 | $st_p99 ms | < $LIMIT_STATUS_P99_MS ms | $(passfail "$st_p99 < $LIMIT_STATUS_P99_MS") |"
    )
fi

# ---- part 2: the reference job, CLI and API -----------------------------------------------------
ref_table="" ref_targets=""
if [[ ${SKIP_REFERENCE:-} != 1 ]]; then
    python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$PHOTOS" >"$WORK/photos-http.out" 2>&1 &
    PIDS+=("$!")
    photo_port=""
    for ((i = 0; i < 100; i++)); do
        photo_port=$(grep -o -m1 'port [0-9]*' "$WORK/photos-http.out" 2>/dev/null | cut -d' ' -f2 || true)
        [[ -n $photo_port ]] && break
        sleep 0.1
    done
    [[ -n $photo_port ]] || die "python3 -m http.server did not start"
    note "photos served on http://127.0.0.1:$photo_port"

    # write_request FILE JOB_ID: the reference request with the photos' http URLs.
    write_request() {
        local cut urls="" p
        cut=$(awk -v d="$DUR_S" -v n="$NPHOTOS" 'BEGIN { printf "%.6f", d / n }')
        for p in "${photos[@]}"; do urls+="${urls:+, }{\"url\": \"http://127.0.0.1:$photo_port/$p\"}"; done
        cat >"$1" <<EOF
{ "job_id": "$2",
  "images": [$urls],
  "settings": { "vibe": "Minimal", "effect_preset": "crossfade", "aspect_ratio": "9:16",
                "target_duration": $DUR_S, "cut_duration": $cut, "fps": $FPS, "resolution": "1080p",
                "quality": "standard", "ai_effects": {"motions": ["ken_burns"]} } }
EOF
    }

    check_video() {
        local info codec width height n
        info=$(ffprobe -v error -select_streams v:0 -count_packets \
            -show_entries stream=codec_name,width,height,nb_read_packets -of csv=p=0 "$1") || die "$1: ffprobe failed"
        IFS=, read -r codec width height n <<<"$info"
        [[ $codec == h264 && $width == "$W" && $height == "$H" && $n == "$FRAMES" ]] ||
            die "$1: got $codec ${width}x$height, $n frames"
    }

    start_server ref --workers 1 --gpu-slots 0
    ref_pid=$SERVER_PID ref_url=$URL

    # Warm-up: one CLI render fills the page cache and checks the job.
    write_request "$WORK/ref-warm.json" bench-api-warm
    note "warm-up CLI render"
    "$HC_BIN" render "$WORK/ref-warm.json" -o "$WORK/warm.mp4" --quiet 2>"$WORK/warm.log" ||
        { tail -5 "$WORK/warm.log" >&2; die "warm-up render failed"; }
    check_video "$WORK/warm.mp4"

    CLI_WALL="" API_WALL="" API_RENDER="" API_QUEUE=""
    for ((run = 1; run <= RUNS; run++)); do
        # CLI
        write_request "$WORK/cli-$run.json" "bench-cli-$run"
        t0=$(now)
        "$HC_BIN" render "$WORK/cli-$run.json" -o "$WORK/cli-$run.mp4" --quiet 2>"$WORK/cli-$run.log" ||
            { tail -5 "$WORK/cli-$run.log" >&2; die "CLI render $run failed"; }
        t1=$(now)
        check_video "$WORK/cli-$run.mp4"
        wall=$(calc %.2f "$t1 - $t0")
        CLI_WALL+="$wall "
        note "run $run (cli): $wall s"
        rm -f "$WORK/cli-$run.mp4"

        # API: POST, then poll every 100 ms until completed.
        job="bench-api-$$-$run"
        write_request "$WORK/api-$run.json" "$job"
        t0=$(now)
        code=$(curl -s -o "$WORK/api-$run.submit" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
            --data-binary "@$WORK/api-$run.json" "$ref_url/render")
        [[ $code == 202 ]] || { cat "$WORK/api-$run.submit" >&2; die "POST /render answered $code"; }
        state=""
        for ((i = 0; i < 6000; i++)); do
            curl -s -o "$WORK/api-$run.status" "$ref_url/render/status?job_id=$job" || true
            state=$(grep -o -m1 '"status": *"[a-z]*"' "$WORK/api-$run.status" | grep -o '[a-z]*"$' | tr -d '"' || true)
            [[ $state == completed || $state == failed || $state == canceled ]] && break
            sleep 0.1
        done
        t1=$(now)
        [[ $state == completed ]] || { cat "$WORK/api-$run.status" >&2; die "API job $job ended $state"; }
        wall=$(calc %.2f "$t1 - $t0")
        API_WALL+="$wall "
        render_s=$(calc %.2f "0$(json_get render_s <"$WORK/api-$run.status")")
        API_RENDER+="$render_s "
        # Queue + worker start-up: started_at - created_at, from the status times.
        queue_s=$(python3 -c '
import json, sys
from datetime import datetime
s = json.load(open(sys.argv[1]))
p = lambda t: datetime.fromisoformat(t.replace("Z", "+00:00"))
print("%.3f" % (p(s["started_at"]) - p(s["created_at"])).total_seconds() if s.get("started_at") and s.get("created_at") else "")
' "$WORK/api-$run.status")
        API_QUEUE+="${queue_s:-0} "
        out_url=$(json_get output_url <"$WORK/api-$run.status")
        curl -s -o "$WORK/api-$run.mp4" "$out_url" || die "could not download $out_url"
        check_video "$WORK/api-$run.mp4"
        note "run $run (api): $wall s (render_s $render_s, queued $queue_s s)"
        rm -f "$WORK/api-$run.mp4"
    done
    stop_server "$ref_pid"

    m_cli=$(median <<<"$CLI_WALL")
    m_api=$(median <<<"$API_WALL")
    m_render=$(median <<<"$API_RENDER")
    m_queue=$(median <<<"$API_QUEUE")
    ref_table=$(
        echo "| case | wall s (median) | runs: wall s |"
        echo "|---|---:|---|"
        echo "| CLI: hydra-compose render (photos over HTTP) | $m_cli | ${CLI_WALL% } |"
        echo "| API: POST /render until status completed (100 ms polls) | $m_api | ${API_WALL% } |"
        echo "| API: the worker's render_s | $m_render | ${API_RENDER% } |"
        echo "| API: created_at to started_at (queue and claim) | $m_queue | ${API_QUEUE% } |"
    )
    ref_targets="| reference job, API vs CLI wall | $(calc %.2f "$m_api / $m_cli") x | <= $LIMIT_API_VS_CLI x | $(passfail "$m_api <= $LIMIT_API_VS_CLI * $m_cli") |"
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -----------------------------------------------------------------------------------
targets=$(
    echo "| target | measured | limit | result |"
    echo "|---|---:|---:|---|"
    [[ -n $wrk_targets ]] && echo "$wrk_targets"
    [[ -n $ref_targets ]] && echo "$ref_targets"
)
failed=0
grep -q '| FAIL |' <<<"$targets" && failed=1
git_rev=$(git -C "$ROOT" rev-parse --short HEAD)
[[ -z $(git -C "$ROOT" status --porcelain -- src) ]] || git_rev+=" + uncommitted changes in src/"
env_desc="RUNS=$RUNS DURATION=$DURATION THREADS=$THREADS CONNS=$CONNS LOG_LEVEL=$LOG_LEVEL"
[[ ${SKIP_WRK:-} == 1 ]] && env_desc+=" SKIP_WRK=1"
[[ ${SKIP_REFERENCE:-} == 1 ]] && env_desc+=" SKIP_REFERENCE=1"
section=$(
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') ($(hostname))"
    echo
    echo "Command: \`$env_desc HC_BIN=${HC_BIN#"$ROOT"/} bench/api.sh\`"
    echo
    echo "- source: $git_rev; $("$HC_BIN" version 2>/dev/null | head -1 || true)"
    echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"\
         "$(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo); wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2) on the same machine"
    echo "- load average (1/5/15 min): $load_start at start, $load_end at end"
    if [[ -n $wrk_table ]]; then
        echo "- wrk: $THREADS threads, $CONNS connections, $DURATION s per route after a 2 s warm-up;" \
             "server \`--workers 0 --gpu-slots 0 --log-level $LOG_LEVEL\`, SQLite store in a fresh directory"
        echo
        echo "$wrk_table"
    fi
    if [[ -n $ref_table ]]; then
        echo
        echo "Reference job (${NPHOTOS} photos, ${W}x$H, $FPS fps, $DUR_S s): medians of $RUNS interleaved runs;" \
             "server \`--workers 1 --gpu-slots 0\`; photos from \`python3 -m http.server\` on 127.0.0.1 for both."
        echo
        echo "$ref_table"
    fi
    echo
    echo "$targets"
)
echo "$section"
{ [[ -s $RESULTS ]] || printf '# API benchmark results\n\nAppended by bench/api.sh; newest last. See the script header for what is measured.\n'
  printf '\n%s\n' "$section"; } >>"$RESULTS"
note "appended to $RESULTS"
[[ ${STRICT:-} == 1 && $failed == 1 ]] && exit 3
exit 0
