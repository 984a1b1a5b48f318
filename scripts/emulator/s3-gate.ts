/**
 * S3 conformance gate (a gateway middleware, see ./gateway.ts): enforces the conditional-write
 * rules of real S3 that moto 5.2.1 ignores, so that concurrent appends on the emulator behave as
 * they would on S3 (measured straight on moto: 20 concurrent multipart appends to one log land a
 * handful of entries, every stale complete is accepted; see __tests__/scripts/emulator/s3-gate.test.ts).
 *
 * Rules enforced here, as S3 answers them:
 * - CompleteMultipartUpload (and CopyObject onto a key) with `If-Match: <etag>`: when the key's
 *   current ETag differs, 412 PreconditionFailed (`<Condition>If-Match</Condition>`); when the key
 *   does not exist (or its current version is a delete marker), 404 NoSuchKey. With
 *   `If-None-Match: *` when the key exists: 412 PreconditionFailed (`If-None-Match`).
 *     https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 *       (#conditional-error-response: 412 on an ETag mismatch, 404 Not Found when there is no
 *       current object to match, 409 ConditionalRequestConflict on a concurrent conflicting write)
 *     https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html (If-Match,
 *       If-None-Match request headers: "If the ETag values do not match, the operation returns a
 *       412 Precondition Failed error")
 *     https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-requests.html
 *   The 404 for If-Match on a missing key is also what real S3 was observed to answer
 *   (https://github.com/minio/minio/issues/21526, https://github.com/versity/versitygw/issues/1709:
 *   `<Code>NoSuchKey</Code>` on PutObject and CompleteMultipartUpload); moto already answers it so
 *   on PutObject.
 * - UploadPartCopy (and CopyObject) with `x-amz-copy-source-if-match`, `-if-none-match`,
 *   `-if-modified-since`, `-if-unmodified-since`: evaluated against the source's current version
 *   (or the `?versionId=` named in `x-amz-copy-source`); a failed condition is 412
 *   PreconditionFailed (`<Condition>x-amz-copy-source-If-Match</Condition>` etc.), a missing
 *   source 404 NoSuchKey. S3's combination rules: if-match true + if-unmodified-since false copies;
 *   if-none-match false + if-modified-since true is 412 (a date in the future is ignored, RFC 9110).
 *     https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html
 *     https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
 *
 * Atomicity: S3 evaluates a condition and applies the write as one step. The gate does the same
 * for everything that passes through it: every write of an object (PutObject, CopyObject onto it,
 * CompleteMultipartUpload, DeleteObject, DeleteObjects) takes a per-bucket/key lock for its check
 * and its forward to moto, and a conditional copy holds its source's lock while it reads it. So
 * moto's own PutObject If-Match / If-None-Match checks become atomic too. Reads and unconditional
 * copies pass freely, different keys never wait for each other. Writes that bypass the gateway
 * (straight to moto) are not serialized.
 *
 * The gate reads the current ETag with its own HeadObject straight to moto (not through the
 * gateway), signed with the credentials its options give for the bucket: an administrator of the
 * bucket's account, since moto's IAM enforcement may be on. moto never answers 409
 * ConditionalRequestConflict, and with writes serialized there is no race left to answer it for;
 * that answer, and the other ways a real store misbehaves, come from the fault gate
 * (./s3-faults.ts), which sits in front of this one.
 *
 * Everything else passes through untouched: other services, reads, bucket calls, UploadPart,
 * Create/AbortMultipartUpload, subresources (?acl, ?tagging, ...). Requests are read by the one S3
 * request parser (./s3-request.ts), in path and virtual-host style.
 */
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { s3Error, type Gate, type GatewayReply, type GatewayRequest } from "./gateway";
import { bucketAdminClients, type BucketReader } from "./s3-admin";
import { classify, deleteObjectsKeys, header, isS3, parseCopySource, parseS3Target, type S3Target, type S3WriteOperation } from "./s3-request";

/** The writes and copies the gate understands; everything else is "other" and passes through. */
export type S3GateOperation = S3WriteOperation;

export interface S3GateDecision {
  readonly operation: S3GateOperation;
  readonly bucket: string;
  readonly key: string;
  /** The header that decided, e.g. `If-Match` or `x-amz-copy-source-If-Match`. */
  readonly condition: string;
  /** What the request asked for (an ETag, `*` or a date). */
  readonly expected: string;
  /** The object's current ETag, or `(missing)`. */
  readonly actual: string;
  /** 200 when forwarded to moto, else the status the gate answered. */
  readonly status: number;
}

export interface S3GateOptions {
  /** moto's endpoint: the gate reads ETags there directly, not through the gateway. */
  readonly upstream: string;
  /**
   * Credentials the gate's own HeadObject calls are signed with: an administrator of the bucket's
   * account (moto's IAM enforcement may be on). A function when buckets live in several accounts.
   */
  readonly readAs: BucketReader;
  /** Signing region of those calls. Default us-east-1. */
  readonly region?: string;
}

export interface S3Gate {
  readonly gate: Gate;
  /** Every conditional decision so far, newest last. */
  readonly decisions: S3GateDecision[];
  /** Conditional requests refused (412/404) and forwarded, so far. */
  stats(): { refused: number; forwarded: number };
}

/** A per-key mutex: callers of the same key run one at a time, in arrival order. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Waits for every key (taken in sorted order, so two callers never deadlock); returns the release. */
  async acquire(keys: readonly string[]): Promise<() => void> {
    const releases: Array<() => void> = [];
    for (const key of [...new Set(keys)].sort()) releases.push(await this.acquireOne(key));
    return () => {
      for (const release of releases.reverse()) release();
    };
  }

  /** Keys held or waited for right now. */
  get size(): number {
    return this.tails.size;
  }

  private async acquireOne(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolveMine) => (release = resolveMine));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}

const unquote = (etag: string) => etag.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1");

/** An If-Match / If-None-Match list (`"a", "b"` or `*`) against an ETag (quotes ignored, as S3 and moto do). */
export function etagMatches(condition: string, etag: string | undefined): boolean {
  if (etag === undefined) return false;
  return condition.split(",").some((c) => c.trim() === "*" || unquote(c) === unquote(etag));
}

const PRECONDITION_MESSAGE = "At least one of the pre-conditions you specified did not hold";

interface Current {
  readonly exists: boolean;
  readonly etag?: string;
  readonly lastModified?: Date;
}

export function s3Gate(options: S3GateOptions): S3Gate {
  const mutex = new KeyedMutex();
  const decisions: S3GateDecision[] = [];
  let refused = 0;
  let forwarded = 0;

  const clientFor = bucketAdminClients(options);

  /** The object's current ETag and date, by the gate's own HeadObject to moto. */
  const current = async (bucket: string, key: string, versionId?: string): Promise<Current> => {
    try {
      const head = await (await clientFor(bucket)).send(new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
      return { exists: true, etag: head.ETag, lastModified: head.LastModified };
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.$metadata?.httpStatusCode === 404 || e.name === "NotFound" || e.name === "NoSuchKey") return { exists: false };
      throw new Error(
        `emulator S3 gate: HeadObject s3://${bucket}/${key} with the gate's credentials failed (HTTP ${e.$metadata?.httpStatusCode} ${e.name}: ${(error as Error).message}); ` +
          `give the gate an administrator of the bucket's account (S3GateOptions.readAs)`,
      );
    }
  };

  const decide = (decision: S3GateDecision, reply?: GatewayReply): GatewayReply | undefined => {
    decisions.push(decision);
    if (reply) refused++;
    return reply;
  };

  /** The destination's If-Match / If-None-Match (CompleteMultipartUpload, CopyObject). */
  const checkDestination = async (req: GatewayRequest, operation: S3GateOperation, target: S3Target): Promise<GatewayReply | undefined> => {
    const ifMatch = header(req, "if-match");
    const ifNoneMatch = header(req, "if-none-match");
    if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
    const base = { operation, bucket: target.bucket, key: target.key };
    const now = await current(target.bucket, target.key);
    const actual = now.etag ?? "(missing)";
    if (ifMatch !== undefined) {
      if (!now.exists) {
        return decide({ ...base, condition: "If-Match", expected: ifMatch, actual, status: 404 },
          s3Error(404, "NoSuchKey", "The specified key does not exist.", { Key: target.key }));
      }
      if (!etagMatches(ifMatch, now.etag)) {
        return decide({ ...base, condition: "If-Match", expected: ifMatch, actual, status: 412 },
          s3Error(412, "PreconditionFailed", PRECONDITION_MESSAGE, { Condition: "If-Match" }));
      }
    }
    if (ifNoneMatch !== undefined && now.exists && etagMatches(ifNoneMatch, now.etag)) {
      return decide({ ...base, condition: "If-None-Match", expected: ifNoneMatch, actual, status: 412 },
        s3Error(412, "PreconditionFailed", PRECONDITION_MESSAGE, { Condition: "If-None-Match" }));
    }
    decide({ ...base, condition: ifMatch !== undefined ? "If-Match" : "If-None-Match", expected: ifMatch ?? ifNoneMatch ?? "", actual, status: 200 });
    return undefined;
  };

  /** The x-amz-copy-source-if-* conditions (UploadPartCopy, CopyObject). */
  const checkSource = async (req: GatewayRequest, operation: S3GateOperation, target: S3Target, source: NonNullable<ReturnType<typeof parseCopySource>>): Promise<GatewayReply | undefined> => {
    const ifMatch = header(req, "x-amz-copy-source-if-match");
    const ifNoneMatch = header(req, "x-amz-copy-source-if-none-match");
    const ifModifiedSince = header(req, "x-amz-copy-source-if-modified-since");
    const ifUnmodifiedSince = header(req, "x-amz-copy-source-if-unmodified-since");
    if ([ifMatch, ifNoneMatch, ifModifiedSince, ifUnmodifiedSince].every((v) => v === undefined)) return undefined;
    const now = await current(source.bucket, source.key, source.versionId);
    const actual = now.etag ?? "(missing)";
    const base = { operation, bucket: target.bucket, key: target.key, actual };
    const expected = ifMatch ?? ifNoneMatch ?? ifUnmodifiedSince ?? ifModifiedSince ?? "";
    if (!now.exists) {
      return decide({ ...base, condition: "x-amz-copy-source", expected, status: 404 },
        s3Error(404, "NoSuchKey", "The specified key does not exist.", { Key: source.key }));
    }
    const seconds = (d: Date | undefined) => Math.floor((d?.getTime() ?? 0) / 1000);
    const date = (v: string) => {
      const t = Date.parse(v);
      return Number.isNaN(t) ? undefined : Math.floor(t / 1000);
    };
    const fail = (condition: string, value: string) =>
      decide({ ...base, condition, expected: value, status: 412 }, s3Error(412, "PreconditionFailed", PRECONDITION_MESSAGE, { Condition: condition }));
    if (ifMatch !== undefined) {
      if (!etagMatches(ifMatch, now.etag)) return fail("x-amz-copy-source-If-Match", ifMatch);
    } else if (ifUnmodifiedSince !== undefined) {
      const limit = date(ifUnmodifiedSince);
      if (limit !== undefined && seconds(now.lastModified) > limit) return fail("x-amz-copy-source-If-Unmodified-Since", ifUnmodifiedSince);
    }
    if (ifNoneMatch !== undefined) {
      if (etagMatches(ifNoneMatch, now.etag)) return fail("x-amz-copy-source-If-None-Match", ifNoneMatch);
    } else if (ifModifiedSince !== undefined) {
      const since = date(ifModifiedSince);
      const future = since !== undefined && since > Date.now() / 1000;
      if (since !== undefined && !future && seconds(now.lastModified) <= since) return fail("x-amz-copy-source-If-Modified-Since", ifModifiedSince);
    }
    decide({ ...base, condition: ifMatch !== undefined ? "x-amz-copy-source-If-Match" : "x-amz-copy-source", expected, status: 200 });
    return undefined;
  };

  const lockKey = (bucket: string, key: string) => `${bucket}\n${key}`;

  const gate: Gate = async (req, next) => {
    if (!isS3(req)) return next();
    const target = parseS3Target(req.url, header(req, "host"));
    if (!target) return next();
    const operation = classify(req, target);
    if (operation === "other") return next();

    const copySourceHeader = header(req, "x-amz-copy-source");
    const source = copySourceHeader === undefined ? undefined : parseCopySource(copySourceHeader);
    const conditionalSource = source !== undefined && Object.keys(req.headers).some((h) => h.startsWith("x-amz-copy-source-if-"));
    const keys: string[] = [];
    if (operation === "DeleteObjects") keys.push(...deleteObjectsKeys(req.body).map((k) => lockKey(target.bucket, k)));
    else if (operation !== "UploadPartCopy") keys.push(lockKey(target.bucket, target.key));
    if (conditionalSource && source) keys.push(lockKey(source.bucket, source.key));
    if (keys.length === 0) return next(); // an unconditional UploadPartCopy: a read of its source

    const release = await mutex.acquire(keys);
    try {
      const conditional = header(req, "if-match") !== undefined || header(req, "if-none-match") !== undefined;
      if (source && conditionalSource) {
        const refusal = await checkSource(req, operation, target, source);
        if (refusal) return refusal;
      }
      if (operation === "CompleteMultipartUpload" || operation === "CopyObject") {
        const refusal = await checkDestination(req, operation, target);
        if (refusal) return refusal;
      }
      if (conditional || conditionalSource) forwarded++;
      // PutObject's and DeleteObject's own conditions are moto's (it implements them); under the
      // lock its check and its write are one step.
      return await next();
    } finally {
      release();
    }
  };

  return {
    gate,
    decisions,
    stats: () => ({ refused, forwarded }),
  };
}
