#!/usr/bin/env bash
# bench/cost.sh: what one rendered minute costs on the AWS Batch spot pools, from measured CPU
# seconds of the reference job (bench/README.md) at the seed guide's spot prices.
#
# Usage: bench/cost.sh
#   RUNS=3          runs (medians)
#   PHOTOS=DIR      the reference photos (default: <repo>/../shared/media/photos)
#   HC_BIN=PATH     the hydra-compose to measure (default: <repo>/build/hydra-compose)
#   CPU_PRICE=0.05  $/hour of the CPU pool's instance (seed guide: c5.xlarge spot, ~$0.05/h)
#   CPU_VCPUS=4     its vCPUs (c5.xlarge: 4)
#   GPU_PRICE=0.16  $/hour of the GPU pool's instance (seed guide: g4dn.xlarge spot, ~$0.16/h)
#   GPU_VCPUS=4     its vCPUs (g4dn.xlarge: 4)
#   RESULTS=PATH    where the dated section is appended (default: bench/COST-RESULTS.md)
#
# The figure: CPU seconds (user + sys, GNU time) of `hydra-compose render` on the 15 s reference
# job, scaled to one rendered minute, times the instance price per vCPU-second. Batch packs jobs by
# their vCPU reservation, so a job that keeps its vCPUs busy pays for the CPU seconds it uses; the
# wall-clock form (reserved vCPUs x wall seconds) is given beside it for a 2-vCPU reservation, the
# job definition's default. No GPU is reachable here: the GPU row prices the same CPU seconds on the
# GPU instance (an upper bound: NVENC takes the encoding off the CPU) and says so.
set -euo pipefail
die() { echo "cost.sh: $*" >&2; exit 1; }
ROOT=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel) || die "not inside the repository"
RUNS=${RUNS:-3}
PHOTOS=${PHOTOS:-$ROOT/../shared/media/photos}
HC_BIN=${HC_BIN:-$ROOT/build/hydra-compose}
CPU_PRICE=${CPU_PRICE:-0.05} CPU_VCPUS=${CPU_VCPUS:-4}
GPU_PRICE=${GPU_PRICE:-0.16} GPU_VCPUS=${GPU_VCPUS:-4}
RESULTS=${RESULTS:-$ROOT/bench/COST-RESULTS.md}
RESERVED_VCPUS=2
DUR_S=15
[[ -x $HC_BIN ]] || die "$HC_BIN not found; run make (or set HC_BIN)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
mapfile -t photos < <(find "$PHOTOS" -maxdepth 1 -type f -iname '*.jpg' | LC_ALL=C sort)
((${#photos[@]} >= 2)) || die "need at least 2 JPEGs in $PHOTOS"
WORK=$(mktemp -d -t hydra-cost.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

urls=""
for p in "${photos[@]}"; do urls+="${urls:+, }{\"url\": \"$p\"}"; done
cut=$(awk -v d="$DUR_S" -v n="${#photos[@]}" 'BEGIN { printf "%.6f", d / n }')
cat >"$WORK/ref.json" <<EOF
{ "job_id": "bench-cost", "images": [$urls],
  "settings": { "vibe": "Minimal", "effect_preset": "crossfade", "aspect_ratio": "9:16",
                "target_duration": $DUR_S, "cut_duration": $cut, "fps": 30, "resolution": "1080p",
                "quality": "standard", "ai_effects": {"motions": ["ken_burns"]} } }
EOF

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
walls="" cpus=""
for ((i = 1; i <= RUNS; i++)); do
    /usr/bin/time -f "%e %U %S" -o "$WORK/time" "$HC_BIN" render "$WORK/ref.json" -o "$WORK/out.mp4" --quiet
    read -r wall user sys <"$WORK/time"
    walls+=" $wall"
    cpus+=" $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')"
done
wall=$(echo "$walls" | median)
cpu=$(echo "$cpus" | median)
per_min_cpu=$(awk -v c="$cpu" -v d="$DUR_S" 'BEGIN { printf "%.1f", c * 60 / d }')
per_min_wall=$(awk -v w="$wall" -v d="$DUR_S" 'BEGIN { printf "%.1f", w * 60 / d }')
usd() { awk -v s="$1" -v p="$2" -v v="$3" 'BEGIN { printf "%.5f", s * p / v / 3600 }'; }
cpu_cost=$(usd "$per_min_cpu" "$CPU_PRICE" "$CPU_VCPUS")
gpu_cost=$(usd "$per_min_cpu" "$GPU_PRICE" "$GPU_VCPUS")
res_cost=$(usd "$(awk -v w="$per_min_wall" -v r="$RESERVED_VCPUS" 'BEGIN { print w * r }')" "$CPU_PRICE" "$CPU_VCPUS")

{
    echo
    echo "## $(date -u '+%Y-%m-%d %H:%M') UTC"
    echo
    echo "Command: \`RUNS=$RUNS bench/cost.sh\` (medians); source $(git -C "$ROOT" rev-parse --short HEAD);"
    echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo
    echo "| figure | value |"
    echo "|---|---:|"
    echo "| reference job (15 s, 1080x1920, 30 fps): wall s | $wall (runs:$walls) |"
    echo "| reference job: CPU s (user + sys) | $cpu (runs:$cpus) |"
    echo "| CPU s per rendered minute | $per_min_cpu |"
    echo "| CPU pool, \$ per rendered minute (CPU s x \$$CPU_PRICE/h / $CPU_VCPUS vCPU) | \$$cpu_cost |"
    echo "| CPU pool, \$ per rendered minute by reservation ($RESERVED_VCPUS vCPU x wall) | \$$res_cost |"
    echo "| GPU pool, same CPU s at \$$GPU_PRICE/h / $GPU_VCPUS vCPU (upper bound: no GPU here to measure NVENC) | \$$gpu_cost |"
    echo "| rendered minutes per \$1 on the CPU pool | $(awk -v c="$cpu_cost" 'BEGIN { printf "%.0f", 1 / c }') |"
} | tee -a "$RESULTS"
