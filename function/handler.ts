/**
 * Lambda entry point (bundled as index.js, handler `index.handler`): reads the configuration,
 * wires the real adapters (kept across warm invocations) and runs the tracker once.
 *
 * Environment (set by the stack): ACCESS_ROLE_ARN, EXTERNAL_ID, BUCKET_NAME, BUCKET_REGION,
 * OBJECT_KEY, ISS_SOURCES, optional MULTIPART_THRESHOLD_BYTES. The SDK clients honour
 * AWS_ENDPOINT_URL like any SDK v3 client (S3 then goes path-style on an IP endpoint by itself).
 */
import { S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { loadConfig, type TrackerConfig } from "./config";
import { AssumeRoleProvider, roleSessionName } from "./credentials";
import { fetchIssPosition } from "./iss-client";
import { S3ObjectStore } from "./object-store";
import { deadlineFrom } from "./retry";
import { runTracker, type RunSummary } from "./tracker";

/** What the function reads from Lambda's context; every field may be missing (local runs). */
export interface LambdaContextLike {
  readonly awsRequestId?: string;
  readonly functionName?: string;
  getRemainingTimeInMillis?(): number;
}

export type { RunSummary } from "./tracker";

const SDK_HTTP = { connectionTimeout: 3000, requestTimeout: 30_000 } as const;

let sts: STSClient | undefined;
const providers = new Map<string, AssumeRoleProvider>();
const s3Clients = new Map<string, S3Client>();

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

/** One S3 client per (region, role, external id): it asks the provider, which serves its cache. */
function s3For(config: TrackerConfig, provider: AssumeRoleProvider): S3Client {
  const key = `${config.bucketRegion}\n${config.accessRoleArn}\n${config.externalId}`;
  let client = s3Clients.get(key);
  if (!client) {
    client = new S3Client({
      region: config.bucketRegion,
      credentials: async () => (await provider.get()).credentials,
      maxAttempts: 3,
      requestHandler: SDK_HTTP,
    });
    s3Clients.set(key, client);
  }
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
  const deadline = deadlineFrom(context?.getRemainingTimeInMillis?.bind(context));
  return runTracker(
    config,
    {
      fetchPosition: (d) => fetchIssPosition({ sources: config.issSources, deadline: d }),
      credentials: (sessionName) => provider.get(sessionName),
      store: () => new S3ObjectStore(s3For(config, provider), config.bucket, config.key),
    },
    { requestId: context?.awsRequestId, sessionName: roleSessionName(functionName, context?.awsRequestId), deadline },
  );
}
