/**
 * npm start end to end on the moto emulator, driven through `rehearse` (the function the command
 * runs after parsing its flags): the real `cdktf deploy` of both stacks (real Terraform, real
 * hashicorp/aws 5.100.0), the deployed bundle run as the execution role in fresh Node processes
 * with IAM enforcement on and the emulator's conformance gates in the path, then `cdktf destroy`.
 * Deployed ONCE: the command's own 3 runs, then every scenario below on that deployment (the
 * command's afterRuns hook holds it), then the command's own teardown.
 */
import { DeleteRolePolicyCommand, GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { GetBucketPolicyCommand } from "@aws-sdk/client-s3";
import { Testing } from "cdktf";
import { unzipSync } from "fflate";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../../stacks/config";
import { IssTrackerStack } from "../../../stacks/iss-tracker-stack";
import { rehearse } from "../../../scripts/rehearsal/cli";
import { countEntries, type InvocationResult, type Rehearsal } from "../../../scripts/rehearsal/rehearsal";
import type { Credentials } from "../../../scripts/shared/aws";

jest.setTimeout(200_000);

const progress: string[] = [];
const errors: string[] = [];
let rehearsal: Rehearsal;
let commandRuns: readonly InvocationResult[];
let release!: () => void;
const held = new Promise<void>((resolveHeld) => (release = resolveHeld));
let exitCode: Promise<number>;

beforeAll(async () => {
  let deployed!: () => void;
  const ready = new Promise<void>((resolveReady) => (deployed = resolveReady));
  exitCode = rehearse({ runs: 3, parallel: 1, keep: false, live: false, verbose: false }, {
    log: (line) => progress.push(line),
    error: (line) => errors.push(line),
    keepFiles: true,
    afterRuns: async (r, results) => {
      rehearsal = r;
      commandRuns = results;
      deployed();
      await held;
    },
  });
  await Promise.race([ready, exitCode.then((code) => {
    throw new Error(`npm start ended (exit ${code}) before its runs:\n${errors.join("\n")}\n${progress.join("\n")}`);
  })]);
}, 240_000);

afterAll(async () => {
  release();
  await exitCode;
  if (rehearsal) rmSync(rehearsal.workDir, { recursive: true, force: true });
});

const logText = async () => (await rehearsal.readLog())?.toString("utf8") ?? "";
const utc = (timestamp: number) => new Date(timestamp * 1000).toISOString().slice(0, 19).replace("T", " ");

/** Runs `body` without one inline policy of a role, then restores it. */
async function withoutRolePolicy(credentials: Credentials, roleName: string, policyName: string, body: () => Promise<void>): Promise<void> {
  const iam = new IAMClient({ region: "us-east-1", endpoint: rehearsal.moto.endpoint, credentials });
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
    expect(Object.keys(unzipSync(rehearsal.deployedPackage()))).toEqual(["index.js"]);
    expect(progress.some((l) => l.startsWith("▸ bootstrap B: cdktf deploy bootstrap"))).toBe(true);
  });

  it("emulator settings exist only in local mode: the local synth points both providers at the emulator, the normal synth carries none of it", async () => {
    const local = JSON.parse(readFileSync(join(rehearsal.outDir, "stacks", "iss-tracker", "cdk.tf.json"), "utf8"));
    for (const provider of local.provider.aws) {
      expect(provider.endpoints[0].s3).toBe(rehearsal.endpoint);
      expect(provider.s3_use_path_style).toBe(true);
    }
    expect(local.resource.aws_s3_bucket_policy).toBeUndefined();
    await expect(rehearsal.s3B().send(new GetBucketPolicyCommand({ Bucket: rehearsal.function.bucket }))).rejects.toMatchObject({ name: "NoSuchBucketPolicy" });

    const normal = Testing.synth(new IssTrackerStack(Testing.app(), "iss-tracker", loadConfig({ env: { ACCOUNT_B_ID: "222222222222" } })));
    expect(normal).not.toMatch(/endpoints|s3_use_path_style|skip_credentials_validation|skip_metadata_api_check|127\.0\.0\.1|\.local/);
    expect(JSON.parse(normal).resource.aws_s3_bucket_policy).toBeDefined();
  });

  it("the command's 3 runs created the log and appended 3 entries in seed 003's format, one per simulated ISS position", async () => {
    expect(commandRuns.map((r) => r.error)).toEqual([undefined, undefined, undefined]);
    expect(commandRuns[0].summary!.path).toBe("created");
    const text = await logText();
    expect(countEntries(text)).toBe(3);
    expect(text.startsWith("ISS Location Logs\n===================\n\n")).toBe(true);
    expect(text).toMatch(/^ISS Location Logs\n=+\n\n(Time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\nLatitude: -?\d+\.\d{4}\nLongitude: -?\d+\.\d{4}\n\n){3}$/);
    for (const { summary } of commandRuns) {
      expect(summary).toMatchObject({ source: rehearsal.simulator!.url, bucket: rehearsal.function.bucket, key: "iss_position.txt" });
      expect(text).toContain(`Time: ${utc(summary!.issTimestamp!)}\nLatitude: `);
    }
    expect(progress.some((l) => /^ {2}run 3: read-modify-write \+\d+ B/.test(l))).toBe(true);
  });

  it("10 parallel runs: every entry lands once, the earlier bytes are unchanged, and at least one run lost a race and retried", async () => {
    const before = await logText();
    const results = await rehearsal.invoke(10, 10);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const text = await logText();
    expect(text.startsWith(before)).toBe(true);
    expect(countEntries(text) - countEntries(before)).toBe(10);
    const timestamps = results.map((r) => r.summary!.issTimestamp!);
    expect(new Set(timestamps).size).toBe(10);
    for (const t of timestamps) expect(text.split(`Time: ${utc(t)}\n`).length - 1).toBe(1);
    // Otherwise this did not test concurrency.
    expect(Math.max(...results.map((r) => r.summary!.attempts!))).toBeGreaterThan(1);
  });

  it("without the execution role's sts:AssumeRole grant the run fails with the likely cause and the log is byte-identical", async () => {
    const before = await rehearsal.readLog();
    await withoutRolePolicy(rehearsal.adminA, "iss-tracker-function-exec", "assume-report-access-role", async () => {
      const [result] = await rehearsal.invoke(1);
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/AccessDenied assuming arn:aws:iam::222222222222:role\/iss-tracker-report-writer/);
      expect(result.error).toMatch(/execution role policy lacks sts:AssumeRole/);
    });
    expect((await rehearsal.readLog())!.equals(before!)).toBe(true);
  });

  it("with a wrong external id the access role's trust policy refuses (emulator STS gate) and the log is byte-identical", async () => {
    const before = await rehearsal.readLog();
    const [result] = await rehearsal.invoke(1, 1, { EXTERNAL_ID: "not-the-external-id" });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/AccessDenied/);
    expect(result.error).toMatch(/with this external id/);
    expect((await rehearsal.readLog())!.equals(before!)).toBe(true);
    expect(rehearsal.stsGate.decisions.at(-1)).toMatchObject({
      allowed: false,
      roleArn: rehearsal.function.environment.ACCESS_ROLE_ARN,
      caller: "arn:aws:sts::123456789012:assumed-role/iss-tracker-function-exec/iss-tracker-function",
    });
  });

  it("without the access role's S3 grant the run fails with AccessDenied and the log is byte-identical", async () => {
    const before = await rehearsal.readLog();
    await withoutRolePolicy(rehearsal.adminB, "iss-tracker-report-writer", "read-write-report-object", async () => {
      const [result] = await rehearsal.invoke(1);
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/AccessDenied|Access Denied|not authorized/i);
    });
    expect((await rehearsal.readLog())!.equals(before!)).toBe(true);
  });

  it("with no ISS source answering the run fails clearly, naming the source, and the log is byte-identical", async () => {
    const before = await rehearsal.readLog();
    const [result] = await rehearsal.invoke(1, 1, { ISS_SOURCES: "http://127.0.0.1:9/iss-now.json" });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/127\.0\.0\.1:9/);
    expect((await rehearsal.readLog())!.equals(before!)).toBe(true);
  });

  it("works again once the permissions are restored (the chain, not the data, was broken)", async () => {
    const before = countEntries(await logText());
    const [result] = await rehearsal.invoke(1);
    expect(result.error).toBeUndefined();
    expect(countEntries(await logText())).toBe(before + 1);
  });

  it("the command then tears down (bucket emptied, both stacks destroyed: state empty) and exits 0", async () => {
    release();
    expect(await exitCode).toBe(0);
    expect(errors).toEqual([]);
    expect(progress.some((l) => l.startsWith("▸ empty the report bucket"))).toBe(true);
    expect(progress.some((l) => l.startsWith("▸ destroy: cdktf destroy iss-tracker"))).toBe(true);
    expect(progress.some((l) => l.startsWith("▸ destroy: cdktf destroy bootstrap"))).toBe(true);
    expect(progress.some((l) => /^\n?Summary: 3 new entries for 3 run\(s\) \(0 failed\), 3 in the log — OK\.$/.test(l))).toBe(true);
    for (const stack of ["iss-tracker", "bootstrap"]) {
      expect(JSON.parse(readFileSync(join(rehearsal.workDir, `${stack}.tfstate`), "utf8")).resources).toEqual([]);
    }
  });
});
