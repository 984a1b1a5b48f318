/**
 * The review order a user runs, with the real cdktf CLI: `cdktf synth`, `cdktf synth --hcl`,
 * `npm run diff` (cdktf diff, here against the emulator) and back, leave every stack folder with
 * one form of the configuration, the committed lock file, and a successful `terraform init`.
 * (Before, --hcl left the old cdk.tf.json beside cdk.tf and init failed on duplicate declarations.)
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startMoto, type MotoServer } from "../../../scripts/emulator/moto";
import { PROVIDER_LOCK_FILE } from "../../../scripts/review/stack-folders";
import { SETTINGS } from "../../../stacks/config";

const ROOT = resolve(__dirname, "..", "..", "..");
const CDKTF = join(ROOT, "node_modules", ".bin", "cdktf");
const STACKS = ["iss-tracker", "bootstrap"];
let moto: MotoServer;
let out: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  moto = await startMoto();
  out = mkdtempSync(join(tmpdir(), "iss-folders-"));
  env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^AWS_/.test(k) && !/^npm_/i.test(k)) env[k] = v;
  for (const s of Object.values(SETTINGS)) delete env[s.env];
  // Local mode on the emulator; moto's default credentials act in its default account, here B for the bootstrap stack.
  Object.assign(env, {
    ISS_TRACKER_LOCAL_ENDPOINT: moto.endpoint, ACCOUNT_B_ID: "123456789012", DEPLOYER_PRINCIPAL_ARN: "arn:aws:iam::111111111111:role/deployer",
    AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", CI: "1", CHECKPOINT_DISABLE: "1",
  });
}, 60_000);
afterAll(() => moto?.stop());

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { cwd: ROOT, env, encoding: "utf8", timeout: 180_000 });
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.status}:\n${output.slice(-3000)}`);
  return output;
}

/** Each stack folder holds `form` only, the lock file, and initializes. */
function expectFolders(form: "cdk.tf.json" | "cdk.tf"): void {
  for (const stack of STACKS) {
    const dir = join(out, "stacks", stack);
    expect([stack, readdirSync(dir).filter((f) => f.startsWith("cdk.tf"))]).toEqual([stack, [form]]);
    expect(readFileSync(join(dir, ".terraform.lock.hcl"), "utf8")).toBe(readFileSync(PROVIDER_LOCK_FILE, "utf8"));
    execFileSync("terraform", ["init", "-backend=false", "-input=false", "-no-color", "-lockfile=readonly"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  }
}

describe("synth, synth --hcl and diff in any order", () => {
  it("leave each stack folder with the form last written, the lock file, and a working terraform init", () => {
    // Every change of form once: HCL -> JSON by diff, JSON -> HCL, HCL -> JSON by synth.
    run(CDKTF, ["synth", "--hcl", "--output", out]);
    expectFolders("cdk.tf");
    // npm run diff: the credential check, then cdktf diff (synth as JSON, init through the lock file, plan).
    const diff = run("npm", ["run", "--silent", "diff", "--", "bootstrap", "--output", out, "--no-color"]);
    expect(diff).toMatch(/^bootstrap: account B's credentials: arn:aws:sts::123456789012:user\/moto$/m);
    expect(diff).toMatch(/Plan: 3 to add, 0 to change, 0 to destroy/);
    expectFolders("cdk.tf.json");
    run(CDKTF, ["synth", "--hcl", "--output", out]);
    expectFolders("cdk.tf");
    run(CDKTF, ["synth", "--output", out]);
    expectFolders("cdk.tf.json");
  }, 300_000);
});
