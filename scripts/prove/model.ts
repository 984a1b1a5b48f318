/**
 * The access model, proven offline: the synthesized policies (see access-model.ts) evaluated by
 * the shared IAM evaluator (../shared/iam.ts). Principals act as they do at run
 * time: the function's calls come from the execution role's session
 * (arn:aws:sts::<A>:assumed-role/<exec>/<function>), the object calls from the access role's.
 */
import { ADMINISTRATOR, evaluate, sessionOf, type AccessRequest, type Evaluation } from "../shared/iam";
import { buildAccessModel, type AccessModel } from "./access-model";

export interface Expectation extends AccessRequest {
  /** What the row shows, e.g. "execution role assumes the access role with the external id". */
  readonly description: string;
  readonly expected: "allow" | "deny";
  /** For denials that must come from an explicit Deny (plain HTTP), not just a missing Allow. */
  readonly explicitDeny?: boolean;
}

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
  const failureQueue = { action: "sqs:SendMessage", resource: model.failureQueueArn, resourceAccount: accountA, resourcePolicy: model.failureQueuePolicy };

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
    { description: "execution role sends a failed run's record to its on-failure queue", expected: "allow", ...exec, ...failureQueue, context: { "aws:PrincipalArn": executionRole.arn } },

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

    // The on-failure queue takes records from the execution role only.
    { description: "an administrator of A sends to the on-failure queue", expected: "deny", explicitDeny: true, ...adminOf(`arn:aws:iam::${accountA}:role/admin`), ...failureQueue, context: { "aws:PrincipalArn": `arn:aws:iam::${accountA}:role/admin` } },
    { description: "execution role sends to the schedule's dead-letter queue", expected: "deny", ...exec, action: "sqs:SendMessage", resource: model.queueArn, resourceAccount: accountA, resourcePolicy: model.queuePolicy, context: { "aws:PrincipalArn": executionRole.arn } },
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
