/**
 * npm start's rehearsal end to end on the moto emulator: the real `cdktf deploy` of both stacks
 * (real Terraform, real hashicorp/aws 5.100.0), the deployed bundle run in-process as the execution
 * role with IAM enforcement on, and `cdktf destroy`. Deployed ONCE; every case runs on it.
 */
import { DeleteRolePolicyCommand, GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { GetBucketPolicyCommand } from "@aws-sdk/client-s3";
import { Testing } from "cdktf";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../stacks/config";
import { IssTrackerStack } from "../../stacks/iss-tracker-stack";
import { countEntries, LocalRehearsal } from "../../scripts/lib/local-rehearsal";
import { logExcerpt, parseLocalFlags } from "../../scripts/local";

jest.setTimeout(200_000);

let rehearsal: LocalRehearsal;
const progress: string[] = [];

beforeAll(async () => {
  rehearsal = await LocalRehearsal.start({ log: (line) => progress.push(line) });
  await rehearsal.bootstrap();
  await rehearsal.deploy();
}, 240_000);

afterAll(async () => {
  await rehearsal?.stop();
});

const logText = async () => (await rehearsal.readLog())?.toString("utf8") ?? "";
const utc = (timestamp: number) => new Date(timestamp * 1000).toISOString().slice(0, 19).replace("T", " ");

/** Runs `body` without one inline policy of a role in A, then restores it. */
async function withoutRolePolicy(roleName: string, policyName: string, body: () => Promise<void>): Promise<void> {
  const iam = new IAMClient({ region: "us-east-1", endpoint: rehearsal.moto.endpoint, credentials: rehearsal.adminA });
  const saved = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
  await iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
  try {
    await body();
  } finally {
    await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: decodeURIComponent(saved.PolicyDocument!) }));
  }
}

describe("npm start on the emulator (deployed once)", () => {
  it("deploys the function as configured: its role, the access role and bucket in B, the simulated ISS source, the zip Lambda holds", () => {
    const fn = rehearsal.function;
    expect(fn.roleArn).toBe("arn:aws:iam::123456789012:role/iss-tracker-function-exec");
    expect(fn.roleArn).toBe(fn.outputs.execution_role_arn);
    expect(fn.environment).toMatchObject({
      ACCESS_ROLE_ARN: "arn:aws:iam::222222222222:role/iss-tracker-report-writer",
      EXTERNAL_ID: fn.outputs.external_id,
      BUCKET_NAME: "iss-tracker-reports-222222222222-us-east-1",
      BUCKET_REGION: "us-east-1",
      OBJECT_KEY: "iss_position.txt",
      ISS_SOURCES: rehearsal.simulator!.url,
    });
    expect(rehearsal.deployedCode().name).toBe("index.js");
    expect(progress.some((l) => l.startsWith("▸ bootstrap B: cdktf deploy bootstrap"))).toBe(true);
  });

  it("emulator settings exist only in local mode: the local synth points both providers at the emulator, the normal synth carries none of it", async () => {
    const local = JSON.parse(readFileSync(join(rehearsal.outDir, "stacks", "iss-tracker", "cdk.tf.json"), "utf8"));
    for (const provider of local.provider.aws) {
      expect(provider.endpoints[0].s3).toBe(rehearsal.moto.endpoint);
      expect(provider.s3_use_path_style).toBe(true);
    }
    expect(local.resource.aws_s3_bucket_policy).toBeUndefined();
    await expect(rehearsal.s3B().send(new GetBucketPolicyCommand({ Bucket: rehearsal.function.bucket }))).rejects.toMatchObject({ name: "NoSuchBucketPolicy" });

    const normal = Testing.synth(new IssTrackerStack(Testing.app(), "iss-tracker", loadConfig({ env: { ACCOUNT_B_ID: "222222222222" } })));
    expect(normal).not.toMatch(/endpoints|s3_use_path_style|skip_credentials_validation|skip_metadata_api_check|127\.0\.0\.1|\.local/);
    expect(JSON.parse(normal).resource.aws_s3_bucket_policy).toBeDefined();
  });

  it("3 runs append 3 entries in the log's format, one per simulated ISS position", async () => {
    const before = countEntries(await logText());
    const results = await rehearsal.invoke(3, 1);
    expect(results.map((r) => r.error)).toEqual([undefined, undefined, undefined]);
    const text = await logText();
    expect(countEntries(text) - before).toBe(3);
    expect(text.startsWith("ISS Location Logs\n===================\n\n")).toBe(true);
    for (const { summary } of results) {
      expect(summary).toMatchObject({ source: rehearsal.simulator!.url, bucket: rehearsal.function.bucket, key: "iss_position.txt" });
      expect(text).toContain(`Time: ${utc(summary!.issTimestamp!)}\nLatitude: `);
    }
    expect(logExcerpt(text)).toBe(text);
  });

  it("10 parallel runs: every entry is present, none lost", async () => {
    const before = await logText();
    const results = await rehearsal.invoke(10, 10);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const text = await logText();
    expect(text.startsWith(before)).toBe(true);
    expect(countEntries(text) - countEntries(before)).toBe(10);
    const timestamps = results.map((r) => r.summary!.issTimestamp!);
    expect(new Set(timestamps).size).toBe(10);
    for (const t of timestamps) expect(text.split(`Time: ${utc(t)}\n`).length - 1).toBe(1);
  });

  it("without the execution role's sts:AssumeRole grant the run fails clearly and the log is byte-identical", async () => {
    const before = await rehearsal.readLog();
    await withoutRolePolicy("iss-tracker-function-exec", "assume-report-access-role", async () => {
      const [result] = await rehearsal.invoke(1);
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/AccessDenied|not authorized/i);
      expect(result.error).toMatch(/sts:AssumeRole|assume/i);
    });
    expect((await rehearsal.readLog())!.equals(before!)).toBe(true);
    // Restored: runs work again.
    expect((await rehearsal.invoke(1))[0].ok).toBe(true);
  });

  it("with a wrong external id the access role's trust policy refuses (emulator STS gate) and the log is byte-identical", async () => {
    const before = await rehearsal.readLog();
    const [result] = await rehearsal.invoke(1, 1, { EXTERNAL_ID: "not-the-external-id" });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/AccessDenied|not authorized/i);
    expect(result.error).toMatch(/external id|ExternalId|EXTERNAL_ID/i);
    expect((await rehearsal.readLog())!.equals(before!)).toBe(true);
    expect(rehearsal.stsGate.decisions.at(-1)).toMatchObject({ allowed: false, roleArn: rehearsal.function.environment.ACCESS_ROLE_ARN });
  });

  it("tears down: empties every version of the log, then cdktf destroy of both stacks", async () => {
    await rehearsal.teardown();
    expect(progress.some((l) => l.startsWith("▸ empty the report bucket"))).toBe(true);
    expect(progress.some((l) => l.startsWith("▸ destroy: cdktf destroy iss-tracker"))).toBe(true);
    expect(progress.some((l) => l.startsWith("▸ destroy: cdktf destroy bootstrap"))).toBe(true);
    const state = JSON.parse(readFileSync(join(rehearsal.workDir, "iss-tracker.tfstate"), "utf8"));
    expect(state.resources).toEqual([]);
    const bootstrapState = JSON.parse(readFileSync(join(rehearsal.workDir, "bootstrap.tfstate"), "utf8"));
    expect(bootstrapState.resources).toEqual([]);
  });
});

describe("npm start flags", () => {
  it("defaults to 3 runs, 1 at once, torn down, simulated orbit", () => {
    expect(parseLocalFlags([])).toEqual({ runs: 3, parallel: 1, keep: false, live: false, verbose: false });
    expect(parseLocalFlags(["--runs", "10", "--parallel=4", "--keep", "--live"])).toMatchObject({ runs: 10, parallel: 4, keep: true, live: true });
  });
  it.each([["--runs"], ["--runs", "0"], ["--parallel", "x"], ["--bogus"], ["--keep=1"]])("rejects %s", (...argv) => {
    expect(() => parseLocalFlags(argv)).toThrow(/usage: npm start/);
  });
});
