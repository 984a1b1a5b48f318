import { AwsProvider, type AwsProviderConfig } from "@cdktf/provider-aws/lib/provider";
import { Construct } from "constructs";
import { SETTINGS } from "../settings";

/** Services the stacks use; local mode points each of them at the emulator. */
const EMULATED_SERVICES = ["iam", "sts", "s3", "lambda", "cloudwatchevents", "cloudwatchlogs", "sqs", "sns", "kms", "cloudwatch"] as const;

/** One account B: a provider assuming the bootstrap role there. */
export interface ProviderTarget {
  /** The account; its provider refuses to run anywhere else. */
  readonly accountId: string;
  /** Region of the target's resources. */
  readonly region: string;
  /** Role in the account that its provider assumes. Default: the BOOTSTRAP_ROLE_NAME setting's default. */
  readonly bootstrapRoleName?: string;
}

export interface AccountProvidersProps {
  /** Account A's id; when set, the default provider refuses to run anywhere else. Default: any. */
  readonly accountAId?: string;
  /** Region of account A's resources. */
  readonly regionA: string;
  /** Every account B. The first one's provider is `account_b` (the single pair's), the others' `account_<id>`. */
  readonly targets: readonly ProviderTarget[];
  /** AWS partition of every account (arn:<partition>:...). Default: "aws". */
  readonly partition?: string;
  /** Session name Terraform uses in B (shows in CloudTrail). Default: "iss-tracker-terraform". */
  readonly sessionName?: string;
  /** Tags applied to every resource. Default: { Project: "iss-tracker", ManagedBy: "cdktf" }. */
  readonly tags?: Record<string, string>;
  /** Emulator endpoint (npm start only); unset for real AWS. */
  readonly localEndpoint?: string;
}

/** The provider alias of target `index`: the single pair's `account_b` for the first. */
export const targetProviderAlias = (accountId: string, index: number) => (index === 0 ? "account_b" : `account_${accountId}`);

/**
 * The AWS providers: the default one is account A (the deployer's own credentials); one alias per
 * account B reaches it by assuming the bootstrap role there (`account_b` for the first).
 */
export class AccountProviders extends Construct {
  /** Account A: the function, its execution role, the schedule. */
  readonly accountA: AwsProvider;
  /** One per target, in the order given: the report bucket and the access role. */
  readonly targets: readonly AwsProvider[];
  /** ARNs of the roles Terraform assumes in the targets. */
  readonly bootstrapRoleArns: readonly string[];

  constructor(scope: Construct, id: string, props: AccountProvidersProps) {
    super(scope, id);
    const tags = props.tags ?? { Project: "iss-tracker", ManagedBy: "cdktf" };
    const local = localProviderSettings(props.localEndpoint);
    this.bootstrapRoleArns = props.targets.map((t) => `arn:${props.partition ?? "aws"}:iam::${t.accountId}:role/${t.bootstrapRoleName ?? SETTINGS.bootstrapRoleName.default}`);

    this.accountA = new AwsProvider(scope, "aws", {
      region: props.regionA,
      allowedAccountIds: props.accountAId ? [props.accountAId] : undefined,
      defaultTags: [{ tags }],
      ...local,
    });
    this.targets = props.targets.map((t, i) => {
      const alias = targetProviderAlias(t.accountId, i);
      return new AwsProvider(scope, `aws_${alias}`, {
        alias,
        region: t.region,
        allowedAccountIds: [t.accountId],
        assumeRole: [{ roleArn: this.bootstrapRoleArns[i], sessionName: props.sessionName ?? "iss-tracker-terraform" }],
        defaultTags: [{ tags }],
        ...local,
      });
    });
  }

  /** The first target's provider: the single pair's `account_b`. */
  get accountB(): AwsProvider {
    return this.targets[0];
  }

  /** The first target's bootstrap role. */
  get bootstrapRoleArn(): string {
    return this.bootstrapRoleArns[0];
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
