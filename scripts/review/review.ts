/**
 * `npm run synth`: what `cdktf synth` writes (cdktf.out/stacks/<stack>/cdk.tf.json, the JSON
 * `cdktf deploy` applies), and beside it, for each stack, the same configuration as plain Terraform
 * a person can review, in its own folder (cdktf.out/review/<stack>/):
 *
 *   main.tf              native HCL (hcl.ts): terraform fmt-clean, valid without warnings
 *   .terraform.lock.hcl  the project's provider lock file
 *   assets/              the files main.tf names (the function's zip)
 *   DIGEST.md            roles, trusts, grants, boundaries, resource policies, prove's answers
 *
 * The review folder is a complete Terraform root: `terraform init && terraform plan` there is the
 * way to run the stack without cdktf (the local state path is relative, the same file as cdktf's).
 */
import { PIPELINE_STACK_NAME } from "../../stacks/pipeline-stack";
import { pipelineModelFrom } from "../prove/pipeline-model";
import { App } from "cdktf";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { appConfig, synthApp } from "../../main";
import { BOOTSTRAP_STACK_NAME } from "../../stacks/bootstrap-stack";
import { loadConfig, type AppConfig } from "../../stacks/config";
import { TRACKER_STACK_NAME } from "../../stacks/iss-tracker-stack";
import { accessModelFrom } from "../prove/access-model";
import { proveModel, type ProofRow } from "../prove/model";
import type { Json } from "../shared/synth";
import { digest } from "./digest";
import { formatHcl, renderHcl } from "./hcl";
import { awsProviderBlocks } from "./provider-schema";
import { manifestStacks, PROJECT_ROOT, PROVIDER_LOCK_FILE } from "./stack-folders";

export const DEFAULT_OUTDIR = join(PROJECT_ROOT, "cdktf.out");
/** The files a review folder holds; a new synth replaces exactly these (Terraform's own .terraform/ stays). */
const REVIEW_FILES = ["main.tf", "DIGEST.md", ".terraform.lock.hcl", "assets"] as const;

/** cdktf.json's context, as the cdktf CLI hands it to the app. */
export function projectContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(PROJECT_ROOT, "cdktf.json"), "utf8")).context ?? {};
}

/**
 * The configuration the app synthesizes for these settings, without synthesizing: the environment,
 * then cdktf.json's context (and CDKTF_CONTEXT_JSON's, which the cdktf CLI sets), as the app reads them.
 */
export function projectConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  return loadConfig({ env, context: { ...projectContext(), ...JSON.parse(env.CDKTF_CONTEXT_JSON || "{}") } });
}

/** The lines main.tf starts with. */
export function hclHeader(stack: string): string[] {
  return [
    `${stack}: plain Terraform for review, written by \`npm run synth\` from`,
    `../../stacks/${stack}/cdk.tf.json (what cdktf deploy applies): the same resources, policies spread`,
    "one statement per object. Regenerate it rather than edit it. Roles and prove's answers: DIGEST.md.",
  ];
}

/** The relative paths under a stack folder that its configuration names (assets/...), which exist. */
function assetPaths(stackDir: string, json: Json): string[] {
  const found = new Set<string>();
  const visit = (value: Json) => {
    if (typeof value === "string") {
      if (/^assets\//.test(value) && existsSync(join(stackDir, value))) found.add(value);
    } else if (value && typeof value === "object") for (const v of Object.values(value)) visit(v);
  };
  visit(json.resource);
  return [...found].sort();
}

export interface ReviewedStack {
  readonly name: string;
  /** cdktf.out/stacks/<name>/cdk.tf.json */
  readonly json: string;
  /** cdktf.out/review/<name> */
  readonly dir: string;
  readonly hclLines: number;
}

export interface ReviewResult {
  readonly stacks: readonly ReviewedStack[];
  readonly rows: readonly ProofRow[];
}

/** Renders one stack's review folder from its synthesized JSON (exported for the tests' variants). */
export function writeReviewFolder(dir: string, stack: string, stackDir: string, json: Json, digestText: string): number {
  mkdirSync(dir, { recursive: true });
  for (const file of REVIEW_FILES) rmSync(join(dir, file), { recursive: true, force: true });
  const hcl = formatHcl(renderHcl(json, awsProviderBlocks(), hclHeader(stack)));
  writeFileSync(join(dir, "main.tf"), hcl);
  writeFileSync(join(dir, ".terraform.lock.hcl"), readFileSync(PROVIDER_LOCK_FILE));
  for (const asset of assetPaths(stackDir, json)) {
    mkdirSync(dirname(join(dir, asset)), { recursive: true });
    cpSync(join(stackDir, asset), join(dir, asset));
  }
  writeFileSync(join(dir, "DIGEST.md"), digestText);
  return hcl.split("\n").length - 1;
}

/**
 * Synthesizes both stacks into `outdir` as `cdktf synth` does, then writes each stack's review
 * folder under `outdir`/review. Throws ConfigError for a bad setting, like the app.
 */
export async function synthForReview(outdir: string = DEFAULT_OUTDIR, env: Record<string, string | undefined> = process.env): Promise<ReviewResult> {
  mkdirSync(outdir, { recursive: true });
  const app = new App({ outdir, context: projectContext(), hclOutput: false });
  const config = appConfig(app, env);
  synthApp(app, env);
  const stacks = manifestStacks(outdir).map((s) => ({ ...s, json: JSON.parse(readFileSync(s.file, "utf8")) as Json }));
  const byName = Object.fromEntries(stacks.map((s) => [s.name, s.json]));
  const model = accessModelFrom(config, { tracker: byName[TRACKER_STACK_NAME], bootstrap: byName[BOOTSTRAP_STACK_NAME] });
  const rows = await proveModel(model);
  /** The pipeline stack's roles beside the others, for its digest. */
  const withPipelineRoles = (m: typeof model, json: Record<string, Json>): typeof model => {
    const pm = pipelineModelFrom(config, { tracker: json[TRACKER_STACK_NAME], bootstrap: json[BOOTSTRAP_STACK_NAME], pipeline: json[PIPELINE_STACK_NAME] });
    const extra = Object.fromEntries([pm.planRole, pm.deployRole].map((r) => {
      const name = r.arn.replace(/^.*:role\//, "");
      return [name, { name, arn: r.arn, accountId: pm.accountA, trustPolicy: r.trustPolicy, policies: r.policies }];
    }));
    return { ...m, roles: { ...m.roles, ...extra } };
  };
  const reviewed = stacks.map((s) => {
    const dir = join(outdir, "review", s.name);
    const hclLines = writeReviewFolder(dir, s.name, s.dir, s.json, digest(s.name, s.json, s.name === PIPELINE_STACK_NAME ? withPipelineRoles(model, byName) : model, rows));
    return { name: s.name, json: s.file, dir, hclLines };
  });
  return { stacks: reviewed, rows };
}

/** What the command prints. */
export function formatReview(result: ReviewResult, cwd: string = process.cwd()): string {
  const rel = (p: string) => (relative(cwd, p).startsWith("..") ? p : relative(cwd, p));
  const wrong = result.rows.filter((r) => !r.ok);
  return [
    ...result.stacks.map((s) => `${s.name}: ${rel(s.json)} (cdktf deploy applies it); for review: ${rel(join(s.dir, "main.tf"))} (${s.hclLines} lines), ${rel(join(s.dir, "DIGEST.md"))}`),
    `prove: ${result.rows.length - wrong.length} passed, ${wrong.length} failed${wrong.length ? ` (${wrong.map((r) => r.description).join("; ")})` : ""}`,
  ].join("\n");
}
