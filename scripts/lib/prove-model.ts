/**
 * The access model, proven offline: the synthesized policies (see prove-synth.ts) evaluated by a
 * real IAM policy evaluator, @cloud-copilot/iam-simulate (AGPL-3.0: a devDependency, used by
 * `npm run prove`, `npm run doctor` and the tests, never bundled into the function).
 *
 * The evaluator applies AWS's rules: same-account requests need an Allow in the identity OR the
 * resource policy (role trust policies excepted: they must always allow); cross-account requests
 * need an Allow in the caller's identity policy AND in the resource (trust, bucket, function)
 * policy of the other account; an explicit Deny anywhere wins. Principals act as they do at run
 * time: the function's calls come from the execution role's session
 * (arn:aws:sts::<A>:assumed-role/<exec>/<function>), the object calls from the access role's.
 */
import { anonymousPrincipal, runSimulation } from "@cloud-copilot/iam-simulate";
import type { PolicyDocument } from "../../stacks/policy";
import { buildAccessModel, type AccessModel, type NamedPolicy } from "./prove-synth";

export type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied";

export interface Evaluation {
  readonly decision: Decision;
  readonly sameAccount: boolean;
  /** The identity side's own verdict ("-" when the caller has no identity policies: services, anonymous). */
  readonly identity: string;
  /** The resource side's own verdict ("-" when there is no resource policy). */
  readonly resource: string;
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

/** Evaluates one request with the real evaluator. */
export async function evaluate(request: AccessRequest): Promise<Evaluation> {
  const anonymous = request.principal === "anonymous";
  const simulation = {
    identityPolicies: anonymous ? [] : (request.identityPolicies ?? []).map((p) => ({ name: p.name, policy: p.policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy,
    request: {
      action: request.action,
      principal: anonymous ? anonymousPrincipal : request.principal,
      resource: { accountId: request.resourceAccount, resource: request.resource },
      contextVariables: { "aws:SecureTransport": "true", ...request.context },
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
    ignoredContextKeys: response.result.ignoredContextKeys ?? [],
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    resourceDenies: (analysis.resourceAnalysis?.denyStatements ?? []).map((s: any) => s.statement.sid() ?? `#${s.statement.index()}`),
  };
}

export interface Expectation extends AccessRequest {
  /** What the row shows, e.g. "execution role assumes the access role with the external id". */
  readonly description: string;
  readonly expected: "allow" | "deny";
  /** For denials that must come from an explicit Deny (plain HTTP), not just a missing Allow. */
  readonly explicitDeny?: boolean;
}

/** The session ARN a role's callers present (what a trust or bucket policy actually sees). */
export const sessionOf = (roleArn: string, sessionName: string) =>
  roleArn.replace(/^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/, `arn:aws:sts::$1:assumed-role/$2/${sessionName}`);

/** What must be allowed and what must not, in the configuration's terms. */
export function expectations(model: AccessModel): Expectation[] {
  const { config, accountA, accountB: B, executionRole, accessRole, bootstrapRole } = model;
  const exec = { principal: sessionOf(executionRole.arn, model.functionName), identityPolicies: executionRole.policies };
  const access = { principal: sessionOf(accessRole.arn, "iss-tracker"), identityPolicies: accessRole.policies };
  const bootstrap = { principal: sessionOf(bootstrapRole.arn, "terraform"), identityPolicies: bootstrapRole.policies };
  const adminOf = (arn: string) => ({ principal: arn, identityPolicies: ADMINISTRATOR });
  const externalId = { "sts:ExternalId": config.externalId };
  const assumeAccess = { action: "sts:AssumeRole", resource: accessRole.arn, resourceAccount: B, resourcePolicy: accessRole.trustPolicy };
  const object = { resource: model.objectArn, resourceAccount: B, resourcePolicy: model.bucketPolicy };
  const otherKey = { ...object, resource: `${model.bucketArn}/other.txt` };
  const bucket = { resource: model.bucketArn, resourceAccount: B, resourcePolicy: model.bucketPolicy };
  const invoke = { action: "lambda:InvokeFunction", resource: model.functionArn, resourceAccount: accountA, resourcePolicy: model.functionPolicy };
  const assumeBootstrap = { action: "sts:AssumeRole", resource: bootstrapRole.arn, resourceAccount: B, resourcePolicy: bootstrapRole.trustPolicy };
  const plainHttp = { "aws:SecureTransport": "false" };
  const events = "events.amazonaws.com";

  return [
    // What the system needs.
    { description: "execution role assumes the access role with the external id", expected: "allow", ...exec, ...assumeAccess, context: externalId },
    { description: "access role reads the object over TLS", expected: "allow", ...access, action: "s3:GetObject", ...object },
    { description: "access role writes the object over TLS", expected: "allow", ...access, action: "s3:PutObject", ...object },
    { description: "access role aborts its own multipart upload", expected: "allow", ...access, action: "s3:AbortMultipartUpload", ...object },
    { description: "access role lists exactly the key (404, not 403, for a missing log)", expected: "allow", ...access, action: "s3:ListBucket", ...bucket, context: { "s3:prefix": config.objectKey } },
    { description: "EventBridge invokes the function from the rule", expected: "allow", principal: events, ...invoke, context: { "aws:SourceArn": model.ruleArn, "aws:SourceAccount": accountA } },
    { description: "the rule parks undeliverable events in its DLQ", expected: "allow", principal: events, action: "sqs:SendMessage", resource: model.queueArn, resourceAccount: accountA, resourcePolicy: model.queuePolicy, context: { "aws:SourceArn": model.ruleArn } },
    { description: "execution role writes its own log stream", expected: "allow", ...exec, action: "logs:PutLogEvents", resource: `${model.logGroupArn}:log-stream:2026/11/22/[$LATEST]0123`, resourceAccount: accountA },
    { description: "the deployer assumes the bootstrap role in B", expected: "allow", ...adminOf(model.deployerArn), ...assumeBootstrap },

    // The trust chain admits the execution role only, and only with the external id.
    { description: "another principal in A (an administrator) assumes the access role", expected: "deny", ...adminOf(`arn:aws:iam::${accountA}:role/admin`), ...assumeAccess, context: externalId },
    { description: "account A's root assumes the access role", expected: "deny", ...adminOf(`arn:aws:iam::${accountA}:root`), ...assumeAccess, context: externalId },
    { description: "a principal outside A (third account) assumes the access role", expected: "deny", ...adminOf("arn:aws:iam::333333333333:role/attacker"), ...assumeAccess, context: externalId },
    { description: "an administrator of B assumes the access role", expected: "deny", ...adminOf(`arn:aws:iam::${B}:role/admin`), ...assumeAccess, context: externalId },
    { description: "execution role assumes the access role without the external id", expected: "deny", ...exec, ...assumeAccess },
    { description: "execution role assumes the access role with a wrong external id", expected: "deny", ...exec, ...assumeAccess, context: { "sts:ExternalId": `${config.externalId}-guess` } },
    { description: "execution role assumes another role in B that trusts all of A", expected: "deny", ...exec, action: "sts:AssumeRole", resource: `arn:aws:iam::${B}:role/OrganizationAccountAccessRole`, resourceAccount: B, resourcePolicy: { Version: "2012-10-17", Statement: [{ Sid: "TrustsAccountA", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${accountA}:root` }, Action: "sts:AssumeRole" }] } },

    // The access role: one key, no delete, no bucket configuration, TLS only.
    { description: "access role reads another key", expected: "deny", ...access, action: "s3:GetObject", ...otherKey },
    { description: "access role writes another key", expected: "deny", ...access, action: "s3:PutObject", ...otherKey },
    { description: "access role deletes the object", expected: "deny", ...access, action: "s3:DeleteObject", ...object },
    { description: "access role deletes an object version", expected: "deny", ...access, action: "s3:DeleteObjectVersion", ...object },
    { description: "access role lists the whole bucket", expected: "deny", ...access, action: "s3:ListBucket", ...bucket },
    { description: "access role lists another prefix", expected: "deny", ...access, action: "s3:ListBucket", ...bucket, context: { "s3:prefix": "other" } },
    { description: "access role replaces the bucket policy", expected: "deny", ...access, action: "s3:PutBucketPolicy", ...bucket },
    { description: "access role deletes the bucket policy", expected: "deny", ...access, action: "s3:DeleteBucketPolicy", ...bucket },
    { description: "access role reads the object over plain HTTP", expected: "deny", explicitDeny: true, ...access, action: "s3:GetObject", ...object, context: plainHttp },
    { description: "access role writes the object over plain HTTP", expected: "deny", explicitDeny: true, ...access, action: "s3:PutObject", ...object, context: plainHttp },

    // Nobody reaches the bucket without the chain.
    { description: "execution role reads the object directly, without assuming", expected: "deny", ...exec, action: "s3:GetObject", ...object },
    { description: "execution role writes the object directly, without assuming", expected: "deny", ...exec, action: "s3:PutObject", ...object },
    { description: "an administrator of A reads the object directly", expected: "deny", ...adminOf(`arn:aws:iam::${accountA}:role/admin`), action: "s3:GetObject", ...object },
    { description: "anonymous reads the object", expected: "deny", principal: "anonymous", action: "s3:GetObject", ...object },
    { description: "anonymous writes the object", expected: "deny", principal: "anonymous", action: "s3:PutObject", ...object },
    { description: "anonymous lists the bucket", expected: "deny", principal: "anonymous", action: "s3:ListBucket", ...bucket },

    // Invocation and deployment paths.
    { description: "EventBridge invokes the function from another rule", expected: "deny", principal: events, ...invoke, context: { "aws:SourceArn": `arn:aws:events:${config.regionA}:${accountA}:rule/other` } },
    { description: "Terraform's bootstrap role reads the log", expected: "deny", ...bootstrap, action: "s3:GetObject", ...object },
    { description: "Terraform's bootstrap role deletes the log", expected: "deny", ...bootstrap, action: "s3:DeleteObject", ...object },
    { description: "another principal in A assumes the bootstrap role", expected: "deny", ...adminOf(`arn:aws:iam::${accountA}:user/intruder`), ...assumeBootstrap },
  ];
}

export interface ProofRow extends Evaluation {
  readonly description: string;
  readonly expected: "allow" | "deny";
  readonly ok: boolean;
  /** principal action resource, for failures. */
  readonly request: string;
}

/** Evaluates every expectation against a model. */
export async function proveModel(model: AccessModel, list: Expectation[] = expectations(model)): Promise<ProofRow[]> {
  return Promise.all(list.map(async (e) => {
    const evaluation = await evaluate(e);
    const allowed = evaluation.decision === "Allowed";
    const ok = e.expected === "allow" ? allowed : !allowed && (!e.explicitDeny || evaluation.decision === "ExplicitlyDenied");
    return { ...evaluation, description: e.description, expected: e.expected, ok, request: `${e.principal} ${e.action} ${e.resource}` };
  }));
}

/** Synthesizes the stacks for the environment's configuration and proves the model. */
export async function prove(env: Record<string, string | undefined> = {}): Promise<{ model: AccessModel; rows: ProofRow[] }> {
  const model = buildAccessModel(env);
  return { model, rows: await proveModel(model) };
}

/** The table `npm run prove` prints. */
export function formatProof(model: AccessModel, rows: readonly ProofRow[]): string {
  const header = ["expectation", "expect", "decision", "identity", "resource", "accounts", "result"];
  const table = rows.map((r) => [
    r.description, r.expected, r.decision, r.identity, r.resource, r.sameAccount ? "same" : "cross", r.ok ? "ok" : "WRONG",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const wrong = rows.filter((r) => !r.ok);
  return [
    `Access model of ${model.config.namePrefix}: A=${model.accountA}${model.config.accountAId ? "" : " (ACCOUNT_A_ID unset: example)"}, B=${model.accountB}`,
    `  execution role ${model.executionRole.arn}`,
    `  access role    ${model.accessRole.arn} (external id ${model.config.externalId})`,
    `  object         ${model.objectArn}`,
    "Evaluator: @cloud-copilot/iam-simulate (identity and resource policies; cross-account needs both; an explicit Deny wins)",
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...table.map(line),
    "",
    ...wrong.map((r) => `WRONG: ${r.description}: expected ${r.expected}, got ${r.decision} for ${r.request}`),
    `${rows.length - wrong.length} passed, ${wrong.length} failed`,
  ].join("\n");
}
