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
import { AppendConflictError, appendEntry, ForeignObjectError, LogRewrittenError, StoreUnavailableError, type AppendOptions } from "../../function/append";
import { formatEntry, HEAD_BYTES, LOG_HEADER } from "../../function/core";
import { S3ObjectStore } from "../../function/object-store";
import { StoreAccessDeniedError } from "../../function/store-errors";
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
/** The first HEAD_BYTES of a large object (the multipart path reads them to check the header). */
function headOf(size: number, start = LOG_HEADER + OTHER, etag = '"e1"') {
  const data = Buffer.from(start).subarray(0, HEAD_BYTES);
  return { ETag: etag, ContentRange: `bytes 0-${data.length - 1}/${size}`, ContentLength: data.length, Body: { transformToByteArray: async () => new Uint8Array(data) } as never };
}
const whole = (content: string | Buffer, etag = '"e1"') => ({
  ETag: etag,
  ContentLength: Buffer.from(content).length,
  Body: { transformToByteArray: async () => new Uint8Array(Buffer.from(content)) } as never,
});
const err = (name: string, status: number) => new S3ServiceException({ name, $fault: "client", $metadata: { httpStatusCode: status }, message: name });
const putBodies = () => s3.commandCalls(PutObjectCommand).map((c) => String(c.args[0].input.Body));

beforeEach(() => {
  s3.reset();
  sleeps = [];
});

describe("appendEntry below the threshold (read-modify-write)", () => {
  it("appends the entry to a small object with If-Match on the ETag it read", async () => {
    s3.on(GetObjectCommand).resolves(tailOf(OLD, '"e1"'));
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    const result = await appendEntry(newStore(), POSITION, options());
    expect(result).toEqual({
      path: "read-modify-write", bytesAppended: ENTRY.length, attempts: 1, objectBytes: OLD.length + ENTRY.length,
      watermark: { size: OLD.length + ENTRY.length, head: Buffer.from(OLD + ENTRY).subarray(0, HEAD_BYTES), tail: Buffer.from(OLD + ENTRY) },
    });
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
    expect(sleeps).toEqual([100]); // decorrelated jitter: 50 + 0.5 x (3 x 50 - 50) ms
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

  it("keeps retrying a lost race while the run has time for another attempt, not a fixed number of times", async () => {
    let remaining = 30_000;
    s3.on(GetObjectCommand).callsFake(() => ((remaining -= 300), tailOf(OLD, '"e1"'))); // an attempt takes 300 ms
    s3.on(PutObjectCommand).rejects(err("PreconditionFailed", 412));
    const delays: number[] = [];
    const error = await appendEntry(
      newStore(),
      POSITION,
      options({ deadline: { remainingMs: () => remaining }, random: Math.random, sleep: async (ms) => void (delays.push(ms), (remaining -= ms)) }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppendConflictError);
    expect((error as Error).message).toMatch(/^Out of time after losing the race to concurrent writers \(\d+ ms left, 3000 ms needed for an attempt; last: PutObject \(replace\) on s3:\/\/bucket\/iss_position\.txt: PreconditionFailed\); the entry for 2025-12-06 17:19:45 was not written$/);
    // Far more than the old fixed 6 attempts; it stopped only when another one would not fit.
    expect(s3.commandCalls(PutObjectCommand).length).toBeGreaterThan(10);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(delays.length + 1);
    expect(remaining).toBeGreaterThanOrEqual(3000 - 300);
    expect(remaining).toBeLessThan(3000 + 2000);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(50), expect(d).toBeLessThanOrEqual(2000);
  });

  it("does not sleep into the time an attempt needs: stops as soon as the next delay would leave too little", async () => {
    s3.on(GetObjectCommand).resolves(tailOf(OLD, '"e1"'));
    s3.on(PutObjectCommand).rejects(err("PreconditionFailed", 412));
    let remaining = 10_000;
    const error = await appendEntry(newStore(), POSITION, options({ deadline: { remainingMs: () => remaining }, sleep: async (ms) => void (remaining -= ms + 4000) })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppendConflictError);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(2);
  });

  it("starts no attempt, and calls nothing, when the run has less than an attempt's time left", async () => {
    const error = await appendEntry(newStore(), POSITION, options({ deadline: { remainingMs: () => 2999 } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineError);
    expect((error as Error).message).toBe("Out of time before an append attempt (2999 ms left, 3000 ms needed for an attempt); the entry was not written");
    expect(s3.calls()).toHaveLength(0);
  });

  it("treats a 404 on the conditional PutObject (log deleted since the read) as a lost race: re-reads and creates it anew", async () => {
    s3.on(GetObjectCommand).resolvesOnce(tailOf(OLD, '"e1"')).rejects(err("NoSuchKey", 404));
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).rejects(err("NoSuchKey", 404));
    s3.on(PutObjectCommand, { IfNoneMatch: "*" }).resolves({ ETag: '"e2"' });
    const result = await appendEntry(newStore(), POSITION, options());
    expect(result).toMatchObject({ path: "created", attempts: 2 });
    expect(putBodies()).toEqual([OLD + ENTRY, LOG_HEADER + ENTRY]);
  });

  it("finds a duplicate anywhere in the tail, not only in the last entry", async () => {
    s3.on(GetObjectCommand).resolves(tailOf(OLD + ENTRY + OTHER, '"e1"'));
    const result = await appendEntry(newStore(), POSITION, options());
    expect(result).toMatchObject({ path: "duplicate", bytesAppended: 0 });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it("refuses a fix far older than the log's newest entry, writing nothing: the run may try another source's fix", async () => {
    const ahead = formatEntry({ ...POSITION, timestamp: POSITION.timestamp + 301 });
    s3.on(GetObjectCommand).resolves(tailOf(OLD + ahead, '"e1"'));
    const result = await appendEntry(newStore(), POSITION, options());
    expect(result).toMatchObject({ path: "stale", newest: POSITION.timestamp + 301, attempts: 1 });
    expect(result.path === "stale" && result.reason).toMatch(/^fix 2025-12-06 17:19:45 UTC is 301 s older than the log's newest entry .*; nothing written to s3:\/\/bucket\/iss_position\.txt$/);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it("appends a fix a little older than the newest entry (concurrent runs land out of order)", async () => {
    const ahead = formatEntry({ ...POSITION, timestamp: POSITION.timestamp + 20 });
    s3.on(GetObjectCommand).resolves(tailOf(OLD + ahead, '"e1"'));
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    await expect(appendEntry(newStore(), POSITION, options())).resolves.toMatchObject({ path: "read-modify-write" });
  });

  it("writes nothing when the same ISS second is already the last entry (re-delivered event)", async () => {
    s3.on(GetObjectCommand).resolves(tailOf(OLD + ENTRY, '"e1"'));
    const result = await appendEntry(newStore(), POSITION, options());
    expect(result).toMatchObject({ path: "duplicate", bytesAppended: 0, attempts: 1, objectBytes: (OLD + ENTRY).length, watermark: { size: (OLD + ENTRY).length } });
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

});

describe("appendEntry when S3 fails without saying anything about the request", () => {
  it("retries a 503 SlowDown on the read and a 500 on the write with the same jitter, while an attempt fits", async () => {
    s3.on(GetObjectCommand).rejectsOnce(err("SlowDown", 503)).resolves(tailOf(OLD, '"e1"'));
    s3.on(PutObjectCommand).rejectsOnce(err("InternalError", 500)).resolves({ ETag: '"e2"' });
    await expect(appendEntry(newStore(), POSITION, options())).resolves.toMatchObject({ path: "read-modify-write", attempts: 3 });
    expect(putBodies()).toEqual([OLD + ENTRY, OLD + ENTRY]);
    expect(sleeps).toHaveLength(2);
  });

  it("a write whose answer was lost after it landed: the retry finds the entry, and it lands once", async () => {
    s3.on(GetObjectCommand).resolvesOnce(tailOf(OLD, '"e1"')).resolves(tailOf(OLD + ENTRY, '"e2"'));
    s3.on(PutObjectCommand).rejects(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
    await expect(appendEntry(newStore(), POSITION, options())).resolves.toMatchObject({ path: "duplicate", attempts: 2 });
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
  });

  it("gives up with the time left for an attempt, naming S3's last answer, the log untouched", async () => {
    let remaining = 10_000;
    s3.on(GetObjectCommand).callsFake(() => {
      remaining -= 500;
      throw err("SlowDown", 503);
    });
    const error = await appendEntry(newStore(), POSITION, options({ deadline: { remainingMs: () => remaining }, sleep: async (ms) => void (remaining -= ms) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(/^Out of time while S3 kept failing \(\d+ ms left, 3000 ms needed for an attempt; last: GetObject \(tail\) on s3:\/\/bucket\/iss_position\.txt: SlowDown: SlowDown\); the entry for 2025-12-06 17:19:45 was not written$/);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});

describe("appendEntry against what an earlier run saw of the log", () => {
  const seenAfter = async (content: string) => {
    s3.on(GetObjectCommand).resolves(tailOf(content, '"e1"'));
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    const first = await appendEntry(newStore(), POSITION, options());
    s3.reset();
    return first.path === "stale" ? undefined : first.watermark;
  };

  it("appends to the log it saw, grown by other writers' entries", async () => {
    const seen = await seenAfter(OLD);
    s3.on(GetObjectCommand).resolves(tailOf(OLD + ENTRY + OTHER, '"e3"'));
    s3.on(PutObjectCommand).resolves({ ETag: '"e4"' });
    await expect(appendEntry(newStore(), { ...POSITION, timestamp: POSITION.timestamp + 300 }, options({ seen }))).resolves.toMatchObject({ path: "read-modify-write" });
  });

  it.each([
    ["shorter than it was (cut)", OLD, /it has \d+ bytes, fewer than the \d+ it had when this function last read it/],
    ["with another first entry (rewritten)", OLD.replace("Time: 2025-", "Time: 2024-") + ENTRY + OTHER, /its first bytes are not the ones this function last read/],
    ["as long, other bytes where it ended (rewritten)", (OLD + ENTRY).replace("Longitude: 122.1887", "Longitude: 000.0000") + OTHER, /its bytes \d+-\d+ are not the ones this function last read there/],
  ])("refuses a log %s after one more read, naming what differs, writing nothing", async (_name, now, problem) => {
    const seen = await seenAfter(OLD);
    s3.on(GetObjectCommand).resolves(tailOf(now, '"e9"'));
    const error = await appendEntry(newStore(), { ...POSITION, timestamp: POSITION.timestamp + 300 }, options({ seen })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogRewrittenError);
    expect((error as Error).message).toMatch(problem);
    expect((error as Error).message).toMatch(/refusing to append, nothing was written/);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(2);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it("takes a moment's inconsistency (one stale read) for what it is: reads again and appends", async () => {
    const seen = await seenAfter(OLD);
    s3.on(GetObjectCommand).resolvesOnce(tailOf(OLD, '"e1"')).resolves(tailOf(OLD + ENTRY, '"e2"'));
    s3.on(PutObjectCommand).resolves({ ETag: '"e3"' });
    await expect(appendEntry(newStore(), { ...POSITION, timestamp: POSITION.timestamp + 300 }, options({ seen }))).resolves.toMatchObject({ path: "read-modify-write", attempts: 2 });
  });
});

describe("appendEntry refuses a foreign object at the key, writing nothing", () => {
  it("a small object that is not a log (read whole with the tail)", async () => {
    s3.on(GetObjectCommand).resolves(tailOf('{"items":[1,2,3]}', '"e1"'));
    const error = await appendEntry(newStore(), POSITION, options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForeignObjectError);
    expect((error as Error).message).toBe(
      `s3://bucket/iss_position.txt holds something other than this log (it starts with "{\\"items\\":[1,2,3]}", not the "ISS Location Logs" header); ` +
        "refusing to append to it, nothing was written. Move that object away or set OBJECT_KEY to another key.",
    );
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it("a mid-sized object whose tail looks like a log: its head, read with the whole object, tells", async () => {
    const content = "garbage\n" + OTHER.repeat(100);
    s3.on(GetObjectCommand, { Range: "bytes=-1024" }).resolves(tailOf(content, '"e1"'));
    s3.on(GetObjectCommand, { IfMatch: '"e1"' }).resolves(whole(content));
    await expect(appendEntry(newStore(), POSITION, options())).rejects.toBeInstanceOf(ForeignObjectError);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it("accepts an empty object as a new log: writes the header first", async () => {
    s3.on(GetObjectCommand).resolves({ ETag: '"empty"', ContentLength: 0, Body: { transformToByteArray: async () => new Uint8Array() } as never });
    s3.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    await expect(appendEntry(newStore(), POSITION, options())).resolves.toMatchObject({ path: "read-modify-write" });
    expect(putBodies()).toEqual([LOG_HEADER + ENTRY]);
  });
});

describe("appendEntry without s3:ListBucket: a read denied with 403", () => {
  it("tries a conditional create: created means the log was missing", async () => {
    s3.on(GetObjectCommand).rejects(err("AccessDenied", 403));
    s3.on(PutObjectCommand, { IfNoneMatch: "*" }).resolves({ ETag: '"e1"' });
    await expect(appendEntry(newStore(), POSITION, options())).resolves.toMatchObject({ path: "created", attempts: 1 });
    expect(putBodies()).toEqual([LOG_HEADER + ENTRY]);
  });

  it("412 on the create and 403 on the read again: the log exists and may not be read, an AccessDenied naming the grant", async () => {
    s3.on(GetObjectCommand).rejects(err("AccessDenied", 403));
    s3.on(PutObjectCommand, { IfNoneMatch: "*" }).rejects(err("PreconditionFailed", 412));
    const error = await appendEntry(newStore(), POSITION, options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreAccessDeniedError);
    expect((error as Error).message).toBe(
      "AccessDenied: the access role may not read s3://bucket/iss_position.txt, which exists (GetObject answered 403 and a create " +
        "with If-None-Match: * answered 412). Grant s3:GetObject on arn:aws:s3:::bucket/iss_position.txt to the access role. The log was not changed.",
    );
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(1);
  });

  it("412 on the create, then the read succeeds (another first run created it meanwhile): appends to it", async () => {
    s3.on(GetObjectCommand).rejectsOnce(err("AccessDenied", 403)).resolves(tailOf(LOG_HEADER + OTHER, '"e1"'));
    s3.on(PutObjectCommand, { IfNoneMatch: "*" }).rejects(err("PreconditionFailed", 412));
    s3.on(PutObjectCommand, { IfMatch: '"e1"' }).resolves({ ETag: '"e2"' });
    await expect(appendEntry(newStore(), POSITION, options())).resolves.toMatchObject({ path: "read-modify-write", attempts: 2 });
  });

  it("403 on the create too: AccessDenied that says both were denied", async () => {
    s3.on(GetObjectCommand).rejects(err("AccessDenied", 403));
    s3.on(PutObjectCommand).rejects(err("AccessDenied", 403));
    await expect(appendEntry(newStore(), POSITION, options())).rejects.toThrow(/^AccessDenied: PutObject \(create\) on s3:\/\/bucket\/iss_position\.txt .*\(the read was denied too: GetObject answered 403\)$/s);
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

  it("takes the multipart branch: reads only the tail and the head, never the whole object, never PutObject", async () => {
    s3.on(GetObjectCommand).resolves(largeTail(SIZE, OTHER, '"e1"'));
    s3.on(GetObjectCommand, { Range: "bytes=0-63" }).resolves(headOf(SIZE));
    multipartOk();
    const store = newStore();
    const result = await appendEntry(store, POSITION, options());
    expect(result).toMatchObject({ path: "multipart-append", bytesAppended: ENTRY.length, attempts: 1, objectBytes: SIZE + ENTRY.length });
    expect(result.path !== "stale" && result.watermark).toEqual({ size: SIZE + ENTRY.length, head: Buffer.from(LOG_HEADER + OTHER).subarray(0, HEAD_BYTES), tail: Buffer.from(OTHER + ENTRY) });
    expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: "bucket", Key: "iss_position.txt", Range: "bytes=-1024" },
      { Bucket: "bucket", Key: "iss_position.txt", Range: "bytes=0-63", IfMatch: '"e1"' },
    ]);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    expect(String(s3.commandCalls(UploadPartCommand)[0].args[0].input.Body)).toBe(ENTRY);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0].args[0].input.IfMatch).toBe('"e1"');
    expect(store.stats.bytesDownloaded + store.stats.bytesUploaded).toBeLessThan(4096);
  });

  it("aborts the upload when Complete loses the race, then retries from a fresh tail", async () => {
    s3.on(GetObjectCommand, { Range: "bytes=-1024" }).resolvesOnce(largeTail(SIZE, OTHER, '"e1"')).resolvesOnce(largeTail(SIZE + OTHER.length, OTHER, '"e2"'));
    s3.on(GetObjectCommand, { Range: "bytes=0-63", IfMatch: '"e1"' }).resolves(headOf(SIZE));
    s3.on(GetObjectCommand, { Range: "bytes=0-63", IfMatch: '"e2"' }).resolves(headOf(SIZE + OTHER.length, LOG_HEADER + OTHER, '"e2"'));
    multipartOk();
    s3.on(CompleteMultipartUploadCommand, { IfMatch: '"e1"' }).rejects(err("PreconditionFailed", 412));
    s3.on(CompleteMultipartUploadCommand, { IfMatch: '"e2"' }).resolves({ ETag: '"e3"' });
    const result = await appendEntry(newStore(), POSITION, options());
    expect(result).toMatchObject({ path: "multipart-append", attempts: 2 });
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(UploadPartCopyCommand).map((c) => c.args[0].input.CopySourceIfMatch)).toEqual(['"e1"', '"e2"']);
  });

  it("treats a 404 on CompleteMultipartUpload (log deleted since the read) like UploadPartCopy's: aborts, re-reads, creates anew", async () => {
    s3.on(GetObjectCommand, { Range: "bytes=-1024" }).resolvesOnce(largeTail(SIZE, OTHER, '"e1"')).rejects(err("NoSuchKey", 404));
    s3.on(GetObjectCommand, { Range: "bytes=0-63" }).resolves(headOf(SIZE));
    multipartOk();
    s3.on(CompleteMultipartUploadCommand).rejects(err("NoSuchKey", 404));
    s3.on(PutObjectCommand, { IfNoneMatch: "*" }).resolves({ ETag: '"new"' });
    const result = await appendEntry(newStore(), POSITION, options());
    expect(result).toMatchObject({ path: "created", attempts: 2 });
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
  });

  it("refuses a large foreign object from its head, before any upload starts", async () => {
    s3.on(GetObjectCommand).resolves(largeTail(SIZE, OTHER, '"e1"'));
    s3.on(GetObjectCommand, { Range: "bytes=0-63" }).resolves(headOf(SIZE, "\u0089PNG\r\n\u001a\n" + "x".repeat(80)));
    multipartOk();
    await expect(appendEntry(newStore(), POSITION, options())).rejects.toBeInstanceOf(ForeignObjectError);
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });

  it("refuses, as a lost race, a tail and a head of one ETag that state different sizes (one of them was another version)", async () => {
    s3.on(GetObjectCommand, { Range: "bytes=-1024" }).resolvesOnce(largeTail(SIZE - 40, OTHER, '"e1"')).resolves(largeTail(SIZE, OTHER, '"e1"'));
    s3.on(GetObjectCommand, { Range: "bytes=0-63" }).resolves(headOf(SIZE));
    multipartOk();
    await expect(appendEntry(newStore(), POSITION, options())).resolves.toMatchObject({ path: "multipart-append", attempts: 2, objectBytes: SIZE + ENTRY.length });
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(1);
  });

  it("aborts the upload and fails the run on a failure that is neither a race nor transient", async () => {
    s3.on(GetObjectCommand).resolves(largeTail(SIZE, OTHER, '"e1"'));
    s3.on(GetObjectCommand, { Range: "bytes=0-63" }).resolves(headOf(SIZE));
    multipartOk();
    s3.on(UploadPartCopyCommand).rejects(err("InvalidRequest", 400));
    await expect(appendEntry(newStore(), POSITION, options())).rejects.toThrow("InvalidRequest");
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it("detects a duplicate from the tail (and the head check), with no upload", async () => {
    s3.on(GetObjectCommand).resolves(largeTail(SIZE, OTHER + ENTRY, '"e1"'));
    s3.on(GetObjectCommand, { Range: "bytes=0-63" }).resolves(headOf(SIZE));
    await expect(appendEntry(newStore(), POSITION, options())).resolves.toMatchObject({ path: "duplicate" });
    expect(s3.commandCalls(CreateMultipartUploadCommand)).toHaveLength(0);
  });
});
