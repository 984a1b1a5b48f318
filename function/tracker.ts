/**
 * One run of the tracker over injected adapters: one ISS fix, appended to every target's log in
 * parallel, each target independent of the others (its own session, store, retries and outcome).
 *
 * The fix: the sources in order, the first whose answer is fresh against the function's clock
 * (core.freshnessProblem); it is fetched while the targets' sessions are assumed. A target whose log
 * says the fix is far in the past asks the sources after it (their answers are fetched once and
 * shared by the targets). A session S3 refused is dropped, so the next run assumes the role again.
 *
 * Logs one line per target (its outcome) and one line for the run that names every target's
 * outcome; returns the run's summary, or rethrows (so Lambda's retry policy applies) when any target
 * failed: the retry finds the entry in the logs that already have it and writes nothing there.
 */
import { appendEntry, type AppendOptions, type AppendPath } from "./append";
import type { TrackerConfig } from "./config";
import { LOG_MESSAGES, type TrackerTarget } from "./contract";
import { freshnessProblem, orderProblem, type IssPosition, type LogWatermark } from "./core";
import { IssUnavailableError, type IssFailure, type SourceAnswer } from "./iss-client";
import { errorFields, type Logger } from "./logger";
import type { ObjectStore } from "./object-store";
import type { Deadline } from "./retry";
import type { Session } from "./sessions";
import { StoreAccessDeniedError } from "./store-errors";

/** What a run did to one target's log. */
export interface TargetOutcome {
  readonly target: string;
  readonly bucket: string;
  readonly key: string;
  readonly outcome: "appended" | "duplicate" | "failed";
  /** How the entry went in (absent when the target failed). */
  readonly path?: AppendPath;
  /** The source of the fix written, and its time. */
  readonly source?: string;
  readonly issTimestamp?: number;
  readonly bytesAppended?: number;
  /** Append attempts (read-then-conditional-write rounds). */
  readonly attempts?: number;
  /** Size of the object after the run. */
  readonly objectBytes?: number;
  /** True when the S3 calls were signed with a session assumed by an earlier run. */
  readonly credentialsCached?: boolean;
  /** Object bytes downloaded and uploaded (bodies only). */
  readonly bytesRead?: number;
  readonly bytesWritten?: number;
  /** The failure, when the target failed. */
  readonly error?: string;
  readonly message?: string;
}

export interface RunSummary {
  readonly requestId?: string;
  /** HTTP requests to ISS sources. */
  readonly issAttempts: number;
  readonly durationMs: number;
  readonly targets: readonly TargetOutcome[];
}

export interface Invocation {
  readonly requestId?: string;
  /** The delivered event's id (core.ts deliveryIdOf): a retry of it writes nothing where its entry landed. */
  readonly deliveryId?: string;
  readonly sessionName: string;
  readonly deadline: Deadline;
}

export interface TrackerAdapters {
  /** One source's answer (iss-client.ts fetchFromSource). */
  fetchFromSource(source: string, deadline: Deadline): Promise<SourceAnswer>;
  /** The target's session, cached or newly assumed (sessions.ts). */
  session(target: TrackerTarget, sessionName: string, deadline: Deadline): Promise<Session>;
  /** S3 refused this session: forget it. */
  dropSession(target: TrackerTarget, session: Session): void;
  /** The target's log, signing with this session. */
  store(target: TrackerTarget, session: Session, deadline: Deadline): ObjectStore;
  readonly log: Logger;
  readonly appendOptions?: Omit<AppendOptions, "multipartThresholdBytes" | "deadline" | "seen">;
  /** What earlier runs saw of each target's log (by target id): kept across warm invocations. */
  readonly watermarks?: Map<string, LogWatermark>;
  readonly now?: () => number;
}

/** Several targets failed; each one's error is in `failures` (and in the run's log line). */
export class TargetsFailedError extends Error {
  override readonly name = "TargetsFailedError";
  constructor(readonly failures: ReadonlyArray<{ readonly target: string; readonly error: Error }>, total: number) {
    super(`${failures.length} of ${total} targets failed: ${failures.map((f) => `${f.target}: ${f.error.name}: ${f.error.message}`).join("; ")}`);
  }
}

interface Fix {
  readonly position: IssPosition;
  readonly source: string;
  readonly index: number;
}

/** The sources' answers, each fetched once (on first need) and shared by every target of the run. */
class FixSources {
  private readonly answers = new Map<number, Promise<SourceAnswer>>();
  attempts = 0;

  constructor(private readonly sources: readonly string[], private readonly fetch: TrackerAdapters["fetchFromSource"], private readonly deadline: Deadline, private readonly now: () => number) {}

  private answer(index: number): Promise<SourceAnswer> {
    let answer = this.answers.get(index);
    if (!answer) {
      answer = this.fetch(this.sources[index], this.deadline).then((a) => {
        this.attempts += a.attempts;
        if (!a.ok) return a;
        // A live source stamps its answer with the second it computed it: anything else is refused.
        const problem = freshnessProblem(a.position, this.now());
        return problem ? { ok: false as const, failures: [{ source: this.sources[index], attempt: a.attempts, reason: problem }], attempts: a.attempts, outOfTime: false } : a;
      });
      this.answers.set(index, answer);
    }
    return answer;
  }

  /**
   * The first fresh fix from source `from` on that is not far behind `newest` (the log's newest
   * entry, once a log said so); every refusal is added to `failures`.
   */
  async next(from: number, newest: number | undefined, failures: IssFailure[]): Promise<Fix | undefined> {
    for (let index = from; index < this.sources.length; index++) {
      const a = await this.answer(index);
      if (!a.ok) {
        failures.push(...a.failures);
        if (a.outOfTime) throw new IssUnavailableError(failures, "out of time before an ISS source gave a valid position", this.attempts);
        continue;
      }
      const behind = orderProblem(a.position, newest);
      if (behind) {
        failures.push({ source: this.sources[index], attempt: a.attempts, reason: behind });
        continue;
      }
      return { position: a.position, source: this.sources[index], index };
    }
    return undefined;
  }
}

export async function runTracker(config: TrackerConfig, adapters: TrackerAdapters, invocation: Invocation): Promise<RunSummary> {
  const now = adapters.now ?? Date.now;
  const started = now();
  const { deadline } = invocation;
  const log = adapters.log;
  const fixes = new FixSources(config.issSources, adapters.fetchFromSource, deadline, now);
  const firstFix = (failures: IssFailure[]) => fixes.next(0, undefined, failures);
  // The first source is asked while the sessions are assumed.
  const shared: IssFailure[] = [];
  const first = firstFix(shared).catch((error: unknown) => error as Error);

  const appendTo = async (target: TrackerTarget): Promise<{ outcome: TargetOutcome; error?: Error }> => {
    const base = { target: target.id, bucket: target.bucket, key: target.key };
    let session: Session | undefined;
    let store: ObjectStore | undefined;
    let fix: Fix | undefined;
    try {
      const [sessionResult, firstResult] = await Promise.allSettled([adapters.session(target, invocation.sessionName, deadline), first]);
      const firstValue = firstResult.status === "fulfilled" ? firstResult.value : undefined;
      if (firstValue instanceof Error) throw firstValue;
      fix = firstValue;
      if (!fix) throw new IssUnavailableError(shared, undefined, fixes.attempts);
      if (sessionResult.status === "rejected") throw sessionResult.reason;
      session = sessionResult.value;
      store = adapters.store(target, session, deadline);
      const failures: IssFailure[] = [...shared];
      for (;;) {
        const result = await appendEntry(store, fix.position, {
          ...adapters.appendOptions, multipartThresholdBytes: config.multipartThresholdBytes, deadline, seen: adapters.watermarks?.get(target.id), deliveryId: invocation.deliveryId,
        });
        if (result.path !== "stale") {
          adapters.watermarks?.set(target.id, result.watermark);
          const outcome: TargetOutcome = {
            ...base,
            outcome: result.path === "duplicate" ? "duplicate" : "appended",
            path: result.path,
            source: fix.source,
            issTimestamp: fix.position.timestamp,
            bytesAppended: result.bytesAppended,
            attempts: result.attempts,
            objectBytes: result.objectBytes,
            credentialsCached: session.cached,
            bytesRead: store.stats.bytesDownloaded,
            bytesWritten: store.stats.bytesUploaded,
          };
          log.info(result.path === "duplicate" ? LOG_MESSAGES.duplicate : LOG_MESSAGES.appended, outcome);
          return { outcome };
        }
        // This log says the fix is far in the past: the sources after it, refusing the same.
        failures.push({ source: fix.source, attempt: 1, reason: result.reason });
        const next = await fixes.next(fix.index + 1, result.newest, failures);
        if (!next) throw new IssUnavailableError(failures, undefined, fixes.attempts);
        fix = next;
      }
    } catch (thrown) {
      const error = thrown instanceof Error ? thrown : new Error(String(thrown));
      if (error instanceof StoreAccessDeniedError && session) adapters.dropSession(target, session);
      const outcome: TargetOutcome = {
        ...base,
        outcome: "failed",
        source: fix?.source,
        issTimestamp: fix?.position.timestamp,
        credentialsCached: session?.cached,
        bytesRead: store?.stats.bytesDownloaded,
        bytesWritten: store?.stats.bytesUploaded,
        ...errorFields(error),
      };
      log.error(LOG_MESSAGES.targetFailed, outcome);
      return { outcome, error };
    }
  };

  const results = await Promise.all(config.targets.map(appendTo));
  const summary: RunSummary = { requestId: invocation.requestId, issAttempts: fixes.attempts, durationMs: now() - started, targets: results.map((r) => r.outcome) };
  const failed = results.flatMap((r, i) => (r.error ? [{ target: config.targets[i].id, error: r.error }] : []));
  if (failed.length === 0) {
    log.info(LOG_MESSAGES.runFinished, summary);
    return summary;
  }
  // One target: its own error, as the single pair has always thrown. Several: one error naming
  // each failed target, so Lambda's record of the failed run says which.
  const error = config.targets.length === 1 ? failed[0].error : new TargetsFailedError(failed, config.targets.length);
  log.error(LOG_MESSAGES.runFailed, { ...summary, ...errorFields(error) });
  throw error;
}
