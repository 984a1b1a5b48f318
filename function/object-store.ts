/**
 * The log object in account B, through the few S3 calls the access role allows:
 * s3:GetObject, s3:PutObject (also covers the multipart calls) and s3:AbortMultipartUpload.
 * No s3:ListBucket: a read denied with 403 may mean "missing" (S3 hides absence from a caller
 * that may not list) or "not readable"; the append tells them apart with a conditional create.
 *
 * Every write is conditional: `If-None-Match: *` to create, `If-Match: <etag>` to replace or to
 * complete a multipart append. A lost race surfaces as ConflictError (S3's 412 or 409, or a 404
 * when the object was deleted between the read and the write), which the caller answers by
 * re-reading and retrying. Every call gets the time left in the run minus a margin (an abort
 * signal that destroys the socket), so a hung S3 ends as a DeadlineError, never as Lambda's timeout.
 * Sizes are trusted only where S3 states them (Content-Range's total, Content-Length).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type CompleteMultipartUploadCommandOutput,
  type CreateMultipartUploadCommandOutput,
  type GetObjectCommandOutput,
  type PutObjectCommandOutput,
  type S3Client,
  type UploadPartCommandOutput,
  type UploadPartCopyCommandOutput,
} from "@aws-sdk/client-s3";
import { ABORT_MARGIN_MS, LOG_MARGIN_MS, NO_DEADLINE, within, type Deadline } from "./retry";

/** The part of S3Client used here (tests pass a mocked client). */
export type S3Sender = Pick<S3Client, "send">;

export type TailRead =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly etag: string;
      /** Size of the whole object, as S3 stated it. */
      readonly size: number;
      /** Its last bytes (the whole object when `size <= maxBytes`). */
      readonly tail: Buffer;
    };

export interface ObjectStore {
  /** `s3://bucket/key`, for messages. */
  readonly location: string;
  /** The object's ARN, for messages that name a grant. */
  readonly arn: string;
  /**
   * The object's ETag, size and last `maxBytes` bytes (one ranged GET), or that it does not exist.
   * A read denied with 403 throws ReadDeniedError (the object may be missing or unreadable).
   */
  readTail(maxBytes: number): Promise<TailRead>;
  /** The first `maxBytes` bytes of an object of at least that size, only if it still has this ETag. */
  readHead(maxBytes: number, etag: string): Promise<Buffer>;
  /** The whole object, only if it still has this ETag (and exactly `size` bytes). */
  readWhole(etag: string, size: number): Promise<Buffer>;
  /** Creates the object if it does not exist yet. Returns the new ETag. */
  create(body: Buffer): Promise<string>;
  /** Replaces the object if it still has this ETag. Returns the new ETag. */
  replace(body: Buffer, etag: string): Promise<string>;
  /**
   * Appends without downloading: a multipart upload whose first part(s) copy the current object
   * server-side (pinned to `etag`), whose last part is `appendix`, completed with `If-Match`.
   * The upload is aborted on any failure. Returns the new ETag.
   */
  appendMultipart(appendix: Buffer, etag: string, size: number): Promise<string>;
  /** Object bytes that went through the function (bodies only), since creation. */
  readonly stats: { bytesDownloaded: number; bytesUploaded: number; requests: number };
}

/** The object changed (or appeared, or vanished) under us: re-read and retry. */
export class ConflictError extends Error {
  override readonly name = "ConflictError";
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

/**
 * S3 refused the access role's session: AccessDenied, or a session S3 no longer accepts (expired,
 * revoked, unknown key). The run drops the cached session so the next run assumes the role again.
 */
export class StoreAccessDeniedError extends Error {
  override readonly name = "StoreAccessDeniedError";
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

/** GetObject answered 403: without s3:ListBucket, S3 says that for a missing object too. */
export class ReadDeniedError extends StoreAccessDeniedError {}

/** S3 answered something this store cannot trust (no ETag, a range without a total, a short body). */
export class StoreProtocolError extends Error {
  override readonly name = "StoreProtocolError";
}

export const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024; // 5 GiB, S3's largest part
const CONTENT_TYPE = "text/plain; charset=utf-8";
/** Error codes with which S3 refuses a session itself, rather than one request. */
const SESSION_REJECTED = new Set([
  "AccessDenied",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "InvalidAccessKeyId",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
]);

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function nameOf(error: unknown): string {
  return (error as { name?: string })?.name ?? "";
}

export function isConflict(error: unknown): boolean {
  const status = statusOf(error);
  const name = nameOf(error);
  return status === 412 || status === 409 || name === "PreconditionFailed" || name === "ConditionalRequestConflict";
}

/** 404 for the object itself (not for the bucket or the upload). */
function isMissing(error: unknown): boolean {
  const name = nameOf(error);
  return name === "NoSuchKey" || (statusOf(error) === 404 && name !== "NoSuchBucket" && name !== "NoSuchUpload");
}

/** `bytes 0-99/100` → the range and the whole size; undefined for anything else (e.g. `bytes 0-99/*`). */
export function parseContentRange(value: string | undefined): { start: number; end: number; size: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value?.trim() ?? "");
  if (!m) return undefined;
  const range = { start: Number(m[1]), end: Number(m[2]), size: Number(m[3]) };
  return range.start <= range.end && range.end < range.size ? range : undefined;
}

/** Byte ranges (inclusive) of at most MAX_PART_BYTES, each at least 5 MiB when there are several. */
export function copyRanges(size: number, maxPart = MAX_PART_BYTES): Array<[number, number]> {
  const count = Math.max(1, Math.ceil(size / maxPart));
  const step = Math.ceil(size / count);
  const ranges: Array<[number, number]> = [];
  for (let start = 0; start < size; start += step) ranges.push([start, Math.min(size, start + step) - 1]);
  return ranges;
}

type Body = { transformToByteArray(): Promise<Uint8Array>; destroy?(): void; on?(event: "error", listener: () => void): unknown };

export interface S3ObjectStoreOptions {
  /** The run's deadline: every call gets the time left minus `marginMs`. Default: none. */
  readonly deadline?: Deadline;
  /** Time kept back from every call to abort a multipart upload and log. Default LOG_MARGIN_MS + ABORT_MARGIN_MS. */
  readonly marginMs?: number;
  /** ARN partition of the bucket (aws, aws-cn, aws-us-gov). Default "aws". */
  readonly partition?: string;
}

export class S3ObjectStore implements ObjectStore {
  readonly stats = { bytesDownloaded: 0, bytesUploaded: 0, requests: 0 };
  private readonly deadline: Deadline;
  private readonly marginMs: number;
  readonly location: string;
  readonly arn: string;

  constructor(
    private readonly s3: S3Sender,
    readonly bucket: string,
    readonly key: string,
    options: S3ObjectStoreOptions = {},
  ) {
    this.deadline = options.deadline ?? NO_DEADLINE;
    this.marginMs = options.marginMs ?? LOG_MARGIN_MS + ABORT_MARGIN_MS;
    this.location = `s3://${bucket}/${key}`;
    this.arn = `arn:${options.partition ?? "aws"}:s3:::${bucket}/${key}`;
  }

  /**
   * One S3 call, and the reading of its body, within the time left: `use` turns the output into
   * the result (a body read inside it is bounded too). Maps S3's answers to this module's errors:
   * 412/409 (and 404 when `missingIsConflict`) to ConflictError, refused sessions to
   * StoreAccessDeniedError (ReadDeniedError for a read).
   */
  private async call<O, T>(action: string, command: object, use: (output: O, signal: AbortSignal | undefined) => Promise<T> | T, how: { read?: boolean; missingIsConflict?: boolean; marginMs?: number } = {}): Promise<T> {
    this.stats.requests++;
    return within(this.deadline, how.marginMs ?? this.marginMs, `${action} on ${this.location}`, async (signal) => {
      let output: O;
      try {
        output = (await this.s3.send(command as never, { abortSignal: signal })) as O;
      } catch (error) {
        const name = nameOf(error) || String(statusOf(error));
        if (isConflict(error) || (how.missingIsConflict && isMissing(error))) {
          throw new ConflictError(`${action} on ${this.location}: ${name}${isMissing(error) ? " (the object was deleted meanwhile)" : ""}`, error);
        }
        const code = nameOf(error);
        if (SESSION_REJECTED.has(code) || statusOf(error) === 403) {
          const detail = `${name}: ${action} on ${this.location} (${(error as Error).message})`;
          // Expired, revoked or unknown credentials, rather than a policy that says no.
          const sessionRefused = SESSION_REJECTED.has(code) && code !== "AccessDenied";
          if (!sessionRefused && how.read) throw new ReadDeniedError(detail, error);
          throw new StoreAccessDeniedError(
            sessionRefused
              ? `${detail}. S3 no longer accepts the assumed-role session (expired or revoked); the cached session is dropped and the next run assumes the role again.`
              : `${detail}. Likely causes: the access role lacks s3:GetObject/s3:PutObject/s3:AbortMultipartUpload on ${this.arn}, ` +
                  `or a bucket policy or KMS key policy denies it. The cached session is dropped.`,
            error,
          );
        }
        throw error;
      }
      return use(output, signal);
    });
  }

  /** Reads a body whose length S3 stated, within the call's time (a stalled stream is destroyed). */
  private async body(response: { Body?: unknown }, expected: number, what: string, signal: AbortSignal | undefined): Promise<Buffer> {
    const stream = response.Body as Body | undefined;
    if (!stream) {
      if (expected === 0) return Buffer.alloc(0);
      throw new StoreProtocolError(`${what} of ${this.location}: no body, expected ${expected} bytes (nothing written)`);
    }
    stream.on?.("error", () => undefined);
    const onAbort = () => stream.destroy?.();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const bytes = Buffer.from(await stream.transformToByteArray());
      this.stats.bytesDownloaded += bytes.length;
      if (bytes.length !== expected) {
        throw new StoreProtocolError(`${what} of ${this.location}: got ${bytes.length} bytes, expected ${expected} (truncated read; nothing written)`);
      }
      return bytes;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  private discard(response: { Body?: unknown }): void {
    const stream = response.Body as Body | undefined;
    stream?.on?.("error", () => undefined);
    stream?.destroy?.();
  }

  private etagOf(etag: string | undefined, action: string): string {
    if (!etag) throw new StoreProtocolError(`${action} on ${this.location} returned no ETag`);
    return etag;
  }

  async readTail(maxBytes: number): Promise<TailRead> {
    try {
      return await this.call<GetObjectCommandOutput, TailRead>(
        "GetObject (tail)",
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: `bytes=-${maxBytes}` }),
        async (response, signal) => {
          const etag = this.etagOf(response.ETag, "GetObject");
          const status = response.$metadata?.httpStatusCode;
          if (response.ContentRange !== undefined || status === 206) {
            // A part of the object: only Content-Range's total tells its size.
            const range = parseContentRange(response.ContentRange);
            if (!range || range.end !== range.size - 1) {
              this.discard(response);
              throw new StoreProtocolError(
                `GetObject (tail) of ${this.location} answered ${status ?? "?"} with Content-Range ${JSON.stringify(response.ContentRange ?? null)}, ` +
                  `not the object's last bytes and its total size; nothing written`,
              );
            }
            return { exists: true, etag, size: range.size, tail: await this.body(response, range.end - range.start + 1, "GetObject (tail)", signal) };
          }
          // No Content-Range (200): the whole object came back, and Content-Length is its size.
          const length = response.ContentLength;
          if (typeof length !== "number" || length > maxBytes) {
            this.discard(response);
            throw new StoreProtocolError(
              typeof length !== "number"
                ? `GetObject (tail) of ${this.location} answered without Content-Range or Content-Length; nothing written`
                : `GetObject of ${this.location} ignored the Range header (${length} bytes); refusing to download it`,
            );
          }
          return { exists: true, etag, size: length, tail: await this.body(response, length, "GetObject", signal) };
        },
        { read: true },
      );
    } catch (error) {
      if (isMissing(error)) return { exists: false };
      if (statusOf(error) === 416 || nameOf(error) === "InvalidRange") {
        // Some S3 implementations answer a suffix range on an empty object with 416: read it whole.
        return this.readSmallWhole(maxBytes);
      }
      throw error;
    }
  }

  private async readSmallWhole(maxBytes: number): Promise<TailRead> {
    try {
      return await this.call<GetObjectCommandOutput, TailRead>(
        "GetObject",
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key }),
        async (whole, signal) => {
          const length = whole.ContentLength;
          if (typeof length !== "number" || length > maxBytes) {
            this.discard(whole);
            throw new StoreProtocolError(`GetObject of ${this.location}: the tail range was refused, yet the object has ${length ?? "an unstated number of"} bytes`);
          }
          return { exists: true, etag: this.etagOf(whole.ETag, "GetObject"), size: length, tail: await this.body(whole, length, "GetObject", signal) };
        },
        { read: true },
      );
    } catch (error) {
      if (isMissing(error)) return { exists: false };
      throw error;
    }
  }

  async readHead(maxBytes: number, etag: string): Promise<Buffer> {
    return this.call<GetObjectCommandOutput, Buffer>(
      "GetObject (head)",
      new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: `bytes=0-${maxBytes - 1}`, IfMatch: etag }),
      async (response, signal) => {
        const range = parseContentRange(response.ContentRange);
        if (!range || range.start !== 0) {
          this.discard(response);
          throw new StoreProtocolError(`GetObject (head) of ${this.location} answered Content-Range ${JSON.stringify(response.ContentRange ?? null)}; nothing written`);
        }
        if (response.ETag && response.ETag !== etag) {
          this.discard(response);
          throw new ConflictError(`GetObject (head) on ${this.location}: ETag changed`);
        }
        return this.body(response, range.end + 1, "GetObject (head)", signal);
      },
      { missingIsConflict: true },
    );
  }

  async readWhole(etag: string, size: number): Promise<Buffer> {
    return this.call<GetObjectCommandOutput, Buffer>(
      "GetObject",
      new GetObjectCommand({ Bucket: this.bucket, Key: this.key, IfMatch: etag }),
      async (response, signal) => {
        if (response.ETag && response.ETag !== etag) {
          this.discard(response);
          throw new ConflictError(`GetObject on ${this.location}: ETag changed`);
        }
        return this.body(response, size, "GetObject", signal);
      },
      { missingIsConflict: true },
    );
  }

  async create(body: Buffer): Promise<string> {
    return this.call<PutObjectCommandOutput, string>(
      "PutObject (create)",
      new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body, ContentLength: body.length, ContentType: CONTENT_TYPE, IfNoneMatch: "*" }),
      (out) => {
        this.stats.bytesUploaded += body.length;
        return this.etagOf(out.ETag, "PutObject");
      },
    );
  }

  async replace(body: Buffer, etag: string): Promise<string> {
    return this.call<PutObjectCommandOutput, string>(
      "PutObject (replace)",
      new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body, ContentLength: body.length, ContentType: CONTENT_TYPE, IfMatch: etag }),
      (out) => {
        this.stats.bytesUploaded += body.length;
        return this.etagOf(out.ETag, "PutObject");
      },
      // S3 answers If-Match on a deleted key with 404 NoSuchKey: re-read (and create) like any lost race.
      { missingIsConflict: true },
    );
  }

  async appendMultipart(appendix: Buffer, etag: string, size: number): Promise<string> {
    const uploadId = await this.call<CreateMultipartUploadCommandOutput, string>(
      "CreateMultipartUpload",
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, ContentType: CONTENT_TYPE, ChecksumAlgorithm: "CRC32" }),
      (created) => {
        if (!created.UploadId) throw new StoreProtocolError(`CreateMultipartUpload on ${this.location} returned no UploadId`);
        return created.UploadId;
      },
    );
    try {
      const parts: CompletedPart[] = [];
      const copySource = `${this.bucket}/${this.key.split("/").map(encodeURIComponent).join("/")}`;
      const ranges = copyRanges(size);
      for (const [start, end] of ranges) {
        const PartNumber = parts.length + 1;
        const copied = await this.call<UploadPartCopyCommandOutput, UploadPartCopyCommandOutput>(
          "UploadPartCopy",
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: this.key,
            UploadId: uploadId,
            PartNumber,
            CopySource: copySource,
            CopySourceIfMatch: etag,
            ...(ranges.length > 1 ? { CopySourceRange: `bytes=${start}-${end}` } : {}),
          }),
          (out) => out,
          { missingIsConflict: true },
        );
        const partEtag = copied.CopyPartResult?.ETag;
        if (!partEtag) throw new StoreProtocolError(`UploadPartCopy on ${this.location} returned no ETag`);
        parts.push({ PartNumber, ETag: partEtag, ChecksumCRC32: copied.CopyPartResult?.ChecksumCRC32 });
      }
      const PartNumber = parts.length + 1;
      const uploaded = await this.call<UploadPartCommandOutput, UploadPartCommandOutput>(
        "UploadPart",
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: uploadId,
          PartNumber,
          Body: appendix,
          ContentLength: appendix.length,
          ChecksumAlgorithm: "CRC32",
        }),
        (out) => out,
      );
      this.stats.bytesUploaded += appendix.length;
      if (!uploaded.ETag) throw new StoreProtocolError(`UploadPart on ${this.location} returned no ETag`);
      parts.push({ PartNumber, ETag: uploaded.ETag, ChecksumCRC32: uploaded.ChecksumCRC32 });
      return await this.call<CompleteMultipartUploadCommandOutput, string>(
        "CompleteMultipartUpload",
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          IfMatch: etag,
        }),
        (completed) => this.etagOf(completed.ETag, "CompleteMultipartUpload"),
        // 404 NoSuchKey: the object was deleted since the copy (404 NoSuchUpload is not a race).
        { missingIsConflict: true },
      );
    } catch (error) {
      await this.abort(uploadId, error);
      throw error;
    }
  }

  /** Aborts the upload within the margin kept for it; an upload left behind is the lifecycle rule's. */
  private async abort(uploadId: string, reason: unknown): Promise<void> {
    try {
      // At most ABORT_MARGIN_MS, and never into the time kept to log.
      const marginMs = Math.max(LOG_MARGIN_MS, this.deadline.remainingMs() - ABORT_MARGIN_MS);
      await this.call("AbortMultipartUpload", new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }), () => undefined, { marginMs });
    } catch (abortError) {
      // The original failure is what the run reports; an upload left behind is removed by the
      // bucket's lifecycle rule for incomplete uploads. Say so in the log.
      console.warn(
        JSON.stringify({
          level: "warn",
          msg: "AbortMultipartUpload failed; the bucket's lifecycle rule removes the upload",
          uploadId,
          error: (abortError as Error)?.message ?? String(abortError),
          after: (reason as Error)?.message ?? String(reason),
        }),
      );
    }
  }
}
