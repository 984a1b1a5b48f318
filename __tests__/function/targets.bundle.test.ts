/**
 * Several accounts B through the shipped bundle over real sockets: one run appends one fix to every
 * target in parallel, each target on its own (its session, its store, its retries, its outcome).
 * Six targets in six accounts on moto behind the emulator gateway: two healthy, and one each whose
 * access role AssumeRole refuses (its grant removed in B), whose S3 answers every write 503
 * SlowDown, whose key holds a foreign object, and whose S3 never answers the write. The healthy
 * ones land, early, while the others fail each with its own error; the run fails (so Lambda
 * retries it) naming every target's outcome; the retry of the same event, once access is repaired,
 * writes nothing where the entry landed and appends where it did not.
 */
import { CreateBucketCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { formatEntry, LOG_HEADER, parseLog } from "../../function/core";
import { defaultBucketName, targetOf, trackerEnvironment, type TargetEnvironment } from "../../function/contract";
import { queryError, s3Error, startGateway, type Gate, type Gateway } from "../../scripts/emulator/gateway";
import { startIssSimulator, type IssSimulator } from "../../scripts/emulator/iss-simulator";
import { scheduledEvent } from "../../scripts/emulator/lambda-runtime";
import { startMoto, type MotoServer } from "../../scripts/emulator/moto";
import { accountS3, readObject } from "../../scripts/emulator/s3-admin";
import { buildFunction, hang, REGION, runFunction, type BuiltFunction, type Outcome } from "../../test-support/bundle-harness";

const PREFIX = "iss-fleet";
const KEY = "iss/positions.txt";
const TIMEOUT_MS = 10_000;
const TARGETS = {
  healthy: "111111111111",
  denied: "222222222222",
  throttled: "333333333333",
  foreign: "444444444444",
  hung: "555555555555",
  alsoHealthy: "666666666666",
} as const;
type Name = keyof typeof TARGETS;
const NAMES = Object.keys(TARGETS) as Name[];
const bucketOf = (name: Name) => defaultBucketName(PREFIX, TARGETS[name], REGION);
const nameOfBucket = new Map(NAMES.map((n) => [bucketOf(n), n]));

const now = () => Math.floor(Date.now() / 1000);
const seedLog = () => LOG_HEADER + formatEntry({ timestamp: now() - 3600, latitude: 1, longitude: 2 });
const FOREIGN_BODY = "PK\u0003\u0004 not a log";

let fn: BuiltFunction;
let moto: MotoServer;
let gateway: Gateway;
let iss: IssSimulator;
const s3 = new Map<Name, S3Client>();
/** Which targets the gateway breaks, and when each healthy target's write was answered. */
const broken = new Set<Name>(["denied", "throttled", "hung"]);
const written = new Map<Name, number>();
let runStarted = 0;

/** The target a request is for: STS by the role it asks for, S3 by its bucket (path style). */
function targetOfRequest(req: { url: string; body: Buffer; service?: string }): Name | undefined {
  if (req.service === "sts") {
    const role = new URLSearchParams(req.body.toString("utf8")).get("RoleArn") ?? "";
    return NAMES.find((n) => role.startsWith(`arn:aws:iam::${TARGETS[n]}:`));
  }
  return nameOfBucket.get(decodeURIComponent(req.url.split("?")[0].split("/")[1] ?? ""));
}

const breakage: Gate = async (req, next) => {
  const name = targetOfRequest(req);
  const write = req.method === "PUT";
  if (name && broken.has(name)) {
    if (name === "denied" && req.service === "sts") return queryError(403, "AccessDenied", `User is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${TARGETS.denied}:role/${PREFIX}-access`);
    if (name === "throttled" && write) return s3Error(503, "SlowDown", "Please reduce your request rate.");
    if (name === "hung" && write) return hang();
  }
  const reply = await next();
  if (name && write && reply.status === 200 && !written.has(name)) written.set(name, Date.now() - runStarted);
  return reply;
};

function environment(): Record<string, string> {
  const targets: TargetEnvironment[] = NAMES.map((n) => ({ ...targetOf({ account: TARGETS[n], region: REGION }, PREFIX, KEY), account: TARGETS[n] }));
  return {
    AWS_ENDPOINT_URL: gateway.endpoint,
    AWS_ACCESS_KEY_ID: "AKIAEXECUTIONROLE",
    AWS_SECRET_ACCESS_KEY: "secret",
    AWS_SESSION_TOKEN: "token",
    AWS_REGION: REGION,
    ...trackerEnvironment(PREFIX, KEY, targets, [iss.url]),
  };
}

const logOf = (name: Name) => readObject(s3.get(name)!, bucketOf(name), KEY);
async function logs(): Promise<Record<Name, string | undefined>> {
  return Object.fromEntries(await Promise.all(NAMES.map(async (n) => [n, (await logOf(n))?.toString("latin1")]))) as Record<Name, string | undefined>;
}
const runLine = (o: Outcome) => o.lines.filter((l) => l.msg === "run failed" || l.msg === "run finished");
/** Each target's outcome, as the run's one line names it. */
const outcomes = (o: Outcome) => Object.fromEntries(((runLine(o)[0]?.targets ?? []) as Array<{ target: string; outcome: string; error?: string }>)
  .map((t) => [NAMES.find((n) => TARGETS[n] === t.target)!, t.error ? `${t.outcome}: ${t.error}` : t.outcome]));

let first: { outcome: Outcome; before: Record<Name, string | undefined>; after: Record<Name, string | undefined>; ms: number };
let retry: { outcome: Outcome; after: Record<Name, string | undefined> };

beforeAll(async () => {
  fn = buildFunction();
  [moto, iss] = await Promise.all([startMoto(), startIssSimulator()]);
  gateway = await startGateway(moto.endpoint, [breakage]);
  for (const n of NAMES) {
    const client = await accountS3(moto.endpoint, TARGETS[n]);
    s3.set(n, client);
    await client.send(new CreateBucketCommand({ Bucket: bucketOf(n) }));
    if (n !== "healthy") await client.send(new PutObjectCommand({ Bucket: bucketOf(n), Key: KEY, Body: n === "foreign" ? FOREIGN_BODY : seedLog() }));
  }
  const event = scheduledEvent();
  const before = await logs();
  runStarted = Date.now();
  const outcome = await runFunction(fn, { env: environment(), deliveries: [event], timeoutMs: TIMEOUT_MS });
  const ms = Date.now() - runStarted;
  first = { outcome, before, after: await logs(), ms };
  // Access repaired (the grant restored, S3 healthy again); Lambda delivers the same event again.
  broken.clear();
  const again = await runFunction(fn, { env: environment(), deliveries: [event], timeoutMs: TIMEOUT_MS });
  retry = { outcome: again, after: await logs() };
}, 120_000);

afterAll(async () => {
  await Promise.all([gateway?.stop(), iss?.stop()]);
  await moto?.stop();
  fn?.remove();
});

describe("one run, six targets, four of them broken four ways", () => {
  it("does not crash, and fails the run (so Lambda retries it) naming the four that failed", () => {
    const { outcome } = first;
    expect({ exitCode: outcome.exitCode, signal: outcome.signal, ok: outcome.results?.[0].ok }).toEqual({ exitCode: 0, signal: null, ok: false });
    expect(runLine(outcome)).toHaveLength(1);
    expect(runLine(outcome)[0]).toMatchObject({ level: "error", msg: "run failed", error: "TargetsFailedError" });
    expect(String(runLine(outcome)[0].message)).toMatch(/^4 of 6 targets failed: 222222222222: AssumeRoleError: .*; 333333333333: StoreUnavailableError: .*; 444444444444: ForeignObjectError: .*; 555555555555: DeadlineError: /s);
  });

  it("names each target's outcome in the run's line and in one line per target", () => {
    expect(outcomes(first.outcome)).toEqual({
      healthy: "appended",
      denied: "failed: AssumeRoleError",
      throttled: "failed: StoreUnavailableError",
      foreign: "failed: ForeignObjectError",
      hung: "failed: DeadlineError",
      alsoHealthy: "appended",
    });
    const perTarget = first.outcome.lines.filter((l) => l.msg === "entry appended" || l.msg === "target failed");
    expect(perTarget.map((l) => l.target).sort()).toEqual(Object.values(TARGETS).slice().sort());
  });

  it("lands the fix in both healthy logs, without waiting for the broken ones", () => {
    const { before, after, ms } = first;
    expect(parseLog(after.healthy!).entries).toHaveLength(1);
    expect(after.alsoHealthy).toBe(before.alsoHealthy + formatEntry(parseLog(after.healthy!).entries[0]));
    // The hung and throttled targets ran to the deadline; the healthy writes were answered long before.
    expect(ms).toBeGreaterThan(TIMEOUT_MS / 2);
    expect(Math.max(written.get("healthy") ?? Infinity, written.get("alsoHealthy") ?? Infinity)).toBeLessThan(TIMEOUT_MS / 2);
  });

  it("leaves every broken target's object byte-identical", () => {
    const { before, after } = first;
    for (const n of ["denied", "throttled", "foreign", "hung"] as const) expect({ [n]: after[n] }).toEqual({ [n]: before[n] });
  });
});

describe("Lambda's retry of the same event, once access is repaired", () => {
  it("writes nothing where the entry landed (another second's fix, the same event) and appends where it did not", () => {
    expect(outcomes(retry.outcome)).toEqual({
      healthy: "duplicate",
      denied: "appended",
      throttled: "appended",
      foreign: "failed: ForeignObjectError",
      hung: "appended",
      alsoHealthy: "duplicate",
    });
    const retried = (runLine(retry.outcome)[0].targets as Array<{ target: string; issTimestamp?: number }>).find((t) => t.target === TARGETS.denied)!;
    expect(retried.issTimestamp).not.toBe(parseLog(first.after.healthy!).entries[0].timestamp);
    expect(retry.after.healthy).toBe(first.after.healthy);
    expect(retry.after.alsoHealthy).toBe(first.after.alsoHealthy);
    for (const n of ["denied", "throttled", "hung"] as const) expect(parseLog(retry.after[n]!).entries).toHaveLength(2);
    expect(retry.after.foreign).toBe(FOREIGN_BODY);
  });

  it("fails again for the one target still broken, and for it alone", () => {
    const [line] = runLine(retry.outcome);
    expect(line).toMatchObject({ msg: "run failed", error: "TargetsFailedError" });
    expect(String(line.message)).toMatch(/^1 of 6 targets failed: 444444444444: ForeignObjectError: /);
  });
});
