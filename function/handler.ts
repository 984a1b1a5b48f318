/**
 * Lambda entry point (bundled as index.js, handler `index.handler`): reads the configuration,
 * wires the real adapters (kept across warm invocations) and runs the tracker once.
 *
 * Environment (set by the stack): ACCESS_ROLE_ARN, EXTERNAL_ID, BUCKET_NAME, BUCKET_REGION,
 * OBJECT_KEY, ISS_SOURCES, optional MULTIPART_THRESHOLD_BYTES; Lambda's own
 * AWS_LAMBDA_FUNCTION_MEMORY_SIZE bounds the threshold. The SDK clients honour AWS_ENDPOINT_URL
 * like any SDK v3 client (S3 then goes path-style on an IP endpoint by itself).
 *
 * Time: every outside call gets the time Lambda says is left, minus margins (see retry.ts), so a
 * hung ISS source, STS or S3 ends as one "run failed" line, never as a Lambda timeout.
 *
 * Credentials: one S3 client per assumed-role session, built with that session's keys as a fixed
 * identity. The SDK memoizes a credential *function* until 5 minutes before the expiration it
 * returned (@smithy/core memoizeIdentityProvider), so one long-lived client over the provider would
 * keep signing with a session the provider had already renewed or dropped; with a client per
 * session, the calls of a run are signed with exactly the session `credentialsCached` describes.
 */
import { S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { loadConfig, type TrackerConfig } from "./config";
import { FUNCTION_DEFAULTS } from "./contract";
import { AssumeRoleProvider, roleSessionName, type AssumedCredentials } from "./credentials";
import { fetchIssPosition } from "./iss-client";
import { S3ObjectStore } from "./object-store";
import { ABORT_MARGIN_MS, deadlineFrom, LOG_MARGIN_MS } from "./retry";
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

let sts: STSClient | undefined;
const providers = new Map<string, AssumeRoleProvider>();
/** The S3 client of the current session, per (region, role, external id). */
const s3Clients = new Map<string, { accessKeyId: string; client: S3Client }>();

function providerFor(config: TrackerConfig): AssumeRoleProvider {
  const key = `${config.accessRoleArn}\n${config.externalId}`;
  let provider = providers.get(key);
  if (!provider) {
    sts ??= new STSClient({ maxAttempts: 3, requestHandler: SDK_HTTP });
    provider = new AssumeRoleProvider({ sts, roleArn: config.accessRoleArn, externalId: config.externalId });
    providers.set(key, provider);
  }
  return provider;
}

/** The S3 client that signs with exactly this session (a new session gets a new client). */
function s3For(config: TrackerConfig, credentials: AssumedCredentials): S3Client {
  const key = `${config.bucketRegion}\n${config.accessRoleArn}\n${config.externalId}`;
  const current = s3Clients.get(key);
  if (current?.accessKeyId === credentials.accessKeyId) return current.client;
  // The previous session's client is dropped, not destroyed: a concurrent run may still use it.
  const client = new S3Client({ region: config.bucketRegion, credentials: { ...credentials }, maxAttempts: 3, requestHandler: SDK_HTTP });
  s3Clients.set(key, { accessKeyId: credentials.accessKeyId, client });
  return client;
}

export async function handler(_event?: unknown, context?: LambdaContextLike): Promise<RunSummary> {
  let config: TrackerConfig;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    console.log(JSON.stringify({ level: "error", msg: "run failed", error: (error as Error).name, message: (error as Error).message, requestId: context?.awsRequestId }));
    throw error;
  }
  const provider = providerFor(config);
  const functionName = context?.functionName ?? process.env.AWS_LAMBDA_FUNCTION_NAME;
  const deadline = deadlineFrom(context?.getRemainingTimeInMillis?.bind(context), FUNCTION_DEFAULTS.timeoutSeconds * 1000); // a local run: the stack's timeout
  const partition = /^arn:([\w-]+):/.exec(config.accessRoleArn)?.[1];
  return runTracker(
    config,
    {
      fetchPosition: (d, request) => fetchIssPosition({ sources: config.issSources, deadline: d, ...request }),
      credentials: (sessionName, d) => provider.get(sessionName, d, LOG_MARGIN_MS + ABORT_MARGIN_MS),
      store: (credentials, d) => new S3ObjectStore(s3For(config, credentials), config.bucket, config.key, { deadline: d, partition }),
      dropCredentials: (credentials) => {
        provider.invalidate(credentials);
        const key = `${config.bucketRegion}\n${config.accessRoleArn}\n${config.externalId}`;
        if (s3Clients.get(key)?.accessKeyId === credentials.accessKeyId) s3Clients.delete(key);
      },
    },
    { requestId: context?.awsRequestId, sessionName: roleSessionName(functionName, context?.awsRequestId), deadline },
  );
}
