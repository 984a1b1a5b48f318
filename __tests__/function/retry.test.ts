import { backoffMs, DeadlineError, deadlineFrom, decorrelatedJitterMs, MAX_AT_ONCE, NO_DEADLINE, OutOfTimeError, type RetryPolicy, retryWithinDeadline, within } from "../../function/retry";

describe("backoff", () => {
  it("full jitter: uniform in [0, min(cap, base * 2^(retry-1))]", () => {
    expect(backoffMs(1, { baseMs: 250, capMs: 1000, random: () => 0.5 })).toBe(125);
    expect(backoffMs(5, { baseMs: 250, capMs: 1000, random: () => 0.999 })).toBe(999);
  });

  it("decorrelated jitter: in [base, min(cap, 3 x previous)], so it grows while writers keep losing and never passes the cap", () => {
    const options = (r: number) => ({ baseMs: 50, capMs: 2000, random: () => r });
    expect(decorrelatedJitterMs(0, options(0))).toBe(50);
    expect(decorrelatedJitterMs(0, options(1))).toBe(150);
    expect(decorrelatedJitterMs(400, options(1))).toBe(1200);
    expect(decorrelatedJitterMs(1500, options(1))).toBe(2000);
    expect(decorrelatedJitterMs(1500, options(0))).toBe(50);
  });

  it("spreads N writers that lost the same race (in lockstep they would all retry in one instant)", () => {
    // 20 writers, each drawing from a fixed-seed generator, after their 4th loss in a row.
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const delays = Array.from({ length: 20 }, () => {
      let d = 0;
      for (let i = 0; i < 4; i++) d = decorrelatedJitterMs(d, { baseMs: 50, capMs: 2000, random });
      return d;
    });
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(1000);
    expect(new Set(delays.map((d) => Math.floor(d / 100))).size).toBeGreaterThanOrEqual(8);
    expect(Math.max(...delays)).toBeLessThanOrEqual(2000);
  });
});

describe("deadlines", () => {
  it("follows Lambda's getRemainingTimeInMillis", () => {
    let left = 5000;
    const deadline = deadlineFrom(() => left, 30_000);
    expect(deadline.remainingMs()).toBe(5000);
    left = 10;
    expect(deadline.remainingMs()).toBe(10);
  });

  it("gives a run without Lambda's context (a local run) the fallback, so nothing waits forever", () => {
    let clock = 1000;
    const deadline = deadlineFrom(undefined, 30_000, () => clock);
    expect(deadline.remainingMs()).toBe(30_000);
    clock += 29_000;
    expect(deadline.remainingMs()).toBe(1000);
  });
});

describe("within: every call gets the time left minus a margin", () => {
  it("passes an abort signal that fires when only the margin is left, and rejects then with a DeadlineError", async () => {
    let signal: AbortSignal | undefined;
    const started = Date.now();
    const error = await within({ remainingMs: () => 250 }, 100, "GetObject on s3://b/k", (s) => {
      signal = s;
      return new Promise<never>(() => undefined); // a call that never ends by itself
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadlineError);
    expect((error as Error).message).toBe("GetObject on s3://b/k: no answer within 150 ms (the time left in the run)");
    expect(signal?.aborted).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("refuses to start a call when the margin is all that is left", async () => {
    const call = jest.fn();
    await expect(within({ remainingMs: () => 100 }, 100, "PutObject", call)).rejects.toThrow("PutObject: no time left for it (100 ms left in the run)");
    expect(call).not.toHaveBeenCalled();
  });

  it("returns the call's result (or its error) and leaves no timer behind", async () => {
    await expect(within({ remainingMs: () => 60_000 }, 100, "x", async (s) => (s ? "signal" : "none"))).resolves.toBe("signal");
    await expect(within({ remainingMs: () => 60_000 }, 100, "x", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  });

  it("gives no signal when there is no deadline", async () => {
    await expect(within(NO_DEADLINE, 100, "x", async (s) => s)).resolves.toBeUndefined();
  });
});

describe("retryWithinDeadline", () => {
  const policy = (sleeps: number[], remaining = { ms: 60_000 }, extra: Partial<RetryPolicy> = {}): RetryPolicy => ({
    deadline: { remainingMs: () => remaining.ms }, minAttemptMs: 1000, backoff: { baseMs: 50, capMs: 2000, random: () => 0.5 },
    sleep: async (ms) => void (sleeps.push(ms), (remaining.ms -= ms)), ...extra,
  });
  const failing = (errors: unknown[], value = "done") => async () => {
    const next = errors.shift();
    if (next !== undefined) throw next;
    return value;
  };

  it("retries what `retryable` accepts, with decorrelated jitter, and says how many attempts it took", async () => {
    const sleeps: number[] = [];
    await expect(retryWithinDeadline(failing([new Error("a"), new Error("b")]), () => true, policy(sleeps))).resolves.toEqual({ value: "done", attempts: 3 });
    expect(sleeps).toEqual([100, 175]);
  });

  it("passes on at once what `retryable` does not accept", async () => {
    const error = new Error("fatal");
    await expect(retryWithinDeadline(failing([error]), () => false, policy([]))).rejects.toBe(error);
  });

  it("retries a moment's inconsistency at once, at most MAX_AT_ONCE times in a row, then backs off", async () => {
    const sleeps: number[] = [];
    const errors = Array.from({ length: MAX_AT_ONCE + 1 }, () => new Error("inconsistent"));
    const result = await retryWithinDeadline(failing(errors), () => true, policy(sleeps, undefined, { retryAtOnce: () => true }));
    expect(result.attempts).toBe(MAX_AT_ONCE + 2);
    expect(sleeps).toEqual([100]);
  });

  it("stops when another attempt would not fit, with the last failure", async () => {
    const last = new Error("last");
    const error = await retryWithinDeadline(failing([new Error("first"), last, new Error("never")]), () => true, policy([], { ms: 1200 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutOfTimeError);
    expect(error).toMatchObject({ last, attempts: 2 });
    expect((error as Error).message).toBe("1100 ms left, 1000 ms needed for an attempt"); // and a backoff of 175 ms first
  });
});
