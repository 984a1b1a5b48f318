import { policyOf, resources, stableSnapshot, synthBootstrap, synthTracker } from "../../test-support/synth";

describe("iss-tracker stack", () => {
  const { json } = synthTracker();

  it("synthesizes to the reviewed Terraform (snapshot)", () => {
    expect(stableSnapshot(json)).toMatchSnapshot();
  });

  it("carries no absolute paths, timestamps or emulator settings in the normal output", () => {
    const text = JSON.stringify(json);
    expect(text).not.toContain(process.cwd());
    expect(text).not.toMatch(/\/tmp\/|\/home\/|\/root\//);
    expect(text).not.toMatch(/20\d\d-\d\d-\d\dT/);
    expect(text).not.toMatch(/127\.0\.0\.1|localhost|endpoints|skip_credentials_validation|s3_use_path_style/);
  });

  it("outputs what an operator needs", () => {
    expect(Object.keys(json.output).sort()).toEqual([
      "access_role_arn", "alert_topic_arn", "bucket_name", "dlq_url", "execution_role_arn", "external_id", "failure_queue_url",
      "function_name", "log_bucket_destroy_procedure", "log_group_name", "object_s3_uri", "rule_name",
    ]);
    expect(json.output.object_s3_uri.value).toMatch(/^s3:\/\/\$\{aws_s3_bucket\.[\w-]+\.bucket\}\/iss_position\.txt$/);
  });

  it("keeps state locally unless an S3 backend is configured, at a path relative to the stack's folder (the project root), not this machine's", () => {
    expect(json.terraform.backend).toEqual({ local: { path: "../../../terraform.iss-tracker.tfstate" } });
    expect(synthBootstrap().json.terraform.backend).toEqual({ local: { path: "../../../terraform.bootstrap.tfstate" } });
  });

  it("stores state in S3 with encryption and native locking when STATE_BUCKET is set", () => {
    const remote = synthTracker({ STATE_BUCKET: "my-tf-state", STATE_KEY_PREFIX: "teams/iss/" }).json;
    expect(remote.terraform.backend).toEqual({
      s3: { bucket: "my-tf-state", key: "teams/iss/iss-tracker.tfstate", region: "us-east-1", encrypt: true, use_lockfile: true },
    });
    const locked = synthBootstrap({ STATE_BUCKET: "my-tf-state", STATE_LOCK_TABLE: "tf-locks" }).json;
    expect(locked.terraform.backend).toEqual({
      s3: { bucket: "my-tf-state", key: "iss-tracker/bootstrap.tfstate", region: "us-east-1", encrypt: true, dynamodb_table: "tf-locks" },
    });
  });
});

describe("local emulator mode (npm start)", () => {
  const normal = synthTracker().json;
  const local = synthTracker({ ISS_TRACKER_LOCAL_ENDPOINT: "http://127.0.0.1:5000" }).json;

  it("points both providers at the emulator and keeps their accounts, regions and assume_role", () => {
    for (const [index, provider] of local.provider.aws.entries()) {
      expect(provider).toEqual({
        ...normal.provider.aws[index],
        s3_use_path_style: true,
        skip_credentials_validation: true,
        skip_metadata_api_check: "true",
        skip_region_validation: true,
        endpoints: [{
          cloudwatch: "http://127.0.0.1:5000",
          cloudwatchevents: "http://127.0.0.1:5000",
          cloudwatchlogs: "http://127.0.0.1:5000",
          iam: "http://127.0.0.1:5000",
          kms: "http://127.0.0.1:5000",
          lambda: "http://127.0.0.1:5000",
          s3: "http://127.0.0.1:5000",
          sns: "http://127.0.0.1:5000",
          sqs: "http://127.0.0.1:5000",
          sts: "http://127.0.0.1:5000",
        }],
      });
    }
  });

  it("keeps its state beside the emulator's files, away from real state", () => {
    expect(local.terraform.backend.local.path).toMatch(/\/\.local\/127\.0\.0\.1-5000\/iss-tracker\.tfstate$/);
  });

  it("differs from the normal output only in the providers, the state path and the TLS-only bucket policy", () => {
    const withoutPolicy = { ...normal.resource };
    delete withoutPolicy.aws_s3_bucket_policy;
    expect(local.resource).toEqual(withoutPolicy);
    expect(local.output).toEqual(normal.output);
    expect(policyOf(Object.values(resources(normal, "aws_s3_bucket_policy"))[0]).Statement[0].Sid).toBe("DenyInsecureTransport");
  });
});
