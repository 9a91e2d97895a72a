#!/usr/bin/env bash
# Deploys the Hydra Compose Engine to AWS (DEPLOY.md beside this file).
#
#   ./deploy.sh init      check the tools and the credentials, terraform init
#   ./deploy.sh plan      terraform plan
#   ./deploy.sh apply     terraform apply (first run: creates the ECR repository,
#                         builds and pushes the images the functions need, then
#                         the rest)
#   ./deploy.sh build     build both images (tags cpu and gpu), push them, point
#                         the functions at the new CPU image
#   ./deploy.sh test      submit the guide's example job to the API and poll its
#                         status until it is final
#   ./deploy.sh outputs   terraform output
#   ./deploy.sh destroy   terraform destroy (deletes everything, outputs too)
#
# Environment: AWS_PROFILE / AWS_REGION as for the AWS CLI; TF_VAR_* for the
# Terraform variables (terraform/variables.tf); AUTO_APPROVE=1 skips
# terraform's confirmation; TEST_IMAGE_URLS="url url ..." makes `test` use
# those images instead of uploading examples/photos; TEST_TIMEOUT_S (900) and
# TEST_POLL_S (10) bound the status polling; TEST_JOB_ID names the job.
#
# Invariant: every subcommand runs from any working directory, stops at the
# first failing step with a message naming it, and never prints a secret.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
tf_dir="$here/terraform"
repo_name="hydra-compose-engine"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'deploy.sh: %s\n' "$*" >&2; exit 1; }

need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool not found (DEPLOY.md, Prerequisites)"
    done
}

tf() { terraform -chdir="$tf_dir" "$@"; }

approve_flag() {
    if [ "${AUTO_APPROVE:-0}" = "1" ]; then printf '%s' "-auto-approve"; fi
}

# One output of the applied stack; empty when there is none yet.
tf_out() { tf output -raw "$1" 2>/dev/null || true; }

# A string field of a JSON object on stdin ("" when absent).
json_field() {
    local field="$1"
    if command -v jq >/dev/null 2>&1; then
        jq -r --arg f "$field" '.[$f] // empty | tostring'
    elif command -v python3 >/dev/null 2>&1; then
        python3 -c 'import json,sys
v = json.load(sys.stdin).get(sys.argv[1])
print("" if v is None else (v if isinstance(v, str) else json.dumps(v)))' "$field"
    else
        sed -n "s/.*\"$field\"[[:space:]]*:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" | head -n 1
    fi
}

# The stack's region: the provider uses var.region (not AWS_REGION), so the
# applied output, else TF_VAR_region, else terraform.tfvars, else the
# variable's default in variables.tf.
region() {
    local r
    r=$(tf_out region)
    [ -n "$r" ] || r=${TF_VAR_region:-}
    if [ -z "$r" ] && [ -f "$tf_dir/terraform.tfvars" ]; then
        r=$(sed -n 's/^[[:space:]]*region[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$tf_dir/terraform.tfvars" | head -n 1)
    fi
    if [ -z "$r" ]; then
        r=$(sed -n '/^variable "region"/,/^}/s/^[[:space:]]*default[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' "$tf_dir/variables.tf")
    fi
    [ -n "$r" ] || die "no region: set TF_VAR_region"
    printf '%s' "$r"
}

cmd_init() {
    need aws terraform docker
    say "tools"
    aws --version
    terraform version | head -n 1
    docker --version
    say "credentials"
    aws sts get-caller-identity --query '[Account, Arn]' --output text ||
        die "the AWS CLI has no working credentials (aws configure, or AWS_PROFILE)"
    say "terraform init"
    tf init -input=false
}

cmd_plan() {
    need terraform
    tf plan -input=false
}

# The Lambda functions are created from the CPU image, so it must be in ECR
# before they are: on the first apply, create the repository alone, build and
# push, then apply everything.
images_present() {
    aws ecr describe-images --region "$1" --repository-name "$repo_name" \
        --image-ids imageTag=cpu imageTag=gpu >/dev/null 2>&1
}

cmd_apply() {
    need aws terraform docker
    local r
    r=$(region)
    if ! images_present "$r"; then
        say "first apply: the ECR repository, then the images"
        # shellcheck disable=SC2046 # approve_flag is one word or nothing
        tf apply -input=false $(approve_flag) \
            -target=aws_ecr_repository.engine \
            -target=aws_ecr_lifecycle_policy.engine \
            -target=aws_ecr_repository_policy.engine
        cmd_build
    fi
    say "terraform apply"
    # shellcheck disable=SC2046
    tf apply -input=false $(approve_flag)
    say "outputs"
    tf output
}

# Builds with the classic builder or BuildKit; with buildx, no attestation
# manifests (Lambda refuses image indexes).
build_one() {
    local pool="$1" image="$2" rev="$3"
    local file="$here/docker/Dockerfile.$pool"
    [ -f "$file" ] || die "$file is missing"
    say "build $pool image"
    if docker buildx version >/dev/null 2>&1; then
        # The default (docker) builder: it sees the local base image.
        docker buildx build --builder default --load --provenance=false --sbom=false --platform linux/amd64 \
            -f "$file" -t "$image:$pool" -t "$image:$pool-$rev" "$root"
    else
        docker build -f "$file" -t "$image:$pool" -t "$image:$pool-$rev" "$root"
    fi
    say "push $image:$pool"
    docker push "$image:$pool"
    docker push "$image:$pool-$rev"
}

cmd_build() {
    need aws docker
    local r image registry rev fn
    r=$(region)
    image=$(tf_out ecr_repository_url)
    if [ -z "$image" ]; then
        image=$(aws ecr describe-repositories --region "$r" --repository-names "$repo_name" \
            --query 'repositories[0].repositoryUri' --output text) ||
            die "no ECR repository $repo_name in $r: run ./deploy.sh apply"
    fi
    registry=${image%%/*}
    rev=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || date -u +%Y%m%d%H%M%S)
    if ! git -C "$root" diff --quiet HEAD 2>/dev/null; then rev="$rev-dirty"; fi
    say "docker login $registry"
    aws ecr get-login-password --region "$r" | docker login --username AWS --password-stdin "$registry"
    # The Dockerfiles start FROM the local Debian base (no registry base
    # image is pulled): make it first when missing.
    say "base image"
    "$root/scripts/docker-base.sh"
    build_one cpu "$image" "$rev"
    build_one gpu "$image" "$rev"
    # Lambda resolves a tag to a digest when the code is set: point the
    # functions at the new CPU image. Batch pulls the tags at each job start.
    for fn in "$(tf_out api_function)" "$(tf_out reconciler_function)"; do
        [ -n "$fn" ] || continue
        say "update $fn"
        aws lambda update-function-code --region "$r" --function-name "$fn" \
            --image-uri "$image:cpu" --query 'LastUpdateStatus' --output text
        aws lambda wait function-updated --region "$r" --function-name "$fn"
    done
}

cmd_outputs() {
    need terraform
    tf output
}

# The seed guide's example request; the images are the repository's example
# photos uploaded to the stack's bucket (s3:// inputs), or TEST_IMAGE_URLS.
test_request() {
    local job_id="$1"
    shift
    local images="" url
    for url in "$@"; do
        images="$images${images:+,}{\"url\":\"$url\"}"
    done
    printf '{"job_id":"%s","images":[%s],"settings":{"vibe":"Pop","aspect_ratio":"9:16","target_duration":15}}' \
        "$job_id" "$images"
}

cmd_test() {
    need aws curl terraform
    local api bucket r job_id body code resp status deadline f
    local -a urls=()
    api=$(tf_out api_endpoint)
    [ -n "$api" ] || die "no api_endpoint output: run ./deploy.sh apply"
    r=$(region)
    job_id=${TEST_JOB_ID:-test-$(date -u +%Y%m%d%H%M%S)}
    if [ -n "${TEST_IMAGE_URLS:-}" ]; then
        read -r -a urls <<<"$TEST_IMAGE_URLS"
    else
        bucket=$(tf_out bucket)
        [ -n "$bucket" ] || die "no bucket output: run ./deploy.sh apply"
        for f in "$root"/examples/photos/*.jpg; do
            aws s3 cp --region "$r" --only-show-errors "$f" "s3://$bucket/test-inputs/$(basename "$f")"
            urls+=("s3://$bucket/test-inputs/$(basename "$f")")
        done
        [ ${#urls[@]} -gt 0 ] || die "no example photos in $root/examples/photos"
    fi
    body=$(test_request "$job_id" "${urls[@]}")
    say "POST $api/render (job $job_id)"
    resp=$(curl -sS -w '\n%{http_code}' -X POST "$api/render" -H 'Content-Type: application/json' -d "$body")
    code=${resp##*$'\n'}
    resp=${resp%$'\n'*}
    printf '%s\n' "$resp"
    case "$code" in
        200 | 201 | 202) ;;
        *) die "POST /render answered $code" ;;
    esac
    deadline=$(($(date +%s) + ${TEST_TIMEOUT_S:-900}))
    while :; do
        resp=$(curl -sS "$api/render/status?job_id=$job_id") || die "GET /render/status failed"
        status=$(printf '%s' "$resp" | json_field status)
        say "status: ${status:-?} $(printf '%s' "$resp" | json_field current_step) $(printf '%s' "$resp" | json_field progress)"
        case "$status" in
            completed)
                printf '%s\n' "$resp"
                say "output: $(printf '%s' "$resp" | json_field output_url | sed 's/?.*/?.../')"
                return 0
                ;;
            failed | canceled)
                printf '%s\n' "$resp"
                die "job $job_id ended $status (logs: aws logs tail /aws/batch/hydra-compose-engine)"
                ;;
        esac
        [ "$(date +%s)" -lt "$deadline" ] || die "job $job_id not final after ${TEST_TIMEOUT_S:-900} s (last status ${status:-?}; DEPLOY.md, Troubleshooting)"
        sleep "${TEST_POLL_S:-10}"
    done
}

cmd_destroy() {
    need terraform
    say "terraform destroy: deletes the bucket with every video, the table, the images"
    # shellcheck disable=SC2046
    tf destroy -input=false $(approve_flag)
}

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
}

case "${1:-}" in
    init) cmd_init ;;
    plan) cmd_plan ;;
    apply) cmd_apply ;;
    build) cmd_build ;;
    test) cmd_test ;;
    outputs) cmd_outputs ;;
    destroy) cmd_destroy ;;
    *) usage ;;
esac
