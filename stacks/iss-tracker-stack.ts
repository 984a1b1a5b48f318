import { TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { configureBackend } from "./backend";
import type { AppConfig } from "./config";
import { AccountProviders } from "./constructs/providers";
import { ReportBucket } from "./constructs/report-bucket";
import { Schedule } from "./constructs/schedule";
import { TrackerFunction } from "./constructs/tracker-function";
import { TrustChain } from "./constructs/trust-chain";
import { derivedArns, resourceNames } from "./names";

export const TRACKER_STACK_NAME = "iss-tracker";

export { resourceNames } from "./names";

/**
 * The whole system in one stack, two accounts:
 *
 *   A (default provider)                       B (account_b provider, via the bootstrap role)
 *   EventBridge rule ──invoke──> function
 *                                  │ runs as
 *                            execution role ──sts:AssumeRole + ExternalId──> access role
 *                                                                               │ Get/Put one key
 *                                                                          report bucket
 */
export class IssTrackerStack extends TerraformStack {
  readonly providers: AccountProviders;
  readonly trustChain: TrustChain;
  readonly reportBucket: ReportBucket;
  readonly tracker: TrackerFunction;
  readonly schedule: Schedule;

  constructor(scope: Construct, id: string, config: AppConfig) {
    super(scope, id);
    configureBackend(this, id, config);
    const names = resourceNames(config.namePrefix);

    // 1. Who deploys where.
    this.providers = new AccountProviders(this, "providers", {
      accountBId: config.accountBId,
      accountAId: config.accountAId,
      regionA: config.regionA,
      regionB: config.regionB,
      bootstrapRoleName: config.bootstrapRoleName,
      partition: config.partition,
      localEndpoint: config.localEndpoint,
    });
    const { accountA, accountB } = this.providers;

    // 2. The trust chain: execution role (A) -> access role (B).
    this.trustChain = new TrustChain(this, "trust-chain", {
      accountA,
      accountB,
      executionRoleName: names.executionRoleName,
      accessRoleName: names.accessRoleName,
      externalId: config.externalId,
      accessRolePermissionsBoundary: derivedArns(config).accessBoundaryArn,
    });

    // 3. What the access role may touch: one object in the report bucket.
    this.reportBucket = new ReportBucket(this, "report-bucket", {
      provider: accountB,
      bucketName: config.bucketName,
      noncurrentVersionDays: config.noncurrentVersionDays,
      newerNoncurrentVersions: config.newerNoncurrentVersions,
      allowDestroy: config.allowBucketDestroy,
      logKey: config.objectKey,
      denyInsecureTransport: config.localEndpoint === undefined,
    });
    this.trustChain.grantObjectReadWrite(this.reportBucket.arn, config.objectKey);

    // 4. The function that runs as the execution role, and its logs.
    this.tracker = new TrackerFunction(this, "tracker-function", {
      provider: accountA,
      functionName: names.functionName,
      role: this.trustChain.executionRole,
      logRetentionDays: config.logRetentionDays,
      environment: {
        ACCESS_ROLE_ARN: this.trustChain.accessRole.arn,
        EXTERNAL_ID: config.externalId,
        BUCKET_NAME: this.reportBucket.bucket.bucket,
        BUCKET_REGION: config.regionB,
        OBJECT_KEY: config.objectKey,
        ISS_SOURCES: config.issSources.join(","),
      },
    });
    this.trustChain.grantLogWriting(this.tracker.logGroup.arn);

    // 5. What runs it.
    this.schedule = new Schedule(this, "schedule", {
      provider: accountA,
      name: names.scheduleName,
      target: this.tracker.function,
      scheduleExpression: config.schedule,
    });

    const outputs: Record<string, [string, string]> = {
      execution_role_arn: [this.trustChain.executionRole.arn, "Lambda execution role in A"],
      access_role_arn: [this.trustChain.accessRole.arn, "Role in B the function assumes"],
      external_id: [config.externalId, "sts:ExternalId the access role requires"],
      bucket_name: [this.reportBucket.bucket.bucket, "Report bucket in B"],
      object_s3_uri: [this.reportBucket.uri(config.objectKey), "The log object"],
      function_name: [this.tracker.function.functionName, "Tracker function in A"],
      log_group_name: [this.tracker.logGroup.name, "The function's log group"],
      rule_name: [this.schedule.rule.name, "EventBridge schedule rule"],
      dlq_url: [this.schedule.deadLetterQueue.url, "Dead-letter queue of the schedule"],
    };
    for (const [name, [value, description]] of Object.entries(outputs)) {
      new TerraformOutput(this, name, { value, description });
    }
  }
}
