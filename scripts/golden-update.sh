#!/usr/bin/env bash
# Rewrite tests/golden/frames.txt from the current code: runs every golden_*
# test in record mode. Usage: scripts/golden-update.sh BUILD_DIR. Serialised
# with a lock so parallel runs cannot mix their records.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
exec 9>tests/golden/.lock
flock 9
rm -f tests/golden/frames.part.new
HC_GOLDEN_UPDATE=1 "$build/hc-tests" golden
{
    echo '# golden frame hashes: name md5 (make golden-update rewrites this file)'
    sort tests/golden/frames.part.new
} >tests/golden/frames.txt
rm -f tests/golden/frames.part.new
