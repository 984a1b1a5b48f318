/**
 * End to end on the moto emulator: the real `cdktf deploy` of both stacks (real Terraform, real
 * hashicorp/aws 5.100.0), the deployed bundle run in-process as the execution role with IAM
 * enforcement on, and `cdktf destroy`. Deployed once; every case runs on that deployment.
 */
import { DeleteRolePolicyCommand, GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { countEntries, Rehearsal, type Credentials } from "../../scripts/lib/rehearsal";

jest.setTimeout(240_000);

let rehearsal: Rehearsal;

beforeAll(async () => {
  rehearsal = await Rehearsal.start();
  await rehearsal.bootstrap();
  await rehearsal.deploy();
}, 300_000);

afterAll(async () => {
  await rehearsal?.stop();
});

async function logText(): Promise<string> {
  return (await rehearsal.readLog())?.toString("utf8") ?? "";
}

function utc(timestamp: number): string {
  return new Date(timestamp * 1000).toISOString().slice(0, 19).replace("T", " ");
}

/** Runs `body` with one inline policy of a role removed, then puts it back. */
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

describe("npm start's rehearsal on the emulator", () => {
  it("deploys a function whose configuration points at the deployed access role, bucket and key", () => {
    const fn = rehearsal.function;
    expect(fn.roleArn).toBe(fn.outputs.execution_role_arn);
    expect(fn.roleArn).toBe("arn:aws:iam::123456789012:role/iss-tracker-function-exec");
    expect(fn.environment).toMatchObject({
      ACCESS_ROLE_ARN: "arn:aws:iam::222222222222:role/iss-tracker-report-writer",
      EXTERNAL_ID: fn.outputs.external_id,
      BUCKET_NAME: fn.outputs.bucket_name,
      OBJECT_KEY: "iss_position.txt",
    });
    expect(fn.environment.ISS_SOURCES).toBe(rehearsal.simulator?.url);
    // What runs is byte for byte what Lambda holds (CodeSha256).
    expect(rehearsal.bundledCode().toString("utf8")).toMatch(/handler/);
  });

  it("appends one entry per run: 3 runs create the log and add 3 entries in seed 003's format", async () => {
    const before = countEntries(await logText());
    const results = await rehearsal.invoke(3, 1);
    expect(results.map((r) => r.error)).toEqual([undefined, undefined, undefined]);
    const text = await logText();
    expect(countEntries(text) - before).toBe(3);
    expect(text).toMatch(/^ISS Location Logs\n=+\n/);
    for (const r of results) {
      const ts = r.summary!.issTimestamp as number;
      expect(text).toContain(`Time: ${utc(ts)}\nLatitude: `);
    }
    expect(text).toMatch(/(Time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\nLatitude: -?\d+\.\d+\nLongitude: -?\d+\.\d+\n\n)+$/);
    expect(results[0].summary!.path).toBe(before === 0 ? "created" : "read-modify-write");
  });

  it("loses no entry when 10 runs write at once (conditional writes, retried on conflict)", async () => {
    const before = countEntries(await logText());
    const results = await rehearsal.invoke(10, 10);
    expect(results.filter((r) => !r.ok).map((r) => r.error)).toEqual([]);
    const text = await logText();
    expect(countEntries(text) - before).toBe(10);
    for (const r of results) expect(text).toContain(`Time: ${utc(r.summary!.issTimestamp as number)}\n`);
    // At least one run lost a race and re-read: otherwise this did not test concurrency.
    expect(Math.max(...results.map((r) => r.summary!.attempts as number))).toBeGreaterThan(1);
  });

  it("fails with the likely cause and leaves the log byte-identical when the execution role may not assume the access role", async () => {
    const before = await rehearsal.readLog();
    await withoutRolePolicy(rehearsal.adminA, "iss-tracker-function-exec", "assume-report-access-role", async () => {
      const [result] = await rehearsal.invoke(1);
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/AccessDenied assuming arn:aws:iam::222222222222:role\/iss-tracker-report-writer/);
      expect(result.error).toMatch(/execution role policy lacks sts:AssumeRole/);
    });
    expect((await rehearsal.readLog())!.equals(before!)).toBe(true);
  });

  it("fails and leaves the log byte-identical when the access role lost its S3 grant", async () => {
    const before = await rehearsal.readLog();
    await withoutRolePolicy(rehearsal.adminB, "iss-tracker-report-writer", "read-write-report-object", async () => {
      const [result] = await rehearsal.invoke(1);
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/AccessDenied|Access Denied|not authorized/i);
    });
    expect((await rehearsal.readLog())!.equals(before!)).toBe(true);
  });

  it("fails clearly and leaves the log byte-identical when no ISS source answers", async () => {
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

  it("tears down with cdktf destroy after emptying the bucket", async () => {
    await rehearsal.teardown();
    await expect(rehearsal.readLog()).rejects.toThrow(/NoSuchBucket|does not exist/);
  });
});
