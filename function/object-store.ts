/**
 * The log object in account B, through the few S3 calls the access role allows:
 * s3:GetObject, s3:PutObject (also covers the multipart calls) and s3:AbortMultipartUpload.
 * This module makes the reads and the single-request writes and checks what S3 answers before
 * anything is built on it; the multipart append is ./multipart-append.ts, the mapping of S3's
 * errors ./s3-call.ts.
 *
 * Every write is conditional: `If-None-Match: *` to create, `If-Match: <etag>` to replace.
 * Sizes are trusted only where S3 states them (Content-Range's total, Content-Length), and bytes
 * that will be written back are checked against what S3 states for them: the ETag, where it is
 * the MD5 of the object's bytes (a single-request upload, unencrypted or SSE-S3), and the object's
 * checksum, which the SDK validates on a whole-object read. Bytes that disagree with their ETag
 * are a conflict: read again.
 */
import {
  GetObjectCommand,
  PutObjectCommand,
  type GetObjectCommandOutput,
  type PutObjectCommandOutput,
} from "@aws-sdk/client-s3";
import { createHash } from "node:crypto";
import { DELIVERIES_METADATA, parseDeliveries } from "./core";
import { appendMultipart } from "./multipart-append";
import { ABORT_MARGIN_MS, LOG_MARGIN_MS, NO_DEADLINE, type Deadline } from "./retry";
import { nameOf, statusOf } from "./aws-errors";
import { isMissing, S3Calls, type S3Sender } from "./s3-call";
import { ConflictError, InconsistentReadError, StoreProtocolError } from "./store-errors";

export type { S3Sender } from "./s3-call";

export type TailRead =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly etag: string;
      /** Size of the whole object, as S3 stated it. */
      readonly size: number;
      /** Its last bytes (the whole object when `size <= maxBytes`, then checked against its ETag). */
      readonly tail: Buffer;
      /** The deliveries its metadata records (core.ts DELIVERIES_METADATA). */
      readonly deliveries: readonly string[];
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
  /** The first `maxBytes` bytes of an object of at least that size and its whole size, only if it still has this ETag. */
  readHead(maxBytes: number, etag: string): Promise<{ readonly head: Buffer; readonly size: number }>;
  /** The whole object, only if it still has this ETag (and exactly `size` bytes). */
  readWhole(etag: string, size: number): Promise<Buffer>;
  /** Creates the object if it does not exist yet, recording these deliveries (default none). Returns the new ETag. */
  create(body: Buffer, deliveries?: readonly string[]): Promise<string>;
  /** Replaces the object if it still has this ETag, recording these deliveries. Returns the new ETag. */
  replace(body: Buffer, etag: string, deliveries?: readonly string[]): Promise<string>;
  /**
   * Appends without downloading: the current object copied server-side (pinned to `etag`), then
   * `appendix`, completed with `If-Match`, recording these deliveries. Returns the new ETag.
   */
  appendMultipart(appendix: Buffer, etag: string, size: number, deliveries?: readonly string[]): Promise<string>;
  /** Object bytes that went through the function (bodies only), since creation. */
  readonly stats: { bytesDownloaded: number; bytesUploaded: number };
}

const CONTENT_TYPE = "text/plain; charset=utf-8";

/** The metadata of a write that records these deliveries (none: no metadata). */
export function deliveriesMetadata(deliveries: readonly string[]): { Metadata?: Record<string, string> } {
  return deliveries.length === 0 ? {} : { Metadata: { [DELIVERIES_METADATA]: deliveries.join(" ") } };
}

const deliveriesOf = (response: GetObjectCommandOutput) => parseDeliveries(response.Metadata?.[DELIVERIES_METADATA]);

/** `bytes 0-99/100` → the range and the whole size; undefined for anything else (e.g. `bytes 0-99/*`). */
export function parseContentRange(value: string | undefined): { start: number; end: number; size: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value?.trim() ?? "");
  if (!m) return undefined;
  const range = { start: Number(m[1]), end: Number(m[2]), size: Number(m[3]) };
  return range.start <= range.end && range.end < range.size ? range : undefined;
}

/**
 * The MD5 an ETag states for the object's bytes, when it states one: S3's ETag of an object
 * uploaded in one request, unencrypted or with SSE-S3, is the hex MD5 of its bytes; a multipart
 * upload's ("<hex>-<parts>") and an SSE-KMS or SSE-C object's are not.
 */
export function md5OfEtag(etag: string, encryption: { readonly ServerSideEncryption?: string; readonly SSECustomerAlgorithm?: string }): string | undefined {
  const hex = /^"?([0-9a-f]{32})"?$/.exec(etag.trim())?.[1];
  const plain = encryption.ServerSideEncryption === undefined || encryption.ServerSideEncryption === "AES256";
  return hex !== undefined && plain && encryption.SSECustomerAlgorithm === undefined ? hex : undefined;
}

type Body = { transformToByteArray(): Promise<Uint8Array>; destroy?(): void; on?(event: "error", listener: () => void): unknown };

export interface S3ObjectStoreOptions {
  /** The run's deadline: every call gets the time left minus `marginMs`. Default: none. */
  readonly deadline?: Deadline;
  /** Time kept back from every call to abort a multipart upload and log. Default LOG_MARGIN_MS + ABORT_MARGIN_MS. */
  readonly marginMs?: number;
  /** ARN partition of the bucket (aws, aws-cn, aws-us-gov). Default "aws". */
  readonly partition?: string;
  /**
   * The account that must own the bucket (S3's ExpectedBucketOwner on every call): a bucket of the
   * same name in another account is refused with 403, never written. Default: not checked.
   */
  readonly expectedOwner?: string;
  /** Where a multipart upload left behind is reported. Default: nowhere. */
  readonly warn?: (msg: string, fields: Readonly<Record<string, unknown>>) => void;
}

export class S3ObjectStore implements ObjectStore {
  readonly stats = { bytesDownloaded: 0, bytesUploaded: 0 };
  private readonly calls: S3Calls;
  private readonly warn: NonNullable<S3ObjectStoreOptions["warn"]>;
  /** The bucket-owner condition every request carries. */
  private readonly owner: { readonly ExpectedBucketOwner?: string };

  constructor(
    s3: S3Sender,
    readonly bucket: string,
    readonly key: string,
    options: S3ObjectStoreOptions = {},
  ) {
    this.calls = new S3Calls(s3, options.deadline ?? NO_DEADLINE, options.marginMs ?? LOG_MARGIN_MS + ABORT_MARGIN_MS,
      `s3://${bucket}/${key}`, `arn:${options.partition ?? "aws"}:s3:::${bucket}/${key}`);
    this.warn = options.warn ?? (() => undefined);
    this.owner = options.expectedOwner === undefined ? {} : { ExpectedBucketOwner: options.expectedOwner };
  }

  get location(): string {
    return this.calls.location;
  }

  get arn(): string {
    return this.calls.arn;
  }

  /**
   * Reads a body whose length S3 stated, within the call's time (a stalled stream is destroyed).
   * A body the SDK finds at odds with the object's checksum is a conflict.
   */
  private async body(response: { Body?: unknown }, expected: number, what: string, signal: AbortSignal | undefined): Promise<Buffer> {
    const stream = response.Body as Body | undefined;
    if (!stream) {
      if (expected === 0) return Buffer.alloc(0);
      throw new StoreProtocolError(`${what} of ${this.location}: no body, expected ${expected} bytes (nothing written)`);
    }
    stream.on?.("error", () => undefined);
    const onAbort = () => stream.destroy?.();
    signal?.addEventListener("abort", onAbort, { once: true });
    let bytes: Buffer;
    try {
      bytes = Buffer.from(await stream.transformToByteArray());
    } catch (error) {
      if (/checksum mismatch/i.test((error as Error)?.message ?? "")) {
        throw new InconsistentReadError(`${what} of ${this.location}: the bytes read do not match the object's checksum (${(error as Error).message})`, error);
      }
      throw error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    this.stats.bytesDownloaded += bytes.length;
    if (bytes.length !== expected) {
      throw new StoreProtocolError(`${what} of ${this.location}: got ${bytes.length} bytes, expected ${expected} (truncated read; nothing written)`);
    }
    return bytes;
  }

  /** The whole object's bytes, checked against the MD5 its ETag states (when it states one). */
  private checkedWhole(bytes: Buffer, etag: string, response: GetObjectCommandOutput, what: string): Buffer {
    const md5 = md5OfEtag(etag, response);
    if (md5 !== undefined && createHash("md5").update(bytes).digest("hex") !== md5) {
      throw new InconsistentReadError(`${what} of ${this.location}: the ${bytes.length} bytes read are not the object with ETag ${etag} (their MD5 differs): read again`);
    }
    return bytes;
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
      return await this.calls.send<GetObjectCommandOutput, TailRead>(
        "GetObject (tail)",
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key, ...this.owner, Range: `bytes=-${maxBytes}` }),
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
            const tail = await this.body(response, range.end - range.start + 1, "GetObject (tail)", signal);
            return {
              exists: true, etag, size: range.size, tail: range.start === 0 ? this.checkedWhole(tail, etag, response, "GetObject (tail)") : tail, deliveries: deliveriesOf(response),
            };
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
          return { exists: true, etag, size: length, tail: this.checkedWhole(await this.body(response, length, "GetObject", signal), etag, response, "GetObject"), deliveries: deliveriesOf(response) };
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
      return await this.calls.send<GetObjectCommandOutput, TailRead>(
        "GetObject",
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key, ...this.owner }),
        async (whole, signal) => {
          const length = whole.ContentLength;
          if (typeof length !== "number" || length > maxBytes) {
            this.discard(whole);
            throw new StoreProtocolError(`GetObject of ${this.location}: the tail range was refused, yet the object has ${length ?? "an unstated number of"} bytes`);
          }
          const etag = this.etagOf(whole.ETag, "GetObject");
          return { exists: true, etag, size: length, tail: this.checkedWhole(await this.body(whole, length, "GetObject", signal), etag, whole, "GetObject"), deliveries: deliveriesOf(whole) };
        },
        { read: true },
      );
    } catch (error) {
      if (isMissing(error)) return { exists: false };
      throw error;
    }
  }

  async readHead(maxBytes: number, etag: string): Promise<{ head: Buffer; size: number }> {
    return this.calls.send<GetObjectCommandOutput, { head: Buffer; size: number }>(
      "GetObject (head)",
      new GetObjectCommand({ Bucket: this.bucket, Key: this.key, ...this.owner, Range: `bytes=0-${maxBytes - 1}`, IfMatch: etag }),
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
        return { head: await this.body(response, range.end + 1, "GetObject (head)", signal), size: range.size };
      },
      { missingIsConflict: true },
    );
  }

  async readWhole(etag: string, size: number): Promise<Buffer> {
    return this.calls.send<GetObjectCommandOutput, Buffer>(
      "GetObject",
      new GetObjectCommand({ Bucket: this.bucket, Key: this.key, ...this.owner, IfMatch: etag }),
      async (response, signal) => {
        if (response.ETag && response.ETag !== etag) {
          this.discard(response);
          throw new ConflictError(`GetObject on ${this.location}: ETag changed`);
        }
        // The tail read stated `size` for this ETag; the object with it says otherwise: one of the two was another version.
        if (typeof response.ContentLength === "number" && response.ContentLength !== size) {
          this.discard(response);
          throw new InconsistentReadError(`GetObject on ${this.location}: the object with ETag ${etag} has ${response.ContentLength} bytes, its tail read said ${size}: read again`);
        }
        return this.checkedWhole(await this.body(response, size, "GetObject", signal), etag, response, "GetObject");
      },
      { missingIsConflict: true },
    );
  }

  async create(body: Buffer, deliveries: readonly string[] = []): Promise<string> {
    return this.calls.send<PutObjectCommandOutput, string>(
      "PutObject (create)",
      new PutObjectCommand({
        Bucket: this.bucket, Key: this.key, ...this.owner, Body: body, ContentLength: body.length, ContentType: CONTENT_TYPE, ...deliveriesMetadata(deliveries), IfNoneMatch: "*",
      }),
      (out) => {
        this.stats.bytesUploaded += body.length;
        return this.etagOf(out.ETag, "PutObject");
      },
    );
  }

  async replace(body: Buffer, etag: string, deliveries: readonly string[] = []): Promise<string> {
    return this.calls.send<PutObjectCommandOutput, string>(
      "PutObject (replace)",
      new PutObjectCommand({
        Bucket: this.bucket, Key: this.key, ...this.owner, Body: body, ContentLength: body.length, ContentType: CONTENT_TYPE, ...deliveriesMetadata(deliveries), IfMatch: etag,
      }),
      (out) => {
        this.stats.bytesUploaded += body.length;
        return this.etagOf(out.ETag, "PutObject");
      },
      // S3 answers If-Match on a deleted key with 404 NoSuchKey: re-read (and create) like any lost race.
      { missingIsConflict: true },
    );
  }

  async appendMultipart(appendix: Buffer, etag: string, size: number, deliveries: readonly string[] = []): Promise<string> {
    return appendMultipart(this.calls, {
      bucket: this.bucket, key: this.key, contentType: CONTENT_TYPE, ...deliveriesMetadata(deliveries), warn: this.warn, expectedOwner: this.owner.ExpectedBucketOwner,
      uploaded: (bytes) => void (this.stats.bytesUploaded += bytes),
    }, appendix, etag, size);
  }
}
