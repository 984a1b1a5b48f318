/**
 * `npm run synth`'s review folders against real Terraform and the real hashicorp/aws 5.100.0
 * schema: fmt-clean, valid without a single diagnostic through the committed lock file, the same
 * bytes on every synth, a one-action policy change a one-line diff, a digest that names every
 * role's principals and actions; and the lock file is what Terraform computes for the provider.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accessModelFrom } from "../../../scripts/prove/access-model";
import { formatHcl, policyDocumentOf, renderHcl } from "../../../scripts/review/hcl";
import { lockSource, writeProviderLock } from "../../../scripts/review/lock";
import { awsProviderBlocks } from "../../../scripts/review/provider-schema";
import { hclHeader, synthForReview, type ReviewResult } from "../../../scripts/review/review";
import { PROVIDER_LOCK_FILE } from "../../../scripts/review/stack-folders";
import { SETTINGS, loadConfig } from "../../../stacks/config";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const STACKS = ["iss-tracker", "bootstrap"] as const;

/** The test's environment: none of the user's settings, account B set (synth requires it). */
function cleanEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const s of Object.values(SETTINGS)) delete env[s.env];
  return { ...env, ACCOUNT_B_ID: "222222222222" };
}

function terraform(args: string[], cwd: string): string {
  return execFileSync("terraform", args, { cwd, env: { ...process.env }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Lines removed plus lines added between two texts (longest common subsequence of lines). */
function changedLines(a: string, b: string): number {
  const x = a.split("\n");
  const y = b.split("\n");
  const lcs: number[][] = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  }
  return x.length + y.length - 2 * lcs[0][0];
}

let out: string;
let result: ReviewResult;
const json = (stack: string): Json => JSON.parse(readFileSync(join(out, "stacks", stack, "cdk.tf.json"), "utf8"));
const mainTf = (dir: string, stack: string) => readFileSync(join(dir, "review", stack, "main.tf"), "utf8");

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "iss-review-"));
  result = await synthForReview(out, cleanEnv());
}, 120_000);

describe("npm run synth", () => {
  it("writes the JSON cdktf deploys into the stack folders and the review beside it, never both forms in one folder", () => {
    expect(result.stacks.map((s) => s.name).sort()).toEqual([...STACKS].sort());
    for (const stack of STACKS) {
      expect(readdirSync(join(out, "stacks", stack)).filter((f) => f.startsWith("cdk.tf"))).toEqual(["cdk.tf.json"]);
      const review = readdirSync(join(out, "review", stack)).sort();
      expect(review).toEqual(stack === "iss-tracker" ? [".terraform.lock.hcl", "DIGEST.md", "assets", "main.tf"] : [".terraform.lock.hcl", "DIGEST.md", "main.tf"]);
    }
  });

  it.each(STACKS)("writes %s's HCL terraform fmt-clean and valid against hashicorp/aws 5.100.0 without one diagnostic, through the committed lock file, unchanged", (stack) => {
    const dir = mkdtempSync(join(tmpdir(), `iss-review-${stack}-`));
    cpSync(join(out, "review", stack), dir, { recursive: true });
    terraform(["fmt", "-check", "-diff", "-no-color"], dir); // throws (exit 3) on any formatting difference
    terraform(["init", "-backend=false", "-input=false", "-no-color", "-lockfile=readonly"], dir);
    const report = JSON.parse(terraform(["validate", "-json", "-no-color"], dir));
    expect(report.diagnostics).toEqual([]);
    expect(report.valid).toBe(true);
    expect(readFileSync(join(dir, ".terraform.lock.hcl"), "utf8")).toBe(readFileSync(PROVIDER_LOCK_FILE, "utf8"));
  }, 90_000);

  it.each(STACKS)("spreads every policy document of %s over lines: a multi-line jsonencode, no statement on one line", (stack) => {
    const policies = Object.values<Json>(json(stack).resource).flatMap((byName) => Object.values<Json>(byName))
      .flatMap((r) => Object.values<Json>(r)).filter((v) => typeof v === "string" && policyDocumentOf(v));
    expect(policies.length).toBeGreaterThan(0);
    const hcl = mainTf(out, stack);
    expect(hcl.match(/= jsonencode\(\{\n/g)?.length).toBe(policies.length);
    expect(hcl).not.toMatch(/jsonencode\([^\n]*\)/); // never a one-line document
    expect(hcl).not.toMatch(/\{ *"?(Sid|Effect|Action)"? *=/); // never a statement on one line
  });

  it("writes the same bytes on every synth of one configuration", async () => {
    const again = mkdtempSync(join(tmpdir(), "iss-review-again-"));
    await synthForReview(again, cleanEnv());
    for (const stack of STACKS) {
      expect(mainTf(again, stack)).toBe(mainTf(out, stack));
      expect(readFileSync(join(again, "review", stack, "DIGEST.md"), "utf8")).toBe(readFileSync(join(out, "review", stack, "DIGEST.md"), "utf8"));
    }
  }, 120_000);

  it("shows a one-action change of the largest policy as one changed line, where the JSON changes one line of thousands of characters", () => {
    const original = json("bootstrap");
    const render = (config: Json) => formatHcl(renderHcl(config, awsProviderBlocks(), hclHeader("bootstrap")));
    // The policy document with the most actions, and the second action of its first multi-action statement.
    const candidates = Object.entries<Json>(original.resource).flatMap(([type, byName]) => Object.entries<Json>(byName).flatMap(([name, r]) =>
      Object.entries<Json>(r).filter(([, v]) => typeof v === "string" && policyDocumentOf(v)).map(([arg, v]) => ({ type, name, arg, doc: policyDocumentOf(v) }))));
    const actions = (doc: Json) => doc.Statement.flatMap((s: Json) => [].concat(s.Action ?? []));
    const target = candidates.sort((a, b) => actions(b.doc).length - actions(a.doc).length)[0];
    const statement = target.doc.Statement.find((s: Json) => Array.isArray(s.Action) && s.Action.length > 1);
    const withPolicy = (doc: Json) => {
      const copy = structuredClone(original);
      copy.resource[target.type][target.name][target.arg] = JSON.stringify(doc);
      return copy;
    };
    const changed = structuredClone(target.doc);
    const changedStatement = changed.Statement[target.doc.Statement.indexOf(statement)];
    changedStatement.Action[1] = `${changedStatement.Action[1]}Changed`;
    const added = structuredClone(target.doc);
    added.Statement[target.doc.Statement.indexOf(statement)].Action.push("s3:GetBucketLocation");

    const before = render(original);
    expect(changedLines(before, render(withPolicy(changed)))).toBe(2); // one line out, one line in
    expect(changedLines(before, render(withPolicy(added)))).toBe(1); // one line in
    // The same change in cdk.tf.json: the whole document is one line.
    const jsonBefore = JSON.stringify(original, null, 2);
    const jsonAfter = JSON.stringify(withPolicy(changed), null, 2);
    expect(changedLines(jsonBefore, jsonAfter)).toBe(2);
    expect(Math.max(...jsonAfter.split("\n").filter((l) => !jsonBefore.includes(l)).map((l) => l.length))).toBeGreaterThan(1000);
  });

  it.each(STACKS)("names in %s's digest every role, every principal that may assume it, every action it may do and its boundary, and prove's count", (stack) => {
    const text = readFileSync(join(out, "review", stack, "DIGEST.md"), "utf8");
    const model = accessModelFrom(loadConfig({ env: cleanEnv() }), { tracker: json("iss-tracker"), bootstrap: json("bootstrap") });
    const roles = Object.values<Json>(json(stack).resource.aws_iam_role).map((r) => model.roles[r.name]);
    expect(roles.length).toBeGreaterThan(0);
    const listed = (v: Json): string[] => [].concat(v ?? []);
    for (const role of roles) {
      expect(text).toContain(`### ${role.name}\n`);
      expect(text).toContain(role.arn);
      for (const s of role.trustPolicy.Statement) {
        for (const who of Object.values<Json>(s.Principal ?? {}).flatMap(listed)) expect(text).toContain(`\`${who}\``);
      }
      for (const p of [...role.policies, ...(role.boundary ? [role.boundary] : [])]) {
        expect(text).toContain(p.name);
        for (const s of p.policy.Statement) for (const action of listed(s.Action)) expect(text).toContain(`\`${action}\``);
      }
    }
    const held = result.rows.filter((r) => r.ok).length;
    expect(text).toContain(`${held} of ${result.rows.length} expectations hold`);
    expect(held).toBe(result.rows.length);
  });
});

describe("the provider lock file", () => {
  const hashes = (text: string) => [...text.matchAll(/"((?:h1|zh):[^"]+)"/g)].map((m) => m[1]);

  it("pins only hashes that terraform providers lock computes for hashicorp/aws 5.100.0 (from the mirror here: exactly them)", () => {
    const target = join(mkdtempSync(join(tmpdir(), "iss-lock-")), ".terraform.lock.hcl");
    const source = writeProviderLock(target, lockSource(false));
    const committed = readFileSync(PROVIDER_LOCK_FILE, "utf8");
    expect(committed).toMatch(/provider "registry\.terraform\.io\/hashicorp\/aws" \{\n {2}version {5}= "5\.100\.0"\n {2}constraints = "5\.100\.0"\n {2}hashes = \[\n {4}"h1:/);
    expect(hashes(committed).length).toBeGreaterThan(0);
    expect(hashes(readFileSync(target, "utf8"))).toEqual(expect.arrayContaining(hashes(committed)));
    if (source.mirror) expect(readFileSync(target, "utf8")).toBe(committed);
  }, 120_000);
});
