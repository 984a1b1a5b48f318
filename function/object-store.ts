/**
 * The log object in account B, through the few S3 calls the access role allows:
 * s3:GetObject, s3:PutObject (also covers the multipart calls) and s3:AbortMultipartUpload.
 *
 * Every write is conditional: `If-None-Match: *` to create, `If-Match: <etag>` to replace or to
 * complete a multipart append. A lost race surfaces as ConflictError (S3's 412 or 409), which
 * the caller answers by re-reading and retrying.
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

/** The part of S3Client used here (tests pass a mocked client). */
export type S3Sender = Pick<S3Client, "send">;

export type TailRead =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly etag: string;
      /** Size of the whole object. */
      readonly size: number;
      /** Its last bytes (the whole object when `size <= maxBytes`). */
      readonly tail: Buffer;
    };

export interface ObjectStore {
  /** The object's ETag, size and last `maxBytes` bytes (one ranged GET), or that it does not exist. */
  readTail(maxBytes: number): Promise<TailRead>;
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

/** S3 said no to the access role. */
export class StoreAccessDeniedError extends Error {
  override readonly name = "StoreAccessDeniedError";
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

export const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024; // 5 GiB, S3's largest part
const CONTENT_TYPE = "text/plain; charset=utf-8";

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

function isMissing(error: unknown): boolean {
  return nameOf(error) === "NoSuchKey" || (statusOf(error) === 404 && nameOf(error) !== "NoSuchBucket" && nameOf(error) !== "NoSuchUpload");
}

/** `bytes 0-99/100` → the range and the whole size. */
export function parseContentRange(value: string | undefined): { start: number; end: number; size: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value?.trim() ?? "");
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), size: Number(m[3]) };
}

/** Byte ranges (inclusive) of at most MAX_PART_BYTES, each at least 5 MiB when there are several. */
export function copyRanges(size: number, maxPart = MAX_PART_BYTES): Array<[number, number]> {
  const count = Math.max(1, Math.ceil(size / maxPart));
  const step = Math.ceil(size / count);
  const ranges: Array<[number, number]> = [];
  for (let start = 0; start < size; start += step) ranges.push([start, Math.min(size, start + step) - 1]);
  return ranges;
}

export class S3ObjectStore implements ObjectStore {
  readonly stats = { bytesDownloaded: 0, bytesUploaded: 0, requests: 0 };

  constructor(
    private readonly s3: S3Sender,
    readonly bucket: string,
    readonly key: string,
  ) {}

  private where(): string {
    return `s3://${this.bucket}/${this.key}`;
  }

  /** Sends one command; maps 412/409 to ConflictError and AccessDenied to a message with the cause. */
  private async send<T>(command: object, action: string): Promise<T> {
    this.stats.requests++;
    try {
      return (await this.s3.send(command as never)) as T;
    } catch (error) {
      if (isConflict(error)) throw new ConflictError(`${action} on ${this.where()}: ${nameOf(error) || statusOf(error)}`, error);
      if (nameOf(error) === "AccessDenied" || statusOf(error) === 403) {
        throw new StoreAccessDeniedError(
          `AccessDenied: ${action} on ${this.where()} (${(error as Error).message}). Likely causes: the access role lacks ` +
            `s3:GetObject/s3:PutObject/s3:AbortMultipartUpload on arn:aws:s3:::${this.bucket}/${this.key}, or a bucket policy or ` +
            `KMS key policy denies it.`,
          error,
        );
      }
      throw error;
    }
  }

  private async body(response: { Body?: { transformToByteArray(): Promise<Uint8Array> } }, expected: number, what: string): Promise<Buffer> {
    const bytes = response.Body ? Buffer.from(await response.Body.transformToByteArray()) : Buffer.alloc(0);
    this.stats.bytesDownloaded += bytes.length;
    if (bytes.length !== expected) {
      throw new Error(`${what} of ${this.where()}: got ${bytes.length} bytes, expected ${expected} (truncated read; nothing written)`);
    }
    return bytes;
  }

  async readTail(maxBytes: number): Promise<TailRead> {
    let response;
    try {
      response = await this.send<GetObjectCommandOutput>(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: `bytes=-${maxBytes}` }),
        "GetObject (tail)",
      );
    } catch (error) {
      if (isMissing(error)) return { exists: false };
      if (statusOf(error) === 416 || nameOf(error) === "InvalidRange") {
        // Some S3 implementations answer a suffix range on an empty object with 416: read it whole.
        return this.readSmallWhole(maxBytes);
      }
      throw error;
    }
    const etag = this.etagOf(response.ETag, "GetObject");
    const range = parseContentRange(response.ContentRange);
    if (range) {
      const tail = await this.body(response, range.end - range.start + 1, "GetObject (tail)");
      return { exists: true, etag, size: range.size, tail };
    }
    // No Content-Range: the whole object came back (an empty object, or a short one).
    const length = response.ContentLength ?? 0;
    if (length > maxBytes) {
      (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw new Error(`GetObject of ${this.where()} ignored the Range header (${length} bytes); refusing to download it`);
    }
    return { exists: true, etag, size: length, tail: await this.body(response, length, "GetObject") };
  }

  private async readSmallWhole(maxBytes: number): Promise<TailRead> {
    let whole: GetObjectCommandOutput;
    try {
      whole = await this.send<GetObjectCommandOutput>(new GetObjectCommand({ Bucket: this.bucket, Key: this.key }), "GetObject");
    } catch (error) {
      if (isMissing(error)) return { exists: false };
      throw error;
    }
    const length = whole.ContentLength ?? 0;
    if (length > maxBytes) {
      (whole.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw new Error(`GetObject of ${this.where()}: the tail range was refused, yet the object has ${length} bytes`);
    }
    return { exists: true, etag: this.etagOf(whole.ETag, "GetObject"), size: length, tail: await this.body(whole, length, "GetObject") };
  }

  private etagOf(etag: string | undefined, action: string): string {
    if (!etag) throw new Error(`${action} on ${this.where()} returned no ETag`);
    return etag;
  }

  async readWhole(etag: string, size: number): Promise<Buffer> {
    let response;
    try {
      response = await this.send<GetObjectCommandOutput>(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key, IfMatch: etag }),
        "GetObject",
      );
    } catch (error) {
      if (isMissing(error)) throw new ConflictError(`GetObject on ${this.where()}: the object vanished`, error);
      throw error;
    }
    if (response.ETag && response.ETag !== etag) throw new ConflictError(`GetObject on ${this.where()}: ETag changed`);
    return this.body(response, size, "GetObject");
  }

  async create(body: Buffer): Promise<string> {
    const out = await this.send<PutObjectCommandOutput>(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body, ContentLength: body.length, ContentType: CONTENT_TYPE, IfNoneMatch: "*" }),
      "PutObject (create)",
    );
    this.stats.bytesUploaded += body.length;
    return this.etagOf(out.ETag, "PutObject");
  }

  async replace(body: Buffer, etag: string): Promise<string> {
    const out = await this.send<PutObjectCommandOutput>(
      new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body, ContentLength: body.length, ContentType: CONTENT_TYPE, IfMatch: etag }),
      "PutObject (replace)",
    );
    this.stats.bytesUploaded += body.length;
    return this.etagOf(out.ETag, "PutObject");
  }

  async appendMultipart(appendix: Buffer, etag: string, size: number): Promise<string> {
    const created = await this.send<CreateMultipartUploadCommandOutput>(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, ContentType: CONTENT_TYPE, ChecksumAlgorithm: "CRC32" }),
      "CreateMultipartUpload",
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new Error(`CreateMultipartUpload on ${this.where()} returned no UploadId`);
    try {
      const parts: CompletedPart[] = [];
      const copySource = `${this.bucket}/${this.key.split("/").map(encodeURIComponent).join("/")}`;
      const ranges = copyRanges(size);
      for (const [start, end] of ranges) {
        const PartNumber = parts.length + 1;
        let copied;
        try {
          copied = await this.send<UploadPartCopyCommandOutput>(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: this.key,
              UploadId: uploadId,
              PartNumber,
              CopySource: copySource,
              CopySourceIfMatch: etag,
              ...(ranges.length > 1 ? { CopySourceRange: `bytes=${start}-${end}` } : {}),
            }),
            "UploadPartCopy",
          );
        } catch (error) {
          if (isMissing(error)) throw new ConflictError(`UploadPartCopy on ${this.where()}: the object vanished`, error);
          throw error;
        }
        const partEtag = copied.CopyPartResult?.ETag;
        if (!partEtag) throw new Error(`UploadPartCopy on ${this.where()} returned no ETag`);
        parts.push({ PartNumber, ETag: partEtag, ChecksumCRC32: copied.CopyPartResult?.ChecksumCRC32 });
      }
      const PartNumber = parts.length + 1;
      const uploaded = await this.send<UploadPartCommandOutput>(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: uploadId,
          PartNumber,
          Body: appendix,
          ContentLength: appendix.length,
          ChecksumAlgorithm: "CRC32",
        }),
        "UploadPart",
      );
      this.stats.bytesUploaded += appendix.length;
      if (!uploaded.ETag) throw new Error(`UploadPart on ${this.where()} returned no ETag`);
      parts.push({ PartNumber, ETag: uploaded.ETag, ChecksumCRC32: uploaded.ChecksumCRC32 });
      const completed = await this.send<CompleteMultipartUploadCommandOutput>(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          IfMatch: etag,
        }),
        "CompleteMultipartUpload",
      );
      return this.etagOf(completed.ETag, "CompleteMultipartUpload");
    } catch (error) {
      await this.abort(uploadId, error);
      throw error;
    }
  }

  private async abort(uploadId: string, reason: unknown): Promise<void> {
    try {
      this.stats.requests++;
      await this.s3.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }));
    } catch (abortError) {
      // The original failure is what the run reports; an upload left behind is removed by the
      // bucket's lifecycle rule for incomplete uploads. Say so in the log.
      console.warn(
        JSON.stringify({
          level: "warn",
          msg: "AbortMultipartUpload failed",
          uploadId,
          error: (abortError as Error)?.message ?? String(abortError),
          after: (reason as Error)?.message ?? String(reason),
        }),
      );
    }
  }
}
