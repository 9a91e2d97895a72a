#!/usr/bin/env bash
# Build the two Docker images of the AWS deployment from this repository:
# hydra-compose:cpu (Batch CPU pool and the Lambda API) and
# hydra-compose:gpu (Batch GPU pool), after the local base image
# (scripts/docker-base.sh). Used by deploy.sh build and the docker_ tests.
#   scripts/docker-build.sh [cpu|gpu ...]     default: both
# Env: HC_IMAGE_REPO (default hydra-compose; e.g. an ECR repository URI, the
# tags are then REPO:cpu and REPO:gpu), DOCKER_BUILD_ARGS (extra words for
# docker build, e.g. --no-cache).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
repo=${HC_IMAGE_REPO:-hydra-compose}
flavours=("$@")
[ ${#flavours[@]} -gt 0 ] || flavours=(cpu gpu)
docker info >/dev/null 2>&1 || {
    echo "docker-build.sh: the Docker daemon is not reachable (start dockerd)" >&2; exit 1; }
# One build at a time on this machine (tests and deploy.sh may overlap).
if command -v flock >/dev/null && [ -z "${HC_DOCKER_BUILD_LOCKED:-}" ]; then
    export HC_DOCKER_BUILD_LOCKED=1
    exec flock "${TMPDIR:-/tmp}/hydra-compose-docker-build.lock" "$0" "$@"
fi
"$root/scripts/docker-base.sh"
for f in "${flavours[@]}"; do
    case "$f" in cpu|gpu) ;; *) echo "docker-build.sh: unknown image '$f' (cpu or gpu)" >&2; exit 2 ;; esac
    t0=$(date +%s)
    # shellcheck disable=SC2086
    docker build --network host ${DOCKER_BUILD_ARGS:-} \
        --label "org.opencontainers.image.revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)" \
        -f "$root/deploy/aws-batch/docker/Dockerfile.$f" -t "$repo:$f" "$root"
    echo "docker-build.sh: $repo:$f $(docker image inspect -f '{{.Size}}' "$repo:$f") bytes in $(( $(date +%s) - t0 )) s" >&2
done
