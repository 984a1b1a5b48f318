/**
 * S3's answers mapped to the store's errors (./store-errors.ts), for every call the store makes,
 * each within the time left in the run (an abort signal that destroys the socket):
 * - 412 / 409 (and 404 where the caller says a missing object means someone else's write): ConflictError;
 * - 500, 503 SlowDown, throttling, a reset or dropped connection: TransientStoreError;
 * - a refused session (expired, revoked, unknown key) or 403: StoreAccessDeniedError (ReadDeniedError for a read);
 * - anything else is passed on as the SDK raised it.
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { isTransient, nameOf, statusOf } from "./aws-errors";
import { within, type Deadline } from "./retry";
import { ConflictError, ReadDeniedError, StoreAccessDeniedError, TransientStoreError } from "./store-errors";

/** The part of S3Client used here (tests pass a mocked client). */
export type S3Sender = Pick<S3Client, "send">;

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
export function isConflict(error: unknown): boolean {
  const status = statusOf(error);
  const name = nameOf(error);
  return status === 412 || status === 409 || name === "PreconditionFailed" || name === "ConditionalRequestConflict";
}

/** 404 for the object itself (not for the bucket or the upload). */
export function isMissing(error: unknown): boolean {
  const name = nameOf(error);
  return name === "NoSuchKey" || (statusOf(error) === 404 && name !== "NoSuchBucket" && name !== "NoSuchUpload");
}

export interface CallHow {
  /** A read: a 403 is ReadDeniedError (the object may be missing: S3 hides absence from a caller without s3:ListBucket). */
  readonly read?: boolean;
  /** A 404 NoSuchKey means the object was deleted since it was read: a conflict. */
  readonly missingIsConflict?: boolean;
  /** Time kept back from this call, instead of the store's. */
  readonly marginMs?: number;
}

/** The calls of one store: one object, one deadline, one margin kept back from every call. */
export class S3Calls {
  constructor(
    private readonly s3: S3Sender,
    private readonly deadline: Deadline,
    private readonly marginMs: number,
    /** `s3://bucket/key`, for messages. */
    readonly location: string,
    /** The object's ARN, for messages that name a grant. */
    readonly arn: string,
  ) {}

  /** Time left in the run, for callers that size their own margins. */
  remainingMs(): number {
    return this.deadline.remainingMs();
  }

  /**
   * One S3 call, and the reading of its answer, within the time left: `use` turns the output into
   * the result (a body read inside it is bounded too).
   */
  async send<O, T>(action: string, command: object, use: (output: O, signal: AbortSignal | undefined) => Promise<T> | T, how: CallHow = {}): Promise<T> {
    return within(this.deadline, how.marginMs ?? this.marginMs, `${action} on ${this.location}`, async (signal) => {
      let output: O;
      try {
        output = (await this.s3.send(command as never, { abortSignal: signal })) as O;
      } catch (error) {
        throw this.mapped(action, error, how);
      }
      return use(output, signal);
    });
  }

  private mapped(action: string, error: unknown, how: CallHow): unknown {
    const name = nameOf(error) || String(statusOf(error));
    if (isConflict(error) || (how.missingIsConflict && isMissing(error))) {
      return new ConflictError(`${action} on ${this.location}: ${name}${isMissing(error) ? " (the object was deleted meanwhile)" : ""}`, error);
    }
    const code = nameOf(error);
    if (SESSION_REJECTED.has(code) || statusOf(error) === 403) {
      const detail = `${name}: ${action} on ${this.location} (${(error as Error).message})`;
      // Expired, revoked or unknown credentials, rather than a policy that says no.
      const sessionRefused = SESSION_REJECTED.has(code) && code !== "AccessDenied";
      if (!sessionRefused && how.read) return new ReadDeniedError(detail, error);
      return new StoreAccessDeniedError(
        sessionRefused
          ? `${detail}. S3 no longer accepts the assumed-role session (expired or revoked); the cached session is dropped and the next run assumes the role again.`
          : `${detail}. Likely causes: the access role lacks s3:GetObject/s3:PutObject/s3:AbortMultipartUpload on ${this.arn}, ` +
              `a bucket policy or KMS key policy denies it, or the bucket belongs to another account than the target's (ExpectedBucketOwner). The cached session is dropped.`,
        error,
      );
    }
    if (isTransient(error)) return new TransientStoreError(`${action} on ${this.location}: ${name}: ${(error as Error)?.message ?? ""}`.trimEnd(), error);
    return error;
  }
}
