/**
 * Appends one entry to one log without ever losing another one.
 *
 * Each attempt reads the object's tail (one ranged GET: ETag, size, last bytes), lets the core
 * decide (./core.ts planAppend: a duplicate, a fix too far behind the log, or the text to add) and
 * writes conditionally on that ETag:
 * - missing object: create it with the header, `If-None-Match: *`;
 * - below the threshold: read it whole (pinned by `If-Match`, its bytes checked against the ETag),
 *   put it back with the entry, `If-Match`;
 * - at or above it: multipart append (server-side copy + the entry as last part), `If-Match`.
 * A foreign object (one that does not start with the log's header) is refused, writing nothing.
 * A lost race (412/409, a 404 when the log was deleted meanwhile, bytes that disagree with their
 * ETag) and a transient S3 failure (5xx, SlowDown, a lost answer) re-read and retry with
 * decorrelated jitter, for as long as the run has time for another attempt: never a fixed count.
 * A write whose answer was lost may have landed: the next read finds the entry, a duplicate.
 *
 * A read denied with 403 (S3's answer for a missing key to a role without s3:ListBucket, or for an
 * object the role may not read) is resolved by a conditional create: created means the log was
 * missing; 412 means it exists and may not be read, an AccessDenied naming the missing grant.
 */
import { formatEntry, formatUtc, HEAD_BYTES, isLogHead, LOG_HEADER, planAppend, rewriteProblem, watermarkOf, withDelivery, type IssPosition, type LogWatermark } from "./core";
import type { ObjectStore } from "./object-store";
import { ABORT_MARGIN_MS, DeadlineError, LOG_MARGIN_MS, NO_DEADLINE, OutOfTimeError, realSleep, retryWithinDeadline, type Deadline, type Sleep } from "./retry";
import { ConflictError, InconsistentReadError, ReadDeniedError, StoreAccessDeniedError, TransientStoreError } from "./store-errors";

export type AppendPath = "created" | "read-modify-write" | "multipart-append" | "duplicate";

export type AppendResult =
  | {
      readonly path: AppendPath;
      /** Bytes added to the object (0 for a duplicate). */
      readonly bytesAppended: number;
      /** Read-then-write rounds (1 when no race was lost). */
      readonly attempts: number;
      /** Size of the object after the run. */
      readonly objectBytes: number;
      /** What the log is after the run, for the next run's check (AppendOptions.seen). */
      readonly watermark: LogWatermark;
    }
  | {
      /** The fix is far behind the log's newest entry: nothing written; another source's fix may do. */
      readonly path: "stale";
      readonly reason: string;
      /** The log's newest entry (unix seconds). */
      readonly newest: number;
      readonly attempts: number;
      readonly objectBytes: number;
    };

export interface AppendOptions {
  /** Objects of this size or more are appended by multipart copy. */
  readonly multipartThresholdBytes: number;
  /** Bytes of tail read for the duplicate check. Default 1024 (an entry is ~60 bytes). */
  readonly tailBytes?: number;
  /** Decorrelated jitter between attempts. Default 50..2000 ms. */
  readonly backoff?: { readonly baseMs: number; readonly capMs: number };
  readonly random?: () => number;
  readonly sleep?: Sleep;
  /** The run's deadline; attempts go on while it leaves time for one more. Default: none. */
  readonly deadline?: Deadline;
  /** A new attempt starts only with at least this much time left. Default APPEND_DEFAULTS.minAttemptMs. */
  readonly minAttemptMs?: number;
  /** What an earlier run saw of this log: a log that is not it plus appends is refused (LogRewrittenError). */
  readonly seen?: LogWatermark;
  /** The run's delivery (the scheduled event's id): a log that records it has this run's entry already (a retry). */
  readonly deliveryId?: string;
}

/** The run ran out of time while other writers kept winning the race; nothing was written. */
export class AppendConflictError extends Error {
  override readonly name = "AppendConflictError";
}

/** The run ran out of time while S3 kept failing (5xx, SlowDown); nothing was written. */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}

/** The log is not what an earlier run saw plus appends (shorter, another beginning, other bytes): nothing was written. */
export class LogRewrittenError extends Error {
  override readonly name = "LogRewrittenError";
}

/** Something other than this log is at the key; nothing was written. */
export class ForeignObjectError extends Error {
  override readonly name = "ForeignObjectError";
}

export const APPEND_DEFAULTS = {
  tailBytes: 1024,
  backoff: { baseMs: 50, capMs: 2000 },
  /** The calls' own margin (abort + log) and about one round of S3 calls. */
  minAttemptMs: LOG_MARGIN_MS + ABORT_MARGIN_MS + 1000,
} as const;

const retryable = (error: unknown) => error instanceof ConflictError || error instanceof TransientStoreError;

export async function appendEntry(store: ObjectStore, position: IssPosition, options: AppendOptions): Promise<AppendResult> {
  const tailBytes = options.tailBytes ?? APPEND_DEFAULTS.tailBytes;
  /** A create after a denied read got 412: the object exists. */
  let existsButDenied = false;
  /** The last attempt found the log rewritten (one more read tells a moment's inconsistency from a rewrite). */
  let rewrittenOnce = false;
  const mark = (size: number, head: Buffer, tail: Buffer) => watermarkOf(size, head, tail, tailBytes);

  const attempt = async (attempts: number): Promise<AppendResult> => {
    let current;
    try {
      current = await store.readTail(tailBytes);
    } catch (error) {
      if (!(error instanceof ReadDeniedError)) throw error;
      if (existsButDenied) {
        throw new StoreAccessDeniedError(
          `AccessDenied: the access role may not read ${store.location}, which exists (GetObject answered 403 and a create ` +
            `with If-None-Match: * answered 412). Grant s3:GetObject on ${store.arn} to the access role. The log was not changed.`,
          error,
        );
      }
      // Missing (S3 hides absence from a role without s3:ListBucket) or unreadable: create tells.
      current = { exists: false as const };
      existsButDenied = true;
    }
    if (!current.exists) {
      const body = Buffer.from(LOG_HEADER + formatEntry(position), "utf8");
      try {
        await store.create(body, withDelivery([], options.deliveryId));
      } catch (error) {
        if (!(existsButDenied && error instanceof StoreAccessDeniedError)) throw error;
        throw new StoreAccessDeniedError(`${error.message} (the read was denied too: GetObject answered 403)`, error);
      }
      return { path: "created", bytesAppended: body.length, attempts, objectBytes: body.length, watermark: mark(body.length, body, body) };
    }
    existsButDenied = false;
    const multipart = current.size >= options.multipartThresholdBytes;
    const whole = multipart || current.size <= current.tail.length ? undefined : await store.readWhole(current.etag, current.size);
    let head = whole ?? current.tail;
    if (multipart) {
      const read = await store.readHead(HEAD_BYTES, current.etag);
      // Both reads are of the version with this ETag: their sizes agree, or one of them was of another version.
      if (read.size !== current.size) {
        throw new InconsistentReadError(`GetObject on ${store.location}: the tail and the head of ETag ${current.etag} state ${current.size} and ${read.size} bytes: read again`);
      }
      head = read.head;
    }
    if (!isLogHead(head.subarray(0, HEAD_BYTES).toString("utf8"))) {
      throw new ForeignObjectError(
        `${store.location} holds something other than this log (it starts with ${JSON.stringify(head.subarray(0, 24).toString("latin1"))}, ` +
          `not the "ISS Location Logs" header); refusing to append to it, nothing was written. Move that object away or set OBJECT_KEY to another key.`,
      );
    }
    const rewritten = options.seen && rewriteProblem(options.seen, current.size, head, current.tail);
    if (rewritten) {
      if (!rewrittenOnce) {
        rewrittenOnce = true;
        throw new InconsistentReadError(`${store.location}: ${rewritten}: read again`);
      }
      throw new LogRewrittenError(
        `${store.location} was rewritten or cut: ${rewritten}. An append-only log never does that; refusing to append, nothing was written. ` +
          "Compare its versions (aws s3api list-object-versions, with account B's credentials) and run npm run doctor; restore the genuine version before the tracker writes again.",
      );
    }
    rewrittenOnce = false;
    const plan = planAppend(current.tail.toString("utf8"), current.size, position, { id: options.deliveryId, recorded: current.deliveries });
    if (plan.kind === "duplicate") return { path: "duplicate", bytesAppended: 0, attempts, objectBytes: current.size, watermark: mark(current.size, head, current.tail) };
    if (plan.kind === "stale") return { path: "stale", reason: `${plan.reason}; nothing written to ${store.location}`, newest: plan.newest, attempts, objectBytes: current.size };
    const appendix = Buffer.from(plan.text, "utf8");
    const deliveries = withDelivery(current.deliveries, options.deliveryId);
    if (multipart) {
      await store.appendMultipart(appendix, current.etag, current.size, deliveries);
      const size = current.size + appendix.length;
      return { path: "multipart-append", bytesAppended: appendix.length, attempts, objectBytes: size, watermark: mark(size, head, Buffer.concat([current.tail, appendix])) };
    }
    const after = Buffer.concat([whole ?? current.tail, appendix]);
    await store.replace(after, current.etag, deliveries);
    return { path: "read-modify-write", bytesAppended: appendix.length, attempts, objectBytes: after.length, watermark: mark(after.length, after, after) };
  };

  try {
    return (await retryWithinDeadline(attempt, retryable, {
      deadline: options.deadline ?? NO_DEADLINE,
      minAttemptMs: options.minAttemptMs ?? APPEND_DEFAULTS.minAttemptMs,
      backoff: { ...APPEND_DEFAULTS.backoff, ...options.backoff, random: options.random ?? Math.random },
      sleep: options.sleep ?? realSleep,
      retryAtOnce: (error) => error instanceof InconsistentReadError,
    })).value;
  } catch (error) {
    if (!(error instanceof OutOfTimeError)) throw error;
    const entry = `the entry for ${formatUtc(position.timestamp)} was not written`;
    if (error.last instanceof ConflictError) {
      throw new AppendConflictError(`Out of time after losing the race to concurrent writers (${error.message}; last: ${error.last.message}); ${entry}`);
    }
    if (error.last instanceof TransientStoreError) {
      throw new StoreUnavailableError(`Out of time while S3 kept failing (${error.message}; last: ${error.last.message}); ${entry}`);
    }
    throw new DeadlineError(`Out of time before an append attempt (${error.message}); the entry was not written`);
  }
}
