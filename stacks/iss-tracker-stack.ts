import { TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { trackerEnvironment } from "../function/contract";
import { configureBackend } from "./backend";
import type { AppConfig } from "./config";
import { AlertTopic } from "./constructs/alert-topic";
import { alarmNames, Alarms } from "./constructs/alarms";
import { FailureDestination } from "./constructs/failure-destination";
import { forgetConstruct } from "./constructs/forget";
import { AccountProviders } from "./constructs/providers";
import { bucketGuard, ReportBucket } from "./constructs/report-bucket";
import { Schedule } from "./constructs/schedule";
import { TrackerFunction } from "./constructs/tracker-function";
import { TrustChain } from "./constructs/trust-chain";
import { resourceNames, targetArns, targetSuffix } from "./names";

export const TRACKER_STACK_NAME = "iss-tracker";

export { resourceNames } from "./names";

/**
 * The whole system in one stack, two accounts: account A's scheduled function reaches one object in
 * account B's bucket through the trust chain (diagram: README.md, Architecture).
 */
export class IssTrackerStack extends TerraformStack {
  readonly providers: AccountProviders;
  readonly trustChain: TrustChain;
  /** One per target, in the order of the configuration's targets. */
  readonly reportBuckets: readonly ReportBucket[];
  readonly tracker: TrackerFunction;
  readonly schedule: Schedule;
  readonly failureDestination: FailureDestination;
  readonly alertTopic: AlertTopic;
  readonly alarms: Alarms;
  /** Per retired target (config.retiredTargets), the addresses of its bucket's resources Terraform forgets. */
  readonly forgotten: Readonly<Record<string, readonly string[]>>;

  constructor(scope: Construct, id: string, config: AppConfig) {
    super(scope, id);
    configureBackend(this, id, config);
    const names = resourceNames(config.namePrefix);
    const targets = config.targets;
    const suffix = (i: number) => targetSuffix(targets[i], i);
    // A retired target is never the first, so its names (provider alias, suffix) are its account's
    // whatever its position: it sits after the others.
    const retired = config.retiredTargets;
    const retiredIndex = (j: number) => targets.length + j;

    // 1. Who deploys where: A, and each target account B through its bootstrap role.
    this.providers = new AccountProviders(this, "providers", {
      accountAId: config.accountAId,
      regionA: config.regionA,
      // The retired targets' providers stay until their entries go: Terraform destroys their access roles through them.
      targets: [...targets, ...retired].map((t) => ({ accountId: t.accountId, region: t.region, bootstrapRoleName: t.bootstrapRoleName })),
      partition: config.partition,
      localEndpoint: config.localEndpoint,
    });
    const { accountA } = this.providers;

    // 2. The trust chain: execution role (A) -> each target's access role (B).
    this.trustChain = new TrustChain(this, "trust-chain", {
      accountA,
      executionRoleName: names.executionRoleName,
      targets: targets.map((t, i) => ({
        provider: this.providers.targets[i],
        accessRoleName: names.accessRoleName,
        externalId: t.externalId,
        accessRolePermissionsBoundary: targetArns(config, t).accessBoundaryArn,
        idSuffix: suffix(i),
      })),
    });

    // 3. What each access role may touch: one object in its account's report bucket.
    const reportBucket = (t: typeof targets[number], i: number, idSuffix: string) => new ReportBucket(this, `report-bucket${idSuffix}`, {
      provider: this.providers.targets[i],
      bucketName: t.bucketName,
      noncurrentVersionDays: config.noncurrentVersionDays,
      newerNoncurrentVersions: config.newerNoncurrentVersions,
      allowDestroy: config.allowBucketDestroy,
      logKey: t.objectKey,
      denyInsecureTransport: config.localEndpoint === undefined,
      guard: bucketGuard(config.partition, t.accountId, targetArns(config, t)),
      destroyProcedureOutput: `log_bucket_destroy_procedure${idSuffix.replace(/-/g, "_")}`,
    });
    this.reportBuckets = targets.map((t, i) => {
      const bucket = reportBucket(t, i, suffix(i));
      this.trustChain.grantObjectReadWrite(bucket.arn, t.objectKey, i);
      return bucket;
    });
    // A retired target's bucket, built as it was deployed and then forgotten: Terraform stops
    // managing it and never destroys it (its access role, no longer declared, is destroyed).
    this.forgotten = Object.fromEntries(retired.map((t, j) =>
      [t.accountId, forgetConstruct(reportBucket(t, retiredIndex(j), targetSuffix(t, retiredIndex(j))))]));

    // 4. The function that runs as the execution role, its logs, and where its failed events go.
    this.failureDestination = new FailureDestination(this, "failure-destination", {
      provider: accountA,
      queueName: names.failureQueueName,
      executionRole: this.trustChain.executionRole,
    });
    this.tracker = new TrackerFunction(this, "tracker-function", {
      provider: accountA,
      functionName: names.functionName,
      role: this.trustChain.executionRole,
      logRetentionDays: config.logRetentionDays,
      // One target: its bucket by reference, as the single pair has it. Several: the names themselves,
      // so that the environment can leave out what the function derives.
      environment: trackerEnvironment(config.namePrefix, config.objectKey, targets.map((t, i) => ({
        account: t.accountId,
        accessRoleArn: this.trustChain.accessRoles[i].arn,
        externalId: t.externalId,
        bucket: targets.length === 1 ? this.reportBuckets[i].bucket.bucket : t.bucketName,
        bucketRegion: t.region,
        key: t.objectKey,
      })), config.issSources),
      onFailure: this.failureDestination,
    });
    this.trustChain.grantLogWriting(this.tracker.logGroup.arn);

    // 5. What runs it.
    this.schedule = new Schedule(this, "schedule", {
      provider: accountA,
      ruleName: names.scheduleRuleName,
      deadLetterQueueName: names.deadLetterQueueName,
      target: this.tracker.function,
      scheduleExpression: config.schedule,
    });

    // 6. What a person is told: alarms on errors, on either queue holding messages, on a log that
    // stopped growing (one per target), sent to an encrypted topic (and an email address, when given).
    this.alertTopic = new AlertTopic(this, "alert-topic", {
      provider: accountA,
      name: config.namePrefix,
      alarmNames: alarmNames(config.namePrefix, targets.map((_, i) => suffix(i))),
      email: config.alertEmail,
    });
    this.alarms = new Alarms(this, "alarms", {
      provider: accountA,
      namePrefix: config.namePrefix,
      topic: this.alertTopic.topic,
      function: this.tracker.function,
      logGroup: this.tracker.logGroup,
      targets: targets.map((t, i) => ({ id: t.accountId, suffix: suffix(i) })),
      failureQueue: this.failureDestination.queue,
      deadLetterQueue: this.schedule.deadLetterQueue,
      schedulePeriodSeconds: config.schedulePeriodSeconds,
      missedRuns: config.alarmMissedRuns,
    });

    // The single pair's outputs in their order, each target's after the first with its account in the name.
    const perTarget = (i: number): Record<string, [string, string]> => {
      const of = suffix(i).replace(/-/g, "_");
      const where = i === 0 ? "" : ` (account ${targets[i].accountId})`;
      return {
        [`access_role_arn${of}`]: [this.trustChain.accessRoles[i].arn, `Role in B the function assumes${where}`],
        [`external_id${of}`]: [targets[i].externalId, `sts:ExternalId the access role requires${where}`],
        [`bucket_name${of}`]: [this.reportBuckets[i].bucket.bucket, `Report bucket in B${where}`],
        [`object_s3_uri${of}`]: [this.reportBuckets[i].uri(targets[i].objectKey), `The log object${where}`],
      };
    };
    const outputs: Record<string, [string, string]> = {
      execution_role_arn: [this.trustChain.executionRole.arn, "Lambda execution role in A"],
      ...Object.assign({}, ...targets.map((_, i) => perTarget(i))),
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

  /** The first target's report bucket: the single pair's. */
  get reportBucket(): ReportBucket {
    return this.reportBuckets[0];
  }
}
