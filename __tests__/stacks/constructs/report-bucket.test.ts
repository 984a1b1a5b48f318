import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { only, policyOf, resources, synthTracker } from "../../../test-support/synth";

const { synthesized, json } = synthTracker({ NONCURRENT_VERSION_DAYS: "45" });
const bucketId = Object.keys(resources(json, "aws_s3_bucket"))[0];
const bucketRef = `\${aws_s3_bucket.${bucketId}.id}`;

describe("report bucket (account B)", () => {
  it("is created in B, named from the configuration, and never force-destroyed", () => {
    expect(synthesized).toHaveResourceWithProperties(S3Bucket, {
      bucket: "iss-tracker-reports-222222222222-us-east-1",
      force_destroy: false,
      provider: "aws.account_b",
    });
  });

  it("blocks every kind of public access", () => {
    expect(synthesized).toHaveResourceWithProperties(S3BucketPublicAccessBlock, {
      bucket: bucketRef,
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
      provider: "aws.account_b",
    });
  });

  it("disables ACLs (BucketOwnerEnforced), encrypts by default and keeps versions", () => {
    expect(only(json, "aws_s3_bucket_ownership_controls").rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
    expect(only(json, "aws_s3_bucket_server_side_encryption_configuration").rule).toEqual([
      { apply_server_side_encryption_by_default: { sse_algorithm: "AES256" } },
    ]);
    expect(only(json, "aws_s3_bucket_versioning").versioning_configuration).toEqual({ status: "Enabled" });
  });

  it("expires noncurrent versions after the configured days and aborts stale multipart uploads after 1 day", () => {
    const lifecycle = only(json, "aws_s3_bucket_lifecycle_configuration");
    expect(lifecycle.bucket).toBe(bucketRef);
    expect(lifecycle.depends_on).toEqual([expect.stringMatching(/^aws_s3_bucket_versioning\./)]);
    expect(lifecycle.rule).toEqual([
      { id: "expire-noncurrent-versions", status: "Enabled", filter: [{}], noncurrent_version_expiration: [{ noncurrent_days: 45 }] },
      { id: "abort-incomplete-multipart-uploads", status: "Enabled", filter: [{}], abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }] },
    ]);
  });

  it("denies every request that does not use TLS", () => {
    const bucketPolicy = only(json, "aws_s3_bucket_policy");
    expect(bucketPolicy.provider).toBe("aws.account_b");
    expect(policyOf(bucketPolicy)).toEqual({
      Version: "2012-10-17",
      Statement: [{
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [`\${aws_s3_bucket.${bucketId}.arn}`, `\${aws_s3_bucket.${bucketId}.arn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      }],
    });
  });

  it("leaves the log object to the function: Terraform manages no object", () => {
    expect(resources(json, "aws_s3_object")).toEqual({});
    expect(resources(json, "aws_s3_bucket_object")).toEqual({});
  });
});
