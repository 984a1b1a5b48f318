/**
 * The S3 fault gate over real sockets: the real AWS SDK v3 S3 client -> the local AWS's gateway
 * (fault gate, then the conditional-write gate) -> moto 5.2.1, on a versioned bucket. Each fault
 * is off until switched on, answers as S3 (or a faulty store) would, and is counted.
 */
import {
  CompleteMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, GetObjectCommand, PutBucketVersioningCommand,
  PutObjectCommand, S3Client, UploadPartCommand,
} from "@aws-sdk/client-s3";
import { request } from "node:http";
import { startLocalAws, type LocalAws } from "../../../scripts/emulator/local-aws";
import { seededRandom, selector, type S3Faults } from "../../../scripts/emulator/s3-faults";
import { readObject } from "../../../scripts/emulator/s3-admin";

const REGION = "us-east-1";
const BUCKET = "s3-faults-test-bucket";

let local: LocalAws;
let faults: S3Faults;
/** Through the gateway, no retries (each request's own answer is what is checked). */
let client: S3Client;
let keys = 0;
const nextKey = () => `faults/${++keys}.txt`;

beforeAll(async () => {
  local = await startLocalAws({ gates: ["faults", "s3"] });
  faults = local.faults!;
  client = new S3Client({ region: REGION, endpoint: local.endpoint, forcePathStyle: true, credentials: local.adminB, maxAttempts: 1 });
  const admin = local.s3B();
  await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await admin.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }));
}, 30_000);

afterEach(() => faults.clear());

afterAll(async () => {
  await local?.stop();
});

const put = async (key: string, body: string) => (await local.s3B().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }))).ETag!;
async function failure(promise: Promise<unknown>): Promise<{ name: string; status?: number; code?: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; code?: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, code: e.code };
  }
  throw new Error("expected the call to fail");
}
/** The counts of one fault since `before`. */
const since = (before: ReturnType<S3Faults["stats"]>, name: keyof ReturnType<S3Faults["stats"]>) => {
  const now = faults.stats()[name];
  return { eligible: now.eligible - before[name].eligible, injected: now.injected - before[name].injected };
};
const ranged = async (key: string, range = "bytes=-100") => {
  const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range }));
  return { body: await out.Body!.transformToString(), etag: out.ETag, versionId: out.VersionId, contentRange: out.ContentRange, length: out.ContentLength };
};

describe("fault rates", () => {
  it("every k-th hits the k-th, 2k-th, ... request; a fraction follows its seed, the same every time", () => {
    const third = selector({ every: 3 });
    expect(Array.from({ length: 7 }, () => third())).toEqual([false, false, true, false, false, true, false]);
    const a = selector({ fraction: 0.25, seed: 7 });
    const b = selector({ fraction: 0.25, seed: 7 });
    const drawn = Array.from({ length: 400 }, () => a());
    expect(Array.from({ length: 400 }, () => b())).toEqual(drawn);
    expect(drawn.filter(Boolean).length).toBeGreaterThan(60);
    expect(drawn.filter(Boolean).length).toBeLessThan(140);
    expect(seededRandom(1)()).not.toBe(seededRandom(2)());
    expect(() => selector({ every: 0 })).toThrow("whole number >= 1");
    expect(() => selector({ fraction: 2 })).toThrow("[0, 1]");
  });
});

describe("every fault is off until switched on", () => {
  it("passes reads and writes through untouched, counting nothing as hit", async () => {
    const key = nextKey();
    await put(key, "v1\n");
    await put(key, "v1\nv2\n");
    expect((await ranged(key)).body).toBe("v1\nv2\n");
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "v3\n" }));
    const stats = faults.stats(); // the first test: nothing counted before it
    expect([stats.inconsistentReads.injected, stats.slowDown.injected, stats.lostResponses.injected, stats.conflicts.injected]).toEqual([0, 0, 0, 0]);
  });
});

describe("409 ConditionalRequestConflict (moto never answers it)", () => {
  it("answers the next conditional write with it, without forwarding; only the next one", async () => {
    const key = nextKey();
    const etag = await put(key, "v1\n");
    const before = faults.stats();
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const part = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: "v1\nv2\n" }));
    const complete = () => client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] }, IfMatch: etag }));
    faults.injectConflicts(1);
    expect(await failure(complete())).toMatchObject({ name: "ConditionalRequestConflict", status: 409 });
    expect((await readObject(local.s3B(), BUCKET, key))!.toString()).toBe("v1\n");
    await complete();
    expect((await readObject(local.s3B(), BUCKET, key))!.toString()).toBe("v1\nv2\n");
    expect(since(before, "conflicts")).toEqual({ eligible: 2, injected: 1 });
  });
});

describe("inconsistent ranged reads", () => {
  it("answers a ranged GET with the previous version's bytes under the current version's ETag and version id", async () => {
    const key = nextKey();
    await put(key, "old\n");
    const currentEtag = await put(key, "old\nnew entry\n");
    const honest = await ranged(key);
    const before = faults.stats();
    faults.set({ inconsistentReads: { every: 1 } });
    const stale = await ranged(key);
    expect(stale.body).toBe("old\n");
    expect(stale.etag).toBe(currentEtag);
    expect(stale.versionId).toBe(honest.versionId);
    // Framed for the bytes sent: a body that agrees with its own Content-Range and length.
    expect(stale.contentRange).toBe("bytes 0-3/4");
    expect(stale.length).toBe(4);
    expect(since(before, "inconsistentReads")).toEqual({ eligible: 1, injected: 1 });
  });

  it("hits every k-th ranged GET; a GET without Range, or of an object without a previous version, is answered as moto answers", async () => {
    const key = nextKey();
    await put(key, "a\n");
    await put(key, "a\nb\n");
    const single = nextKey();
    await put(single, "only\n");
    const before = faults.stats();
    faults.set({ inconsistentReads: { every: 2 } });
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push((await ranged(key)).body);
    expect(bodies).toEqual(["a\nb\n", "a\n", "a\nb\n", "a\n"]);
    const whole = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    expect(await whole.Body!.transformToString()).toBe("a\nb\n");
    faults.set({ inconsistentReads: { every: 1 } });
    expect((await ranged(single)).body).toBe("only\n");
    expect(since(before, "inconsistentReads")).toEqual({ eligible: 5, injected: 2 });
  });

  it("touches only what appliesTo accepts", async () => {
    const key = nextKey();
    await put(key, "a\n");
    await put(key, "a\nb\n");
    faults.set({ inconsistentReads: { every: 1 } });
    faults.appliesTo((target) => target.key === "someone-else.txt");
    expect((await ranged(key)).body).toBe("a\nb\n");
  });
});

describe("503 SlowDown", () => {
  it("answers one GET in five with S3's SlowDown error (optionally Retry-After) without forwarding", async () => {
    const key = nextKey();
    await put(key, "x\n");
    const before = faults.stats();
    faults.set({ slowDown: { every: 5, retryAfterSeconds: 2 } });
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++) {
      outcomes.push(await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })).then(() => "ok", (e: { name: string; $metadata?: { httpStatusCode?: number } }) => `${e.$metadata?.httpStatusCode} ${e.name}`));
    }
    expect(outcomes).toEqual(["ok", "ok", "ok", "ok", "503 SlowDown", "ok", "ok", "ok", "ok", "503 SlowDown"]);
    expect(since(before, "slowDown")).toEqual({ eligible: 10, injected: 2 });
    // On the wire: the XML body and the header.
    const raw = await new Promise<{ status: number; retryAfter?: string; body: string }>((resolveRaw, reject) => {
      faults.set({ slowDown: { every: 1, retryAfterSeconds: 2 } });
      const url = new URL(`${local.endpoint}/${BUCKET}/${key}`);
      const req = request({ host: url.hostname, port: url.port, path: url.pathname, headers: { authorization: `AWS4-HMAC-SHA256 Credential=${local.adminB.accessKeyId}/20260101/${REGION}/s3/aws4_request, SignedHeaders=host, Signature=0` } }, (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolveRaw({ status: res.statusCode!, retryAfter: res.headers["retry-after"] as string | undefined, body }));
      });
      req.on("error", reject);
      req.end();
    });
    expect(raw).toMatchObject({ status: 503, retryAfter: "2" });
    expect(raw.body).toMatch(/<Error><Code>SlowDown<\/Code><Message>Please reduce your request rate\.<\/Message>/);
  });
});

describe("responses lost after committed writes", () => {
  it("forwards the write (moto commits it), then answers 500 InternalError, every k-th time", async () => {
    const key = nextKey();
    const before = faults.stats();
    faults.set({ lostResponses: { every: 2 } });
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "first\n" }));
    expect(await failure(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "second\n" })))).toMatchObject({ name: "InternalError", status: 500 });
    expect((await readObject(local.s3B(), BUCKET, key))!.toString()).toBe("second\n"); // committed all the same
    expect(since(before, "lostResponses")).toEqual({ eligible: 2, injected: 1 });
  });

  it("can destroy the socket instead of answering, after CompleteMultipartUpload committed", async () => {
    const key = nextKey();
    const etag = await put(key, "v1\n");
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const part = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: "v1\nv2\n" }));
    const before = faults.stats();
    faults.set({ lostResponses: { every: 1, as: "reset" } });
    const lost = await failure(client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] }, IfMatch: etag })));
    expect(lost.status).toBeUndefined(); // no HTTP answer at all
    expect(lost.code ?? lost.name).toMatch(/ECONNRESET|socket hang up|Error/);
    expect((await readObject(local.s3B(), BUCKET, key))!.toString()).toBe("v1\nv2\n");
    expect(since(before, "lostResponses")).toEqual({ eligible: 1, injected: 1 });
  });

  it("does not count a write the store refused (a stale If-Match answered 412 by the conditional gate)", async () => {
    const key = nextKey();
    await put(key, "v1\n");
    const before = faults.stats();
    faults.set({ lostResponses: { every: 1 } });
    expect(await failure(client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "x\n", IfMatch: '"0000"' })))).toMatchObject({ status: 412 });
    expect(since(before, "lostResponses")).toEqual({ eligible: 0, injected: 0 });
  });
});
