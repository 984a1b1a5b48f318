/**
 * What doctor expects to find deployed, derived from the configuration in one place: the names,
 * ARNs, regions and values the stack would deploy with it. Every check reads its expectations
 * from here, never from the configuration itself.
 */
import type { AppConfig } from "../../stacks/config";
import { APPENDED_PATTERN, monitoringNames } from "../../stacks/constructs/alarms";
import { bucketGuard, PUBLIC_ACCESS_BLOCK, reportBucketLifecycleRules, reportBucketPolicy, VERSIONING_STATUS, type LifecycleRule } from "../../stacks/constructs/report-bucket";
import { accessTrustPolicy } from "../../stacks/constructs/trust-chain";
import { derivedArns, resourceNames, targetSuffix } from "../../stacks/names";
import type { PolicyDocument } from "../../stacks/policy";
import { formatDuration } from "../../stacks/schedule-period";

export interface Expectations {
  readonly partition: string;
  readonly regionA: string;
  readonly regionB: string;
  /** ACCOUNT_A_ID when set. */
  readonly accountAId?: string;
  readonly accountBId: string;
  readonly namePrefix: string;
  readonly functionName: string;
  readonly executionRoleName: string;
  readonly accessRoleName: string;
  readonly accessRoleArn: string;
  readonly bootstrapRoleName: string;
  readonly bootstrapRoleArn: string;
  readonly bucketName: string;
  readonly objectKey: string;
  readonly objectArn: string;
  readonly externalId: string;
  readonly alertEmail?: string;
  readonly failureQueueName: string;
  readonly deadLetterQueueName: string;
  readonly monitoring: ReturnType<typeof monitoringNames>;
  /** The log-stalled alarm's metric filter pattern: the function's lines saying the target's log gained an entry. */
  readonly appendedPattern: string;
  /** How long the log may go without an entry before its alarm fires, in words. */
  readonly stalledAfter: string;
  readonly alarmMissedRuns: number;
  /** The bucket policy the stack writes (outside local mode), from its own policy function. */
  readonly bucketPolicy: PolicyDocument;
  /** The access role's trust policy the stack writes, naming the execution role as deployed. */
  readonly accessTrust: (executionRoleArn: string) => PolicyDocument;
  readonly publicAccessBlock: typeof PUBLIC_ACCESS_BLOCK;
  readonly versioningStatus: string;
  readonly lifecycleRules: readonly LifecycleRule[];
}


/**
 * The configuration as target `index` sees it: the single-account settings (ACCOUNT_B_ID,
 * REGION_B, BUCKET_NAME, ...) are that target's. Doctor checks one target at a time through it.
 */
export function targetView(config: AppConfig, index: number): AppConfig {
  const t = config.targets[index];
  if (!t) throw new Error(`the configuration has no target ${index}`);
  return {
    ...config, targets: [t], accountBId: t.accountId, regionB: t.region, bucketName: t.bucketName, objectKey: t.objectKey, bootstrapRoleName: t.bootstrapRoleName, externalId: t.externalId,
  };
}

/** What doctor expects of target `targetIndex` (default: the first) and of everything in A. */
export function expectationsOf(appConfig: AppConfig, targetIndex = 0): Expectations {
  const config = targetView(appConfig, targetIndex);
  const names = resourceNames(config.namePrefix);
  const arns = derivedArns(config);
  return {
    partition: config.partition,
    regionA: config.regionA,
    regionB: config.regionB,
    accountAId: config.accountAId,
    accountBId: config.accountBId,
    namePrefix: config.namePrefix,
    functionName: names.functionName,
    executionRoleName: names.executionRoleName,
    accessRoleName: names.accessRoleName,
    accessRoleArn: arns.accessRoleArn,
    bootstrapRoleName: config.bootstrapRoleName,
    bootstrapRoleArn: arns.bootstrapRoleArn,
    bucketName: config.bucketName,
    objectKey: config.objectKey,
    objectArn: arns.objectArn,
    externalId: config.externalId,
    alertEmail: config.alertEmail,
    failureQueueName: names.failureQueueName,
    deadLetterQueueName: names.deadLetterQueueName,
    monitoring: targetMonitoringNames(config, targetIndex),
    appendedPattern: APPENDED_PATTERN,
    stalledAfter: formatDuration(config.alarmMissedRuns * config.schedulePeriodSeconds),
    alarmMissedRuns: config.alarmMissedRuns,
    bucketPolicy: reportBucketPolicy(arns.bucketArn, bucketGuard(config.partition, config.accountBId, arns)),
    accessTrust: (executionRoleArn) => accessTrustPolicy(executionRoleArn, config.externalId),
    publicAccessBlock: PUBLIC_ACCESS_BLOCK,
    versioningStatus: VERSIONING_STATUS,
    lifecycleRules: reportBucketLifecycleRules(config),
  };
}

/** The deployment's monitoring names, with the target's own log-stalled alarm (the others' carry their suffix). */
function targetMonitoringNames(config: AppConfig, targetIndex: number): ReturnType<typeof monitoringNames> {
  const names = monitoringNames(config.namePrefix);
  return { ...names, alarms: { ...names.alarms, logStalled: `${names.alarms.logStalled}${targetSuffix(config.targets[0], targetIndex)}` } };
}
