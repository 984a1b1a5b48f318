import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { destroyProcedure, logStillPresentMessage } from "../../../stacks/constructs/report-bucket";
import { only, policyOf, resources, synthTracker, type Json } from "../../../test-support/synth";

const { synthesized, json } = synthTracker({ NONCURRENT_VERSION_DAYS: "45" });
const bucketId = Object.keys(resources(json, "aws_s3_bucket"))[0];
const bucketRef = `\${aws_s3_bucket.${bucketId}.id}`;

describe("report bucket (account B)", () => {
  it("is created in B, named from the configuration, never force-destroyed, and protected from any destroy or replacement", () => {
    expect(synthesized).toHaveResourceWithProperties(S3Bucket, {
      bucket: "iss-tracker-reports-222222222222-us-east-1",
      force_destroy: false,
      provider: "aws.account_b",
      lifecycle: { prevent_destroy: true },
    });
    expect(json.data?.aws_s3_objects).toBeUndefined();
  });

  it("says, in every plan and so right above a refused destroy's error, why it stops and how to proceed deliberately", () => {
    expect(json.output.log_bucket_destroy_procedure).toEqual({
      value: destroyProcedure("iss-tracker-reports-222222222222-us-east-1", "iss_position.txt"),
      description: "Why a destroy stops, and how to proceed deliberately",
    });
    expect(json.output.log_bucket_destroy_procedure.value).toMatch(
      /^s3:\/\/iss-tracker-reports-222222222222-us-east-1\/iss_position\.txt holds the log, so a destroy stops before it touches anything \(prevent_destroy on the bucket\)\. To destroy deliberately: archive the log \(aws s3 cp .* as account B's root user: .*\), delete every version and delete marker in the bucket, and the bucket policy \(aws s3api delete-bucket-policy .*\), then run ALLOW_BUCKET_DESTROY=true npx cdktf destroy iss-tracker\.$/,
    );
  });

  it("lifts prevent_destroy only with ALLOW_BUCKET_DESTROY=true, and then makes every plan (a destroy's refresh too) fail with how to archive and empty the log while it exists", () => {
    const deliberate = synthTracker({ ALLOW_BUCKET_DESTROY: "true", NONCURRENT_VERSION_DAYS: "45" }).json;
    const [bucketId, bucket] = Object.entries<Json>(resources(deliberate, "aws_s3_bucket"))[0];
    expect(bucket.lifecycle).toBeUndefined();
    expect(bucket.force_destroy).toBe(false);
    const reads = Object.entries<Json>(deliberate.data.aws_s3_objects);
    expect(reads.map(([id]) => id.replace(/_[0-9A-F]{8}$/, ""))).toEqual(["report-bucket_destroy-check", "report-bucket_destroy-guard"]);
    const [[, check], [guardId, guard]] = reads;
    expect(guard).toEqual({ provider: "aws.account_b", bucket: `\${aws_s3_bucket.${bucketId}.bucket}`, prefix: "iss_position.txt", max_keys: 1 });
    const message = logStillPresentMessage("iss-tracker-reports-222222222222-us-east-1", "iss_position.txt");
    expect(check).toEqual({
      provider: "aws.account_b",
      bucket: `\${aws_s3_bucket.${bucketId}.bucket}`,
      prefix: `\${contains(data.aws_s3_objects.${guardId}.keys, "iss_position.txt") ? tostring(tonumber(${JSON.stringify(message)})) : "iss_position.txt"}`,
      max_keys: 1,
    });
    expect(message).toMatch(
      /^ALLOW_BUCKET_DESTROY=true, but s3:\/\/iss-tracker-reports-222222222222-us-east-1\/iss_position.txt still holds the log, so nothing was destroyed\. To keep it, archive it first .*aws s3 cp .*every version and delete marker.*destroy again\. To keep the bucket instead, unset ALLOW_BUCKET_DESTROY\.$/,
    );
    expect(message).not.toMatch(/["$]/);
    expect(deliberate.output.log_bucket_destroy_procedure).toBeUndefined();
    // Everything else is the same bucket.
    expect({ ...deliberate.resource, aws_s3_bucket: json.resource.aws_s3_bucket }).toEqual(json.resource);
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

  it("expires noncurrent versions after the configured days, keeps the configured newest ones, and aborts stale multipart uploads after 1 day", () => {
    const lifecycle = only(json, "aws_s3_bucket_lifecycle_configuration");
    expect(lifecycle.bucket).toBe(bucketRef);
    expect(lifecycle.depends_on).toEqual([expect.stringMatching(/^aws_s3_bucket_versioning\./)]);
    expect(lifecycle.rule).toEqual([
      { id: "expire-noncurrent-versions", status: "Enabled", filter: [{}], noncurrent_version_expiration: [{ noncurrent_days: 45, newer_noncurrent_versions: 5 }] },
      { id: "abort-incomplete-multipart-uploads", status: "Enabled", filter: [{}], abort_incomplete_multipart_upload: [{ days_after_initiation: 1 }] },
    ]);
  });

  it("keeps replaced versions 1 day plus the 5 newest by default (a tenth of the storage of 30 days: scripts/bench/storage.ts), and drops newer_noncurrent_versions at 0", () => {
    const byDefault = only(synthTracker().json, "aws_s3_bucket_lifecycle_configuration");
    expect(byDefault.rule[0].noncurrent_version_expiration).toEqual([{ noncurrent_days: 1, newer_noncurrent_versions: 5 }]);
    const none = only(synthTracker({ NEWER_NONCURRENT_VERSIONS: "0", NONCURRENT_VERSION_DAYS: "7" }).json, "aws_s3_bucket_lifecycle_configuration");
    expect(none.rule[0].noncurrent_version_expiration).toEqual([{ noncurrent_days: 7 }]);
  });

  it("denies every request that does not use TLS", () => {
    const bucketPolicy = only(json, "aws_s3_bucket_policy");
    expect(bucketPolicy.provider).toBe("aws.account_b");
    expect(policyOf(bucketPolicy).Statement[0]).toEqual({
      Sid: "DenyInsecureTransport",
      Effect: "Deny",
      Principal: "*",
      Action: "s3:*",
      Resource: [`\${aws_s3_bucket.${bucketId}.arn}`, `\${aws_s3_bucket.${bucketId}.arn}/*`],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
  });

  it("denies every object read, write and delete to anyone but the access role and B's root, and every change of the bucket's protections to the bootstrap role", () => {
    const statements = policyOf(only(json, "aws_s3_bucket_policy")).Statement;
    expect(statements.map((st: Json) => st.Sid)).toEqual(["DenyInsecureTransport", "OnlyAccessRoleTouchesObjects", "TerraformSetsProtectionsOnce"]);
    expect(statements[1]).toEqual({
      Sid: "OnlyAccessRoleTouchesObjects",
      Effect: "Deny",
      Principal: "*",
      Action: ["s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*"],
      Resource: `\${aws_s3_bucket.${bucketId}.arn}/*`,
      Condition: { ArnNotEquals: { "aws:PrincipalArn": ["arn:aws:iam::222222222222:role/iss-tracker-report-writer", "arn:aws:iam::222222222222:root"] } },
    });
    expect(statements[2]).toMatchObject({
      Sid: "TerraformSetsProtectionsOnce",
      Effect: "Deny",
      Principal: "*",
      Resource: `\${aws_s3_bucket.${bucketId}.arn}`,
      Condition: { ArnEquals: { "aws:PrincipalArn": "arn:aws:iam::222222222222:role/terraform" } },
    });
    expect(statements[2].Action).toEqual(expect.arrayContaining(["s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration",
      "s3:PutBucketPublicAccessBlock", "s3:DeleteBucket", "s3:PutBucketObjectLockConfiguration"]));
  });

  it("creates the bucket policy last, so Terraform's role sets every other protection before the policy stops it changing them", () => {
    const dependsOn: string[] = only(json, "aws_s3_bucket_policy").depends_on;
    for (const type of ["aws_s3_bucket_public_access_block", "aws_s3_bucket_ownership_controls", "aws_s3_bucket_server_side_encryption_configuration",
      "aws_s3_bucket_versioning", "aws_s3_bucket_lifecycle_configuration"]) {
      expect(dependsOn).toContain(`${type}.${Object.keys(resources(json, type))[0]}`);
    }
  });

  it("leaves the log object to the function: Terraform manages no object", () => {
    expect(resources(json, "aws_s3_object")).toEqual({});
    expect(resources(json, "aws_s3_bucket_object")).toEqual({});
  });
});
