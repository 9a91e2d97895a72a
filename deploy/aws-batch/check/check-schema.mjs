#!/usr/bin/env node
// Checks Terraform files against the hashicorp/aws provider's real schema
// (the generated bindings of @cdktf/provider-aws, see schema.mjs), since no
// terraform binary is available to validate them.
//
//   node check-schema.mjs DIR_OR_FILE...      exit 0 = clean, 1 = problems
//                                             (one line each), 2 = usage/IO
//   node check-schema.mjs --each T1 T2...     each target checked on its own
//
// Invariant: a file passes only when every block parses as HCL and
//   - every resource and data source type exists in the provider;
//   - every argument and nested block of it (and of the provider block)
//     exists, every required one is given, a single block appears once, a
//     block is written as a block (not `x = {...}`);
//   - every reference (aws_x.name.attr, data.x.name.attr, var.x, local.x,
//     module.x) names a declared thing, and an attribute named after a
//     resource or data source exists on its type (one nested level deep);
//     a counted resource is indexed before its attribute;
//   - no IAM policy statement grants an action with "*", and every policy
//     argument is built by an aws_iam_policy_document (so that rule sees it).
// Meta-arguments (count, for_each, depends_on, provider, lifecycle, dynamic)
// and the terraform, variable, output and locals blocks are checked against
// Terraform's own language.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, getReferencesInExpression } from "@cdktf/hcl2json";
import { Schema } from "./schema.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));

const META = new Set(["count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"]);
const LIFECYCLE = new Set(["create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by", "precondition", "postcondition"]);
const VARIABLE = new Set(["type", "default", "description", "sensitive", "nullable", "validation", "ephemeral"]);
const OUTPUT = new Set(["value", "description", "sensitive", "depends_on", "precondition", "ephemeral"]);
const TERRAFORM = new Set(["required_version", "required_providers", "backend", "cloud", "experiments", "provider_meta"]);
const TOP = new Set(["terraform", "provider", "variable", "output", "locals", "resource", "data", "module", "moved", "import", "removed", "check"]);
// Roots a reference may start with that are not declarations (each and
// count only inside a block with for_each / count).
const BUILTIN_ROOTS = new Set(["self", "path", "terraform"]);

function lineOf(text, re) {
    const m = re.exec(text);
    if (!m) return 0;
    return text.slice(0, m.index).split("\n").length;
}

function escapeRe(s) {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function closest(name, candidates) {
    let best = null, bestD = Infinity;
    for (const c of candidates) {
        // "bucket_name" -> "bucket": a word more or less counts as close.
        const affix = c.length >= 3 && (name.startsWith(c + "_") || name.endsWith("_" + c) || c.startsWith(name + "_"));
        const d = affix ? 1 : editDistance(name, c);
        if (d < bestD) { bestD = d; best = c; }
    }
    return best && bestD <= Math.max(1, Math.floor(name.length / 3)) ? best : null;
}

function editDistance(a, b) {
    const dp = Array.from({ length: a.length + 1 }, (_, i) => [i]);
    for (let j = 1; j <= b.length; j++) dp[0][j] = j;
    for (let i = 1; i <= a.length; i++)
        for (let j = 1; j <= b.length; j++)
            dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    return dp[a.length][b.length];
}

function isBlockValue(v) {
    return Array.isArray(v) && v.every((e) => e && typeof e === "object" && !Array.isArray(e));
}

// Every string inside a parsed value (expressions are "${...}" strings).
function strings(v, out = []) {
    if (typeof v === "string") out.push(v);
    else if (Array.isArray(v)) for (const e of v) strings(e, out);
    else if (v && typeof v === "object") for (const e of Object.values(v)) strings(e, out);
    return out;
}

// Splat references (aws_x.n[*].attr) come back from hcl2json without the
// attribute; find them in the text so the attribute is checked too.
function splatRefs(expr) {
    const out = [];
    const re = /\b((?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z_][\w-]*)(?:\[\*\]|\.\*)\.([A-Za-z_]\w*)/g;
    let m;
    while ((m = re.exec(expr))) out.push(m[1] + ".*." + m[2]);
    return out;
}

function splitRef(value) {
    // "aws_x.y.\"k\".z" -> ["aws_x", "y", "\"k\"", "z"]
    return value.match(/"(?:[^"\\]|\\.)*"|[^.]+/g) || [];
}

const isIndex = (seg) => /^\d+$/.test(seg) || seg.startsWith('"') || seg === "*";

export async function checkPaths(inputs, { schema } = {}) {
    schema = schema || Schema.locate(here);
    if (!schema) throw new Error(`the provider bindings are not installed: run \`npm ci --prefix ${path.relative(process.cwd(), here) || "."}\``);
    const files = [];
    for (const p of inputs) {
        const st = fs.statSync(p);
        if (st.isDirectory()) {
            for (const f of fs.readdirSync(p).sort()) if (f.endsWith(".tf")) files.push(path.join(p, f));
        } else files.push(p);
    }
    const problems = [];
    const parsed = [];
    for (const f of files) {
        const text = fs.readFileSync(f, "utf8");
        try {
            parsed.push({ file: f, text, json: await parse(path.basename(f), text) });
        } catch (e) {
            problems.push(`${f}: does not parse as HCL: ${String(e.message || e).split("\n")[0]}`);
        }
    }

    // Declarations across all files (one module = one directory).
    const decl = { resource: new Map(), data: new Map(), variable: new Map(), local: new Map(), module: new Map() };
    const where = (p, kind, a, b) => {
        const re = kind === "variable" || kind === "module"
            ? new RegExp(`^\\s*${kind}\\s+"${escapeRe(a)}"`, "m")
            : kind === "local" ? new RegExp(`^\\s*${escapeRe(a)}\\s*=`, "m")
            : new RegExp(`^\\s*${kind}\\s+"${escapeRe(a)}"\\s+"${escapeRe(b)}"`, "m");
        return `${p.file}:${lineOf(p.text, re)}`;
    };
    for (const p of parsed) {
        for (const k of Object.keys(p.json))
            if (!TOP.has(k)) problems.push(`${p.file}: unknown top-level block "${k}"`);
        for (const kind of ["resource", "data"]) {
            for (const [type, byName] of Object.entries(p.json[kind] || {})) {
                for (const [name, bodies] of Object.entries(byName)) {
                    const addr = `${type}.${name}`;
                    const at = where(p, kind, type, name);
                    if (decl[kind].has(addr) || bodies.length > 1) problems.push(`${at}: ${kind} "${type}" "${name}" is declared twice`);
                    decl[kind].set(addr, { type, name, body: bodies[0], file: p, at });
                }
            }
        }
        for (const v of p.json.variable ? Object.entries(p.json.variable) : []) {
            const at = where(p, "variable", v[0]);
            if (decl.variable.has(v[0])) problems.push(`${at}: variable "${v[0]}" is declared twice`);
            decl.variable.set(v[0], { body: v[1][0], at, file: p });
        }
        for (const block of p.json.locals || [])
            for (const k of Object.keys(block)) {
                const at = where(p, "local", k);
                if (decl.local.has(k)) problems.push(`${at}: local "${k}" is declared twice`);
                decl.local.set(k, { at, file: p });
            }
        for (const m of p.json.module ? Object.keys(p.json.module) : []) decl.module.set(m, { at: where(p, "module", m) });
    }

    // Expressions to resolve: [location, expression, extra roots allowed].
    const exprs = [];
    const addExprs = (at, value, roots = []) => {
        for (const s of strings(value)) if (s.includes("${")) exprs.push({ at, expr: s, roots });
    };

    // Validate one block body against a schema block; ctx.dynamicRoots
    // collects the iterator names of dynamic blocks.
    function checkBody(at, what, body, block, roots, topLevel) {
        const given = new Set();
        for (const [key, value] of Object.entries(body)) {
            if (topLevel && META.has(key)) {
                given.add(key);
                if (key === "lifecycle") {
                    for (const lc of Array.isArray(value) ? value : [value])
                        for (const [k, v] of Object.entries(lc)) {
                            if (!LIFECYCLE.has(k)) problems.push(`${at}: ${what}: unknown lifecycle argument "${k}"`);
                            else if (k === "ignore_changes") ignoreChanges(at, what, v, block);
                            else addExprs(at, v, roots);
                        }
                    continue;
                }
                addExprs(at, value, roots);
                continue;
            }
            if (key === "dynamic") {
                for (const [name, dyns] of Object.entries(value)) {
                    const arg = block.args.get(name);
                    if (!arg || !arg.block) {
                        problems.push(`${at}: ${what}: dynamic "${name}": ${arg ? "is an argument, not a nested block" : "no such nested block"}`);
                        continue;
                    }
                    given.add(name);
                    for (const d of dyns) {
                        for (const k of Object.keys(d))
                            if (!["for_each", "iterator", "labels", "content"].includes(k)) problems.push(`${at}: ${what}: dynamic "${name}": unknown argument "${k}"`);
                        if (!("for_each" in d)) problems.push(`${at}: ${what}: dynamic "${name}": missing required argument "for_each"`);
                        const iter = typeof d.iterator === "string" ? d.iterator.replace(/^\$\{|\}$/g, "") : name;
                        addExprs(at, d.for_each, roots);
                        for (const c of d.content || []) checkBody(at, `${what}.${name}`, c, arg.block.schema, [...roots, iter], false);
                    }
                }
                continue;
            }
            const arg = block.args.get(key);
            if (!arg) {
                const hint = closest(key, block.args.keys());
                problems.push(`${at}: ${what}: unknown ${isBlockValue(value) && value.length ? "nested block" : "argument"} "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}`);
                addExprs(at, value, roots);
                continue;
            }
            given.add(key);
            if (arg.block) {
                if (!isBlockValue(value)) {
                    problems.push(`${at}: ${what}: "${key}" is a nested block: write ${key} { ... }, not ${key} = ...`);
                    addExprs(at, value, roots);
                    continue;
                }
                if (!arg.block.list && value.length > 1) problems.push(`${at}: ${what}: block "${key}" may appear only once (found ${value.length})`);
                for (const b of value) checkBody(at, `${what}.${key}`, b, arg.block.schema, roots, false);
            } else {
                addExprs(at, value, roots);
            }
        }
        for (const a of block.args.values())
            if (a.required && !given.has(a.name))
                problems.push(`${at}: ${what}: missing required ${a.block ? "block" : "argument"} "${a.name}"`);
    }

    // lifecycle.ignore_changes names the resource's own arguments
    // (compute_resources[0].desired_vcpus), or "all".
    function ignoreChanges(at, what, v, block) {
        if (v === "all" || v === "${all}") return;
        for (const s of strings(v)) {
            const seg = splitRef(s.replace(/^\$\{|\}$/g, "").replace(/\[(\d+|"[^"]*")\]/g, ".$1"));
            let b = block;
            for (let i = 0; i < seg.length && b; i++) {
                if (isIndex(seg[i])) continue;
                const a = b.args.get(seg[i]);
                if (!a) {
                    problems.push(`${at}: ${what}: lifecycle.ignore_changes: no argument "${seg.slice(0, i + 1).filter((x) => !isIndex(x)).join(".")}"`);
                    break;
                }
                b = a.block ? a.block.schema : null;
            }
        }
    }

    for (const p of parsed) {
        const j = p.json;
        for (const t of j.terraform || []) {
            for (const k of Object.keys(t)) if (!TERRAFORM.has(k)) problems.push(`${p.file}: terraform: unknown argument "${k}"`);
            for (const rp of t.required_providers || [])
                for (const [name, req] of Object.entries(rp))
                    if (name === "aws" && req.source !== "hashicorp/aws") problems.push(`${p.file}: terraform.required_providers.aws: source must be "hashicorp/aws", not "${req.source}"`);
        }
        for (const [name, bodies] of Object.entries(j.provider || {})) {
            const at = `${p.file}:${lineOf(p.text, new RegExp(`^\\s*provider\\s+"${escapeRe(name)}"`, "m"))}`;
            if (name !== "aws") { problems.push(`${at}: provider "${name}": only hashicorp/aws is checked here`); continue; }
            const s = schema.get("provider", "aws");
            for (const b of bodies) {
                const { alias, ...rest } = b;
                if (alias !== undefined && typeof alias !== "string") problems.push(`${at}: provider "aws": alias must be a string`);
                checkBody(at, `provider "aws"`, rest, s, [], false);
            }
        }
        for (const [name, bodies] of Object.entries(j.variable || {})) {
            const v = decl.variable.get(name);
            for (const k of Object.keys(bodies[0])) if (!VARIABLE.has(k)) problems.push(`${v.at}: variable "${name}": unknown argument "${k}"`);
            if (!("description" in bodies[0])) problems.push(`${v.at}: variable "${name}": has no description`);
            for (const val of bodies[0].validation || []) {
                for (const k of Object.keys(val)) if (!["condition", "error_message"].includes(k)) problems.push(`${v.at}: variable "${name}": validation: unknown argument "${k}"`);
                addExprs(v.at, val.condition);
            }
        }
        for (const [name, bodies] of Object.entries(j.output || {})) {
            const at = `${p.file}:${lineOf(p.text, new RegExp(`^\\s*output\\s+"${escapeRe(name)}"`, "m"))}`;
            for (const k of Object.keys(bodies[0])) if (!OUTPUT.has(k)) problems.push(`${at}: output "${name}": unknown argument "${k}"`);
            if (!("value" in bodies[0])) problems.push(`${at}: output "${name}": missing required argument "value"`);
            addExprs(at, bodies[0]);
        }
        for (const block of j.locals || []) for (const [k, v] of Object.entries(block)) addExprs(decl.local.get(k).at, v);
    }

    for (const kind of ["resource", "data"]) {
        for (const d of decl[kind].values()) {
            if (d.file.json === undefined) continue;
            const s = schema.get(kind, d.type);
            const what = `${kind === "data" ? "data " : ""}${d.type}.${d.name}`;
            if (!s) {
                const other = kind === "data" ? schema.get("resource", d.type) : schema.get("data", d.type);
                problems.push(`${d.at}: ${what}: unknown ${kind === "data" ? "data source" : "resource"} type "${d.type}"${other ? ` (it exists as a ${kind === "data" ? "resource" : "data source"})` : ""}`);
                addExprs(d.at, d.body);
                continue;
            }
            if ("count" in d.body && "for_each" in d.body) problems.push(`${d.at}: ${what}: count and for_each cannot both be set`);
            const meta = [...("for_each" in d.body ? ["each"] : []), ...("count" in d.body ? ["count"] : [])];
            checkBody(d.at, what, d.body, s, meta, true);
            policyRules(d, what, problems);
        }
    }

    // Resolve every reference.
    let refs = 0;
    const attrCheck = (at, ref, target, s, rest) => {
        // rest: segments after "type.name" (or "data.type.name").
        let i = 0;
        const counted = "count" in target.body || "for_each" in target.body;
        if (counted) {
            if (rest.length && !isIndex(rest[0])) {
                problems.push(`${at}: reference "${ref}": ${target.type}.${target.name} has ${"count" in target.body ? "count" : "for_each"}: index it before ".${rest[0]}"`);
                return;
            }
            i = 1;
        } else if (rest.length && isIndex(rest[0])) i = 1; // a splat over a single resource
        if (i >= rest.length) return;
        const attr = rest[i];
        const a = s.attrs.get(attr);
        if (!a) {
            const hint = closest(attr, s.attrs.keys());
            problems.push(`${at}: reference "${ref}": ${target.type} has no attribute "${attr}"${hint ? ` (did you mean "${hint}"?)` : ""}`);
            return;
        }
        // One nested level: attr[0].sub or attr.sub.
        let j = i + 1;
        if (j < rest.length && isIndex(rest[j])) j++;
        if (j < rest.length && a.nested) {
            const n = s.nested(a.nested);
            if (n && !n.has(rest[j])) {
                const hint = closest(rest[j], n.keys());
                problems.push(`${at}: reference "${ref}": ${target.type}.${attr} has no attribute "${rest[j]}"${hint ? ` (did you mean "${hint}"?)` : ""}`);
            }
        }
    };
    for (const { at, expr, roots } of exprs) {
        let found;
        try {
            found = (await getReferencesInExpression("expr.tf", expr)).map((r) => r.value);
        } catch (e) {
            problems.push(`${at}: expression does not parse: ${expr.slice(0, 80)}`);
            continue;
        }
        for (const value of [...found, ...splatRefs(expr)]) {
            refs++;
            const seg = splitRef(value);
            const root = seg[0];
            if (BUILTIN_ROOTS.has(root) || roots.includes(root)) continue;
            if (root === "each" || root === "count") {
                problems.push(`${at}: reference "${value}": ${root}.* outside a block with ${root === "each" ? "for_each" : "count"}`);
                continue;
            }
            if (root === "var") {
                if (!decl.variable.has(seg[1])) problems.push(`${at}: reference "${value}": no variable "${seg[1]}" is declared`);
            } else if (root === "local") {
                if (!decl.local.has(seg[1])) problems.push(`${at}: reference "${value}": no local "${seg[1]}" is declared`);
            } else if (root === "module") {
                if (!decl.module.has(seg[1])) problems.push(`${at}: reference "${value}": no module "${seg[1]}" is declared`);
            } else if (root === "data") {
                const t = decl.data.get(`${seg[1]}.${seg[2]}`);
                if (!t) { problems.push(`${at}: reference "${value}": no data "${seg[1]}" "${seg[2]}" is declared`); continue; }
                const s = schema.get("data", seg[1]);
                if (s) attrCheck(at, value, t, s, seg.slice(3));
            } else if (seg.length >= 2 && /^[a-z][a-z0-9]*_/.test(root)) {
                const t = decl.resource.get(`${seg[0]}.${seg[1]}`);
                if (!t) { problems.push(`${at}: reference "${value}": no resource "${seg[0]}" "${seg[1]}" is declared`); continue; }
                const s = schema.get("resource", seg[0]);
                if (s) attrCheck(at, value, t, s, seg.slice(2));
            } else {
                problems.push(`${at}: reference "${value}": "${root}" is not a variable, local, module, data source or resource`);
            }
        }
    }
    const resources = decl.resource.size + decl.data.size;
    return { files: files.length, resources, refs, problems: [...new Set(problems)] };
}

// Arguments holding IAM policy JSON (not, e.g., an ECR lifecycle policy).
const IAM_POLICY_ARGS = {
    aws_iam_role: ["assume_role_policy"],
    aws_iam_role_policy: ["policy"],
    aws_iam_policy: ["policy"],
    aws_iam_user_policy: ["policy"],
    aws_iam_group_policy: ["policy"],
    aws_s3_bucket_policy: ["policy"],
    aws_ecr_repository_policy: ["policy"],
    aws_secretsmanager_secret: ["policy"],
    aws_secretsmanager_secret_policy: ["policy"],
    aws_vpc_endpoint: ["policy"],
    aws_vpc_endpoint_policy: ["policy"],
    aws_sqs_queue_policy: ["policy"],
    aws_sns_topic_policy: ["policy"],
    aws_kms_key: ["policy"],
    aws_lambda_function_url: [],
};

// IAM: no action with a wildcard; policies only through aws_iam_policy_document.
function policyRules(d, what, problems) {
    if (d.type === "aws_iam_policy_document") {
        for (const st of d.body.statement || []) {
            for (const key of ["actions", "not_actions"]) {
                for (const a of strings(st[key] || []))
                    if (a.includes("*")) problems.push(`${d.at}: ${what}: statement ${st.sid ? `"${st.sid}" ` : ""}grants the wildcard action "${a}"`);
            }
            if ("not_actions" in st) problems.push(`${d.at}: ${what}: statement uses not_actions (grants everything else)`);
        }
        return;
    }
    if (d.type === "aws_iam_role")
        for (const ip of d.body.inline_policy || [])
            if (ip.policy !== undefined && !/^\$\{data\.aws_iam_policy_document\.[\w-]+\.json\}$/.test(ip.policy))
                problems.push(`${d.at}: ${what}: inline_policy.policy must be data.aws_iam_policy_document.<name>.json (so the action rules can see it)`);
    for (const key of IAM_POLICY_ARGS[d.type] || []) {
        const v = d.body[key];
        if (v === undefined) continue;
        for (const s of strings(v))
            if (!/^\$\{data\.aws_iam_policy_document\.[\w-]+(\[[^\]]+\])?\.json\}$/.test(s))
                problems.push(`${d.at}: ${what}: ${key} must be data.aws_iam_policy_document.<name>.json (so the action rules can see it)`);
    }
}

// --each: every argument is its own module (fixtures, mutated copies); one
// "== TARGET: N problem(s)" header before each one's problems; exit 1 when
// any target has problems. One process instead of one per target.
async function each(targets) {
    let bad = 0;
    for (const t of targets) {
        let r;
        try {
            r = await checkPaths([t]);
        } catch (e) {
            console.log(`== ${t}: 1 problem(s)\n${t}: ${e.message}`);
            bad++;
            continue;
        }
        console.log(`== ${t}: ${r.problems.length} problem(s)`);
        for (const p of r.problems) console.log(p);
        if (r.problems.length) bad++;
    }
    return bad ? 1 : 0;
}

async function main(argv) {
    let args = argv.slice(2);
    if (!args.length || args.includes("-h") || args.includes("--help")) {
        console.error("usage: check-schema.mjs [--each] DIR_OR_FILE.tf...");
        return 2;
    }
    if (args[0] === "--each") return each(args.slice(1));
    let r;
    try {
        r = await checkPaths(args);
    } catch (e) {
        console.error(`check-schema: ${e.message}`);
        return 2;
    }
    for (const p of r.problems) console.log(p);
    const v = Schema.locate(here).providerVersion();
    const summary = `${r.files} files, ${r.resources} resources and data sources, ${r.refs} references against ${v.provider} ${v.version} (@cdktf/provider-aws ${v.bindings})`;
    if (r.problems.length) {
        console.log(`check-schema: ${r.problems.length} problem(s) in ${summary}`);
        return 1;
    }
    if (!r.files) {
        console.log("check-schema: no .tf files found");
        return 2;
    }
    console.log(`check-schema: ok: ${summary}`);
    return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url))
    main(process.argv).then((code) => process.exit(code));
