import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { mockClient } from "aws-sdk-client-mock";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import { copyRanges, MAX_PART_BYTES } from "../../function/multipart-append";
import { md5OfEtag, parseContentRange, S3ObjectStore } from "../../function/object-store";
import { ConflictError, ReadDeniedError, StoreAccessDeniedError, StoreProtocolError, TransientStoreError } from "../../function/store-errors";
import { DeadlineError } from "../../function/retry";

/** The SDK's own send, kept for the real-socket tests (mockClient replaces the prototype's). */
const realSend = S3Client.prototype.send;
const s3 = mockClient(S3Client);
const BUCKET = "iss-reports";
const KEY = "logs/iss position.txt";
let warnings: Array<[string, object]>;
const store = () => new S3ObjectStore(new S3Client({ region: "us-east-1" }), BUCKET, KEY, { warn: (msg, fields) => void warnings.push([msg, fields]) });
const md5 = (text: string) => `"${createHash("md5").update(text).digest("hex")}"`;

/** A GetObject body as the SDK gives it (only what the store uses). */
function body(bytes: Buffer | string) {
  const data = Buffer.from(bytes);
  return { transformToByteArray: async () => new Uint8Array(data), destroy: jest.fn() } as never;
}
function s3Error(name: string, status: number) {
  return new S3ServiceException({ name, $fault: "client", $metadata: { httpStatusCode: status }, message: name });
}

beforeEach(() => {
  s3.reset();
  warnings = [];
});

describe("helpers", () => {
  it("parses Content-Range", () => {
    expect(parseContentRange("bytes 100-1123/1124")).toEqual({ start: 100, end: 1123, size: 1124 });
    expect(parseContentRange("bytes */1124")).toBeUndefined();
    expect(parseContentRange("bytes 0-99/*")).toBeUndefined();
    expect(parseContentRange("bytes 0-99/50")).toBeUndefined();
    expect(parseContentRange(undefined)).toBeUndefined();
  });
  it("splits a copy into parts of at most 5 GiB, each at least 5 MiB", () => {
    expect(copyRanges(6 * 1024 * 1024)).toEqual([[0, 6 * 1024 * 1024 - 1]]);
    const size = MAX_PART_BYTES * 2 + 10;
    const ranges = copyRanges(size);
    expect(ranges).toHaveLength(3);
    expect(ranges[0][0]).toBe(0);
    expect(ranges.at(-1)![1]).toBe(size - 1);
    for (const [a, b] of ranges) expect(b - a + 1).toBeLessThanOrEqual(MAX_PART_BYTES);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBe(ranges[i - 1][1] + 1);
  });
});

describe("readTail", () => {
  it("reads only the last bytes with a suffix Range and reports the whole size", async () => {
    s3.on(GetObjectCommand).resolves({ ETag: '"e1"', ContentRange: "bytes 8388584-8389607/8389608", ContentLength: 1024, Body: body("x".repeat(1024)) });
    const st = store();
    const tail = await st.readTail(1024);
    expect(tail).toMatchObject({ exists: true, etag: '"e1"', size: 8389608 });
    expect(s3.commandCalls(GetObjectCommand)[0].args[0].input).toEqual({ Bucket: BUCKET, Key: KEY, Range: "bytes=-1024" });
    expect(st.stats.bytesDownloaded).toBe(1024);
  });
  it("gets the whole object when it is shorter than the range", async () => {
    s3.on(GetObjectCommand).resolves({ ETag: '"e1"', ContentRange: "bytes 0-4/5", ContentLength: 5, Body: body("hello") });
    expect(await store().readTail(1024)).toEqual({ exists: true, etag: '"e1"', size: 5, tail: Buffer.from("hello"), deliveries: [] });
  });
  it("says a missing object does not exist (NoSuchKey)", async () => {
    s3.on(GetObjectCommand).rejects(s3Error("NoSuchKey", 404));
    expect(await store().readTail(1024)).toEqual({ exists: false });
  });
  it("reads an empty object whole when the suffix range is refused (416)", async () => {
    s3.on(GetObjectCommand, { Range: "bytes=-1024" }).rejects(s3Error("InvalidRange", 416));
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: KEY }).resolves({ ETag: '"empty"', ContentLength: 0, Body: body("") });
    expect(await store().readTail(1024)).toEqual({ exists: true, etag: '"empty"', size: 0, tail: Buffer.alloc(0), deliveries: [] });
  });
  it("refuses to download an object when the server ignored the Range", async () => {
    const b = body("");
    s3.on(GetObjectCommand).resolves({ ETag: '"e1"', ContentLength: 64 * 1024 * 1024, Body: b });
    await expect(store().readTail(1024)).rejects.toThrow(/ignored the Range header/);
    expect((b as unknown as { destroy: jest.Mock }).destroy).toHaveBeenCalled();
  });
  it("fails on a truncated read", async () => {
    s3.on(GetObjectCommand).resolves({ ETag: '"e1"', ContentRange: "bytes 0-9/10", ContentLength: 10, Body: body("short") });
    await expect(store().readTail(1024)).rejects.toThrow(/got 5 bytes, expected 10/);
  });
  it("reports a read denied with 403 as ReadDeniedError (missing, or not readable: the append tells them apart)", async () => {
    s3.on(GetObjectCommand).rejects(s3Error("AccessDenied", 403));
    const error = await store().readTail(1024).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadDeniedError);
    expect(error).toBeInstanceOf(StoreAccessDeniedError);
    expect((error as Error).message).toBe("AccessDenied: GetObject (tail) on s3://iss-reports/logs/iss position.txt (AccessDenied)");
  });
  it.each([
    ["a 206 with no numeric total", { ContentRange: "bytes 0-99/*", ContentLength: 100 }, /answered 206 with Content-Range "bytes 0-99\/\*", not the object's last bytes and its total size; nothing written/],
    ["a 206 with no Content-Range at all", { ContentLength: 100 }, /answered 206 with Content-Range null/],
    ["a range that does not end at the object's last byte", { ContentRange: "bytes 0-99/5000", ContentLength: 100 }, /"bytes 0-99\/5000", not the object's last bytes/],
  ])("trusts sizes only where S3 states them: refuses %s", async (_name, answer, message) => {
    const b = body("x".repeat(100));
    s3.on(GetObjectCommand).resolves({ ETag: '"e1"', $metadata: { httpStatusCode: 206 }, Body: b, ...answer });
    const error = await store().readTail(1024).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreProtocolError);
    expect((error as Error).message).toMatch(message);
    expect((b as unknown as { destroy: jest.Mock }).destroy).toHaveBeenCalled();
  });
  it("refuses a 200 without Content-Length (no stated size)", async () => {
    s3.on(GetObjectCommand).resolves({ ETag: '"e1"', $metadata: { httpStatusCode: 200 }, Body: body("abc") });
    await expect(store().readTail(1024)).rejects.toThrow(/answered without Content-Range or Content-Length; nothing written/);
  });
  it("reads the head of a large object, pinned to its ETag", async () => {
    s3.on(GetObjectCommand).resolves({ ETag: '"e1"', ContentRange: "bytes 0-63/9000000", ContentLength: 64, Body: body("h".repeat(64)) });
    expect(await store().readHead(64, '"e1"')).toEqual({ head: Buffer.from("h".repeat(64)), size: 9_000_000 });
    expect(s3.commandCalls(GetObjectCommand)[0].args[0].input).toEqual({ Bucket: BUCKET, Key: KEY, Range: "bytes=0-63", IfMatch: '"e1"' });
    s3.on(GetObjectCommand).rejects(s3Error("PreconditionFailed", 412));
    await expect(store().readHead(64, '"e1"')).rejects.toBeInstanceOf(ConflictError);
  });
});

describe("refused sessions", () => {
  it.each([
    ["ExpiredToken", 400],
    ["InvalidToken", 400],
    ["TokenRefreshRequired", 400],
    ["InvalidAccessKeyId", 403],
  ])("%s: StoreAccessDeniedError saying the session is dropped", async (name, status) => {
    s3.on(GetObjectCommand).rejects(s3Error(name, status));
    const error = await store().readTail(1024).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreAccessDeniedError);
    expect(error).not.toBeInstanceOf(ReadDeniedError);
    expect((error as Error).message).toMatch(new RegExp(`^${name}: GetObject \\(tail\\) on .*the cached session is dropped and the next run assumes the role again\\.$`));
  });
  it("names the likely cause of AccessDenied on a write", async () => {
    s3.on(PutObjectCommand).rejects(s3Error("AccessDenied", 403));
    const error = await store().create(Buffer.from("x")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreAccessDeniedError);
    expect((error as Error).message).toMatch(/access role lacks s3:GetObject\/s3:PutObject\/s3:AbortMultipartUpload on arn:aws:s3:::iss-reports\/logs\/iss position\.txt/);
  });
  it("names the object in the bucket's partition", async () => {
    s3.on(PutObjectCommand).rejects(s3Error("AccessDenied", 403));
    const error = await new S3ObjectStore(new S3Client({ region: "cn-north-1" }), BUCKET, KEY, { partition: "aws-cn" }).create(Buffer.from("x")).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/on arn:aws-cn:s3:::iss-reports\/logs\/iss position\.txt/);
  });
});

describe("every call within the time left", () => {
  it("gives each SDK call an abort signal when the run has a deadline", async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    await new S3ObjectStore(new S3Client({ region: "us-east-1" }), BUCKET, KEY, { deadline: { remainingMs: () => 20_000 } }).replace(Buffer.from("x"), '"e1"');
    expect((s3.commandCalls(PutObjectCommand)[0].args as unknown[])[1]).toEqual({ abortSignal: expect.any(AbortSignal) });
  });

});

describe("bytes checked against what S3 states for them", () => {
  const LOG = "ISS Location Logs\n===================\n\n";
  it("takes a whole-object read whose bytes have the MD5 its ETag states", async () => {
    s3.on(GetObjectCommand).resolves({ ETag: md5(LOG), ContentRange: `bytes 0-${LOG.length - 1}/${LOG.length}`, ContentLength: LOG.length, ServerSideEncryption: "AES256", Body: body(LOG) });
    expect(await store().readTail(1024)).toMatchObject({ exists: true, etag: md5(LOG), size: LOG.length });
  });
  it("refuses, as a conflict (read again), bytes of one version under the ETag of another", async () => {
    const older = LOG.slice(0, -1);
    s3.on(GetObjectCommand, { Range: "bytes=-1024" }).resolves({ ETag: md5(LOG), ContentRange: `bytes 0-${older.length - 1}/${older.length}`, ContentLength: older.length, Body: body(older) });
    await expect(store().readTail(1024)).rejects.toThrow(/the \d+ bytes read are not the object with ETag "[0-9a-f]{32}" \(their MD5 differs\): read again/);
    s3.on(GetObjectCommand, { IfMatch: md5(LOG) }).resolves({ ETag: md5(LOG), ContentLength: older.length, Body: body(older) });
    await expect(store().readWhole(md5(LOG), older.length)).rejects.toBeInstanceOf(ConflictError);
  });
  it("refuses, as a conflict, bytes the SDK finds at odds with the object's checksum", async () => {
    const mismatch = { transformToByteArray: async () => { throw new Error("Checksum mismatch: expected \"AAAAAA==\", but received \"BBBBBB==\" in response header \"x-amz-checksum-crc32\"."); } };
    s3.on(GetObjectCommand).resolves({ ETag: '"e1-2"', ContentLength: 3, Body: mismatch as never });
    await expect(store().readWhole('"e1-2"', 3)).rejects.toBeInstanceOf(ConflictError);
  });
  it("reads an MD5 only from an ETag that states one: not a multipart upload's, not SSE-KMS's or SSE-C's", () => {
    const hex = "0123456789abcdef0123456789abcdef";
    expect(md5OfEtag(`"${hex}"`, {})).toBe(hex);
    expect(md5OfEtag(`"${hex}"`, { ServerSideEncryption: "AES256" })).toBe(hex);
    expect(md5OfEtag(`"${hex}-2"`, {})).toBeUndefined();
    expect(md5OfEtag(`"${hex}"`, { ServerSideEncryption: "aws:kms" })).toBeUndefined();
    expect(md5OfEtag(`"${hex}"`, { SSECustomerAlgorithm: "AES256" })).toBeUndefined();
  });
});

describe("the bucket's owner, pinned", () => {
  it("every call of a store with an expected owner carries S3's bucket-owner condition (the copy its source's too)", async () => {
    s3.on(GetObjectCommand).resolves({ ETag: '"e1"', ContentRange: "bytes 0-63/9000000", ContentLength: 64, Body: body("h".repeat(64)) });
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "up-1" });
    s3.on(UploadPartCommand).resolves({ ETag: '"p2"' });
    s3.on(UploadPartCopyCommand).resolves({ CopyPartResult: { ETag: '"p1"' } });
    s3.on(CompleteMultipartUploadCommand).rejects(s3Error("InvalidRequest", 400));
    s3.on(AbortMultipartUploadCommand).resolves({});
    const owned = new S3ObjectStore(new S3Client({ region: "us-east-1" }), BUCKET, KEY, { expectedOwner: "222222222222" });
    await owned.readTail(1024).catch(() => undefined); // the answer is a head's: what counts is what was asked
    await owned.readHead(64, '"e1"');
    await owned.create(Buffer.from("x"));
    await owned.replace(Buffer.from("x"), '"e1"');
    await owned.appendMultipart(Buffer.from("entry"), '"e1"', 6 * 1024 * 1024).catch(() => undefined);
    const inputs = s3.calls().map((c) => c.args[0].input as Record<string, unknown>);
    expect(inputs.length).toBe(9);
    for (const input of inputs) expect(input.ExpectedBucketOwner).toBe("222222222222");
    expect(s3.commandCalls(UploadPartCopyCommand)[0].args[0].input.ExpectedSourceBucketOwner).toBe("222222222222");
  });
});

describe("a failure that says nothing about the request", () => {
  it.each([
    ["503 SlowDown", s3Error("SlowDown", 503)],
    ["500 InternalError", s3Error("InternalError", 500)],
    ["a reset connection", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })],
  ])("%s is a TransientStoreError: try again", async (_name, error) => {
    s3.on(GetObjectCommand).rejects(error);
    await expect(store().readTail(1024)).rejects.toBeInstanceOf(TransientStoreError);
    s3.on(PutObjectCommand).rejects(error);
    await expect(store().replace(Buffer.from("x"), '"e1"')).rejects.toBeInstanceOf(TransientStoreError);
  });
});

describe("conditional writes", () => {
  it("creates with If-None-Match: * and the exact length", async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"new"' });
    expect(await store().create(Buffer.from("abc"))).toBe('"new"');
    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input).toMatchObject({ IfNoneMatch: "*", ContentLength: 3, Bucket: BUCKET, Key: KEY });
    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input).not.toHaveProperty("IfMatch");
  });
  it("turns 412 on create (someone created it first) into ConflictError", async () => {
    s3.on(PutObjectCommand).rejects(s3Error("PreconditionFailed", 412));
    await expect(store().create(Buffer.from("abc"))).rejects.toBeInstanceOf(ConflictError);
  });
  it("replaces with If-Match: <etag>", async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    await store().replace(Buffer.from("abcdef"), '"e1"');
    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input).toMatchObject({ IfMatch: '"e1"', ContentLength: 6 });
  });
  it("turns 409 ConditionalRequestConflict into ConflictError", async () => {
    s3.on(PutObjectCommand).rejects(s3Error("ConditionalRequestConflict", 409));
    await expect(store().replace(Buffer.from("abc"), '"e1"')).rejects.toBeInstanceOf(ConflictError);
  });
  it("turns a 404 on the conditional replace (log deleted since the read) into ConflictError", async () => {
    s3.on(PutObjectCommand).rejects(s3Error("NoSuchKey", 404));
    const error = await store().replace(Buffer.from("abc"), '"e1"').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConflictError);
    expect((error as Error).message).toBe("PutObject (replace) on s3://iss-reports/logs/iss position.txt: NoSuchKey (the object was deleted meanwhile)");
  });
  it("reads the whole object pinned by If-Match, and a changed object is a conflict", async () => {
    s3.on(GetObjectCommand, { IfMatch: '"e1"' }).resolves({ ETag: '"e1"', ContentLength: 3, Body: body("abc") });
    expect((await store().readWhole('"e1"', 3)).toString()).toBe("abc");
    s3.on(GetObjectCommand, { IfMatch: '"old"' }).rejects(s3Error("PreconditionFailed", 412));
    await expect(store().readWhole('"old"', 3)).rejects.toBeInstanceOf(ConflictError);
  });
});

describe("deliveries in the object's metadata", () => {
  it("every write records the deliveries it is given (none: no metadata), and a tail read returns them", async () => {
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "up-1" });
    s3.on(UploadPartCopyCommand).resolves({ CopyPartResult: { ETag: '"p1"' } });
    s3.on(UploadPartCommand).resolves({ ETag: '"p2"' });
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"e3"' });
    s3.on(GetObjectCommand).resolves({ ETag: '"e1"', ContentRange: "bytes 0-4/5", ContentLength: 5, Body: body("hello"), Metadata: { deliveries: "a b" } });
    await store().create(Buffer.from("x"), ["a"]);
    await store().replace(Buffer.from("xy"), '"e1"', ["a", "b"]);
    await store().replace(Buffer.from("xyz"), '"e2"');
    await store().appendMultipart(Buffer.from("z"), '"e2"', 6 * 1024 * 1024, ["a", "b", "c"]);
    expect(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Metadata)).toEqual([{ deliveries: "a" }, { deliveries: "a b" }, undefined]);
    expect(s3.commandCalls(CreateMultipartUploadCommand)[0].args[0].input.Metadata).toEqual({ deliveries: "a b c" });
    expect(await store().readTail(1024)).toMatchObject({ exists: true, deliveries: ["a", "b"] });
  });
});

describe("appendMultipart", () => {
  const SIZE = 6 * 1024 * 1024;
  const ENTRY = Buffer.from("Time: 2025-12-06 17:19:45\nLatitude: 1.0000\nLongitude: 2.0000\n\n");
  function happy() {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "up-1" });
    s3.on(UploadPartCopyCommand).resolves({ CopyPartResult: { ETag: '"p1"', ChecksumCRC32: "AAAAAA==" } });
    s3.on(UploadPartCommand).resolves({ ETag: '"p2"', ChecksumCRC32: "BBBBBB==" });
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"whole-2"' });
    s3.on(AbortMultipartUploadCommand).resolves({});
  }

  it("uploads the entry as the last part, then copies the object server-side pinned to its ETag, and completes with If-Match", async () => {
    happy();
    const st = store();
    expect(await st.appendMultipart(ENTRY, '"whole-1"', SIZE)).toBe('"whole-2"');
    expect(s3.commandCalls(CreateMultipartUploadCommand)[0].args[0].input).toMatchObject({ Bucket: BUCKET, Key: KEY, ChecksumAlgorithm: "CRC32" });
    expect(s3.commandCalls(UploadPartCopyCommand)[0].args[0].input).toEqual({
      Bucket: BUCKET,
      Key: KEY,
      UploadId: "up-1",
      PartNumber: 1,
      CopySource: "iss-reports/logs/iss%20position.txt",
      CopySourceIfMatch: '"whole-1"',
    });
    expect(s3.commandCalls(UploadPartCommand)[0].args[0].input).toMatchObject({ UploadId: "up-1", PartNumber: 2, Body: ENTRY, ContentLength: ENTRY.length });
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input).toEqual({
      Bucket: BUCKET,
      Key: KEY,
      UploadId: "up-1",
      IfMatch: '"whole-1"',
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: '"p1"', ChecksumCRC32: "AAAAAA==" },
          { PartNumber: 2, ETag: '"p2"', ChecksumCRC32: "BBBBBB==" },
        ],
      },
    });
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(0);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    // The copy comes right before the complete: its condition and the complete's as close as can be.
    expect(s3.calls().map((c) => c.args[0].constructor.name)).toEqual(["CreateMultipartUploadCommand", "UploadPartCommand", "UploadPartCopyCommand", "CompleteMultipartUploadCommand"]);
    expect(st.stats).toEqual({ bytesDownloaded: 0, bytesUploaded: ENTRY.length });
  });

  it("copies an object above 5 GiB in ranged parts", async () => {
    happy();
    await store().appendMultipart(ENTRY, '"whole-1"', MAX_PART_BYTES + 1);
    const copies = s3.commandCalls(UploadPartCopyCommand).map((c) => c.args[0].input);
    expect(copies.map((c) => [c.PartNumber, c.CopySourceRange])).toEqual([
      [1, "bytes=0-2684354560"],
      [2, `bytes=2684354561-${MAX_PART_BYTES}`],
    ]);
    expect(s3.commandCalls(UploadPartCommand)[0].args[0].input.PartNumber).toBe(3);
  });

  it("aborts the upload and reports a conflict when the complete loses the race (412)", async () => {
    happy();
    s3.on(CompleteMultipartUploadCommand).rejects(s3Error("PreconditionFailed", 412));
    await expect(store().appendMultipart(ENTRY, '"whole-1"', SIZE)).rejects.toBeInstanceOf(ConflictError);
    expect(s3.commandCalls(AbortMultipartUploadCommand)[0].args[0].input).toEqual({ Bucket: BUCKET, Key: KEY, UploadId: "up-1" });
  });

  it("aborts the upload and reports a conflict when the complete finds the object deleted (404 NoSuchKey)", async () => {
    happy();
    s3.on(CompleteMultipartUploadCommand).rejects(s3Error("NoSuchKey", 404));
    await expect(store().appendMultipart(ENTRY, '"whole-1"', SIZE)).rejects.toBeInstanceOf(ConflictError);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  it("does not take a vanished upload (404 NoSuchUpload) for a race", async () => {
    happy();
    s3.on(CompleteMultipartUploadCommand).rejects(s3Error("NoSuchUpload", 404));
    const error = await store().appendMultipart(ENTRY, '"whole-1"', SIZE).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(ConflictError);
    expect((error as Error).name).toBe("NoSuchUpload");
  });

  it("aborts the upload when the object changed before the copy (CopySourceIfMatch 412)", async () => {
    happy();
    s3.on(UploadPartCopyCommand).rejects(s3Error("PreconditionFailed", 412));
    await expect(store().appendMultipart(ENTRY, '"whole-1"', SIZE)).rejects.toBeInstanceOf(ConflictError);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  it("says nothing of an abort that finds the upload gone (completed, when the Complete's answer was lost)", async () => {
    happy();
    s3.on(CompleteMultipartUploadCommand).rejects(s3Error("InternalError", 500));
    s3.on(AbortMultipartUploadCommand).rejects(s3Error("NoSuchUpload", 404));
    await expect(store().appendMultipart(ENTRY, '"whole-1"', SIZE)).rejects.toBeInstanceOf(TransientStoreError);
    expect(warnings).toEqual([]);
  });

  it("aborts the upload on any other failure and rethrows it", async () => {
    happy();
    s3.on(UploadPartCommand).rejects(new Error("socket hang up"));
    await expect(store().appendMultipart(ENTRY, '"whole-1"', SIZE)).rejects.toThrow("socket hang up");
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  it("keeps the original error when the abort fails too, and logs the abandoned upload", async () => {
    happy();
    s3.on(UploadPartCommand).rejects(new Error("socket hang up"));
    s3.on(AbortMultipartUploadCommand).rejects(new Error("abort failed"));
    await expect(store().appendMultipart(ENTRY, '"whole-1"', SIZE)).rejects.toThrow("socket hang up");
    expect(warnings).toEqual([["AbortMultipartUpload failed; the bucket's lifecycle rule removes the upload", { uploadId: "up-1", error: "abort failed", after: expect.stringMatching(/socket hang up/) }]]);
  });
});

describe("every call within the time left, over a real socket", () => {
  let server: Server;
  let endpoint: string;
  let mode: "hang" | "stall" = "hang";
  beforeAll(async () => {
    server = createServer((_req, res) => {
      if (mode === "hang") return; // accepts, never answers
      // Headers of a good answer, half the body, then silence.
      res.writeHead(206, { etag: '"e1"', "content-range": "bytes 0-99/100", "content-length": "100" });
      res.write("x".repeat(40));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const realStore = (leftMs: number) => {
    const end = Date.now() + leftMs;
    const client = new S3Client({ region: "us-east-1", endpoint, forcePathStyle: true, credentials: { accessKeyId: "a", secretAccessKey: "b" } });
    client.send = realSend.bind(client) as typeof client.send;
    return new S3ObjectStore(client, BUCKET, "log.txt", { deadline: { remainingMs: () => end - Date.now() }, marginMs: 500 });
  };

  it.each(["hang", "stall"] as const)("%s: ends as a DeadlineError when only the margin is left", async (m) => {
    mode = m;
    const started = Date.now();
    const error = await realStore(1500).readTail(1024).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineError);
    expect((error as Error).message).toMatch(/^GetObject \(tail\) on s3:\/\/iss-reports\/log\.txt: no answer within \d+ ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(5000); // not the socket's own (endless) time
  });
});
