import { synthTracker } from "../../../test-support/synth";

describe("account providers", () => {
  it("declares the default provider for A and the account_b alias that assumes the bootstrap role in B", () => {
    const { json } = synthTracker();
    expect(json.provider.aws).toEqual([
      {
        region: "us-east-1",
        default_tags: [{ tags: { Project: "iss-tracker", ManagedBy: "cdktf" } }],
      },
      {
        alias: "account_b",
        region: "us-east-1",
        allowed_account_ids: ["222222222222"],
        assume_role: [{ role_arn: "arn:aws:iam::222222222222:role/terraform", session_name: "iss-tracker-terraform" }],
        default_tags: [{ tags: { Project: "iss-tracker", ManagedBy: "cdktf" } }],
      },
    ]);
  });

  it("pins account A and follows regions and the bootstrap role name", () => {
    const { json } = synthTracker({ ACCOUNT_A_ID: "111111111111", REGION_A: "eu-west-1", REGION_B: "eu-west-2", BOOTSTRAP_ROLE_NAME: "deployer" });
    const [a, b] = json.provider.aws;
    expect(a).toMatchObject({ region: "eu-west-1", allowed_account_ids: ["111111111111"] });
    expect(b).toMatchObject({ region: "eu-west-2", assume_role: [{ role_arn: "arn:aws:iam::222222222222:role/deployer" }] });
  });

  it("assumes the bootstrap role in the regions' partition", () => {
    const { json } = synthTracker({ REGION_A: "cn-north-1", REGION_B: "cn-north-1" });
    expect(json.provider.aws[1].assume_role).toEqual([{ role_arn: "arn:aws-cn:iam::222222222222:role/terraform", session_name: "iss-tracker-terraform" }]);
  });

  it("puts every B resource on the account_b provider and every A resource on the default one", () => {
    const { json } = synthTracker();
    const placement: Record<string, string[]> = {};
    for (const [type, byId] of Object.entries<Record<string, { provider: string }>>(json.resource)) {
      for (const resource of Object.values(byId)) (placement[resource.provider] ??= []).push(type);
    }
    expect([...new Set(placement["aws.account_b"])].sort()).toEqual([
      "aws_iam_role", "aws_iam_role_policy", "aws_s3_bucket", "aws_s3_bucket_lifecycle_configuration",
      "aws_s3_bucket_ownership_controls", "aws_s3_bucket_policy", "aws_s3_bucket_public_access_block",
      "aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_versioning",
    ]);
    expect([...new Set(placement.aws)].sort()).toEqual([
      "aws_cloudwatch_event_rule", "aws_cloudwatch_event_target", "aws_cloudwatch_log_group", "aws_cloudwatch_log_metric_filter",
      "aws_cloudwatch_metric_alarm", "aws_iam_role", "aws_iam_role_policy", "aws_kms_alias", "aws_kms_key", "aws_lambda_function",
      "aws_lambda_function_event_invoke_config", "aws_lambda_permission", "aws_sns_topic", "aws_sns_topic_policy",
      "aws_sqs_queue", "aws_sqs_queue_policy",
    ]);
    expect(Object.keys(placement).sort()).toEqual(["aws", "aws.account_b"]);
    for (const byId of Object.values<Record<string, { provider: string }>>(json.data)) {
      for (const source of Object.values(byId)) expect(source.provider).toBe("aws");
    }
  });
});
