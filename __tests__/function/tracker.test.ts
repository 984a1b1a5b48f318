import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleCommand, STSClient, STSServiceException } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { MockAgent } from "undici";
import type { TrackerConfig } from "../../function/config";
import type { TrackerTarget } from "../../function/contract";
import { formatEntry, LOG_HEADER } from "../../function/core";
import { fetchFromSource } from "../../function/iss-client";
import { createLogger } from "../../function/logger";
import { S3ObjectStore } from "../../function/object-store";
import { NO_DEADLINE } from "../../function/retry";
import { Sessions } from "../../function/sessions";
import { runTracker, TargetsFailedError, type TrackerAdapters } from "../../function/tracker";

const s3 = mockClient(S3Client);
const sts = mockClient(STSClient);
const OPEN_NOTIFY = "http://api.open-notify.org/iss-now.json";
const WHERE = "https://api.wheretheiss.at/v1/satellites/25544";
const AT = 1765041585;
const target = (account: string): TrackerTarget => ({
  id: account, accessRoleArn: `arn:aws:iam::${account}:role/access`, externalId: `ext-${account}`, bucket: `reports-${account}`, bucketRegion: "eu-west-1", key: "iss_position.txt",
});
const B = target("222222222222");
const C = target("333333333333");
const configFor = (targets: TrackerTarget[]): TrackerConfig => ({ targets, issSources: [OPEN_NOTIFY, WHERE], multipartThresholdBytes: 5 * 1024 * 1024 });
const onBody = (timestamp = AT) => JSON.stringify({ message: "success", timestamp, iss_position: { latitude: "-50.5587", longitude: "122.1887" } });
const ENTRY = formatEntry({ timestamp: AT, latitude: -50.5587, longitude: 122.1887 });
const missing = () => Object.assign(new Error("NoSuchKey"), { name: "NoSuchKey", $metadata: { httpStatusCode: 404 } });
const tail = (text: string, etag = '"e1"') => {
  const content = Buffer.from(text);
  return { ETag: etag, ContentRange: `bytes 0-${content.length - 1}/${content.length}`, ContentLength: content.length, Body: { transformToByteArray: async () => new Uint8Array(content) } as never };
};

let agent: MockAgent;
let lines: Array<Record<string, unknown>>;
let dropped: string[];
let clock: number;
function adapters(): TrackerAdapters {
  const sessions = new Sessions({ sts: new STSClient({ region: "us-east-1" }), s3Client: (region, credentials) => new S3Client({ region, credentials }) });
  return {
    // The function's clock: the second of open-notify's fixed answer.
    fetchFromSource: (source, deadline) => fetchFromSource(source, { dispatcher: agent, deadline, sleep: async () => undefined }),
    session: (t, name, deadline) => sessions.get(t, name, deadline),
    dropSession: (t, session) => void (sessions.drop(t, session.credentials), dropped.push(`${t.id}:${session.credentials.accessKeyId}`)),
    store: (t, session, deadline) => new S3ObjectStore(session.s3, t.bucket, t.key, { deadline }),
    log: createLogger((line) => void lines.push(JSON.parse(line)), { requestId: "req-1" }),
    appendOptions: { sleep: async () => undefined },
    now: () => (clock += 7),
  };
}
const run = (targets = [B]) => runTracker(configFor(targets), adapters(), { requestId: "req-1", sessionName: "fn-req-1", deadline: NO_DEADLINE });
const openNotify = () => agent.get("http://api.open-notify.org").intercept({ path: "/iss-now.json", method: "GET" });
const where = () => agent.get("https://api.wheretheiss.at").intercept({ path: "/v1/satellites/25544", method: "GET" });
const messages = () => lines.map((l) => l.msg);

beforeEach(() => {
  s3.reset();
  sts.reset();
  sts.on(AssumeRoleCommand).callsFake((input) => ({ Credentials: { AccessKeyId: `ASIA-${input.RoleArn.split(":")[4]}`, SecretAccessKey: "s", SessionToken: "t", Expiration: new Date(Date.now() + 3600_000) } }));
  agent = new MockAgent();
  agent.disableNetConnect();
  lines = [];
  dropped = [];
  clock = AT * 1000;
});
afterEach(() => agent.close());

describe("runTracker: one target", () => {
  it("appends, returns the summary, and logs the target's line and the run's line", async () => {
    openNotify().reply(200, onBody());
    s3.on(GetObjectCommand).rejects(missing());
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    const summary = await run();
    const outcome = {
      target: B.id, bucket: B.bucket, key: B.key, outcome: "appended", path: "created", source: OPEN_NOTIFY, issTimestamp: AT,
      bytesAppended: (LOG_HEADER + ENTRY).length, attempts: 1, objectBytes: (LOG_HEADER + ENTRY).length, credentialsCached: false, bytesRead: 0, bytesWritten: (LOG_HEADER + ENTRY).length,
    };
    expect(summary).toEqual({ requestId: "req-1", issAttempts: 1, durationMs: 7 * 2, targets: [outcome] });
    expect(lines).toEqual([{ level: "info", msg: "entry appended", ...outcome, requestId: "req-1" }, { level: "info", msg: "run finished", ...summary }]);
    expect(sts.commandCalls(AssumeRoleCommand)[0].args[0].input).toMatchObject({ RoleArn: B.accessRoleArn, ExternalId: B.externalId, RoleSessionName: "fn-req-1" });
  });

  it("uses the next source when the first keeps failing, and counts every request", async () => {
    openNotify().reply(502, "bad gateway").times(2);
    where().reply(200, JSON.stringify({ latitude: 1.5, longitude: 2.5, timestamp: AT + 5 }));
    s3.on(GetObjectCommand).resolves(tail(LOG_HEADER));
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    const summary = await run();
    expect(summary).toMatchObject({ issAttempts: 3, targets: [{ source: WHERE, issTimestamp: AT + 5, path: "read-modify-write" }] });
  });

  it.each([
    ["a frozen source (10 minutes old)", AT - 600, /\[http:\/\/api\.open-notify\.org\/iss-now\.json attempt 1\] stale fix: timestamp 1765040985 \(2025-12-06 17:09:45 UTC\) is 600 s behind the function's clock/],
    ["1970", 1, /attempt 1\] stale fix: timestamp 1 /],
    ["a day ahead", AT + 86_400, /attempt 1\] fix from the future: .* 86400 s ahead/],
  ])("refuses a fix from %s against the function's clock, without asking that source again, and uses the next", async (_name, timestamp, reason) => {
    openNotify().reply(200, onBody(timestamp));
    where().reply(200, JSON.stringify({ latitude: 1.5, longitude: 2.5, timestamp: AT }));
    s3.on(GetObjectCommand).resolves(tail(LOG_HEADER));
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    expect(await run()).toMatchObject({ issAttempts: 2, targets: [{ source: WHERE }] });
    openNotify().reply(200, onBody(timestamp));
    where().reply(500, "x").times(2);
    await expect(run()).rejects.toThrow(reason);
  });

  it.each([
    ["HTTP 500 from every source", () => { openNotify().reply(500, "x").times(2); where().reply(500, "x").times(2); }, /HTTP 500/],
    ["HTML", () => { openNotify().reply(200, "<html></html>"); where().reply(200, "<!doctype html>"); }, /not JSON/],
    ["out-of-range values", () => {
      openNotify().reply(200, JSON.stringify({ message: "success", timestamp: 1, iss_position: { latitude: "-91", longitude: "0" } }));
      where().reply(200, JSON.stringify({ latitude: 0, longitude: 181, timestamp: 1 }));
    }, /out of range/],
    ["a connection failure", () => { openNotify().replyWithError(new Error("ECONNREFUSED")).times(2); where().replyWithError(new Error("ENOTFOUND")).times(2); }, /ECONNREFUSED/],
  ])("fails on %s with every source's reason, and leaves the object untouched", async (_name, arrange, reason) => {
    arrange();
    const error = await run().catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^no ISS source gave a valid position; the object was not touched\. \[http:\/\/api\.open-notify\.org/);
    expect((error as Error).message).toMatch(reason);
    expect(s3.calls()).toHaveLength(0);
    expect(lines.at(-1)).toMatchObject({ level: "error", msg: "run failed", error: "IssUnavailableError", targets: [{ target: B.id, outcome: "failed", error: "IssUnavailableError" }] });
  });

  it("fails with the AccessDenied explanation and touches no object when the role cannot be assumed", async () => {
    openNotify().reply(200, onBody());
    sts.on(AssumeRoleCommand).rejects(new STSServiceException({ name: "AccessDenied", $fault: "client", $metadata: { httpStatusCode: 403 }, message: "not authorized to perform: sts:AssumeRole" }));
    await expect(run()).rejects.toThrow(/lacks sts:AssumeRole on arn:aws:iam::222222222222:role\/access/);
    expect(s3.calls()).toHaveLength(0);
    expect(lines[0]).toMatchObject({ level: "error", msg: "target failed", error: "AssumeRoleError", source: OPEN_NOTIFY, issTimestamp: AT });
  });

  it("reports a re-delivered event as a duplicate and writes nothing", async () => {
    openNotify().reply(200, onBody());
    s3.on(GetObjectCommand).resolves(tail(LOG_HEADER + ENTRY));
    expect(await run()).toMatchObject({ targets: [{ outcome: "duplicate", path: "duplicate", bytesAppended: 0, bytesWritten: 0 }] });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(messages()).toEqual(["entry already in the log; nothing written", "run finished"]);
  });

  it("asks the next source when the log says the fix is far in the past, and appends its fix", async () => {
    openNotify().reply(200, onBody());
    where().reply(200, JSON.stringify({ latitude: 1.5, longitude: 2.5, timestamp: AT + 10 }));
    s3.on(GetObjectCommand).resolves(tail(LOG_HEADER + formatEntry({ timestamp: AT + 301, latitude: 0, longitude: 0 })));
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    expect(await run()).toMatchObject({ issAttempts: 2, targets: [{ source: WHERE, issTimestamp: AT + 10, path: "read-modify-write" }] });
  });

  it("fails clearly, writing nothing, when no source gives a fix the log can take", async () => {
    openNotify().reply(200, onBody());
    where().reply(200, JSON.stringify({ latitude: 1.5, longitude: 2.5, timestamp: AT + 5 }));
    s3.on(GetObjectCommand).resolves(tail(LOG_HEADER + formatEntry({ timestamp: AT + 3600, latitude: 0, longitude: 0 })));
    await expect(run()).rejects.toThrow(/^no ISS source gave a valid position; the object was not touched\. \[http:\/\/api\.open-notify\.org\/iss-now\.json attempt 1\] fix .* 3600 s older than the log's newest entry.*; \[https:\/\/api\.wheretheiss\.at\/v1\/satellites\/25544 attempt 1\] fix .* 3595 s older/);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(lines.at(-1)).toMatchObject({ level: "error", msg: "run failed", error: "IssUnavailableError", issAttempts: 2 });
  });

  it("drops the session S3 refused, so the next run assumes the role again", async () => {
    openNotify().reply(200, onBody());
    s3.on(GetObjectCommand).rejects(Object.assign(new Error("expired"), { name: "ExpiredToken", $metadata: { httpStatusCode: 400 } }));
    await expect(run()).rejects.toThrow(/^ExpiredToken: GetObject \(tail\)/);
    expect(dropped).toEqual([`${B.id}:ASIA-${B.id}`]);
    expect(lines[0]).toMatchObject({ error: "StoreAccessDeniedError", credentialsCached: false });
  });

  it("keeps the session on other failures", async () => {
    openNotify().reply(200, onBody());
    s3.on(GetObjectCommand).rejects(Object.assign(new Error("bad request"), { name: "InvalidRequest", $metadata: { httpStatusCode: 400 } }));
    await expect(run()).rejects.toThrow("bad request");
    expect(dropped).toEqual([]);
  });
});

describe("runTracker: what a run saw of each log", () => {
  it("keeps each target's watermark after its append, for the next warm run's check, and refuses a cut log then", async () => {
    const watermarks = new Map();
    openNotify().reply(200, onBody());
    s3.on(GetObjectCommand).resolves(tail(LOG_HEADER));
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    await runTracker(configFor([B]), { ...adapters(), watermarks }, { requestId: "r1", sessionName: "s", deadline: NO_DEADLINE });
    expect(watermarks.get(B.id)).toMatchObject({ size: (LOG_HEADER + ENTRY).length });
    openNotify().reply(200, onBody(AT + 5));
    s3.reset();
    s3.on(GetObjectCommand).resolves(tail(LOG_HEADER)); // cut back to its header
    await expect(runTracker(configFor([B]), { ...adapters(), watermarks }, { requestId: "r2", sessionName: "s", deadline: NO_DEADLINE })).rejects.toThrow(/was rewritten or cut/);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(watermarks.get(B.id)).toMatchObject({ size: (LOG_HEADER + ENTRY).length });
  });
});

describe("runTracker: several targets, each on its own", () => {
  it("fetches one fix and appends it to every target's log", async () => {
    openNotify().reply(200, onBody());
    s3.on(GetObjectCommand).rejects(missing());
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    const summary = await run([B, C]);
    expect(summary.issAttempts).toBe(1);
    expect(summary.targets.map((t) => [t.target, t.outcome, t.issTimestamp])).toEqual([[B.id, "appended", AT], [C.id, "appended", AT]]);
    expect(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Bucket).sort()).toEqual([B.bucket, C.bucket]);
    expect(messages()).toEqual(["entry appended", "entry appended", "run finished"]);
  });

  it("one target denied: the other still lands; the run fails naming the target, so Lambda retries", async () => {
    openNotify().reply(200, onBody());
    s3.on(GetObjectCommand).rejects(missing());
    s3.on(PutObjectCommand, { Bucket: B.bucket }).resolves({ ETag: '"e1"' });
    s3.on(PutObjectCommand, { Bucket: C.bucket }).rejects(Object.assign(new Error("denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } }));
    const error = await run([B, C]).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^1 of 2 targets failed: 333333333333: StoreAccessDeniedError: AccessDenied: PutObject \(create\) on s3:\/\/reports-333333333333\/iss_position\.txt/);
    const runLine = lines.at(-1)!;
    expect(runLine).toMatchObject({ level: "error", msg: "run failed", error: "TargetsFailedError" });
    expect((runLine.targets as Array<{ target: string; outcome: string }>).map((t) => [t.target, t.outcome])).toEqual([[B.id, "appended"], [C.id, "failed"]]);
    expect(dropped).toEqual([`${C.id}:ASIA-${C.id}`]);
  });

  it("the retry is a no-op where the entry landed, and appends where it did not", async () => {
    openNotify().reply(200, onBody());
    s3.on(GetObjectCommand, { Bucket: B.bucket }).resolves(tail(LOG_HEADER + ENTRY));
    s3.on(GetObjectCommand, { Bucket: C.bucket }).resolves(tail(LOG_HEADER));
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    expect((await run([B, C])).targets.map((t) => t.path)).toEqual(["duplicate", "read-modify-write"]);
    expect(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Bucket)).toEqual([C.bucket]);
  });

  it("a target whose log is far ahead asks the next source for itself; the others keep the first fix", async () => {
    openNotify().reply(200, onBody());
    where().reply(200, JSON.stringify({ latitude: 1.5, longitude: 2.5, timestamp: AT + 10 }));
    s3.on(GetObjectCommand, { Bucket: B.bucket }).resolves(tail(LOG_HEADER));
    s3.on(GetObjectCommand, { Bucket: C.bucket }).resolves(tail(LOG_HEADER + formatEntry({ timestamp: AT + 301, latitude: 0, longitude: 0 })));
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    const summary = await run([B, C]);
    expect(summary.targets.map((t) => [t.target, t.source, t.issTimestamp])).toEqual([[B.id, OPEN_NOTIFY, AT], [C.id, WHERE, AT + 10]]);
    expect(summary.issAttempts).toBe(2);
  });

  it("several targets failing: one error naming each", async () => {
    openNotify().reply(200, onBody());
    sts.on(AssumeRoleCommand).rejects(new STSServiceException({ name: "AccessDenied", $fault: "client", $metadata: { httpStatusCode: 403 }, message: "not authorized" }));
    const error = await run([B, C]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TargetsFailedError);
    expect((error as Error).message).toMatch(/^2 of 2 targets failed: 222222222222: AssumeRoleError: .*; 333333333333: AssumeRoleError: /s);
  });
});
