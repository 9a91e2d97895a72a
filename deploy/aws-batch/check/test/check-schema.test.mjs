// The schema check must reject every fixture in test/bad/ with exactly the
// problems its "# expect:" lines name, accept test/good/, and accept the real
// deploy/aws-batch/terraform tree.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkPaths } from "../check-schema.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const bad = path.join(here, "bad");

for (const f of fs.readdirSync(bad).filter((x) => x.endsWith(".tf")).sort()) {
    test(`rejects bad/${f}`, async () => {
        const file = path.join(bad, f);
        const expects = [...fs.readFileSync(file, "utf8").matchAll(/^# expect: (.+)$/gm)].map((m) => m[1]);
        assert.ok(expects.length > 0, `${f} has no "# expect:" line`);
        const r = await checkPaths([file]);
        for (const e of expects)
            assert.ok(r.problems.some((p) => p.includes(e)), `expected a problem containing\n  ${e}\ngot:\n  ${r.problems.join("\n  ")}`);
        const unexpected = r.problems.filter((p) => !expects.some((e) => p.includes(e)));
        assert.deepEqual(unexpected, [], "problems nobody expected");
    });
}

test("accepts good/ (count, for_each, splats, dynamic blocks, nested attributes)", async () => {
    const r = await checkPaths([path.join(here, "good")]);
    assert.deepEqual(r.problems, []);
    assert.ok(r.refs >= 15, `only ${r.refs} references were checked`);
});

test("accepts the real deploy/aws-batch/terraform tree", async () => {
    const r = await checkPaths([path.join(here, "..", "..", "terraform")]);
    assert.deepEqual(r.problems, []);
    assert.ok(r.files >= 6 && r.resources >= 50, `${r.files} files, ${r.resources} resources`);
});
