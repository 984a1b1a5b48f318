/**
 * Lambda entry point (bundled as index.js, handler `index.handler`): wiring only. It reads the
 * configuration (the environment the stack sets, ./contract.ts), builds the real adapters once per
 * container (the sessions, the ISS client's connections) and runs the tracker.
 *
 * The SDK clients honour AWS_ENDPOINT_URL like any SDK v3 client (S3 then goes path-style on an IP
 * endpoint by itself). They make one attempt per call: retries are the tracker's, with jitter, within
 * the time Lambda says is left (./retry.ts), so a hung ISS source, STS or S3 ends as a "run failed"
 * line, never as a Lambda timeout.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { loadConfig, type TrackerConfig } from "./config";
import { FUNCTION_DEFAULTS, LOG_MESSAGES, partitionOf } from "./contract";
import { roleSessionName } from "./credentials";
import { fetchFromSource } from "./iss-client";
import { deliveryIdOf, type LogWatermark } from "./core";
import { createLogger, errorFields } from "./logger";
import { S3ObjectStore } from "./object-store";
import { ABORT_MARGIN_MS, deadlineFrom, LOG_MARGIN_MS } from "./retry";
import { Sessions } from "./sessions";
import { runTracker, type RunSummary } from "./tracker";

/** What the function reads from Lambda's context; every field may be missing (local runs). */
export interface LambdaContextLike {
  readonly awsRequestId?: string;
  readonly functionName?: string;
  getRemainingTimeInMillis?(): number;
}

export type { RunSummary } from "./tracker";

/**
 * Connection setup only; the time of each request is the run's (abort signals). The SDK's
 * requestTimeout is left unset: without throwOnRequestTimeout it only logs a warning.
 */
const SDK_HTTP = { connectionTimeout: 3000 } as const;

let sessions: Sessions | undefined;
/** What this container's runs last saw of each target's log: a warm run refuses a log that was cut or rewritten since. */
const watermarks = new Map<string, LogWatermark>();

export async function handler(event?: unknown, context?: LambdaContextLike): Promise<RunSummary> {
  const functionName = context?.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME;
  const log = createLogger(undefined, { requestId: context?.awsRequestId, function: functionName });
  let config: TrackerConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    log.error(LOG_MESSAGES.runFailed, errorFields(error));
    throw error;
  }
  sessions ??= new Sessions({
    sts: new STSClient({ maxAttempts: 1, requestHandler: SDK_HTTP }),
    s3Client: (region, credentials) => new S3Client({ region, credentials: { ...credentials }, maxAttempts: 1, requestHandler: SDK_HTTP }),
  });
  const active = sessions;
  const deadline = deadlineFrom(context?.getRemainingTimeInMillis?.bind(context), FUNCTION_DEFAULTS.timeoutSeconds * 1000); // a local run: the stack's timeout
  return runTracker(
    config,
    {
      fetchFromSource: (source, d) => fetchFromSource(source, { deadline: d }),
      session: (target, sessionName, d) => active.get(target, sessionName, d, LOG_MARGIN_MS + ABORT_MARGIN_MS),
      dropSession: (target, session) => void active.drop(target, session.credentials),
      store: (target, session, d) => new S3ObjectStore(session.s3, target.bucket, target.key, {
        deadline: d, partition: partitionOf(target.bucketRegion), expectedOwner: target.id, warn: (msg, fields) => log.warn(msg, { target: target.id, ...fields }),
      }),
      log,
      watermarks,
    },
    { requestId: context?.awsRequestId, deliveryId: deliveryIdOf(event), sessionName: roleSessionName(functionName, context?.awsRequestId), deadline },
  );
}
