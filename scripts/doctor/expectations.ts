/**
 * What doctor expects to find deployed, derived from the configuration in one place: the names,
 * ARNs, regions and values the stack would deploy with it. Every check reads its expectations
 * from here, never from the configuration itself.
 */
import type { AppConfig } from "../../stacks/config";
import { APPENDED_PATTERN, monitoringNames } from "../../stacks/constructs/alarms";
import { derivedArns, resourceNames } from "../../stacks/names";
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
}

/** Queue names as the stack makes them (see constructs/failure-destination.ts and schedule.ts). */
export const queueNames = (namePrefix: string) => ({ failure: `${namePrefix}-failed-invocations`, deadLetter: `${namePrefix}-schedule-dlq` });

export function expectationsOf(config: AppConfig): Expectations {
  const names = resourceNames(config.namePrefix);
  const arns = derivedArns(config);
  const queues = queueNames(config.namePrefix);
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
    failureQueueName: queues.failure,
    deadLetterQueueName: queues.deadLetter,
    monitoring: monitoringNames(config.namePrefix),
    appendedPattern: APPENDED_PATTERN,
    stalledAfter: formatDuration(config.alarmMissedRuns * config.schedulePeriodSeconds),
    alarmMissedRuns: config.alarmMissedRuns,
  };
}
