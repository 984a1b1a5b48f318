import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleCommand, STSClient, STSServiceException } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { MockAgent } from "undici";
import type { TrackerConfig } from "../../function/config";
import { formatEntry, LOG_HEADER } from "../../function/core";
import { AssumeRoleProvider, type AssumedCredentials } from "../../function/credentials";
import { fetchIssPosition } from "../../function/iss-client";
import { S3ObjectStore } from "../../function/object-store";
import { NO_DEADLINE } from "../../function/retry";
import { runTracker, type TrackerAdapters } from "../../function/tracker";

const s3 = mockClient(S3Client);
const sts = mockClient(STSClient);
const OPEN_NOTIFY = "http://api.open-notify.org/iss-now.json";
const WHERE = "https://api.wheretheiss.at/v1/satellites/25544";
const config: TrackerConfig = {
  accessRoleArn: "arn:aws:iam::111111111111:role/access",
  externalId: "ext-1",
  bucket: "reports",
  bucketRegion: "eu-west-1",
  key: "iss_position.txt",
  issSources: [OPEN_NOTIFY, WHERE],
  multipartThresholdBytes: 5 * 1024 * 1024,
};
const ON_BODY = JSON.stringify({ message: "success", timestamp: 1765041585, iss_position: { latitude: "-50.5587", longitude: "122.1887" } });
const ENTRY = formatEntry({ timestamp: 1765041585, latitude: -50.5587, longitude: 122.1887 });

let agent: MockAgent;
let lines: string[];
let clock: number;
let dropped: AssumedCredentials[];
let stores: AssumedCredentials[];
function adapters(): TrackerAdapters {
  const provider = new AssumeRoleProvider({ sts: new STSClient({ region: "us-east-1" }), roleArn: config.accessRoleArn, externalId: config.externalId, cache: new Map() });
  return {
    // The function's clock: the second of open-notify's fixed answer.
    fetchPosition: (deadline, request) =>
      fetchIssPosition({ sources: config.issSources, dispatcher: agent, deadline, sleep: async () => undefined, now: () => 1765041585_000, ...request }),
    credentials: (name, deadline) => provider.get(name, deadline),
    store: (credentials) => {
      stores.push(credentials);
      return new S3ObjectStore(new S3Client({ region: config.bucketRegion }), config.bucket, config.key);
    },
    dropCredentials: (credentials) => void dropped.push(credentials),
    appendOptions: { sleep: async () => undefined },
    log: (line) => lines.push(line),
    now: () => (clock += 7),
  };
}
const run = () => runTracker(config, adapters(), { requestId: "req-1", sessionName: "fn-req-1", deadline: NO_DEADLINE });
const openNotify = () => agent.get("http://api.open-notify.org").intercept({ path: "/iss-now.json", method: "GET" });
const where = () => agent.get("https://api.wheretheiss.at").intercept({ path: "/v1/satellites/25544", method: "GET" });
const s3Calls = () => s3.calls().length;

beforeEach(() => {
  s3.reset();
  sts.reset();
  sts.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: "ASIA", SecretAccessKey: "s", SessionToken: "t", Expiration: new Date(Date.now() + 3600_000) } });
  agent = new MockAgent();
  agent.disableNetConnect();
  lines = [];
  clock = 1000;
  dropped = [];
  stores = [];
});
afterEach(() => agent.close());

describe("runTracker", () => {
  it("appends and returns the summary; logs it as one JSON line", async () => {
    openNotify().reply(200, ON_BODY);
    s3.on(GetObjectCommand).rejects(Object.assign(new Error("NoSuchKey"), { name: "NoSuchKey", $metadata: { httpStatusCode: 404 } }));
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    const summary = await run();
    expect(summary).toEqual({
      source: OPEN_NOTIFY,
      issTimestamp: 1765041585,
      path: "created",
      bytesAppended: (LOG_HEADER + ENTRY).length,
      attempts: 1,
      issAttempts: 1,
      credentialsCached: false,
      bytesRead: 0,
      bytesWritten: (LOG_HEADER + ENTRY).length,
      objectBytes: (LOG_HEADER + ENTRY).length,
      durationMs: 7,
      bucket: "reports",
      key: "iss_position.txt",
      requestId: "req-1",
    });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toEqual({ level: "info", msg: "entry appended", ...summary });
    expect(sts.commandCalls(AssumeRoleCommand)[0].args[0].input.RoleSessionName).toBe("fn-req-1");
    expect(stores).toEqual([expect.objectContaining({ accessKeyId: "ASIA" })]); // the store signs with this run's session
  });

  it("uses the fallback source and says so", async () => {
    openNotify().reply(502, "bad gateway").times(2);
    where().reply(200, JSON.stringify({ latitude: 1.5, longitude: 2.5, timestamp: 1765041590 }));
    s3.on(GetObjectCommand).resolves({ ETag: '"e1"', ContentRange: `bytes 0-${LOG_HEADER.length - 1}/${LOG_HEADER.length}`, ContentLength: LOG_HEADER.length, Body: { transformToByteArray: async () => new Uint8Array(Buffer.from(LOG_HEADER)) } as never });
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    const summary = await run();
    expect(summary).toMatchObject({ source: WHERE, issTimestamp: 1765041590, issAttempts: 3, path: "read-modify-write" });
  });

  it.each([
    ["HTTP 500 from every source", () => { openNotify().reply(500, "x").times(2); where().reply(500, "x").times(2); }, /HTTP 500/],
    ["HTML", () => { openNotify().reply(200, "<html></html>"); where().reply(200, "<!doctype html>"); }, /not JSON/],
    ["garbage", () => { openNotify().reply(200, "}{"); where().reply(200, "\u0000"); }, /not JSON/],
    ["out-of-range values", () => {
      openNotify().reply(200, JSON.stringify({ message: "success", timestamp: 1, iss_position: { latitude: "-91", longitude: "0" } }));
      where().reply(200, JSON.stringify({ latitude: 0, longitude: 181, timestamp: 1 }));
    }, /out of range/],
    ["a connection failure", () => { openNotify().replyWithError(new Error("ECONNREFUSED")).times(2); where().replyWithError(new Error("ENOTFOUND")).times(2); }, /ECONNREFUSED/],
  ])("fails on %s and leaves the object untouched", async (_name, arrange, reason) => {
    arrange();
    await expect(run()).rejects.toThrow(reason);
    expect(s3Calls()).toBe(0);
    expect(JSON.parse(lines[0])).toMatchObject({ level: "error", error: "IssUnavailableError", bucket: "reports" });
  });

  it("fails with the AccessDenied explanation and touches no object when the role cannot be assumed", async () => {
    openNotify().reply(200, ON_BODY);
    sts.on(AssumeRoleCommand).rejects(new STSServiceException({ name: "AccessDenied", $fault: "client", $metadata: { httpStatusCode: 403 }, message: "not authorized to perform: sts:AssumeRole" }));
    await expect(run()).rejects.toThrow(/lacks sts:AssumeRole on arn:aws:iam::111111111111:role\/access/);
    expect(s3Calls()).toBe(0);
    expect(JSON.parse(lines[0])).toMatchObject({ level: "error", error: "AssumeRoleError", source: OPEN_NOTIFY, issTimestamp: 1765041585 });
  });

  it("reports a re-delivered event as a duplicate and writes nothing", async () => {
    openNotify().reply(200, ON_BODY);
    const content = Buffer.from(LOG_HEADER + ENTRY);
    s3.on(GetObjectCommand).resolves({ ETag: '"e1"', ContentRange: `bytes 0-${content.length - 1}/${content.length}`, ContentLength: content.length, Body: { transformToByteArray: async () => new Uint8Array(content) } as never });
    const summary = await run();
    expect(summary).toMatchObject({ path: "duplicate", bytesAppended: 0, bytesWritten: 0 });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(JSON.parse(lines[0]).msg).toBe("entry already in the log; nothing written");
  });

  const tailAnswer = (text: string) => {
    const content = Buffer.from(text);
    return { ETag: '"e1"', ContentRange: `bytes 0-${content.length - 1}/${content.length}`, ContentLength: content.length, Body: { transformToByteArray: async () => new Uint8Array(content) } as never };
  };

  it("asks the next source when the log says the fix is far in the past, and appends its fix (issue 8 #3)", async () => {
    openNotify().reply(200, ON_BODY); // 17:19:45
    const newest = formatEntry({ timestamp: 1765041585 + 301, latitude: 0, longitude: 0 });
    where().reply(200, JSON.stringify({ latitude: 1.5, longitude: 2.5, timestamp: 1765041585 + 10 }));
    s3.on(GetObjectCommand).resolves(tailAnswer(LOG_HEADER + newest));
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    const summary = await run();
    expect(summary).toMatchObject({ source: WHERE, issTimestamp: 1765041595, issAttempts: 2, path: "read-modify-write" });
  });

  it("fails clearly, writing nothing, when no source gives a fix the log can take", async () => {
    openNotify().reply(200, ON_BODY);
    where().reply(200, JSON.stringify({ latitude: 1.5, longitude: 2.5, timestamp: 1765041590 }));
    s3.on(GetObjectCommand).resolves(tailAnswer(LOG_HEADER + formatEntry({ timestamp: 1765041585 + 3600, latitude: 0, longitude: 0 })));
    await expect(run()).rejects.toThrow(/^no ISS source gave a valid position; the object was not touched\. \[http:\/\/api\.open-notify\.org\/iss-now\.json attempt 1\] fix .* 3600 s older than the log's newest entry.*; \[https:\/\/api\.wheretheiss\.at\/v1\/satellites\/25544 attempt 1\] fix .* 3595 s older/);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(JSON.parse(lines[0])).toMatchObject({ level: "error", msg: "run failed", error: "IssUnavailableError", issAttempts: 2 });
  });

  it("drops the session S3 refused, so the next run assumes the role again (issue 8 #8)", async () => {
    openNotify().reply(200, ON_BODY);
    s3.on(GetObjectCommand).rejects(Object.assign(new Error("expired"), { name: "ExpiredToken", $metadata: { httpStatusCode: 400 } }));
    await expect(run()).rejects.toThrow(/^ExpiredToken: GetObject \(tail\)/);
    expect(dropped).toEqual([expect.objectContaining({ accessKeyId: "ASIA" })]);
    expect(JSON.parse(lines[0])).toMatchObject({ error: "StoreAccessDeniedError", credentialsCached: false });
  });

  it("keeps the session on other failures", async () => {
    openNotify().reply(200, ON_BODY);
    s3.on(GetObjectCommand).rejects(Object.assign(new Error("boom"), { name: "InternalError", $metadata: { httpStatusCode: 500 } }));
    await expect(run()).rejects.toThrow("boom");
    expect(dropped).toEqual([]);
  });
});
