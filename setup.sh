#!/usr/bin/env bash
# The first command of the README: install what is missing (Debian 12),
# build build/hydra-compose, and render the demo video from the photos in
# examples/ (no network needed): demo.mp4 and its poster demo.jpg.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
make -j"$(nproc)"
build/hydra-compose render examples/demo.json -o demo.mp4
echo "demo: $(pwd)/demo.mp4 (poster $(pwd)/demo.jpg)"
