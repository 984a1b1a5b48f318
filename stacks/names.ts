/**
 * Names and ARNs both stacks derive from the configuration, so the bootstrap stack (deployed once,
 * with B's credentials) and the iss-tracker stack agree on them without reading each other's state.
 * Every ARN starts with the configuration's partition (aws, aws-cn, aws-us-gov, ...).
 */
import { accessRoleName } from "../function/contract";
import type { AppConfig, TargetConfig } from "./config";

/** Resource names derived from the name prefix (the bootstrap role's policy relies on them). */
export function resourceNames(namePrefix: string) {
  return {
    functionName: `${namePrefix}-function`,
    executionRoleName: `${namePrefix}-function-exec`,
    accessRoleName: accessRoleName(namePrefix),
    /** The permissions boundary the bootstrap role must attach to the access role. */
    accessBoundaryPolicyName: `${namePrefix}-report-writer-boundary`,
    scheduleRuleName: `${namePrefix}-schedule`,
    /** The function's on-failure destination. */
    failureQueueName: `${namePrefix}-failed-invocations`,
    /** The schedule's dead-letter queue. */
    deadLetterQueueName: `${namePrefix}-schedule-dlq`,
  };
}

export interface DerivedArns {
  readonly bootstrapRoleArn: string;
  readonly accessRoleArn: string;
  readonly accessBoundaryArn: string;
  readonly bucketArn: string;
  readonly objectArn: string;
}

/** The ARNs in account B that policies name before the resources exist. */
export function derivedArns(config: Pick<AppConfig, "partition" | "accountBId" | "namePrefix" | "bootstrapRoleName" | "bucketName" | "objectKey">): DerivedArns {
  const { partition, accountBId } = config;
  const names = resourceNames(config.namePrefix);
  const bucketArn = `arn:${partition}:s3:::${config.bucketName}`;
  return {
    bootstrapRoleArn: `arn:${partition}:iam::${accountBId}:role/${config.bootstrapRoleName}`,
    accessRoleArn: `arn:${partition}:iam::${accountBId}:role/${names.accessRoleName}`,
    accessBoundaryArn: `arn:${partition}:iam::${accountBId}:policy/${names.accessBoundaryPolicyName}`,
    bucketArn,
    objectArn: `${bucketArn}/${config.objectKey}`,
  };
}

/** The ARNs of one target, in the configuration's partition. */
export function targetArns(config: Pick<AppConfig, "partition" | "namePrefix">, target: TargetConfig): DerivedArns {
  return derivedArns({ partition: config.partition, namePrefix: config.namePrefix, accountBId: target.accountId, bootstrapRoleName: target.bootstrapRoleName, bucketName: target.bucketName, objectKey: target.objectKey });
}

/**
 * What target `index`'s names and ids carry to tell it from the others: nothing for the first (its
 * resources, outputs, alarms and bootstrap stack keep the single pair's names, so adding a target is
 * one line and moves nothing), `-<account>` for the others.
 */
export const targetSuffix = (target: Pick<TargetConfig, "accountId">, index: number) => (index === 0 ? "" : `-${target.accountId}`);
