/**
 * The S3 conformance gate over real sockets: the real AWS SDK v3 S3 client -> the emulator gateway
 * with the gate -> moto 5.2.1. Each rule S3 has and moto lacks (a stale If-Match on
 * CompleteMultipartUpload, a stale x-amz-copy-source-if-match on UploadPartCopy, ...), what must
 * pass through untouched, and the property the gate exists for: concurrent multipart appends lose
 * entries straight on moto and none through the gate.
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand,
  CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand,
  ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand, UploadPartCopyCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { Agent } from "node:http";
import { startGateway, type Gate } from "../../../scripts/emulator/gateway";
import { startLocalAws, type LocalAws } from "../../../scripts/emulator/local-aws";
import type { MotoServer } from "../../../scripts/emulator/moto";
import { etagMatches, KeyedMutex, s3Gate, type S3Gate } from "../../../scripts/emulator/s3-gate";
import { classify, parseCopySource, parseS3Target } from "../../../scripts/emulator/s3-request";
import type { Credentials } from "../../../scripts/shared/aws";

const ACCOUNT_B = "222222222222";
const REGION = "us-east-1";
const BUCKET = "s3-gate-test-bucket";
const MiB = 1024 * 1024;

let local: LocalAws;
let moto: MotoServer;
let s3gate: S3Gate;
let adminB: Credentials;
/** Through the gateway and its S3 gate. */
let gated: S3Client;
/** Straight to moto. */
let direct: S3Client;
let keys = 0;
const nextKey = (prefix = "obj") => `${prefix}/${++keys} with space+plus.txt`;

/** Blocks completes of keys registered here, after the S3 gate (i.e. while it holds the key's lock). */
const held = new Map<string, { entered: () => void; released: Promise<void> }>();
const blocker: Gate = async (req, next) => {
  for (const [key, hold] of held) {
    if (req.method === "POST" && req.url.includes(`/${key.split("/").map(encodeURIComponent).join("/")}?`) && req.url.includes("uploadId=")) {
      held.delete(key);
      hold.entered();
      await hold.released;
    }
  }
  return next();
};

beforeAll(async () => {
  // The S3 conformance gate alone, then a gate that holds chosen completes while it has the key's lock.
  local = await startLocalAws({ gates: ["s3"], innerGates: [blocker] });
  moto = local.moto;
  s3gate = local.s3Gate!;
  adminB = local.adminB;
  // No forcePathStyle: the SDK goes path-style on an IP endpoint by itself, as in the function.
  gated = new S3Client({ region: REGION, endpoint: local.endpoint, credentials: adminB });
  direct = new S3Client({ region: REGION, endpoint: moto.endpoint, credentials: adminB });
  await direct.send(new CreateBucketCommand({ Bucket: BUCKET }));
}, 30_000);

afterAll(async () => {
  await local?.stop();
});

const text = async (client: S3Client, key: string) =>
  (await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString());
const put = async (key: string, body: string | Buffer) =>
  (await direct.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }))).ETag!;
/** A name, HTTP status and S3 fields (Condition, Key) of an SDK error. */
async function failure(promise: Promise<unknown>): Promise<{ name: string; status?: number; condition?: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; $metadata?: { httpStatusCode?: number }; Condition?: string };
    return { name: e.name, status: e.$metadata?.httpStatusCode, condition: e.Condition };
  }
  throw new Error("expected the call to fail");
}

/** A one-part upload of `body` to `key` through `client`, ready to complete (returns its parts). */
async function upload(client: S3Client, key: string, body: string): Promise<{ uploadId: string; parts: CompletedPart[] }> {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  const part = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: body }));
  return { uploadId: UploadId!, parts: [{ PartNumber: 1, ETag: part.ETag }] };
}
const complete = (client: S3Client, key: string, u: { uploadId: string; parts: CompletedPart[] }, conditions: { IfMatch?: string; IfNoneMatch?: string } = {}) =>
  client.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: u.uploadId, MultipartUpload: { Parts: u.parts }, ...conditions }));
const uploadsLeft = async (key: string) =>
  ((await direct.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: key }))).Uploads ?? []).length;

describe("request parsing (path and virtual-host style, as moto tells them apart)", () => {
  it("reads bucket and key from a path-style URL on an IP endpoint, decoding the key", () => {
    expect(parseS3Target("/b/logs/a%20b%2Bc.txt?uploadId=1", "127.0.0.1:4566")).toMatchObject({ bucket: "b", key: "logs/a b+c.txt" });
    expect(parseS3Target("/b?delete", "localhost:4566")).toMatchObject({ bucket: "b", key: "" });
  });

  it("reads the bucket from the host in virtual-host style", () => {
    expect(parseS3Target("/k.txt", "b.s3.us-east-1.amazonaws.com:4566")).toMatchObject({ bucket: "b", key: "k.txt" });
    expect(parseS3Target("/k.txt", "b.s3.amazonaws.com")).toMatchObject({ bucket: "b", key: "k.txt" });
    expect(parseS3Target("/k.txt", "my.bucket.s3-eu-west-1.amazonaws.com")).toMatchObject({ bucket: "my.bucket", key: "k.txt" });
  });

  it("parses x-amz-copy-source with or without a leading slash and a version id", () => {
    expect(parseCopySource("b/logs/a%20b.txt")).toEqual({ bucket: "b", key: "logs/a b.txt", versionId: undefined });
    expect(parseCopySource("/b/k?versionId=v1")).toEqual({ bucket: "b", key: "k", versionId: "v1" });
    expect(parseCopySource("nokey")).toBeUndefined();
  });

  it("classifies only object writes and copies; subresources, parts and reads are other", () => {
    const t = (url: string) => parseS3Target(url, "127.0.0.1")!;
    const h = (headers: Record<string, string> = {}) => headers;
    expect(classify({ method: "POST", headers: h() }, t("/b/k?uploadId=u"))).toBe("CompleteMultipartUpload");
    expect(classify({ method: "PUT", headers: h({ "x-amz-copy-source": "b/k" }) }, t("/b/k?partNumber=1&uploadId=u"))).toBe("UploadPartCopy");
    expect(classify({ method: "PUT", headers: h() }, t("/b/k?partNumber=1&uploadId=u"))).toBe("other");
    expect(classify({ method: "PUT", headers: h({ "x-amz-copy-source": "b/j" }) }, t("/b/k"))).toBe("CopyObject");
    expect(classify({ method: "PUT", headers: h() }, t("/b/k"))).toBe("PutObject");
    expect(classify({ method: "PUT", headers: h() }, t("/b/k?tagging"))).toBe("other");
    expect(classify({ method: "DELETE", headers: h() }, t("/b/k"))).toBe("DeleteObject");
    expect(classify({ method: "DELETE", headers: h() }, t("/b/k?uploadId=u"))).toBe("other");
    expect(classify({ method: "POST", headers: h() }, t("/b?delete"))).toBe("DeleteObjects");
    expect(classify({ method: "POST", headers: h() }, t("/b/k?uploads"))).toBe("other");
    expect(classify({ method: "GET", headers: h() }, t("/b/k"))).toBe("other");
  });

  it("compares ETags with or without quotes, lists and *", () => {
    expect(etagMatches('"abc"', '"abc"')).toBe(true);
    expect(etagMatches("abc", '"abc"')).toBe(true);
    expect(etagMatches('"x", "abc"', '"abc"')).toBe(true);
    expect(etagMatches("*", '"abc"')).toBe(true);
    expect(etagMatches('"abd"', '"abc"')).toBe(false);
    expect(etagMatches("*", undefined)).toBe(false);
  });
});

describe("KeyedMutex", () => {
  it("runs holders of one key in arrival order and never makes different keys wait", async () => {
    const mutex = new KeyedMutex();
    const order: string[] = [];
    const releaseA1 = await mutex.acquire(["a"]);
    const a2 = mutex.acquire(["a"]).then((release) => { order.push("a2"); release(); });
    const b = mutex.acquire(["b"]).then((release) => { order.push("b"); release(); });
    await b;
    expect(order).toEqual(["b"]);
    releaseA1();
    await a2;
    expect(order).toEqual(["b", "a2"]);
    expect(mutex.size).toBe(0);
  });

  it("takes several keys in sorted order, so crossing callers do not deadlock", async () => {
    const mutex = new KeyedMutex();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      mutex.acquire(i % 2 ? ["x", "y"] : ["y", "x"]).then(async (release) => {
        await new Promise((r) => setImmediate(r));
        release();
        return i;
      })));
    expect(results).toHaveLength(20);
    expect(mutex.size).toBe(0);
  });
});

describe("CompleteMultipartUpload conditions (moto ignores If-Match; S3 answers 412)", () => {
  it("refuses a stale If-Match with 412 PreconditionFailed (Condition If-Match) and leaves the object unchanged", async () => {
    const key = nextKey();
    const stale = await put(key, "v1\n");
    await put(key, "v1\nv2\n");
    const u = await upload(gated, key, "v1\nlost\n");
    expect(await failure(complete(gated, key, u, { IfMatch: stale }))).toEqual({ name: "PreconditionFailed", status: 412, condition: "If-Match" });
    expect(await text(direct, key)).toBe("v1\nv2\n");
    expect(s3gate.decisions.at(-1)).toMatchObject({ operation: "CompleteMultipartUpload", key, condition: "If-Match", expected: stale, status: 412 });
    // As on S3, the refused upload is still there for the caller to abort.
    expect(await uploadsLeft(key)).toBe(1);
    await gated.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: u.uploadId }));
  });

  it("shows the gap it closes: moto itself completes the same stale upload", async () => {
    const key = nextKey();
    const stale = await put(key, "v1\n");
    await put(key, "v1\nv2\n");
    const u = await upload(direct, key, "v1\nlost\n");
    await complete(direct, key, u, { IfMatch: stale });
    expect(await text(direct, key)).toBe("v1\nlost\n");
  });

  it("forwards a fresh If-Match: 200, the new bytes and ETag", async () => {
    const key = nextKey();
    const etag = await put(key, "v1\n");
    const u = await upload(gated, key, "v1\nv2\n");
    const done = await complete(gated, key, u, { IfMatch: etag });
    expect(done.$metadata.httpStatusCode).toBe(200);
    expect(await text(direct, key)).toBe("v1\nv2\n");
    expect((await direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag).toBe(done.ETag);
  });

  it("answers If-Match on a missing key with 404 NoSuchKey, as S3 does", async () => {
    const key = nextKey();
    const u = await upload(gated, key, "new\n");
    expect(await failure(complete(gated, key, u, { IfMatch: '"0123456789abcdef0123456789abcdef"' }))).toMatchObject({ name: "NoSuchKey", status: 404 });
    expect(await failure(direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })))).toMatchObject({ status: 404 });
    await gated.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: u.uploadId }));
  });

  it("refuses If-None-Match: * when the key exists (412) and completes it when it does not", async () => {
    const key = nextKey();
    const first = await upload(gated, key, "first\n");
    await complete(gated, key, first, { IfNoneMatch: "*" });
    const second = await upload(gated, key, "second\n");
    expect(await failure(complete(gated, key, second, { IfNoneMatch: "*" }))).toEqual({ name: "PreconditionFailed", status: 412, condition: "If-None-Match" });
    expect(await text(direct, key)).toBe("first\n");
    await gated.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: second.uploadId }));
  });
});

describe("copy-source conditions (moto ignores x-amz-copy-source-if-match on UploadPartCopy)", () => {
  async function partCopy(key: string, conditions: Record<string, unknown>, source = key) {
    const { UploadId } = await gated.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    try {
      return await gated.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, CopySource: `${BUCKET}/${encodeURIComponent(source)}`, ...conditions }));
    } finally {
      await gated.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));
    }
  }

  it("refuses a stale x-amz-copy-source-if-match with 412 (Condition x-amz-copy-source-If-Match)", async () => {
    const key = nextKey();
    const stale = await put(key, "v1\n");
    await put(key, "v1\nv2\n");
    expect(await failure(partCopy(key, { CopySourceIfMatch: stale }))).toEqual({ name: "PreconditionFailed", status: 412, condition: "x-amz-copy-source-If-Match" });
  });

  it("copies with a fresh x-amz-copy-source-if-match", async () => {
    const key = nextKey();
    const etag = await put(key, "v1\n");
    const copied = await partCopy(key, { CopySourceIfMatch: etag });
    expect(copied.CopyPartResult?.ETag).toBeTruthy();
  });

  it("evaluates if-none-match, if-unmodified-since and if-modified-since, and S3's combinations", async () => {
    const key = nextKey();
    const etag = await put(key, "v1\n");
    const past = new Date(Date.now() - 3600_000);
    const future = new Date(Date.now() + 3600_000);
    expect(await failure(partCopy(key, { CopySourceIfNoneMatch: etag }))).toMatchObject({ status: 412, condition: "x-amz-copy-source-If-None-Match" });
    expect(await failure(partCopy(key, { CopySourceIfUnmodifiedSince: past }))).toMatchObject({ status: 412, condition: "x-amz-copy-source-If-Unmodified-Since" });
    // if-match true + if-unmodified-since false: S3 copies.
    await expect(partCopy(key, { CopySourceIfMatch: etag, CopySourceIfUnmodifiedSince: past })).resolves.toBeDefined();
    // if-none-match false + if-modified-since true: 412.
    expect(await failure(partCopy(key, { CopySourceIfNoneMatch: etag, CopySourceIfModifiedSince: past }))).toMatchObject({ status: 412 });
    await expect(partCopy(key, { CopySourceIfModifiedSince: past })).resolves.toBeDefined();
    await expect(partCopy(key, { CopySourceIfNoneMatch: '"other"' })).resolves.toBeDefined();
    // A date in the future is not a valid If-Modified-Since (RFC 9110): ignored.
    await expect(partCopy(key, { CopySourceIfModifiedSince: future })).resolves.toBeDefined();
  });

  it("answers a conditional copy of a missing source with 404 NoSuchKey", async () => {
    const key = nextKey();
    expect(await failure(partCopy(key, { CopySourceIfMatch: '"abc"' }))).toMatchObject({ name: "NoSuchKey", status: 404 });
  });

  it("applies the same source and destination rules to CopyObject", async () => {
    const source = nextKey();
    const target = nextKey();
    const stale = await put(source, "s1\n");
    const fresh = await put(source, "s2\n");
    const copy = (conditions: Record<string, string>) =>
      gated.send(new CopyObjectCommand({ Bucket: BUCKET, Key: target, CopySource: `${BUCKET}/${encodeURIComponent(source)}`, ...conditions }));
    expect(await failure(copy({ CopySourceIfMatch: stale }))).toMatchObject({ status: 412, condition: "x-amz-copy-source-If-Match" });
    await copy({ CopySourceIfMatch: fresh, IfNoneMatch: "*" });
    expect(await text(direct, target)).toBe("s2\n");
    expect(await failure(copy({ IfNoneMatch: "*" }))).toMatchObject({ status: 412, condition: "If-None-Match" });
  });
});

describe("pass-through", () => {
  it("leaves reads, plain writes, listings, deletes, multipart bookkeeping and other services to moto", async () => {
    const key = nextKey("plain");
    const before = s3gate.decisions.length;
    await gated.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "plain\n" }));
    expect(await text(gated, key)).toBe("plain\n");
    expect((await gated.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "plain/" }))).KeyCount).toBe(1);
    const u = await upload(gated, key, "parts\n");
    await complete(gated, key, u); // unconditional: moto decides
    expect(await text(gated, key)).toBe("parts\n");
    await gated.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: key }] } }));
    expect(await failure(gated.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })))).toMatchObject({ name: "NoSuchKey", status: 404 });
    await gated.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "again\n" }));
    await gated.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    const sts = new STSClient({ region: REGION, endpoint: local.endpoint, credentials: adminB });
    expect((await sts.send(new GetCallerIdentityCommand({}))).Account).toBe(ACCOUNT_B);
    expect(s3gate.decisions.length).toBe(before); // nothing conditional, nothing decided
  });

  it("does not change moto's own PutObject If-Match / If-None-Match answers", async () => {
    const key = nextKey();
    const first = await gated.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "one\n", IfNoneMatch: "*" }));
    expect(await failure(gated.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "two\n", IfNoneMatch: "*" })))).toMatchObject({ name: "PreconditionFailed", status: 412 });
    await gated.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "one\ntwo\n", IfMatch: first.ETag }));
    expect(await failure(gated.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "lost\n", IfMatch: first.ETag })))).toMatchObject({ name: "PreconditionFailed", status: 412 });
    expect(await failure(gated.send(new PutObjectCommand({ Bucket: BUCKET, Key: nextKey(), Body: "x", IfMatch: first.ETag })))).toMatchObject({ name: "NoSuchKey", status: 404 });
    expect(await text(direct, key)).toBe("one\ntwo\n");
  });

  it("understands virtual-host-style requests (bucket in the Host header) from the real SDK", async () => {
    const port = new URL(local.endpoint).port;
    // *.amazonaws.com resolved to the gateway: the SDK sends Host: <bucket>.s3.us-east-1.amazonaws.com:<port>.
    const agent = new Agent({
      lookup: ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
        options.all ? callback(null, [{ address: "127.0.0.1", family: 4 }]) : callback(null, "127.0.0.1", 4)) as never,
    });
    const vhost = new S3Client({ region: REGION, endpoint: `http://s3.us-east-1.amazonaws.com:${port}`, credentials: adminB, requestHandler: { httpAgent: agent } });
    const key = nextKey();
    const stale = await put(key, "v1\n");
    await put(key, "v1\nv2\n");
    const u = await upload(vhost, key, "lost\n");
    expect(await failure(complete(vhost, key, u, { IfMatch: stale }))).toMatchObject({ name: "PreconditionFailed", status: 412 });
    expect(s3gate.decisions.at(-1)).toMatchObject({ bucket: BUCKET, key, status: 412 });
    expect(await text(direct, key)).toBe("v1\nv2\n");
    agent.destroy();
  });
});

describe("atomicity: one key's writes in order, other keys free", () => {
  it("holds a key's lock from the check until moto answered, while another key's complete goes through", async () => {
    const keyA = nextKey("lock");
    const keyB = nextKey("lock");
    const etagA = await put(keyA, "a1\n");
    const etagB = await put(keyB, "b1\n");
    const uA = await upload(gated, keyA, "a1\na2\n");
    const uB = await upload(gated, keyB, "b1\nb2\n");
    let entered!: () => void;
    let release!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    held.set(keyA, { entered, released: new Promise<void>((r) => (release = r)) });

    const completeA = complete(gated, keyA, uA, { IfMatch: etagA });
    await inside; // A's complete passed the check and holds A's lock, not yet at moto
    await complete(gated, keyB, uB, { IfMatch: etagB }); // B is not held up by A
    expect(await text(direct, keyB)).toBe("b1\nb2\n");
    let putSettled = false;
    const putA = gated.send(new PutObjectCommand({ Bucket: BUCKET, Key: keyA, Body: "written after the complete\n" })).finally(() => (putSettled = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(putSettled).toBe(false); // a write of A waits for A's lock
    release();
    await completeA;
    await putA;
    // The put ran after the complete: had it slipped in between the check and the complete, the
    // complete would have overwritten it.
    expect(await text(direct, keyA)).toBe("written after the complete\n");
  });
});

describe("concurrent multipart appends (the function's large-log path)", () => {
  const WRITERS = 10;
  const ENTRY = (i: number) => `entry ${String(i).padStart(3, "0")}\n`;

  /**
   * The append protocol of function/object-store.ts, written out with the SDK: read the ETag and
   * size, copy the object into part 1 (x-amz-copy-source-if-match), the entry as part 2, complete
   * with If-Match; on 412 abort and start over. On their first attempt every writer reads, and then
   * copies, before any completes (two barriers): all start from the same ETag and the same bytes,
   * so the race is the same however the machine schedules them.
   */
  async function appendAll(client: S3Client, key: string): Promise<{ attempts: number[] }> {
    const barrier = () => {
      let arrived = 0;
      let go!: () => void;
      const all = new Promise<void>((r) => (go = r));
      return () => (++arrived === WRITERS && go(), all);
    };
    const [allRead, allCopied] = [barrier(), barrier()];
    const attempts = await Promise.all(Array.from({ length: WRITERS }, async (_, i) => {
      for (let attempt = 1; attempt <= 200; attempt++) {
        const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
        if (attempt === 1) await allRead();
        const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
        try {
          const copied = await client.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, CopySource: `${BUCKET}/${encodeURIComponent(key)}`, CopySourceIfMatch: head.ETag }));
          const last = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 2, Body: ENTRY(i) }));
          if (attempt === 1) await allCopied();
          await client.send(new CompleteMultipartUploadCommand({
            Bucket: BUCKET, Key: key, UploadId, IfMatch: head.ETag,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: copied.CopyPartResult!.ETag }, { PartNumber: 2, ETag: last.ETag }] },
          }));
          return attempt;
        } catch (error) {
          await client.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId }));
          if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 412) throw error;
        }
      }
      throw new Error(`writer ${i} never got through`);
    }));
    return { attempts };
  }

  async function race(client: S3Client): Promise<{ landed: number; prefixIntact: boolean; attempts: number[]; uploadsLeft: number }> {
    const key = nextKey("race");
    const original = Buffer.alloc(5 * MiB + 1000, "x\n");
    await put(key, original);
    const { attempts } = await appendAll(client, key);
    const after = Buffer.from(await (await direct.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
    const appended = after.subarray(original.length).toString("utf8");
    const landed = Array.from({ length: WRITERS }, (_, i) => appended.split(ENTRY(i)).length - 1);
    expect(landed.every((n) => n <= 1)).toBe(true); // never twice
    return { landed: landed.filter((n) => n === 1).length, prefixIntact: after.subarray(0, original.length).equals(original), attempts, uploadsLeft: await uploadsLeft(key) };
  }

  it(`straight on moto, ${WRITERS} concurrent appends all "succeed" and all but one entry is lost`, async () => {
    const result = await race(direct);
    expect(result.attempts.every((a) => a === 1)).toBe(true); // nobody was told about the race
    expect(result.landed).toBe(1); // each complete replaced the log with the original plus its own entry
    expect(result.prefixIntact).toBe(true);
  }, 60_000);

  it(`through the gate, ${WRITERS} concurrent appends lose nothing: losers get 412, retry, and every entry lands once`, async () => {
    const result = await race(gated);
    expect(result.landed).toBe(WRITERS);
    expect(result.prefixIntact).toBe(true);
    expect(result.uploadsLeft).toBe(0);
    expect(Math.max(...result.attempts)).toBeGreaterThan(1); // the race was real
  }, 60_000);
});

describe("the gate's own reads under moto's IAM enforcement", () => {
  afterEach(() => moto.relaxIam());

  it("reads as the bucket account's administrator (readAs) with IAM enforcement on; answers 502 naming readAs when those credentials may not read", async () => {
    const key = `iam/${++keys}.txt`; // moto's signature check under enforcement fails on keys with spaces
    const stale = await put(key, "v1\n");
    await put(key, "v1\nv2\n");
    const u = await upload(gated, key, "lost\n");
    await moto.enforceIam();
    expect(await failure(complete(gated, key, u, { IfMatch: stale }))).toMatchObject({ name: "PreconditionFailed", status: 412 });
    const blind = s3Gate({ upstream: moto.endpoint, readAs: { accessKeyId: "AKIANOBODY000000000", secretAccessKey: "x" } });
    const blindGateway = await startGateway(moto.endpoint, [blind.gate]);
    try {
      // Signed as S3 (the gate reads the scope only); refused before it reaches moto.
      const res = await fetch(`${blindGateway.endpoint}/${BUCKET}/${key}?uploadId=${u.uploadId}`, {
        method: "POST",
        headers: { authorization: `AWS4-HMAC-SHA256 Credential=${adminB.accessKeyId}/20260101/${REGION}/s3/aws4_request, SignedHeaders=host, Signature=0`, "if-match": stale },
      });
      expect(res.status).toBe(502);
      expect(await res.text()).toMatch(/HeadObject s3:\/\/s3-gate-test-bucket\/iam\/\d+\.txt with the gate's credentials failed \(HTTP 403 .*S3GateOptions\.readAs/);
    } finally {
      await blindGateway.stop();
    }
    await moto.relaxIam();
    expect(await text(direct, key)).toBe("v1\nv2\n");
    await gated.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: u.uploadId }));
  });
});
