import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { Construct } from "constructs";
import { policy, render, type PolicyDocument } from "../policy";

export interface ReportBucketProps {
  /** Provider of the account that owns the bucket (B). */
  readonly provider: AwsProvider;
  readonly bucketName: string;
  /** Days before a noncurrent version of the log expires. Default: 30. */
  readonly noncurrentVersionDays?: number;
  /** Days before an unfinished multipart upload is aborted. Default: 1. */
  readonly abortIncompleteUploadDays?: number;
  /**
   * Attach the bucket policy that denies non-TLS requests. Default: true.
   * Only local emulator mode turns it off: moto applies any Deny in a bucket policy to every
   * caller (it ignores the condition), and the emulator speaks plain HTTP on loopback anyway.
   */
  readonly denyInsecureTransport?: boolean;
}

/** Bucket policy: every request must use TLS. */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
  return policy({
    Sid: "DenyInsecureTransport",
    Effect: "Deny",
    Principal: "*",
    Action: "s3:*",
    Resource: [bucketArn, `${bucketArn}/*`],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  });
}

/**
 * The report bucket in B: private (all four public access blocks, BucketOwnerEnforced, so ACLs
 * are off), encrypted at rest (SSE-S3), versioned (every append is recoverable), TLS only, with
 * noncurrent versions and abandoned multipart uploads cleaned up by lifecycle rules.
 *
 * Terraform never owns the log object: the function creates it. `force_destroy` stays false, so
 * `cdktf destroy` or a replacement stops at a non-empty bucket instead of wiping the log.
 */
export class ReportBucket extends Construct {
  readonly bucket: S3Bucket;

  constructor(scope: Construct, id: string, props: ReportBucketProps) {
    super(scope, id);
    const provider = props.provider;
    this.bucket = new S3Bucket(this, "bucket", { provider, bucket: props.bucketName, forceDestroy: false });
    const bucket = this.bucket.id;

    new S3BucketPublicAccessBlock(this, "public-access-block", {
      provider,
      bucket,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, "ownership", {
      provider,
      bucket,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      provider,
      bucket,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });
    const versioning = new S3BucketVersioningA(this, "versioning", {
      provider,
      bucket,
      versioningConfiguration: { status: "Enabled" },
    });
    new S3BucketLifecycleConfiguration(this, "lifecycle", {
      provider,
      bucket,
      dependsOn: [versioning],
      rule: [
        {
          id: "expire-noncurrent-versions",
          status: "Enabled",
          filter: [{}],
          noncurrentVersionExpiration: [{ noncurrentDays: props.noncurrentVersionDays ?? 30 }],
        },
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: [{}],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: props.abortIncompleteUploadDays ?? 1 }],
        },
      ],
    });
    if (props.denyInsecureTransport ?? true) {
      new S3BucketPolicy(this, "policy", {
        provider,
        bucket,
        policy: render(this, tlsOnlyBucketPolicy(this.bucket.arn)),
      });
    }
  }

  /** ARN of the bucket. */
  get arn(): string {
    return this.bucket.arn;
  }

  /** The S3 URI of an object in this bucket. */
  uri(key: string): string {
    return `s3://${this.bucket.bucket}/${key}`;
  }
}
