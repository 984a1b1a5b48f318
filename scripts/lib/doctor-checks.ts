/**
 * `npm run doctor`: checks a deployed trust chain step by step, read-only, and says for each of
 * the seeds' pitfalls whether it is there and how to fix it.
 *
 * It reads (never writes): STS GetCallerIdentity and AssumeRole (into the bootstrap role, which
 * is how Terraform reaches B), IAM Get/List on the two roles, Lambda GetFunctionConfiguration,
 * S3 HeadBucket/GetBucketLocation/GetBucketPolicy. Whether a role's policies allow an action is
 * decided by the same IAM evaluator `npm run prove` uses, on the policies actually deployed.
 */
import {
  GetPolicyCommand, GetPolicyVersionCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient,
  ListAttachedRolePoliciesCommand, ListRolePoliciesCommand,
} from "@aws-sdk/client-iam";
import { GetFunctionConfigurationCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetBucketLocationCommand, GetBucketPolicyCommand, HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import type { AppConfig } from "../../stacks/config";
import { resourceNames } from "../../stacks/iss-tracker-stack";
import type { PolicyDocument } from "../../stacks/policy";

import type { Credentials } from "./rehearsal";

export type { Credentials };

export interface DoctorOptions {
  readonly config: AppConfig;
  /** Emulator endpoint (e.g. the one `npm start -- --keep` prints); unset for real AWS. */
  readonly endpoint?: string;
  /** Credentials in A (default: the SDK's default chain, e.g. AWS_PROFILE). */
  readonly credentialsA?: Credentials;
  /** Credentials in B (default: assume the bootstrap role from A, as Terraform does). */
  readonly credentialsB?: Credentials;
}

export interface CheckResult {
  readonly id: string;
  readonly title: string;
  readonly ok: boolean;
  readonly detail: string;
  /** What to do when it failed. */
  readonly fix?: string;
}

type Doc = PolicyDocument;

function parsePolicy(text: string | undefined): Doc {
  if (!text) throw new Error("empty policy document");
  return JSON.parse(text.trim().startsWith("%") ? decodeURIComponent(text) : text);
}

async function allowed(identity: ReadonlyArray<{ name: string; policy: Doc }>, principal: string, action: string,
  resource: string, resourceAccount: string, resourcePolicy?: Doc, context: Record<string, string> = {}): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const response: any = await runSimulation({
    identityPolicies: identity,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
    request: { action, principal, resource: { accountId: resourceAccount, resource }, contextVariables: { "aws:SecureTransport": "true", ...context } },
  } as never, {});
  if (response.resultType === "error") return `evaluator error: ${JSON.stringify(response.errors).slice(0, 200)}`;
  return response.overallResult;
}

/** Inline and attached (default version) policies of a role. */
async function rolePolicies(iam: IAMClient, roleName: string): Promise<Array<{ name: string; policy: Doc }>> {
  const out: Array<{ name: string; policy: Doc }> = [];
  for (const name of (await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames ?? []) {
    const p = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: name }));
    out.push({ name, policy: parsePolicy(p.PolicyDocument) });
  }
  for (const attached of (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }))).AttachedPolicies ?? []) {
    const policy = await iam.send(new GetPolicyCommand({ PolicyArn: attached.PolicyArn }));
    const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: attached.PolicyArn, VersionId: policy.Policy?.DefaultVersionId }));
    out.push({ name: attached.PolicyName ?? "attached", policy: parsePolicy(version.PolicyVersion?.Document) });
  }
  return out;
}

const ALLOW_ASSUME = [{ name: "identity-side", policy: { Version: "2012-10-17", Statement: [{ Sid: "Any", Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }] } as Doc }];

const errorText = (error: unknown) => `${(error as { name?: string }).name ?? "Error"}: ${(error as Error).message}`;

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const { config, endpoint } = options;
  const names = resourceNames(config.namePrefix);
  const base = { region: config.regionA, ...(endpoint ? { endpoint } : {}) };
  const results: CheckResult[] = [];
  const add = (id: string, title: string, ok: boolean, detail: string, fix?: string) =>
    results.push({ id, title, ok, detail, fix: ok ? undefined : fix });

  // 1. Who am I, in which account.
  const stsA = new STSClient({ ...base, credentials: options.credentialsA });
  let callerArn = "";
  let accountA = "";
  try {
    const me = await stsA.send(new GetCallerIdentityCommand({}));
    callerArn = me.Arn ?? "";
    accountA = me.Account ?? "";
    const pinned = config.accountAId === undefined || config.accountAId === accountA;
    add("identity-a", "credentials for account A", pinned && accountA !== config.accountBId,
      `${callerArn} in ${accountA}`,
      accountA === config.accountBId
        ? "these are account B's credentials: use account A's (e.g. AWS_PROFILE=account-a)"
        : `ACCOUNT_A_ID is ${config.accountAId}: use credentials of that account`);
  } catch (error) {
    add("identity-a", "credentials for account A", false, errorText(error), "configure credentials for account A (AWS_PROFILE or AWS_ACCESS_KEY_ID/...)");
    return results;
  }

  // 2. The bootstrap role, as Terraform's account_b provider uses it.
  const bootstrapArn = `arn:aws:iam::${config.accountBId}:role/${config.bootstrapRoleName}`;
  let credentialsB = options.credentialsB;
  try {
    const assumed = await stsA.send(new AssumeRoleCommand({ RoleArn: bootstrapArn, RoleSessionName: "iss-tracker-doctor" }));
    const c = assumed.Credentials!;
    const viaBootstrap = { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken };
    const who = await new STSClient({ ...base, credentials: viaBootstrap }).send(new GetCallerIdentityCommand({}));
    add("bootstrap-role", `bootstrap role ${config.bootstrapRoleName} in B is assumable`, who.Account === config.accountBId,
      `assumed ${bootstrapArn}: acting in ${who.Account}`,
      `ACCOUNT_B_ID is ${config.accountBId} but the role acts in ${who.Account}: fix ACCOUNT_B_ID`);
    credentialsB ??= viaBootstrap;
  } catch (error) {
    add("bootstrap-role", `bootstrap role ${config.bootstrapRoleName} in B is assumable`, false, errorText(error),
      `deploy the bootstrap stack with B's credentials and DEPLOYER_PRINCIPAL_ARN=${callerArn.replace(/:sts::(\d+):assumed-role\/([^/]+)\/.*/, ":iam::$1:role/$2")} (see README, "Bootstrap B")`);
  }
  if (!credentialsB) return results;
  const iamA = new IAMClient({ ...base, credentials: options.credentialsA });
  const iamB = new IAMClient({ ...base, credentials: credentialsB });

  // 3. The function and the execution role.
  let env: Record<string, string> = {};
  let execArn = "";
  try {
    const fn = await new LambdaClient({ ...base, credentials: options.credentialsA })
      .send(new GetFunctionConfigurationCommand({ FunctionName: names.functionName }));
    env = fn.Environment?.Variables ?? {};
    execArn = fn.Role ?? "";
    add("function", `function ${names.functionName} is deployed`, true, `runs as ${execArn}`);
  } catch (error) {
    add("function", `function ${names.functionName} is deployed`, false, errorText(error), "run `cdktf deploy iss-tracker` with account A's credentials");
    return results;
  }
  const execName = execArn.split("/").pop() ?? "";
  let execPolicies: Array<{ name: string; policy: Doc }> = [];
  try {
    const role = await iamA.send(new GetRoleCommand({ RoleName: execName }));
    execPolicies = await rolePolicies(iamA, execName);
    const trust = parsePolicy(role.Role?.AssumeRolePolicyDocument);
    const lambdaTrusted = (await allowed([], "lambda.amazonaws.com", "sts:AssumeRole", execArn, accountA, trust)) === "Allowed";
    add("execution-role", "execution role exists and trusts lambda.amazonaws.com", lambdaTrusted,
      `${role.Role?.Arn} (path ${role.Role?.Path})`, "the execution role's trust policy must allow lambda.amazonaws.com to sts:AssumeRole");
  } catch (error) {
    add("execution-role", "execution role exists and trusts lambda.amazonaws.com", false, errorText(error), "redeploy: `cdktf deploy iss-tracker`");
  }

  // 4. Environment vs. deployed resources.
  const accessArn = `arn:aws:iam::${config.accountBId}:role/${names.accessRoleName}`;
  const expected: Record<string, string> = {
    ACCESS_ROLE_ARN: accessArn,
    EXTERNAL_ID: config.externalId,
    BUCKET_NAME: config.bucketName,
    BUCKET_REGION: config.regionB,
    OBJECT_KEY: config.objectKey,
  };
  const mismatched = Object.entries(expected).filter(([k, v]) => env[k] !== v);
  add("function-environment", "function environment matches the deployed resources", mismatched.length === 0,
    mismatched.length === 0 ? "ACCESS_ROLE_ARN, EXTERNAL_ID, BUCKET_NAME, BUCKET_REGION, OBJECT_KEY as configured"
      : mismatched.map(([k, v]) => `${k}=${JSON.stringify(env[k])} (expected ${JSON.stringify(v)})`).join("; "),
    "redeploy with the same configuration (`cdktf deploy iss-tracker`); do not edit the function's environment by hand");

  // 5. A may assume exactly the access role (seed pitfall 1). The identity side alone: evaluated
  // as if in the caller's account, so the other account's trust policy does not take part.
  const assumeDecision = await allowed(execPolicies, execArn, "sts:AssumeRole", accessArn, accountA);
  add("execution-policy", "execution role policy allows sts:AssumeRole on the access role", assumeDecision === "Allowed",
    `${execName} -> ${accessArn}: ${assumeDecision}`,
    `attach a policy to ${execName} allowing sts:AssumeRole on ${accessArn} (the stack's assume-report-access-role policy)`);

  // 6. B's trust: the real execution role ARN (with its path) and the external id (seed pitfall 2, seed 000's Invalid principal).
  let accessPolicies: Array<{ name: string; policy: Doc }> = [];
  try {
    const access = await iamB.send(new GetRoleCommand({ RoleName: names.accessRoleName }));
    const trust = parsePolicy(access.Role?.AssumeRolePolicyDocument);
    const principals = trust.Statement.flatMap((s) => {
      const aws = typeof s.Principal === "object" ? s.Principal.AWS : undefined;
      return aws === undefined ? [] : Array.isArray(aws) ? aws : [aws];
    });
    // The trust side alone: the caller's identity policy is taken as allowing (checked above).
    const withId = await allowed(ALLOW_ASSUME, execArn, "sts:AssumeRole", accessArn, config.accountBId, trust, { "sts:ExternalId": env.EXTERNAL_ID ?? "" });
    const named = principals.includes(execArn);
    add("access-trust", "access role trusts the execution role (real ARN, with path) and the external id", named && withId === "Allowed",
      `principals ${principals.join(", ") || "(none)"}; AssumeRole with the function's EXTERNAL_ID: ${withId}`,
      !named
        ? `the trust policy must name ${execArn} exactly (including its path, e.g. /service-role/): redeploy the stack`
        : `the trust policy's sts:ExternalId condition must equal the function's EXTERNAL_ID (${env.EXTERNAL_ID}): redeploy with one EXTERNAL_ID`);
    accessPolicies = await rolePolicies(iamB, names.accessRoleName);
  } catch (error) {
    add("access-trust", "access role trusts the execution role (real ARN, with path) and the external id", false, errorText(error),
      "deploy the stack: the access role is created by `cdktf deploy iss-tracker` through the bootstrap role");
  }

  // 7. The bucket, and what the access role may do on the object (seed pitfall 2: S3 permissions, bucket policy).
  const s3 = new S3Client({ ...base, region: config.regionB, forcePathStyle: endpoint !== undefined, credentials: credentialsB });
  const bucketArn = `arn:aws:s3:::${config.bucketName}`;
  const objectArn = `${bucketArn}/${config.objectKey}`;
  let bucketPolicy: Doc | undefined;
  try {
    await s3.send(new HeadBucketCommand({ Bucket: config.bucketName }));
    const location = (await s3.send(new GetBucketLocationCommand({ Bucket: config.bucketName }))).LocationConstraint || "us-east-1";
    add("bucket", `bucket ${config.bucketName} exists in ${config.regionB}`, location === config.regionB, `in ${location}`,
      `the bucket is in ${location}: set REGION_B=${location}`);
    try {
      bucketPolicy = parsePolicy((await s3.send(new GetBucketPolicyCommand({ Bucket: config.bucketName }))).Policy);
    } catch (error) {
      if ((error as { name?: string }).name !== "NoSuchBucketPolicy") throw error;
    }
  } catch (error) {
    add("bucket", `bucket ${config.bucketName} exists in ${config.regionB}`, false, errorText(error), "deploy the stack, or fix BUCKET_NAME");
  }
  const decisions = await Promise.all([
    ["s3:GetObject", objectArn, {}], ["s3:PutObject", objectArn, {}], ["s3:ListBucket", bucketArn, { "s3:prefix": config.objectKey }],
  ].map(async ([action, resource, context]) =>
    [action as string, await allowed(accessPolicies, accessArn, action as string, resource as string, config.accountBId, bucketPolicy, context as Record<string, string>)]));
  const identityOnly = await Promise.all(["s3:GetObject", "s3:PutObject"].map((a) => allowed(accessPolicies, accessArn, a, objectArn, config.accountBId)));
  const blockedByBucket = decisions.some(([, d]) => d === "ExplicitlyDenied");
  add("access-permissions", "access role may read and write the object", identityOnly.every((d) => d === "Allowed"),
    decisions.map(([a, d]) => `${a}: ${d}`).join(", "),
    `give ${names.accessRoleName} s3:GetObject and s3:PutObject on ${objectArn} (the stack's read-write-report-object policy)`);
  add("bucket-policy", "bucket policy does not block the access role over TLS", !blockedByBucket,
    bucketPolicy ? `bucket policy with ${bucketPolicy.Statement.length} statement(s)` : "no bucket policy",
    "remove the Deny that matches the access role in the bucket policy (only the TLS-only Deny belongs there)");
  return results;
}
