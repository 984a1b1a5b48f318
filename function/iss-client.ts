/**
 * ISS position adapter: one source at a time, over undici with connect/headers/body timeouts and a
 * cap per attempt, and bounded retries with jittered backoff.
 *
 * A transient failure (network error, timeout, HTTP 5xx or 429) is retried on the same source; a
 * definite one (another HTTP status, 3xx included: redirects are not followed; a body that is not
 * a valid position) is the source's answer, and the caller moves on to the next source (which
 * sources, in which order, and which fixes are fresh enough is the tracker's decision, with the
 * core's rules). Whatever a source does (any status, an oversized or
 * stalled body, a hang), the attempt ends within its budget and its socket is released: a
 * response body is always consumed or destroyed with an error listener attached (undici's real
 * Agent emits an error for a destroyed body, which would otherwise crash the process).
 */
import type { Dispatcher } from "undici";
import Agent from "undici/lib/dispatcher/agent.js";
import request from "undici/lib/api/api-request.js";
import { InvalidIssResponseError, parseIssResponse, type IssPosition } from "./core";
import { backoffMs, NO_DEADLINE, realSleep, type Deadline, type Sleep } from "./retry";

export interface IssFailure {
  readonly source: string;
  readonly attempt: number;
  readonly reason: string;
}

/** No source gave a usable fix; `failures` says why, per source and attempt. */
export class IssUnavailableError extends Error {
  override readonly name = "IssUnavailableError";
  constructor(
    readonly failures: readonly IssFailure[],
    why = "no ISS source gave a valid position",
    /** HTTP requests made. */
    readonly attempts = 0,
  ) {
    super(
      `${why}; the object was not touched. ` +
        (failures.map((f) => `[${f.source} attempt ${f.attempt}] ${f.reason}`).join("; ") || "no source was tried"),
    );
  }
}

/** What one source gave: a position, or why not (each attempt's reason). */
export type SourceAnswer =
  | { readonly ok: true; readonly position: IssPosition; readonly attempts: number }
  | { readonly ok: false; readonly failures: readonly IssFailure[]; readonly attempts: number; readonly outOfTime: boolean };

export interface IssClientOptions {
  /** undici dispatcher; default: a shared Agent with the timeouts below (tests pass a MockAgent). */
  readonly dispatcher?: Dispatcher;
  /** Requests per source, first one included. Default 2. */
  readonly attemptsPerSource?: number;
  /** Cap on one request, connect to last body byte. Default 4000. */
  readonly attemptTimeoutMs?: number;
  readonly headersTimeoutMs?: number;
  readonly bodyTimeoutMs?: number;
  /** Bodies above this are refused (a position is ~200 bytes). Default 64 KiB. */
  readonly maxBodyBytes?: number;
  readonly backoff?: { readonly baseMs: number; readonly capMs: number };
  readonly random?: () => number;
  readonly sleep?: Sleep;
  readonly deadline?: Deadline;
  /** Time kept back for the rest of the run (STS, S3): no attempt eats into it. Default 8000. */
  readonly reserveMs?: number;
}

export const ISS_DEFAULTS = {
  connectTimeoutMs: 2000,
  headersTimeoutMs: 3000,
  bodyTimeoutMs: 2000,
  attemptTimeoutMs: 4000,
  attemptsPerSource: 2,
  maxBodyBytes: 64 * 1024,
  backoff: { baseMs: 250, capMs: 1000 },
  reserveMs: 8000,
  minAttemptMs: 500,
} as const;

let sharedAgent: Dispatcher | undefined;
/** One Agent per container: warm invocations reuse its connections. */
function defaultDispatcher(): Dispatcher {
  sharedAgent ??= new Agent({
    connect: { timeout: ISS_DEFAULTS.connectTimeoutMs },
    headersTimeout: ISS_DEFAULTS.headersTimeoutMs,
    bodyTimeout: ISS_DEFAULTS.bodyTimeoutMs,
    // Lambda freezes the process between runs: don't keep sockets that will be stale on thaw.
    keepAliveTimeout: 2000,
  });
  return sharedAgent;
}

class AttemptError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}

/** Releases a body that will not be read: an error listener first, so destroying it cannot crash. */
function discard(body: Dispatcher.ResponseData["body"]): void {
  body.on("error", () => undefined);
  body.destroy();
}

async function readCapped(body: Dispatcher.ResponseData["body"], maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buffer.length;
    if (size > maxBytes) {
      discard(body);
      throw new AttemptError(`response body larger than ${maxBytes} bytes`, false);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

async function attemptOnce(url: URL, dispatcher: Dispatcher, timeoutMs: number, options: IssClientOptions): Promise<IssPosition> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    const response = await request.call(dispatcher, {
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method: "GET",
      headers: { accept: "application/json", "user-agent": "iss-tracker" },
      signal: controller.signal,
      headersTimeout: options.headersTimeoutMs ?? ISS_DEFAULTS.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs ?? ISS_DEFAULTS.bodyTimeoutMs,
    });
    // From here on an abort or a body timeout errors the body: never leave that unhandled.
    response.body.on("error", () => undefined);
    const maxBytes = options.maxBodyBytes ?? ISS_DEFAULTS.maxBodyBytes;
    const status = response.statusCode;
    if (status !== 200) {
      discard(response.body);
      const where = status >= 300 && status < 400 && response.headers.location ? ` (redirect to ${String(response.headers.location)}, not followed)` : "";
      throw new AttemptError(`HTTP ${status}${where}`, status >= 500 || status === 429);
    }
    const declared = Number(response.headers["content-length"]);
    if (declared > maxBytes) {
      discard(response.body);
      throw new AttemptError(`response body of ${declared} bytes, larger than ${maxBytes}`, false);
    }
    return parseIssResponse(await readCapped(response.body, maxBytes));
  } catch (error) {
    if (error instanceof AttemptError) throw error;
    if (error instanceof InvalidIssResponseError) throw new AttemptError(error.message, false);
    if (timedOut) throw new AttemptError(`timed out after ${timeoutMs} ms`, true);
    throw new AttemptError(describe(error), true);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Asks one source for the position: a transient failure (network error, timeout, HTTP 5xx or 429)
 * is retried after a jittered backoff, a definite one (another status, a body that is not a valid
 * position) is the source's answer. Whether the fix is fresh enough is the caller's decision.
 */
export async function fetchFromSource(source: string, options: IssClientOptions = {}): Promise<SourceAnswer> {
  const dispatcher = options.dispatcher ?? defaultDispatcher();
  const perSource = Math.max(1, options.attemptsPerSource ?? ISS_DEFAULTS.attemptsPerSource);
  const attemptTimeoutMs = options.attemptTimeoutMs ?? ISS_DEFAULTS.attemptTimeoutMs;
  const deadline = options.deadline ?? NO_DEADLINE;
  const reserveMs = options.reserveMs ?? ISS_DEFAULTS.reserveMs;
  const sleep = options.sleep ?? realSleep;
  const backoff = { ...ISS_DEFAULTS.backoff, ...options.backoff, random: options.random ?? Math.random };
  const url = new URL(source);
  const failures: IssFailure[] = [];
  for (let attempt = 1; attempt <= perSource; attempt++) {
    if (attempt > 1) await sleep(backoffMs(attempt - 1, backoff));
    const budget = Math.min(attemptTimeoutMs, deadline.remainingMs() - reserveMs);
    if (budget < ISS_DEFAULTS.minAttemptMs) return { ok: false, failures, attempts: attempt - 1, outOfTime: true };
    try {
      return { ok: true, position: await attemptOnce(url, dispatcher, budget, options), attempts: attempt };
    } catch (error) {
      const failure = error instanceof AttemptError ? error : new AttemptError(describe(error), true);
      failures.push({ source, attempt, reason: failure.message });
      if (!failure.retryable) return { ok: false, failures, attempts: attempt, outOfTime: false };
    }
  }
  return { ok: false, failures, attempts: perSource, outOfTime: false };
}
