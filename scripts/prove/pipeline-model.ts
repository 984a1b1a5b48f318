/**
 * The pipeline's access, proven offline: the synthesized pipeline stack (account A) and bootstrap
 * stack (B) for the configuration (an example repository when PIPELINE_REPOSITORY is unset), GitHub's
 * tokens evaluated against the roles' trust (evaluateWebIdentity), and the roles' sessions against
 * their policies (evaluate). Who may become which role, and that the plan path changes nothing.
 */
import type { AppConfig } from "../../stacks/config";
import { environmentSubject, GITHUB_OIDC_AUDIENCE, GITHUB_OIDC_HOST, pipelineArns, pipelineRoleNames, planRoleNameInB, pullRequestSubject } from "../../stacks/pipeline-names";
import type { PolicyDocument } from "../../stacks/policy";
import { referenceResolver } from "./access-model";
import { evaluate, evaluateWebIdentity, sessionOf, type AccessRequest, type Decision, type NamedPolicy } from "../shared/iam";
import { EXAMPLE_ACCOUNT_A, reviewConfig, synthesizeStacks, type Json, type SynthesizedStacks } from "../shared/synth";

export const EXAMPLE_REPOSITORY = "example-org/iss-tracker";
export const EXAMPLE_STATE_BUCKET = "example-terraform-state";

interface Role {
  readonly arn: string;
  readonly trustPolicy: PolicyDocument;
  readonly policies: readonly NamedPolicy[];
}

export interface PipelineModel {
  readonly config: AppConfig;
  readonly accountA: string;
  readonly accountB: string;
  readonly oidcProviderArn: string;
  readonly planRole: Role;
  readonly deployRole: Role;
  /** The read-only role in B and the bootstrap role, as the bootstrap stack creates them. */
  readonly planRoleB: Role;
  readonly bootstrapRole: Role;
}

/** The configuration the pipeline proof uses: the environment's, with an example repository, account A and state bucket where unset. */
export function pipelineConfig(env: Record<string, string | undefined> = {}): AppConfig {
  return reviewConfig({
    ...env,
    PIPELINE_REPOSITORY: env.PIPELINE_REPOSITORY || EXAMPLE_REPOSITORY,
    ACCOUNT_A_ID: env.ACCOUNT_A_ID || EXAMPLE_ACCOUNT_A,
    STATE_BUCKET: env.STATE_BUCKET || EXAMPLE_STATE_BUCKET,
    // The bootstrap role trusts the deploy role, as it does in production with the pipeline.
    DEPLOYER_PRINCIPAL_ARN: env.DEPLOYER_PRINCIPAL_ARN || pipelineArns({ partition: "aws", namePrefix: env.NAME_PREFIX || "iss-tracker", pipelineOidcProviderArn: undefined }, env.ACCOUNT_A_ID || EXAMPLE_ACCOUNT_A).deployRoleArn,
  });
}

/** Builds the model from synthesized stacks (exported so tests can feed altered JSON). */
export function pipelineModelFrom(config: AppConfig, stacks: SynthesizedStacks): PipelineModel {
  if (!stacks.pipeline) throw new Error("the synthesized app has no pipeline stack (PIPELINE_REPOSITORY unset?)");
  const accountA = config.accountAId ?? EXAMPLE_ACCOUNT_A;
  const accountB = config.accountBId;
  const p = config.partition;
  const arns = pipelineArns(config, accountA);
  const names = pipelineRoleNames(config.namePrefix);
  const refs = new Map<string, string>([["var.deployer_principal_arn", stacks.bootstrap.variable.deployer_principal_arn.default]]);
  for (const id of Object.keys(stacks.pipeline.resource?.aws_iam_openid_connect_provider ?? {})) refs.set(`aws_iam_openid_connect_provider.${id}.arn`, arns.oidcProviderArn);
  const resolve = referenceResolver(refs);
  const roleOf = (json: Json, name: string, account: string): Role => {
    const entry = Object.entries<Json>(json.resource?.aws_iam_role ?? {}).find(([, r]) => r.name === name);
    if (!entry) throw new Error(`the synthesized stacks have no role ${name}`);
    const [id, role] = entry;
    const policies = Object.values<Json>(json.resource?.aws_iam_role_policy ?? {})
      .filter((rp) => rp.role === `\${aws_iam_role.${id}.name}`)
      .map((rp) => ({ name: rp.name, policy: JSON.parse(resolve(rp.policy)) }));
    return { arn: `arn:${p}:iam::${account}:role/${name}`, trustPolicy: JSON.parse(resolve(role.assume_role_policy)), policies };
  };
  return {
    config, accountA, accountB,
    oidcProviderArn: arns.oidcProviderArn,
    planRole: roleOf(stacks.pipeline, names.plan, accountA),
    deployRole: roleOf(stacks.pipeline, names.deploy, accountA),
    planRoleB: roleOf(stacks.bootstrap, planRoleNameInB(config.targets[0]), accountB),
    bootstrapRole: roleOf(stacks.bootstrap, config.bootstrapRoleName, accountB),
  };
}

export function buildPipelineModel(env: Record<string, string | undefined> = {}): PipelineModel {
  const config = pipelineConfig(env);
  return pipelineModelFrom(config, synthesizeStacks(config));
}

export interface PipelineExpectation {
  readonly group: string;
  readonly description: string;
  readonly expected: "allow" | "deny";
  /** A GitHub token presented to a role's trust, or a role session's request. */
  readonly token?: { readonly role: Role; readonly provider?: string; readonly sub?: string; readonly aud?: string };
  readonly request?: AccessRequest;
}

export interface PipelineRow {
  readonly group: string;
  readonly description: string;
  readonly expected: "allow" | "deny";
  readonly decision: Decision;
  readonly ok: boolean;
}

export function pipelineExpectations(model: PipelineModel): PipelineExpectation[] {
  const { config, accountA: A, accountB: B } = model;
  const p = config.partition;
  const repo = config.pipelineRepository!;
  const env = config.pipelineEnvironment;
  const [owner, name] = repo.split("/");
  const deploy = model.deployRole;
  const plan = model.planRole;
  const planSession = { principal: sessionOf(plan.arn, "GitHubActions"), identityPolicies: plan.policies };
  const planBSession = { principal: sessionOf(model.planRoleB.arn, "GitHubActions"), identityPolicies: model.planRoleB.policies };
  const deploySession = { principal: sessionOf(deploy.arn, "GitHubActions"), identityPolicies: deploy.policies };
  const inA = (resource: string) => ({ resource, resourceAccount: A });
  const bucketArn = `arn:${p}:s3:::${config.bucketName}`;
  const backend = config.stateBackend!;
  const stateObject = `arn:${p}:s3:::${backend.bucket}/${backend.keyPrefix}/iss-tracker.tfstate`;
  const assume = (role: Role, account: string) => ({ action: "sts:AssumeRole", resource: role.arn, resourceAccount: account, resourcePolicy: role.trustPolicy });

  const needs = "What the pipeline needs";
  const tokens = "Only this repository's environment deploys, only its pull requests plan";
  const readOnly = "The plan role changes nothing, in A or in B";
  const self = "The deploy role cannot widen the pipeline's identity";
  return [
    { group: needs, description: "a pull request of the repository assumes the plan role", expected: "allow", token: { role: plan, sub: pullRequestSubject(repo) } },
    { group: needs, description: `a job of the ${env} environment assumes the deploy role`, expected: "allow", token: { role: deploy, sub: environmentSubject(repo, env) } },
    { group: needs, description: "the plan role assumes the read-only role in B", expected: "allow", ...{ request: { ...planSession, ...assume(model.planRoleB, B) } } },
    { group: needs, description: "the deploy role assumes the bootstrap role in B", expected: "allow", request: { ...deploySession, ...assume(model.bootstrapRole, B) } },
    { group: needs, description: "the plan role reads the state", expected: "allow", request: { ...planSession, action: "s3:GetObject", ...inA(stateObject) } },
    { group: needs, description: "the plan role takes the state lock", expected: "allow", request: { ...planSession, action: "s3:PutObject", ...inA(`${stateObject}.tflock`) } },

    { group: tokens, description: "a fork's pull request token assumes the deploy role", expected: "deny", token: { role: deploy, sub: `repo:fork-owner/${name}:pull_request` } },
    { group: tokens, description: "a fork's pull request token assumes the plan role", expected: "deny", token: { role: plan, sub: `repo:fork-owner/${name}:pull_request` } },
    { group: tokens, description: "the repository's pull request token assumes the deploy role", expected: "deny", token: { role: deploy, sub: pullRequestSubject(repo) } },
    { group: tokens, description: "another repository's environment job assumes the deploy role", expected: "deny", token: { role: deploy, sub: environmentSubject(`${owner}/other-repo`, env) } },
    { group: tokens, description: "another owner's repository of the same name assumes the deploy role", expected: "deny", token: { role: deploy, sub: environmentSubject(`someone-else/${name}`, env) } },
    { group: tokens, description: "a push to another branch (no environment) assumes the deploy role", expected: "deny", token: { role: deploy, sub: `repo:${repo}:ref:refs/heads/feature` } },
    { group: tokens, description: "a push to the default branch without the environment assumes the deploy role", expected: "deny", token: { role: deploy, sub: `repo:${repo}:ref:refs/heads/main` } },
    { group: tokens, description: "a job of another environment assumes the deploy role", expected: "deny", token: { role: deploy, sub: environmentSubject(repo, `${env}-preview`) } },
    { group: tokens, description: "a token without the audience assumes the deploy role", expected: "deny", token: { role: deploy, sub: environmentSubject(repo, env), aud: "" } },
    { group: tokens, description: "a token for another audience assumes the deploy role", expected: "deny", token: { role: deploy, sub: environmentSubject(repo, env), aud: `https://github.com/${owner}` } },
    { group: tokens, description: "a token without the audience assumes the plan role", expected: "deny", token: { role: plan, sub: pullRequestSubject(repo), aud: "" } },
    { group: tokens, description: "a token of another OIDC provider assumes the deploy role", expected: "deny", token: { role: deploy, sub: environmentSubject(repo, env), provider: `arn:${p}:iam::${A}:oidc-provider/example.com` } },

    { group: readOnly, description: "the plan role puts a policy on the execution role", expected: "deny", request: { ...planSession, action: "iam:PutRolePolicy", ...inA(`arn:${p}:iam::${A}:role/${config.namePrefix}-function-exec`) } },
    { group: readOnly, description: "the plan role puts a policy on itself", expected: "deny", request: { ...planSession, action: "iam:PutRolePolicy", ...inA(plan.arn) } },
    { group: readOnly, description: "the plan role updates the function's code", expected: "deny", request: { ...planSession, action: "lambda:UpdateFunctionCode", ...inA(`arn:${p}:lambda:${config.regionA}:${A}:function:${config.namePrefix}-function`) } },
    { group: readOnly, description: "the plan role writes the state", expected: "deny", request: { ...planSession, action: "s3:PutObject", ...inA(stateObject) } },
    { group: readOnly, description: "the plan role deletes the state", expected: "deny", request: { ...planSession, action: "s3:DeleteObject", ...inA(stateObject) } },
    { group: readOnly, description: "the plan role assumes the bootstrap role in B", expected: "deny", request: { ...planSession, ...assume(model.bootstrapRole, B) } },
    { group: readOnly, description: "the read-only role in B writes the log", expected: "deny", request: { ...planBSession, action: "s3:PutObject", resource: `${bucketArn}/${config.objectKey}`, resourceAccount: B } },
    { group: readOnly, description: "the read-only role in B reads the log", expected: "deny", request: { ...planBSession, action: "s3:GetObject", resource: `${bucketArn}/${config.objectKey}`, resourceAccount: B } },
    { group: readOnly, description: "the read-only role in B replaces the bucket policy", expected: "deny", request: { ...planBSession, action: "s3:PutBucketPolicy", resource: bucketArn, resourceAccount: B } },
    { group: readOnly, description: "the read-only role in B puts a policy on the access role", expected: "deny", request: { ...planBSession, action: "iam:PutRolePolicy", resource: `arn:${p}:iam::${B}:role/${config.namePrefix}-report-writer`, resourceAccount: B } },

    { group: self, description: "the deploy role rewrites its own trust", expected: "deny", request: { ...deploySession, action: "iam:UpdateAssumeRolePolicy", ...inA(deploy.arn) } },
    { group: self, description: "the deploy role puts a policy on the plan role", expected: "deny", request: { ...deploySession, action: "iam:PutRolePolicy", ...inA(plan.arn) } },
    { group: self, description: "the deploy role adds a client id to the OIDC provider", expected: "deny", request: { ...deploySession, action: "iam:AddClientIDToOpenIDConnectProvider", ...inA(model.oidcProviderArn) } },
  ];
}

/** Evaluates each expectation: tokens against the role's trust, sessions with the shared evaluator. */
export async function provePipeline(model: PipelineModel, list: readonly PipelineExpectation[] = pipelineExpectations(model)): Promise<PipelineRow[]> {
  return Promise.all(list.map(async (e) => {
    let decision: Decision;
    if (e.token) {
      const claims: Record<string, string> = {};
      if (e.token.sub !== undefined) claims[`${GITHUB_OIDC_HOST}:sub`] = e.token.sub;
      const aud = e.token.aud ?? GITHUB_OIDC_AUDIENCE;
      if (aud !== "") claims[`${GITHUB_OIDC_HOST}:aud`] = aud;
      decision = evaluateWebIdentity({ provider: e.token.provider ?? model.oidcProviderArn, roleArn: e.token.role.arn, accountId: model.accountA, trustPolicy: e.token.role.trustPolicy, claims });
    } else {
      decision = (await evaluate(e.request!)).decision;
    }
    const ok = e.expected === "allow" ? decision === "Allowed" : decision !== "Allowed";
    return { group: e.group, description: e.description, expected: e.expected, decision, ok };
  }));
}

export function formatPipelineProof(model: PipelineModel, rows: readonly PipelineRow[]): string {
  const width = Math.max(...rows.map((r) => r.description.length));
  const wrong = rows.filter((r) => !r.ok);
  const groups = [...new Set(rows.map((r) => r.group))];
  return [
    `Pipeline of ${model.config.pipelineRepository}${model.config.pipelineRepository === EXAMPLE_REPOSITORY ? " (PIPELINE_REPOSITORY unset: example)" : ""}, environment ${model.config.pipelineEnvironment}`,
    `  OIDC provider ${model.oidcProviderArn}`,
    `  plan role     ${model.planRole.arn} -> ${model.planRoleB.arn}`,
    `  deploy role   ${model.deployRole.arn} -> ${model.bootstrapRole.arn}`,
    "",
    ...groups.flatMap((g) => [`# ${g}`, ...rows.filter((r) => r.group === g).map((r) => `${r.description.padEnd(width)}  ${r.expected.padEnd(5)}  ${r.decision.padEnd(16)}  ${r.ok ? "ok" : "WRONG"}`)]),
    "",
    ...wrong.map((r) => `WRONG: ${r.description}: expected ${r.expected}, got ${r.decision}`),
    `${rows.length - wrong.length} passed, ${wrong.length} failed`,
  ].join("\n");
}
