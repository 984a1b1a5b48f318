/**
 * One run of the tracker over injected adapters: ISS position and credentials (in parallel), then
 * the conditional append. Logs exactly one JSON line per run, success or failure, and returns a
 * summary (or rethrows, so Lambda's retry policy applies).
 */
import { appendEntry, type AppendOptions, type AppendPath } from "./append";
import type { TrackerConfig } from "./config";
import type { CredentialsResult } from "./credentials";
import type { IssFix } from "./iss-client";
import type { ObjectStore } from "./object-store";
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

export interface TrackerAdapters {
  fetchPosition(deadline: Deadline): Promise<IssFix>;
  credentials(sessionName: string): Promise<CredentialsResult>;
  /** The store, bound to the (cached) assumed-role credentials; one per run for its byte counts. */
  store(): ObjectStore;
  readonly appendOptions?: Omit<AppendOptions, "multipartThresholdBytes" | "deadline">;
  readonly log?: (line: string) => void;
  readonly now?: () => number;
}

export async function runTracker(config: TrackerConfig, adapters: TrackerAdapters, invocation: Invocation): Promise<RunSummary> {
  const now = adapters.now ?? Date.now;
  const log = adapters.log ?? ((line: string) => console.log(line));
  const started = now();
  const base = { requestId: invocation.requestId, bucket: config.bucket, key: config.key };
  let fix: IssFix | undefined;
  let store: ObjectStore | undefined;
  try {
    const [position, credentials] = await Promise.allSettled([
      adapters.fetchPosition(invocation.deadline),
      adapters.credentials(invocation.sessionName),
    ]);
    if (position.status === "rejected") throw position.reason;
    fix = position.value;
    if (credentials.status === "rejected") throw credentials.reason;
    store = adapters.store();
    const appended = await appendEntry(store, fix.position, {
      ...adapters.appendOptions,
      multipartThresholdBytes: config.multipartThresholdBytes,
      deadline: invocation.deadline,
    });
    const summary: RunSummary = {
      source: fix.source,
      issTimestamp: fix.position.timestamp,
      path: appended.path,
      bytesAppended: appended.bytesAppended,
      attempts: appended.attempts,
      issAttempts: fix.attempts,
      credentialsCached: credentials.value.cached,
      bytesRead: store.stats.bytesDownloaded,
      bytesWritten: store.stats.bytesUploaded,
      objectBytes: appended.objectBytes,
      durationMs: now() - started,
      ...base,
    };
    log(JSON.stringify({ level: "info", msg: appended.path === "duplicate" ? "entry already last; nothing written" : "entry appended", ...summary }));
    return summary;
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    log(
      JSON.stringify({
        level: "error",
        msg: "run failed",
        error: err.name,
        message: err.message,
        source: fix?.source,
        issTimestamp: fix?.position.timestamp,
        issAttempts: fix?.attempts,
        bytesRead: store?.stats.bytesDownloaded,
        bytesWritten: store?.stats.bytesUploaded,
        durationMs: now() - started,
        ...base,
      }),
    );
    throw err;
  }
}
