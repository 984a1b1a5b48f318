/**
 * Terraform's JSON configuration syntax (what `cdktf synth` writes and `cdktf deploy` applies)
 * rendered as native HCL a person can review, with the same meaning:
 *
 * - every string keeps its template text: `"${aws_iam_role.x.arn}"` becomes the bare expression,
 *   a mixed template stays a quoted template; meta-arguments (provider, depends_on, lifecycle
 *   references, variable types) become the bare references and keywords native syntax wants;
 * - which argument is a nested block comes from the provider's schema (provider-schema.ts);
 * - a policy document (a JSON string with a Statement) becomes a multi-line `jsonencode({...})`,
 *   one statement per object, one key per line in the document's own order, one action per line:
 *   a one-action change is a one-line diff. AWS compares policies by content (and the provider
 *   suppresses equivalent-policy diffs), so applying this or the JSON makes the same resources;
 * - the order is the JSON's (cdktf writes sorted keys), so synths of one configuration match byte
 *   for byte; each resource is preceded by its construct path.
 *
 * Anything this renderer does not know (modules, provisioners, dynamic blocks) is an error that
 * names it, never guessed. The text is laid out by `terraform fmt` itself (formatHcl).
 */
import { execFileSync } from "node:child_process";
import type { BlockTree, ProviderBlocks } from "./provider-schema";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const KEYWORDS = new Set(["true", "false", "null", "for", "in", "if", "endif", "endfor", "else"]);
const INDENT = "  ";

/** Index of the `}` closing an interpolation or directive whose body starts at `start`. */
function closingBrace(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      // A quoted string inside the expression: skip it, with its escapes and nested templates.
      for (i++; i < text.length && text[i] !== '"'; i++) {
        if (text[i] === "\\") i++;
        else if ((text[i] === "$" || text[i] === "%") && text[i + 1] === "{") i = closingBrace(text, i + 2);
      }
    } else if (c === "{") depth++;
    else if (c === "}") {
      if (depth === 0) return i;
      depth--;
    }
  }
  throw new Error(`unterminated template sequence in ${JSON.stringify(text)}`);
}

type Segment = { readonly literal: string } | { readonly sequence: string };

/** A template's literal text and its `${...}` / `%{...}` sequences (escaped `$${` / `%%{` stay literal). */
export function templateSegments(text: string): Segment[] {
  const segments: Segment[] = [];
  let literal = "";
  for (let i = 0; i < text.length; i++) {
    const two = text.slice(i, i + 2);
    const three = text.slice(i, i + 3);
    if (three === "$${" || three === "%%{") {
      literal += three;
      i += 2;
    } else if (two === "${" || two === "%{") {
      if (literal) segments.push({ literal });
      literal = "";
      const end = closingBrace(text, i + 2);
      segments.push({ sequence: text.slice(i, end + 1) });
      i = end;
    } else literal += text[i];
  }
  if (literal) segments.push({ literal });
  return segments;
}

function escapeLiteral(text: string): string {
  return text.replace(/[\\"\u0000-\u001f]/g, (c) => {
    switch (c) {
      case "\\": return "\\\\";
      case '"': return '\\"';
      case "\n": return "\\n";
      case "\r": return "\\r";
      case "\t": return "\\t";
      default: return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
    }
  });
}

/** A JSON-syntax string as a native expression: the bare expression of an interpolation-only template, else a quoted template. */
export function templateExpression(text: string): string {
  const segments = templateSegments(text);
  if (segments.length === 1 && "sequence" in segments[0] && segments[0].sequence.startsWith("${") && !/^\$\{~|~\}$/.test(segments[0].sequence)) {
    return segments[0].sequence.slice(2, -1).trim();
  }
  return `"${segments.map((s) => ("literal" in s ? escapeLiteral(s.literal) : s.sequence)).join("")}"`;
}

/** A reference or keyword written as a JSON string (provider = "aws.b", depends_on = ["aws_x.y"]): bare. */
function bare(value: Json, what: string): string {
  if (typeof value !== "string") throw new Error(`${what} must be a string, got ${JSON.stringify(value)}`);
  const m = /^\$\{(.*)\}$/s.exec(value);
  return (m ? m[1] : value).trim();
}

function key(name: string): string {
  return IDENTIFIER.test(name) && !KEYWORDS.has(name) ? name : templateExpression(name);
}

/** A policy document in a JSON string, parsed; undefined for any other string. */
export function policyDocumentOf(text: string): Json | undefined {
  if (!/^\s*\{/.test(text)) return undefined;
  try {
    const doc = JSON.parse(text);
    return doc && typeof doc === "object" && !Array.isArray(doc) && "Statement" in doc ? doc : undefined;
  } catch {
    return undefined;
  }
}

/** A JSON value as a native expression; continuation lines carry `indent` plus their own depth. */
function expression(value: Json, indent: string, policies = true): string {
  if (value === null) return "null";
  if (typeof value === "boolean" || typeof value === "number") return String(value);
  if (typeof value === "string") {
    const doc = policies ? policyDocumentOf(value) : undefined;
    return doc ? `jsonencode(${expression(doc, indent, false)})` : templateExpression(value);
  }
  const inner = indent + INDENT;
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    if (value.length === 1 && (value[0] === null || typeof value[0] !== "object")) return `[${expression(value[0], indent, policies)}]`;
    return `[\n${value.map((v) => `${inner}${expression(v, inner, policies)},\n`).join("")}${indent}]`;
  }
  const entries = Object.entries<Json>(value);
  if (entries.length === 0) return "{}";
  return `{\n${entries.map(([k, v]) => `${inner}${key(k)} = ${expression(v, inner, policies)}\n`).join("")}${indent}}`;
}

/** Lines of text being written, at an indentation. */
class Writer {
  readonly lines: string[] = [];
  line(indent: string, text: string): void {
    this.lines.push(`${indent}${text}`);
  }
  attribute(indent: string, name: string, value: Json): void {
    this.line(indent, `${key(name)} = ${expression(value, indent)}`);
  }
  blank(): void {
    if (this.lines.length > 0 && this.lines[this.lines.length - 1] !== "") this.lines.push("");
  }
}

function asList(value: Json): Json[] {
  return Array.isArray(value) ? value : [value];
}

/**
 * A block body: attributes first (in the JSON's order), nested blocks after them, each as the
 * schema says. `first` and `last` name arguments written before and after all others (meta-arguments).
 */
function body(w: Writer, indent: string, content: Json, tree: BlockTree, where: string, special: Record<string, (w: Writer, indent: string, value: Json) => void> = {}, first: readonly string[] = [], last: readonly string[] = []): void {
  const entries = Object.entries<Json>(content ?? {}).filter(([k]) => k !== "//");
  const rank = (k: string) => (first.includes(k) ? 0 : last.includes(k) ? 3 : tree[k] ? 2 : 1);
  const ordered = entries
    .map(([k, v], i) => ({ k, v, i }))
    .sort((a, b) => rank(a.k) - rank(b.k) || (rank(a.k) === 0 ? first.indexOf(a.k) - first.indexOf(b.k) : rank(a.k) === 3 ? last.indexOf(a.k) - last.indexOf(b.k) : a.i - b.i));
  for (const { k, v } of ordered) {
    if (special[k]) special[k](w, indent, v);
    else if (tree[k]) nestedBlock(w, indent, k, v, tree[k], `${where}.${k}`);
    else w.attribute(indent, k, v);
  }
}

function nestedBlock(w: Writer, indent: string, name: string, value: Json, spec: BlockTree[string], where: string): void {
  if (spec.mode === "map") {
    for (const [label, content] of Object.entries<Json>(value)) {
      for (const item of asList(content)) block(w, indent, `${name} ${JSON.stringify(label)}`, item, spec.blocks, where);
    }
    return;
  }
  for (const item of asList(value)) block(w, indent, name, item, spec.blocks, where);
}

function block(w: Writer, indent: string, header: string, content: Json, tree: BlockTree, where: string, special?: Parameters<typeof body>[5], first?: readonly string[], last?: readonly string[]): void {
  w.line(indent, `${header} {`);
  body(w, indent + INDENT, content, tree, where, special, first, last);
  w.line(indent, "}");
}

/** A nested block without a provider schema (lifecycle, validation, conditions): every object-valued argument named in `blocks` is a block. */
function plainBlocks(...names: string[]): BlockTree {
  return Object.fromEntries(names.map((n) => [n, { mode: "list" as const, blocks: {} }]));
}

const CONDITIONS = plainBlocks("precondition", "postcondition");

function references(w: Writer, indent: string, name: string, value: Json, what: string): void {
  const refs = asList(value).map((v: Json) => bare(v, what));
  w.line(indent, refs.length <= 1 ? `${name} = [${refs.join("")}]` : `${name} = [\n${refs.map((r) => `${indent}${INDENT}${r},\n`).join("")}${indent}]`);
}

const META: Record<string, (w: Writer, indent: string, value: Json) => void> = {
  provider: (w, indent, value) => w.line(indent, `provider = ${bare(value, "provider")}`),
  depends_on: (w, indent, value) => references(w, indent, "depends_on", value, "depends_on"),
  lifecycle: (w, indent, value) => {
    for (const item of asList(value)) {
      block(w, indent, "lifecycle", item, CONDITIONS, "lifecycle", {
        ignore_changes: (w2, i2, v) => (v === "all" ? w2.line(i2, "ignore_changes = all") : references(w2, i2, "ignore_changes", v, "ignore_changes")),
        replace_triggered_by: (w2, i2, v) => references(w2, i2, "replace_triggered_by", v, "replace_triggered_by"),
      });
    }
  },
  connection: () => {
    throw new Error("connection blocks are not supported by the review renderer (scripts/review/hcl.ts)");
  },
  provisioner: () => {
    throw new Error("provisioners are not supported by the review renderer (scripts/review/hcl.ts)");
  },
};

function comment(w: Writer, content: Json): void {
  const path = content?.["//"]?.metadata?.path;
  if (typeof path === "string") w.line("", `# ${path}`);
}

function entriesOf(section: Json): Array<[string, Json]> {
  return Object.entries<Json>(section ?? {}).filter(([k]) => k !== "//");
}

function terraformBlock(w: Writer, content: Json): void {
  w.line("", "terraform {");
  for (const [k, v] of entriesOf(content)) {
    if (k === "required_providers") {
      block(w, INDENT, "required_providers", v, {}, "terraform.required_providers");
    } else if (k === "backend") {
      for (const [type, settings] of entriesOf(v)) block(w, INDENT, `backend ${JSON.stringify(type)}`, settings, {}, `terraform.backend.${type}`);
    } else if (k === "cloud") {
      block(w, INDENT, "cloud", v, plainBlocks("workspaces"), "terraform.cloud");
    } else if (k === "required_version" || k === "experiments") {
      w.attribute(INDENT, k, v);
    } else {
      throw new Error(`terraform.${k} is not supported by the review renderer (scripts/review/hcl.ts)`);
    }
  }
  w.line("", "}");
}

const TOP_LEVEL = ["//", "terraform", "provider", "variable", "locals", "data", "resource", "output", "removed"];

/** Native HCL with the meaning of a Terraform JSON configuration (`cdk.tf.json`); unformatted: see formatHcl. */
export function renderHcl(config: Json, schema: ProviderBlocks, header: readonly string[] = []): string {
  const unknown = Object.keys(config).filter((k) => !TOP_LEVEL.includes(k));
  if (unknown.length > 0) throw new Error(`${unknown.join(", ")} is not supported by the review renderer (scripts/review/hcl.ts)`);
  const w = new Writer();
  for (const line of header) w.line("", line ? `# ${line}` : "#");
  w.blank();
  if (config.terraform) {
    terraformBlock(w, config.terraform);
    w.blank();
  }
  for (const [name, configs] of entriesOf(config.provider)) {
    if (name !== "aws") throw new Error(`provider ${name}: only hashicorp/aws has a schema here (scripts/review/provider-schema.ts)`);
    for (const content of asList(configs)) {
      block(w, "", `provider ${JSON.stringify(name)}`, content, schema.provider, `provider.${name}`, {}, ["alias"]);
      w.blank();
    }
  }
  for (const [name, content] of entriesOf(config.variable)) {
    block(w, "", `variable ${JSON.stringify(name)}`, content, plainBlocks("validation"), `variable.${name}`, {
      type: (w2, indent, value) => w2.line(indent, `type = ${bare(value, "a variable's type")}`),
    });
    w.blank();
  }
  if (config.locals) {
    block(w, "", "locals", Object.assign({}, ...asList(config.locals)), {}, "locals");
    w.blank();
  }
  for (const [section, schemas, keyword] of [["data", schema.dataSources, "data"], ["resource", schema.resources, "resource"]] as const) {
    for (const [type, byName] of entriesOf(config[section])) {
      const tree = schemas[type];
      if (!tree) throw new Error(`${keyword} type ${type} is not in hashicorp/aws's schema`);
      for (const [name, content] of entriesOf(byName)) {
        comment(w, content);
        block(w, "", `${keyword} ${JSON.stringify(type)} ${JSON.stringify(name)}`, content, tree, `${type}.${name}`, META, ["count", "for_each", "provider"], ["lifecycle", "depends_on"]);
        w.blank();
      }
    }
  }
  for (const [name, content] of entriesOf(config.output)) {
    block(w, "", `output ${JSON.stringify(name)}`, content, CONDITIONS, `output.${name}`, { depends_on: META.depends_on });
    w.blank();
  }
  // A retired target's bucket: resources Terraform forgets (stacks/constructs/forget.ts).
  for (const removed of asList(config.removed ?? [])) {
    const { from, lifecycle, ...rest } = removed as { from: string; lifecycle?: { destroy?: boolean } };
    if (Object.keys(rest).length > 0 || !/^[a-z0-9_]+\.[\w-]+$/.test(from)) throw new Error(`removed block ${JSON.stringify(removed)} is not supported by the review renderer (scripts/review/hcl.ts)`);
    w.line("", "removed {");
    w.line(INDENT, `from = ${from}`);
    if (lifecycle) {
      w.line(INDENT, "lifecycle {");
      w.line(INDENT + INDENT, `destroy = ${lifecycle.destroy === false ? "false" : "true"}`);
      w.line(INDENT, "}");
    }
    w.line("", "}");
    w.blank();
  }
  while (w.lines[w.lines.length - 1] === "") w.lines.pop();
  return `${w.lines.join("\n")}\n`;
}

/** `terraform fmt` of a text (stdin to stdout; needs no provider): the canonical layout. */
export function formatHcl(text: string, env: NodeJS.ProcessEnv = process.env): string {
  try {
    return execFileSync("terraform", ["fmt", "-no-color", "-"], { input: text, env, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? "");
    throw new Error(`terraform fmt rejected the rendered HCL (a renderer bug: scripts/review/hcl.ts):\n${stderr}`);
  }
}
