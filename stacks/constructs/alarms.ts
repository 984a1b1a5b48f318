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
 * The metric filter's pattern for one target: the function's line saying that target's log gained
 * an entry. A JSON pattern on the line's fields: the function writes each line as one JSON object
 * straight to stdout (function/logger.ts), so the event is that object, and an ISS answer echoed
 * into another line's `message` cannot match, as a term pattern's words could.
 */
export function appendedPattern(target: string): string {
  return `{ ($.msg = ${JSON.stringify(LOG_MESSAGES.appended)}) && ($.target = ${JSON.stringify(target)}) }`;
}
/** CloudWatch period of the error and queue alarms: Lambda publishes per minute, SQS every 5 minutes. */
export const STANDARD_PERIOD_SECONDS = 300;

/** Names of the monitoring resources, derived from the name prefix (doctor reads them back). */
export function monitoringNames(namePrefix: string) {
  return {
    metricFilter: `${namePrefix}-entries-appended`,
    metricNamespace: `ISSTracker/${namePrefix}`,
    metricName: "EntriesAppended",
    alarms: {
      functionErrors: `${namePrefix}-function-errors`,
      failedInvocations: `${namePrefix}-failed-invocations`,
      undeliverableEvents: `${namePrefix}-undeliverable-events`,
      logStalled: `${namePrefix}-log-stalled`,
    },
  };
}

export interface AlarmsProps {
  readonly provider: AwsProvider;
  readonly namePrefix: string;
  /** Where every alarm (and its return to OK) is sent. */
  readonly topic: SnsTopic;
  readonly function: LambdaFunction;
  readonly logGroup: CloudwatchLogGroup;
  /** The target whose appended entries log-stalled counts (its account id, as the function's lines name it). */
  readonly target: string;
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
  readonly logStalled: CloudwatchMetricAlarm;

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
      pattern: appendedPattern(props.target),
      metricTransformation: { namespace: names.metricNamespace, name: names.metricName, value: "1", unit: "Count" },
    });

    /** An alarm on a metric reaching 1 within 5 minutes; no data means nothing happened. */
    const atLeastOne = (alarmId: string, alarmName: string, description: string,
      metric: { namespace: string; metricName: string; dimensions: Record<string, string>; statistic: string }) =>
      new CloudwatchMetricAlarm(this, alarmId, {
        provider,
        alarmName,
        alarmDescription: description,
        ...metric,
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
    this.logStalled = new CloudwatchMetricAlarm(this, "log-stalled", {
      provider,
      alarmName: names.alarms.logStalled,
      alarmDescription: `No entry was appended to the ISS log in ${formatDuration(window)} (${missedRuns} schedule period${missedRuns === 1 ? "" : "s"} of ${formatDuration(props.schedulePeriodSeconds)}). ` +
        "The tracker stopped running or every run fails: see the other alarms, npm run log and npm run doctor.",
      namespace: names.metricNamespace,
      metricName: names.metricName,
      statistic: "Sum",
      period: window,
      evaluationPeriods: 1,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "breaching",
      ...notify,
      dependsOn: [this.metricFilter],
    });
  }
}
