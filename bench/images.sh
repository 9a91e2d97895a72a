#!/usr/bin/env bash
# bench/images.sh: the Docker images of the AWS deployment (deploy/aws-batch/docker/): their sizes,
# and how long the CPU image takes from `docker run` to its first frame encoded, against the same
# render run natively in the same session.
#
# Usage: bench/images.sh         (from anywhere inside the repository; dockerd running)
#   RUNS=5         runs of each kind (medians; interleaved native docker native docker ...)
#   PHOTOS=DIR     the reference photos (default: <repo>/../shared/media/photos, every *.jpg)
#   HC_BIN=PATH    the native hydra-compose (default: <repo>/build/hydra-compose)
#   RESULTS=PATH   where the dated section is appended (default: bench/IMAGES-RESULTS.md)
#   KEEP=1         keep the work directory
#
# The images are built first with scripts/docker-build.sh (layer cache: no work when up to date),
# so they are this tree's. Sizes: `docker image inspect` .Size (uncompressed, what the instance's
# disk holds) and the gzip-compressed `docker save` stream of the CPU image (about what a pull
# from ECR transfers; the GPU image shares every layer).
# Start to first frame: the reference job of bench/reference.sh (8 photos, 1080x1920, 30 fps, 15 s,
# crossfades, Ken Burns, libx264 veryfast CRF 21) rendered with `render --json`; the clock starts
# just before `docker run --rm --network none -v photos:ro -v out hydra-compose:cpu render ...` (or
# the native command) is executed and stops at the first stdout progress line with frames_done > 0
# (the pipeline reports the first frame as soon as it is handed to the encoder). The total wall
# time of each command is recorded too. Also: `docker run --rm hydra-compose:cpu version` (the
# container's own start and stop cost). Prints a markdown section and appends it to RESULTS.
set -euo pipefail

die() { echo "images.sh: $*" >&2; exit 1; }
note() { echo "images.sh: $*" >&2; }

ROOT=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel) || die "not inside the repository"
RUNS=${RUNS:-5}
cmdline="RUNS=${RUNS:-5}${PHOTOS:+ PHOTOS=$PHOTOS}${HC_BIN:+ HC_BIN=$HC_BIN} bench/images.sh"
PHOTOS=${PHOTOS:-$ROOT/../shared/media/photos}
HC_BIN=${HC_BIN:-$ROOT/build/hydra-compose}
RESULTS=${RESULTS:-$ROOT/bench/IMAGES-RESULTS.md}
IMG_CPU=hydra-compose:cpu IMG_GPU=hydra-compose:gpu
DUR_S=15 FPS=30

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got \"$RUNS\")"
for tool in docker python3 awk gzip ffprobe; do command -v "$tool" >/dev/null || die "$tool not found"; done
docker info >/dev/null 2>&1 || die "the Docker daemon is not reachable (start dockerd)"
[[ -x $HC_BIN ]] || die "$HC_BIN not found; run make (or set HC_BIN)"
HC_BIN=$(realpath "$HC_BIN")
[[ -d $PHOTOS ]] || die "photo directory $PHOTOS not found (set PHOTOS)"
PHOTOS=$(realpath "$PHOTOS")
mapfile -t photos < <(find "$PHOTOS" -maxdepth 1 -type f -iname '*.jpg' -printf '%f\n' | LC_ALL=C sort)
NPHOTOS=${#photos[@]}
((NPHOTOS >= 2)) || die "need at least 2 JPEGs in $PHOTOS (found $NPHOTOS)"

note "building the images (scripts/docker-build.sh)"
"$ROOT/scripts/docker-build.sh" >/dev/null 2>&1 || die "scripts/docker-build.sh failed (run it to see why)"

WORK=$(mktemp -d -t hydra-images.XXXXXX)
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() { if [[ ${KEEP:-} == 1 ]]; then note "kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK/out"
chown 10001:10001 "$WORK/out" 2>/dev/null || chmod 0777 "$WORK/out"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# write_spec FILE PHOTO_DIR: the reference request (as bench/reference.sh) with photos under PHOTO_DIR.
write_spec() {
    local file=$1 dir=$2 cut urls="" p
    cut=$(awk -v d="$DUR_S" -v n="$NPHOTOS" 'BEGIN { printf "%.6f", d / n }')
    for p in "${photos[@]}"; do urls+="${urls:+, }{\"url\": \"$dir/$p\"}"; done
    cat >"$file" <<EOF
{ "job_id": "bench-images",
  "images": [$urls],
  "settings": { "vibe": "Minimal", "effect_preset": "crossfade", "aspect_ratio": "9:16",
                "target_duration": $DUR_S, "cut_duration": $cut, "fps": $FPS, "resolution": "1080p",
                "quality": "standard", "ai_effects": {"motions": ["ken_burns"]} } }
EOF
}
write_spec "$WORK/native.json" "$PHOTOS"
write_spec "$WORK/out/docker.json" /photos

# first_frame CMD...: runs it; prints "FIRST_FRAME_S TOTAL_S" (seconds from just before exec).
first_frame() {
    python3 - "$@" <<'PY'
import json, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
first = None
for line in p.stdout:
    if first is None:
        try:
            if json.loads(line).get("frames_done", 0) > 0:
                first = time.monotonic() - t0
        except ValueError:
            pass
rc = p.wait()
total = time.monotonic() - t0
if rc != 0 or first is None:
    sys.exit(f"exit {rc}, first frame {first}")
print(f"{first:.3f} {total:.3f}")
PY
}

native_cmd=("$HC_BIN" render "$WORK/native.json" -o "$WORK/native.mp4" --json)
docker_cmd=(docker run --rm --network none -v "$PHOTOS:/photos:ro" -v "$WORK/out:/job" "$IMG_CPU"
            render /job/docker.json -o /job/docker.mp4 --json)
note "warm-up (page cache, both kinds)"
first_frame "${native_cmd[@]}" >/dev/null || die "native render failed"
first_frame "${docker_cmd[@]}" >/dev/null || die "docker render failed"
for f in "$WORK/native.mp4" "$WORK/out/docker.mp4"; do
    frames=$(ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 "$f")
    [[ $frames == $((DUR_S * FPS)) ]] || die "$f has $frames frames, not $((DUR_S * FPS))"
done

nat_first=() nat_total=() dock_first=() dock_total=() start_stop=()
for ((i = 1; i <= RUNS; i++)); do
    note "run $i/$RUNS"
    read -r a b < <(first_frame "${native_cmd[@]}") || die "native render failed"
    nat_first+=("$a") nat_total+=("$b")
    read -r a b < <(first_frame "${docker_cmd[@]}") || die "docker render failed"
    dock_first+=("$a") dock_total+=("$b")
    t0=$(date +%s.%N)
    docker run --rm --network none "$IMG_CPU" version >/dev/null
    start_stop+=("$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')")
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

size_cpu=$(docker image inspect -f '{{.Size}}' "$IMG_CPU")
size_gpu=$(docker image inspect -f '{{.Size}}' "$IMG_GPU")
size_base=$(docker image inspect -f '{{.Size}}' hydra-base:bookworm)
note "measuring the compressed size (docker save | gzip)"
gz_cpu=$(docker save "$IMG_CPU" | gzip -6 | wc -c)
bin_size=$(docker run --rm --network none --entrypoint /bin/sh "$IMG_CPU" -c 'stat -c %s /usr/local/bin/hydra-compose')
fonts=$(docker run --rm --network none --entrypoint /bin/sh "$IMG_CPU" -c 'du -sb /usr/share/fonts | cut -f1')

commit=$(git -C "$ROOT" rev-parse --short HEAD)
dirty=""
git -C "$ROOT" diff --quiet HEAD -- src Makefile deploy scripts || dirty=" + uncommitted changes"
m_nf=$(printf '%s ' "${nat_first[@]}" | median) m_nt=$(printf '%s ' "${nat_total[@]}" | median)
m_df=$(printf '%s ' "${dock_first[@]}" | median) m_dt=$(printf '%s ' "${dock_total[@]}" | median)
m_ss=$(printf '%s ' "${start_stop[@]}" | median)

section=$(cat <<EOF

## $(date -u '+%Y-%m-%d %H:%M UTC') ($(hostname))

Command: \`$cmdline\`

- source: $commit$dirty; $("$HC_BIN" version); Docker $(docker version -f '{{.Server.Version}}'), storage driver $(docker info -f '{{.Driver}}')
- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ { printf "%d GiB", $2 / 1048576 }' /proc/meminfo) RAM
- load average (1/5/15 min): $load_start at start, $load_end at end

| image | size (docker image inspect) | notes |
|---|---:|---|
| hydra-base:bookworm | $(mib "$size_base") MiB | debootstrap minbase, no docs |
| $IMG_CPU | $(mib "$size_cpu") MiB | gzip'd \`docker save\`: $(mib "$gz_cpu") MiB; binary $(mib "$bin_size") MiB stripped; fonts $(mib "$fonts") MiB |
| $IMG_GPU | $(mib "$size_gpu") MiB | the same layers as $IMG_CPU (two ENV lines differ) |

Reference job (${NPHOTOS} photos, 1080x1920, ${FPS} fps, ${DUR_S} s), medians of $RUNS interleaved runs:

| case | start to first frame s (median) | total wall s (median) | runs: first frame s | runs: total s |
|---|---:|---:|---|---|
| native: hydra-compose render --json | $m_nf | $m_nt | ${nat_first[*]} | ${nat_total[*]} |
| docker run $IMG_CPU render --json | $m_df | $m_dt | ${dock_first[*]} | ${dock_total[*]} |
| docker run $IMG_CPU version (start + stop) | | $m_ss | | ${start_stop[*]} |

Container overhead to the first frame: $(awk -v a="$m_df" -v b="$m_nf" 'BEGIN { printf "%.3f s", a - b }') (median docker − median native).
EOF
)
echo "$section"
[[ -f $RESULTS ]] || printf '# Docker image results\n\nAppended by bench/images.sh; newest last. See the script header for what is measured.\n' >"$RESULTS"
echo "$section" >>"$RESULTS"
note "appended to $RESULTS"
