/** Bounded retries: exponential backoff with full jitter, never past the invocation's deadline. */

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The time left to the run, from Lambda's getRemainingTimeInMillis (or unbounded). */
export interface Deadline {
  remainingMs(): number;
}

export const NO_DEADLINE: Deadline = { remainingMs: () => Number.POSITIVE_INFINITY };

export function deadlineFrom(getRemainingTimeInMillis: (() => number) | undefined): Deadline {
  if (typeof getRemainingTimeInMillis !== "function") return NO_DEADLINE;
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

/** Delay before retry number `retry` (1 = first retry): uniform in [0, min(cap, base * 2^(retry-1))]. */
export function backoffMs(retry: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(options.random() * ceiling);
}

/** Thrown when a retry loop stops because the invocation would time out first. */
export class DeadlineError extends Error {
  override readonly name = "DeadlineError";
}
