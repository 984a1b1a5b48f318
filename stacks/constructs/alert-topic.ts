import { DataAwsCallerIdentity } from "@cdktf/provider-aws/lib/data-aws-caller-identity";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { DataAwsRegion } from "@cdktf/provider-aws/lib/data-aws-region";
import { KmsAlias } from "@cdktf/provider-aws/lib/kms-alias";
import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { SnsTopicPolicy } from "@cdktf/provider-aws/lib/sns-topic-policy";
import { SnsTopicSubscription } from "@cdktf/provider-aws/lib/sns-topic-subscription";
import { Construct } from "constructs";
import { policy, render, type PolicyDocument } from "../policy";

export const CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com";

export interface AlertTopicProps {
  readonly provider: AwsProvider;
  /** Base name: the topic is `<name>-alerts`, its key's alias `alias/<name>-alerts`. */
  readonly name: string;
  /** Names of the alarms that may publish, exactly (the topic policy's aws:SourceArn). */
  readonly alarmNames: readonly string[];
  /** An address to subscribe (SNS mails it a confirmation link). Default: no subscription. */
  readonly email?: string;
  /**
   * Days a deleted key waits before it is gone. Default: 7 (KMS's minimum): the key protects
   * alerts in transit only (SNS stores no messages), so nothing stays encrypted under it.
   */
  readonly keyDeletionWindowDays?: number;
}

/**
 * Key policy of the topic's key. A customer managed key, not SNS's AWS managed `alias/aws/sns`:
 * a CloudWatch alarm publishes as the service principal cloudwatch.amazonaws.com, which needs
 * kms:GenerateDataKey* and kms:Decrypt on the topic's key, and an AWS managed key's policy cannot
 * be changed to grant that — an alarm action on such a topic deploys cleanly and delivers nothing
 * (Amazon SNS Developer Guide, "Enable compatibility between event sources from AWS services and
 * encrypted topics": use a customer managed key and add exactly this statement for the service).
 * The first statement is KMS's default: account A administers the key through IAM.
 */
export function alertKeyPolicy(accountRootArn: string, accountId: string): PolicyDocument {
  return policy(
    {
      Sid: "AccountAdministersKeyThroughIam",
      Effect: "Allow",
      Principal: { AWS: accountRootArn },
      Action: "kms:*",
      Resource: "*",
    },
    {
      Sid: "CloudWatchAlarmsEncryptNotifications",
      Effect: "Allow",
      Principal: { Service: CLOUDWATCH_SERVICE },
      Action: ["kms:GenerateDataKey*", "kms:Decrypt"],
      Resource: "*",
      // The confused-deputy guard: only for alarms of this account.
      Condition: { StringEquals: { "aws:SourceAccount": accountId } },
    },
  );
}

/**
 * Topic policy: CloudWatch may publish only for this account's alarms of this deployment
 * (aws:SourceArn / aws:SourceAccount, the confused-deputy guard CloudWatch documents for alarm
 * actions). Principals of account A keep what their own IAM policies give them.
 */
export function alertTopicPolicy(topicArn: string, alarmArns: string | readonly string[], accountId: string): PolicyDocument {
  return policy({
    Sid: "ThisDeploymentsAlarmsPublish",
    Effect: "Allow",
    Principal: { Service: CLOUDWATCH_SERVICE },
    Action: "sns:Publish",
    Resource: topicArn,
    Condition: { ArnEquals: { "aws:SourceArn": alarmArns }, StringEquals: { "aws:SourceAccount": accountId } },
  });
}

/**
 * The alarms' SNS topic in A, encrypted with its own customer managed key that CloudWatch may use,
 * with an optional email subscription.
 */
export class AlertTopic extends Construct {
  readonly topic: SnsTopic;
  readonly key: KmsKey;
  readonly subscription?: SnsTopicSubscription;

  constructor(scope: Construct, id: string, props: AlertTopicProps) {
    super(scope, id);
    const provider = props.provider;
    const account = new DataAwsCallerIdentity(this, "account", { provider }).accountId;
    const partition = new DataAwsPartition(this, "partition", { provider }).partition;
    const region = new DataAwsRegion(this, "region", { provider }).name;

    this.key = new KmsKey(this, "key", {
      provider,
      description: `Encrypts the ${props.name} alarm notifications (SNS topic ${props.name}-alerts)`,
      enableKeyRotation: true,
      deletionWindowInDays: props.keyDeletionWindowDays ?? 7,
      policy: render(this, alertKeyPolicy(`arn:${partition}:iam::${account}:root`, account)),
    });
    new KmsAlias(this, "key-alias", { provider, name: `alias/${props.name}-alerts`, targetKeyId: this.key.keyId });
    this.topic = new SnsTopic(this, "topic", {
      provider,
      name: `${props.name}-alerts`,
      displayName: `${props.name} alarms`,
      kmsMasterKeyId: this.key.arn,
    });
    new SnsTopicPolicy(this, "topic-policy", {
      provider,
      arn: this.topic.arn,
      policy: render(this, alertTopicPolicy(this.topic.arn, props.alarmNames.map((n) => `arn:${partition}:cloudwatch:${region}:${account}:alarm:${n}`), account)),
    });
    if (props.email !== undefined) {
      this.subscription = new SnsTopicSubscription(this, "email", {
        provider,
        topicArn: this.topic.arn,
        protocol: "email",
        endpoint: props.email,
      });
    }
  }
}
