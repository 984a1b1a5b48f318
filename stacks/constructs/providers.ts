import { AwsProvider, type AwsProviderConfig } from "@cdktf/provider-aws/lib/provider";
import { Construct } from "constructs";
import { SETTINGS } from "../settings";

/** Services the stacks use; local mode points each of them at the emulator. */
const EMULATED_SERVICES = ["iam", "sts", "s3", "lambda", "cloudwatchevents", "cloudwatchlogs", "sqs", "sns", "kms", "cloudwatch"] as const;

export interface AccountProvidersProps {
  /** Account B's id; the account_b provider refuses to run anywhere else. */
  readonly accountBId: string;
  /** Account A's id; when set, the default provider refuses to run anywhere else. Default: any. */
  readonly accountAId?: string;
  /** Region of account A's resources. */
  readonly regionA: string;
  /** Region of account B's resources. */
  readonly regionB: string;
  /** AWS partition of both accounts (arn:<partition>:...). Default: "aws". */
  readonly partition?: string;
  /** Role in B the account_b provider assumes. Default: the BOOTSTRAP_ROLE_NAME setting's default. */
  readonly bootstrapRoleName?: string;
  /** Session name Terraform uses in B (shows in CloudTrail). Default: "iss-tracker-terraform". */
  readonly sessionName?: string;
  /** Tags applied to every resource. Default: { Project: "iss-tracker", ManagedBy: "cdktf" }. */
  readonly tags?: Record<string, string>;
  /** Emulator endpoint (npm start only); unset for real AWS. */
  readonly localEndpoint?: string;
}

/**
 * The two AWS providers: the default one is account A (the deployer's own credentials), the
 * `account_b` alias reaches account B by assuming the bootstrap role there.
 */
export class AccountProviders extends Construct {
  /** Account A: the function, its execution role, the schedule. */
  readonly accountA: AwsProvider;
  /** Account B: the report bucket and the access role. */
  readonly accountB: AwsProvider;
  /** ARN of the role Terraform assumes in B. */
  readonly bootstrapRoleArn: string;

  constructor(scope: Construct, id: string, props: AccountProvidersProps) {
    super(scope, id);
    const tags = props.tags ?? { Project: "iss-tracker", ManagedBy: "cdktf" };
    this.bootstrapRoleArn = `arn:${props.partition ?? "aws"}:iam::${props.accountBId}:role/${props.bootstrapRoleName ?? SETTINGS.bootstrapRoleName.default}`;
    const local = localProviderSettings(props.localEndpoint);

    this.accountA = new AwsProvider(scope, "aws", {
      region: props.regionA,
      allowedAccountIds: props.accountAId ? [props.accountAId] : undefined,
      defaultTags: [{ tags }],
      ...local,
    });
    this.accountB = new AwsProvider(scope, "aws_account_b", {
      alias: "account_b",
      region: props.regionB,
      allowedAccountIds: [props.accountBId],
      assumeRole: [{ roleArn: this.bootstrapRoleArn, sessionName: props.sessionName ?? "iss-tracker-terraform" }],
      defaultTags: [{ tags }],
      ...local,
    });
  }
}

/**
 * Provider settings for the local emulator: every endpoint on it, path-style S3, no real-AWS
 * checks. Credentials still come from the environment (npm start sets the emulator's), so the
 * bootstrap stack can run with B's credentials and the main stack with A's.
 * Empty for real AWS, so the normal synth output carries none of it.
 */
export function localProviderSettings(endpoint: string | undefined): Partial<AwsProviderConfig> {
  if (endpoint === undefined) return {};
  return {
    s3UsePathStyle: true,
    skipCredentialsValidation: true,
    skipMetadataApiCheck: "true",
    skipRegionValidation: true,
    endpoints: [Object.fromEntries(EMULATED_SERVICES.map((service) => [service, endpoint]))],
  };
}
