// The hashicorp/aws provider's schema as the generated bindings of
// @cdktf/provider-aws describe it (21.22.1 = hashicorp/aws 6.25.0).
//
// Invariant: every fact returned here was read from the package's
// lib/<dir>/index.d.ts (and lib/<dir>/index-structs/*.d.ts for the few large
// resources split that way); nothing is hard-coded about any resource.
//   - a resource or data source is the class whose `static readonly
//     tfResourceType = "<type>"` names it; its arguments are the properties of
//     the interface `<Class>Config`;
//   - an argument's Terraform name is the anchor of its doc link
//     (`{@link https://.../docs/resources/x#<name> X#<name>}`), `?` marks it
//     optional, and a property whose type names an interface of the file is a
//     nested block (a plain interface type: at most one such block; `X[]`: a
//     list of them);
//   - the readable attributes are the class's getters (camelCase, turned back
//     into snake_case, preferring the anchor of the argument of that name), a
//     getter of type `<X>OutputReference` / `<X>List` / `<X>Map` leading to
//     the nested attributes of the class `<X>OutputReference`.
import fs from "node:fs";
import path from "node:path";

const LINK_ANCHOR = /\{@link https:\/\/[^\s#]*\/providers\/hashicorp\/aws\/[^#\s]*#([A-Za-z0-9_]+) /;

export function camelToSnake(s) {
    return s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
}

// The text from `start` up to the `;` that ends a TypeScript type at brace
// depth 0 (types such as `{ [key: string]: string; }` span lines).
function readType(text, start) {
    let depth = 0;
    for (let i = start; i < text.length; i++) {
        const c = text[i];
        if (c === "{" || c === "(" || c === "<") depth++;
        else if (c === "}" || c === ")" || c === ">") depth--;
        else if (c === ";" && depth === 0) return { type: text.slice(start, i).trim(), end: i + 1 };
    }
    return { type: text.slice(start).trim(), end: text.length };
}

// The body of the declaration opening at text[open] == "{", up to its
// matching brace.
function readBody(text, open) {
    let depth = 0;
    for (let i = open; i < text.length; i++) {
        if (text[i] === "{") depth++;
        else if (text[i] === "}" && --depth === 0) return text.slice(open + 1, i);
    }
    throw new Error("unbalanced braces in a .d.ts file");
}

function parseDts(text) {
    const interfaces = new Map(); // name -> [{camel, name, optional, type}]
    const classes = new Map(); // name -> {base, getters: [{camel, type}], tfType}
    const decl = /^export (interface|declare class) (\w+)(?: extends ([\w.]+))?[^{\n]*\{/gm;
    let m;
    while ((m = decl.exec(text))) {
        const body = readBody(text, decl.lastIndex - 1);
        if (m[1] === "interface") {
            const props = [];
            const prop = /readonly (\w+)(\??): /g;
            let p;
            while ((p = prop.exec(body))) {
                const { type, end } = readType(body, prop.lastIndex);
                // The doc comment right before this property.
                const before = body.slice(0, p.index);
                const cstart = before.lastIndexOf("/**");
                const comment = cstart >= 0 ? before.slice(cstart) : "";
                const a = LINK_ANCHOR.exec(comment);
                props.push({ camel: p[1], name: a ? a[1] : camelToSnake(p[1]), optional: p[2] === "?", type });
                prop.lastIndex = end;
            }
            interfaces.set(m[2], props);
        } else {
            const getters = [];
            const get = /\bget (\w+)\(\): /g;
            let g;
            while ((g = get.exec(body))) {
                const { type, end } = readType(body, get.lastIndex);
                getters.push({ camel: g[1], type });
                get.lastIndex = end;
            }
            const t = /static readonly tfResourceType = "([^"]+)"/.exec(body);
            classes.set(m[2], { base: m[3] || "", getters, tfType: t ? t[1] : null });
        }
        decl.lastIndex = decl.lastIndex; // continue after the header; bodies may nest nothing we need
    }
    return { interfaces, classes };
}

const GETTER_SKIP = new Set(["internalValue", "fqn", "friendlyUniqueId", "terraformMetaArguments"]);

export class Schema {
    constructor(libDir) {
        this.lib = libDir;
        this.cache = new Map();
        this.index = null; // tfType -> dir, built only when the direct path misses
    }

    static locate(fromDir) {
        const lib = path.join(fromDir, "node_modules", "@cdktf", "provider-aws", "lib");
        if (!fs.existsSync(lib)) return null;
        return new Schema(lib);
    }

    providerVersion() {
        const pkg = JSON.parse(fs.readFileSync(path.join(this.lib, "..", "package.json"), "utf8"));
        const p = (pkg.cdktf && pkg.cdktf.provider) || {};
        // "<registry host>/hashicorp/aws" -> "hashicorp/aws"
        return { bindings: pkg.version, provider: String(p.name || "").split("/").slice(-2).join("/"), version: p.version };
    }

    readDir(dir) {
        const full = path.join(this.lib, dir);
        if (!fs.existsSync(path.join(full, "index.d.ts"))) return null;
        let text = fs.readFileSync(path.join(full, "index.d.ts"), "utf8");
        const structs = path.join(full, "index-structs");
        if (fs.existsSync(structs))
            for (const f of fs.readdirSync(structs).sort())
                if (f.endsWith(".d.ts")) text += "\n" + fs.readFileSync(path.join(structs, f), "utf8");
        return parseDts(text);
    }

    findDir(kind, tfType) {
        if (!this.index) {
            this.index = new Map();
            for (const d of fs.readdirSync(this.lib)) {
                const f = path.join(this.lib, d, "index.d.ts");
                if (!fs.existsSync(f)) continue;
                const m = /extends cdktf\.Terraform(Resource|DataSource) \{\s*static readonly tfResourceType = "([^"]+)"/.exec(fs.readFileSync(f, "utf8"));
                if (m) this.index.set((m[1] === "Resource" ? "resource:" : "data:") + m[2], d);
            }
        }
        return this.index.get(kind + ":" + tfType) || null;
    }

    // kind: "resource", "data" or "provider"; type: "aws_s3_bucket" (for a
    // data source the type without "data."; for the provider "aws").
    // Returns null when the provider has no such type.
    get(kind, type) {
        const key = kind + ":" + type;
        if (this.cache.has(key)) return this.cache.get(key);
        const tfType = type;
        const base = { resource: "cdktf.TerraformResource", data: "cdktf.TerraformDataSource", provider: "cdktf.TerraformProvider" }[kind];
        const pick = (p) => p && [...p.classes.entries()].find(([, c]) => c.tfType === tfType && c.base === base);
        let dir;
        if (kind === "provider") dir = "provider";
        else if (kind === "data") dir = "data-" + type.replace(/_/g, "-");
        else dir = type.replace(/^aws_/, "").replace(/_/g, "-");
        let parsed = this.readDir(dir);
        let cls = pick(parsed);
        if (!cls) {
            const other = this.findDir(kind, tfType);
            parsed = other && this.readDir(other);
            cls = pick(parsed);
        }
        const result = cls ? this.build(parsed, cls[0], cls[1]) : null;
        this.cache.set(key, result);
        return result;
    }

    build(parsed, className, cls) {
        const { interfaces, classes } = parsed;
        const blockOf = (type) => {
            // The nested block interface a property type names, and whether
            // the block repeats.
            const ids = type.match(/[A-Za-z_]\w*/g) || [];
            const iface = ids.find((id) => interfaces.has(id));
            if (!iface) return null;
            return { iface, list: new RegExp(`\\b${iface}\\[\\]`).test(type) };
        };
        const blockSchemas = new Map();
        const blockSchema = (ifaceName) => {
            if (blockSchemas.has(ifaceName)) return blockSchemas.get(ifaceName);
            const args = new Map();
            const s = { iface: ifaceName, args };
            blockSchemas.set(ifaceName, s);
            for (const p of interfaces.get(ifaceName) || []) {
                const b = blockOf(p.type);
                args.set(p.name, {
                    name: p.name,
                    camel: p.camel,
                    required: !p.optional,
                    block: b ? { list: b.list, schema: null, iface: b.iface } : null,
                });
            }
            for (const a of args.values()) if (a.block) a.block.schema = blockSchema(a.block.iface);
            return s;
        };
        const attrsOf = (klass, argSchema) => {
            // Readable attributes: getters, named by the argument's anchor
            // when there is one.
            const byCamel = new Map();
            if (argSchema) for (const a of argSchema.args.values()) byCamel.set(a.camel, a.name);
            const attrs = new Map();
            for (const g of (klass && klass.getters) || []) {
                if (GETTER_SKIP.has(g.camel) || g.camel.endsWith("Input")) continue;
                const name = byCamel.get(g.camel) || camelToSnake(g.camel);
                const ref = /^(\w+?)(OutputReference|List|Map)$/.exec(g.type.trim());
                attrs.set(name, { name, nested: ref ? ref[1] : null });
            }
            return attrs;
        };
        const config = className === "AwsProvider" ? "AwsProviderConfig" : className + "Config";
        const top = blockSchema(config);
        const nestedAttrs = new Map();
        const schema = {
            className,
            args: top.args,
            attrs: attrsOf(cls, top),
            // Attributes under a nested attribute whose getter returned a
            // `<X>OutputReference` / `<X>List` / `<X>Map`.
            nested(x) {
                if (!x) return null;
                if (nestedAttrs.has(x)) return nestedAttrs.get(x);
                const k = classes.get(x + "OutputReference");
                const r = k ? attrsOf(k, interfaces.has(x) ? blockSchema(x) : null) : null;
                nestedAttrs.set(x, r);
                return r;
            },
        };
        return schema;
    }
}
