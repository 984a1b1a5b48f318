/**
 * Two member accounts end to end on the moto emulator (npm start -- --targets 2): both bootstrap
 * stacks, one `cdktf deploy` of the tracker with TARGETS, the deployed bundle run as the
 * execution role with IAM enforced, then the teardown of all three stacks. One target's access is
 * broken by its own account's administrator while the other keeps landing every run.
 */
import { DeleteRolePolicyCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand, PutRolePolicyCommand } from "@aws-sdk/client-iam";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { formatTargetTable, runDoctor } from "../../../scripts/doctor/checks";
import { readObject } from "../../../scripts/emulator/s3-admin";
import { countEntries, Rehearsal } from "../../../scripts/rehearsal/rehearsal";
import { loadConfig } from "../../../stacks/config";

jest.setTimeout(200_000);

const progress: string[] = [];
let rehearsal: Rehearsal;
let first: string;
let second: string;

beforeAll(async () => {
  rehearsal = await Rehearsal.start({ targets: 2, log: (line) => progress.push(line) });
  [first, second] = rehearsal.accountsB;
  await rehearsal.bootstrap();
  await rehearsal.deploy();
}, 480_000);

afterAll(async () => {
  if (!rehearsal) return;
  try {
    await rehearsal.teardown();
    for (const stack of ["iss-tracker", "bootstrap", `bootstrap-${second}`]) {
      expect(JSON.parse(readFileSync(join(rehearsal.workDir, `${stack}.tfstate`), "utf8")).resources).toEqual([]);
    }
  } finally {
    await rehearsal.stop();
  }
}, 300_000);

/** npm run doctor of one target (its index in TARGETS) on the emulator: the ids of the checks that failed. */
const doctorFailures = async (targetIndex: number) => {
  const config = loadConfig({ env: { TARGETS: rehearsal.accountsB.join(",") } });
  const results = await runDoctor({ config, targetIndex, endpoint: rehearsal.endpoint, credentialsA: rehearsal.adminA });
  return { failed: results.filter((r) => r.status === "fail").map((r) => r.id), results };
};
const logOf = async (account: string) => (await rehearsal.readLog(account))?.toString("utf8") ?? "";

describe("two member accounts on the emulator (deployed once)", () => {
  it("deploys one function told both targets, each with its own access role, bucket and external id", () => {
    const targets = rehearsal.function.targets;
    expect(targets.map((t) => [t.id, t.accessRoleArn, t.bucket])).toEqual([first, second].map((b) => [
      b, `arn:aws:iam::${b}:role/iss-tracker-report-writer`, `iss-tracker-reports-${b}-us-east-1`,
    ]));
    expect(new Set(targets.map((t) => t.externalId)).size).toBe(2);
    expect(rehearsal.function.environment.TARGETS).toBeDefined();
    expect(progress.some((l) => l.startsWith(`▸ bootstrap ${second}: terraform apply of each bootstrap-<account> stack`))).toBe(true);
  });

  it("doctor checks each target's chain against its own settings: both healthy, with the function told each", async () => {
    const reports = await Promise.all([0, 1].map(async (i) => ({ target: rehearsal.accountsB[i], ...(await doctorFailures(i)) })));
    expect(reports.map((r) => r.failed)).toEqual([[], []]);
    for (const r of reports) expect(r.results.find((c) => c.id === "function-environment")?.status).toBe("pass");
    expect(formatTargetTable(reports).split("\n")[0]).toMatch(/^target +pass +fail +skip +warn +failed checks$/);
  });

  it("every run appends its one entry to both logs", async () => {
    const before = await Promise.all([first, second].map(async (b) => countEntries(await logOf(b))));
    const results = await rehearsal.invoke(2);
    expect(results.map((r) => [r.ok, r.summary?.targets.map((t) => t.target)])).toEqual([[true, [first, second]], [true, [first, second]]]);
    const texts = await Promise.all([first, second].map(logOf));
    expect(texts.map(countEntries)).toEqual(before.map((n) => n + 2));
    // The same fix in both: one fetch per run, appended everywhere.
    expect(texts[0]).toBe(texts[1]);
  });

  it("with the second target's grant removed by its account's administrator, the first keeps landing every run, the second's log stays byte-identical, and each run fails naming it", async () => {
    const iam = new IAMClient({ region: "us-east-1", endpoint: rehearsal.moto.endpoint, credentials: rehearsal.local.adminOf(second) });
    const RoleName = "iss-tracker-report-writer";
    const [PolicyName] = (await iam.send(new ListRolePoliciesCommand({ RoleName }))).PolicyNames ?? [];
    const saved = await iam.send(new GetRolePolicyCommand({ RoleName, PolicyName }));
    await iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName }));
    try {
      // doctor sees it in the second target's chain only.
      expect((await doctorFailures(0)).failed).toEqual([]);
      const broken = await doctorFailures(1);
      expect(broken.failed).toEqual(["access-permissions"]);
      const firstBefore = countEntries(await logOf(first));
      const secondBefore = await rehearsal.readLog(second);
      const results = await rehearsal.invoke(2);
      for (const r of results) {
        expect(r.ok).toBe(false);
        expect(r.error).toMatch(new RegExp(`1 of 2 targets failed: ${second}: .*denied`, "i"));
        expect(r.error).not.toContain(`${first}:`);
      }
      expect(countEntries(await logOf(first))).toBe(firstBefore + 2);
      expect(await rehearsal.readLog(second)).toEqual(secondBefore);
    } finally {
      await iam.send(new PutRolePolicyCommand({ RoleName, PolicyName, PolicyDocument: decodeURIComponent(saved.PolicyDocument!) }));
    }
    // Repaired: the next run lands in both again.
    const [again] = await rehearsal.invoke(1);
    expect(again.ok).toBe(true);
  });

  it("retiring the second target (\"retired\": true) destroys its access role and forgets its bucket: the log stays in its account, byte for byte, and the first keeps landing", async () => {
    const secondTarget = rehearsal.target(second);
    const kept = await rehearsal.readLog(second);
    expect(kept).toBeDefined();
    await rehearsal.deploy({ TARGETS: JSON.stringify([{ account: first }, { account: second, retired: true }]) });
    expect(rehearsal.function.targets.map((t) => t.id)).toEqual([first]);
    const state = JSON.parse(readFileSync(join(rehearsal.workDir, "iss-tracker.tfstate"), "utf8")) as { resources: Array<{ type: string; provider: string }> };
    expect(state.resources.filter((r) => r.provider.endsWith(`.account_${second}"]`) || r.provider.endsWith(`.account_${second}`))).toEqual([]);
    // Still in the account, untouched; only its access role is gone.
    expect(await readObject(rehearsal.s3B(second), secondTarget.bucket, secondTarget.key)).toEqual(kept);
    const iam = new IAMClient({ region: "us-east-1", endpoint: rehearsal.moto.endpoint, credentials: rehearsal.local.adminOf(second) });
    await expect(iam.send(new GetRoleCommand({ RoleName: "iss-tracker-report-writer" }))).rejects.toThrow(/not found|cannot be found|NoSuchEntity/);
    const before = countEntries(await logOf(first));
    const [run] = await rehearsal.invoke(1);
    expect(run.ok).toBe(true);
    expect(countEntries(await logOf(first))).toBe(before + 1);
  });
});
