import { TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { trackerEnvironment } from "../function/contract";
import { configureBackend } from "./backend";
import type { AppConfig } from "./config";
import { AlertTopic } from "./constructs/alert-topic";
import { Alarms } from "./constructs/alarms";
import { FailureDestination } from "./constructs/failure-destination";
import { AccountProviders } from "./constructs/providers";
import { ReportBucket } from "./constructs/report-bucket";
import { Schedule } from "./constructs/schedule";
import { TrackerFunction } from "./constructs/tracker-function";
import { TrustChain } from "./constructs/trust-chain";
import { derivedArns, resourceNames } from "./names";

export const TRACKER_STACK_NAME = "iss-tracker";

export { resourceNames } from "./names";

/**
 * The whole system in one stack, two accounts: account A's scheduled function reaches one object in
 * account B's bucket through the trust chain (diagram: README.md, Architecture).
 */
export class IssTrackerStack extends TerraformStack {
  readonly providers: AccountProviders;
  readonly trustChain: TrustChain;
  readonly reportBucket: ReportBucket;
  readonly tracker: TrackerFunction;
  readonly schedule: Schedule;
  readonly failureDestination: FailureDestination;
  readonly alertTopic: AlertTopic;
  readonly alarms: Alarms;

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

    // 4. The function that runs as the execution role, its logs, and where its failed events go.
    this.failureDestination = new FailureDestination(this, "failure-destination", {
      provider: accountA,
      name: config.namePrefix,
      executionRole: this.trustChain.executionRole,
    });
    this.tracker = new TrackerFunction(this, "tracker-function", {
      provider: accountA,
      functionName: names.functionName,
      role: this.trustChain.executionRole,
      logRetentionDays: config.logRetentionDays,
      environment: trackerEnvironment(config.namePrefix, config.objectKey, [{
        account: config.accountBId,
        accessRoleArn: this.trustChain.accessRole.arn,
        externalId: config.externalId,
        bucket: this.reportBucket.bucket.bucket,
        bucketRegion: config.regionB,
        key: config.objectKey,
      }], config.issSources),
      onFailure: this.failureDestination,
    });
    this.trustChain.grantLogWriting(this.tracker.logGroup.arn);

    // 5. What runs it.
    this.schedule = new Schedule(this, "schedule", {
      provider: accountA,
      name: names.scheduleName,
      target: this.tracker.function,
      scheduleExpression: config.schedule,
    });

    // 6. What a person is told: alarms on errors, on either queue holding messages, on a log that
    // stopped growing, sent to an encrypted topic (and an email address, when given).
    this.alertTopic = new AlertTopic(this, "alert-topic", {
      provider: accountA,
      name: config.namePrefix,
      alarmNamePrefix: `${config.namePrefix}-`,
      email: config.alertEmail,
    });
    this.alarms = new Alarms(this, "alarms", {
      provider: accountA,
      namePrefix: config.namePrefix,
      topic: this.alertTopic.topic,
      function: this.tracker.function,
      logGroup: this.tracker.logGroup,
      target: config.accountBId,
      failureQueue: this.failureDestination.queue,
      deadLetterQueue: this.schedule.deadLetterQueue,
      schedulePeriodSeconds: config.schedulePeriodSeconds,
      missedRuns: config.alarmMissedRuns,
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
      failure_queue_url: [this.failureDestination.queue.url, "On-failure destination of the function's scheduled invocations"],
      alert_topic_arn: [this.alertTopic.topic.arn, "SNS topic the alarms notify"],
    };
    for (const [name, [value, description]] of Object.entries(outputs)) {
      new TerraformOutput(this, name, { value, description });
    }
  }
}
