/**
 * The access model as deployed: both stacks synthesized exactly as `cdktf synth` would (normal
 * mode, never local emulator mode), their policy documents read back from `cdk.tf.json`, and every
 * Terraform interpolation in them (`${aws_iam_role.X.arn}`, `${aws_s3_bucket.X.arn}`,
 * `${var.deployer_principal_arn}`, ...) replaced by the ARN the configuration implies:
 *
 *   execution role  arn:<partition>:iam::<A>:role/<prefix>-function-exec
 *   access role     arn:<partition>:iam::<B>:role/<prefix>-report-writer (with its permissions
 *                   boundary, the bootstrap stack's aws_iam_policy of that ARN)
 *   bucket          arn:<partition>:s3:::<bucket>        object  arn:<partition>:s3:::<bucket>/<key>
 *   function, rule, queue, log group: arn:<partition>:<service>:<regionA>:<A>:...
 *
 * With several targets (TARGETS) there is one model per target: A's resources, that target's
 * resources in the tracker stack (its provider alias) and its bootstrap stack; ARNs of every
 * target still resolve (the execution role's policy names every access role).
 *
 * A is ACCOUNT_A_ID, or 111111111111 when unset (no policy depends on its value); B defaults to
 * 222222222222 so `npm run prove` works without any setting. A reference the model cannot
 * resolve is an error, never left in place: an unresolved ARN would match nothing and make every
 * "deny" expectation pass for the wrong reason.
 */
import type { AppConfig, TargetConfig } from "../../stacks/config";
import { targetProviderAlias } from "../../stacks/constructs/providers";
import { resourceNames, targetArns } from "../../stacks/names";
import type { PolicyDocument } from "../../stacks/policy";
import type { NamedPolicy } from "../shared/iam";
import { EXAMPLE_ACCOUNT_A, exampleDeployer, reviewConfig, synthesizeStacks, type Json, type SynthesizedStacks } from "../shared/synth";

export type { NamedPolicy };

export interface RoleModel {
  readonly name: string;
  readonly arn: string;
  readonly accountId: string;
  readonly trustPolicy: PolicyDocument;
  /** Inline policies (the stacks attach no managed policy). */
  readonly policies: readonly NamedPolicy[];
  /** The permissions boundary the role carries (its ARN as `name`), if any. */
  readonly boundary?: NamedPolicy;
}

export interface AccessModel {
  readonly config: AppConfig;
  /** Which target this model is (its index in config.targets), and its settings. */
  readonly targetIndex: number;
  readonly target: TargetConfig;
  readonly accountA: string;
  /** The target's account. */
  readonly accountB: string;
  readonly deployerArn: string;
  /** Every role of both stacks, by name. */
  readonly roles: Readonly<Record<string, RoleModel>>;
  readonly executionRole: RoleModel;
  readonly accessRole: RoleModel;
  readonly bootstrapRole: RoleModel;
  /** ARN of the access role's permissions boundary, as both stacks derive it. */
  readonly accessBoundaryArn: string;
  /** Managed policies the stacks create, by ARN (the boundary). */
  readonly managedPolicies: Readonly<Record<string, PolicyDocument>>;
  readonly functionName: string;
  readonly functionArn: string;
  /** Lambda's resource policy, built from the stack's aws_lambda_permission. */
  readonly functionPolicy: PolicyDocument;
  readonly bucketArn: string;
  readonly objectArn: string;
  /** undefined when the stack has no bucket policy (it always has one outside local mode). */
  readonly bucketPolicy?: PolicyDocument;
  readonly ruleArn: string;
  /** The schedule's dead-letter queue. */
  readonly queueArn: string;
  readonly queuePolicy: PolicyDocument;
  /** The function's on-failure destination (Lambda sends to it with the execution role's permissions). */
  readonly failureQueueArn: string;
  readonly failureQueuePolicy: PolicyDocument;
  readonly logGroupArn: string;
}

/**
 * Replaces every Terraform interpolation (`${aws_iam_role.X.arn}`, `${var.y}`) in a synthesized
 * text by the value `refs` gives it; a reference it does not know is an error, never left in place.
 */
export function referenceResolver(refs: ReadonlyMap<string, string>): (text: string) => string {
  return (text) => text.replace(/\$\{([^}]+)\}/g, (_match, ref: string) => {
    const value = refs.get(ref.trim());
    if (value === undefined) throw new Error(`unresolved reference \${${ref}} in a synthesized policy`);
    return value;
  });
}

function only(json: Json, type: string, provider?: string): [string, Json] {
  const entries = Object.entries<Json>(json.resource?.[type] ?? {}).filter(([, r]) => provider === undefined || r.provider === provider);
  if (entries.length !== 1) throw new Error(`expected exactly one ${type}${provider ? ` of provider ${provider}` : ""} in the synthesized stack, found ${entries.length}`);
  return entries[0];
}

/** Builds target `targetIndex`'s model from synthesized stacks (exported so tests can feed altered JSON). */
export function accessModelFrom(config: AppConfig, stacks: SynthesizedStacks, targetIndex = 0): AccessModel {
  const target = config.targets[targetIndex];
  if (!target) throw new Error(`the configuration has no target ${targetIndex}`);
  const { tracker } = stacks;
  const bootstrap = targetIndex === 0 ? stacks.bootstrap : stacks.bootstraps?.[targetIndex];
  if (!bootstrap) throw new Error(`no bootstrap stack was synthesized for target ${target.accountId}`);
  const accountA = config.accountAId ?? EXAMPLE_ACCOUNT_A;
  const accountB = target.accountId;
  const providerB = `aws.${targetProviderAlias(target.accountId, targetIndex)}`;
  const accountOfProvider = new Map(config.targets.map((t, i) => [`aws.${targetProviderAlias(t.accountId, i)}`, t.accountId]));
  const deployerArn = config.deployerPrincipalArn ?? exampleDeployer(accountA, config.partition);
  const region = config.regionA;
  const partition = config.partition;

  // Which account a resource lives in: in the tracker stack, a target's provider alias is that
  // target's account, the default provider A; the bootstrap stack is deployed in its target only.
  const accountOf = (resource: Json, stack: "tracker" | "bootstrap") =>
    stack === "bootstrap" ? accountB : accountOfProvider.get(String(resource.provider ?? "")) ?? accountA;
  // What this target's model holds of the tracker stack: A's resources and this target's.
  const inModel = (resource: Json, stack: "tracker" | "bootstrap") => stack === "bootstrap" || [accountA, accountB].includes(accountOf(resource, stack)) && (resource.provider === undefined || resource.provider === "aws" || resource.provider === providerB);

  const refs = new Map<string, string>();
  for (const [stackName, json] of [["tracker", tracker], ["bootstrap", bootstrap]] as const) {
    for (const [id, role] of Object.entries<Json>(json.resource?.aws_iam_role ?? {})) {
      refs.set(`aws_iam_role.${id}.arn`, `arn:${partition}:iam::${accountOf(role, stackName)}:role${role.path ?? "/"}${role.name}`);
      refs.set(`aws_iam_role.${id}.name`, role.name);
      refs.set(`aws_iam_role.${id}.id`, role.name);
    }
  }
  const policyArns: Array<[string, Json]> = [];
  for (const [stackName, json] of [["tracker", tracker], ["bootstrap", bootstrap]] as const) {
    for (const [id, managed] of Object.entries<Json>(json.resource?.aws_iam_policy ?? {})) {
      const arn = `arn:${partition}:iam::${stackName === "bootstrap" ? accountB : accountOf(managed, stackName)}:policy${managed.path ?? "/"}${managed.name}`;
      refs.set(`aws_iam_policy.${id}.arn`, arn);
      policyArns.push([arn, managed]);
    }
  }
  for (const [id, b] of Object.entries<Json>(tracker.resource?.aws_s3_bucket ?? {})) {
    refs.set(`aws_s3_bucket.${id}.arn`, `arn:${partition}:s3:::${b.bucket}`);
    refs.set(`aws_s3_bucket.${id}.id`, b.bucket);
    refs.set(`aws_s3_bucket.${id}.bucket`, b.bucket);
  }
  const [, bucket] = only(tracker, "aws_s3_bucket", providerB);
  const bucketArn = `arn:${partition}:s3:::${bucket.bucket}`;
  const [logId, logGroup] = only(tracker, "aws_cloudwatch_log_group");
  const logGroupArn = `arn:${partition}:logs:${region}:${accountA}:log-group:${logGroup.name}`;
  refs.set(`aws_cloudwatch_log_group.${logId}.arn`, logGroupArn);
  // Two queues: the schedule's dead-letter queue and the function's on-failure destination.
  const queues = Object.entries<Json>(tracker.resource?.aws_sqs_queue ?? {});
  for (const [id, queue] of queues) refs.set(`aws_sqs_queue.${id}.arn`, `arn:${partition}:sqs:${region}:${accountA}:${queue.name}`);
  const queueNamed = (name: string): [string, string] => {
    const found = queues.find(([, q]) => q.name === name);
    if (!found) throw new Error(`the synthesized stack has no queue ${name}`);
    return [found[0], `arn:${partition}:sqs:${region}:${accountA}:${name}`];
  };
  const queuePolicyOf = (queueId: string): string => {
    const found = Object.values<Json>(tracker.resource?.aws_sqs_queue_policy ?? {}).filter((p) => p.queue_url === `\${aws_sqs_queue.${queueId}.url}`);
    if (found.length !== 1) throw new Error(`expected exactly one aws_sqs_queue_policy on ${queueId}, found ${found.length}`);
    return found[0].policy;
  };
  const queueNames = resourceNames(config.namePrefix);
  const [queueId, queueArn] = queueNamed(queueNames.deadLetterQueueName);
  const [failureQueueId, failureQueueArn] = queueNamed(queueNames.failureQueueName);
  const [ruleId, rule] = only(tracker, "aws_cloudwatch_event_rule");
  const ruleArn = `arn:${partition}:events:${region}:${accountA}:rule/${rule.name}`;
  refs.set(`aws_cloudwatch_event_rule.${ruleId}.arn`, ruleArn);
  const [fnId, fn] = only(tracker, "aws_lambda_function");
  const functionArn = `arn:${partition}:lambda:${region}:${accountA}:function:${fn.function_name}`;
  refs.set(`aws_lambda_function.${fnId}.function_name`, fn.function_name);
  refs.set(`aws_lambda_function.${fnId}.arn`, functionArn);
  refs.set("var.deployer_principal_arn", deployerArn);

  const resolve = referenceResolver(refs);
  const doc = (text: string): PolicyDocument => JSON.parse(resolve(text));
  const managedPolicies: Record<string, PolicyDocument> = Object.fromEntries(policyArns.map(([arn, managed]) => [arn, doc(managed.policy)]));

  const roles: Record<string, RoleModel> = {};
  for (const [stackName, json] of [["tracker", tracker], ["bootstrap", bootstrap]] as const) {
    for (const role of Object.values<Json>(json.resource?.aws_iam_role ?? {}).filter((r) => inModel(r, stackName))) {
      const accountId = accountOf(role, stackName);
      let boundary: NamedPolicy | undefined;
      if (role.permissions_boundary !== undefined) {
        const boundaryArn = resolve(role.permissions_boundary);
        const boundaryPolicy = managedPolicies[boundaryArn];
        if (!boundaryPolicy) {
          throw new Error(`role ${role.name} carries the permissions boundary ${boundaryArn}, which neither stack creates (the bootstrap stack must: check that both derive the same ARN)`);
        }
        boundary = { name: boundaryArn, policy: boundaryPolicy };
      }
      roles[role.name] = {
        name: role.name,
        arn: `arn:${partition}:iam::${accountId}:role${role.path ?? "/"}${role.name}`,
        accountId,
        trustPolicy: doc(role.assume_role_policy),
        policies: [],
        ...(boundary ? { boundary } : {}),
      };
    }
    for (const p of Object.values<Json>(json.resource?.aws_iam_role_policy ?? {}).filter((r) => inModel(r, stackName))) {
      const role = roles[resolve(p.role)];
      if (!role) throw new Error(`policy ${p.name} is attached to an unknown role ${p.role}`);
      (role.policies as NamedPolicy[]).push({ name: p.name, policy: doc(p.policy) });
    }
    if (Object.keys(json.resource?.aws_iam_role_policy_attachment ?? {}).length > 0) {
      throw new Error("the stacks attach managed policies: the proof models inline policies and boundaries only, extend scripts/prove/access-model.ts");
    }
  }
  const role = (name: string) => {
    const found = roles[name];
    if (!found) throw new Error(`the synthesized stacks have no role ${name}`);
    return found;
  };

  // Lambda's resource policy is the aws_lambda_permission statement, as AWS stores it.
  const [, permission] = only(tracker, "aws_lambda_permission");
  const functionPolicy: PolicyDocument = {
    Version: "2012-10-17",
    Statement: [{
      Sid: permission.statement_id,
      Effect: "Allow",
      Principal: { Service: permission.principal },
      Action: permission.action,
      Resource: functionArn,
      ...(permission.source_arn ? { Condition: { ArnLike: { "aws:SourceArn": resolve(permission.source_arn) } } } : {}),
    }],
  };
  const bucketPolicies = Object.values<Json>(tracker.resource?.aws_s3_bucket_policy ?? {}).filter((p) => p.provider === providerB);
  if (bucketPolicies.length > 1) throw new Error(`expected at most one aws_s3_bucket_policy of ${providerB}`);

  return {
    config,
    targetIndex,
    target,
    accountA,
    accountB,
    deployerArn,
    roles,
    executionRole: role(`${config.namePrefix}-function-exec`),
    accessRole: role(`${config.namePrefix}-report-writer`),
    bootstrapRole: role(target.bootstrapRoleName),
    accessBoundaryArn: targetArns(config, target).accessBoundaryArn,
    managedPolicies,
    functionName: fn.function_name,
    functionArn,
    functionPolicy,
    bucketArn,
    objectArn: `${bucketArn}/${target.objectKey}`,
    bucketPolicy: bucketPolicies.length === 1 ? doc(bucketPolicies[0].policy) : undefined,
    ruleArn,
    queueArn,
    queuePolicy: doc(queuePolicyOf(queueId)),
    failureQueueArn,
    failureQueuePolicy: doc(queuePolicyOf(failureQueueId)),
    logGroupArn,
  };
}

/** Synthesizes the stacks for the configuration the environment gives, and builds the first target's model. */
export function buildAccessModel(env: Record<string, string | undefined> = {}): AccessModel {
  return buildAccessModels(env)[0];
}

/** Synthesizes the stacks once and builds every target's model, in the targets' order. */
export function buildAccessModels(env: Record<string, string | undefined> = {}): AccessModel[] {
  const config = reviewConfig(env);
  const stacks = synthesizeStacks(config);
  return config.targets.map((_, i) => accessModelFrom(config, stacks, i));
}
