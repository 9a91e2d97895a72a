#!/usr/bin/env bash
# Install the Debian packages of scripts/debian-packages.txt that are
# missing. With --update, always refresh the package lists first (CI).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t pkgs < <(grep -v '^\s*#' "$here/debian-packages.txt" | grep -v '^\s*$')
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
# The TypeScript client's tests need Node.js (18 or later) with npm. A
# machine that has them (from any source) keeps its own; else Debian's.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if [ "${1:-}" = "--update" ] || [ ${#missing[@]} -gt 0 ]; then
    $sudo apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The TypeScript client's build tool (TypeScript itself, from the npm
# registry; nothing else). Skipped when already installed for this lockfile.
# The same for the local AWS-compatible servers the tests start
# (tests/emulators: dynalite for DynamoDB, s3rver for S3), and the
# Terraform schema check (deploy/aws-batch/check: the hashicorp/aws
# provider's generated bindings and an HCL parser).
for dir in "$here/../clients/typescript" "$here/../tests/emulators" "$here/../deploy/aws-batch/check"; do
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        npm ci --prefix "$dir" --no-fund --no-audit --loglevel=error
    fi
done
