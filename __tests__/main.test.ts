/** main.ts run exactly as cdktf.json's "app" command runs it. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..");
const APP_COMMAND: string = JSON.parse(readFileSync(join(ROOT, "cdktf.json"), "utf8")).app;

function runApp(env: Record<string, string>) {
  const outdir = mkdtempSync(join(tmpdir(), "iss-main-"));
  const clean = { ...process.env };
  for (const key of ["ACCOUNT_B_ID", "SCHEDULE", "ISS_TRACKER_LOCAL_ENDPOINT"]) delete clean[key];
  const result = spawnSync("sh", ["-c", APP_COMMAND], { cwd: ROOT, env: { ...clean, CDKTF_OUTDIR: outdir, ...env }, encoding: "utf8" });
  return { ...result, outdir };
}

describe("the app command (cdktf.json)", () => {
  it("writes both stacks for a valid configuration", () => {
    const { status, stderr, outdir } = runApp({ ACCOUNT_B_ID: "222222222222" });
    expect(stderr).toBe("");
    expect(status).toBe(0);
    expect(existsSync(join(outdir, "stacks", "iss-tracker", "cdk.tf.json"))).toBe(true);
    expect(existsSync(join(outdir, "stacks", "bootstrap", "cdk.tf.json"))).toBe(true);
  });

  it("fails before writing anything, naming each bad setting and its fix, without a stack trace", () => {
    const { status, stderr, outdir } = runApp({ SCHEDULE: "every 5 minutes" });
    expect(status).toBe(1);
    expect(stderr).toMatch(/^Invalid iss-tracker configuration \(2 problems\):\n {2}- ACCOUNT_B_ID .*is required\. Fix: set ACCOUNT_B_ID/);
    expect(stderr).toMatch(/\n {2}- SCHEDULE .*"every 5 minutes": is not an EventBridge schedule expression\. Fix: /);
    expect(stderr).not.toMatch(/\bat .*\.ts:\d+/);
    expect(existsSync(join(outdir, "stacks", "iss-tracker"))).toBe(false);
    expect(existsSync(join(outdir, "stacks", "bootstrap"))).toBe(false);
  });
});
