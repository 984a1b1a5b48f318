/**
 * Time, retries and backoff: every wait and every outside call is bounded by the invocation's
 * deadline, with a margin kept back so a failure can still be cleaned up and logged.
 */

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The time left to the run, from Lambda's getRemainingTimeInMillis (or unbounded). */
export interface Deadline {
  remainingMs(): number;
}

export const NO_DEADLINE: Deadline = { remainingMs: () => Number.POSITIVE_INFINITY };

/**
 * Time kept back at the end of every run to write the "run failed" line and return before Lambda's
 * own timeout (which would log nothing useful).
 */
export const LOG_MARGIN_MS = 500;
/** Time kept back, on top of LOG_MARGIN_MS, for AbortMultipartUpload after a failed append. */
export const ABORT_MARGIN_MS = 1500;

/**
 * Lambda's context when it has getRemainingTimeInMillis. Without one (a local run), a deadline of
 * `fallbackMs` from now, so nothing can wait forever.
 */
export function deadlineFrom(getRemainingTimeInMillis: (() => number) | undefined, fallbackMs: number, now: () => number = Date.now): Deadline {
  if (typeof getRemainingTimeInMillis !== "function") {
    const end = now() + fallbackMs;
    return { remainingMs: () => end - now() };
  }
  return {
    remainingMs: () => {
      const ms = Number(getRemainingTimeInMillis());
      return Number.isFinite(ms) ? ms : Number.POSITIVE_INFINITY;
    },
  };
}

export interface BackoffOptions {
  readonly baseMs: number;
  readonly capMs: number;
  /** [0, 1); Math.random in production, fixed in tests. */
  readonly random: () => number;
}

/** Delay before retry number `retry` (1 = first retry): uniform in [0, min(cap, base * 2^(retry-1))] ("full jitter"). */
export function backoffMs(retry: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(options.random() * ceiling);
}

/**
 * "Decorrelated jitter" (AWS Architecture Blog, Exponential Backoff And Jitter): the next delay is
 * uniform in [base, 3 x the previous delay], capped. N writers that lost the same race draw from a
 * range that widens with each loss, so they spread out instead of colliding again in lockstep,
 * and no delay exceeds the cap, so a writer keeps trying while time is left.
 */
export function decorrelatedJitterMs(previousMs: number, options: BackoffOptions): number {
  const low = options.baseMs;
  const high = Math.max(low, Math.min(options.capMs, 3 * Math.max(previousMs, low)));
  return Math.round(low + options.random() * (high - low));
}

/** Thrown when a retry loop or a call stops because the invocation would time out first. */
export class DeadlineError extends Error {
  override readonly name = "DeadlineError";
}

/**
 * Runs `call` with the time left minus `marginMs`: `call` gets an AbortSignal that fires then (pass
 * it to the SDK or undici, which destroy the socket), and the promise rejects then with a
 * DeadlineError whatever `call` does, e.g. a body stream that stalled after its headers. With no
 * deadline, `call` runs with no signal.
 */
export async function within<T>(deadline: Deadline, marginMs: number, what: string, call: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  const remaining = deadline.remainingMs();
  if (remaining === Number.POSITIVE_INFINITY) return call(undefined);
  const budget = Math.floor(remaining - marginMs);
  if (!(budget > 0)) throw new DeadlineError(`${what}: no time left for it (${Math.floor(remaining)} ms left in the run)`);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new DeadlineError(`${what}: no answer within ${budget} ms (the time left in the run)`));
      controller.abort();
    }, budget);
  });
  try {
    return await Promise.race([call(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** How a retry loop spends the run's time: jittered delays, and another attempt only while one fits. */
export interface RetryPolicy {
  readonly deadline: Deadline;
  /** A new attempt starts only with at least this much time left. */
  readonly minAttemptMs: number;
  readonly backoff: BackoffOptions;
  readonly sleep: Sleep;
  /** Failures to retry without a delay (a moment's inconsistency, not contention); at most MAX_AT_ONCE in a row. */
  readonly retryAtOnce?: (error: unknown) => boolean;
}

/** Retries in a row without a delay, before the jittered delays resume. */
export const MAX_AT_ONCE = 3;

/** A retry loop stopped: no time for another attempt. `last` is the last retryable failure, if any attempt ran. */
export class OutOfTimeError extends Error {
  override readonly name = "OutOfTimeError";
  constructor(message: string, readonly last: unknown, readonly attempts: number) {
    super(message);
  }
}

/**
 * Runs `attempt` until it succeeds, fails with an error `retryable` does not accept, or the run has
 * no time for another attempt (decorrelated jitter between attempts; never a fixed count). Throws
 * OutOfTimeError then, with the last retryable failure.
 */
export async function retryWithinDeadline<T>(attempt: (n: number) => Promise<T>, retryable: (error: unknown) => boolean, policy: RetryPolicy): Promise<{ value: T; attempts: number }> {
  let last: unknown;
  let delayMs = 0;
  let atOnce = 0;
  for (let n = 1; ; n++) {
    if (n > 1 && policy.retryAtOnce?.(last) && atOnce < MAX_AT_ONCE) {
      atOnce++;
    } else if (n > 1) {
      atOnce = 0;
      delayMs = decorrelatedJitterMs(delayMs, policy.backoff);
      if (policy.deadline.remainingMs() - delayMs < policy.minAttemptMs) return outOfTime(policy, last, n - 1);
      await policy.sleep(delayMs);
    }
    if (policy.deadline.remainingMs() < policy.minAttemptMs) return outOfTime(policy, last, n - 1);
    try {
      return { value: await attempt(n), attempts: n };
    } catch (error) {
      if (!retryable(error)) throw error;
      last = error;
    }
  }
}

function outOfTime(policy: RetryPolicy, last: unknown, attempts: number): never {
  const left = `${Math.max(0, Math.floor(policy.deadline.remainingMs()))} ms left, ${policy.minAttemptMs} ms needed for an attempt`;
  throw new OutOfTimeError(left, last, attempts);
}
