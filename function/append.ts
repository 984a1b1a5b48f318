/**
 * Appends one entry to the log without ever losing another one.
 *
 * Each attempt reads the object's tail (one ranged GET: ETag, size, last bytes), stops if the
 * entry is already last (at-least-once delivery), then writes conditionally on that ETag:
 * - missing object: create it with the header, `If-None-Match: *`;
 * - below the threshold: read it whole (pinned by `If-Match`), put it back with the entry, `If-Match`;
 * - at or above it: multipart append (server-side copy + the entry as last part), `If-Match`.
 * A lost race (412/409) re-reads and retries, a bounded number of times with jittered backoff,
 * never past the deadline. The body written is always complete: it is built in memory first and
 * sent with its length and a CRC32 checksum.
 */
import { formatEntry, isDuplicate, LOG_HEADER, textToAppend, type IssPosition } from "./core";
import { ConflictError, type ObjectStore } from "./object-store";
import { backoffMs, DeadlineError, NO_DEADLINE, realSleep, type Deadline, type Sleep } from "./retry";

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
  /** Default 6. */
  readonly maxAttempts?: number;
  readonly backoff?: { readonly baseMs: number; readonly capMs: number };
  readonly random?: () => number;
  readonly sleep?: Sleep;
  readonly deadline?: Deadline;
  /** A new attempt starts only with at least this much time left. Default 3000. */
  readonly minAttemptMs?: number;
}

export class AppendConflictError extends Error {
  override readonly name = "AppendConflictError";
}

export const APPEND_DEFAULTS = {
  tailBytes: 1024,
  maxAttempts: 6,
  backoff: { baseMs: 100, capMs: 2000 },
  minAttemptMs: 3000,
} as const;

export async function appendEntry(store: ObjectStore, position: IssPosition, options: AppendOptions): Promise<AppendResult> {
  const entry = formatEntry(position);
  const tailBytes = options.tailBytes ?? APPEND_DEFAULTS.tailBytes;
  const maxAttempts = Math.max(1, options.maxAttempts ?? APPEND_DEFAULTS.maxAttempts);
  const deadline = options.deadline ?? NO_DEADLINE;
  const minAttemptMs = options.minAttemptMs ?? APPEND_DEFAULTS.minAttemptMs;
  const sleep = options.sleep ?? realSleep;
  const backoff = { ...APPEND_DEFAULTS.backoff, ...options.backoff, random: options.random ?? Math.random };
  let lastConflict: ConflictError | undefined;

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (attempt > 1) {
      await sleep(backoffMs(attempt - 1, backoff));
    }
    if (deadline.remainingMs() < minAttemptMs) {
      throw new DeadlineError(
        `Out of time after ${attempt - 1} append attempt(s) (${deadline.remainingMs()} ms left); the entry was not written` +
          (lastConflict ? ` (last conflict: ${lastConflict.message})` : ""),
      );
    }
    try {
      const current = await store.readTail(tailBytes);
      if (!current.exists) {
        const body = Buffer.from(LOG_HEADER + entry, "utf8");
        await store.create(body);
        return { path: "created", bytesAppended: body.length, attempts: attempt, objectBytes: body.length };
      }
      const tail = current.tail.toString("utf8");
      if (isDuplicate(tail, position)) {
        return { path: "duplicate", bytesAppended: 0, attempts: attempt, objectBytes: current.size };
      }
      const appendix = Buffer.from(textToAppend(tail, current.size, entry), "utf8");
      if (current.size >= options.multipartThresholdBytes) {
        await store.appendMultipart(appendix, current.etag, current.size);
        return { path: "multipart-append", bytesAppended: appendix.length, attempts: attempt, objectBytes: current.size + appendix.length };
      }
      const whole = current.size <= current.tail.length ? current.tail : await store.readWhole(current.etag, current.size);
      await store.replace(Buffer.concat([whole, appendix]), current.etag);
      return { path: "read-modify-write", bytesAppended: appendix.length, attempts: attempt, objectBytes: whole.length + appendix.length };
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      lastConflict = error;
    }
  }
  throw new AppendConflictError(
    `Gave up after ${maxAttempts} attempts: the object kept changing under concurrent writers ` +
      `(last: ${lastConflict?.message}); the entry was not written`,
  );
}
