/**
 * Names and ARNs of the pipeline's identity, derived from the configuration so the pipeline stack
 * (account A), the bootstrap stacks (B) and the configuration's derived deployer agree on them
 * without reading each other's state.
 */
import type { AppConfig, TargetConfig } from "./config";

export const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";
/** The audience configure-aws-credentials asks GitHub for. */
export const GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com";

export const pipelineRoleNames = (namePrefix: string) => ({
  /** Account A: read-only, assumed by the repository's pull requests. */
  plan: `${namePrefix}-ci-plan`,
  /** Account A: deploys, assumed only by jobs of the deployment environment. */
  deploy: `${namePrefix}-ci-deploy`,
});

/** The read-only role in a target account B that the plan role assumes (beside the bootstrap role). */
export const planRoleNameInB = (target: Pick<TargetConfig, "bootstrapRoleName">) => `${target.bootstrapRoleName}-plan`;

export interface PipelineArns {
  readonly oidcProviderArn: string;
  readonly planRoleArn: string;
  readonly deployRoleArn: string;
}

/** The pipeline's ARNs in account A (the configuration must carry ACCOUNT_A_ID, which config.ts requires with PIPELINE_REPOSITORY). */
export function pipelineArns(config: Pick<AppConfig, "partition" | "namePrefix" | "pipelineOidcProviderArn">, accountAId: string): PipelineArns {
  const names = pipelineRoleNames(config.namePrefix);
  return {
    oidcProviderArn: config.pipelineOidcProviderArn ?? `arn:${config.partition}:iam::${accountAId}:oidc-provider/${GITHUB_OIDC_HOST}`,
    planRoleArn: `arn:${config.partition}:iam::${accountAId}:role/${names.plan}`,
    deployRoleArn: `arn:${config.partition}:iam::${accountAId}:role/${names.deploy}`,
  };
}

/** The OIDC subjects the roles trust, matched exactly (StringEquals). */
export const pullRequestSubject = (repository: string) => `repo:${repository}:pull_request`;
export const environmentSubject = (repository: string, environment: string) => `repo:${repository}:environment:${environment}`;
