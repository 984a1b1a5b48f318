import { DataAwsS3Objects } from "@cdktf/provider-aws/lib/data-aws-s3-objects";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA } from "@cdktf/provider-aws/lib/s3-bucket-versioning";
import { TerraformOutput } from "cdktf";
import { Construct } from "constructs";
import { policy, render, type PolicyDocument } from "../policy";
import { SETTINGS } from "../settings";

export interface ReportBucketProps {
  /** Provider of the account that owns the bucket (B). */
  readonly provider: AwsProvider;
  readonly bucketName: string;
  /**
   * Days a replaced (noncurrent) version of the log is kept: the undo window. Every append stores a
   * new version of the whole log, so storage grows with this (see scripts/bench/storage.ts).
   * Default: the NONCURRENT_VERSION_DAYS setting's default.
   */
  readonly noncurrentVersionDays?: number;
  /** The latest noncurrent versions kept regardless of age (S3 NewerNoncurrentVersions, 0 = off). Default: the NEWER_NONCURRENT_VERSIONS setting's default. */
  readonly newerNoncurrentVersions?: number;
  /**
   * Whether Terraform may destroy or replace the bucket. Default: false (ALLOW_BUCKET_DESTROY's): lifecycle.prevent_destroy
   * stops any such plan before anything is touched (without it, a destroy would strip the public
   * access block, policy, encryption and versioning one by one and only then fail on the non-empty
   * bucket). true is the deliberate path (ALLOW_BUCKET_DESTROY=true): prevent_destroy is lifted and,
   * when `logKey` is given, every plan refuses while that object exists, a destroy's included
   * (unless run with -refresh=false).
   */
  readonly allowDestroy?: boolean;
  /**
   * The log's key. Without allowDestroy: an output explains the protection and the deliberate
   * path (printed by every plan, so right above a refused destroy's error). With allowDestroy: the
   * check that refuses while the log exists. Default: neither.
   */
  readonly logKey?: string;
  /** The Terraform output that explains the destroy protection. Default: "log_bucket_destroy_procedure". */
  readonly destroyProcedureOutput?: string;
  /** Days before an unfinished multipart upload is aborted. Default: 1. */
  readonly abortIncompleteUploadDays?: number;
  /**
   * Attach the bucket policy that denies non-TLS requests. Default: true.
   * Only local emulator mode turns it off: moto applies any Deny in a bucket policy to every
   * caller (it ignores the condition), and the emulator speaks plain HTTP on loopback anyway.
   */
  readonly denyInsecureTransport?: boolean;
  /**
   * Who may touch the bucket's objects, and who may not reconfigure it: with these, the bucket
   * policy also denies every object read, write and delete to anyone but the access role (and the
   * owner's root, the recovery path), and denies the bootstrap role every change of the bucket's
   * protections once the policy exists. Default: none (TLS only).
   */
  readonly guard?: BucketGuard;
}

/** The principals the bucket policy names, as ARNs (the condition keys compare ARNs, so a recreated role matches too). */
export interface BucketGuard {
  /** The only role that may read and write objects (the access role). */
  readonly accessRoleArn: string;
  /** The bucket's account's root user: recovery (S3 lets it change the bucket policy whatever the policy says). */
  readonly ownerRootArn: string;
  /** Terraform's role in the bucket's account: may create the policy once, never change the protections after. */
  readonly bootstrapRoleArn: string;
}

/** The guard of target account `accountId`'s bucket: its access role, its root, its bootstrap role. */
export function bucketGuard(partition: string, accountId: string, arns: { readonly accessRoleArn: string; readonly bootstrapRoleArn: string }): BucketGuard {
  return { accessRoleArn: arns.accessRoleArn, ownerRootArn: `arn:${partition}:iam::${accountId}:root`, bootstrapRoleArn: arns.bootstrapRoleArn };
}

/** The bucket's public access block: all four on. */
export const PUBLIC_ACCESS_BLOCK = { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true } as const;

/** The bucket's versioning: every append keeps the version it replaced. */
export const VERSIONING_STATUS = "Enabled";

/** One lifecycle rule of the bucket, applying to every object (an empty filter). */
export interface LifecycleRule {
  readonly id: string;
  readonly noncurrentVersionExpiration?: { readonly noncurrentDays: number; readonly newerNoncurrentVersions?: number };
  readonly abortIncompleteMultipartUpload?: { readonly daysAfterInitiation: number };
}

/** The bucket's lifecycle rules (all enabled): noncurrent versions expire, abandoned uploads are aborted; no current version ever expires. */
export function reportBucketLifecycleRules(settings: { readonly noncurrentVersionDays?: number; readonly newerNoncurrentVersions?: number; readonly abortIncompleteUploadDays?: number } = {}): LifecycleRule[] {
  const newer = settings.newerNoncurrentVersions ?? SETTINGS.newerNoncurrentVersions.default;
  return [
    {
      id: "expire-noncurrent-versions",
      noncurrentVersionExpiration: {
        noncurrentDays: settings.noncurrentVersionDays ?? SETTINGS.noncurrentVersionDays.default,
        ...(newer > 0 ? { newerNoncurrentVersions: newer } : {}),
      },
    },
    { id: "abort-incomplete-multipart-uploads", abortIncompleteMultipartUpload: { daysAfterInitiation: settings.abortIncompleteUploadDays ?? 1 } },
  ];
}

/**
 * What the bootstrap role may no longer do once the bucket policy exists: every change that would
 * open, expire, stop keeping or erase the log. Terraform creates these once (the policy last);
 * a later change is B's administrators' to make.
 */
export const SET_ONCE_BUCKET_ACTIONS = [
  "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration",
  "s3:PutBucketPublicAccessBlock", "s3:DeleteBucket", "s3:PutBucketObjectLockConfiguration",
  "s3:PutBucketOwnershipControls", "s3:PutEncryptionConfiguration",
] as const;

/** The object actions only the access role (and the owner's root) may perform. */
export const GUARDED_OBJECT_ACTIONS = ["s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*"] as const;

/** The default configuration's note: why a destroy stops, and the deliberate path. */
export function destroyProcedure(bucketName: string, logKey: string): string {
  return `s3://${bucketName}/${logKey} holds the log, so a destroy stops before it touches anything (prevent_destroy on the bucket). ` +
    `To destroy deliberately: archive the log (aws s3 cp s3://${bucketName}/${logKey} ./iss-log-archive.txt as account B's root user: the bucket policy lets only the access role and B's root touch the objects), ` +
    `delete every version and delete marker in the bucket, and the bucket policy (aws s3api delete-bucket-policy --bucket ${bucketName}: Terraform's role may change none of the bucket's protections), ` +
    "then run ALLOW_BUCKET_DESTROY=true npx cdktf destroy iss-tracker.";
}

/** What a deliberate destroy says while the log is still in the bucket. */
export function logStillPresentMessage(bucketName: string, logKey: string): string {
  const log = `s3://${bucketName}/${logKey}`;
  return `ALLOW_BUCKET_DESTROY=true, but ${log} still holds the log, so nothing was destroyed. ` +
    `To keep it, archive it first as account B's root user (the bucket policy lets only the access role and B's root touch the objects): aws s3 cp ${log} ./iss-log-archive.txt ` +
    `(earlier versions: aws s3api list-object-versions --bucket ${bucketName}). Then empty the bucket, every version and delete marker ` +
    `(aws s3api delete-objects --bucket ${bucketName} --delete file://versions.json, or the console's Empty button), delete the bucket policy ` +
    `(aws s3api delete-bucket-policy --bucket ${bucketName}: Terraform's role may not), and destroy again. ` +
    "To keep the bucket instead, unset ALLOW_BUCKET_DESTROY.";
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
 * The report bucket's policy: TLS only; with a guard, also (1) no object read, write or delete by
 * anyone but the access role and the owner's root, whatever an identity policy or a later bucket
 * policy statement allows (an explicit Deny wins), and (2) the bootstrap role can change none of the
 * bucket's protections, the policy itself included. S3 always lets the owner's root user change
 * or delete the bucket policy, so the bucket cannot be locked out.
 */
export function reportBucketPolicy(bucketArn: string, guard?: BucketGuard): PolicyDocument {
  const [tls] = tlsOnlyBucketPolicy(bucketArn).Statement;
  if (!guard) return policy(tls);
  return policy(
    tls,
    {
      Sid: "OnlyAccessRoleTouchesObjects",
      Effect: "Deny",
      Principal: "*",
      Action: [...GUARDED_OBJECT_ACTIONS],
      Resource: `${bucketArn}/*`,
      Condition: { ArnNotEquals: { "aws:PrincipalArn": [guard.accessRoleArn, guard.ownerRootArn] } },
    },
    {
      Sid: "TerraformSetsProtectionsOnce",
      Effect: "Deny",
      Principal: "*",
      Action: [...SET_ONCE_BUCKET_ACTIONS],
      Resource: bucketArn,
      Condition: { ArnEquals: { "aws:PrincipalArn": guard.bootstrapRoleArn } },
    },
  );
}

/**
 * The report bucket in B: private (all four public access blocks, BucketOwnerEnforced, so ACLs
 * are off), encrypted at rest (SSE-S3), versioned (every append is recoverable), TLS only, with
 * noncurrent versions and abandoned multipart uploads cleaned up by lifecycle rules.
 *
 * Terraform never owns the log object: the function creates it. `force_destroy` stays false and
 * `prevent_destroy` is set, so `cdktf destroy` or a replacement stops at plan time, before it
 * strips any protection, unless ALLOW_BUCKET_DESTROY=true asks for it (and then only once the log
 * is gone).
 */
export class ReportBucket extends Construct {
  readonly bucket: S3Bucket;

  constructor(scope: Construct, id: string, props: ReportBucketProps) {
    super(scope, id);
    const provider = props.provider;
    const allowDestroy = props.allowDestroy ?? SETTINGS.allowBucketDestroy.default;
    this.bucket = new S3Bucket(this, "bucket", {
      provider,
      bucket: props.bucketName,
      forceDestroy: false,
      lifecycle: allowDestroy ? undefined : { preventDestroy: true },
    });
    const bucket = this.bucket.id;
    if (props.logKey !== undefined) {
      if (allowDestroy) {
        this.guardDeliberateDestroy(props.bucketName, props.logKey);
      } else {
        // Printed by every plan, so also right above Terraform's prevent_destroy error.
        new TerraformOutput(this, "destroy-procedure", {
          value: destroyProcedure(props.bucketName, props.logKey),
          description: "Why a destroy stops, and how to proceed deliberately",
        }).overrideLogicalId(props.destroyProcedureOutput ?? "log_bucket_destroy_procedure");
      }
    }

    const publicAccessBlock = new S3BucketPublicAccessBlock(this, "public-access-block", { provider, bucket, ...PUBLIC_ACCESS_BLOCK });
    const ownership = new S3BucketOwnershipControls(this, "ownership", {
      provider,
      bucket,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    });
    const encryption = new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      provider,
      bucket,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });
    const versioning = new S3BucketVersioningA(this, "versioning", {
      provider,
      bucket,
      versioningConfiguration: { status: VERSIONING_STATUS },
    });
    const lifecycle = new S3BucketLifecycleConfiguration(this, "lifecycle", {
      provider,
      bucket,
      dependsOn: [versioning],
      rule: reportBucketLifecycleRules(props).map((rule) => ({
        id: rule.id,
        status: "Enabled",
        filter: [{}],
        ...(rule.noncurrentVersionExpiration ? { noncurrentVersionExpiration: [rule.noncurrentVersionExpiration] } : {}),
        ...(rule.abortIncompleteMultipartUpload ? { abortIncompleteMultipartUpload: [rule.abortIncompleteMultipartUpload] } : {}),
      })),
    });
    if (props.denyInsecureTransport ?? true) {
      new S3BucketPolicy(this, "policy", {
        provider,
        bucket,
        policy: render(this, reportBucketPolicy(this.bucket.arn, props.guard)),
        // Last: once it exists, the bootstrap role may change none of the others.
        dependsOn: props.guard ? [publicAccessBlock, ownership, encryption, versioning, lifecycle] : undefined,
      });
    }
  }

  /**
   * The deliberate destroy's check: every plan (a deploy's, and the refresh a destroy runs before it
   * plans anything) lists the log's key and stops while it exists. Terraform evaluates no
   * pre/postcondition in a destroy's refresh, but it does read data sources and evaluate their
   * arguments: so the second read's argument fails, with the message, when the first found the
   * log (tonumber() of the message is how Terraform lets configuration raise an error).
   * `-refresh=false` skips the refresh, and the check with it.
   */
  private guardDeliberateDestroy(bucketName: string, logKey: string): void {
    const guard = new DataAwsS3Objects(this, "destroy-guard", {
      provider: this.bucket.provider,
      bucket: this.bucket.bucket,
      prefix: logKey,
      maxKeys: 1,
    });
    new DataAwsS3Objects(this, "destroy-check", {
      provider: this.bucket.provider,
      bucket: this.bucket.bucket,
      prefix: `\${contains(${guard.fqn}.keys, ${JSON.stringify(logKey)}) ? tostring(tonumber(${JSON.stringify(logStillPresentMessage(bucketName, logKey))})) : ${JSON.stringify(logKey)}}`,
      maxKeys: 1,
    });
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
