/**
 * The access model, proven offline: the synthesized policies (see access-model.ts) evaluated by
 * the shared IAM evaluator (../shared/iam.ts). Principals act as they do at run
 * time: the function's calls come from the execution role's session
 * (arn:aws:sts::<A>:assumed-role/<exec>/<function>), the object calls from the access role's, and
 * the access role's calls are capped by its permissions boundary. The escalation rows ask what
 * Terraform's bootstrap role in B (and so whoever may assume it) could make of its grants.
 */
import { ADMINISTRATOR, evaluate, sessionOf, type AccessRequest, type Evaluation } from "../shared/iam";
import { buildAccessModels, type AccessModel } from "./access-model";
import { allCrossTargetExpectations } from "./cross-target";

export interface Expectation extends AccessRequest {
  /** What the row shows, e.g. "execution role assumes the access role with the external id". */
  readonly description: string;
  readonly expected: "allow" | "deny";
  /** For denials that must come from an explicit Deny (plain HTTP, the boundary guards), not just a missing Allow. */
  readonly explicitDeny?: boolean;
  /** For an allowed path that remains by necessity: why it cannot be closed (printed under the table). */
  readonly residual?: string;
  /** The table section the row belongs to. */
  readonly group: string;
}

/** A policy granting everything: what Terraform's role could put on the access role, were it not for the boundary. */
const EVERYTHING = { name: "everything-terraform-could-put", policy: { Version: "2012-10-17", Statement: [{ Sid: "Everything", Effect: "Allow", Action: "*", Resource: "*" }] } } as const;

/** What must be allowed and what must not, in the configuration's terms. */
export function expectations(model: AccessModel): Expectation[] {
  const { config, accountA, accountB: B, executionRole, accessRole, bootstrapRole } = model;
  const p = config.partition;
  const exec = { principal: sessionOf(executionRole.arn, model.functionName), identityPolicies: executionRole.policies };
  const access = { principal: sessionOf(accessRole.arn, "iss-tracker"), identityPolicies: accessRole.policies, permissionsBoundary: accessRole.boundary };
  // The access role with an inline policy of Action "*": the most Terraform's role can make of it.
  const escalatedAccess = { principal: sessionOf(accessRole.arn, "escalated"), identityPolicies: [EVERYTHING], permissionsBoundary: accessRole.boundary };
  const bootstrapSession = sessionOf(bootstrapRole.arn, "iss-tracker-terraform");
  const bootstrap = { principal: bootstrapSession, identityPolicies: bootstrapRole.policies };
  const adminOf = (arn: string) => ({ principal: arn, identityPolicies: ADMINISTRATOR });
  const { target } = model;
  const externalId = { "sts:ExternalId": target.externalId };
  const assumeAccess = { action: "sts:AssumeRole", resource: accessRole.arn, resourceAccount: B, resourcePolicy: accessRole.trustPolicy };
  const object = { resource: model.objectArn, resourceAccount: B, resourcePolicy: model.bucketPolicy };
  const otherKey = { ...object, resource: `${model.bucketArn}/other.txt` };
  const bucket = { resource: model.bucketArn, resourceAccount: B, resourcePolicy: model.bucketPolicy };
  const invoke = { action: "lambda:InvokeFunction", resource: model.functionArn, resourceAccount: accountA, resourcePolicy: model.functionPolicy };
  const assumeBootstrap = { action: "sts:AssumeRole", resource: bootstrapRole.arn, resourceAccount: B, resourcePolicy: bootstrapRole.trustPolicy };
  const plainHttp = { "aws:SecureTransport": "false" };
  const events = "events.amazonaws.com";
  const accessRoleIam = { resource: accessRole.arn, resourceAccount: B };
  const withBoundary = { "iam:PermissionsBoundary": model.accessBoundaryArn };
  const adminPolicyArn = `arn:${p}:iam::aws:policy/AdministratorAccess`;
  const boundaryPolicy = { resource: model.accessBoundaryArn, resourceAccount: B };
  const trustOf = (principalArn: string) => ({ Version: "2012-10-17" as const, Statement: [{ Sid: "Rewritten", Effect: "Allow" as const, Principal: { AWS: principalArn }, Action: "sts:AssumeRole" }] });
  // A bucket policy Terraform's role could write (it manages the bucket policy), granting the log to a principal.
  const bucketPolicyGranting = (principalArn: string) => ({
    Version: "2012-10-17" as const,
    Statement: [...(model.bucketPolicy?.Statement ?? []), { Sid: "Rewritten", Effect: "Allow" as const, Principal: principalArn === "*" ? "*" as const : { AWS: principalArn }, Action: "s3:*", Resource: [model.bucketArn, `${model.bucketArn}/*`] }],
  });
  const otherAccount = `arn:${p}:iam::333333333333:role/attacker`;

  const system = "What the system needs";
  const chain = "The trust chain admits the execution role only, with the external id";
  const oneKey = "The access role: one key, no delete, no listing, no bucket configuration, TLS only";
  const noChain = "Nobody reaches the bucket without the chain";
  const paths = "Invocation and deployment paths";
  const escalation = "Terraform's bootstrap role (and its deployer) cannot escalate in B";
  const bounded = "The access role under its permissions boundary, whatever policy it is given";
  const residual = "Residual: allowed by necessity";
  const guarded = "The bucket policy: only the access role touches the log, Terraform's role cannot reconfigure the bucket";
  const failures = "The on-failure queue takes records from the execution role only";
  const failureQueue = { action: "sqs:SendMessage", resource: model.failureQueueArn, resourceAccount: accountA, resourcePolicy: model.failureQueuePolicy };

  return [
    { group: system, description: "execution role assumes the access role with the external id", expected: "allow", ...exec, ...assumeAccess, context: externalId },
    { group: system, description: "access role reads the object over TLS", expected: "allow", ...access, action: "s3:GetObject", ...object },
    { group: system, description: "access role writes the object over TLS", expected: "allow", ...access, action: "s3:PutObject", ...object },
    { group: system, description: "access role aborts its own multipart upload", expected: "allow", ...access, action: "s3:AbortMultipartUpload", ...object },
    { group: system, description: "EventBridge invokes the function from the rule", expected: "allow", principal: events, ...invoke, context: { "aws:SourceArn": model.ruleArn, "aws:SourceAccount": accountA } },
    { group: system, description: "the rule parks undeliverable events in its DLQ", expected: "allow", principal: events, action: "sqs:SendMessage", resource: model.queueArn, resourceAccount: accountA, resourcePolicy: model.queuePolicy, context: { "aws:SourceArn": model.ruleArn } },
    { group: system, description: "execution role writes its own log stream", expected: "allow", ...exec, action: "logs:PutLogEvents", resource: `${model.logGroupArn}:log-stream:2026/11/22/[$LATEST]0123`, resourceAccount: accountA },
    { group: system, description: "the deployer assumes the bootstrap role in B", expected: "allow", ...adminOf(model.deployerArn), ...assumeBootstrap },
    { group: system, description: "Terraform's role creates the access role with its permissions boundary", expected: "allow", ...bootstrap, action: "iam:CreateRole", ...accessRoleIam, context: withBoundary },
    { group: system, description: "Terraform's role puts the access role's policy while the boundary is attached", expected: "allow", ...bootstrap, action: "iam:PutRolePolicy", ...accessRoleIam, context: withBoundary },
    { group: system, description: "Terraform's role updates the access role's trust while the boundary is attached", expected: "allow", ...bootstrap, action: "iam:UpdateAssumeRolePolicy", ...accessRoleIam, context: withBoundary },
    { group: system, description: "Terraform's role attaches the boundary to an access role without it (a deployment from before it)", expected: "allow", ...bootstrap, action: "iam:PutRolePermissionsBoundary", ...accessRoleIam, context: withBoundary },
    { group: system, description: "execution role sends a failed run's record to its on-failure queue", expected: "allow", ...exec, ...failureQueue, context: { "aws:PrincipalArn": executionRole.arn } },

    { group: chain, description: "another principal in A (an administrator) assumes the access role", expected: "deny", ...adminOf(`arn:${p}:iam::${accountA}:role/admin`), ...assumeAccess, context: externalId },
    { group: chain, description: "account A's root assumes the access role", expected: "deny", ...adminOf(`arn:${p}:iam::${accountA}:root`), ...assumeAccess, context: externalId },
    { group: chain, description: "a principal outside A (third account) assumes the access role", expected: "deny", ...adminOf(`arn:${p}:iam::333333333333:role/attacker`), ...assumeAccess, context: externalId },
    { group: chain, description: "an administrator of B assumes the access role", expected: "deny", ...adminOf(`arn:${p}:iam::${B}:role/admin`), ...assumeAccess, context: externalId },
    { group: chain, description: "execution role assumes the access role without the external id", expected: "deny", ...exec, ...assumeAccess },
    { group: chain, description: "execution role assumes the access role with a wrong external id", expected: "deny", ...exec, ...assumeAccess, context: { "sts:ExternalId": `${target.externalId}-guess` } },
    { group: chain, description: "execution role assumes another role in B that trusts all of A", expected: "deny", ...exec, action: "sts:AssumeRole", resource: `arn:${p}:iam::${B}:role/OrganizationAccountAccessRole`, resourceAccount: B, resourcePolicy: { Version: "2012-10-17", Statement: [{ Sid: "TrustsAccountA", Effect: "Allow", Principal: { AWS: `arn:${p}:iam::${accountA}:root` }, Action: "sts:AssumeRole" }] } },

    { group: oneKey, description: "access role reads another key", expected: "deny", ...access, action: "s3:GetObject", ...otherKey },
    { group: oneKey, description: "access role writes another key", expected: "deny", ...access, action: "s3:PutObject", ...otherKey },
    { group: oneKey, description: "access role deletes the object", expected: "deny", ...access, action: "s3:DeleteObject", ...object },
    { group: oneKey, description: "access role deletes an object version", expected: "deny", ...access, action: "s3:DeleteObjectVersion", ...object },
    { group: oneKey, description: "access role lists the bucket, even under its key's prefix", expected: "deny", ...access, action: "s3:ListBucket", ...bucket, context: { "s3:prefix": target.objectKey } },
    { group: oneKey, description: "access role lists the whole bucket", expected: "deny", ...access, action: "s3:ListBucket", ...bucket },
    { group: oneKey, description: "access role replaces the bucket policy", expected: "deny", ...access, action: "s3:PutBucketPolicy", ...bucket },
    { group: oneKey, description: "access role deletes the bucket policy", expected: "deny", ...access, action: "s3:DeleteBucketPolicy", ...bucket },
    { group: oneKey, description: "access role reads the object over plain HTTP", expected: "deny", explicitDeny: true, ...access, action: "s3:GetObject", ...object, context: plainHttp },
    { group: oneKey, description: "access role writes the object over plain HTTP", expected: "deny", explicitDeny: true, ...access, action: "s3:PutObject", ...object, context: plainHttp },

    { group: noChain, description: "execution role reads the object directly, without assuming", expected: "deny", ...exec, action: "s3:GetObject", ...object },
    { group: noChain, description: "execution role writes the object directly, without assuming", expected: "deny", ...exec, action: "s3:PutObject", ...object },
    { group: noChain, description: "an administrator of A reads the object directly", expected: "deny", ...adminOf(`arn:${p}:iam::${accountA}:role/admin`), action: "s3:GetObject", ...object },
    { group: noChain, description: "the deployer reads the object directly", expected: "deny", ...adminOf(model.deployerArn), action: "s3:GetObject", ...object },
    { group: noChain, description: "anonymous reads the object", expected: "deny", principal: "anonymous", action: "s3:GetObject", ...object },
    { group: noChain, description: "anonymous writes the object", expected: "deny", principal: "anonymous", action: "s3:PutObject", ...object },
    { group: noChain, description: "anonymous lists the bucket", expected: "deny", principal: "anonymous", action: "s3:ListBucket", ...bucket },

    { group: paths, description: "EventBridge invokes the function from another rule", expected: "deny", principal: events, ...invoke, context: { "aws:SourceArn": `arn:${p}:events:${config.regionA}:${accountA}:rule/other` } },
    { group: paths, description: "another principal in A assumes the bootstrap role", expected: "deny", ...adminOf(`arn:${p}:iam::${accountA}:user/intruder`), ...assumeBootstrap },

    { group: failures, description: "an administrator of A sends to the on-failure queue", expected: "deny", explicitDeny: true, ...adminOf(`arn:${p}:iam::${accountA}:role/admin`), ...failureQueue, context: { "aws:PrincipalArn": `arn:${p}:iam::${accountA}:role/admin` } },
    { group: failures, description: "execution role sends to the schedule's dead-letter queue", expected: "deny", ...exec, action: "sqs:SendMessage", resource: model.queueArn, resourceAccount: accountA, resourcePolicy: model.queuePolicy, context: { "aws:PrincipalArn": executionRole.arn } },

    { group: escalation, description: "Terraform's role creates the access role without a boundary", expected: "deny", ...bootstrap, action: "iam:CreateRole", ...accessRoleIam },
    { group: escalation, description: "Terraform's role creates the access role with another boundary (AdministratorAccess)", expected: "deny", ...bootstrap, action: "iam:CreateRole", ...accessRoleIam, context: { "iam:PermissionsBoundary": adminPolicyArn } },
    { group: escalation, description: "Terraform's role creates another role, even with the boundary", expected: "deny", ...bootstrap, action: "iam:CreateRole", resource: `arn:${p}:iam::${B}:role/escalate`, resourceAccount: B, context: withBoundary },
    { group: escalation, description: "Terraform's role puts a policy on the access role once its boundary is gone", expected: "deny", ...bootstrap, action: "iam:PutRolePolicy", ...accessRoleIam },
    { group: escalation, description: "Terraform's role rewrites the access role's trust once its boundary is gone", expected: "deny", ...bootstrap, action: "iam:UpdateAssumeRolePolicy", ...accessRoleIam },
    { group: escalation, description: "Terraform's role removes the access role's boundary", expected: "deny", explicitDeny: true, ...bootstrap, action: "iam:DeleteRolePermissionsBoundary", ...accessRoleIam, context: withBoundary },
    { group: escalation, description: "Terraform's role replaces the boundary with AdministratorAccess", expected: "deny", explicitDeny: true, ...bootstrap, action: "iam:PutRolePermissionsBoundary", ...accessRoleIam, context: { "iam:PermissionsBoundary": adminPolicyArn } },
    { group: escalation, description: "Terraform's role attaches AdministratorAccess to the access role", expected: "deny", ...bootstrap, action: "iam:AttachRolePolicy", ...accessRoleIam, context: { ...withBoundary, "iam:PolicyARN": adminPolicyArn } },
    { group: escalation, description: "Terraform's role writes a new version of the boundary policy", expected: "deny", explicitDeny: true, ...bootstrap, action: "iam:CreatePolicyVersion", ...boundaryPolicy },
    { group: escalation, description: "Terraform's role makes another version the boundary's default", expected: "deny", explicitDeny: true, ...bootstrap, action: "iam:SetDefaultPolicyVersion", ...boundaryPolicy },
    { group: escalation, description: "Terraform's role deletes the boundary policy", expected: "deny", explicitDeny: true, ...bootstrap, action: "iam:DeletePolicy", ...boundaryPolicy },
    { group: escalation, description: "Terraform's role passes the access role to a service (iam:PassRole)", expected: "deny", ...bootstrap, action: "iam:PassRole", ...accessRoleIam },
    { group: escalation, description: "Terraform's role assumes the access role after making it trust itself", expected: "deny", explicitDeny: true, ...bootstrap, action: "sts:AssumeRole", resource: accessRole.arn, resourceAccount: B, resourcePolicy: trustOf(bootstrapRole.arn) },
    { group: escalation, description: "Terraform's role reads the log, even through a bucket policy it wrote", expected: "deny", explicitDeny: true, ...bootstrap, action: "s3:GetObject", ...object, resourcePolicy: bucketPolicyGranting(bootstrapRole.arn) },
    { group: escalation, description: "Terraform's role deletes a version of the log, even through a bucket policy it wrote", expected: "deny", explicitDeny: true, ...bootstrap, action: "s3:DeleteObjectVersion", ...object, resourcePolicy: bucketPolicyGranting(bootstrapRole.arn) },
    { group: escalation, description: "Terraform's role turns on object lock (could pin the log's versions for years)", expected: "deny", ...bootstrap, action: "s3:PutBucketObjectLockConfiguration", ...bucket },
    { group: escalation, description: "Terraform's role sets a bucket ACL", expected: "deny", ...bootstrap, action: "s3:PutBucketAcl", ...bucket },
    { group: escalation, description: "Terraform's role creates another bucket", expected: "deny", ...bootstrap, action: "s3:CreateBucket", resource: `arn:${p}:s3:::${target.bucketName}-copy`, resourceAccount: B },
    { group: escalation, description: "Terraform's role creates an IAM user", expected: "deny", ...bootstrap, action: "iam:CreateUser", resource: `arn:${p}:iam::${B}:user/escalate`, resourceAccount: B },

    { group: bounded, description: "access role given Action * deletes the log", expected: "deny", ...escalatedAccess, action: "s3:DeleteObject", ...object },
    { group: bounded, description: "access role given Action * reads another key", expected: "deny", ...escalatedAccess, action: "s3:GetObject", ...otherKey },
    { group: bounded, description: "access role given Action * lists the bucket's versions", expected: "deny", ...escalatedAccess, action: "s3:ListBucketVersions", ...bucket },
    { group: bounded, description: "access role given Action * replaces the bucket policy", expected: "deny", ...escalatedAccess, action: "s3:PutBucketPolicy", ...bucket },
    { group: bounded, description: "access role given Action * creates an IAM role", expected: "deny", ...escalatedAccess, action: "iam:CreateRole", resource: `arn:${p}:iam::${B}:role/escalate`, resourceAccount: B },
    { group: bounded, description: "access role given Action * assumes another role in B that trusts it", expected: "deny", ...escalatedAccess, action: "sts:AssumeRole", resource: `arn:${p}:iam::${B}:role/admin`, resourceAccount: B, resourcePolicy: { Version: "2012-10-17", Statement: [{ Sid: "TrustsAccountB", Effect: "Allow", Principal: { AWS: `arn:${p}:iam::${B}:root` }, Action: "sts:AssumeRole" }] } },

    { group: guarded, description: "Terraform's role puts a bucket policy granting s3:* to another principal", expected: "deny", explicitDeny: true, ...bootstrap, action: "s3:PutBucketPolicy", ...bucket },
    { group: guarded, description: "Terraform's role deletes the bucket policy", expected: "deny", explicitDeny: true, ...bootstrap, action: "s3:DeleteBucketPolicy", ...bucket },
    { group: guarded, description: "Terraform's role suspends versioning", expected: "deny", explicitDeny: true, ...bootstrap, action: "s3:PutBucketVersioning", ...bucket },
    { group: guarded, description: "Terraform's role adds a lifecycle rule expiring the log", expected: "deny", explicitDeny: true, ...bootstrap, action: "s3:PutLifecycleConfiguration", ...bucket },
    { group: guarded, description: "Terraform's role deletes the bucket", expected: "deny", explicitDeny: true, ...bootstrap, action: "s3:DeleteBucket", ...bucket },
    { group: guarded, description: "Terraform's role removes the public access block", expected: "deny", explicitDeny: true, ...bootstrap, action: "s3:PutBucketPublicAccessBlock", ...bucket },
    { group: guarded, description: "Terraform's role re-enables ACLs (ownership controls)", expected: "deny", explicitDeny: true, ...bootstrap, action: "s3:PutBucketOwnershipControls", ...bucket },
    { group: guarded, description: "Terraform's role changes the default encryption", expected: "deny", explicitDeny: true, ...bootstrap, action: "s3:PutEncryptionConfiguration", ...bucket },
    { group: guarded, description: "another account reads the object, even through a bucket policy granting it", expected: "deny", explicitDeny: true, ...adminOf(otherAccount), action: "s3:GetObject", ...object, resourcePolicy: bucketPolicyGranting(otherAccount) },
    { group: guarded, description: "another account overwrites the object, even through a bucket policy granting it", expected: "deny", explicitDeny: true, ...adminOf(otherAccount), action: "s3:PutObject", ...object, resourcePolicy: bucketPolicyGranting(otherAccount) },
    { group: guarded, description: "the public reads the object, even through a bucket policy granting everyone", expected: "deny", explicitDeny: true, principal: "anonymous", action: "s3:GetObject", ...object, resourcePolicy: bucketPolicyGranting("*") },
    { group: guarded, description: "the deployer reads the object, even through a bucket policy granting it", expected: "deny", explicitDeny: true, ...adminOf(model.deployerArn), action: "s3:GetObject", ...object, resourcePolicy: bucketPolicyGranting(model.deployerArn) },
    { group: guarded, description: "an administrator of B reads the object directly", expected: "deny", explicitDeny: true, ...adminOf(`arn:${p}:iam::${B}:role/admin`), action: "s3:GetObject", ...object },
    { group: guarded, description: "an administrator of B deletes a version of the log", expected: "deny", explicitDeny: true, ...adminOf(`arn:${p}:iam::${B}:role/admin`), action: "s3:DeleteObjectVersion", ...object },

    {
      group: residual, description: "Terraform's role writes the bucket policy before one exists (the first deploy)", expected: "allow", ...bootstrap, action: "s3:PutBucketPolicy", resource: model.bucketArn, resourceAccount: B,
      residual: "Terraform creates the bucket and its policy, so a compromised first deploy could write a weaker policy; every deploy after is denied (TerraformSetsProtectionsOnce). Detected: npm run doctor's bucket-policy checks compare the live policy with the synthesized one.",
    },
    {
      group: residual, description: "an administrator of B rewrites the bucket policy", expected: "allow", ...adminOf(`arn:${p}:iam::${B}:role/admin`), action: "s3:PutBucketPolicy", ...bucket,
      residual: "B's administrators (and B's root, which S3 always lets change the bucket policy: the recovery path) can lift the guard; no policy the stacks write can keep an account's administrator out (an organization's SCP or resource control policy can).",
    },
    {
      group: residual, description: "the deployer assumes the access role after Terraform's role made it trust the deployer", expected: "allow", ...adminOf(model.deployerArn), action: "sts:AssumeRole", resource: accessRole.arn, resourceAccount: B, resourcePolicy: trustOf(model.deployerArn),
      residual: "Terraform manages the access role's trust, so the deployer can rewrite it to let itself in. The boundary caps what that yields (last row).",
    },
    {
      group: residual, description: "access role given Action * writes the log (the boundary's own grant)", expected: "allow", ...escalatedAccess, action: "s3:PutObject", ...object,
      residual: "The boundary is the tracker's own object access: whoever gets into the access role can read and rewrite the current log object (the replaced version stays recoverable for the undo window), never delete it, list or read its versions, or touch other keys.",
    },
  ];
}

export interface ProofRow extends Evaluation {
  readonly description: string;
  readonly expected: "allow" | "deny";
  readonly group: string;
  readonly residual?: string;
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
    return { ...evaluation, description: e.description, expected: e.expected, group: e.group, residual: e.residual, ok, request: `${e.principal} ${e.action} ${e.resource}` };
  }));
}

/**
 * Synthesizes the stacks for the environment's configuration and proves every target's model;
 * with several targets each group is named after its target, and the questions across targets
 * (./cross-target.ts) follow.
 */
export async function prove(env: Record<string, string | undefined> = {}): Promise<{ model: AccessModel; models: AccessModel[]; rows: ProofRow[] }> {
  const models = buildAccessModels(env);
  const several = models.length > 1;
  const perTarget = await Promise.all(models.map(async (model) => {
    const rows = await proveModel(model);
    return several ? rows.map((r) => ({ ...r, group: `${r.group} (target ${model.accountB})` })) : rows;
  }));
  const across = await Promise.all(allCrossTargetExpectations(models).map(({ from, expectations: list }) => proveModel(from, list)));
  return { model: models[0], models, rows: [...perTarget.flat(), ...across.flat()] };
}

/** The table `npm run prove` prints: one section per group, then the residual risks and the count. */
export function formatProof(modelOrModels: AccessModel | readonly AccessModel[], rows: readonly ProofRow[]): string {
  const models: readonly AccessModel[] = Array.isArray(modelOrModels) ? modelOrModels : [modelOrModels as AccessModel];
  const [model] = models;
  const header = ["expectation", "expect", "decision", "identity", "resource", "boundary", "accounts", "result"];
  const cells = (r: ProofRow) => [
    r.description, r.residual ? "allow*" : r.expected, r.decision, r.identity, r.resource, r.boundary, r.sameAccount ? "same" : "cross", r.ok ? "ok" : "WRONG",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => cells(r)[i].length)));
  const line = (c: string[]) => c.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
  const groups = [...new Set(rows.map((r) => r.group))];
  const wrong = rows.filter((r) => !r.ok);
  const residuals = rows.filter((r) => r.residual);
  return [
    `Access model of ${model.config.namePrefix}: A=${model.accountA}${model.config.accountAId ? "" : " (ACCOUNT_A_ID unset: example)"}, B=${models.map((m) => m.accountB).join(", ")}`,
    `  execution role ${model.executionRole.arn}`,
    ...models.flatMap((m) => [
      ...(models.length > 1 ? [`  target ${m.accountB}:`] : []),
      `  access role    ${m.accessRole.arn} (external id ${m.target.externalId})`,
      `  its boundary   ${m.accessRole.boundary?.name ?? "(none)"}`,
      `  Terraform's    ${m.bootstrapRole.arn} (assumed by ${m.deployerArn})`,
      `  object         ${m.objectArn}`,
    ]),
    "Evaluator: @cloud-copilot/iam-simulate (identity, resource and boundary policies; cross-account needs both sides; an explicit Deny wins)",
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...groups.flatMap((group) => [`# ${group}`, ...rows.filter((r) => r.group === group).map((r) => line(cells(r)))]),
    "",
    ...(residuals.length ? ["allow* = residual, allowed by necessity:", ...residuals.map((r) => `  - ${r.description}: ${r.residual}`), ""] : []),
    ...wrong.map((r) => `WRONG: ${r.description}: expected ${r.expected}, got ${r.decision} for ${r.request}`),
    `${rows.length - wrong.length} passed, ${wrong.length} failed`,
  ].join("\n");
}
