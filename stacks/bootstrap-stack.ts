import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { configureBackend } from "./backend";
import type { AppConfig, TargetConfig } from "./config";
import { localProviderSettings } from "./constructs/providers";
import { accessBoundaryPolicy } from "./constructs/trust-chain";
import { resourceNames, targetArns } from "./names";
import { addPlanRoleInB } from "./pipeline-stack";
import { policy, render, type PolicyDocument } from "./policy";

export const BOOTSTRAP_STACK_NAME = "bootstrap";

/** Trust policy of the bootstrap role: exactly the deploying principal of account A (no session tags: the provider passes none). */
export function bootstrapTrustPolicy(deployerPrincipalArn: string): PolicyDocument {
  return policy({
    Sid: "DeployerAssumesRole",
    Effect: "Allow",
    Principal: { AWS: deployerPrincipalArn },
    Action: "sts:AssumeRole",
  });
}

/**
 * Every action the bootstrap role is granted, with the hashicorp/aws 5.100.0 calls that need it.
 * Recorded on the emulator (the rehearsal's IAM gate runs Terraform's account-B calls under this
 * policy, with the real action names of scripts/emulator/aws-actions.ts) through create, refresh,
 * an update and destroy; the end-to-end suite asserts both ways that every call is granted and
 * every grant is used. Nothing else: no wildcard, no object action, no other role or bucket.
 */
export const BOOTSTRAP_GRANTS = {
  /** Changes to the access role: allowed only while it carries the permissions boundary. */
  accessRoleChanges: {
    "iam:CreateRole": "aws_iam_role create (with the boundary and the default tags)",
    "iam:UpdateAssumeRolePolicy": "aws_iam_role update of the trust policy (e.g. a new EXTERNAL_ID)",
    "iam:PutRolePolicy": "aws_iam_role_policy create and update",
    "iam:DeleteRolePolicy": "aws_iam_role_policy destroy",
    "iam:DeleteRole": "aws_iam_role destroy",
    "iam:PutRolePermissionsBoundary": "aws_iam_role update that attaches this boundary (and no other) to an access role without it: one deployed before the boundary existed, or one whose boundary was removed by hand",
  },
  /** Reads and tags of the access role (no boundary condition key exists for TagRole; reads change nothing). */
  accessRoleReads: {
    "iam:GetRole": "aws_iam_role read (refresh, after create)",
    "iam:ListRolePolicies": "aws_iam_role read (inline policy names)",
    "iam:ListAttachedRolePolicies": "aws_iam_role read (managed policy ARNs)",
    "iam:GetRolePolicy": "aws_iam_role_policy read",
    "iam:ListInstanceProfilesForRole": "aws_iam_role destroy (detaches instance profiles first)",
    "iam:TagRole": "aws_iam_role create with tags (tag-on-create authorizes as TagRole too)",
  },
  /** The report bucket's configuration; never its objects. */
  reportBucket: {
    "s3:CreateBucket": "aws_s3_bucket create",
    "s3:DeleteBucket": "aws_s3_bucket destroy",
    "s3:ListBucket": "HeadBucket: every read of the bucket and of each of its configuration resources (a 403 would make the provider plan to recreate the bucket)",
    "s3:GetBucketTagging": "aws_s3_bucket read",
    "s3:PutBucketTagging": "aws_s3_bucket create and update (default tags)",
    "s3:GetBucketPolicy": "aws_s3_bucket and aws_s3_bucket_policy read",
    "s3:PutBucketPolicy": "aws_s3_bucket_policy create and update (the TLS-only policy)",
    "s3:DeleteBucketPolicy": "aws_s3_bucket_policy destroy",
    "s3:GetBucketAcl": "aws_s3_bucket read",
    "s3:GetBucketCORS": "aws_s3_bucket read",
    "s3:GetBucketWebsite": "aws_s3_bucket read",
    "s3:GetBucketVersioning": "aws_s3_bucket and aws_s3_bucket_versioning read",
    "s3:PutBucketVersioning": "aws_s3_bucket_versioning create, and its destroy (suspends versioning)",
    "s3:GetAccelerateConfiguration": "aws_s3_bucket read",
    "s3:GetBucketRequestPayment": "aws_s3_bucket read",
    "s3:GetBucketLogging": "aws_s3_bucket read",
    "s3:GetLifecycleConfiguration": "aws_s3_bucket and aws_s3_bucket_lifecycle_configuration read (and the provider's wait after a change)",
    "s3:PutLifecycleConfiguration": "aws_s3_bucket_lifecycle_configuration create, update and destroy (DeleteBucketLifecycle)",
    "s3:GetReplicationConfiguration": "aws_s3_bucket read",
    "s3:GetEncryptionConfiguration": "aws_s3_bucket and aws_s3_bucket_server_side_encryption_configuration read",
    "s3:PutEncryptionConfiguration": "aws_s3_bucket_server_side_encryption_configuration create and destroy (DeleteBucketEncryption)",
    "s3:GetBucketObjectLockConfiguration": "aws_s3_bucket read (object lock stays off: PutBucketObjectLockConfiguration is not granted)",
    "s3:GetBucketPublicAccessBlock": "aws_s3_bucket_public_access_block read",
    "s3:PutBucketPublicAccessBlock": "aws_s3_bucket_public_access_block create and destroy (DeletePublicAccessBlock)",
    "s3:GetBucketOwnershipControls": "aws_s3_bucket_ownership_controls read",
    "s3:PutBucketOwnershipControls": "aws_s3_bucket_ownership_controls create and destroy (DeleteBucketOwnershipControls)",
  },
} as const satisfies Record<string, Record<string, string>>;

export type BootstrapGrant = keyof (typeof BOOTSTRAP_GRANTS)[keyof typeof BOOTSTRAP_GRANTS];

/** Every granted action, in the order of BOOTSTRAP_GRANTS. */
export function bootstrapGrantedActions(): string[] {
  return Object.values(BOOTSTRAP_GRANTS).flatMap((group) => Object.keys(group));
}

export interface BootstrapPolicyArns {
  readonly accessRoleArn: string;
  readonly accessBoundaryArn: string;
  readonly bucketArn: string;
}

/**
 * What Terraform needs in B to manage the iss-tracker stack's B half, and nothing more: the
 * access role (only with its permissions boundary attached) and the report bucket's configuration.
 * The explicit denies hold even if an allow is added later, or a bucket policy grants more:
 * the boundary can be neither removed, replaced nor edited; the log's objects cannot be read,
 * written or deleted by Terraform; and Terraform cannot assume the access role itself.
 */
export function bootstrapPermissionsPolicy(arns: BootstrapPolicyArns): PolicyDocument {
  const withBoundary = { StringEquals: { "iam:PermissionsBoundary": arns.accessBoundaryArn } };
  return policy(
    {
      Sid: "ChangeAccessRoleOnlyWithinBoundary",
      Effect: "Allow",
      Action: Object.keys(BOOTSTRAP_GRANTS.accessRoleChanges),
      Resource: arns.accessRoleArn,
      Condition: withBoundary,
    },
    {
      Sid: "ReadAndTagAccessRole",
      Effect: "Allow",
      Action: Object.keys(BOOTSTRAP_GRANTS.accessRoleReads),
      Resource: arns.accessRoleArn,
    },
    {
      Sid: "ManageReportBucketConfiguration",
      Effect: "Allow",
      Action: Object.keys(BOOTSTRAP_GRANTS.reportBucket),
      Resource: arns.bucketArn,
    },
    {
      Sid: "NeverRemoveBoundary",
      Effect: "Deny",
      Action: "iam:DeleteRolePermissionsBoundary",
      Resource: "*",
    },
    {
      Sid: "NeverReplaceBoundary",
      Effect: "Deny",
      Action: "iam:PutRolePermissionsBoundary",
      Resource: "*",
      Condition: { StringNotEquals: { "iam:PermissionsBoundary": arns.accessBoundaryArn } },
    },
    {
      Sid: "NeverEditBoundaryPolicy",
      Effect: "Deny",
      Action: ["iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy", "iam:TagPolicy", "iam:UntagPolicy"],
      Resource: arns.accessBoundaryArn,
    },
    {
      Sid: "NeverTouchTheLog",
      Effect: "Deny",
      Action: "s3:*",
      Resource: `${arns.bucketArn}/*`,
    },
    {
      Sid: "NeverAssumeAccessRole",
      Effect: "Deny",
      Action: "sts:AssumeRole",
      Resource: arns.accessRoleArn,
    },
  );
}

/**
 * Deployed once, with account B's own credentials (e.g. AWS_PROFILE=account-b): the role the
 * iss-tracker stack's account_b provider assumes. Not managed by the main stack, which could not
 * create the role it needs in order to reach B.
 */
export class BootstrapStack extends TerraformStack {
  readonly role: IamRole;
  /** The access role's permissions boundary. */
  readonly accessBoundary: IamPolicy;

  /** For one target account B (the configuration's first unless given). */
  constructor(scope: Construct, id: string, config: AppConfig, target: TargetConfig = config.targets[0]) {
    super(scope, id);
    configureBackend(this, id, config);
    new AwsProvider(this, "aws", {
      region: target.region,
      allowedAccountIds: [target.accountId],
      defaultTags: [{ tags: { Project: "iss-tracker", ManagedBy: "cdktf" } }],
      ...localProviderSettings(config.localEndpoint),
    });
    const deployer = new TerraformVariable(this, "deployer_principal_arn", {
      type: "string",
      description: "ARN of account A's deploying identity (aws sts get-caller-identity in A; for an assumed role, its role ARN). Set DEPLOYER_PRINCIPAL_ARN at synth time or pass --var deployer_principal_arn=...",
      default: config.deployerPrincipalArn,
      validation: [
        {
          condition: `\${can(regex("^arn:${config.partition}:iam::[0-9]{12}:(user/.+|role/.+)$", var.deployer_principal_arn))}`,
          errorMessage: `deployer_principal_arn must be an IAM user or role ARN in account A (partition ${config.partition}; not the account root, not an sts assumed-role session), e.g. arn:${config.partition}:iam::111111111111:user/alice.`,
        },
      ],
    });
    const arns = targetArns(config, target);
    const names = resourceNames(config.namePrefix);
    // The access role's permissions boundary. Its ARN is derived from the configuration, as the
    // iss-tracker stack derives it (stacks/names.ts): a path-less policy in B's partition and account.
    this.accessBoundary = new IamPolicy(this, "access-role-boundary", {
      name: names.accessBoundaryPolicyName,
      description: "Permissions boundary of the iss-tracker access role: at most the tracker's object actions on the one log object",
      policy: render(this, accessBoundaryPolicy(arns.objectArn)),
    });
    this.role = new IamRole(this, "terraform-role", {
      name: target.bootstrapRoleName,
      description: "Assumed by account A's deployer to manage iss-tracker's resources in this account",
      assumeRolePolicy: render(this, bootstrapTrustPolicy(deployer.stringValue)),
      maxSessionDuration: 3600,
    });
    new IamRolePolicy(this, "terraform-role-permissions", {
      role: this.role.name,
      name: "manage-iss-tracker",
      policy: render(this, bootstrapPermissionsPolicy(arns)),
    });
    // With the pipeline, a read-only path for its plan role beside the bootstrap role.
    addPlanRoleInB(this, config, target, arns.accessBoundaryArn);
    new TerraformOutput(this, "bootstrap_role_arn", { value: this.role.arn, description: "Role the account_b provider assumes" });
    new TerraformOutput(this, "access_role_boundary_arn", { value: this.accessBoundary.arn, description: "Permissions boundary the access role must carry" });
  }
}
