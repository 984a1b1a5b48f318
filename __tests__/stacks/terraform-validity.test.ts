/**
 * The synthesized stacks against the real hashicorp/aws 5.100.0 schema: `terraform init` +
 * `terraform validate` (offline provider mirror here, the registry elsewhere), for the JSON that
 * `cdktf deploy` uses and for the HCL that `cdktf synth --hcl` prints for review.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Testing } from "cdktf";
import { synthBootstrap, synthTracker } from "../../test-support/synth";

const ROOT = resolve(__dirname, "..", "..");

function terraform(args: string[], cwd: string): string {
  // Pass the env explicitly: jest sandboxes process.env, which a child would not see otherwise.
  return execFileSync("terraform", args, { cwd, env: { ...process.env }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

describe("Terraform validity", () => {
  it("validates the iss-tracker stack (JSON) against the real provider", () => {
    expect(Testing.fullSynth(synthTracker().stack)).toBeValidTerraform();
  });

  it("validates the bootstrap stack (JSON) against the real provider", () => {
    expect(Testing.fullSynth(synthBootstrap().stack)).toBeValidTerraform();
  });

  it("validates the HCL that `cdktf synth --hcl` writes, for both stacks", () => {
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
      terraform(["init", "-backend=false", "-input=false", "-no-color"], work);
      expect(terraform(["validate", "-no-color"], work)).toMatch(/Success! The configuration is valid/);
    }
  }, 120_000);
});
