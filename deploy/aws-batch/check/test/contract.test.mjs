// The Terraform tree against the product contract (DESIGN.md sections 10-12
// and issue 10): what the schema check cannot know because it is a choice of
// this project, not of the provider.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "@cdktf/hcl2json";

const here = path.dirname(fileURLToPath(import.meta.url));
const tfDir = path.join(here, "..", "..", "terraform");

async function load() {
    const all = { resource: {}, data: {}, variable: {}, output: {}, locals: {} };
    const text = {};
    for (const f of fs.readdirSync(tfDir).filter((x) => x.endsWith(".tf"))) {
        text[f] = fs.readFileSync(path.join(tfDir, f), "utf8");
        const j = await parse(f, text[f]);
        for (const kind of ["resource", "data"])
            for (const [type, byName] of Object.entries(j[kind] || {}))
                for (const [name, bodies] of Object.entries(byName)) (all[kind][type] ||= {})[name] = bodies[0];
        for (const [n, b] of Object.entries(j.variable || {})) all.variable[n] = b[0];
        for (const [n, b] of Object.entries(j.output || {})) all.output[n] = b[0];
        for (const l of j.locals || []) Object.assign(all.locals, l);
    }
    return { ...all, text };
}
const tf = await load();
const res = (type, name) => {
    const r = tf.resource[type] && tf.resource[type][name];
    assert.ok(r, `resource ${type}.${name} is missing`);
    return r;
};

test("the files of the seed guide are there", () => {
    for (const f of ["main.tf", "compute.tf", "api.tf", "secrets.tf", "variables.tf", "outputs.tf"]) assert.ok(tf.text[f], f);
    assert.match(tf.text["main.tf"], /source\s*=\s*"hashicorp\/aws"[\s\S]*version\s*=\s*"~> 6\.0"/);
});

test("idle costs nothing: no NAT gateway, no interface endpoints, only gateway endpoints for S3 and DynamoDB", () => {
    assert.equal(tf.resource.aws_nat_gateway, undefined);
    assert.equal(tf.resource.aws_eip, undefined);
    const eps = Object.values(tf.resource.aws_vpc_endpoint || {});
    assert.equal(eps.length, 2);
    for (const e of eps) assert.equal(e.vpc_endpoint_type, "Gateway");
    const services = eps.map((e) => e.service_name).sort();
    assert.match(services[0], /\.dynamodb$/);
    assert.match(services[1], /\.s3$/);
    const subnet = res("aws_subnet", "public");
    assert.equal(subnet.map_public_ip_on_launch, true);
    assert.ok(tf.variable.az_count.default >= 2);
    assert.ok(tf.resource.aws_internet_gateway);
    for (const ce of Object.values(tf.resource.aws_batch_compute_environment)) assert.match(String(ce.compute_resources[0].min_vcpus), /^\$\{var\.(gpu|cpu)_warm_vcpus\}$/);
    assert.equal(tf.variable.gpu_warm_vcpus.default, 0);
    assert.equal(tf.variable.cpu_warm_vcpus.default, 0);
});

test("the jobs table is exactly DESIGN.md section 11", () => {
    const t = res("aws_dynamodb_table", "jobs");
    assert.equal(tf.variable.table_name.default, "hydra-compose-jobs");
    assert.equal(t.billing_mode, "PAY_PER_REQUEST");
    assert.equal(t.hash_key, "job_id");
    assert.equal(t.range_key, undefined);
    const attrs = Object.fromEntries(t.attribute.map((a) => [a.name, a.type]));
    assert.deepEqual(attrs, { job_id: "S", status: "S", created_ms: "N" });
    assert.equal(t.global_secondary_index.length, 1);
    const g = t.global_secondary_index[0];
    assert.deepEqual([g.name, g.hash_key, g.range_key, g.projection_type], ["status-created", "status", "created_ms", "ALL"]);
    assert.deepEqual(t.ttl, [{ attribute_name: "ttl", enabled: true }]);
});

test("the bucket blocks public access, is encrypted and expires objects", () => {
    const pab = res("aws_s3_bucket_public_access_block", "renders");
    for (const k of ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]) assert.equal(pab[k], true, k);
    const sse = res("aws_s3_bucket_server_side_encryption_configuration", "renders");
    assert.ok(sse.rule[0].apply_server_side_encryption_by_default[0].sse_algorithm);
    const lc = res("aws_s3_bucket_lifecycle_configuration", "renders");
    assert.equal(lc.rule[0].status, "Enabled");
    assert.ok(lc.rule[0].expiration && lc.rule[0].abort_incomplete_multipart_upload);
});

test("ECR repository hydra-compose-engine with a lifecycle policy", () => {
    assert.equal(res("aws_ecr_repository", "engine").name, "hydra-compose-engine");
    assert.ok(res("aws_ecr_lifecycle_policy", "engine").policy.includes("expire"));
});

test("spot pools: SPOT_PRICE_CAPACITY_OPTIMIZED, the instance families, the AL2023 image types, replaceable", () => {
    const want = { gpu: { image: "ECS_AL2023_NVIDIA", families: ["g4dn", "g5"], max: "gpu_max_vcpus" }, cpu: { image: "ECS_AL2023", families: ["c5", "c6i", "c7i", "m5"], max: "cpu_max_vcpus" } };
    for (const [pool, w] of Object.entries(want)) {
        const ce = res("aws_batch_compute_environment", pool);
        const cr = ce.compute_resources[0];
        assert.equal(cr.type, "SPOT");
        assert.equal(cr.allocation_strategy, "SPOT_PRICE_CAPACITY_OPTIMIZED");
        assert.equal(cr.ec2_configuration[0].image_type, w.image);
        assert.equal(cr.max_vcpus, `\${var.${w.max}}`);
        const types = tf.variable[`${pool}_instance_types`].default;
        for (const fam of w.families) assert.ok(types.some((t) => t.startsWith(fam + ".")), `${pool}: no ${fam} type`);
        assert.ok(types.every((t) => w.families.includes(t.split(".")[0])), `${pool}: a type outside ${w.families}`);
        // name_prefix + create_before_destroy: no "existing JobQueue relationship" failure on replacement.
        assert.ok(ce.name_prefix && !ce.name, `${pool}: name_prefix, not name`);
        assert.equal(ce.lifecycle[0].create_before_destroy, true);
        const q = res("aws_batch_job_queue", pool);
        assert.equal(q.compute_environment_order[0].compute_environment, `\${aws_batch_compute_environment.${pool}.arn}`);
    }
    assert.equal(tf.variable.gpu_max_vcpus.default, 64);
    assert.equal(tf.variable.cpu_max_vcpus.default, 32);
});

test("job definitions: image tags, worker command, resources below the instance memory, DESIGN.md environment, retry strategy", () => {
    const smallest = { gpu: 16384, cpu: 8192 }; // g4dn.xlarge / g5.xlarge; c5.xlarge
    for (const pool of ["gpu", "cpu"]) {
        const jd = res("aws_batch_job_definition", pool);
        const cp = jd.container_properties;
        assert.match(cp, new RegExp(`image\\s*=\\s*"\\$\\{aws_ecr_repository\\.engine\\.repository_url\\}:${pool}"`));
        assert.match(cp, /command\s*=\s*\["worker"\]/);
        assert.match(cp, /logDriver\s*=\s*"awslogs"/);
        assert.match(cp, /type = "MEMORY", value = tostring\(var\.\w+_job_memory_mib\)/);
        const mem = tf.variable[`${pool}_job_memory_mib`].default;
        assert.ok(mem <= smallest[pool] - 768, `${pool}: ${mem} MiB leaves no headroom below ${smallest[pool]} MiB`);
        if (pool === "gpu") {
            assert.match(cp, /type = "GPU", value = "1"/);
            assert.match(cp, /name = "NVIDIA_DRIVER_CAPABILITIES", value = "compute,video,utility"/);
            assert.match(cp, /name = "USE_NVENC", value = "1"/);
        } else assert.doesNotMatch(cp, /"GPU"/);
        const rs = jd.retry_strategy[0];
        assert.equal(rs.attempts, 3);
        assert.deepEqual(rs.evaluate_on_exit, [
            { on_status_reason: "Host EC2*", action: "RETRY" },
            { on_exit_code: "3", action: "RETRY" },
            { on_reason: "*", action: "EXIT" },
        ]);
        assert.equal(jd.timeout[0].attempt_duration_seconds, "${var.job_timeout_s}");
    }
    const env = Object.fromEntries(tf.locals.worker_env.map((e) => [e.name, e.value]));
    for (const n of ["HC_STORE", "HC_STORAGE", "SECRETS_NAME", "AWS_REGION"]) assert.ok(env[n], n);
    assert.equal(env.HC_STORE, "dynamodb:${aws_dynamodb_table.jobs.name}");
    assert.equal(env.HC_STORAGE, "s3://${aws_s3_bucket.renders.bucket}");
    assert.equal(tf.locals.batch_log, "/aws/batch/hydra-compose-engine");
});

test("Lambda: the CPU image with command lambda, the DESIGN.md environment, every route, CORS in API Gateway, a schedule", () => {
    for (const fn of ["api", "reconciler"]) {
        const f = res("aws_lambda_function", fn);
        assert.equal(f.package_type, "Image");
        assert.equal(f.image_uri, "${aws_ecr_repository.engine.repository_url}:cpu");
        assert.deepEqual(f.image_config, [{ command: ["lambda"] }]);
        assert.equal(f.environment[0].variables, "${local.lambda_env}");
    }
    const env = Object.keys(tf.locals.lambda_env);
    for (const n of ["HC_STORE", "HC_STORAGE", "HC_EXECUTOR", "HC_BATCH_QUEUE_GPU", "HC_BATCH_QUEUE_CPU", "HC_BATCH_JOBDEF_GPU", "HC_BATCH_JOBDEF_CPU", "HC_GPU_WAIT_S", "HC_PRESIGN_TTL_S", "SECRETS_NAME"])
        assert.ok(env.includes(n), n);
    assert.ok(!env.includes("AWS_REGION"), "AWS_REGION is reserved in Lambda");
    assert.equal(tf.locals.lambda_env.HC_EXECUTOR, "aws-batch");
    assert.deepEqual(tf.locals.api_routes.slice().sort(), ["DELETE /render/{id}", "GET /healthz", "GET /jobs", "GET /render/status", "GET /render/{id}", "POST /render"]);
    const api = res("aws_apigatewayv2_api", "main");
    assert.equal(api.protocol_type, "HTTP");
    assert.ok(api.cors_configuration[0].allow_methods.includes("OPTIONS"));
    assert.ok(!tf.locals.api_routes.some((r) => r.startsWith("OPTIONS")), "OPTIONS is answered by the CORS configuration");
    assert.equal(res("aws_apigatewayv2_integration", "api").payload_format_version, "2.0");
    assert.equal(res("aws_cloudwatch_event_rule", "reconcile").schedule_expression, "rate(1 minute)");
    assert.equal(res("aws_cloudwatch_event_target", "reconcile").arn, "${aws_lambda_function.reconciler.arn}");
    for (const g of Object.values(tf.resource.aws_cloudwatch_log_group)) assert.equal(g.retention_in_days, "${var.log_retention_days}");
});

test("IAM: no wildcard action; \"*\" resources only for calls without resource-level permissions", () => {
    const noResourceLevel = new Set(["ecr:GetAuthorizationToken", "ecs:DiscoverPollEndpoint", "ec2:DescribeTags", "batch:DescribeJobs", "batch:DescribeJobQueues"]);
    for (const [name, doc] of Object.entries(tf.data.aws_iam_policy_document)) {
        for (const st of doc.statement) {
            for (const a of st.actions) assert.ok(!a.includes("*"), `${name}: action ${a}`);
            if (Array.isArray(st.resources) && st.resources.includes("*"))
                for (const a of st.actions) assert.ok(noResourceLevel.has(a), `${name}: ${a} on "*"`);
        }
    }
    assert.equal(tf.resource.aws_iam_role_policy_attachment, undefined, "no managed policies (they carry wildcard actions)");
});

test("secret hydra/compose-engine with REPLACE_ME for the seed guide's keys, never overwritten", () => {
    assert.equal(tf.variable.secret_name.default, "hydra/compose-engine");
    const v = res("aws_secretsmanager_secret_version", "placeholder");
    for (const k of ["OPENAI_API_KEY", "GEMINI_API_KEY", "SUPABASE_URL", "SUPABASE_KEY", "REDIS_URL", "CALLBACK_SECRET"])
        assert.match(v.secret_string, new RegExp(`${k}\\s*=\\s*"REPLACE_ME"`));
    assert.deepEqual(v.lifecycle[0].ignore_changes, ["${secret_string}"]);
});

test("outputs deploy.sh and the guide use", () => {
    for (const o of ["api_endpoint", "ecr_repository_url", "bucket", "table", "gpu_queue", "cpu_queue", "region", "api_function", "reconciler_function"])
        assert.ok(tf.output[o], o);
});
