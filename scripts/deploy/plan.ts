/**
 * npm run plan -- <stack> [--read-only-b]: plain `terraform init` and `terraform plan` of the
 * reviewed Terraform `npm run synth` wrote (cdktf.out/review/<stack>: main.tf and the committed
 * lock file; no cdktf CLI), saving the plan (tfplan, plan.json) and a markdown summary (plan.md):
 * the counts, every resource change, and every policy diff one statement per block.
 *
 * npm run apply -- <stack> [--reviewed <plan.json>]: applies exactly the saved tfplan. With
 * --reviewed, it first compares the saved plan's changes with the reviewed plan's and refuses on
 * any difference, naming each resource address (Terraform itself refuses a plan whose state moved).
 *
 * --read-only-b: the account B providers assume the pipeline's read-only role in B instead of the
 * bootstrap role (an override file beside main.tf), for the pull-request plan; such a plan is for
 * review only: apply from a plan made with the deploy role.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { targetProviderAlias } from "../../stacks/constructs/providers";
import type { AppConfig } from "../../stacks/config";
import { planRoleNameInB } from "../../stacks/pipeline-names";
import { targetArns } from "../../stacks/names";
import { runCommand, usageError, UsageError } from "../shared/cli";
import { applyTerraformEnv } from "../shared/terraform-env";
import { DEFAULT_OUTDIR, projectConfig } from "../review/review";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export const PLAN_FILE = "tfplan";
export const PLAN_JSON = "plan.json";
export const PLAN_SUMMARY = "plan.md";
export const READ_ONLY_OVERRIDE = "zz_read_only_b_override.tf.json";
const POLICY_ATTRIBUTES = new Set(["policy", "assume_role_policy"]);

export const reviewFolder = (stack: string, outdir = DEFAULT_OUTDIR) => join(outdir, "review", stack);

/** The override that points every account B provider at the read-only plan role in that account. */
export function readOnlyOverride(config: AppConfig): Json {
  return {
    provider: {
      aws: config.targets.map((t, i) => ({
        alias: targetProviderAlias(t.accountId, i),
        assume_role: [{ role_arn: targetArns(config, t).bootstrapRoleArn.replace(/role\/[^/]+$/, `role/${planRoleNameInB(t)}`), session_name: "iss-tracker-plan" }],
      })),
    },
  };
}

interface Statement {
  readonly Sid?: string;
  readonly [key: string]: unknown;
}
const statementsOf = (text: unknown): Statement[] => {
  if (typeof text !== "string" || text === "") return [];
  try {
    const doc = JSON.parse(text);
    return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  } catch {
    return [];
  }
};
const key = (s: Statement, i: number) => s.Sid ?? `#${i}`;

/** One policy attribute's diff: each statement added, removed or changed, as its own JSON block. */
export function policyDiff(before: unknown, after: unknown): string[] {
  const b = new Map(statementsOf(before).map((s, i) => [key(s, i), s]));
  const a = new Map(statementsOf(after).map((s, i) => [key(s, i), s]));
  const out: string[] = [];
  const block = (label: string, s: Statement) => out.push(`${label} \`${s.Sid ?? "(no Sid)"}\`:`, "```json", JSON.stringify(s, null, 2), "```");
  for (const [k, s] of a) {
    if (!b.has(k)) block("+ added", s);
    else if (JSON.stringify(b.get(k)) !== JSON.stringify(s)) {
      block("- before", b.get(k)!);
      block("+ after", s);
    }
  }
  for (const [k, s] of b) if (!a.has(k)) block("- removed", s);
  return out;
}

/** The markdown summary of `terraform show -json` of a plan. */
export function planSummary(stack: string, plan: Json): string {
  const changes: Json[] = (plan.resource_changes ?? []).filter((c: Json) => !(c.change.actions.length === 1 && ["no-op", "read"].includes(c.change.actions[0])));
  const count = (action: string) => changes.filter((c) => c.change.actions.includes(action)).length;
  const lines = [
    `## terraform plan: \`${stack}\``,
    "",
    `**${count("create")} to add, ${changes.filter((c) => c.change.actions.includes("update")).length} to change, ${count("delete")} to destroy.**`,
    "",
  ];
  if (changes.length === 0) lines.push("No changes.");
  for (const c of changes) {
    lines.push(`### \`${c.address}\`: ${c.change.actions.join(", ")}`);
    const before = c.change.before ?? {};
    const after = c.change.after ?? {};
    const unknown = c.change.after_unknown ?? {};
    for (const attribute of Object.keys({ ...before, ...after }).filter((k) => POLICY_ATTRIBUTES.has(k)).sort()) {
      if (unknown[attribute]) {
        lines.push(`\`${attribute}\`: known after apply`);
        continue;
      }
      const diff = policyDiff(before[attribute], after[attribute]);
      if (diff.length) lines.push(`\`${attribute}\`:`, "", ...diff, "");
    }
    const other = Object.keys({ ...before, ...after }).filter((k) => !POLICY_ATTRIBUTES.has(k) && k !== "tags_all" && JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    if (other.length) lines.push(`other attributes changed: ${other.map((k) => `\`${k}\``).join(", ")}`);
    lines.push("");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** What must be the same between the reviewed plan and the plan about to be applied: each address's actions and planned values. */
export function planDifferences(reviewed: Json, current: Json): string[] {
  const shape = (plan: Json) => new Map<string, string>((plan.resource_changes ?? [])
    .filter((c: Json) => !c.change.actions.every((a: string) => a === "no-op" || a === "read"))
    .map((c: Json) => [c.address, JSON.stringify({ actions: c.change.actions, after: c.change.after ?? null, unknown: c.change.after_unknown ?? null })]));
  const r = shape(reviewed);
  const c = shape(current);
  const out: string[] = [];
  for (const [address, value] of c) {
    if (!r.has(address)) out.push(`${address}: not in the reviewed plan`);
    else if (r.get(address) !== value) out.push(`${address}: differs from the reviewed plan`);
  }
  for (const address of r.keys()) if (!c.has(address)) out.push(`${address}: in the reviewed plan, not in this one`);
  return out;
}

function terraform(dir: string, args: string[], capture = false): string {
  const env = { ...process.env };
  applyTerraformEnv(env);
  const run = spawnSync("terraform", args, { cwd: dir, env, stdio: capture ? ["ignore", "pipe", "inherit"] : "inherit", encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`terraform ${args.join(" ")} failed in ${dir} (exit ${run.status ?? run.signal})`);
  return capture ? run.stdout : "";
}

export function plan(stack: string, options: { readOnlyB?: boolean; outdir?: string; config?: AppConfig } = {}): { dir: string; summary: string; json: Json } {
  const dir = reviewFolder(stack, options.outdir);
  if (!existsSync(join(dir, "main.tf"))) throw new Error(`${dir}/main.tf is missing: run npm run synth first`);
  const override = join(dir, READ_ONLY_OVERRIDE);
  rmSync(override, { force: true });
  if (options.readOnlyB) writeFileSync(override, `${JSON.stringify(readOnlyOverride(options.config ?? projectConfig()), null, 2)}\n`);
  terraform(dir, ["init", "-input=false", "-lockfile=readonly"]);
  terraform(dir, ["plan", "-input=false", `-out=${PLAN_FILE}`]);
  const json = JSON.parse(terraform(dir, ["show", "-json", PLAN_FILE], true));
  writeFileSync(join(dir, PLAN_JSON), `${JSON.stringify(json)}\n`);
  const summary = planSummary(stack, json);
  writeFileSync(join(dir, PLAN_SUMMARY), summary);
  return { dir, summary, json };
}

export function apply(stack: string, options: { reviewed?: string; outdir?: string } = {}): void {
  const dir = reviewFolder(stack, options.outdir);
  if (!existsSync(join(dir, PLAN_FILE))) throw new Error(`${dir}/${PLAN_FILE} is missing: run npm run plan -- ${stack} first`);
  if (existsSync(join(dir, READ_ONLY_OVERRIDE))) throw new Error(`the saved plan of ${stack} was made with --read-only-b (review only): run npm run plan -- ${stack} with the deploy role`);
  if (options.reviewed) {
    const current = JSON.parse(terraform(dir, ["show", "-json", PLAN_FILE], true));
    const differences = planDifferences(JSON.parse(readFileSync(options.reviewed, "utf8")), current);
    if (differences.length) throw new Error(`refusing to apply ${stack}: the plan differs from the reviewed plan ${options.reviewed}:\n${differences.map((d) => `  - ${d}`).join("\n")}`);
  }
  terraform(dir, ["apply", "-input=false", PLAN_FILE]);
}

const USAGE = `usage: npm run plan -- <stack> [--read-only-b]
       npm run apply -- <stack> [--reviewed <plan.json>]`;

export async function main(verb: "plan" | "apply", argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) throw new UsageError(USAGE, true);
  const [stack, ...rest] = argv;
  if (!stack || stack.startsWith("-")) throw usageError("name the stack", USAGE);
  try {
    if (verb === "plan") {
      const { dir, summary } = plan(stack, { readOnlyB: rest.includes("--read-only-b") });
      console.log(summary);
      console.error(`plan: ${join(dir, PLAN_FILE)}, ${join(dir, PLAN_JSON)}, ${join(dir, PLAN_SUMMARY)}`);
    } else {
      const at = rest.indexOf("--reviewed");
      apply(stack, { reviewed: at >= 0 ? rest[at + 1] : undefined });
    }
    return 0;
  } catch (error) {
    console.error(`${verb}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (require.main === module) {
  const [verb, ...argv] = process.argv.slice(2);
  runCommand(argv, (args) => main(verb as "plan" | "apply", args)).then((code) => process.exit(code));
}
