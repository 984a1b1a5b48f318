/**
 * checkov (pinned, in .venv-checkov, installed on first use) on both synthesized stacks: no failed
 * check, and every skip in scripts/checkov/.checkov.yaml justified and still needed.
 *
 * One checkov run covers everything: the two real stacks and weakened copies of them, scanned
 * WITHOUT the skip list, so the test sees which checks the skips hide (each must still fail
 * without its skip: a stale skip is an error too) and that the scan can fail on both stacks.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BOOTSTRAP_STACK_NAME } from "../../../stacks/bootstrap-stack";
import { TRACKER_STACK_NAME } from "../../../stacks/iss-tracker-stack";
import { CHECKOV_CONFIG, prepareScan, runCheckov, writeScanTree } from "../../../scripts/checkov/scan";
import { reviewConfig, type SynthesizedStacks } from "../../../scripts/shared/synth";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
interface Check { check_id: string; check_name: string; resource: string; file_path: string }
interface Report { summary: { passed: number; failed: number; parsing_errors: number; checkov_version: string }; results: { passed_checks: Check[]; failed_checks: Check[] } }

/** The skip list: `  - CKV_AWS_117   # why`, one per line. */
function skips(): Array<{ id: string; reason: string }> {
  return readFileSync(CHECKOV_CONFIG, "utf8").split("\n")
    .map((line) => /^\s*-\s*(CKV2?_[A-Z0-9]+_\d+)\s*(?:#\s*(.*))?$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ id: m[1], reason: (m[2] ?? "").trim() }));
}

/** Copies of both stacks with a hardening removed from each. */
function weaken(stacks: SynthesizedStacks, into: string): void {
  const tracker: Json = structuredClone(stacks.tracker);
  delete tracker.resource.aws_s3_bucket_public_access_block;
  for (const queue of Object.values<Json>(tracker.resource.aws_sqs_queue)) queue.sqs_managed_sse_enabled = false;
  const bootstrap: Json = structuredClone(stacks.bootstrap);
  for (const role of Object.values<Json>(bootstrap.resource.aws_iam_role)) {
    role.assume_role_policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }] });
  }
  writeScanTree(into, { tracker, bootstrap });
}

const show = (checks: Check[]) => checks.map((c) => `${c.check_id} ${c.resource} (${c.file_path}): ${c.check_name}`);

describe("checkov on both synthesized stacks", () => {
  let work: string;
  let report: Report;
  const under = (checks: Check[], dir: string) => checks.filter((c) => c.file_path.startsWith(`/${dir}/`));

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), "iss-checkov-"));
    const { scanDir, stacks } = prepareScan(work, reviewConfig({}));
    weaken(stacks, join(scanDir, "weakened"));
    // The project's configuration minus its skip list (and minus quiet, which hides passed checks).
    const unskipped = join(work, "checkov-unskipped.yaml");
    writeFileSync(unskipped, readFileSync(CHECKOV_CONFIG, "utf8").split("\n")
      .filter((line) => !/^\s*-\s*CKV/.test(line) && !/^(skip-check|quiet):/.test(line)).join("\n"));
    const run = runCheckov(["--config-file", unskipped, "-d", scanDir, "-o", "json", "--soft-fail"]);
    if (run.error || !run.stdout.trim().startsWith("{") && !run.stdout.trim().startsWith("[")) {
      throw new Error(`checkov did not produce a JSON report (${run.error?.message ?? `exit ${run.status}`}):\n${run.stderr.slice(-3000)}`);
    }
    const parsed = JSON.parse(run.stdout);
    report = (Array.isArray(parsed) ? parsed : [parsed]).find((r: Json) => r.check_type === "terraform_json");
    if (!report) throw new Error(`checkov reported no terraform_json results:\n${run.stdout.slice(0, 2000)}`);
  }, 600_000); // the first run on a machine installs the pinned checkov (~1-2 min); later runs take ~20 s

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("finds no failed check beyond the justified skips in scripts/checkov/.checkov.yaml", () => {
    const skipped = new Set(skips().map((s) => s.id));
    const newFailures = under(report.results.failed_checks, "stacks").filter((c) => !skipped.has(c.check_id));
    expect(show(newFailures)).toEqual([]);
  });

  it("scans both stacks as Terraform JSON without parsing errors", () => {
    expect(report.summary.parsing_errors).toBe(0);
    const passed = under(report.results.passed_checks, "stacks");
    expect(passed.some((c) => c.file_path === `/stacks/${TRACKER_STACK_NAME}/cdk.tf.json`)).toBe(true);
    expect(passed.some((c) => c.file_path === `/stacks/${BOOTSTRAP_STACK_NAME}/cdk.tf.json`)).toBe(true);
    expect(passed.length).toBeGreaterThanOrEqual(50);
  });

  it("keeps no stale skip: every skipped check still fails without its skip", () => {
    const failing = new Set(under(report.results.failed_checks, "stacks").map((c) => c.check_id));
    expect(skips().map((s) => s.id).filter((id) => !failing.has(id))).toEqual([]);
  });

  it("fails weakened copies of both stacks (public bucket, unencrypted queue, trust in anyone)", () => {
    const failed = under(report.results.failed_checks, "weakened");
    const skipped = new Set(skips().map((s) => s.id));
    const byStack = (name: string) => [...new Set(failed.filter((c) => c.file_path.includes(`/${name}/`) && !skipped.has(c.check_id)).map((c) => c.check_id))].sort();
    expect(byStack(TRACKER_STACK_NAME)).toEqual(expect.arrayContaining(["CKV_AWS_27", "CKV2_AWS_6"]));
    expect(byStack(BOOTSTRAP_STACK_NAME)).toEqual(expect.arrayContaining(["CKV_AWS_60"]));
  });

  it("justifies every skipped check on its own line in the one config file", () => {
    const list = skips();
    expect(list.length).toBeGreaterThan(0);
    expect(list.filter((s) => s.reason.length < 30).map((s) => s.id)).toEqual([]);
    expect(new Set(list.map((s) => s.id)).size).toBe(list.length);
  });

  it("npm run checkov works with no setting and leaves cdktf.out alone, exiting 0 on a clean scan", () => {
    const root = resolve(__dirname, "..", "..", "..");
    const env = { ...process.env };
    for (const name of ["ACCOUNT_B_ID", "DEPLOYER_PRINCIPAL_ARN", "ISS_TRACKER_LOCAL_ENDPOINT", "CDKTF_OUTDIR"]) delete env[name];
    const outBefore = existsSync(join(root, "cdktf.out")) ? readFileSync(join(root, "cdktf.out", "manifest.json"), "utf8") : undefined;
    const run = spawnSync(process.execPath, ["--import", "tsx", join(root, "scripts", "checkov", "cli.ts"), "--compact"], { cwd: root, env, encoding: "utf8" });
    expect(run.stderr).not.toMatch(/Error|required/);
    expect(run.stdout).toMatch(/Passed checks: \d+, Failed checks: 0/);
    expect(run.status).toBe(0);
    const outAfter = existsSync(join(root, "cdktf.out")) ? readFileSync(join(root, "cdktf.out", "manifest.json"), "utf8") : undefined;
    expect(outAfter).toBe(outBefore);
  }, 120_000);
});
