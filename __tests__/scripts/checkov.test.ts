/**
 * checkov (pinned, in .venv-checkov; set up by `bash scripts/checkov.sh`) on both synthesized
 * stacks: no failed check, every skip justified in checkov/.checkov.yaml.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { App } from "cdktf";
import { BootstrapStack } from "../../stacks/bootstrap-stack";
import { IssTrackerStack } from "../../stacks/iss-tracker-stack";
import { testConfig } from "../../test-support/synth";

const ROOT = resolve(__dirname, "..", "..");
const CHECKOV = join(ROOT, ".venv-checkov", "bin", "checkov");
const CONFIG = join(ROOT, "checkov", ".checkov.yaml");

interface CheckovReport { summary: { passed: number; failed: number; parsing_errors: number }; results: { failed_checks: Array<{ check_id: string; resource: string; file_path: string }> } }

function synthesizeBoth(): string {
  const outdir = mkdtempSync(join(tmpdir(), "iss-checkov-"));
  const app = new App({ outdir });
  const config = testConfig({ DEPLOYER_PRINCIPAL_ARN: "arn:aws:iam::111111111111:role/deployer" });
  new IssTrackerStack(app, "iss-tracker", config);
  new BootstrapStack(app, "bootstrap", config);
  app.synth();
  return join(outdir, "stacks");
}

function checkov(dir: string): CheckovReport {
  const result = spawnSync(CHECKOV, ["--config-file", CONFIG, "-d", dir, "-o", "json"], { encoding: "utf8", env: { ...process.env } });
  const reports = JSON.parse(result.stdout);
  const report: CheckovReport = Array.isArray(reports) ? reports.find((r) => r.check_type === "terraform_json") : reports;
  return report;
}

describe("checkov", () => {
  beforeAll(() => {
    if (!existsSync(CHECKOV)) {
      throw new Error("checkov is not installed: run `bash scripts/checkov.sh` (creates .venv-checkov from checkov/requirements.txt)");
    }
  });

  it("passes both synthesized stacks with zero failed checks", () => {
    const report = checkov(synthesizeBoth());
    expect(report.summary.parsing_errors).toBe(0);
    expect(report.results.failed_checks.map((c) => `${c.check_id} ${c.resource}`)).toEqual([]);
    expect(report.summary.passed).toBeGreaterThanOrEqual(50);
  }, 60_000);

  it("fails a weakened copy of each stack (the scan reaches both and can fail)", () => {
    const stacks = synthesizeBoth();
    const weak = mkdtempSync(join(tmpdir(), "iss-checkov-weak-"));
    const tracker = JSON.parse(readFileSync(join(stacks, "iss-tracker", "cdk.tf.json"), "utf8"));
    delete tracker.resource.aws_s3_bucket_public_access_block;
    tracker.resource.aws_sqs_queue[Object.keys(tracker.resource.aws_sqs_queue)[0]].sqs_managed_sse_enabled = false;
    const bootstrap = JSON.parse(readFileSync(join(stacks, "bootstrap", "cdk.tf.json"), "utf8"));
    const role = Object.values<{ assume_role_policy: string }>(bootstrap.resource.aws_iam_role)[0];
    role.assume_role_policy = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }] });
    for (const [name, json] of [["iss-tracker", tracker], ["bootstrap", bootstrap]] as const) {
      mkdirSync(join(weak, name));
      writeFileSync(join(weak, name, "cdk.tf.json"), JSON.stringify(json, null, 2));
    }
    const failed = checkov(weak).results.failed_checks;
    expect(failed.some((c) => c.file_path.includes("bootstrap"))).toBe(true);
    expect(failed.some((c) => c.file_path.includes("iss-tracker"))).toBe(true);
  }, 60_000);

  it("justifies every skipped check on its line in the one config file", () => {
    const lines = readFileSync(CONFIG, "utf8").split("\n").filter((l) => /^\s*-\s*CKV/.test(l));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^\s*-\s*CKV2?_AWS_\d+\s+#\s*\S.{20,}/);
  });
});
