/**
 * A deployment of iss-tracker built directly on the moto emulator with SDK calls (a Terraform
 * apply takes ~20 s; this takes well under one): the same role names, trust and permission
 * policies (the stack's own typed policy functions), bucket, bucket policy and function
 * environment the stacks create — optionally broken in one place.
 */
import { PutMetricAlarmCommand, SetAlarmStateCommand, CloudWatchClient, type StateValue } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient, CreateLogGroupCommand, PutMetricFilterCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { CreateTopicCommand, SNSClient, SubscribeCommand } from "@aws-sdk/client-sns";
import { CreateQueueCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, IAMClient, PutRolePolicyCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { CreateFunctionCommand, LambdaClient, PutFunctionEventInvokeConfigCommand } from "@aws-sdk/client-lambda";
import {
  CreateBucketCommand, PutBucketLifecycleConfigurationCommand, PutBucketPolicyCommand, PutBucketVersioningCommand, PutObjectCommand, PutPublicAccessBlockCommand, S3Client,
  type LifecycleRule as S3LifecycleRule,
} from "@aws-sdk/client-s3";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { deterministicZip } from "../function/build";
import { bootstrapPermissionsPolicy, bootstrapTrustPolicy } from "../stacks/bootstrap-stack";
import type { AppConfig } from "../stacks/config";
import { APPENDED_PATTERN, monitoringNames, TARGET_DIMENSION } from "../stacks/constructs/alarms";
import { alertKeyPolicy, alertTopicPolicy } from "../stacks/constructs/alert-topic";
import { failureQueuePolicy, sendFailedInvocationsPolicy } from "../stacks/constructs/failure-destination";
import { bucketGuard, PUBLIC_ACCESS_BLOCK, reportBucketLifecycleRules, reportBucketPolicy, VERSIONING_STATUS } from "../stacks/constructs/report-bucket";
import { deadLetterQueuePolicy } from "../stacks/constructs/schedule";
import { accessTrustPolicy, assumeAccessRolePolicy, lambdaTrustPolicy, logWritingPolicy, objectAccessPolicy } from "../stacks/constructs/trust-chain";
import { resourceNames } from "../stacks/iss-tracker-stack";
import { derivedArns } from "../stacks/names";
import type { PolicyDocument } from "../stacks/policy";
import type { Credentials } from "../scripts/shared/aws";

/** moto's default account: credentials that are not a role session act here. */
export const ACCOUNT_A = "123456789012";
const REGION = "us-east-1";

/** One thing to break (all optional; none = a healthy deployment). */
export interface Breakage {
  /** Create the execution role under this path (AWS consoles use /service-role/). */
  readonly execPath?: string;
  /** What the access role's trust names instead of the execution role's ARN. */
  readonly trustPrincipal?: (execArn: string) => string;
  readonly trustExternalId?: string;
  readonly withoutAssumePolicy?: boolean;
  /** The execution role's sts:AssumeRole statement on "*" (a policy as broad as the role allows). */
  readonly assumeAnyRole?: boolean;
  readonly withoutObjectPolicy?: boolean;
  /** Overrides of the function's environment. */
  readonly environment?: Record<string, string>;
  /** A principal added to the access role's trust statement beside the execution role. */
  readonly extraTrustPrincipal?: string;
  /** Drift of the bucket's protections after the deploy: versioning suspended, a public access block setting off, a rule expiring current versions. */
  readonly versioning?: "Suspended";
  readonly publicAccessOff?: keyof typeof PUBLIC_ACCESS_BLOCK;
  readonly expirationDays?: number;
  /** An extra bucket policy statement. */
  readonly extraBucketStatement?: (accessArn: string, bucketArn: string) => PolicyDocument["Statement"][number];
  readonly withoutBootstrapRole?: boolean;
  /** Who the bootstrap role trusts instead of the deployer. */
  readonly bootstrapTrusts?: string;
  readonly withoutFunction?: boolean;
  /** Write the log object first. */
  readonly withLog?: string;
  /**
   * Deploy as npm start does (local mode): no bucket policy. moto applies a bucket
   * policy's Deny to every object call whatever its condition, so reading the object needs this.
   */
  readonly localMode?: boolean;

  // Day two (scripts/doctor/monitoring.ts).
  /** The async invoke config without an on-failure destination. */
  readonly withoutDestination?: boolean;
  /** The execution role without its send-failed-invocations grant. */
  readonly withoutSendGrant?: boolean;
  /** Whom the failure queue's policy admits instead of the execution role. */
  readonly failureQueueSender?: string;
  /** Messages waiting in the on-failure queue / the schedule's dead-letter queue. */
  readonly failedRecords?: number;
  readonly undeliverableEvents?: number;
  /** The topic under the AWS managed key, or under a key whose policy forgot CloudWatch. */
  readonly topicKey?: "aws-managed" | "without-cloudwatch";
  /** No email subscribed to the topic (moto confirms subscriptions at once). */
  readonly withoutSubscription?: boolean;
  readonly withoutMetricFilter?: boolean;
  /** Alarm states by alarm name; every other alarm is OK (set with SetAlarmState, as CloudWatch would). */
  readonly alarmStates?: Readonly<Record<string, StateValue | "(unset)">>;
}

/** A message as EventBridge or Lambda would leave it (the doctor only counts them). */
const RECORD = JSON.stringify({ version: "1.0", requestContext: { condition: "RetriesExhausted", approximateInvokeCount: 3 }, responsePayload: { errorMessage: "simulated" } });

export interface Deployment {
  /** The deployer's credentials in A (an IAM user with administrator rights). */
  readonly deployer: Credentials;
  readonly deployerArn: string;
  /** Administrator credentials in B (like a profile of B). */
  readonly adminB: Credentials;
  readonly execArn: string;
  readonly accessArn: string;
}

const ADMIN: PolicyDocument = { Version: "2012-10-17", Statement: [{ Sid: "All", Effect: "Allow", Action: "*", Resource: "*" }] };

/** Builds the deployment on a freshly reset emulator. */
export async function deploy(endpoint: string, config: AppConfig, broken: Breakage = {}): Promise<Deployment> {
  const names = resourceNames(config.namePrefix);
  const B = config.accountBId;
  const client = <T>(Ctor: new (c: object) => T, credentials: Credentials, extra: object = {}) => new Ctor({ region: REGION, endpoint, credentials, ...extra });
  const root: Credentials = { accessKeyId: "setup", secretAccessKey: "setup" };

  // The deployer in A, and an administrator of B.
  const iam0 = client(IAMClient, root);
  await iam0.send(new CreateUserCommand({ UserName: "deployer" }));
  await iam0.send(new PutUserPolicyCommand({ UserName: "deployer", PolicyName: "admin", PolicyDocument: JSON.stringify(ADMIN) }));
  const key = (await iam0.send(new CreateAccessKeyCommand({ UserName: "deployer" }))).AccessKey!;
  const deployer = { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
  const deployerArn = `arn:aws:iam::${ACCOUNT_A}:user/deployer`;
  const assumed = (await client(STSClient, root).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${B}:role/OrganizationAccountAccessRole`, RoleSessionName: "setup" }))).Credentials!;
  const adminB = { accessKeyId: assumed.AccessKeyId!, secretAccessKey: assumed.SecretAccessKey!, sessionToken: assumed.SessionToken };
  const iamA = client(IAMClient, deployer);
  const iamB = client(IAMClient, adminB);
  const put = (iam: IAMClient, RoleName: string, PolicyName: string, policy: PolicyDocument) =>
    iam.send(new PutRolePolicyCommand({ RoleName, PolicyName, PolicyDocument: JSON.stringify(policy) }));

  // The bootstrap stack (B).
  if (!broken.withoutBootstrapRole) {
    await iamB.send(new CreateRoleCommand({ RoleName: config.bootstrapRoleName, MaxSessionDuration: 3600, AssumeRolePolicyDocument: JSON.stringify(bootstrapTrustPolicy(broken.bootstrapTrusts ?? deployerArn)) }));
    await put(iamB, config.bootstrapRoleName, "manage-iss-tracker", bootstrapPermissionsPolicy(derivedArns(config)));
  }

  // The trust chain.
  const accessArn = `arn:aws:iam::${B}:role/${names.accessRoleName}`;
  const exec = await iamA.send(new CreateRoleCommand({ RoleName: names.executionRoleName, Path: broken.execPath ?? "/", AssumeRolePolicyDocument: JSON.stringify(lambdaTrustPolicy()) }));
  const execArn = exec.Role!.Arn!;
  if (!broken.withoutAssumePolicy) {
    await put(iamA, names.executionRoleName, "assume-report-access-role", assumeAccessRolePolicy(broken.assumeAnyRole ? "*" : accessArn));
  }
  await put(iamA, names.executionRoleName, "write-own-logs", logWritingPolicy(`arn:aws:logs:${REGION}:${ACCOUNT_A}:log-group:/aws/lambda/${names.functionName}`));
  const principal = broken.trustPrincipal ? broken.trustPrincipal(execArn) : execArn;
  const trust = accessTrustPolicy(principal, broken.trustExternalId ?? config.externalId);
  const trustDocument = broken.extraTrustPrincipal
    ? { ...trust, Statement: trust.Statement.map((st) => ({ ...st, Principal: { AWS: [principal, broken.extraTrustPrincipal!] } })) } : trust;
  await iamB.send(new CreateRoleCommand({ RoleName: names.accessRoleName, MaxSessionDuration: 3600, AssumeRolePolicyDocument: JSON.stringify(trustDocument) }));
  const bucketArn = `arn:aws:s3:::${config.bucketName}`;
  if (!broken.withoutObjectPolicy) {
    await put(iamB, names.accessRoleName, "read-write-report-object", objectAccessPolicy(bucketArn, config.objectKey));
  }

  // The bucket (B) with the stack's protections, its policy last (outside local mode), plus any extra statement.
  const s3 = client(S3Client, adminB, { forcePathStyle: true });
  const Bucket = config.bucketName;
  await s3.send(new CreateBucketCommand({ Bucket }));
  const block = Object.fromEntries(Object.entries(PUBLIC_ACCESS_BLOCK).map(([k, v]) => [k[0].toUpperCase() + k.slice(1), k === broken.publicAccessOff ? false : v]));
  await s3.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: block }));
  await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: VERSIONING_STATUS } }));
  const rules: S3LifecycleRule[] = reportBucketLifecycleRules(config).map((r) => ({
    ID: r.id, Status: "Enabled", Filter: {},
    ...(r.noncurrentVersionExpiration ? { NoncurrentVersionExpiration: { NoncurrentDays: r.noncurrentVersionExpiration.noncurrentDays, NewerNoncurrentVersions: r.noncurrentVersionExpiration.newerNoncurrentVersions } } : {}),
    ...(r.abortIncompleteMultipartUpload ? { AbortIncompleteMultipartUpload: { DaysAfterInitiation: r.abortIncompleteMultipartUpload.daysAfterInitiation } } : {}),
  }));
  if (broken.expirationDays !== undefined) rules.push({ ID: "expire-everything", Status: "Enabled", Filter: {}, Expiration: { Days: broken.expirationDays } });
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules: rules } }));
  if (broken.withLog !== undefined) {
    await s3.send(new PutObjectCommand({ Bucket, Key: config.objectKey, Body: broken.withLog }));
  }
  const bucketPolicy = reportBucketPolicy(bucketArn, bucketGuard("aws", B, derivedArns(config)));
  const statements = broken.extraBucketStatement ? [...bucketPolicy.Statement, broken.extraBucketStatement(accessArn, bucketArn)] : bucketPolicy.Statement;
  if (!broken.localMode) {
    await s3.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify({ ...bucketPolicy, Statement: statements }) }));
  }
  if (broken.versioning) await s3.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: broken.versioning } }));

  // The function (A), with the environment the stack gives it.
  if (!broken.withoutFunction) {
    await client(LambdaClient, deployer).send(new CreateFunctionCommand({
      FunctionName: names.functionName,
      Role: execArn,
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      Handler: "index.handler",
      Code: { ZipFile: deterministicZip([{ name: "index.js", data: Buffer.from("exports.handler = async () => ({});\n") }]) },
      Environment: {
        Variables: {
          ACCESS_ROLE_ARN: accessArn,
          EXTERNAL_ID: config.externalId,
          BUCKET_NAME: config.bucketName,
          BUCKET_REGION: config.regionB,
          OBJECT_KEY: config.objectKey,
          ISS_SOURCES: config.issSources.join(","),
          ...broken.environment,
        },
      },
    }));
  }
  await deployMonitoring(endpoint, config, deployer, execArn, broken);
  return { deployer, deployerArn, adminB, execArn, accessArn };
}

/** The on-failure destination, the queues, the alert topic and its key, the metric filter and the alarms. */
async function deployMonitoring(endpoint: string, config: AppConfig, deployer: Credentials, execArn: string, broken: Breakage): Promise<void> {
  const client = <T>(Ctor: new (c: object) => T) => new Ctor({ region: REGION, endpoint, credentials: deployer });
  const names = resourceNames(config.namePrefix);
  const monitoring = monitoringNames(config.namePrefix);
  const arn = (service: string, resource: string) => `arn:aws:${service}:${REGION}:${ACCOUNT_A}:${resource}`;

  // The queues, with the stack's own policies.
  const sqs = client(SQSClient);
  const { failureQueueName: failureName, deadLetterQueueName: dlqName } = resourceNames(config.namePrefix);
  const failureUrl = (await sqs.send(new CreateQueueCommand({ QueueName: failureName, Attributes: {
    SqsManagedSseEnabled: "true", MessageRetentionPeriod: "1209600", Policy: JSON.stringify(failureQueuePolicy(arn("sqs", failureName), broken.failureQueueSender ?? execArn)),
  } }))).QueueUrl!;
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: dlqName, Attributes: {
    SqsManagedSseEnabled: "true", Policy: JSON.stringify(deadLetterQueuePolicy(arn("sqs", dlqName), arn("events", `rule/${resourceNames(config.namePrefix).scheduleRuleName}`))),
  } }))).QueueUrl!;
  for (let i = 0; i < (broken.failedRecords ?? 0); i++) await sqs.send(new SendMessageCommand({ QueueUrl: failureUrl, MessageBody: RECORD }));
  for (let i = 0; i < (broken.undeliverableEvents ?? 0); i++) await sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: "{}" }));
  if (!broken.withoutSendGrant) {
    await client(IAMClient).send(new PutRolePolicyCommand({
      RoleName: names.executionRoleName, PolicyName: "send-failed-invocations", PolicyDocument: JSON.stringify(sendFailedInvocationsPolicy(arn("sqs", failureName))),
    }));
  }
  if (!broken.withoutFunction) {
    await client(LambdaClient).send(new PutFunctionEventInvokeConfigCommand({
      FunctionName: names.functionName, MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 600,
      ...(broken.withoutDestination ? {} : { DestinationConfig: { OnFailure: { Destination: arn("sqs", failureName) } } }),
    }));
  }

  // The topic, under its own key (or not).
  const topicName = `${config.namePrefix}-alerts`;
  let keyId = "alias/aws/sns";
  if (broken.topicKey !== "aws-managed") {
    const keyPolicy = alertKeyPolicy(`arn:aws:iam::${ACCOUNT_A}:root`, ACCOUNT_A);
    const policy = broken.topicKey === "without-cloudwatch" ? { ...keyPolicy, Statement: keyPolicy.Statement.slice(0, 1) } : keyPolicy;
    const kms = client(KMSClient);
    keyId = (await kms.send(new CreateKeyCommand({ Policy: JSON.stringify(policy), Description: "alerts" }))).KeyMetadata!.Arn!;
    await kms.send(new CreateAliasCommand({ AliasName: `alias/${topicName}`, TargetKeyId: keyId }));
  }
  const sns = client(SNSClient);
  const topicArn = (await sns.send(new CreateTopicCommand({ Name: topicName, Attributes: {
    KmsMasterKeyId: keyId, Policy: JSON.stringify(alertTopicPolicy(arn("sns", topicName), arn("cloudwatch", `alarm:${config.namePrefix}-*`), ACCOUNT_A)),
  } }))).TopicArn!;
  if (!broken.withoutSubscription) {
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: "email", Endpoint: "ops@example.com" }));
  }

  // The metric filter and the alarms, each set to a state as CloudWatch would.
  const logs = client(CloudWatchLogsClient);
  const logGroupName = `/aws/lambda/${names.functionName}`;
  await logs.send(new CreateLogGroupCommand({ logGroupName }));
  if (!broken.withoutMetricFilter) {
    await logs.send(new PutMetricFilterCommand({ logGroupName, filterName: monitoring.metricFilter, filterPattern: APPENDED_PATTERN,
      metricTransformations: [{ metricNamespace: monitoring.metricNamespace, metricName: monitoring.metricName, metricValue: "1", dimensions: TARGET_DIMENSION }] }));
  }
  const cloudwatch = client(CloudWatchClient);
  const alarm = async (AlarmName: string, Namespace: string, MetricName: string, Statistic: "Sum" | "Maximum", Period: number, ComparisonOperator: "GreaterThanOrEqualToThreshold" | "LessThanThreshold", TreatMissingData: string) => {
    await cloudwatch.send(new PutMetricAlarmCommand({ AlarmName, Namespace, MetricName, Statistic, Period, EvaluationPeriods: 1, Threshold: 1, ComparisonOperator, TreatMissingData,
      AlarmActions: [topicArn], OKActions: [topicArn] }));
    const state = broken.alarmStates?.[AlarmName] ?? "OK";
    if (state !== "(unset)") await cloudwatch.send(new SetAlarmStateCommand({ AlarmName, StateValue: state, StateReason: `set by the test: ${state}` }));
  };
  await alarm(monitoring.alarms.functionErrors, "AWS/Lambda", "Errors", "Sum", 300, "GreaterThanOrEqualToThreshold", "notBreaching");
  await alarm(monitoring.alarms.failedInvocations, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", 300, "GreaterThanOrEqualToThreshold", "notBreaching");
  await alarm(monitoring.alarms.undeliverableEvents, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", 300, "GreaterThanOrEqualToThreshold", "notBreaching");
  await alarm(monitoring.alarms.logStalled, monitoring.metricNamespace, monitoring.metricName, "Sum", config.alarmMissedRuns * config.schedulePeriodSeconds, "LessThanThreshold", "breaching");
}
