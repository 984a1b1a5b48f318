/**
 * The way off cdktf: the bootstrap stack's reviewed Terraform (what npm run synth writes) planned,
 * applied and destroyed against moto by plain `terraform` (npm run plan / npm run apply, then
 * `terraform destroy`): no cdktf CLI and no Node at apply time.
 */
import { spawnSync } from "node:child_process";
import { GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localStateDir } from "../../../stacks/backend";
import { apply, plan, reviewFolder } from "../../../scripts/deploy/plan";
import { ADMIN_USER_ARN, LOCAL_ACCOUNT_B, LOCAL_REGION, startLocalAws, type LocalAws } from "../../../scripts/emulator/local-aws";
import { synthForReview } from "../../../scripts/review/review";
import { applyTerraformEnv } from "../../../scripts/shared/terraform-env";

let local: LocalAws;
let outdir: string;
const saved = { ...process.env };
beforeAll(async () => {
  // Terraform runs synchronously (spawnSync): it talks to moto directly, not to the in-process gateway.
  local = await startLocalAws({ gates: [] });
  outdir = mkdtempSync(join(tmpdir(), "plain-tf-"));
}, 120_000);
afterAll(async () => {
  process.env = saved;
  await local?.stop();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
  if (local) rmSync(localStateDir(local.motoEndpoint), { recursive: true, force: true });
});

it("plans, applies exactly the saved plan and destroys the bootstrap stack with plain terraform", async () => {
  const started = Date.now();
  await synthForReview(outdir, { ACCOUNT_B_ID: LOCAL_ACCOUNT_B, DEPLOYER_PRINCIPAL_ARN: ADMIN_USER_ARN, ISS_TRACKER_LOCAL_ENDPOINT: local.motoEndpoint });
  process.env = { ...saved, AWS_ACCESS_KEY_ID: local.adminB.accessKeyId, AWS_SECRET_ACCESS_KEY: local.adminB.secretAccessKey, AWS_SESSION_TOKEN: local.adminB.sessionToken, AWS_REGION: LOCAL_REGION };
  const dir = reviewFolder("bootstrap", outdir);
  const { summary, json } = plan("bootstrap", { outdir });
  expect(summary).toContain("**3 to add, 0 to change, 0 to destroy.**");
  expect(summary).toContain("+ added `DeployerAssumesRole`:");
  // The reviewed plan is what gets applied: a plan that differs is refused, naming the address.
  const reviewed = join(outdir, "reviewed.json");
  require("node:fs").writeFileSync(reviewed, JSON.stringify({ resource_changes: json.resource_changes.slice(1) }));
  expect(() => apply("bootstrap", { outdir, reviewed })).toThrow(/refusing to apply bootstrap: the plan differs[\s\S]*not in the reviewed plan/);
  require("node:fs").writeFileSync(reviewed, JSON.stringify(json));
  apply("bootstrap", { outdir, reviewed });
  const iam = new IAMClient({ region: LOCAL_REGION, endpoint: local.motoEndpoint, credentials: local.adminB });
  expect((await iam.send(new GetRoleCommand({ RoleName: "terraform" }))).Role?.Arn).toBe(`arn:aws:iam::${LOCAL_ACCOUNT_B}:role/terraform`);
  const env = { ...process.env };
  applyTerraformEnv(env);
  const destroy = spawnSync("terraform", ["destroy", "-input=false", "-auto-approve"], { cwd: dir, env, encoding: "utf8" });
  expect(destroy.status).toBe(0);
  expect(destroy.stdout).toMatch(/Destroy complete! Resources: 3 destroyed\./);
  await expect(iam.send(new GetRoleCommand({ RoleName: "terraform" }))).rejects.toThrow(/not found|cannot be found/i);
  expect(readFileSync(join(dir, "plan.md"), "utf8")).toBe(summary);
  console.log(`plain terraform plan/apply/destroy of the bootstrap stack on moto: ${((Date.now() - started) / 1000).toFixed(1)} s`);
}, 300_000);
