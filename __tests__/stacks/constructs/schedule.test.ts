import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { only, policyOf, resources, synthTracker } from "../../../test-support/synth";

const { synthesized, json } = synthTracker();
const ruleId = Object.keys(resources(json, "aws_cloudwatch_event_rule"))[0];
const queueId = Object.entries(resources(json, "aws_sqs_queue")).find(([, q]) => q.name === "iss-tracker-schedule-dlq")![0];
const functionId = Object.keys(resources(json, "aws_lambda_function"))[0];

describe("schedule (account A)", () => {
  it("runs every 5 minutes by default and follows SCHEDULE", () => {
    expect(synthesized).toHaveResourceWithProperties(CloudwatchEventRule, {
      name: "iss-tracker-schedule",
      schedule_expression: "rate(5 minutes)",
      provider: "aws",
    });
    expect(synthTracker({ SCHEDULE: "rate(1 hour)" }).synthesized).toHaveResourceWithProperties(CloudwatchEventRule, {
      schedule_expression: "rate(1 hour)",
    });
  });

  it("targets the function with a retry policy and the dead-letter queue", () => {
    const target = only(json, "aws_cloudwatch_event_target");
    expect(target).toMatchObject({
      rule: `\${aws_cloudwatch_event_rule.${ruleId}.name}`,
      arn: `\${aws_lambda_function.${functionId}.arn}`,
      retry_policy: { maximum_retry_attempts: 4, maximum_event_age_in_seconds: 3600 },
      dead_letter_config: { arn: `\${aws_sqs_queue.${queueId}.arn}` },
      provider: "aws",
    });
    expect(target.depends_on).toEqual([expect.stringMatching(/^aws_lambda_permission\./)]);
  });

  it("keeps undeliverable events in an encrypted queue for 14 days", () => {
    expect(synthesized).toHaveResourceWithProperties(SqsQueue, {
      name: "iss-tracker-schedule-dlq",
      sqs_managed_sse_enabled: true,
      message_retention_seconds: 1209600,
    });
  });

  it("lets only this rule send to the dead-letter queue", () => {
    const queuePolicy = Object.values(resources(json, "aws_sqs_queue_policy")).find((p) => p.queue_url === `\${aws_sqs_queue.${queueId}.url}`);
    expect(policyOf(queuePolicy).Statement).toEqual([{
      Sid: "ScheduleRuleSendsUndeliverableEvents",
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: "sqs:SendMessage",
      Resource: `\${aws_sqs_queue.${queueId}.arn}`,
      Condition: { ArnEquals: { "aws:SourceArn": `\${aws_cloudwatch_event_rule.${ruleId}.arn}` } },
    }]);
  });

  it("lets EventBridge invoke the function from this rule only", () => {
    expect(synthesized).toHaveResourceWithProperties(LambdaPermission, {
      action: "lambda:InvokeFunction",
      principal: "events.amazonaws.com",
      source_arn: `\${aws_cloudwatch_event_rule.${ruleId}.arn}`,
      function_name: `\${aws_lambda_function.${functionId}.function_name}`,
    });
    expect(Object.keys(resources(json, "aws_lambda_permission"))).toHaveLength(1);
  });
});
