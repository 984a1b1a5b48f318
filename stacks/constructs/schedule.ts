import { CloudwatchEventRule } from "@cdktf/provider-aws/lib/cloudwatch-event-rule";
import { CloudwatchEventTarget } from "@cdktf/provider-aws/lib/cloudwatch-event-target";
import type { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { LambdaPermission } from "@cdktf/provider-aws/lib/lambda-permission";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SqsQueuePolicy } from "@cdktf/provider-aws/lib/sqs-queue-policy";
import { Construct } from "constructs";
import { policy, render, type PolicyDocument } from "../policy";
import { SETTINGS } from "../settings";

export interface ScheduleProps {
  readonly provider: AwsProvider;
  /** The rule's name. */
  readonly ruleName: string;
  /** The dead-letter queue's name. */
  readonly deadLetterQueueName: string;
  /** The function the rule invokes. */
  readonly target: LambdaFunction;
  /** EventBridge schedule expression. Default: the SCHEDULE setting's default. */
  readonly scheduleExpression?: string;
  /** How often EventBridge retries a failed delivery. Default: 4. */
  readonly maxRetryAttempts?: number;
  /** How long EventBridge keeps retrying an event, in seconds. Default: 3600. */
  readonly maxEventAgeSeconds?: number;
  /** How long undeliverable events stay in the dead-letter queue, in seconds. Default: 14 days. */
  readonly deadLetterRetentionSeconds?: number;
}

/** Queue policy of the dead-letter queue: only this rule's deliveries. */
export function deadLetterQueuePolicy(queueArn: string, ruleArn: string): PolicyDocument {
  return policy(
    {
      Sid: "ScheduleRuleSendsUndeliverableEvents",
      Effect: "Allow",
      Principal: { Service: "events.amazonaws.com" },
      Action: "sqs:SendMessage",
      Resource: queueArn,
      Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
    },
  );
}

/**
 * The schedule: an EventBridge rule invoking the function, retrying failed deliveries and parking
 * undeliverable events in an encrypted SQS dead-letter queue in A. Lambda's resource policy admits
 * events.amazonaws.com from this rule only.
 */
export class Schedule extends Construct {
  readonly rule: CloudwatchEventRule;
  readonly deadLetterQueue: SqsQueue;

  constructor(scope: Construct, id: string, props: ScheduleProps) {
    super(scope, id);
    const provider = props.provider;
    this.deadLetterQueue = new SqsQueue(this, "dead-letter-queue", {
      provider,
      name: props.deadLetterQueueName,
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: props.deadLetterRetentionSeconds ?? 14 * 24 * 3600,
    });
    this.rule = new CloudwatchEventRule(this, "rule", {
      provider,
      name: props.ruleName,
      description: "Runs the ISS tracker",
      scheduleExpression: props.scheduleExpression ?? SETTINGS.schedule.default,
    });
    new SqsQueuePolicy(this, "dead-letter-queue-policy", {
      provider,
      queueUrl: this.deadLetterQueue.url,
      policy: render(this, deadLetterQueuePolicy(this.deadLetterQueue.arn, this.rule.arn)),
    });
    const permission = new LambdaPermission(this, "invoke-permission", {
      provider,
      statementId: "AllowScheduleRule",
      action: "lambda:InvokeFunction",
      functionName: props.target.functionName,
      principal: "events.amazonaws.com",
      sourceArn: this.rule.arn,
    });
    new CloudwatchEventTarget(this, "target", {
      provider,
      rule: this.rule.name,
      targetId: "tracker-function",
      arn: props.target.arn,
      retryPolicy: {
        maximumRetryAttempts: props.maxRetryAttempts ?? 4,
        maximumEventAgeInSeconds: props.maxEventAgeSeconds ?? 3600,
      },
      deadLetterConfig: { arn: this.deadLetterQueue.arn },
      dependsOn: [permission],
    });
  }
}
