/**
 * Appends one entry to the log without ever losing another one.
 *
 * Each attempt reads the object's tail (one ranged GET: ETag, size, last bytes) and then:
 * - refuses a foreign object (one that does not start with the log's header), writing nothing;
 * - stops if the entry's second is already in the tail (at-least-once delivery, a retried write);
 * - refuses a fix far older than the log's newest entry (StalePositionError: the caller asks the
 *   next ISS source);
 * - writes conditionally on that ETag:
 *   - missing object: create it with the header, `If-None-Match: *`;
 *   - below the threshold: read it whole (pinned by `If-Match`), put it back with the entry, `If-Match`;
 *   - at or above it: multipart append (server-side copy + the entry as last part), `If-Match`.
 * A lost race (412/409, or 404 when the log was deleted meanwhile) re-reads and retries, with
 * decorrelated jitter, for as long as the run has time for another attempt: never a fixed count.
 * The body written is always complete: it is built in memory first and sent with its length.
 *
 * A read denied with 403 (S3's answer for a missing key to a role without s3:ListBucket, or for an
 * object the role may not read) is resolved by a conditional create: created means the log was
 * missing; 412 means it exists and may not be read, an AccessDenied naming the missing grant.
 */
import { formatEntry, formatUtc, HEAD_BYTES, isDuplicate, isLogHead, LOG_HEADER, newestEntry, orderProblem, textToAppend, type IssPosition } from "./core";
import { ConflictError, ReadDeniedError, StoreAccessDeniedError, type ObjectStore } from "./object-store";
import { ABORT_MARGIN_MS, DeadlineError, decorrelatedJitterMs, LOG_MARGIN_MS, NO_DEADLINE, realSleep, type Deadline, type Sleep } from "./retry";

export type AppendPath = "created" | "read-modify-write" | "multipart-append" | "duplicate";

export interface AppendResult {
  readonly path: AppendPath;
  /** Bytes added to the object (0 for a duplicate). */
  readonly bytesAppended: number;
  /** Read-then-write rounds (1 when no race was lost). */
  readonly attempts: number;
  /** Size of the object after the run. */
  readonly objectBytes: number;
}

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
}

/** The run ran out of time while other writers kept winning the race; nothing was written. */
export class AppendConflictError extends Error {
  override readonly name = "AppendConflictError";
}

/** Something other than this log is at the key; nothing was written. */
export class ForeignObjectError extends Error {
  override readonly name = "ForeignObjectError";
}

/** The fix is far older than the log's newest entry; nothing was written. */
export class StalePositionError extends Error {
  override readonly name = "StalePositionError";
  constructor(
    message: string,
    /** The log's newest entry (unix seconds). */
    readonly newest: number,
  ) {
    super(message);
  }
}

export const APPEND_DEFAULTS = {
  tailBytes: 1024,
  backoff: { baseMs: 50, capMs: 2000 },
  /** The calls' own margin (abort + log) and about one round of S3 calls. */
  minAttemptMs: LOG_MARGIN_MS + ABORT_MARGIN_MS + 1000,
} as const;

export async function appendEntry(store: ObjectStore, position: IssPosition, options: AppendOptions): Promise<AppendResult> {
  const entry = formatEntry(position);
  const tailBytes = options.tailBytes ?? APPEND_DEFAULTS.tailBytes;
  const deadline = options.deadline ?? NO_DEADLINE;
  const minAttemptMs = options.minAttemptMs ?? APPEND_DEFAULTS.minAttemptMs;
  const sleep = options.sleep ?? realSleep;
  const backoff = { ...APPEND_DEFAULTS.backoff, ...options.backoff, random: options.random ?? Math.random };
  let lastConflict: ConflictError | undefined;
  let delayMs = 0;
  /** A create after a denied read got 412: the object exists. */
  let existsButDenied = false;

  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) {
      delayMs = decorrelatedJitterMs(delayMs, backoff);
      if (deadline.remainingMs() - delayMs < minAttemptMs) break;
      await sleep(delayMs);
    }
    if (deadline.remainingMs() < minAttemptMs) break;
    try {
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
        const body = Buffer.from(LOG_HEADER + entry, "utf8");
        try {
          await store.create(body);
        } catch (error) {
          if (!(existsButDenied && error instanceof StoreAccessDeniedError)) throw error;
          throw new StoreAccessDeniedError(`${error.message} (the read was denied too: GetObject answered 403)`, error);
        }
        return { path: "created", bytesAppended: body.length, attempts: attempt, objectBytes: body.length };
      }
      existsButDenied = false;
      const multipart = current.size >= options.multipartThresholdBytes;
      const whole = multipart || current.size <= current.tail.length ? undefined : await store.readWhole(current.etag, current.size);
      const head = multipart ? await store.readHead(HEAD_BYTES, current.etag) : (whole ?? current.tail);
      if (!isLogHead(head.subarray(0, HEAD_BYTES).toString("utf8"))) {
        throw new ForeignObjectError(
          `${store.location} holds something other than this log (it starts with ${JSON.stringify(head.subarray(0, 24).toString("latin1"))}, ` +
            `not the "ISS Location Logs" header); refusing to append to it, nothing was written. Move that object away or set OBJECT_KEY to another key.`,
        );
      }
      const tail = current.tail.toString("utf8");
      if (isDuplicate(tail, position)) {
        return { path: "duplicate", bytesAppended: 0, attempts: attempt, objectBytes: current.size };
      }
      const newest = newestEntry(tail);
      const stale = orderProblem(position, newest);
      if (stale !== undefined && newest !== undefined) throw new StalePositionError(`${stale}; nothing written to ${store.location}`, newest);
      const appendix = Buffer.from(textToAppend(tail, current.size, entry), "utf8");
      if (multipart) {
        await store.appendMultipart(appendix, current.etag, current.size);
        return { path: "multipart-append", bytesAppended: appendix.length, attempts: attempt, objectBytes: current.size + appendix.length };
      }
      const before = whole ?? current.tail;
      await store.replace(Buffer.concat([before, appendix]), current.etag);
      return { path: "read-modify-write", bytesAppended: appendix.length, attempts: attempt, objectBytes: before.length + appendix.length };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      lastConflict = error;
    }
  }
  const left = `${Math.max(0, Math.floor(deadline.remainingMs()))} ms left, ${minAttemptMs} ms needed for an attempt`;
  if (lastConflict) {
    throw new AppendConflictError(
      `Out of time after losing the race to concurrent writers (${left}; last: ${lastConflict.message}); the entry for ` +
        `${formatUtc(position.timestamp)} was not written`,
    );
  }
  throw new DeadlineError(`Out of time before an append attempt (${left}); the entry was not written`);
}
