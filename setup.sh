#!/usr/bin/env bash
# The first command of the README: install what is missing (Debian 12),
# build build/hydra-compose, and render the demo video from the photos in
# examples/ (no network needed): demo.mp4 and its poster demo.jpg; then
# serve the HTTP job API on embedded defaults (SQLite store and outputs in
# ./hydra-data, workers on this machine) until Ctrl-C. --no-serve stops
# after the demo.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
make -j"$(nproc)"
build/hydra-compose render examples/demo.json -o demo.mp4
echo "demo: $(pwd)/demo.mp4 (poster $(pwd)/demo.jpg)"
[ "${1:-}" = "--no-serve" ] && exit 0
cat <<'HELP'
Serving the job API (Ctrl-C stops it). From another terminal, for example:
  curl -s localhost:8080/render -H 'Content-Type: application/json' \
       -d '{"job_id":"demo-1","images":[{"url":"https://..."}],"settings":{"vibe":"Pop"}}'
  curl -s 'localhost:8080/render/status?job_id=demo-1'
HELP
exec build/hydra-compose serve "$@"
