/**
 * The synthesized stacks against the real hashicorp/aws 5.100.0 schema: `terraform init` +
 * `terraform validate` (offline provider mirror here, the registry elsewhere), for the JSON that
 * `cdktf deploy` uses and for the HCL that `cdktf synth --hcl` prints for review. Valid is not
 * enough: a warning caused by this project's configuration fails too; only the warnings cdktf's
 * HCL renderer itself causes are tolerated, each by its exact shape.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { synthBootstrap, synthTracker } from "../../test-support/synth";

const ROOT = resolve(__dirname, "..", "..");

function terraform(args: string[], cwd: string): string {
  // Pass the env explicitly: jest sandboxes process.env, which a child would not see otherwise.
  return execFileSync("terraform", args, { cwd, env: { ...process.env }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

interface Diagnostic {
  severity: "error" | "warning";
  summary: string;
  detail: string;
  range?: { filename: string; start: { line: number } };
  snippet?: { code: string };
}

/**
 * cdktf 0.21's HCL renderer writes `provider = "aws.account_b"` and quoted addresses in
 * `depends_on` (terraform-cdk's HCL output; the JSON it deploys is not affected): Terraform warns
 * "Quoted references are deprecated" on exactly those lines. Nothing else is the renderer's.
 */
function isCdktfHclRendererWarning(d: Diagnostic): boolean {
  const code = d.snippet?.code.trim() ?? "";
  return d.severity === "warning" && d.summary === "Quoted references are deprecated" &&
    (/^provider\s*=\s*"aws(\.[a-z_]+)?"$/.test(code) || /^"(aws_[a-z0-9_]+)\.[\w-]+",?$/.test(code));
}

/** `terraform validate -json` in `dir` (initialized first): its diagnostics, after asserting it is valid. */
function validate(dir: string): Diagnostic[] {
  terraform(["init", "-backend=false", "-input=false", "-no-color"], dir);
  const report = JSON.parse(terraform(["validate", "-json", "-no-color"], dir)) as { valid: boolean; diagnostics: Diagnostic[] };
  expect(report.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  expect(report.valid).toBe(true);
  return report.diagnostics;
}

const describeWarning = (d: Diagnostic) => `${d.summary} (${d.range?.filename}:${d.range?.start.line}: ${d.snippet?.code.trim()}): ${d.detail}`;

/** Writes a synthesized stack's JSON into a fresh directory, for `terraform validate`. */
function jsonDir(json: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "iss-json-"));
  writeFileSync(join(dir, "cdk.tf.json"), JSON.stringify(json));
  return dir;
}

describe("Terraform validity", () => {
  it.each([
    ["the iss-tracker stack", () => synthTracker().json],
    ["the bootstrap stack", () => synthBootstrap().json],
    ["the deliberate-destroy variant of the iss-tracker stack (ALLOW_BUCKET_DESTROY=true)", () => synthTracker({ ALLOW_BUCKET_DESTROY: "true" }).json],
    ["the iss-tracker stack with three target accounts (one provider each)", () => synthTracker({ ACCOUNT_B_ID: "", TARGETS: "222222222222,333333333333:eu-west-1,444444444444" }).json],
    ["the iss-tracker stack with a retired target (its bucket's resources in removed blocks)", () => synthTracker({ ACCOUNT_B_ID: "", TARGETS: '[{"account":"222222222222"},{"account":"333333333333","retired":true}]' }).json],
  ])("validates %s (JSON) against the real provider, without a single warning", (_name, json) => {
    expect(validate(jsonDir(json())).map(describeWarning)).toEqual([]);
  }, 60_000);

  it("validates the HCL that `cdktf synth --hcl` writes, for both stacks, with no warning of this project's making", () => {
    const out = mkdtempSync(join(tmpdir(), "iss-hcl-"));
    execFileSync(join(ROOT, "node_modules", ".bin", "cdktf"), ["synth", "--hcl", "--output", out], {
      cwd: ROOT,
      env: { ...process.env, ACCOUNT_B_ID: "222222222222", CI: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    for (const stack of ["iss-tracker", "bootstrap"]) {
      const dir = join(out, "stacks", stack);
      expect(readdirSync(dir)).toContain("cdk.tf");
      expect(existsSync(join(dir, "cdk.tf.json"))).toBe(false);
      const work = mkdtempSync(join(tmpdir(), `iss-hcl-${stack}-`));
      cpSync(dir, work, { recursive: true });
      const diagnostics = validate(work);
      expect(diagnostics.filter((d) => !isCdktfHclRendererWarning(d)).map(describeWarning)).toEqual([]);
    }
  }, 120_000);

  it("tolerates only the renderer's own quoted references: a deprecated argument of this project's is a failure", () => {
    const renderer: Diagnostic = { severity: "warning", summary: "Quoted references are deprecated", detail: "", snippet: { code: '  provider      = "aws.account_b"' } };
    const dependsOn: Diagnostic = { ...renderer, snippet: { code: '"aws_s3_bucket_versioning.report-bucket_versioning_4D2EA857",' } };
    const ours: Diagnostic = { severity: "warning", summary: "Argument is deprecated", detail: "Use the aws_s3_bucket_acl resource instead", snippet: { code: 'acl = "private"' } };
    const quotedElsewhere: Diagnostic = { ...renderer, snippet: { code: 'role = "aws_iam_role.x.name"' } };
    expect([renderer, dependsOn, ours, quotedElsewhere].map(isCdktfHclRendererWarning)).toEqual([true, true, false, false]);
  });
});
