import { KmsKey } from "@cdktf/provider-aws/lib/kms-key";
import { SnsTopic } from "@cdktf/provider-aws/lib/sns-topic";
import { ADMINISTRATOR, evaluate } from "../../../scripts/shared/iam";
import { alertKeyPolicy, alertTopicPolicy } from "../../../stacks/constructs/alert-topic";
import { alarmNames } from "../../../stacks/constructs/alarms";
import { only, policyOf, resources, synthTracker } from "../../../test-support/synth";

const { synthesized, json } = synthTracker();
const keyId = Object.keys(resources(json, "aws_kms_key"))[0];
const topicId = Object.keys(resources(json, "aws_sns_topic"))[0];
const dataId = (type: string) => Object.keys(json.data[type])[0];
const ACCOUNT = `\${data.aws_caller_identity.${dataId("aws_caller_identity")}.account_id}`;
const PARTITION = `\${data.aws_partition.${dataId("aws_partition")}.partition}`;
const REGION = `\${data.aws_region.${dataId("aws_region")}.name}`;

describe("alert topic (account A)", () => {
  it("is an SNS topic encrypted with its own customer managed key (CloudWatch cannot publish to one under alias/aws/sns)", () => {
    expect(synthesized).toHaveResourceWithProperties(SnsTopic, {
      name: "iss-tracker-alerts",
      kms_master_key_id: `\${aws_kms_key.${keyId}.arn}`,
      provider: "aws",
    });
    expect(synthesized).toHaveResourceWithProperties(KmsKey, { enable_key_rotation: true, deletion_window_in_days: 7, provider: "aws" });
    expect(only(json, "aws_kms_alias")).toMatchObject({ name: "alias/iss-tracker-alerts", target_key_id: `\${aws_kms_key.${keyId}.key_id}` });
    expect(JSON.stringify(json)).not.toContain("alias/aws/sns");
  });

  it("lets the account administer the key and CloudWatch (the service) encrypt with it, nothing else", () => {
    expect(policyOf(only(json, "aws_kms_key"))).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Sid: "AccountAdministersKeyThroughIam", Effect: "Allow", Principal: { AWS: `arn:${PARTITION}:iam::${ACCOUNT}:root` }, Action: "kms:*", Resource: "*" },
        {
          Sid: "CloudWatchAlarmsEncryptNotifications", Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" },
          Action: ["kms:GenerateDataKey*", "kms:Decrypt"], Resource: "*", Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT } },
        },
      ],
    });
  });

  it("lets CloudWatch publish only for this deployment's alarms in this account", () => {
    const topicPolicy = only(json, "aws_sns_topic_policy");
    expect(topicPolicy.arn).toBe(`\${aws_sns_topic.${topicId}.arn}`);
    expect(policyOf(topicPolicy)).toEqual({
      Version: "2012-10-17",
      Statement: [{
        Sid: "ThisDeploymentsAlarmsPublish", Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: "sns:Publish",
        Resource: `\${aws_sns_topic.${topicId}.arn}`,
        Condition: {
          ArnEquals: { "aws:SourceArn": ["function-errors", "failed-invocations", "undeliverable-events", "log-stalled"].map((n) => `arn:${PARTITION}:cloudwatch:${REGION}:${ACCOUNT}:alarm:iss-tracker-${n}`) },
          StringEquals: { "aws:SourceAccount": ACCOUNT },
        },
      }],
    });
  });

  it("reads account, region and partition from account A's provider", () => {
    for (const type of ["aws_caller_identity", "aws_partition", "aws_region"]) {
      expect(Object.values<{ provider: string }>(json.data[type]).map((d) => d.provider)).toEqual(["aws"]);
    }
  });

  it("subscribes ALERT_EMAIL when given, and nobody otherwise", () => {
    expect(resources(json, "aws_sns_topic_subscription")).toEqual({});
    const withEmail = synthTracker({ ALERT_EMAIL: "ops@example.com" }).json;
    expect(only(withEmail, "aws_sns_topic_subscription")).toEqual({
      topic_arn: `\${aws_sns_topic.${topicId}.arn}`, protocol: "email", endpoint: "ops@example.com", provider: "aws",
    });
  });

  it("follows NAME_PREFIX in the topic, the alias and the alarms it admits", () => {
    const other = synthTracker({ NAME_PREFIX: "iss-prod" }).json;
    expect(only(other, "aws_sns_topic").name).toBe("iss-prod-alerts");
    expect(only(other, "aws_kms_alias").name).toBe("alias/iss-prod-alerts");
    expect(only(other, "aws_sns_topic_policy").policy).toContain(":alarm:iss-prod-log-stalled\"");
    expect(only(other, "aws_sns_topic_policy").policy).not.toContain("*");
  });
});

describe("the topic's policies, evaluated", () => {
  const A = "123456789012";
  const topicArn = `arn:aws:sns:us-east-1:${A}:iss-tracker-alerts`;
  const resourcePolicy = alertTopicPolicy(topicArn, alarmNames("iss-tracker", [""]).map((n) => `arn:aws:cloudwatch:us-east-1:${A}:alarm:${n}`), A);
  const publish = (sourceArn: string, sourceAccount = A) => evaluate({
    principal: "cloudwatch.amazonaws.com", action: "sns:Publish", resource: topicArn, resourceAccount: A, resourcePolicy,
    context: { "aws:SourceArn": sourceArn, "aws:SourceAccount": sourceAccount },
  });

  it("admits this deployment's alarms and refuses other alarms and other accounts' alarms", async () => {
    expect((await publish(`arn:aws:cloudwatch:us-east-1:${A}:alarm:iss-tracker-log-stalled`)).decision).toBe("Allowed");
    expect((await publish(`arn:aws:cloudwatch:us-east-1:${A}:alarm:someone-elses-alarm`)).decision).toBe("ImplicitlyDenied");
    // Another alarm that merely shares the prefix (anyone in A may create one) is refused too.
    expect((await publish(`arn:aws:cloudwatch:us-east-1:${A}:alarm:iss-tracker-lookalike`)).decision).toBe("ImplicitlyDenied");
    expect((await publish("arn:aws:cloudwatch:us-east-1:999999999999:alarm:iss-tracker-x", "999999999999")).decision).toBe("ImplicitlyDenied");
  });

  it("gives CloudWatch the two KMS actions a publisher to an encrypted topic needs, on this key only", async () => {
    const keyArn = `arn:aws:kms:us-east-1:${A}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const keyPolicy = alertKeyPolicy(`arn:aws:iam::${A}:root`, A);
    for (const action of ["kms:GenerateDataKey", "kms:Decrypt"]) {
      expect((await evaluate({ principal: "cloudwatch.amazonaws.com", action, resource: keyArn, resourceAccount: A, resourcePolicy: keyPolicy, context: { "aws:SourceAccount": A } })).decision).toBe("Allowed");
      // On behalf of another account's alarm: refused.
      expect((await evaluate({ principal: "cloudwatch.amazonaws.com", action, resource: keyArn, resourceAccount: A, resourcePolicy: keyPolicy, context: { "aws:SourceAccount": "999999999999" } })).decision).toBe("ImplicitlyDenied");
    }
    expect((await evaluate({ principal: "cloudwatch.amazonaws.com", action: "kms:ScheduleKeyDeletion", resource: keyArn, resourceAccount: A, resourcePolicy: keyPolicy })).decision).toBe("ImplicitlyDenied");
    // A's administrators keep the key manageable through IAM (no lock-out).
    expect((await evaluate({ principal: `arn:aws:iam::${A}:user/admin`, identityPolicies: ADMINISTRATOR, action: "kms:PutKeyPolicy", resource: keyArn, resourceAccount: A, resourcePolicy: keyPolicy })).decision).toBe("Allowed");
  });
});
