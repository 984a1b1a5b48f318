import type { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SqsQueuePolicy } from "@cdktf/provider-aws/lib/sqs-queue-policy";
import { Construct } from "constructs";
import { policy, render, type PolicyDocument } from "../policy";

export interface FailureDestinationProps {
  readonly provider: AwsProvider;
  /** The queue's name (stacks/names.ts: `<prefix>-failed-invocations`). */
  readonly queueName: string;
  /**
   * The function's execution role. Lambda delivers an on-failure record with the EXECUTION ROLE's
   * permissions (AWS Lambda Developer Guide, "Configuring destinations for asynchronous
   * invocation": "add a policy with the required permissions to your function's execution role ...
   * Amazon SQS – sqs:SendMessage"; PutFunctionEventInvokeConfig checks it and answers
   * InvalidParameterValueException "The function's execution role does not have permissions ..."),
   * so this role is the one sender the queue admits and the one identity granted to send.
   */
  readonly executionRole: IamRole;
  /** How long failed-invocation records stay in the queue, in seconds. Default: 14 days (SQS's maximum). */
  readonly retentionSeconds?: number;
}

/**
 * Queue policy: the execution role may send, and nobody else may (an explicit Deny for every other
 * principal, services included: aws:PrincipalArn of a role session is its role's ARN, and a
 * request without one matches ArnNotEquals). Reading and purging stay with A's administrators.
 */
export function failureQueuePolicy(queueArn: string, executionRoleArn: string): PolicyDocument {
  return policy(
    {
      Sid: "ExecutionRoleSendsFailedInvocations",
      Effect: "Allow",
      Principal: { AWS: executionRoleArn },
      Action: "sqs:SendMessage",
      Resource: queueArn,
    },
    {
      Sid: "NoOtherSender",
      Effect: "Deny",
      Principal: "*",
      Action: "sqs:SendMessage",
      Resource: queueArn,
      Condition: { ArnNotEquals: { "aws:PrincipalArn": executionRoleArn } },
    },
  );
}

/** Execution role: may send to exactly the failure queue (what Lambda's on-failure delivery uses). */
export function sendFailedInvocationsPolicy(queueArn: string): PolicyDocument {
  return policy({ Sid: "SendFailedInvocationRecords", Effect: "Allow", Action: "sqs:SendMessage", Resource: queueArn });
}

/**
 * Where an asynchronous invocation goes when every attempt failed (or it grew too old): an
 * encrypted SQS queue in A that keeps Lambda's invocation record (the event, the error, the
 * attempts) for 14 days. Alongside the schedule's dead-letter queue, which only sees events
 * EventBridge could not deliver; without this, an event whose runs all failed is dropped.
 */
export class FailureDestination extends Construct {
  readonly queue: SqsQueue;
  /** The execution role's grant; the invoke config must be created after it. */
  readonly grant: IamRolePolicy;

  constructor(scope: Construct, id: string, props: FailureDestinationProps) {
    super(scope, id);
    const provider = props.provider;
    this.queue = new SqsQueue(this, "queue", {
      provider,
      name: props.queueName,
      sqsManagedSseEnabled: true,
      messageRetentionSeconds: props.retentionSeconds ?? 14 * 24 * 3600,
    });
    new SqsQueuePolicy(this, "queue-policy", {
      provider,
      queueUrl: this.queue.url,
      policy: render(this, failureQueuePolicy(this.queue.arn, props.executionRole.arn)),
    });
    this.grant = new IamRolePolicy(this, "send-grant", {
      provider,
      role: props.executionRole.name,
      name: "send-failed-invocations",
      policy: render(this, sendFailedInvocationsPolicy(this.queue.arn)),
    });
  }
}
