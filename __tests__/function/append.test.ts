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
import { AppendConflictError, appendEntry, type AppendOptions } from "../../function/append";
import { formatEntry, LOG_HEADER } from "../../function/core";
import { S3ObjectStore } from "../../function/object-store";
import { DeadlineError } from "../../function/retry";

const s3 = mockClient(S3Client);
const POSITION = { timestamp: 1765041585, latitude: -50.5587, longitude: 122.1887 };
const ENTRY = formatEntry(POSITION);
const OLD = LOG_HEADER + formatEntry({ timestamp: 1765041285, latitude: 1, longitude: 2 });
const OTHER = formatEntry({ timestamp: 1765041584, latitude: 3, longitude: 4 }); // a concurrent writer's entry
const THRESHOLD = 5 * 1024 * 1024;

let sleeps: number[];
const options = (extra: Partial<AppendOptions> = {}): AppendOptions => ({
  multipartThresholdBytes: THRESHOLD,
  sleep: async (ms) => void sleeps.push(ms),
  random: () => 0.5,
  ...extra,
});
const newStore = () => new S3ObjectStore(new S3Client({ region: "us-east-1" }), "bucket", "iss_position.txt");

/** A ranged GET's answer for an object with this content (the tail is its last 1024 bytes). */
function tailOf(content: string, etag: string) {
  const data = Buffer.from(content);
  const tail = data.subarray(Math.max(0, data.length - 1024));
  return {
    ETag: etag,
    ContentRange: `bytes ${data.length - tail.length}-${data.length - 1}/${data.length}`,
    ContentLength: tail.length,
    Body: { transformToByteArray: async () => new Uint8Array(tail) } as never,
  };
}
/** The answer for a large object: only the size and the tail are real. */
function largeTail(size: number, tail: string, etag: string) {
  const data = Buffer.from(tail);
  return { ETag: etag, ContentRange: `bytes ${size - data.length}-${size - 1}/${size}`, ContentLength: data.length, Body: { transformToByteArray: async () => new Uint8Array(data) } as never };
}
const err = (name: string, status: number) => new S3ServiceException({ name, $fault: "client", $metadata: { httpStatusCode: status }, message: name });
const putBodies = () => s3.commandCalls(PutObjectCommand).map((c) => String(c.args[0].input.Body));

beforeEach(() => {
  s3.reset();
  sleeps = [];
  jest.spyOn(console, "warn").mockImplementation(() => undefined);
});
afterEach(() => jest.restoreAllMocks());

describe("appendEntry below the threshold (read-modify-write)", () => {
  it("appends the entry to a small object with If-Match on the ETag it read", async () => {
    s3.on(GetObjectCommand).resolves(tailOf(OLD, '"e1"'));
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    const result = await appendEntry(newStore(), POSITION, options());
    expect(result).toEqual({ path: "read-modify-write", bytesAppended: ENTRY.length, attempts: 1, objectBytes: OLD.length + ENTRY.length });
    expect(putBodies()).toEqual([OLD + ENTRY]);
    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input.IfMatch).toBe('"e1"');
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1); // the tail was the whole object
  });

  it("creates a missing object with the header, If-None-Match: *", async () => {
    s3.on(GetObjectCommand).rejects(err("NoSuchKey", 404));
    s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
    const result = await appendEntry(newStore(), POSITION, options());
    expect(result).toMatchObject({ path: "created", attempts: 1, bytesAppended: (LOG_HEADER + ENTRY).length });
    expect(putBodies()).toEqual([LOG_HEADER + ENTRY]);
    expect(s3.commandCalls(PutObjectCommand)[0].args[0].input.IfNoneMatch).toBe("*");
  });

  it("loses a 412 race, re-reads and keeps the other writer's entry", async () => {
    s3.on(GetObjectCommand).resolvesOnce(tailOf(OLD, '"e1"')).resolvesOnce(tailOf(OLD + OTHER, '"e2"'));
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).rejects(err("PreconditionFailed", 412));
    s3.on(PutObjectCommand, { IfMatch: '"e2"' }).resolves({ ETag: '"e3"' });
    const result = await appendEntry(newStore(), POSITION, options());
    expect(result).toMatchObject({ path: "read-modify-write", attempts: 2 });
    expect(putBodies()).toEqual([OLD + ENTRY, OLD + OTHER + ENTRY]);
    expect(sleeps).toEqual([50]); // jittered: 0.5 x base 100 ms
  });

  it("retries a 409 ConditionalRequestConflict the same way", async () => {
    s3.on(GetObjectCommand).resolves(tailOf(OLD, '"e1"'));
    s3.on(PutObjectCommand).rejectsOnce(err("ConditionalRequestConflict", 409)).resolves({ ETag: '"e2"' });
    await expect(appendEntry(newStore(), POSITION, options())).resolves.toMatchObject({ attempts: 2 });
  });

  it("loses the create race to another first run, then appends to its object", async () => {
    s3.on(GetObjectCommand).rejectsOnce(err("NoSuchKey", 404)).resolves(tailOf(LOG_HEADER + OTHER, '"e1"'));
    s3.on(PutObjectCommand, { IfNoneMatch: "*" }).rejects(err("PreconditionFailed", 412));
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).resolves({ ETag: '"e2"' });
    const result = await appendEntry(newStore(), POSITION, options());
    expect(result).toMatchObject({ path: "read-modify-write", attempts: 2 });
    expect(putBodies().at(-1)).toBe(LOG_HEADER + OTHER + ENTRY);
  });

  it("gives up after the bounded attempts with growing backoff, having written nothing", async () => {
    s3.on(GetObjectCommand).callsFake(() => tailOf(OLD, '"e1"'));
    s3.on(PutObjectCommand).rejects(err("PreconditionFailed", 412));
    const error = await appendEntry(newStore(), POSITION, options({ maxAttempts: 4 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppendConflictError);
    expect((error as Error).message).toMatch(/Gave up after 4 attempts.*PreconditionFailed.*the entry was not written/);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(4);
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it("writes nothing when the same ISS timestamp is already the last entry (re-delivered event)", async () => {
    s3.on(GetObjectCommand).resolves(tailOf(OLD + ENTRY, '"e1"'));
    const result = await appendEntry(newStore(), POSITION, options());
    expect(result).toEqual({ path: "duplicate", bytesAppended: 0, attempts: 1, objectBytes: (OLD + ENTRY).length });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it("reads a mid-sized object whole, pinned by If-Match, before writing it back", async () => {
    const big = OLD + OTHER.repeat(100); // > 1 KiB tail, < threshold
    s3.on(GetObjectCommand, { Range: "bytes=-1024" }).resolves(tailOf(big, '"e1"'));
    s3.on(GetObjectCommand, { IfMatch: '"e1"' }).resolves({ ETag: '"e1"', ContentLength: big.length, Body: { transformToByteArray: async () => new Uint8Array(Buffer.from(big)) } as never });
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    await appendEntry(newStore(), POSITION, options());
    expect(putBodies()).toEqual([big + ENTRY]);
  });

  it("stops without writing when the deadline is too close for another attempt", async () => {
    s3.on(GetObjectCommand).resolves(tailOf(OLD, '"e1"'));
    s3.on(PutObjectCommand).rejects(err("PreconditionFailed", 412));
    let remaining = 10_000;
    const error = await appendEntry(newStore(), POSITION, options({ deadline: { remainingMs: () => remaining }, sleep: async () => void (remaining -= 4000) })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeadlineError);
    expect((error as Error).message).toMatch(/Out of time after 2 append attempt\(s\).*not written/);
  });
});

describe("appendEntry at or above the threshold (multipart append)", () => {
  const SIZE = THRESHOLD + 123;
  function multipartOk() {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: "up-1" });
    s3.on(UploadPartCopyCommand).resolves({ CopyPartResult: { ETag: '"p1"' } });
    s3.on(UploadPartCommand).resolves({ ETag: '"p2"' });
    s3.on(CompleteMultipartUploadCommand).resolves({ ETag: '"e2"' });
    s3.on(AbortMultipartUploadCommand).resolves({});
  }

  it("takes the multipart branch: reads only the tail, never the whole object, never PutObject", async () => {
    s3.on(GetObjectCommand).resolves(largeTail(SIZE, OTHER, '"e1"'));
    multipartOk();
    const store = newStore();
    const result = await appendEntry(store, POSITION, options());
    expect(result).toEqual({ path: "multipart-append", bytesAppended: ENTRY.length, attempts: 1, objectBytes: SIZE + ENTRY.length });
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.Range)).toEqual(["bytes=-1024"]);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(String(s3.commandCalls(UploadPartCommand)[0].args[0].input.Body)).toBe(ENTRY);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input.IfMatch).toBe('"e1"');
    expect(store.stats.bytesDownloaded + store.stats.bytesUploaded).toBeLessThan(4096);
  });

  it("aborts the upload when Complete loses the race, then retries from a fresh tail", async () => {
    s3.on(GetObjectCommand).resolvesOnce(largeTail(SIZE, OTHER, '"e1"')).resolvesOnce(largeTail(SIZE + OTHER.length, OTHER, '"e2"'));
    multipartOk();
    s3.on(CompleteMultipartUploadCommand, { IfMatch: '"e1"' }).rejects(err("PreconditionFailed", 412));
    s3.on(CompleteMultipartUploadCommand, { IfMatch: '"e2"' }).resolves({ ETag: '"e3"' });
    const result = await appendEntry(newStore(), POSITION, options());
    expect(result).toMatchObject({ path: "multipart-append", attempts: 2 });
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(UploadPartCopyCommand).map((c) => c.args[0].input.CopySourceIfMatch)).toEqual(['"e1"', '"e2"']);
  });

  it("aborts the upload and fails the run on a non-conflict failure", async () => {
    s3.on(GetObjectCommand).resolves(largeTail(SIZE, OTHER, '"e1"'));
    multipartOk();
    s3.on(UploadPartCopyCommand).rejects(err("InternalError", 500));
    await expect(appendEntry(newStore(), POSITION, options())).rejects.toThrow("InternalError");
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it("detects a duplicate from the tail alone", async () => {
    s3.on(GetObjectCommand).resolves(largeTail(SIZE, OTHER + ENTRY, '"e1"'));
    await expect(appendEntry(newStore(), POSITION, options())).resolves.toMatchObject({ path: "duplicate" });
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });
});
