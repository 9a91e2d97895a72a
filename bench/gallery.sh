#!/usr/bin/env bash
# bench/gallery.sh: redraw the contact sheets in docs/gallery/ (one PNG per
# family: transitions at 25/50/75 %, motions, grades, filters and overlays,
# caption styles with Korean and Latin text) with the current build, from
# the demo photos in examples/photos. Look at them after any change to how
# an effect draws.
#   HC_BIN=PATH   the hydra-compose to use (default: <repo>/build/hydra-compose)
set -euo pipefail
ROOT=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
HC_BIN=${HC_BIN:-$ROOT/build/hydra-compose}
[[ -x $HC_BIN ]] || { echo "gallery.sh: $HC_BIN not found; run make" >&2; exit 1; }
mkdir -p "$ROOT/docs/gallery"
"$HC_BIN" gallery "$ROOT/docs/gallery" --photos "$ROOT/examples/photos"
