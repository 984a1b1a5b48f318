/**
 * The pipeline's identity in account A, deployed once by an administrator of A (like the bootstrap
 * stacks in B): GitHub's OIDC provider (or an existing one), a read-only plan role for the
 * repository's pull requests and a deploy role for its deployment environment. Each trusts exactly
 * one OIDC subject and the sts.amazonaws.com audience, both StringEquals: no wildcard, no fork, no
 * other repository, branch or environment. The deploy role cannot change this identity.
 */
import { IamOpenidConnectProvider } from "@cdktf/provider-aws/lib/iam-openid-connect-provider";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { configureBackend } from "./backend";
import { BOOTSTRAP_GRANTS } from "./bootstrap-stack";
import type { AppConfig, TargetConfig } from "./config";
import { targetArns } from "./names";
import {
  environmentSubject, GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST, pipelineArns, pipelineRoleNames, planRoleNameInB, pullRequestSubject,
} from "./pipeline-names";
import { policy, render, type PolicyDocument, type Statement } from "./policy";

export const PIPELINE_STACK_NAME = "pipeline";

/** Trust of a pipeline role: GitHub's tokens for exactly this subject and audience. */
export function oidcTrustPolicy(oidcProviderArn: string, subject: string): PolicyDocument {
  return policy({
    Sid: "GitHubOidcExactSubject",
    Effect: "Allow",
    Principal: { Federated: oidcProviderArn },
    Action: "sts:AssumeRoleWithWebIdentity",
    Condition: { StringEquals: { [`${GITHUB_OIDC_HOST}:aud`]: GITHUB_OIDC_AUDIENCE, [`${GITHUB_OIDC_HOST}:sub`]: subject } },
  });
}

/**
 * What `terraform plan` of the iss-tracker stack reads in account A (refresh of each resource type
 * it manages), and nothing that writes. Resource "*": reads of configuration, never data (no object,
 * queue message or log event action).
 */
export const PLAN_READS_IN_A = [
  "sts:GetCallerIdentity",
  "iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:GetOpenIDConnectProvider",
  "lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:GetFunctionCodeSigningConfig", "lambda:GetPolicy", "lambda:GetFunctionEventInvokeConfig", "lambda:ListVersionsByFunction", "lambda:ListTags",
  "logs:DescribeLogGroups", "logs:DescribeMetricFilters", "logs:ListTagsForResource", "logs:ListTagsLogGroup",
  "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource",
  "events:DescribeRule", "events:ListTargetsByRule", "events:ListTagsForResource",
  "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags",
  "sns:GetTopicAttributes", "sns:ListTagsForResource", "sns:ListSubscriptionsByTopic", "sns:GetSubscriptionAttributes",
  "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:ListAliases",
] as const;

/** State access: read the stacks' state, and write only the lock (S3 lock file or DynamoDB item). */
function stateStatements(config: AppConfig, accountAId: string, write: boolean): Statement[] {
  const backend = config.stateBackend;
  if (!backend) return [];
  const p = config.partition;
  const bucketArn = `arn:${p}:s3:::${backend.bucket}`;
  const states = `${bucketArn}/${backend.keyPrefix}/*.tfstate`;
  const lock: Statement = backend.lockTable
    ? { Sid: "TakeStateLock", Effect: "Allow", Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable"], Resource: `arn:${p}:dynamodb:${backend.region}:${accountAId}:table/${backend.lockTable}` }
    : { Sid: "TakeStateLock", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: `${bucketArn}/${backend.keyPrefix}/*.tfstate.tflock` };
  return [
    { Sid: "ListState", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn },
    { Sid: write ? "ReadAndWriteState" : "ReadState", Effect: "Allow", Action: write ? ["s3:GetObject", "s3:PutObject"] : "s3:GetObject", Resource: states },
    lock,
  ];
}

/** The plan role's permissions: reads in A, the state (lock only written), and the plan roles in B. */
export function planRolePolicy(config: AppConfig, accountAId: string): PolicyDocument {
  return policy(
    { Sid: "ReadTrackerConfiguration", Effect: "Allow", Action: [...PLAN_READS_IN_A], Resource: "*" },
    ...stateStatements(config, accountAId, false),
    { Sid: "AssumePlanRolesInB", Effect: "Allow", Action: "sts:AssumeRole", Resource: config.targets.map((t) => `arn:${config.partition}:iam::${t.accountId}:role/${planRoleNameInB(t)}`) },
  );
}

/**
 * The deploy role's permissions: the tracker's resources in A by name prefix where the service
 * allows it, the state, and the bootstrap roles in B; never the pipeline's own identity.
 */
export function deployRolePolicy(config: AppConfig, accountAId: string): PolicyDocument {
  const p = config.partition;
  const r = config.regionA;
  const prefix = config.namePrefix;
  const arns = pipelineArns(config, accountAId);
  return policy(
    {
      Sid: "ManageTrackerRoles", Effect: "Allow",
      Action: ["iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:GetRolePolicy",
        "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:TagRole", "iam:UntagRole", "iam:PassRole"],
      Resource: `arn:${p}:iam::${accountAId}:role/${prefix}-*`,
    },
    { Sid: "ManageTrackerFunction", Effect: "Allow", Action: "lambda:*", Resource: `arn:${p}:lambda:${r}:${accountAId}:function:${prefix}-*` },
    { Sid: "ManageTrackerQueuesAndTopic", Effect: "Allow", Action: ["sqs:*", "sns:*"], Resource: [`arn:${p}:sqs:${r}:${accountAId}:${prefix}-*`, `arn:${p}:sns:${r}:${accountAId}:${prefix}-*`] },
    { Sid: "ManageTrackerSchedule", Effect: "Allow", Action: "events:*", Resource: `arn:${p}:events:${r}:${accountAId}:rule/${prefix}*` },
    // Log groups, alarms and keys: the provider's list and create calls take no resource ARN.
    { Sid: "ManageTrackerMonitoringAndKey", Effect: "Allow", Action: ["logs:*", "cloudwatch:*", "kms:*"], Resource: "*" },
    { Sid: "ReadAccount", Effect: "Allow", Action: ["sts:GetCallerIdentity", "iam:GetPolicy", "iam:GetPolicyVersion"], Resource: "*" },
    ...stateStatements(config, accountAId, true),
    { Sid: "AssumeBootstrapRoles", Effect: "Allow", Action: "sts:AssumeRole", Resource: config.targets.map((t) => targetArns(config, t).bootstrapRoleArn) },
    { Sid: "NeverChangePipelineIdentity", Effect: "Deny", Action: "iam:*", Resource: [arns.planRoleArn, arns.deployRoleArn, arns.oidcProviderArn] },
  );
}

export class PipelineStack extends TerraformStack {
  readonly planRole: IamRole;
  readonly deployRole: IamRole;

  constructor(scope: Construct, id: string, config: AppConfig) {
    super(scope, id);
    const repository = config.pipelineRepository;
    const accountAId = config.accountAId;
    if (!repository || !accountAId) throw new Error("the pipeline stack needs PIPELINE_REPOSITORY and ACCOUNT_A_ID (loadConfig checks both)");
    configureBackend(this, id, config);
    new AwsProvider(this, "aws", {
      region: config.regionA,
      allowedAccountIds: [accountAId],
      defaultTags: [{ tags: { Project: "iss-tracker", ManagedBy: "cdktf" } }],
    });
    const names = pipelineRoleNames(config.namePrefix);
    const providerArn = config.pipelineOidcProviderArn
      ?? new IamOpenidConnectProvider(this, "github-oidc", { url: `https://${GITHUB_OIDC_HOST}`, clientIdList: [GITHUB_OIDC_AUDIENCE] }).arn;
    this.planRole = new IamRole(this, "plan-role", {
      name: names.plan,
      description: `Read-only terraform plan for pull requests of ${repository}`,
      assumeRolePolicy: render(this, oidcTrustPolicy(providerArn, pullRequestSubject(repository))),
      maxSessionDuration: 3600,
    });
    new IamRolePolicy(this, "plan-role-permissions", { role: this.planRole.name, name: "plan-iss-tracker", policy: render(this, planRolePolicy(config, accountAId)) });
    this.deployRole = new IamRole(this, "deploy-role", {
      name: names.deploy,
      description: `terraform apply for ${repository}'s ${config.pipelineEnvironment} environment`,
      assumeRolePolicy: render(this, oidcTrustPolicy(providerArn, environmentSubject(repository, config.pipelineEnvironment))),
      maxSessionDuration: 3600,
    });
    new IamRolePolicy(this, "deploy-role-permissions", { role: this.deployRole.name, name: "deploy-iss-tracker", policy: render(this, deployRolePolicy(config, accountAId)) });
    new TerraformOutput(this, "plan_role_arn", { value: this.planRole.arn, description: "Role the pull-request plan job assumes (role-to-assume)" });
    new TerraformOutput(this, "deploy_role_arn", { value: this.deployRole.arn, description: "Role the deploy job assumes behind the environment (role-to-assume)" });
  }
}

/** The read-only role in target account B the plan role assumes (added to that target's bootstrap stack when the pipeline is set). */
export function addPlanRoleInB(scope: Construct, config: AppConfig, target: TargetConfig, accessBoundaryArn: string): IamRole | undefined {
  if (!config.pipelineRepository || !config.accountAId) return undefined;
  const arns = targetArns(config, target);
  const role = new IamRole(scope, "plan-role", {
    name: planRoleNameInB(target),
    description: "Assumed by the pipeline's read-only plan role in A: terraform plan of iss-tracker's resources in this account",
    assumeRolePolicy: render(scope, policy({ Sid: "PlanRoleAssumesRole", Effect: "Allow", Principal: { AWS: pipelineArns(config, config.accountAId).planRoleArn }, Action: "sts:AssumeRole" })),
    maxSessionDuration: 3600,
  });
  new IamRolePolicy(scope, "plan-role-permissions", {
    role: role.name,
    name: "plan-iss-tracker",
    policy: render(scope, policy(
      { Sid: "ReadAccessRole", Effect: "Allow", Action: Object.keys(BOOTSTRAP_GRANTS.accessRoleReads).filter((a) => a !== "iam:TagRole"), Resource: arns.accessRoleArn },
      { Sid: "ReadBoundary", Effect: "Allow", Action: ["iam:GetPolicy", "iam:GetPolicyVersion"], Resource: accessBoundaryArn },
      { Sid: "ReadReportBucketConfiguration", Effect: "Allow", Action: Object.keys(BOOTSTRAP_GRANTS.reportBucket).filter((a) => /^s3:(Get|List)/.test(a)), Resource: arns.bucketArn },
      { Sid: "NeverTouchTheLog", Effect: "Deny", Action: "s3:*", Resource: `${arns.bucketArn}/*` },
    )),
  });
  new TerraformOutput(scope, "plan_role_arn", { value: role.arn, description: "Read-only role the pipeline's plan role assumes in this account" });
  return role;
}
