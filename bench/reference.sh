#!/usr/bin/env bash
# bench/reference.sh: speed and memory of the render engine on the reference job.
#
# Usage: bench/reference.sh            (from anywhere inside the repository)
#   RUNS=3         runs of every case; the table shows medians (interleaved: a b c d e f, a b c ...)
#   PHOTOS=DIR     the reference photos (default: <repo>/../shared/media/photos, every *.jpg)
#   HC_BIN=PATH    the hydra-compose to measure (default: <repo>/build/hydra-compose; build it first)
#   BIG_DIR=DIR    cache of the 8000x6000 copies of the photos (default: /tmp/hydra-bench-8000x6000)
#   RESULTS=PATH   where the dated section is appended (default: bench/RESULTS.md)
#   KEEP=1         keep the work directory (specs, outputs, logs) instead of deleting it
#   STRICT=1       exit 3 when a target fails (default: report only)
#
# The reference job: the photos, 9:16 at 1080x1920, 30 fps, 15 s, crossfades of 0.8 s, Ken Burns on
# every clip, libx264 veryfast CRF 21. Cases (see bench/README.md):
#   a  encode-only limit: ffmpeg/libx264 encoding our own output, decoded to raw yuv420p in /dev/shm
#   b  the DIY baseline: one ffmpeg command, zoompan per photo + an xfade chain
#   c  ours: hydra-compose render
#   d  ours, compositing only: --null-sink (includes photo decoding)
#   e  ours with the photos upscaled to 8000x6000 JPEGs (memory must stay flat)
#   f  ours with a 60 s target (memory must stay flat)
#   g  ours, the heaviest vibe: Dreamy (swirl, float, bright grade, soft blur, glow, light leak)
#      plus three caption lines (the style library's target: <= 1.3 x (a))
#   h  ours, the reference job with music: a 30 s drum track at 120 BPM (MP3, made by ffmpeg);
#      decode, beat analysis, cuts on the beat, mixing, AAC (the music target: <= 1.10 x (c))
# Each case runs under /usr/bin/time -f "%e %M %U %S" (wall seconds, peak RSS KiB, and CPU seconds,
# which a busy machine disturbs less than wall time). Needs ffmpeg, ffprobe, GNU time, vips and about
# 1.4 GB free in /dev/shm. Prints a markdown table and appends it to RESULTS.
set -euo pipefail

die() { echo "reference.sh: $*" >&2; exit 1; }
note() { echo "reference.sh: $*" >&2; }

ROOT=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel) || die "not inside the repository"
RUNS=${RUNS:-3}
PHOTOS=${PHOTOS:-$ROOT/../shared/media/photos}
HC_BIN=${HC_BIN:-$ROOT/build/hydra-compose}
BIG_DIR=${BIG_DIR:-/tmp/hydra-bench-8000x6000}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}

# The reference job, and the DIY equivalent's frame arithmetic.
W=1080 H=1920 FPS=30 DUR_S=15 LONG_S=60 FADE_S=0.8 CRF=21
FRAMES=$((DUR_S * FPS))          # 450
FADE_FRAMES=24                   # 0.8 s at 30 fps
BIG_W=8000 BIG_H=6000
# Targets.
LIMIT_VS_ENCODE=1.15             # (c) wall <= 1.15 x (a)
LIMIT_VS_DIY=2                   # (b) / (c) >= 2
LIMIT_RSS_OVER_ENCODE_MB=60      # (c) RSS <= (a) RSS + 60 MB
LIMIT_RSS_BIG_MB=30              # (e) RSS <= (c) RSS + 30 MB
LIMIT_RSS_LONG_MB=5              # (f) RSS <= (c) RSS + noise
LIMIT_FPS=300                    # (d) frames/s >= 300
LIMIT_DREAMY_VS_ENCODE=1.3       # (g) wall <= 1.3 x (a)
LIMIT_MUSIC_VS_SILENT=1.10       # (h) wall <= 1.10 x (c)
X264_ARGS=(-c:v libx264 -preset veryfast -crf "$CRF" -profile:v high -pix_fmt yuv420p -movflags +faststart)

# ---- preflight --------------------------------------------------------------------------------
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer (got \"$RUNS\")"
for tool in ffmpeg ffprobe vips vipsheader awk; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (apt-get install time)"
[[ -x $HC_BIN ]] || die "$HC_BIN not found; run make (or set HC_BIN)"
HC_BIN=$(realpath "$HC_BIN")
[[ -d $PHOTOS ]] || die "photo directory $PHOTOS not found (set PHOTOS)"
PHOTOS=$(realpath "$PHOTOS")
mapfile -t photos < <(find "$PHOTOS" -maxdepth 1 -type f -iname '*.jpg' | LC_ALL=C sort)
NPHOTOS=${#photos[@]}
((NPHOTOS >= 2)) || die "need at least 2 JPEGs in $PHOTOS (found $NPHOTOS)"
[[ $(stat -f -c %T /dev/shm) == tmpfs ]] || die "/dev/shm is not a tmpfs; case (a) must read from RAM"
RAW_BYTES=$((W * H * 3 * FRAMES / 2))
shm_free=$(($(stat -f -c '%a * %S' /dev/shm)))
((shm_free > RAW_BYTES + 100 * 1024 * 1024)) || die "/dev/shm has $((shm_free >> 20)) MiB free; need $((RAW_BYTES >> 20))"

WORK=$(mktemp -d -t hydra-bench.XXXXXX)
RAW=/dev/shm/hydra-bench-$$.yuv
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
    rm -f "$RAW"
    if [[ ${KEEP:-} == 1 ]]; then note "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- helpers ----------------------------------------------------------------------------------
# calc FORMAT EXPR: awk arithmetic; median: of the numbers on stdin; passfail EXPR: PASS or FAIL.
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
passfail() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
json_str() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }

# ---- inputs -----------------------------------------------------------------------------------

# write_spec FILE TARGET_S PHOTO... : the reference request; a clip per photo (cut_duration = 15 s /
# photos, kept for the 60 s version so it only loops the photos). Vibe Minimal has no extra effects,
# so the preset and ai_effects alone decide what is drawn.
write_spec() {
    local file=$1 target=$2; shift 2
    local cut urls="" p
    cut=$(awk -v d="$DUR_S" -v n="$NPHOTOS" 'BEGIN { printf "%.6f", d / n }')
    for p in "$@"; do urls+="${urls:+, }{\"url\": $(json_str "$p")}"; done
    cat >"$file" <<EOF
{ "job_id": "bench-reference",
  "images": [$urls],
  "settings": { "vibe": "Minimal", "effect_preset": "crossfade", "aspect_ratio": "9:16",
                "target_duration": $target, "cut_duration": $cut, "fps": $FPS, "resolution": "1080p",
                "quality": "standard", "ai_effects": {"motions": ["ken_burns"]} } }
EOF
}

# The 8000x6000 copies (centre crop to 4:3, then upscale; JPEG quality 90), made once.
mkdir -p "$BIG_DIR"
big_photos=()
for p in "${photos[@]}"; do
    big=$BIG_DIR/$(basename "${p%.*}").jpg
    if [[ ! -s $big || $(vipsheader -f width "$big" 2>/dev/null) != "$BIG_W" ||
          $(vipsheader -f height "$big" 2>/dev/null) != "$BIG_H" ]]; then
        note "making $big"
        vips thumbnail "$p" "${big}[Q=90]" "$BIG_W" --height "$BIG_H" --crop centre --size both
    fi
    big_photos+=("$big")
done

write_spec "$WORK/ref.json" "$DUR_S" "${photos[@]}"
write_spec "$WORK/big.json" "$DUR_S" "${big_photos[@]}"
write_spec "$WORK/long.json" "$LONG_S" "${photos[@]}"
# (g): the reference job in the heaviest vibe, with three captions.
sed -e 's/"vibe": "Minimal", "effect_preset": "crossfade",/"vibe": "Dreamy",/' \
    -e 's/"job_id": "bench-reference",/"job_id": "bench-dreamy", "script": {"lines": [{"text": "안녕하세요, 여름", "timing": 0.5, "duration": 4}, {"text": "Golden hour by the sea", "timing": 5.5, "duration": 4}, {"text": "See you tomorrow 🌊", "timing": 10.5, "duration": 4}]},/' \
    "$WORK/ref.json" >"$WORK/dreamy.json"
grep -q '"Dreamy"' "$WORK/dreamy.json" || die "could not make the Dreamy spec"
# (h): the reference job with music.
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "aevalsrc='0.4*sin(2*PI*60*t)*exp(-16*mod(t,0.5))+0.1*sin(2*PI*3000*t)*exp(-80*mod(t+0.25,0.5))|0.4*sin(2*PI*60*t)*exp(-16*mod(t,0.5))+0.1*sin(2*PI*2500*t)*exp(-80*mod(t+0.25,0.5))':s=44100:d=30" \
    "$WORK/drums.mp3" || die "could not make the drum track"
sed -e "s|\"job_id\": \"bench-reference\",|\"job_id\": \"bench-music\", \"audio\": {\"url\": \"$WORK/drums.mp3\"},|" \
    "$WORK/ref.json" >"$WORK/music.json"
grep -q 'drums.mp3' "$WORK/music.json" || die "could not make the music spec"

# The DIY command (b): per photo scale/crop to the frame, zoompan for d frames (zooming in or out,
# drifting left, right or not at all), then an xfade chain. The clips overlap by the fade, so they
# sum to FRAMES + (n-1) * FADE_FRAMES frames; each xfade starts FADE_FRAMES before the chain's end.
diy_args=(-hide_banner -loglevel error -y)
diy_graph="" chain="" chain_frames=0
clip_sum=$((FRAMES + (NPHOTOS - 1) * FADE_FRAMES))
for ((i = 0; i < NPHOTOS; i++)); do
    d=$((clip_sum * (i + 1) / NPHOTOS - clip_sum * i / NPHOTOS))
    t="on/$((d - 1))"
    if ((i % 2 == 0)); then zoom="1+0.15*$t"; else zoom="1.15-0.15*$t"; fi
    case $((i % 3)) in 0) fx="0.5" ;; 1) fx="$t" ;; 2) fx="(1-$t)" ;; esac
    diy_args+=(-i "${photos[i]}")
    diy_graph+="[$i:v]scale=$W:$H:force_original_aspect_ratio=increase,crop=$W:$H,setsar=1,"
    diy_graph+="zoompan=z='$zoom':x='(iw-iw/zoom)*$fx':y='(ih-ih/zoom)/2':d=$d:s=${W}x$H:fps=$FPS,"
    diy_graph+="format=yuv420p[v$i];"
    if ((i == 0)); then chain=v0 chain_frames=$d; continue; fi
    offset=$(awk -v f=$((chain_frames - FADE_FRAMES)) -v r="$FPS" 'BEGIN { printf "%.6f", f / r }')
    diy_graph+="[$chain][v$i]xfade=transition=fade:duration=$FADE_S:offset=${offset}[x$i];"
    chain=x$i chain_frames=$((chain_frames + d - FADE_FRAMES))
done
((chain_frames == FRAMES)) || die "DIY graph arithmetic: $chain_frames frames, want $FRAMES"
diy_args+=(-filter_complex "${diy_graph%;}" -map "[$chain]" "${X264_ARGS[@]}" "$WORK/b.mp4")

# ---- checks -----------------------------------------------------------------------------------
# check_video FILE FRAMES TOLERANCE: H.264 W x H with FRAMES +- TOLERANCE frames, or die.
check_video() {
    local info
    info=$(ffprobe -v error -select_streams v:0 -count_packets \
        -show_entries stream=codec_name,width,height,nb_read_packets -of csv=p=0 "$1") ||
        die "$1: ffprobe failed"
    local codec width height n
    IFS=, read -r codec width height n <<<"$info"
    [[ $codec == h264 && $width == "$W" && $height == "$H" ]] || die "$1: got $codec ${width}x$height"
    ((n >= $2 - $3 && n <= $2 + $3)) || die "$1: $n frames, want $2 (+-$3)"
}

# A first render of ours: warms the page cache, checks the job, and is the raw source of (a).
note "warm-up render, raw source for (a)"
"$HC_BIN" render "$WORK/ref.json" -o "$WORK/ref.mp4" --quiet 2>"$WORK/warmup.log" ||
    { tail -5 "$WORK/warmup.log" >&2; die "warm-up render failed"; }
check_video "$WORK/ref.mp4" "$FRAMES" 0
ffmpeg -hide_banner -loglevel error -y -i "$WORK/ref.mp4" -f rawvideo -pix_fmt yuv420p "$RAW"
[[ $(stat -c %s "$RAW") == "$RAW_BYTES" ]] || die "$RAW: $(stat -c %s "$RAW") bytes, want $RAW_BYTES"

# ---- cases ------------------------------------------------------------------------------------
CASES=(a b c d e f g h)
declare -A DESC=(
    [a]="encode-only limit: ffmpeg libx264 from raw yuv420p in /dev/shm"
    [b]="DIY: one ffmpeg command, zoompan + xfade"
    [c]="ours: hydra-compose render"
    [d]="ours, compositing only (--null-sink)"
    [e]="ours, photos upscaled to ${BIG_W}x$BIG_H"
    [f]="ours, ${LONG_S} s version"
    [g]="ours, Dreamy vibe (swirl, float, grade, blur, glow, light leak) + 3 captions"
    [h]="ours, reference job with music (decode, beats, cuts on the beat, mix, AAC)"
)
declare -A WALL=() RSS=() CPU=()

# run_case NAME: one timed run, checked; appends to WALL[NAME], RSS[NAME] (KiB), CPU[NAME].
run_case() {
    local name=$1 out=$WORK/$1.mp4 cmd
    rm -f "$out"
    case $name in
    a) cmd=(ffmpeg -hide_banner -loglevel error -f rawvideo -pix_fmt yuv420p -s "${W}x$H" -r "$FPS"
            -i "$RAW" "${X264_ARGS[@]}" -y "$out") ;;
    b) cmd=(ffmpeg "${diy_args[@]}") ;;
    c) cmd=("$HC_BIN" render "$WORK/ref.json" -o "$out" --quiet) ;;
    d) cmd=("$HC_BIN" render "$WORK/ref.json" --null-sink --quiet) ;;
    e) cmd=("$HC_BIN" render "$WORK/big.json" -o "$out" --quiet) ;;
    f) cmd=("$HC_BIN" render "$WORK/long.json" -o "$out" --quiet) ;;
    g) cmd=("$HC_BIN" render "$WORK/dreamy.json" -o "$out" --quiet) ;;
    h) cmd=("$HC_BIN" render "$WORK/music.json" -o "$out" --quiet) ;;
    esac
    if ! /usr/bin/time -f "%e %M %U %S" -o "$WORK/$name.time" "${cmd[@]}" >"$WORK/$name.log" 2>&1; then
        tail -5 "$WORK/$name.log" >&2
        die "case $name failed: ${cmd[*]:0:4} ..."
    fi
    case $name in
    a | c | e | g | h) check_video "$out" "$FRAMES" 0 ;;
    b) check_video "$out" "$FRAMES" 1 ;;
    f) check_video "$out" $((LONG_S * FPS)) 0 ;;
    esac
    local wall rss user sys
    read -r wall rss user sys <"$WORK/$name.time"
    WALL[$name]+="$wall " RSS[$name]+="$rss " CPU[$name]+="$(calc %.2f "$user + $sys") "
    note "run $run ($name): ${wall} s, $((rss / 1024)) MiB, $(calc %.1f "$user + $sys") CPU s"
}

for ((run = 1; run <= RUNS; run++)); do
    for name in "${CASES[@]}"; do run_case "$name"; done
done
rm -f "$RAW"
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report -----------------------------------------------------------------------------------
declare -A MW=() MR=() MC=()
for name in "${CASES[@]}"; do
    MW[$name]=$(median <<<"${WALL[$name]}")
    MR[$name]=$(calc %.1f "$(median <<<"${RSS[$name]}") / 1024")
    MC[$name]=$(median <<<"${CPU[$name]}")
done
fps_d=$(calc %.1f "$FRAMES / ${MW[d]}")
fps_c=$(calc %.1f "$FRAMES / ${MW[c]}")

table=$(
    echo "| case | what | wall s (median) | peak RSS MiB (median) | CPU s (median) | runs: wall s |"
    echo "|---|---|---:|---:|---:|---|"
    for name in "${CASES[@]}"; do
        extra=""
        [[ $name == c ]] && extra=" ($fps_c frames/s)"
        [[ $name == d ]] && extra=" ($fps_d frames/s, includes photo decoding)"
        echo "| $name | ${DESC[$name]}$extra | ${MW[$name]} | ${MR[$name]} | ${MC[$name]} | ${WALL[$name]% } |"
    done
)
targets=$(
    echo "| target | measured | limit | result |"
    echo "|---|---:|---:|---|"
    echo "| (c) wall vs encode-only (a) | $(calc %.2f "${MW[c]} / ${MW[a]}") x | <= $LIMIT_VS_ENCODE x |" \
        "$(passfail "${MW[c]} <= $LIMIT_VS_ENCODE * ${MW[a]}") |"
    echo "| (c) speed-up over DIY (b) | $(calc %.2f "${MW[b]} / ${MW[c]}") x | >= $LIMIT_VS_DIY x |" \
        "$(passfail "${MW[b]} >= $LIMIT_VS_DIY * ${MW[c]}") |"
    echo "| (c) RSS over (a) | $(calc %+.1f "${MR[c]} - ${MR[a]}") MiB | <= +$LIMIT_RSS_OVER_ENCODE_MB MiB |" \
        "$(passfail "${MR[c]} <= ${MR[a]} + $LIMIT_RSS_OVER_ENCODE_MB") |"
    echo "| (e) ${BIG_W}x$BIG_H photos, RSS over (c) | $(calc %+.1f "${MR[e]} - ${MR[c]}") MiB |" \
        "<= +$LIMIT_RSS_BIG_MB MiB | $(passfail "${MR[e]} <= ${MR[c]} + $LIMIT_RSS_BIG_MB") |"
    echo "| (f) ${LONG_S} s, RSS over (c) | $(calc %+.1f "${MR[f]} - ${MR[c]}") MiB |" \
        "<= +$LIMIT_RSS_LONG_MB MiB (noise) | $(passfail "${MR[f]} <= ${MR[c]} + $LIMIT_RSS_LONG_MB") |"
    echo "| (d) compositing frames/s | $fps_d | >= $LIMIT_FPS | $(passfail "$fps_d >= $LIMIT_FPS") |"
    echo "| (g) Dreamy + captions vs encode-only (a) | $(calc %.2f "${MW[g]} / ${MW[a]}") x |" \
        "<= $LIMIT_DREAMY_VS_ENCODE x | $(passfail "${MW[g]} <= $LIMIT_DREAMY_VS_ENCODE * ${MW[a]}") |"
    echo "| (h) music vs the same job silent (c) | $(calc %.2f "${MW[h]} / ${MW[c]}") x |" \
        "<= $LIMIT_MUSIC_VS_SILENT x | $(passfail "${MW[h]} <= $LIMIT_MUSIC_VS_SILENT * ${MW[c]}") |"
)
failed=0
grep -q '| FAIL |' <<<"$targets" && failed=1

x264_version=$(strings -n 16 "$WORK/ref.mp4" | grep -m1 -o 'x264 - core [0-9]* r[0-9]* [0-9a-f]*' || echo unknown)
git_rev=$(git -C "$ROOT" rev-parse --short HEAD)
[[ -z $(git -C "$ROOT" status --porcelain -- src) ]] || git_rev+=" + uncommitted changes in src/"
section=$(
    echo "## $(date -u '+%Y-%m-%d %H:%M UTC') ($(hostname))"
    echo
    echo "Command: \`RUNS=$RUNS HC_BIN=${HC_BIN#"$ROOT"/} bench/reference.sh\` (medians of $RUNS interleaved runs)"
    echo
    echo "- source: $git_rev; $("$HC_BIN" version 2>/dev/null | head -1 || true)"
    echo "- machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"\
         "$(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
    echo "- load average (1/5/15 min): $load_start at start, $load_end at end"
    echo "- $(ffmpeg -version | head -1 | cut -d' ' -f1-3); libx264: $x264_version"
    echo "- job: $NPHOTOS photos, ${W}x$H, $FPS fps, $DUR_S s ($FRAMES frames), fade $FADE_S s," \
         "Ken Burns, libx264 veryfast CRF $CRF"
    echo
    echo "$table"
    echo
    echo "$targets"
)
echo "$section"
{ [[ -s $RESULTS ]] || printf '# Benchmark results\n\nAppended by bench/reference.sh; newest last.\n'
  printf '\n%s\n' "$section"; } >>"$RESULTS"
note "appended to $RESULTS"
[[ ${STRICT:-} == 1 && $failed == 1 ]] && exit 3
exit 0
