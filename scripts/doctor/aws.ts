/**
 * AWS access for `npm run doctor`: SDK clients that can only read, and the reads doctor needs.
 *
 * Every client carries a middleware that refuses any operation outside READ_ONLY_OPERATIONS before
 * it is signed or sent, so a future check cannot change an account by mistake. (sts:AssumeRole
 * creates nothing: it returns temporary credentials, as `aws sts assume-role` does.)
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { IAMClient } from "@aws-sdk/client-iam";
import { KMSClient } from "@aws-sdk/client-kms";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { SNSClient } from "@aws-sdk/client-sns";
import { SQSClient } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import type { Credentials } from "../shared/aws";

export type { Credentials };

/** Where one account's calls go and as whom. */
export interface AccountAccess {
  readonly region: string;
  /** Emulator endpoint; unset for real AWS. */
  readonly endpoint?: string;
  /** A named profile (~/.aws/config), used when no credentials are given. */
  readonly profile?: string;
  readonly credentials?: Credentials;
}

export const READ_ONLY_OPERATIONS: ReadonlySet<string> = new Set([
  "GetCallerIdentityCommand", "AssumeRoleCommand",
  "GetRoleCommand", "ListRolePoliciesCommand", "GetRolePolicyCommand", "ListAttachedRolePoliciesCommand",
  "GetPolicyCommand", "GetPolicyVersionCommand",
  "GetFunctionConfigurationCommand",
  "HeadBucketCommand", "GetBucketLocationCommand", "GetBucketPolicyCommand", "ListObjectsV2Command", "HeadObjectCommand",
  // Day two: the on-failure destination, the queues, the alert topic and its key, the alarms.
  "GetFunctionEventInvokeConfigCommand", "GetQueueUrlCommand", "GetQueueAttributesCommand",
  "GetTopicAttributesCommand", "ListSubscriptionsByTopicCommand", "GetKeyPolicyCommand",
  "DescribeAlarmsCommand", "DescribeMetricFiltersCommand",
]);

/** Operations sent by doctor's clients in this process (for the tests' read-only assertion). */
export const sentOperations: string[] = [];

interface MiddlewareClient {
  middlewareStack: { add: (middleware: never, options: { step: "initialize"; name: string }) => void };
}

/**
 * Makes an SDK client refuse, before signing or sending, every operation outside `allowed`
 * (`tool` names the refusing tool in the error); the operations it lets through are appended to `sent`.
 * `npm run log` guards its clients the same way with its own, smaller set.
 */
export function guardOperations<T extends MiddlewareClient>(client: T, allowed: ReadonlySet<string>, tool: string, sent: string[]): T {
  const guard = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
    const operation = context.commandName ?? "(unknown)";
    if (!allowed.has(operation)) {
      throw new Error(`${tool} is read-only: refusing ${operation}`);
    }
    sent.push(operation);
    return next(args);
  };
  client.middlewareStack.add(guard as never, { step: "initialize", name: `${tool.replace(/\W/g, "")}ReadOnlyGuard` });
  return client;
}

function readOnly<T extends MiddlewareClient>(client: T): T {
  return guardOperations(client, READ_ONLY_OPERATIONS, "doctor", sentOperations);
}

/** SDK client settings for one account: region, emulator endpoint, credentials or profile, 2 attempts. */
export function clientConfig(access: AccountAccess) {
  return {
    region: access.region,
    ...(access.endpoint ? { endpoint: access.endpoint } : {}),
    ...(access.credentials ? { credentials: access.credentials } : access.profile ? { profile: access.profile } : {}),
    maxAttempts: 2,
  };
}

export interface AccountClients {
  readonly sts: STSClient;
  readonly iam: IAMClient;
  readonly lambda: LambdaClient;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
  readonly kms: KMSClient;
  readonly cloudwatch: CloudWatchClient;
  readonly logs: CloudWatchLogsClient;
}

export function clientsFor(access: AccountAccess, s3Region = access.region): AccountClients {
  const config = clientConfig(access);
  return {
    sts: readOnly(new STSClient(config)),
    iam: readOnly(new IAMClient(config)),
    lambda: readOnly(new LambdaClient(config)),
    s3: readOnly(new S3Client({ ...config, region: s3Region, forcePathStyle: access.endpoint !== undefined })),
    sqs: readOnly(new SQSClient(config)),
    sns: readOnly(new SNSClient(config)),
    kms: readOnly(new KMSClient(config)),
    cloudwatch: readOnly(new CloudWatchClient(config)),
    logs: readOnly(new CloudWatchLogsClient(config)),
  };
}

