/**
 * The access model, proven offline: the synthesized stacks' policies, with every Terraform
 * reference resolved to the ARN the configuration implies, evaluated by a real IAM policy
 * evaluator (@cloud-copilot/iam-simulate: identity + resource policies, same- and cross-account
 * rules, every condition operator).
 *
 * Cross-account requests are allowed only when the caller's identity policy AND the resource
 * side (trust policy, bucket policy, function policy) allow; an explicit Deny anywhere wins.
 */
import { anonymousPrincipal, runSimulation } from "@cloud-copilot/iam-simulate";
import { App } from "cdktf";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BootstrapStack, BOOTSTRAP_STACK_NAME } from "../../stacks/bootstrap-stack";
import { loadConfig, type AppConfig } from "../../stacks/config";
import { IssTrackerStack, TRACKER_STACK_NAME } from "../../stacks/iss-tracker-stack";
import type { PolicyDocument } from "../../stacks/policy";

/** Account A when ACCOUNT_A_ID is unset (the policies never depend on its value). */
export const EXAMPLE_ACCOUNT_A = "111111111111";
export const EXAMPLE_DEPLOYER = (accountA: string) => `arn:aws:iam::${accountA}:role/deployer`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface RoleModel {
  readonly arn: string;
  readonly accountId: string;
  readonly trustPolicy: PolicyDocument;
  readonly policies: ReadonlyArray<{ name: string; policy: PolicyDocument }>;
}

export interface AccessModel {
  readonly config: AppConfig;
  readonly accountA: string;
  readonly deployerArn: string;
  readonly roles: Record<string, RoleModel>;
  readonly bucketArn: string;
  readonly objectArn: string;
  readonly bucketPolicy: PolicyDocument;
  readonly functionArn: string;
  readonly functionPolicy: PolicyDocument;
  readonly ruleArn: string;
  readonly queueArn: string;
  readonly queuePolicy: PolicyDocument;
  readonly logGroupArn: string;
}

/** Synthesizes both stacks (normal mode) and reads their JSON. */
export function synthesize(config: AppConfig): { tracker: Json; bootstrap: Json } {
  const outdir = mkdtempSync(join(tmpdir(), "iss-prove-"));
  try {
    const app = new App({ outdir });
    new IssTrackerStack(app, TRACKER_STACK_NAME, config);
    new BootstrapStack(app, BOOTSTRAP_STACK_NAME, config);
    app.synth();
    const read = (stack: string) => JSON.parse(readFileSync(join(outdir, "stacks", stack, "cdk.tf.json"), "utf8"));
    return { tracker: read(TRACKER_STACK_NAME), bootstrap: read(BOOTSTRAP_STACK_NAME) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

const only = (json: Json, type: string): [string, Json] => {
  const entries = Object.entries(json.resource?.[type] ?? {});
  if (entries.length !== 1) throw new Error(`expected one ${type}, found ${entries.length}`);
  return entries[0] as [string, Json];
};

/** Builds the model from the configuration (environment-style settings). */
export function buildAccessModel(env: Record<string, string | undefined> = {}): AccessModel {
  const config = loadConfig({ env: { ACCOUNT_B_ID: "222222222222", ...env, ISS_TRACKER_LOCAL_ENDPOINT: undefined } });
  const accountA = config.accountAId ?? EXAMPLE_ACCOUNT_A;
  const deployerArn = config.deployerPrincipalArn ?? EXAMPLE_DEPLOYER(accountA);
  const { tracker, bootstrap } = synthesize(config);
  const region = config.regionA;

  // Every reference the policies use, resolved to the ARN the configuration implies.
  const refs = new Map<string, string>();
  const accountOf = (resource: Json) => (resource.provider === "aws.account_b" ? config.accountBId : accountA);
  for (const [id, role] of Object.entries<Json>(tracker.resource.aws_iam_role)) {
    refs.set(`aws_iam_role.${id}.arn`, `arn:aws:iam::${accountOf(role)}:role/${role.name}`);
    refs.set(`aws_iam_role.${id}.name`, role.name);
  }
  for (const [id, role] of Object.entries<Json>(bootstrap.resource.aws_iam_role)) {
    refs.set(`aws_iam_role.${id}.arn`, `arn:aws:iam::${config.accountBId}:role/${role.name}`);
    refs.set(`aws_iam_role.${id}.name`, role.name);
  }
  const [bucketId, bucket] = only(tracker, "aws_s3_bucket");
  const bucketArn = `arn:aws:s3:::${bucket.bucket}`;
  refs.set(`aws_s3_bucket.${bucketId}.arn`, bucketArn);
  const [logId, logGroup] = only(tracker, "aws_cloudwatch_log_group");
  const logGroupArn = `arn:aws:logs:${region}:${accountA}:log-group:${logGroup.name}`;
  refs.set(`aws_cloudwatch_log_group.${logId}.arn`, logGroupArn);
  const [queueId, queue] = only(tracker, "aws_sqs_queue");
  const queueArn = `arn:aws:sqs:${region}:${accountA}:${queue.name}`;
  refs.set(`aws_sqs_queue.${queueId}.arn`, queueArn);
  const [ruleId, rule] = only(tracker, "aws_cloudwatch_event_rule");
  const ruleArn = `arn:aws:events:${region}:${accountA}:rule/${rule.name}`;
  refs.set(`aws_cloudwatch_event_rule.${ruleId}.arn`, ruleArn);
  const [fnId, fn] = only(tracker, "aws_lambda_function");
  const functionArn = `arn:aws:lambda:${region}:${accountA}:function:${fn.function_name}`;
  refs.set(`aws_lambda_function.${fnId}.function_name`, fn.function_name);
  refs.set("var.deployer_principal_arn", deployerArn);

  const resolve = (text: string): string =>
    text.replace(/\$\{([^}]+)\}/g, (_m, ref: string) => {
      const value = refs.get(ref);
      if (value === undefined) throw new Error(`unresolved reference \${${ref}} in a policy`);
      return value;
    });
  const doc = (text: string): PolicyDocument => JSON.parse(resolve(text));

  const roles: Record<string, RoleModel> = {};
  const addRoles = (json: Json, account: (r: Json) => string) => {
    for (const role of Object.values<Json>(json.resource.aws_iam_role)) {
      roles[role.name] = { arn: `arn:aws:iam::${account(role)}:role/${role.name}`, accountId: account(role), trustPolicy: doc(role.assume_role_policy), policies: [] };
    }
    for (const p of Object.values<Json>(json.resource.aws_iam_role_policy ?? {})) {
      const roleName = resolve(p.role);
      (roles[roleName].policies as Array<{ name: string; policy: PolicyDocument }>).push({ name: p.name, policy: doc(p.policy) });
    }
  };
  addRoles(tracker, accountOf);
  addRoles(bootstrap, () => config.accountBId);

  const [, permission] = only(tracker, "aws_lambda_permission");
  const functionPolicy: PolicyDocument = {
    Version: "2012-10-17",
    Statement: [{
      Sid: permission.statement_id,
      Effect: "Allow",
      Principal: { Service: permission.principal },
      Action: permission.action,
      Resource: functionArn,
      Condition: { ArnLike: { "aws:SourceArn": resolve(permission.source_arn) } },
    }],
  };

  return {
    config,
    accountA,
    deployerArn,
    roles,
    bucketArn,
    objectArn: `${bucketArn}/${config.objectKey}`,
    bucketPolicy: doc(only(tracker, "aws_s3_bucket_policy")[1].policy),
    functionArn,
    functionPolicy,
    ruleArn,
    queueArn,
    queuePolicy: doc(only(tracker, "aws_sqs_queue_policy")[1].policy),
    logGroupArn,
  };
}

export type Decision = "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied";

export interface AccessRequest {
  /** A role name of the model, an ARN of another principal, a service principal, or "anonymous". */
  readonly principal: string;
  /** Identity policies of a principal outside the model (e.g. an administrator's). */
  readonly identityPolicies?: ReadonlyArray<{ name: string; policy: PolicyDocument }>;
  readonly action: string;
  readonly resource: string;
  readonly resourceAccount: string;
  /** The resource-side policy: trust policy, bucket policy, function or queue policy. */
  readonly resourcePolicy?: PolicyDocument;
  readonly context?: Record<string, string | string[]>;
}

export const ADMIN_POLICY = [{
  name: "administrator",
  policy: { Version: "2012-10-17", Statement: [{ Sid: "Everything", Effect: "Allow", Action: "*", Resource: "*" }] } as PolicyDocument,
}];

/** Evaluates one request with the real evaluator. */
export async function evaluate(model: AccessModel, request: AccessRequest): Promise<Decision> {
  const role = model.roles[request.principal];
  const principal = role ? role.arn : request.principal === "anonymous" ? undefined : request.principal;
  const simulation = {
    identityPolicies: role ? role.policies : request.identityPolicies ?? [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy,
    request: {
      action: request.action,
      principal: principal ?? { type: "anonymous" },
      resource: { accountId: request.resourceAccount, resource: request.resource },
      contextVariables: { "aws:SecureTransport": "true", ...request.context },
    },
  };
  if (!principal) {
    simulation.request.principal = anonymousPrincipal as never;
    simulation.identityPolicies = [];
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const response: any = await runSimulation(simulation as any, {});
  if (response.resultType === "error") {
    throw new Error(`the evaluator rejected the request ${request.action} on ${request.resource}: ${JSON.stringify(response.errors)}`);
  }
  return response.overallResult as Decision;
}

export interface Expectation extends AccessRequest {
  readonly description: string;
  readonly expected: "allow" | "deny";
}

/** What must be allowed and what must not, in the configuration's terms. */
export function expectations(model: AccessModel): Expectation[] {
  const { config, accountA } = model;
  const exec = `${config.namePrefix}-function-exec`;
  const access = `${config.namePrefix}-report-writer`;
  const accessRole = model.roles[access];
  const trust = accessRole.trustPolicy;
  const ext = { "sts:ExternalId": config.externalId };
  const B = config.accountBId;
  const object = { resource: model.objectArn, resourceAccount: B, resourcePolicy: model.bucketPolicy };
  const bucket = { resource: model.bucketArn, resourceAccount: B, resourcePolicy: model.bucketPolicy };
  const assumeAccess = { action: "sts:AssumeRole", resource: accessRole.arn, resourceAccount: B, resourcePolicy: trust };
  const bootstrapRole = model.roles[config.bootstrapRoleName];
  return [
    { description: "execution role assumes the access role with the external id", expected: "allow", principal: exec, ...assumeAccess, context: ext },
    { description: "access role reads the object over TLS", expected: "allow", principal: access, action: "s3:GetObject", ...object },
    { description: "access role writes the object over TLS", expected: "allow", principal: access, action: "s3:PutObject", ...object },
    { description: "access role aborts its multipart upload", expected: "allow", principal: access, action: "s3:AbortMultipartUpload", ...object },
    { description: "access role lists exactly the key (404 for a missing log)", expected: "allow", principal: access, action: "s3:ListBucket", ...bucket, context: { "s3:prefix": config.objectKey } },
    { description: "EventBridge invokes the function from the rule", expected: "allow", principal: "events.amazonaws.com", action: "lambda:InvokeFunction", resource: model.functionArn, resourceAccount: accountA, resourcePolicy: model.functionPolicy, context: { "aws:SourceArn": model.ruleArn } },
    { description: "the rule parks undeliverable events in the DLQ", expected: "allow", principal: "events.amazonaws.com", action: "sqs:SendMessage", resource: model.queueArn, resourceAccount: accountA, resourcePolicy: model.queuePolicy, context: { "aws:SourceArn": model.ruleArn } },
    { description: "execution role writes its own log stream", expected: "allow", principal: exec, action: "logs:PutLogEvents", resource: `${model.logGroupArn}:log-stream:2026/11/22/[$LATEST]abc`, resourceAccount: accountA },
    { description: "the deployer assumes the bootstrap role in B", expected: "allow", principal: model.deployerArn, identityPolicies: ADMIN_POLICY, action: "sts:AssumeRole", resource: bootstrapRole.arn, resourceAccount: B, resourcePolicy: bootstrapRole.trustPolicy },

    { description: "another principal in A (even an administrator) assumes the access role", expected: "deny", principal: `arn:aws:iam::${accountA}:role/admin`, identityPolicies: ADMIN_POLICY, ...assumeAccess, context: ext },
    { description: "a principal outside A assumes the access role", expected: "deny", principal: "arn:aws:iam::333333333333:role/attacker", identityPolicies: ADMIN_POLICY, ...assumeAccess, context: ext },
    { description: "account A's root assumes the access role", expected: "deny", principal: `arn:aws:iam::${accountA}:root`, identityPolicies: ADMIN_POLICY, ...assumeAccess, context: ext },
    { description: "execution role assumes the access role without the external id", expected: "deny", principal: exec, ...assumeAccess },
    { description: "execution role assumes the access role with a wrong external id", expected: "deny", principal: exec, ...assumeAccess, context: { "sts:ExternalId": "guessed" } },
    { description: "execution role assumes another role in B", expected: "deny", principal: exec, action: "sts:AssumeRole", resource: `arn:aws:iam::${B}:role/OrganizationAccountAccessRole`, resourceAccount: B, resourcePolicy: { Version: "2012-10-17", Statement: [{ Sid: "TrustsAccountA", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${accountA}:root` }, Action: "sts:AssumeRole" }] } },
    { description: "access role reads another key", expected: "deny", principal: access, action: "s3:GetObject", ...object, resource: `${model.bucketArn}/other.txt` },
    { description: "access role writes another key", expected: "deny", principal: access, action: "s3:PutObject", ...object, resource: `${model.bucketArn}/other.txt` },
    { description: "access role deletes the object", expected: "deny", principal: access, action: "s3:DeleteObject", ...object },
    { description: "access role deletes an object version", expected: "deny", principal: access, action: "s3:DeleteObjectVersion", ...object },
    { description: "access role lists the whole bucket", expected: "deny", principal: access, action: "s3:ListBucket", ...bucket },
    { description: "access role lists another prefix", expected: "deny", principal: access, action: "s3:ListBucket", ...bucket, context: { "s3:prefix": "" } },
    { description: "access role changes the bucket policy", expected: "deny", principal: access, action: "s3:PutBucketPolicy", ...bucket },
    { description: "access role reads the object over plain HTTP", expected: "deny", principal: access, action: "s3:GetObject", ...object, context: { "aws:SecureTransport": "false" } },
    { description: "access role writes the object over plain HTTP", expected: "deny", principal: access, action: "s3:PutObject", ...object, context: { "aws:SecureTransport": "false" } },
    { description: "execution role reads the object directly, without assuming", expected: "deny", principal: exec, action: "s3:GetObject", ...object },
    { description: "an administrator of A reads the object directly", expected: "deny", principal: `arn:aws:iam::${accountA}:role/admin`, identityPolicies: ADMIN_POLICY, action: "s3:GetObject", ...object },
    { description: "anonymous reads the object", expected: "deny", principal: "anonymous", action: "s3:GetObject", ...object },
    { description: "another rule invokes the function", expected: "deny", principal: "events.amazonaws.com", action: "lambda:InvokeFunction", resource: model.functionArn, resourceAccount: accountA, resourcePolicy: model.functionPolicy, context: { "aws:SourceArn": `arn:aws:events:${config.regionA}:${accountA}:rule/other` } },
    { description: "Terraform's bootstrap role reads the log", expected: "deny", principal: config.bootstrapRoleName, action: "s3:GetObject", ...object },
    { description: "Terraform's bootstrap role deletes the log", expected: "deny", principal: config.bootstrapRoleName, action: "s3:DeleteObject", ...object },
    { description: "another principal in A assumes the bootstrap role", expected: "deny", principal: `arn:aws:iam::${accountA}:user/intruder`, identityPolicies: ADMIN_POLICY, action: "sts:AssumeRole", resource: bootstrapRole.arn, resourceAccount: B, resourcePolicy: bootstrapRole.trustPolicy },
  ];
}

export interface ProofRow {
  readonly description: string;
  readonly expected: "allow" | "deny";
  readonly decision: Decision;
  readonly ok: boolean;
  readonly request: string;
}

export async function prove(env: Record<string, string | undefined> = {}): Promise<{ model: AccessModel; rows: ProofRow[] }> {
  const model = buildAccessModel(env);
  const rows: ProofRow[] = [];
  for (const e of expectations(model)) {
    const decision = await evaluate(model, e);
    rows.push({
      description: e.description,
      expected: e.expected,
      decision,
      ok: (decision === "Allowed") === (e.expected === "allow"),
      request: `${e.principal} ${e.action} ${e.resource}`,
    });
  }
  return { model, rows };
}
