import { CloudwatchLogMetricFilter } from "@cdktf/provider-aws/lib/cloudwatch-log-metric-filter";
import { APPENDED_PATTERN, monitoringNames } from "../../../stacks/constructs/alarms";
import { only, resources, synthTracker, type Json } from "../../../test-support/synth";

const { synthesized, json } = synthTracker();
const idOf = (type: string, name: string, key = "name") => Object.entries(resources(json, type)).find(([, r]) => r[key] === name)![0];
const topicArn = `\${aws_sns_topic.${idOf("aws_sns_topic", "iss-tracker-alerts")}.arn}`;
const alarm = (name: string, from: Json = json): Json => Object.values(resources(from, "aws_cloudwatch_metric_alarm")).find((a: Json) => a.alarm_name === name);
const notifies = { alarm_actions: [topicArn], ok_actions: [topicArn], provider: "aws" };

describe("alarms with several targets", () => {
  const several = synthTracker({ ACCOUNT_B_ID: "", TARGETS: "222222222222,333333333333" }).json;
  it("one metric filter per kind of line, and per target its own log-stalled and target-failed alarms on its series", () => {
    expect(Object.values(resources(several, "aws_cloudwatch_log_metric_filter")).map((f: Json) => [f.name, f.pattern])).toEqual([
      ["iss-tracker-entries-appended", '{ $.msg = "entry appended" }'],
      ["iss-tracker-target-failures", '{ $.msg = "target failed" }'],
    ]);
    const byName = Object.fromEntries(Object.values(resources(several, "aws_cloudwatch_metric_alarm")).map((a: Json) => [a.alarm_name, a]));
    expect(Object.keys(byName).sort()).toEqual([...Object.values(monitoringNames("iss-tracker").alarms), "iss-tracker-log-stalled-333333333333",
      "iss-tracker-target-failed", "iss-tracker-target-failed-333333333333"].sort());
    expect(byName["iss-tracker-log-stalled-333333333333"]).toMatchObject({ metric_name: "EntriesAppended", dimensions: { Target: "333333333333" }, treat_missing_data: "breaching" });
    expect(byName["iss-tracker-target-failed"]).toMatchObject({ metric_name: "TargetFailures", dimensions: { Target: "222222222222" }, comparison_operator: "GreaterThanOrEqualToThreshold" });
    expect(byName["iss-tracker-target-failed-333333333333"].alarm_description).toMatch(/^A run could not append to the log of account 333333333333/);
  });
});

describe("alarms (account A)", () => {
  it("counts appended entries per target with a metric filter on the fields of the function's 'entry appended' line", () => {
    expect(APPENDED_PATTERN).toBe('{ $.msg = "entry appended" }');
    expect(synthesized).toHaveResourceWithProperties(CloudwatchLogMetricFilter, {
      name: "iss-tracker-entries-appended",
      log_group_name: `\${aws_cloudwatch_log_group.${idOf("aws_cloudwatch_log_group", "/aws/lambda/iss-tracker-function")}.name}`,
      pattern: APPENDED_PATTERN,
      metric_transformation: { namespace: "ISSTracker/iss-tracker", name: "EntriesAppended", value: "1", unit: "Count", dimensions: { Target: "$.target" } },
      provider: "aws",
    });
  });

  it("has exactly four alarms, all notifying the alert topic on ALARM and on OK", () => {
    const names = monitoringNames("iss-tracker").alarms;
    expect(Object.values(resources(json, "aws_cloudwatch_metric_alarm")).map((a: Json) => a.alarm_name).sort())
      .toEqual(Object.values(names).sort());
    for (const name of Object.values(names)) expect(alarm(name)).toMatchObject(notifies);
  });

  it("function-errors: Lambda Errors >= 1 in 5 minutes, no data = no errors", () => {
    const fnId = Object.keys(resources(json, "aws_lambda_function"))[0];
    expect(alarm("iss-tracker-function-errors")).toMatchObject({
      namespace: "AWS/Lambda", metric_name: "Errors", dimensions: { FunctionName: `\${aws_lambda_function.${fnId}.function_name}` },
      statistic: "Sum", period: 300, evaluation_periods: 1, threshold: 1, comparison_operator: "GreaterThanOrEqualToThreshold",
      treat_missing_data: "notBreaching",
    });
  });

  it("failed-invocations and undeliverable-events: either queue holds a message (ApproximateNumberOfMessagesVisible >= 1)", () => {
    for (const [name, queue] of [["iss-tracker-failed-invocations", "iss-tracker-failed-invocations"], ["iss-tracker-undeliverable-events", "iss-tracker-schedule-dlq"]]) {
      expect(alarm(name)).toMatchObject({
        namespace: "AWS/SQS", metric_name: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: `\${aws_sqs_queue.${idOf("aws_sqs_queue", queue)}.name}` },
        statistic: "Maximum", period: 300, evaluation_periods: 1, threshold: 1, comparison_operator: "GreaterThanOrEqualToThreshold",
        treat_missing_data: "notBreaching",
      });
    }
  });

  it("log-stalled: fewer than 1 append in 3 schedule periods, missing data breaching, after its metric filter exists", () => {
    const stalled = alarm("iss-tracker-log-stalled");
    expect(stalled).toMatchObject({
      namespace: "ISSTracker/iss-tracker", metric_name: "EntriesAppended", statistic: "Sum",
      period: 900, evaluation_periods: 1, threshold: 1, comparison_operator: "LessThanThreshold", treat_missing_data: "breaching",
    });
    // The target's own series of the filter's metric (its Target dimension is the function's line's `target`).
    expect(stalled.dimensions).toEqual({ Target: "222222222222" });
    expect(stalled.depends_on).toEqual([`aws_cloudwatch_log_metric_filter.${Object.keys(resources(json, "aws_cloudwatch_log_metric_filter"))[0]}`]);
    expect(stalled.alarm_description).toMatch(/^No entry was appended to the ISS log in 15 minutes \(3 schedule periods of 5 minutes\)\./);
  });

  it("sizes log-stalled on the schedule and ALARM_MISSED_RUNS (a cron's longest interval)", () => {
    expect(alarm("iss-tracker-log-stalled", synthTracker({ SCHEDULE: "rate(1 hour)" }).json).period).toBe(3 * 3600);
    expect(alarm("iss-tracker-log-stalled", synthTracker({ SCHEDULE: "rate(10 minutes)", ALARM_MISSED_RUNS: "6" }).json).period).toBe(3600);
    const weekdays = alarm("iss-tracker-log-stalled", synthTracker({ SCHEDULE: "cron(0 * ? * MON-FRI *)", ALARM_MISSED_RUNS: "1" }).json);
    expect(weekdays.period).toBe(49 * 3600);
    expect(weekdays.alarm_description).toMatch(/in 2 days 1 hour \(1 schedule period of 2 days 1 hour\)/);
  });

  it("names everything after NAME_PREFIX, so two deployments in one account never share a metric or an alarm", () => {
    const other = synthTracker({ NAME_PREFIX: "iss-prod" }).json;
    expect(Object.values(resources(other, "aws_cloudwatch_metric_alarm")).map((a: Json) => a.alarm_name).sort())
      .toEqual(["iss-prod-failed-invocations", "iss-prod-function-errors", "iss-prod-log-stalled", "iss-prod-undeliverable-events"]);
    expect(only(other, "aws_cloudwatch_log_metric_filter").metric_transformation.namespace).toBe("ISSTracker/iss-prod");
  });
});
