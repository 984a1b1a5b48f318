/**
 * One run of the tracker over injected adapters: ISS position and credentials (in parallel), then
 * the conditional append. Logs exactly one JSON line per run, success or failure, and returns a
 * summary (or rethrows, so Lambda's retry policy applies).
 *
 * A fix far older than the log's newest entry is refused by the append; the run then asks the
 * sources after the one that gave it, and fails clearly when none gives a usable fix. A session
 * S3 refused is dropped, so the next run assumes the role again.
 */
import { appendEntry, StalePositionError, type AppendOptions, type AppendPath } from "./append";
import type { TrackerConfig } from "./config";
import type { AssumedCredentials, CredentialsResult } from "./credentials";
import { IssUnavailableError, type IssFailure, type IssFix } from "./iss-client";
import { StoreAccessDeniedError, type ObjectStore } from "./object-store";
import type { Deadline } from "./retry";

export interface RunSummary {
  readonly source: string;
  readonly issTimestamp: number;
  readonly path: AppendPath;
  readonly bytesAppended: number;
  /** Append attempts (read-then-conditional-write rounds). */
  readonly attempts: number;
  /** HTTP requests to ISS sources. */
  readonly issAttempts: number;
  /** True when the S3 calls of this run were signed with a session assumed by an earlier run. */
  readonly credentialsCached: boolean;
  /** Object bytes downloaded and uploaded by this run (bodies only). */
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly objectBytes: number;
  readonly durationMs: number;
  readonly bucket: string;
  readonly key: string;
  readonly requestId?: string;
}

export interface Invocation {
  readonly requestId?: string;
  readonly sessionName: string;
  readonly deadline: Deadline;
}

/** Which sources to ask: from `fromSource` on, refusing fixes far older than `newestEntry`. */
export interface FixRequest {
  readonly fromSource?: number;
  readonly newestEntry?: number;
  readonly failures?: readonly IssFailure[];
}

export interface TrackerAdapters {
  fetchPosition(deadline: Deadline, request?: FixRequest): Promise<IssFix>;
  credentials(sessionName: string, deadline: Deadline): Promise<CredentialsResult>;
  /** The store, signing with exactly these credentials; one per run for its byte counts. */
  store(credentials: AssumedCredentials, deadline: Deadline): ObjectStore;
  /** S3 refused this session: forget it (the next run assumes the role again). */
  dropCredentials?(credentials: AssumedCredentials): void;
  readonly appendOptions?: Omit<AppendOptions, "multipartThresholdBytes" | "deadline">;
  readonly log?: (line: string) => void;
  readonly now?: () => number;
}

export async function runTracker(config: TrackerConfig, adapters: TrackerAdapters, invocation: Invocation): Promise<RunSummary> {
  const now = adapters.now ?? Date.now;
  const log = adapters.log ?? ((line: string) => console.log(line));
  const started = now();
  const { deadline } = invocation;
  const base = { requestId: invocation.requestId, bucket: config.bucket, key: config.key };
  let fix: IssFix | undefined;
  let issAttempts = 0;
  let store: ObjectStore | undefined;
  let session: CredentialsResult | undefined;
  try {
    const [position, credentials] = await Promise.allSettled([adapters.fetchPosition(deadline), adapters.credentials(invocation.sessionName, deadline)]);
    if (position.status === "rejected") throw position.reason;
    fix = position.value;
    issAttempts = fix.attempts;
    if (credentials.status === "rejected") throw credentials.reason;
    session = credentials.value;
    store = adapters.store(session.credentials, deadline);
    let appended;
    for (;;) {
      try {
        appended = await appendEntry(store, fix.position, { ...adapters.appendOptions, multipartThresholdBytes: config.multipartThresholdBytes, deadline });
        break;
      } catch (error) {
        if (!(error instanceof StalePositionError)) throw error;
        // The log says this fix is far in the past: ask the next sources, refusing the same.
        const failures = [{ source: fix.source, attempt: 1, reason: error.message }];
        fix = await adapters.fetchPosition(deadline, { fromSource: fix.sourceIndex + 1, newestEntry: error.newest, failures });
        issAttempts += fix.attempts;
      }
    }
    const summary: RunSummary = {
      source: fix.source,
      issTimestamp: fix.position.timestamp,
      path: appended.path,
      bytesAppended: appended.bytesAppended,
      attempts: appended.attempts,
      issAttempts,
      credentialsCached: session.cached,
      bytesRead: store.stats.bytesDownloaded,
      bytesWritten: store.stats.bytesUploaded,
      objectBytes: appended.objectBytes,
      durationMs: now() - started,
      ...base,
    };
    log(JSON.stringify({ level: "info", msg: appended.path === "duplicate" ? "entry already in the log; nothing written" : "entry appended", ...summary }));
    return summary;
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    if (err instanceof IssUnavailableError) issAttempts += err.attempts;
    if (err instanceof StoreAccessDeniedError && session) adapters.dropCredentials?.(session.credentials);
    log(
      JSON.stringify({
        level: "error",
        msg: "run failed",
        error: err.name,
        message: err.message,
        source: fix?.source,
        issTimestamp: fix?.position.timestamp,
        issAttempts: issAttempts || undefined,
        credentialsCached: session?.cached,
        bytesRead: store?.stats.bytesDownloaded,
        bytesWritten: store?.stats.bytesUploaded,
        durationMs: now() - started,
        ...base,
      }),
    );
    throw err;
  }
}
