import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { TerraformOutput, TerraformStack, TerraformVariable } from "cdktf";
import type { Construct } from "constructs";
import { configureBackend } from "./backend";
import type { AppConfig } from "./config";
import { localProviderSettings } from "./constructs/providers";
import { resourceNames } from "./iss-tracker-stack";
import { policy, render, type PolicyDocument } from "./policy";

export const BOOTSTRAP_STACK_NAME = "bootstrap";

/** Trust policy of the bootstrap role: exactly the deploying principal of account A. */
export function bootstrapTrustPolicy(deployerPrincipalArn: string): PolicyDocument {
  return policy({
    Sid: "DeployerAssumesRole",
    Effect: "Allow",
    Principal: { AWS: deployerPrincipalArn },
    Action: ["sts:AssumeRole", "sts:TagSession"],
  });
}

/**
 * What Terraform needs in B to manage the iss-tracker stack's B half, and nothing more: the
 * prefix's IAM roles and the report bucket's configuration. No object access: Terraform never
 * reads or deletes the log.
 */
export function bootstrapPermissionsPolicy(accountBId: string, namePrefix: string, bucketName: string): PolicyDocument {
  return policy(
    {
      Sid: "ManageTrackerRoles",
      Effect: "Allow",
      Action: [
        "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
        "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:ListRoleTags",
        "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
      ],
      Resource: `arn:aws:iam::${accountBId}:role/${resourceNames(namePrefix).accessRoleName}`,
    },
    {
      Sid: "ManageReportBucket",
      Effect: "Allow",
      Action: [
        "s3:CreateBucket", "s3:DeleteBucket", "s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucket*", "s3:PutBucket*",
        "s3:DeleteBucketPolicy", "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration",
        "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration", "s3:GetAccelerateConfiguration",
        "s3:GetReplicationConfiguration", "s3:GetAnalyticsConfiguration", "s3:GetIntelligentTieringConfiguration",
        "s3:GetInventoryConfiguration", "s3:GetMetricsConfiguration",
      ],
      Resource: `arn:aws:s3:::${bucketName}`,
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

  constructor(scope: Construct, id: string, config: AppConfig) {
    super(scope, id);
    configureBackend(this, id, config);
    new AwsProvider(this, "aws", {
      region: config.regionB,
      allowedAccountIds: [config.accountBId],
      defaultTags: [{ tags: { Project: "iss-tracker", ManagedBy: "cdktf" } }],
      ...localProviderSettings(config.localEndpoint),
    });
    const deployer = new TerraformVariable(this, "deployer_principal_arn", {
      type: "string",
      description: "ARN of account A's deploying identity (aws sts get-caller-identity in A; for an assumed role, its role ARN). Set DEPLOYER_PRINCIPAL_ARN at synth time or pass --var deployer_principal_arn=...",
      default: config.deployerPrincipalArn,
      validation: [
        {
          condition: "${can(regex(\"^arn:aws[a-z-]*:iam::[0-9]{12}:(root|user/.+|role/.+)$\", var.deployer_principal_arn))}",
          errorMessage: "deployer_principal_arn must be an IAM user, role or root ARN in account A, e.g. arn:aws:iam::111111111111:user/alice.",
        },
      ],
    });
    this.role = new IamRole(this, "terraform-role", {
      name: config.bootstrapRoleName,
      description: "Assumed by account A's deployer to manage iss-tracker's resources in this account",
      assumeRolePolicy: render(this, bootstrapTrustPolicy(deployer.stringValue)),
      maxSessionDuration: 3600,
    });
    new IamRolePolicy(this, "terraform-role-permissions", {
      role: this.role.name,
      name: "manage-iss-tracker",
      policy: render(this, bootstrapPermissionsPolicy(config.accountBId, config.namePrefix, config.bucketName)),
    });
    new TerraformOutput(this, "bootstrap_role_arn", { value: this.role.arn, description: "Role the account_b provider assumes" });
  }
}
