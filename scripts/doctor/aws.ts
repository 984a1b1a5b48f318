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
import { clientConfig, guardOperations, type AccountAccess } from "../shared/aws";

export type { AccountAccess };

export const READ_ONLY_OPERATIONS: ReadonlySet<string> = new Set([
  "GetCallerIdentityCommand", "AssumeRoleCommand",
  "GetRoleCommand", "ListRolePoliciesCommand", "GetRolePolicyCommand", "ListAttachedRolePoliciesCommand",
  "GetPolicyCommand", "GetPolicyVersionCommand",
  "GetFunctionConfigurationCommand",
  "HeadBucketCommand", "GetBucketLocationCommand", "GetBucketPolicyCommand",
  // The live read of the log through the chain (its first KiB).
  "GetObjectCommand",
  // Day two: the on-failure destination, the queues, the alert topic and its key, the alarms.
  "GetFunctionEventInvokeConfigCommand", "GetQueueUrlCommand", "GetQueueAttributesCommand",
  "GetTopicAttributesCommand", "ListSubscriptionsByTopicCommand", "GetKeyPolicyCommand",
  "DescribeAlarmsCommand", "DescribeMetricFiltersCommand",
  // Drift of the bucket's protections.
  "GetBucketVersioningCommand", "GetBucketLifecycleConfigurationCommand", "GetPublicAccessBlockCommand",
]);

/** Operations sent by doctor's clients in this process (for the tests' read-only assertion). */
export const sentOperations: string[] = [];

function readOnly<T extends Parameters<typeof guardOperations>[0]>(client: T): T {
  return guardOperations(client, READ_ONLY_OPERATIONS, "doctor", sentOperations);
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

