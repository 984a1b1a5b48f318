/**
 * The shipped bundle under real failure, over real sockets: every way an ISS source, STS or S3 can
 * fail, run through the zip that `cdktf synth` deploys, in a fresh node process per case (the
 * emulator's Lambda stand-in, scripts/emulator/lambda-runtime.ts), against moto behind the emulator gateway. Each case asserts what a
 * user relies on: the process did not crash (exit 0, a result per run, no unhandled error), the
 * run ended as one "run failed" JSON line (or succeeded through the next source), before its
 * timeout, and the log's bytes are what they should be (identical when the run failed).
 *
 * One moto, one gateway, one ISS simulator and one bundle for the file; the cases run in parallel
 * (started in beforeAll, a few processes at a time), each on its own object key. The cases that
 * need moto's IAM enforcement run last, on their own.
 */
import { CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, IAMClient, PutRolePolicyCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { formatEntry, LOG_HEADER } from "../../function/core";
import { s3Error, type GatewayReply } from "../../scripts/emulator/gateway";
import { ISS_FAULTS, simulatedPosition, startIssSimulator, type IssFault, type IssSimulator } from "../../scripts/emulator/iss-simulator";
import { buildFunction, failures, hang, inBatches, REGION, runFunction, startEmulator, type BuiltFunction, type Emulator, type Outcome } from "../../test-support/bundle-harness";

const MiB = 1024 * 1024;
let fn: BuiltFunction;
let emu: Emulator;
let iss: IssSimulator;
const now = () => Math.floor(Date.now() / 1000);
/** A log of `entries` entries, the newest an hour ago. */
function seedLog(entries = 3): string {
  let text = LOG_HEADER;
  for (let i = entries; i >= 1; i--) text += formatEntry({ timestamp: now() - 3600 - i * 300, latitude: i, longitude: -i });
  return text;
}
/** A log of at least `bytes` bytes (the multipart path above 5 MiB). */
function bigLog(bytes: number): string {
  const entry = formatEntry({ timestamp: now() - 7200, latitude: 1, longitude: 2 });
  return LOG_HEADER + entry.repeat(Math.ceil(bytes / entry.length));
}

/** The one target's outcome of a run (what the run's summary says of the log). */
const only = (result: { summary?: Record<string, unknown> }) => (result.summary!.targets as Array<Record<string, unknown>>)[0];

/** Not crashed: exit 0, a result for every run, no unhandled error on stderr. */
function expectNoCrash(outcome: Outcome, runs = 1): void {
  expect({ exitCode: outcome.exitCode, signal: outcome.signal, stderr: outcome.stderr.match(/Uncaught|Unhandled|UND_ERR_ABORTED|node:internal/g) ?? [] })
    .toEqual({ exitCode: 0, signal: null, stderr: [] });
  expect(outcome.results).toHaveLength(runs);
}
/** One failed run, logged as exactly one "run failed" line with this error, before the timeout. */
function expectCleanFailure(outcome: Outcome, error: string, message: RegExp, timeoutMs = 30_000): Record<string, unknown> {
  expectNoCrash(outcome);
  expect(outcome.results![0]).toMatchObject({ ok: false });
  expect(outcome.results![0].ms).toBeLessThan(timeoutMs);
  const lines = failures(outcome);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatchObject({ level: "error", msg: "run failed", error });
  expect(String(lines[0].message)).toMatch(message);
  return lines[0];
}

/**
 * Every case, started in beforeAll (a few processes at a time, the slow ones, which mostly wait on
 * a timeout, first); each test awaits its own.
 */
const cases = new Map<string, () => Promise<unknown>>();
const slow = new Set<string>();
const started = new Map<string, Promise<unknown>>();
function runCase<T>(name: string, body: () => Promise<T>, options: { slow?: boolean } = {}): void {
  cases.set(name, body);
  if (options.slow) slow.add(name);
}
const result = <T>(name: string) => started.get(name) as Promise<T>;

beforeAll(async () => {
  fn = buildFunction();
  [emu, iss] = await Promise.all([startEmulator(), startIssSimulator()]);
  const names = [...cases.keys()].sort((a, b) => Number(slow.has(b)) - Number(slow.has(a)));
  const settled = inBatches(
    8,
    names.map((name) => () => cases.get(name)!().then((v) => ({ ok: true as const, v }), (e: unknown) => ({ ok: false as const, e }))),
  );
  names.forEach((name, i) => started.set(name, settled.then((all) => (all[i].ok ? all[i].v : Promise.reject(all[i].e)))));
  // Keep an unawaited rejection from surfacing before its test awaits it.
  for (const p of started.values()) p.catch(() => undefined);
}, 60_000);

afterAll(async () => {
  await Promise.all([emu?.stop(), iss?.stop()]);
  fn?.remove();
});

// ---------------------------------------------------------------------------------------------
// The happy paths, as cold and warm starts.

runCase("happy-small", async () => {
  const key = "happy/small.txt";
  const warm = await runFunction(fn, { env: emu.env(key, [iss.url]), events: 3 });
  const cold = await runFunction(fn, { env: emu.env(key, [iss.url]) });
  return { warm, cold, after: (await emu.get(key))!.toString() };
});

runCase("happy-large", async () => {
  const key = "happy/large.txt";
  const before = bigLog(5 * MiB + 1024);
  await emu.put(key, before);
  const outcome = await runFunction(fn, { env: emu.env(key, [iss.url]) });
  return { outcome, before, after: (await emu.get(key))!.toString(), uploads: await emu.uploads(key) };
});

describe("the happy paths", () => {
  it("creates the log, then appends to it; a warm run reuses the session, a cold start assumes the role", async () => {
    const { warm, cold, after } = await result<{ warm: Outcome; cold: Outcome; after: string }>("happy-small");
    expectNoCrash(warm, 3);
    expectNoCrash(cold);
    const summaries = [...warm.results!, ...cold.results!].map(only);
    expect(summaries.map((s) => [s.path, s.attempts, s.credentialsCached])).toEqual([
      ["created", 1, false],
      ["read-modify-write", 1, true],
      ["read-modify-write", 1, true],
      ["read-modify-write", 1, false],
    ]);
    expect(after).toBe(LOG_HEADER + summaries.map((s) => formatEntry({ timestamp: Number(s.issTimestamp), ...simulatedPosition(Number(s.issTimestamp)) })).join(""));
    expect(warm.lines.filter((l) => l.msg === "entry appended")).toHaveLength(3);
  });

  it("appends to a log above the threshold by multipart copy, moving only the head, the tail and the entry", async () => {
    const { outcome, before, after, uploads } = await result<{ outcome: Outcome; before: string; after: string; uploads: number }>("happy-large");
    expectNoCrash(outcome);
    const summary = only(outcome.results![0]);
    expect(summary).toMatchObject({ path: "multipart-append", attempts: 1, bytesRead: 1024 + 64 });
    expect(after.startsWith(before)).toBe(true);
    expect(after.length - before.length).toBe(summary.bytesAppended);
    expect(uploads).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// ISS sources: every bad answer, over real sockets.

const REASONS: Record<BadSource, RegExp> = {
  "non-json": /response is not JSON \(starts with "ISS position unavailable/,
  html: /response is not JSON \(starts with "<html>/,
  "out-of-range": /latitude out of range/,
  "wrong-types": /timestamp is not an integer: "\d+"/,
  "failure-message": /open-notify message is "failure"/,
  empty: /response is not JSON/,
  "status-404": /^HTTP 404$/,
  "status-429": /^HTTP 429$/,
  "status-500": /^HTTP 500$/,
  "status-503": /^HTTP 503$/,
  redirect: /^HTTP 302 \(redirect to http:\/\/127\.0\.0\.1:\d+\/iss-now\.json, not followed\)$/,
  oversized: /larger than 65536 bytes/,
  hang: /Headers Timeout|timed out/i,
  stall: /Body Timeout|timed out/i,
  frozen: /stale fix: timestamp \d+ .* s behind the function's clock/,
  epoch: /stale fix: timestamp 1 \(1970-01-01 00:00:01 UTC\)/,
  "day-old": /stale fix: .* 8640\d s behind/,
  future: /fix from the future: .* 8640\d s ahead/,
  refused: /ECONNREFUSED/,
};
/** Retried once on the same source before the next one. */
const TRANSIENT = new Set(["status-429", "status-500", "status-503", "hang", "stall", "refused"]);

type BadSource = IssFault | "refused";
/** The slow ones (timeouts) in their own processes, in parallel with the rest. */
const CHUNKS: BadSource[][] = [["hang"], ["stall"], [...ISS_FAULTS.filter((f) => f !== "hang" && f !== "stall"), "refused"]];
const urlOf = async (kind: BadSource) => (kind === "refused" ? iss.refusedUrl() : iss.faultUrl(kind));
interface IssCase {
  readonly outcome: Outcome;
  readonly before: string;
  readonly after: Buffer;
  readonly kinds: BadSource[];
  readonly sources: string[];
}

for (const [i, kinds] of CHUNKS.entries()) {
  for (const good of [false, true]) {
    runCase(`iss-${i}-${good}`, async (): Promise<IssCase> => {
      const key = `iss/bad-answers-${i}${good ? "-then-a-good-one" : ""}.txt`;
      const before = seedLog();
      await emu.put(key, before);
      const sources = [...(await Promise.all(kinds.map(urlOf))), ...(good ? [iss.whereUrl] : [])];
      const outcome = await runFunction(fn, { env: emu.env(key, sources), timeoutMs: 60_000 });
      return { outcome, before, after: (await emu.get(key))!, kinds, sources };
    }, { slow: kinds.includes("hang") || kinds.includes("stall") });
  }
}
const issCases = (good: boolean) => Promise.all(CHUNKS.map((_, i) => result<IssCase>(`iss-${i}-${good}`)));

describe("bad ISS answers (real sockets, the shipped bundle)", () => {
  it("each kind of bad answer is one clean reason and the next source is tried; all bad: one 'run failed' line, the log byte-identical, no crash", async () => {
    for (const { outcome, before, after, kinds, sources } of await issCases(false)) {
      const line = expectCleanFailure(outcome, "IssUnavailableError", /^no ISS source gave a valid position; the object was not touched\./, 60_000);
      expect(after.toString()).toBe(before);
      // The reasons, in source order: every source was tried, the transient ones twice.
      const reasons = String(line.message).split(/; (?=\[http)/).map((r) => /^(?:no ISS .*? touched\. )?\[(\S+) attempt (\d)\] (.*)$/s.exec(r)!.slice(1));
      const expected = kinds.flatMap((kind, i) => (TRANSIENT.has(kind) ? [[sources[i], "1", kind], [sources[i], "2", kind]] : [[sources[i], "1", kind]]));
      expect(reasons.map(([source, attempt]) => [source, attempt])).toEqual(expected.map(([s, a]) => [s, a]));
      for (const [i, [, , reason]] of reasons.entries()) expect(reason).toMatch(REASONS[expected[i][2] as BadSource]);
    }
    await issCases(true); // for the simulator's request counts
    for (const fault of ISS_FAULTS) expect(iss.requests(fault)).toBe(TRANSIENT.has(fault) ? 4 : 2);
  });

  it("after every kind of bad answer the next source is tried, and the run succeeds through the last, good one", async () => {
    for (const { outcome, before, after, kinds } of await issCases(true)) {
      expectNoCrash(outcome);
      expect(outcome.results![0]).toMatchObject({ ok: true, summary: { targets: [{ source: iss.whereUrl, path: "read-modify-write" }] } });
      expect(outcome.results![0].summary!.issAttempts).toBe(kinds.length + kinds.filter((k) => TRANSIENT.has(k)).length + 1);
      expect(failures(outcome)).toEqual([]);
      expect(after.toString().startsWith(before)).toBe(true);
      expect(after.toString().slice(before.length)).toMatch(/^Time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\nLatitude: -?\d+\.\d{4}\nLongitude: -?\d+\.\d{4}\n\n$/);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Freshness against the log: a log whose newest entry is far ahead of every fix.

runCase("log-ahead", async () => {
  const key = "fresh/log-from-the-future.txt";
  const before = LOG_HEADER + formatEntry({ timestamp: now() + 3600, latitude: 1, longitude: 2 });
  await emu.put(key, before);
  const outcome = await runFunction(fn, { env: emu.env(key, [iss.url, iss.whereUrl]) });
  return { outcome, before, after: await emu.get(key) };
});

describe("freshness", () => {
  it("a fix far older than the log's newest entry fails over to the next source, then fails clearly, the log byte-identical", async () => {
    const { outcome, before, after } = await result<{ outcome: Outcome; before: string; after: Buffer }>("log-ahead");
    expectCleanFailure(outcome, "IssUnavailableError", /older than the log's newest entry[\s\S]*\/v1\/satellites\/25544 attempt 1\] fix .* older than the log's newest entry/);
    expect(after.toString()).toBe(before);
  });
});

// ---------------------------------------------------------------------------------------------
// Hung STS and S3: a socket that accepts and never answers.

const HANG_TIMEOUT_MS = 10_000;

runCase("sts-hang", async () => {
  const key = "hang/sts.txt";
  const before = seedLog();
  await emu.put(key, before);
  emu.on("AKIAHANGINGSTS", () => hang());
  const outcome = await runFunction(fn, { env: emu.env(key, [iss.url], { AWS_ACCESS_KEY_ID: "AKIAHANGINGSTS" }), timeoutMs: HANG_TIMEOUT_MS });
  return { outcome, before, after: await emu.get(key) };
}, { slow: true });

runCase("s3-hang-put", async () => {
  const key = "hang/put.txt";
  const before = seedLog();
  await emu.put(key, before);
  emu.on(key, (req, next) => (req.method === "PUT" ? hang() : next()));
  const outcome = await runFunction(fn, { env: emu.env(key, [iss.url]), timeoutMs: HANG_TIMEOUT_MS });
  return { outcome, before, after: await emu.get(key) };
}, { slow: true });

runCase("s3-hang-complete", async () => {
  const key = "hang/complete.txt";
  const before = bigLog(5 * MiB + 1024);
  await emu.put(key, before);
  const seen: string[] = [];
  emu.on(key, (req, next) => {
    seen.push(`${req.method} ${req.url.replace(/uploadId=[^&]+/, "uploadId=…")}`);
    return req.method === "POST" && /[?&]uploadId=/.test(req.url) ? hang() : next();
  });
  const outcome = await runFunction(fn, { env: emu.env(key, [iss.url]), timeoutMs: HANG_TIMEOUT_MS });
  return { outcome, before, after: await emu.get(key), uploads: await emu.uploads(key), seen };
}, { slow: true });

describe("a hung STS or S3 (a socket that accepts and never answers)", () => {
  it("a hung AssumeRole ends the run with one 'run failed' line before the timeout, the log untouched", async () => {
    const { outcome, before, after } = await result<{ outcome: Outcome; before: string; after: Buffer }>("sts-hang");
    expectCleanFailure(outcome, "AssumeRoleError", /AssumeRole on arn:aws:iam::111111111111:role\/iss-tracker-access.*no answer within \d+ ms/, HANG_TIMEOUT_MS);
    expect(after.toString()).toBe(before);
  });

  it("a hung PutObject ends the run with one 'run failed' line before the timeout, the log untouched", async () => {
    const { outcome, before, after } = await result<{ outcome: Outcome; before: string; after: Buffer }>("s3-hang-put");
    expectCleanFailure(outcome, "DeadlineError", /PutObject \(replace\) on s3:\/\/iss-tracker-bundle-tests\/hang\/put\.txt: no answer within \d+ ms/, HANG_TIMEOUT_MS);
    expect(after.toString()).toBe(before);
  });

  it("a hung CompleteMultipartUpload is given up in time and its upload aborted within the margin: no upload left, the log untouched", async () => {
    const { outcome, before, after, uploads, seen } = await result<{ outcome: Outcome; before: string; after: Buffer; uploads: number; seen: string[] }>("s3-hang-complete");
    expectCleanFailure(outcome, "DeadlineError", /CompleteMultipartUpload on .*: no answer within \d+ ms/, HANG_TIMEOUT_MS);
    expect(seen.at(-1)).toMatch(/^DELETE \/iss-tracker-bundle-tests\/hang\/complete\.txt\?uploadId=…/);
    expect(uploads).toBe(0);
    expect(after.equals(Buffer.from(before))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// The log deleted between the read and the write: S3 answers the conditional write 404.

runCase("deleted-before-put", async () => {
  const key = "deleted/before-put.txt";
  await emu.put(key, seedLog());
  let deleted = false;
  emu.on(key, async (req, next) => {
    if (req.method === "PUT" && req.headers["if-match"] && !deleted) {
      deleted = true;
      await emu.s3.send(new DeleteObjectCommand({ Bucket: emu.bucket, Key: key }));
    }
    return next();
  });
  const outcome = await runFunction(fn, { env: emu.env(key, [iss.url]) });
  return { outcome, after: await emu.get(key) };
});

runCase("deleted-before-complete", async () => {
  const key = "deleted/before-complete.txt";
  await emu.put(key, bigLog(5 * MiB + 1024));
  let deleted = false;
  emu.on(key, async (req, next): Promise<GatewayReply> => {
    if (req.method === "POST" && /[?&]uploadId=/.test(req.url) && req.headers["if-match"] && !deleted) {
      deleted = true;
      await emu.s3.send(new DeleteObjectCommand({ Bucket: emu.bucket, Key: key }));
      // S3's answer to If-Match on a key that no longer exists (moto ignores If-Match here).
      return s3Error(404, "NoSuchKey", "The specified key does not exist.", { Key: key });
    }
    return next();
  });
  const outcome = await runFunction(fn, { env: emu.env(key, [iss.url]) });
  return { outcome, after: await emu.get(key), uploads: await emu.uploads(key) };
});

describe("the log deleted between the read and the conditional write (404)", () => {
  it("a 404 on the conditional PutObject is a conflict: re-read, and the log is created anew with the entry", async () => {
    const { outcome, after } = await result<{ outcome: Outcome; after: Buffer }>("deleted-before-put");
    expectNoCrash(outcome);
    expect(outcome.results![0]).toMatchObject({ ok: true, summary: { targets: [{ path: "created", attempts: 2 }] } });
    expect(after.toString()).toMatch(new RegExp(`^${LOG_HEADER}Time: [^\\n]+\\nLatitude: [^\\n]+\\nLongitude: [^\\n]+\\n\\n$`));
  });

  it("a 404 on CompleteMultipartUpload is a conflict like UploadPartCopy's: the upload aborted, re-read, the log created anew", async () => {
    const { outcome, after, uploads } = await result<{ outcome: Outcome; after: Buffer; uploads: number }>("deleted-before-complete");
    expectNoCrash(outcome);
    expect(outcome.results![0]).toMatchObject({ ok: true, summary: { targets: [{ path: "created", attempts: 2 }] } });
    expect(after.toString().startsWith(LOG_HEADER + "Time: ")).toBe(true);
    expect(uploads).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// A foreign object at the key.

const FOREIGN: Record<string, () => Buffer> = {
  "a small JSON document": () => Buffer.from(JSON.stringify({ hello: "world", items: [1, 2, 3] })),
  "random bytes, larger than the tail": () => randomBytes(3000),
  // Above the multipart threshold, with a tail that looks like a log: only the head tells.
  "a large object whose tail looks like a log": () => Buffer.concat([Buffer.from("PK\u0003\u0004 not a log\n"), Buffer.from(bigLog(5 * MiB + 1024))]),
};
for (const [name, make] of Object.entries(FOREIGN)) {
  runCase(`foreign: ${name}`, async () => {
    const key = `foreign/${name.replace(/\W+/g, "-")}.bin`;
    const before = make();
    await emu.put(key, before);
    const outcome = await runFunction(fn, { env: emu.env(key, [iss.url]) });
    return { outcome, key, before, after: await emu.get(key), uploads: await emu.uploads(key) };
  });
}

describe("a foreign object at the key", () => {
  it.each(Object.keys(FOREIGN))("%s: refused with an error naming the key, nothing written", async (name) => {
    const { outcome, key, before, after, uploads } = await result<{ outcome: Outcome; key: string; before: Buffer; after: Buffer; uploads: number }>(`foreign: ${name}`);
    expectCleanFailure(outcome, "ForeignObjectError", new RegExp(`^s3://iss-tracker-bundle-tests/${key.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} holds something other than this log`));
    expect(after.equals(before)).toBe(true);
    expect(uploads).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// A 206 without the object's total size.

runCase("range-without-total", async () => {
  const key = "range/without-total.txt";
  const before = seedLog(40); // ~2.5 KB: larger than the 1 KiB tail, below the threshold
  await emu.put(key, before);
  emu.on(key, async (req, next) => {
    const reply = await next();
    const range = reply.headers["content-range"];
    if (req.method === "GET" && typeof range === "string") return { ...reply, headers: { ...reply.headers, "content-range": range.replace(/\/\d+$/, "/*") } };
    return reply;
  });
  const outcome = await runFunction(fn, { env: emu.env(key, [iss.url]) });
  return { outcome, before, after: await emu.get(key) };
});

describe("sizes only where S3 states them", () => {
  it("a 206 whose Content-Range has no numeric total is not taken as the whole object: the run fails, nothing written", async () => {
    const { outcome, before, after } = await result<{ outcome: Outcome; before: string; after: Buffer }>("range-without-total");
    expectCleanFailure(outcome, "StoreProtocolError", /GetObject \(tail\) .* answered 206 with Content-Range "bytes \d+-\d+\/\*", not the object's last bytes and its total size; nothing written/);
    expect(after.toString()).toBe(before);
  });
});

// ---------------------------------------------------------------------------------------------
// Credentials: a refused session is dropped; every call signs with the current one.

/** Fails every S3 request signed with the first session seen for the key, with `reply`. */
function refuseFirstSession(key: string, reply: () => GatewayReply): string[] {
  const sessions: string[] = [];
  emu.on(key, async (req, next) => {
    if (req.accessKeyId && !sessions.includes(req.accessKeyId)) sessions.push(req.accessKeyId);
    return req.accessKeyId === sessions[0] ? reply() : next();
  });
  return sessions;
}

runCase("access-denied-session", async () => {
  const key = "creds/access-denied.txt";
  await emu.put(key, seedLog());
  const sessions = refuseFirstSession(key, () => s3Error(403, "AccessDenied", "Access Denied"));
  const outcome = await runFunction(fn, { env: emu.env(key, [iss.url], { AWS_ACCESS_KEY_ID: "AKIADENIEDONCE" }), events: 2 });
  return { outcome, sessions };
});

runCase("expired-session", async () => {
  const key = "creds/expired.txt";
  await emu.put(key, seedLog());
  const sessions = refuseFirstSession(key, () => s3Error(400, "ExpiredToken", "The provided token has expired."));
  const outcome = await runFunction(fn, { env: emu.env(key, [iss.url], { AWS_ACCESS_KEY_ID: "AKIAEXPIREDONCE" }), events: 2 });
  return { outcome, sessions };
});

runCase("renewed-session", async () => {
  const key = "creds/renewed.txt";
  await emu.put(key, seedLog());
  const exec = "AKIARENEWALS";
  // What the function's calls carried, in order: "assumed <key>" and "s3 <key>".
  const trail: string[] = [];
  emu.on(exec, async (_req, next) => {
    const reply = await next();
    // Sessions that expire in 8 minutes: inside the function's 10-minute renewal margin, outside
    // the SDK's own 5-minute one (the SDK would keep signing with them).
    const expiring = new Date(Date.now() + 8 * 60_000).toISOString();
    const body = reply.body.toString().replace(/<Expiration>[^<]+<\/Expiration>/, `<Expiration>${expiring}</Expiration>`);
    trail.push(`assumed ${/<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(body)![1]}`);
    return { ...reply, body: Buffer.from(body) };
  });
  emu.on(key, (req, next) => {
    trail.push(`s3 ${req.accessKeyId}`);
    return next();
  });
  const outcome = await runFunction(fn, { env: emu.env(key, [iss.url], { AWS_ACCESS_KEY_ID: exec }), events: 2 });
  return { outcome, trail };
});

// ---------------------------------------------------------------------------------------------
// A log cut between two warm runs: the second run refuses it, writing nothing.

runCase("cut-between-runs", async () => {
  const key = "rewritten/cut.txt";
  let reads = 0;
  let cut = "";
  emu.on(key, async (req, next) => {
    // The second run's first read: someone cuts the log back to its header first.
    if (req.method === "GET" && ++reads === 2) {
      cut = LOG_HEADER;
      await emu.put(key, cut);
    }
    return next();
  });
  const outcome = await runFunction(fn, { env: emu.env(key, [iss.url]), events: 2 });
  return { outcome, cut, after: (await emu.get(key))!.toString() };
});

describe("a log cut or rewritten between two warm runs", () => {
  it("the warm run refuses it, naming what changed, and writes nothing; the first run's entry stays as written", async () => {
    const { outcome, cut, after } = await result<{ outcome: Outcome; cut: string; after: string }>("cut-between-runs");
    expectNoCrash(outcome, 2);
    expect(outcome.results!.map((r) => r.ok)).toEqual([true, false]);
    expect(failures(outcome)).toEqual([expect.objectContaining({
      error: "LogRewrittenError",
      message: expect.stringMatching(/was rewritten or cut: it has 39 bytes, fewer than the \d+ it had when this function last read it/),
    })]);
    expect(after).toBe(cut);
  });
});

describe("credentials", () => {
  it.each([
    ["AccessDenied", "access-denied-session", /AccessDenied: PutObject \(create\) on .*The cached session is dropped.*the read was denied too/],
    ["ExpiredToken", "expired-session", /ExpiredToken: GetObject \(tail\) on .*the cached session is dropped and the next run assumes the role again/],
  ])("a session S3 refuses with %s is dropped: the next warm run assumes the role again and succeeds", async (_code, name, message) => {
    const { outcome, sessions } = await result<{ outcome: Outcome; sessions: string[] }>(name);
    expectNoCrash(outcome, 2);
    expect(outcome.results![0].ok).toBe(false);
    expect(failures(outcome)).toEqual([expect.objectContaining({ error: "StoreAccessDeniedError", message: expect.stringMatching(message), targets: [expect.objectContaining({ credentialsCached: false })] })]);
    expect(outcome.results![1]).toMatchObject({ ok: true, summary: { targets: [{ path: "read-modify-write", credentialsCached: false }] } });
    expect(sessions).toHaveLength(2);
  });

  it("after the provider renews a session, every S3 call of the run signs with the new one, and credentialsCached says so", async () => {
    const { outcome, trail } = await result<{ outcome: Outcome; trail: string[] }>("renewed-session");
    expectNoCrash(outcome, 2);
    expect(outcome.results!.map((r) => [r.ok, (r.summary?.targets as Array<{ credentialsCached?: boolean }> | undefined)?.[0]?.credentialsCached])).toEqual([
      [true, false],
      [true, false],
    ]);
    const assumed = trail.filter((t) => t.startsWith("assumed ")).map((t) => t.slice(8));
    expect(assumed).toHaveLength(2);
    const second = trail.indexOf(`assumed ${assumed[1]}`);
    expect(trail.slice(0, second).filter((t) => t.startsWith("s3 "))).toEqual(expect.arrayContaining([`s3 ${assumed[0]}`]));
    expect(new Set(trail.slice(second + 1))).toEqual(new Set([`s3 ${assumed[1]}`]));
  });
});

// ---------------------------------------------------------------------------------------------
// No s3:ListBucket: a 403 on the read is resolved by a conditional create.
// moto's IAM enforcement answers 403 to a GetObject the role may not do, whether the key exists.

describe("with moto's IAM enforcement: an access role without s3:GetObject and without s3:ListBucket", () => {
  let env: (key: string) => Record<string, string>;
  const before = seedLog();
  const outcomes: Record<string, { outcome: Outcome; after?: Buffer }> = {};

  beforeAll(async () => {
    const admin = { accessKeyId: "setup", secretAccessKey: "setup" };
    const iamA = new IAMClient({ region: REGION, endpoint: emu.moto.endpoint, credentials: admin });
    await iamA.send(new CreateUserCommand({ UserName: "executor" }));
    await iamA.send(new PutUserPolicyCommand({
      UserName: "executor",
      PolicyName: "assume",
      PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }] }),
    }));
    const key = (await iamA.send(new CreateAccessKeyCommand({ UserName: "executor" }))).AccessKey!;
    const b = (await new STSClient({ region: REGION, endpoint: emu.moto.endpoint, credentials: admin }).send(
      new AssumeRoleCommand({ RoleArn: "arn:aws:iam::111111111111:role/admin", RoleSessionName: "setup" }),
    )).Credentials!;
    const iamB = new IAMClient({ region: REGION, endpoint: emu.moto.endpoint, credentials: { accessKeyId: b.AccessKeyId!, secretAccessKey: b.SecretAccessKey!, sessionToken: b.SessionToken } });
    await iamB.send(new CreateRoleCommand({
      RoleName: "writer-only",
      AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }] }),
    }));
    await iamB.send(new PutRolePolicyCommand({
      RoleName: "writer-only",
      PolicyName: "object",
      PolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: ["s3:PutObject", "s3:AbortMultipartUpload"], Resource: `arn:aws:s3:::${emu.bucket}/iam/*` }],
      }),
    }));
    env = (objectKey) =>
      emu.env(objectKey, [iss.url], {
        AWS_ACCESS_KEY_ID: key.AccessKeyId!,
        AWS_SECRET_ACCESS_KEY: key.SecretAccessKey!,
        AWS_SESSION_TOKEN: "",
        ACCESS_ROLE_ARN: "arn:aws:iam::111111111111:role/writer-only",
      });
    await emu.put("iam/existing.txt", before);
    await emu.moto.enforceIam();
    try {
      const [missing, existing] = await Promise.all([runFunction(fn, { env: env("iam/missing.txt") }), runFunction(fn, { env: env("iam/existing.txt") })]);
      outcomes.missing = { outcome: missing };
      outcomes.existing = { outcome: existing };
    } finally {
      await emu.moto.relaxIam();
    }
    outcomes.missing.after = await emu.get("iam/missing.txt");
    outcomes.existing.after = await emu.get("iam/existing.txt");
  }, 60_000);

  it("a missing log: the read is denied (403), the conditional create succeeds, the log is created", () => {
    const { outcome, after } = outcomes.missing;
    expectNoCrash(outcome);
    expect(outcome.results![0]).toMatchObject({ ok: true, summary: { targets: [{ path: "created", attempts: 1 }] } });
    expect(after!.toString().startsWith(LOG_HEADER + "Time: ")).toBe(true);
  });

  it("an existing log it may not read: the create answers 412, and the run fails naming the missing grant, the log byte-identical", () => {
    const { outcome, after } = outcomes.existing;
    expectCleanFailure(
      outcome,
      "StoreAccessDeniedError",
      /the access role may not read s3:\/\/iss-tracker-bundle-tests\/iam\/existing\.txt, which exists .* Grant s3:GetObject on arn:aws:s3:::iss-tracker-bundle-tests\/iam\/existing\.txt to the access role/,
    );
    expect(after!.toString()).toBe(before);
  });
});
