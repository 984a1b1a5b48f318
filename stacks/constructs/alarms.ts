import type { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchLogMetricFilter } from "@cdktf/provider-aws/lib/cloudwatch-log-metric-filter";
import { CloudwatchMetricAlarm } from "@cdktf/provider-aws/lib/cloudwatch-metric-alarm";
import type { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import type { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import type { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { Construct } from "constructs";
import { LOG_MESSAGES } from "../../function/contract";
import { formatDuration } from "../schedule-period";
import { SETTINGS } from "../settings";

/**
 * A metric filter's pattern for the function's lines of one kind (`msg`). A JSON pattern on the
 * line's fields: the function writes each line as one JSON object straight to stdout
 * (function/logger.ts), so the event is that object, and an ISS answer echoed into another line's
 * `message` cannot match, as a term pattern's words could. The line's `target` (the account) is
 * the metric's Target dimension: one series per target from one filter.
 */
export function linePattern(msg: string): string {
  return `{ $.msg = ${JSON.stringify(msg)} }`;
}

/** The log-stalled alarms' filter: every "entry appended" line, counted per target. */
export const APPENDED_PATTERN = linePattern(LOG_MESSAGES.appended);
/** The dimension the function's lines give their metrics: the target's account. */
export const TARGET_DIMENSION = { Target: "$.target" } as const;
/** CloudWatch period of the error and queue alarms: Lambda publishes per minute, SQS every 5 minutes. */
export const STANDARD_PERIOD_SECONDS = 300;

/** Names of the monitoring resources, derived from the name prefix (doctor reads them back). */
export function monitoringNames(namePrefix: string) {
  return {
    metricFilter: `${namePrefix}-entries-appended`,
    metricNamespace: `ISSTracker/${namePrefix}`,
    metricName: "EntriesAppended",
    /** With several targets: the filter and metric of the "target failed" lines, and each target's alarm on it (plus its suffix). */
    targetFailuresFilter: `${namePrefix}-target-failures`,
    targetFailuresMetric: "TargetFailures",
    targetFailedAlarm: `${namePrefix}-target-failed`,
    /** Every deployment's; log-stalled is the first target's (the others' carry their suffix). */
    alarms: {
      functionErrors: `${namePrefix}-function-errors`,
      failedInvocations: `${namePrefix}-failed-invocations`,
      undeliverableEvents: `${namePrefix}-undeliverable-events`,
      logStalled: `${namePrefix}-log-stalled`,
    },
  };
}

/** The name of every alarm a deployment creates, given its targets' suffixes ("" for the first): what may publish to its topic. */
export function alarmNames(namePrefix: string, targetSuffixes: readonly string[]): string[] {
  const names = monitoringNames(namePrefix);
  return [
    names.alarms.functionErrors, names.alarms.failedInvocations, names.alarms.undeliverableEvents,
    ...targetSuffixes.map((suffix) => `${names.alarms.logStalled}${suffix}`),
    ...(targetSuffixes.length > 1 ? targetSuffixes.map((suffix) => `${names.targetFailedAlarm}${suffix}`) : []),
  ];
}

export interface AlarmsProps {
  readonly provider: AwsProvider;
  readonly namePrefix: string;
  /** Where every alarm (and its return to OK) is sent. */
  readonly topic: SnsTopic;
  readonly function: LambdaFunction;
  readonly logGroup: CloudwatchLogGroup;
  /**
   * The targets, each with a log-stalled alarm on its appended entries (`id`: its account, as the
   * function's lines name it; `suffix`: what its alarm's name carries, "" for the first). With more
   * than one, each also gets a target-failed alarm (with one, function-errors is that target's).
   */
  readonly targets: ReadonlyArray<{ readonly id: string; readonly suffix: string }>;
  /** The function's on-failure destination. */
  readonly failureQueue: SqsQueue;
  /** The schedule's dead-letter queue. */
  readonly deadLetterQueue: SqsQueue;
  /** Longest interval between two scheduled runs, in seconds. */
  readonly schedulePeriodSeconds: number;
  /** Periods without an append before log-stalled fires. Default: the ALARM_MISSED_RUNS setting's default. */
  readonly missedRuns?: number;
}

/**
 * What a person is told about, through the alert topic:
 * - function-errors: the function reported an error (Lambda's Errors >= 1 in 5 minutes);
 * - failed-invocations: an event spent all its retries (the on-failure queue holds a record);
 * - undeliverable-events: EventBridge could not deliver an event (the schedule's DLQ holds one);
 * - log-stalled: fewer than 1 entry appended in `missedRuns` schedule periods, missing data
 *   breaching, so a tracker that stopped running (no log line at all) alarms too.
 * Each also notifies when it returns to OK.
 */
export class Alarms extends Construct {
  readonly metricFilter: CloudwatchLogMetricFilter;
  readonly functionErrors: CloudwatchMetricAlarm;
  readonly failedInvocations: CloudwatchMetricAlarm;
  readonly undeliverableEvents: CloudwatchMetricAlarm;
  /** One per target, in the order given. */
  readonly logStalled: readonly CloudwatchMetricAlarm[];
  /** One per target when there are several. */
  readonly targetFailed: readonly CloudwatchMetricAlarm[];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const provider = props.provider;
    const names = monitoringNames(props.namePrefix);
    const missedRuns = props.missedRuns ?? SETTINGS.alarmMissedRuns.default;
    const notify = { alarmActions: [props.topic.arn], okActions: [props.topic.arn] };
    const fn = props.function.functionName;

    this.metricFilter = new CloudwatchLogMetricFilter(this, "entries-appended", {
      provider,
      name: names.metricFilter,
      logGroupName: props.logGroup.name,
      pattern: APPENDED_PATTERN,
      metricTransformation: { namespace: names.metricNamespace, name: names.metricName, value: "1", unit: "Count", dimensions: TARGET_DIMENSION },
    });

    /** An alarm on a metric reaching 1 within 5 minutes; no data means nothing happened. */
    const atLeastOne = (alarmId: string, alarmName: string, description: string,
      metric: { namespace: string; metricName: string; dimensions: Record<string, string>; statistic: string }, dependsOn?: CloudwatchLogMetricFilter[]) =>
      new CloudwatchMetricAlarm(this, alarmId, {
        provider,
        alarmName,
        alarmDescription: description,
        ...metric,
        ...(dependsOn && { dependsOn }),
        period: STANDARD_PERIOD_SECONDS,
        evaluationPeriods: 1,
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        treatMissingData: "notBreaching",
        ...notify,
      });

    this.functionErrors = atLeastOne("function-errors", names.alarms.functionErrors,
      `The tracker function ${props.function.functionName} failed at least once in 5 minutes (each failed attempt counts; Lambda retries a scheduled run twice). ` +
        `Its 'run failed' log line in ${props.logGroup.name} names the error; npm run doctor checks the chain.`,
      { namespace: "AWS/Lambda", metricName: "Errors", dimensions: { FunctionName: fn }, statistic: "Sum" });

    // SQS stops publishing for a queue that stays empty: no data means nothing waiting.
    const queueAlarm = (alarmId: string, alarmName: string, queue: SqsQueue, description: string) =>
      atLeastOne(alarmId, alarmName, description,
        { namespace: "AWS/SQS", metricName: "ApproximateNumberOfMessagesVisible", dimensions: { QueueName: queue.name }, statistic: "Maximum" });
    this.failedInvocations = queueAlarm("failed-invocations", names.alarms.failedInvocations, props.failureQueue,
      `A scheduled run failed all its attempts: Lambda put its invocation record (event, error, attempts) in the queue ${props.failureQueue.name}. ` +
      "Read it, fix the cause (npm run doctor), then delete the messages.");
    this.undeliverableEvents = queueAlarm("undeliverable-events", names.alarms.undeliverableEvents, props.deadLetterQueue,
      `EventBridge could not deliver a scheduled event to the function (its dead-letter queue ${props.deadLetterQueue.name} holds it): ` +
      "the function or its invoke permission is missing or throttled. Read the message's error attributes, fix, then delete it.");

    const window = missedRuns * props.schedulePeriodSeconds;
    const several = props.targets.length > 1;
    this.logStalled = props.targets.map((target) => new CloudwatchMetricAlarm(this, `log-stalled${target.suffix}`, {
      provider,
      alarmName: `${names.alarms.logStalled}${target.suffix}`,
      alarmDescription: `No entry was appended to the ISS log${several ? ` of account ${target.id}` : ""} in ${formatDuration(window)} (${missedRuns} schedule period${missedRuns === 1 ? "" : "s"} of ${formatDuration(props.schedulePeriodSeconds)}). ` +
        "The tracker stopped running or every run fails: see the other alarms, npm run log and npm run doctor.",
      namespace: names.metricNamespace,
      metricName: names.metricName,
      dimensions: { Target: target.id },
      statistic: "Sum",
      period: window,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "breaching",
      ...notify,
      dependsOn: [this.metricFilter],
    }));

    if (!several) {
      this.targetFailed = [];
      return;
    }
    const failures = new CloudwatchLogMetricFilter(this, "target-failures", {
      provider,
      name: names.targetFailuresFilter,
      logGroupName: props.logGroup.name,
      pattern: linePattern(LOG_MESSAGES.targetFailed),
      metricTransformation: { namespace: names.metricNamespace, name: names.targetFailuresMetric, value: "1", unit: "Count", dimensions: TARGET_DIMENSION },
    });
    this.targetFailed = props.targets.map((target) => atLeastOne(`target-failed${target.suffix}`, `${names.targetFailedAlarm}${target.suffix}`,
      `A run could not append to the log of account ${target.id} at least once in 5 minutes (the other targets are not held up). ` +
        `Its 'target failed' line in ${props.logGroup.name} names the error; npm run doctor -- --target ${target.id} checks its chain.`,
      { namespace: names.metricNamespace, metricName: names.targetFailuresMetric, dimensions: { Target: target.id }, statistic: "Sum" }, [failures]));
  }
}
