/**
 * npm run diff / npm run deploy without any credentials: one line on stderr, naming the account
 * whose credentials are missing and how to provide them, within seconds, before cdktf or Terraform
 * start (the provider's own answer takes ~30 s and is generic). With credentials, on the emulator:
 * credentials.moto.test.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseStackArgs } from "../../../scripts/review/cdktf";
import { SETTINGS } from "../../../stacks/config";

const ROOT = resolve(__dirname, "..", "..", "..");

/** The environment of a machine with no AWS credentials at all: no AWS_* variables, an empty home. */
function noCredentials(): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(tmpdir(), "iss-nocreds-"));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^AWS_/.test(k) && !/^npm_/i.test(k)) env[k] = v;
  for (const s of Object.values(SETTINGS)) delete env[s.env];
  return { ...env, HOME: home, ACCOUNT_B_ID: "222222222222", ACCOUNT_A_ID: "111111111111" };
}

describe("npm run diff and npm run deploy without credentials", () => {
  it.each([
    ["diff", "iss-tracker", /^iss-tracker needs account A's credentials \(111111111111\) and none were found \(CredentialsProviderError: .*\): set AWS_PROFILE to a profile of account A \(e\.g\. AWS_PROFILE=account-a npm run diff -- iss-tracker;.* or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/],
    ["deploy", "bootstrap", /^bootstrap needs account B's credentials \(222222222222\) and none were found \(CredentialsProviderError: .*\): set AWS_PROFILE to a profile of account B \(e\.g\. AWS_PROFILE=account-b npm run deploy -- bootstrap;/],
  ])("npm run %s -- %s fails in one line naming the account, within seconds of the command's own start-up, before cdktf starts", (verb, stack, line) => {
    const timed = (args: string[]) => {
      const started = Date.now();
      const result = spawnSync("npm", ["run", "--silent", verb, "--", ...args], { cwd: ROOT, env: noCredentials(), encoding: "utf8", timeout: 120_000 });
      return { result, seconds: (Date.now() - started) / 1000 };
    };
    // The same command loading the same modules and stopping at --help: its start-up, measured beside it.
    const baseline = timed(["--help"]);
    expect(baseline.result.status).toBe(0);
    const { result, seconds } = timed([stack]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
    // Beyond start-up, the SDK's credential chain once (environment, profiles, SSO, web identity,
    // containers, IMDS): about a second here, where Terraform's provider takes ~28 s to give up.
    expect(seconds - baseline.seconds).toBeLessThan(10);
  }, 240_000);

  it("names the stack, or says which ones there are", () => {
    expect(parseStackArgs("diff", ["iss-tracker", "--no-color"])).toEqual({ stack: "iss-tracker", passThrough: ["--no-color"] });
    expect(() => parseStackArgs("deploy", [])).toThrow(/^name the stack\n\nusage: npm run deploy -- <iss-tracker\|bootstrap>/);
    expect(() => parseStackArgs("diff", ["tracker"])).toThrow(/^unknown stack "tracker"/);
  });
});
