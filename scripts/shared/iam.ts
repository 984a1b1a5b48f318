/**
 * One IAM policy evaluator for every tool: @cloud-copilot/iam-simulate (AGPL-3.0: a
 * devDependency, used by `npm run prove`, `npm run doctor`, the emulator's STS gate and the tests,
 * never bundled into the function).
 *
 * The evaluator applies AWS's rules: same-account requests need an Allow in the identity OR the
 * resource policy (role trust policies excepted: they must always allow); cross-account requests
 * need an Allow in the caller's identity policy AND in the resource (trust, bucket, function)
 * policy of the other account; an explicit Deny anywhere wins.
 */
import { anonymousPrincipal, runSimulation } from "@cloud-copilot/iam-simulate";
import type { PolicyDocument } from "../../stacks/policy";

export interface NamedPolicy {
  readonly name: string;
  readonly policy: PolicyDocument;
}

export type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied";

export interface Evaluation {
  readonly decision: Decision;
  readonly sameAccount: boolean;
  /** The identity side's own verdict ("-" when the caller has no identity policies: services, anonymous). */
  readonly identity: string;
  /** The resource side's own verdict ("-" when there is no resource policy). */
  readonly resource: string;
  /** The permissions boundary's own verdict ("-" when the caller has none). */
  readonly boundary: string;
  /** Context keys the evaluator dropped as not applicable to the action (must be none we rely on). */
  readonly ignoredContextKeys: readonly string[];
  /** Sids (or #index) of the resource policy's statements that explicitly deny this request. */
  readonly resourceDenies: readonly string[];
}

export interface AccessRequest {
  /** The caller: a principal ARN, a service principal (events.amazonaws.com) or "anonymous". */
  readonly principal: string;
  /** The caller's identity policies (none for services and anonymous). */
  readonly identityPolicies?: readonly NamedPolicy[];
  /** The caller's permissions boundary, when its role or user has one (caps the identity policies). */
  readonly permissionsBoundary?: NamedPolicy;
  readonly action: string;
  readonly resource: string;
  readonly resourceAccount: string;
  /** The resource side: trust policy, bucket policy, function or queue policy. */
  readonly resourcePolicy?: PolicyDocument;
  /** Request context. aws:SecureTransport is "true" unless set here. */
  readonly context?: Readonly<Record<string, string | string[]>>;
}

export const ADMINISTRATOR: readonly NamedPolicy[] = [{
  name: "AdministratorAccess",
  policy: { Version: "2012-10-17", Statement: [{ Sid: "Everything", Effect: "Allow", Action: "*", Resource: "*" }] },
}];

/**
 * aws:PrincipalArn as AWS sets it (the evaluator does not derive it): a role session's role ARN,
 * an IAM user's or root's own ARN; absent for services and anonymous callers.
 */
function principalArnOf(principal: string): Record<string, string> {
  const session = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(principal);
  if (session) return { "aws:PrincipalArn": `arn:${session[1]}:iam::${session[2]}:role/${session[3]}` };
  return /^arn:aws[a-z-]*:iam::\d{12}:/.test(principal) ? { "aws:PrincipalArn": principal } : {};
}

/** Evaluates one request with the real evaluator. */
export async function evaluate(request: AccessRequest): Promise<Evaluation> {
  const anonymous = request.principal === "anonymous";
  const simulation = {
    identityPolicies: anonymous ? [] : (request.identityPolicies ?? []).map((p) => ({ name: p.name, policy: p.policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy,
    ...(request.permissionsBoundary && !anonymous
      ? { permissionBoundaryPolicies: [{ name: request.permissionsBoundary.name, policy: request.permissionsBoundary.policy }] }
      : {}),
    request: {
      action: request.action,
      principal: anonymous ? anonymousPrincipal : request.principal,
      resource: { accountId: request.resourceAccount, resource: request.resource },
      contextVariables: { "aws:SecureTransport": "true", ...principalArnOf(request.principal), ...request.context },
    },
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const response: any = await runSimulation(simulation as any, {});
  if (response.resultType === "error") {
    throw new Error(`the evaluator rejected ${request.principal} ${request.action} ${request.resource}: ${JSON.stringify(response.errors)}`);
  }
  if (response.resultType !== "single") {
    throw new Error(`expected one evaluation for ${request.resource}, got ${response.resultType} (a wildcard in the resource?)`);
  }
  const analysis = response.result.analysis;
  const hasIdentity = !anonymous && (request.identityPolicies ?? []).length > 0;
  return {
    decision: response.overallResult,
    sameAccount: analysis.sameAccount,
    identity: hasIdentity ? analysis.identityAnalysis?.result ?? "-" : "-",
    resource: request.resourcePolicy ? analysis.resourceAnalysis?.result ?? "-" : "-",
    boundary: request.permissionsBoundary && !anonymous ? analysis.permissionBoundaryAnalysis?.result ?? "-" : "-",
    ignoredContextKeys: response.result.ignoredContextKeys ?? [],
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    resourceDenies: (analysis.resourceAnalysis?.denyStatements ?? []).map((s: any) => s.statement.sid() ?? `#${s.statement.index()}`),
  };
}

/** The session ARN a role's callers present (what a trust or bucket policy actually sees). */
export const sessionOf = (roleArn: string, sessionName: string) =>
  roleArn.replace(/^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/, `arn:$1:sts::$2:assumed-role/$3/${sessionName}`);


/** A web identity request: a token of `provider` (its OIDC provider ARN) with these claims as context keys. */
export interface WebIdentityRequest {
  readonly provider: string;
  readonly roleArn: string;
  readonly accountId: string;
  readonly trustPolicy: PolicyDocument;
  /** e.g. { "token.actions.githubusercontent.com:sub": "repo:o/r:pull_request", "...:aud": "sts.amazonaws.com" } */
  readonly claims: Readonly<Record<string, string>>;
}

/**
 * sts:AssumeRoleWithWebIdentity against a role's trust policy, by the same evaluator's core engine.
 * runSimulation drops GitHub's `:sub` and `:aud` keys (its action data does not list them for
 * AssumeRoleWithWebIdentity), which would deny every token for the wrong reason; and
 * runUnsafeSimulation loses the trust policy's name. So this calls the engine with the claims as given.
 */
export function evaluateWebIdentity(request: WebIdentityRequest): Decision {
  const dist = (path: string) => require(require.resolve("@cloud-copilot/iam-simulate").replace(/index\.js$/, path));
  const { authorize } = dist("core_engine/CoreSimulatorEngine.js");
  const { AwsRequestImpl } = dist("request/request.js");
  const { RequestContextImpl } = dist("requestContext.js");
  const { DiscoveryContextKeyConstraints } = dist("context_keys/discoveryContextKeyConstraints.js");
  // The evaluator's own policy loader (a dependency of iam-simulate, not of this project).
  const { loadPolicy } = require(require.resolve("@cloud-copilot/iam-policy", { paths: [require.resolve("@cloud-copilot/iam-simulate")] }));
  const analysis = authorize({
    request: new AwsRequestImpl(request.provider, { resource: request.roleArn, accountId: request.accountId }, "sts:AssumeRoleWithWebIdentity", new RequestContextImpl({ ...request.claims })),
    sessionPolicy: undefined,
    identityPolicies: [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: loadPolicy(request.trustPolicy, { name: "trust" }),
    permissionBoundaries: undefined,
    vpcEndpointPolicies: undefined,
    simulationParameters: { simulationMode: "Strict", discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]) },
    serviceSettings: { s3: {} },
  });
  return analysis.result;
}
