/**
 * `npm run doctor`: checks a deployed trust chain step by step, read-only, and says for each of
 * the seeds' pitfalls whether it is there and how to fix it:
 *
 *   seed 003 #3  Terraform cannot reach B        -> bootstrap-role
 *   seed 000/001/003 #1  not authorized to perform sts:AssumeRole  -> execution-policy
 *   seed 000  Invalid principal ... /service-role/  -> access-trust-principal
 *   seed 000  ExternalId                          -> access-trust-external-id
 *   seed 003 #2  trust does not trust A's role    -> access-trust-principal
 *   seed 003 #2  role in B has no S3 permissions  -> access-permissions, object-read
 *   seed 003 #2  restrictive bucket policy        -> bucket-policy, object-read
 *   (and: wrong credentials/accounts, missing function or roles, an environment that points elsewhere)
 *
 * Day two (./monitoring.ts): the on-failure destination, what waits in the failure queue and the
 * schedule's dead-letter queue, the alert topic and its subscription, and each alarm's state.
 *
 * What doctor reads: STS GetCallerIdentity and AssumeRole, IAM Get/List on the roles, Lambda
 * GetFunctionConfiguration and GetFunctionEventInvokeConfig, S3 HeadBucket/GetBucketLocation/
 * GetBucketPolicy/ListObjectsV2/HeadObject, SQS GetQueueUrl/GetQueueAttributes, SNS
 * GetTopicAttributes/ListSubscriptionsByTopic, KMS GetKeyPolicy, CloudWatch DescribeAlarms and
 * CloudWatch Logs DescribeMetricFilters (see ./aws.ts: its clients refuse anything else). Whether a deployed policy allows an
 * action is decided by the IAM evaluator `npm run prove` uses, on the policies actually deployed;
 * the one live data-plane check is the read in object-read.
 */
import { GetFunctionConfigurationCommand } from "@aws-sdk/client-lambda";
import { GetBucketLocationCommand, GetBucketPolicyCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import type { AppConfig } from "../../stacks/config";
import { derivedArns, resourceNames } from "../../stacks/names";
import type { PolicyDocument, Statement } from "../../stacks/policy";
import { assumeRole, errorText, isAccessDenied, isNotFound, parsePolicy, readRole, type Credentials } from "../shared/aws";
import { evaluate, sessionOf, type NamedPolicy } from "../shared/iam";
import { clientsFor, type AccountAccess, type AccountClients } from "./aws";
import { MONITORING_CHECK_IDS, monitoringChecks } from "./monitoring";

export interface DoctorOptions {
  readonly config: AppConfig;
  /** Emulator endpoint (e.g. the one `npm start -- --keep` prints); unset for real AWS. */
  readonly endpoint?: string;
  /** Profile for account A (default: the SDK's default chain, e.g. AWS_PROFILE). */
  readonly profileA?: string;
  /** Profile for account B (default: assume the bootstrap role from A, as Terraform does). */
  readonly profileB?: string;
  /** Static credentials for A / B (tests). They win over the profiles. */
  readonly credentialsA?: Credentials;
  readonly credentialsB?: Credentials;
}

/** "warn": nothing is broken, but something needs a person (an alarm without data, nobody subscribed). */
export type CheckStatus = "pass" | "fail" | "warn" | "skip";

export interface CheckResult {
  readonly id: CheckId;
  readonly title: string;
  readonly status: CheckStatus;
  /** What was found. */
  readonly detail: string;
  /** What to do, when it failed. */
  readonly fix?: string;
}

/** Every check, in the order doctor runs them. */
export const CHECK_IDS = [
  "identity-a", "bootstrap-role", "identity-b", "function", "execution-role", "execution-policy", "access-role",
  "access-trust-principal", "access-trust-external-id", "bucket", "function-environment", "access-permissions",
  "bucket-policy", "object-read", ...MONITORING_CHECK_IDS,
] as const;
export type CheckId = (typeof CHECK_IDS)[number];

const REDEPLOY = "`npx cdktf deploy iss-tracker` with the same configuration";
const ALLOWED = "Allowed";

/** The AWS principals an Allow statement for sts:AssumeRole names. */
function trustedPrincipals(trust: PolicyDocument): string[] {
  return trust.Statement.filter((s) => s.Effect === "Allow" && actions(s).some((a) => /^sts:(AssumeRole|\*)$|^\*$/.test(a)))
    .flatMap((s) => {
      if (s.Principal === "*") return ["*"];
      const aws = s.Principal?.AWS;
      return aws === undefined ? [] : typeof aws === "string" ? [aws] : [...aws];
    });
}
const actions = (s: Statement): string[] => (typeof s.Action === "string" ? [s.Action] : [...s.Action]);

/** The sts:ExternalId values the trust's Allow statements require (StringEquals / StringLike). */
function requiredExternalIds(trust: PolicyDocument): string[] {
  return trust.Statement.filter((s) => s.Effect === "Allow").flatMap((s) =>
    Object.values(s.Condition ?? {}).flatMap((block) =>
      Object.entries(block ?? {}).filter(([key]) => key.toLowerCase() === "sts:externalid").flatMap(([, v]) => (typeof v === "string" ? [v] : [...v]))));
}

/** The IAM role ARN behind an STS assumed-role session ARN (path unknown: shown without it). */
const roleOfSession = (arn: string) => arn.replace(/^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.*$/, "arn:$1:iam::$2:role/$3");

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const { config, endpoint } = options;
  const names = resourceNames(config.namePrefix);
  const emulator = endpoint !== undefined;
  const results: CheckResult[] = [];
  const record = (id: CheckId, title: string, ok: boolean, detail: string, fix?: string) =>
    results.push({ id, title, status: ok ? "pass" : "fail", detail, ...(ok ? {} : { fix }) });
  const skipRest = (why: string) => {
    for (const id of CHECK_IDS) {
      if (!results.some((r) => r.id === id)) results.push({ id, title: TITLES[id], status: "skip", detail: `not checked: ${why}` });
    }
    return results;
  };
  const TITLES: Record<CheckId, string> = {
    "identity-a": "credentials for account A",
    "bootstrap-role": `deployer can assume the bootstrap role ${config.bootstrapRoleName} in B`,
    "identity-b": "credentials for account B",
    "function": `function ${names.functionName} is deployed in A`,
    "execution-role": "execution role exists and trusts lambda.amazonaws.com",
    "execution-policy": "execution role may sts:AssumeRole the access role (and no other role)",
    "access-role": `access role ${names.accessRoleName} exists in B`,
    "access-trust-principal": "access role trusts exactly the execution role (its real ARN, with path)",
    "access-trust-external-id": "access role requires the external id the function sends",
    "function-environment": "function environment matches the deployed resources",
    "bucket": `bucket ${config.bucketName} exists in ${config.regionB}`,
    "access-permissions": "access role may read and write the object",
    "bucket-policy": "bucket policy does not block the access role over TLS",
    "object-read": "the object can be read through the chain (live read)",
    "failure-destination": "failed scheduled runs go to the on-failure queue, which the execution role may send to",
    "failed-invocations": "no failed-invocation record waits in the on-failure queue",
    "undeliverable-events": "no undeliverable event waits in the schedule's dead-letter queue",
    "alert-topic": "the alarms' topic is encrypted with a key CloudWatch may use and admits this deployment's alarms",
    "alert-subscription": "someone receives the alarms (a confirmed subscription)",
    "alarm-function-errors": "alarm on function errors",
    "alarm-failed-invocations": "alarm on the on-failure queue holding records",
    "alarm-undeliverable-events": "alarm on the dead-letter queue holding events",
    "alarm-log-stalled": `alarm on the log not growing (fewer than 1 entry in ${config.alarmMissedRuns} schedule periods)`,
  };
  const check = (id: CheckId, ok: boolean, detail: string, fix?: string) => record(id, TITLES[id], ok, detail, fix);

  // 1. Who we are in A.
  const accessA: AccountAccess = { region: config.regionA, endpoint, profile: options.profileA, credentials: options.credentialsA };
  const a = clientsFor(accessA);
  let callerArn: string;
  let accountA: string;
  try {
    const me = await a.sts.send(new GetCallerIdentityCommand({}));
    callerArn = me.Arn ?? "";
    accountA = me.Account ?? "";
  } catch (error) {
    check("identity-a", false, errorText(error), "configure credentials for account A: AWS_PROFILE=<profile of A>, --profile-a <name>, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
    return skipRest("no credentials for account A");
  }
  const wrongA = accountA === config.accountBId ? "these are account B's credentials"
    : config.accountAId !== undefined && config.accountAId !== accountA ? `ACCOUNT_A_ID is ${config.accountAId}` : undefined;
  check("identity-a", wrongA === undefined, `${callerArn} in account ${accountA}${wrongA ? ` (${wrongA})` : ""}`,
    `use account A's credentials (AWS_PROFILE or --profile-a)${config.accountAId ? `, account ${config.accountAId}` : ""}, or fix ACCOUNT_A_ID`);
  if (wrongA) return skipRest("the credentials are not account A's");

  // 2. The bootstrap role, as Terraform's account_b provider assumes it (seed 003, problem 3).
  const bootstrapArn = derivedArns(config).bootstrapRoleArn;
  const deployerHint = callerArn.includes(":assumed-role/")
    ? `${roleOfSession(callerArn)} (your role's full ARN: add its path if it has one, see \`aws iam get-role\`)` : callerArn;
  const bootstrapFix = `deploy the bootstrap stack with B's credentials: DEPLOYER_PRINCIPAL_ARN=${deployerHint} AWS_PROFILE=<profile of B> npx cdktf deploy bootstrap` +
    ` (or set BOOTSTRAP_ROLE_NAME to the role that exists)`;
  let viaBootstrap: Credentials | undefined;
  let bootstrapError: string | undefined;
  try {
    viaBootstrap = await assumeRole(a.sts, bootstrapArn, "iss-tracker-doctor");
  } catch (error) {
    bootstrapError = errorText(error);
  }

  // 3. Credentials in B: the profile given, else the bootstrap role's session.
  const credentialsB = options.credentialsB ?? (options.profileB ? undefined : viaBootstrap);
  const accessB: AccountAccess = { region: config.regionB, endpoint, profile: options.profileB, credentials: credentialsB };
  const haveB = options.credentialsB !== undefined || options.profileB !== undefined || viaBootstrap !== undefined;
  let b: AccountClients | undefined = haveB ? clientsFor(accessB) : undefined;
  const viaBootstrapOnly = options.credentialsB === undefined && options.profileB === undefined;
  if (bootstrapError !== undefined) {
    check("bootstrap-role", false, `AssumeRole ${bootstrapArn} as ${callerArn}: ${bootstrapError}`, bootstrapFix);
  } else {
    // The live AssumeRole worked. Where B's credentials can read the role (a profile of B; the
    // bootstrap role itself may not read itself), also evaluate its trust policy for the caller:
    // the emulator neither evaluates cross-account trust nor checks that the role exists.
    let trustNote = "";
    let trusted = true;
    if (b) {
      try {
        const { trust } = await readRole(b.iam, config.bootstrapRoleName);
        const decision = await evaluate({ principal: callerArn, identityPolicies: ADMIN, action: "sts:AssumeRole", resource: bootstrapArn, resourceAccount: config.accountBId, resourcePolicy: trust });
        trusted = decision.decision === ALLOWED;
        trustNote = `; its trust policy ${trusted ? "names" : "does not name"} ${callerArn} (trusts ${trustedPrincipals(trust).join(", ") || "no AWS principal"})`;
      } catch (error) {
        trusted = !isNotFound(error);
        trustNote = trusted ? `; trust policy not readable with B's credentials (${errorText(error)})` : `; but GetRole says it does not exist: ${errorText(error)}`;
      }
    }
    check("bootstrap-role", trusted, `assumed ${bootstrapArn} as ${callerArn}${trustNote}`, bootstrapFix);
    // A session of a role that does not exist (only the emulator hands one out) is no access to B.
    if (/does not exist/.test(trustNote) && viaBootstrapOnly) b = undefined;
  }

  let accountB: string | undefined;
  let identityB = "";
  if (b) {
    try {
      const me = await b.sts.send(new GetCallerIdentityCommand({}));
      accountB = me.Account;
      identityB = `${me.Arn} in account ${me.Account}`;
    } catch (error) {
      identityB = errorText(error);
    }
  }

  check("identity-b", accountB === config.accountBId,
    b ? `${identityB}${options.profileB ? ` (profile ${options.profileB})` : options.credentialsB ? "" : " (through the bootstrap role)"}` : "no credentials for B (the bootstrap role is not usable; pass --profile-b to check B directly)",
    accountB && accountB !== config.accountBId
      ? `ACCOUNT_B_ID is ${config.accountBId} but B's credentials act in ${accountB}: fix ACCOUNT_B_ID or the profile`
      : "fix the bootstrap role (above) or pass --profile-b <profile of B>");

  // 4. The function and its execution role, in A.
  let env: Record<string, string> = {};
  let execArn: string;
  let logGroupName = `/aws/lambda/${names.functionName}`;
  try {
    const fn = await a.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: names.functionName }));
    env = fn.Environment?.Variables ?? {};
    execArn = fn.Role ?? "";
    logGroupName = fn.LoggingConfig?.LogGroup ?? logGroupName;
    check("function", true, `${fn.FunctionArn} runs as ${execArn}`);
  } catch (error) {
    check("function", false, errorText(error), `deploy the stack: ${REDEPLOY} (NAME_PREFIX ${config.namePrefix} gives the function name ${names.functionName})`);
    return skipRest("the function is not deployed");
  }
  const execName = execArn.split("/").pop() ?? "";
  const execSession = sessionOf(execArn, names.functionName);
  let execPolicies: NamedPolicy[] | undefined;
  try {
    const exec = await readRole(a.iam, execName);
    execArn = exec.role.Arn!;
    execPolicies = exec.policies;
    const lambda = await evaluate({ principal: "lambda.amazonaws.com", action: "sts:AssumeRole", resource: execArn, resourceAccount: accountA, resourcePolicy: exec.trust });
    check("execution-role", lambda.decision === ALLOWED, `${execArn} (path ${exec.role.Path ?? "/"}); lambda.amazonaws.com may assume it: ${lambda.decision}`,
      `the execution role's trust policy must allow lambda.amazonaws.com to sts:AssumeRole: ${REDEPLOY}`);
  } catch (error) {
    check("execution-role", false, `${execArn}: ${errorText(error)}`, `the function's role is gone: ${REDEPLOY} re-creates it`);
  }

  // 5. The identity side of the chain: A lets the execution role assume the access role.
  const expectedAccessArn = derivedArns(config).accessRoleArn;
  let accessArn = expectedAccessArn;
  let access: Awaited<ReturnType<typeof readRole>> | undefined;
  let accessError = "no credentials for account B";
  if (b) {
    try {
      access = await readRole(b.iam, names.accessRoleName);
      accessArn = access.role.Arn!;
    } catch (error) {
      accessError = errorText(error);
    }
  }
  if (execPolicies) {
    const target = await evaluate({ principal: execSession, identityPolicies: execPolicies, action: "sts:AssumeRole", resource: accessArn, resourceAccount: config.accountBId });
    const other = await evaluate({ principal: execSession, identityPolicies: execPolicies, action: "sts:AssumeRole", resource: `arn:${config.partition}:iam::${config.accountBId}:role/doctor-probe-other-role`, resourceAccount: config.accountBId });
    const attached = execPolicies.map((p) => p.name).join(", ") || "none";
    if (target.identity !== ALLOWED) {
      check("execution-policy", false, `${execName} (policies: ${attached}) -> sts:AssumeRole ${accessArn}: ${target.identity}`,
        `attach to ${execName} a policy allowing sts:AssumeRole on ${accessArn} (the stack's assume-report-access-role policy): ${REDEPLOY}`);
    } else {
      check("execution-policy", other.identity !== ALLOWED,
        `${execName} (policies: ${attached}) may assume ${accessArn}${other.identity === ALLOWED ? " and any other role (Resource \"*\")" : " and no other role"}`,
        `restrict the sts:AssumeRole statement of ${execName} to Resource ${accessArn} (seed 000's "Resource": "*" lets the function assume any role that trusts it): ${REDEPLOY}`);
    }
  } else {
    results.push({ id: "execution-policy", title: TITLES["execution-policy"], status: "skip", detail: "not checked: the execution role could not be read" });
  }

  // 6. The access role and its trust policy, in B.
  if (!access) {
    check("access-role", false, `${expectedAccessArn}: ${accessError}`,
      b ? `deploy the stack: the access role is created by ${REDEPLOY} through the bootstrap role` : "fix the bootstrap role (above) or pass --profile-b");
  } else {
    check("access-role", true, `${accessArn}, policies: ${access.policies.map((p) => p.name).join(", ") || "none"}`);
    const principals = trustedPrincipals(access.trust);
    const named = principals.includes(execArn);
    const roleName = execArn.replace(/^.*:role\//, "");
    const withoutPath = `arn:${config.partition}:iam::${accountA}:role/${execName}`;
    const broad = principals.filter((p) => p === "*" || /:root$/.test(p) || /^\d{12}$/.test(p));
    const others = principals.filter((p) => p !== execArn);
    let fix: string | undefined;
    if (!named && principals.includes(withoutPath) && withoutPath !== execArn) {
      const path = roleName.slice(0, roleName.lastIndexOf("/") + 1);
      fix = `the trust policy names ${withoutPath}, but the execution role's ARN has the path /${path}: name ${execArn}; the ARN without /${path} names no role (AWS rejects it with "Invalid principal in policy", seed 000): ${REDEPLOY}`;
    } else if (!named && principals.some((p) => /^AROA[A-Z0-9]+$/.test(p))) {
      fix = `the trust policy holds a deleted role's unique id (AROA...): the execution role was re-created after the trust policy was written; ${REDEPLOY} so it names ${execArn} again`;
    } else if (!named) {
      fix = `the access role's trust policy must name the execution role ${execArn} exactly (it names ${principals.join(", ") || "no AWS principal"}): ${REDEPLOY}`;
    } else if (others.length > 0) {
      fix = `the trust policy also admits ${others.join(", ")}${broad.length ? " (a whole account or anyone: any administrator there could assume it)" : ""}: trust only ${execArn}: ${REDEPLOY}`;
    }
    check("access-trust-principal", fix === undefined, `trusts ${principals.join(", ") || "no AWS principal"}; the function runs as ${execArn}`, fix);

    const required = requiredExternalIds(access.trust);
    const sent = env.EXTERNAL_ID;
    let externalFix: string | undefined;
    let externalDetail = `the trust requires sts:ExternalId ${required.map((v) => JSON.stringify(v)).join(" or ") || "(none)"}; the function sends ${sent === undefined ? "(no EXTERNAL_ID)" : JSON.stringify(sent)}`;
    if (required.length === 0) {
      externalFix = `the trust policy has no sts:ExternalId condition: add StringEquals sts:ExternalId ${JSON.stringify(config.externalId)} (the confused-deputy guard): ${REDEPLOY}`;
    } else if (sent === undefined || !required.includes(sent)) {
      externalFix = `the function's EXTERNAL_ID and the trust policy's sts:ExternalId differ: redeploy both from one configuration (EXTERNAL_ID=${config.externalId}): ${REDEPLOY}`;
    } else if (named) {
      // Both sides line up on paper: confirm with the evaluator (condition operators, other statements).
      const withId = await evaluate({ principal: execSession, identityPolicies: ADMIN, action: "sts:AssumeRole", resource: accessArn, resourceAccount: config.accountBId, resourcePolicy: access.trust, context: { "sts:ExternalId": sent } });
      const withoutId = await evaluate({ principal: execSession, identityPolicies: ADMIN, action: "sts:AssumeRole", resource: accessArn, resourceAccount: config.accountBId, resourcePolicy: access.trust });
      externalDetail += `; evaluated: with it ${withId.resource}, without it ${withoutId.resource}`;
      if (withId.resource !== ALLOWED) externalFix = `the trust policy does not let the execution role in with EXTERNAL_ID (evaluated ${withId.resource}): ${REDEPLOY}`;
      else if (withoutId.resource === ALLOWED) externalFix = `another trust statement admits the execution role without the external id: remove it: ${REDEPLOY}`;
    }
    check("access-trust-external-id", externalFix === undefined, externalDetail, externalFix);
  }

  // 7. The bucket (B).
  let bucketRegion: string | undefined;
  let bucketPolicy: PolicyDocument | undefined;
  let bucketOk = false;
  const { objectArn } = derivedArns(config);
  if (b) {
    try {
      // The region from HeadBucket (s3:ListBucket, which the bootstrap role has); GetBucketLocation
      // (which it has not) only if S3 left the header out.
      const head = await b.s3.send(new HeadBucketCommand({ Bucket: config.bucketName }));
      bucketRegion = head.BucketRegion ?? ((await b.s3.send(new GetBucketLocationCommand({ Bucket: config.bucketName }))).LocationConstraint || "us-east-1");
      try {
        bucketPolicy = parsePolicy((await b.s3.send(new GetBucketPolicyCommand({ Bucket: config.bucketName }))).Policy);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      bucketOk = true;
      check("bucket", bucketRegion === config.regionB, `${config.bucketName} in ${bucketRegion}; ${bucketPolicy ? `bucket policy: ${bucketPolicy.Statement.map((s) => s.Sid ?? "(no Sid)").join(", ")}` : "no bucket policy"}`,
        `the bucket is in ${bucketRegion}: set REGION_B=${bucketRegion} (the function's BUCKET_REGION) and redeploy`);
    } catch (error) {
      check("bucket", false, `${config.bucketName}: ${errorText(error)}`, `deploy the stack (${REDEPLOY}) or fix BUCKET_NAME`);
    }
  } else {
    results.push({ id: "bucket", title: TITLES.bucket, status: "skip", detail: "not checked: no credentials for account B" });
  }

  // 8. The function's environment against what is deployed.
  const expected: Record<string, [string, string]> = {
    ACCESS_ROLE_ARN: [accessArn, access ? "the deployed access role" : "the configured access role"],
    EXTERNAL_ID: [config.externalId, "the configured external id"],
    BUCKET_NAME: [config.bucketName, bucketOk ? "the deployed bucket" : "the configured bucket"],
    BUCKET_REGION: [bucketRegion ?? config.regionB, bucketRegion ? "the bucket's region" : "REGION_B"],
    OBJECT_KEY: [config.objectKey, "the key the access role may write"],
  };
  const mismatched = Object.entries(expected).filter(([k, [v]]) => env[k] !== v);
  check("function-environment", mismatched.length === 0,
    mismatched.length === 0 ? `${Object.keys(expected).join(", ")} match the deployed resources`
      : mismatched.map(([k, [v, what]]) => `${k}=${JSON.stringify(env[k] ?? null)}, but ${what} is ${JSON.stringify(v)}`).join("; "),
    `the function's environment was changed or deployed from another configuration: ${REDEPLOY} (never edit it by hand)`);

  // 9. What the access role may do on the object: its own policies (seed 003 #2), then the bucket policy.
  const accessSession = sessionOf(accessArn, "iss-tracker");
  if (access) {
    const requests: Array<[string, string, Record<string, string>]> = [
      ["s3:GetObject", objectArn, {}], ["s3:PutObject", objectArn, {}], ["s3:AbortMultipartUpload", objectArn, {}],
    ];
    const evaluations = await Promise.all(requests.map(([action, resource, context]) =>
      evaluate({ principal: accessSession, identityPolicies: access!.policies, action, resource, resourceAccount: config.accountBId, resourcePolicy: bucketPolicy, context })));
    const identityDenied = requests.filter((_, i) => evaluations[i].identity !== ALLOWED).map(([action]) => action);
    check("access-permissions", identityDenied.length === 0,
      requests.map(([action], i) => `${action}: ${evaluations[i].identity}`).join(", "),
      `grant ${names.accessRoleName} ${identityDenied.join(", ")} (s3:GetObject/s3:PutObject/s3:AbortMultipartUpload on ${objectArn}; the stack's read-write-report-object policy): ${REDEPLOY}`);
    if (bucketOk) {
      const denies = [...new Set(evaluations.flatMap((e) => e.resourceDenies))];
      check("bucket-policy", denies.length === 0,
        bucketPolicy ? `over TLS: ${requests.map(([action], i) => `${action}: ${evaluations[i].resource === "ExplicitlyDenied" ? "denied by the bucket policy" : "not denied"}`).join(", ")}` : "no bucket policy",
        `the bucket policy's statement ${denies.join(", ")} denies the access role: remove it (only DenyInsecureTransport, which denies plain HTTP, belongs there): ${REDEPLOY}, or fix the policy by hand if it was added outside Terraform`);
    } else {
      results.push({ id: "bucket-policy", title: TITLES["bucket-policy"], status: "skip", detail: "not checked: the bucket could not be read" });
    }
  } else {
    for (const id of ["access-permissions", "bucket-policy"] as const) {
      results.push({ id, title: TITLES[id], status: "skip", detail: "not checked: the access role could not be read" });
    }
  }

  // 10. A live read. The function's own path (assume the access role with its external id) where
  // the trust lets doctor's identity in; on real AWS only the execution role may, so a refusal is
  // the expected answer there and the read falls back to B's credentials.
  results.push(await liveRead());

  // 11. Day two: is anyone told, and is anything waiting?
  await monitoringChecks({
    config, a, accountA, emulator, functionName: names.functionName, executionRoleArn: execArn, executionPolicies: execPolicies,
    logGroupName, redeploy: REDEPLOY,
  }, (id, status, detail, fix) => results.push({ id, title: TITLES[id], status, detail, ...(status === "pass" || status === "skip" || !fix ? {} : { fix }) }));
  return results;

  async function liveRead(): Promise<CheckResult> {
    const title = TITLES["object-read"];
    const key = config.objectKey;
    const readWith = async (clients: AccountClients, who: string, asAccessRole: boolean): Promise<CheckResult> => {
      try {
        const listed = await clients.s3.send(new ListObjectsV2Command({ Bucket: config.bucketName, Prefix: key, MaxKeys: 1 }));
        const found = (listed.Contents ?? []).find((o) => o.Key === key);
        let read = `ListObjectsV2 prefix ${key}: ${found ? `the log exists (${found.Size} bytes)` : "no log yet (the first run creates it)"}`;
        // GetObject's permission, without downloading the log. Not on the emulator: moto applies
        // the TLS-only Deny to every object call (it ignores the condition).
        if (found && asAccessRole && !emulator) {
          await clients.s3.send(new HeadObjectCommand({ Bucket: config.bucketName, Key: key }));
          read += "; HeadObject: allowed";
        }
        return { id: "object-read", title, status: "pass", detail: `${who}: ${read}` };
      } catch (error) {
        return {
          id: "object-read", title, status: "fail", detail: `${who}: ${errorText(error)}`,
          fix: isAccessDenied(error)
            ? `S3 refused the read: check access-permissions and bucket-policy above; also look for an SCP/RCP or a KMS key policy in B that blocks ${names.accessRoleName}`
            : `the bucket ${config.bucketName} cannot be read: ${REDEPLOY} or fix BUCKET_NAME`,
        };
      }
    };
    if (!bucketOk) return { id: "object-read", title, status: "skip", detail: "not checked: the bucket could not be read" };
    let viaAccess: Credentials | undefined;
    let refused = "";
    try {
      viaAccess = await assumeRole(a.sts, env.ACCESS_ROLE_ARN ?? accessArn, "iss-tracker-doctor", env.EXTERNAL_ID);
    } catch (error) {
      refused = errorText(error);
    }
    if (viaAccess) {
      const callerIsExec = roleOfSession(callerArn) === `arn:${config.partition}:iam::${accountA}:role/${execName}`;
      if (!emulator && !callerIsExec) {
        return {
          id: "object-read", title, status: "fail",
          detail: `${callerArn} could assume ${env.ACCESS_ROLE_ARN ?? accessArn}: the trust admits more than the execution role`,
          fix: `restrict the access role's trust policy to ${execArn}: ${REDEPLOY}`,
        };
      }
      const asAccess = clientsFor({ region: config.regionB, endpoint, credentials: viaAccess });
      return readWith(asAccess, `the access role (assumed with the function's EXTERNAL_ID${emulator ? "; the emulator does not evaluate cross-account trust" : ""})`, true);
    }
    if (!b) return { id: "object-read", title, status: "skip", detail: "not checked: no credentials for account B" };
    return readWith(b, `B's credentials (${callerArn} may not assume the access role: ${refused}; only the execution role may, as designed)`, false);
  }
}

/** An identity side that allows everything, to evaluate the resource side alone. */
const ADMIN: readonly NamedPolicy[] = [{
  name: "caller", policy: { Version: "2012-10-17", Statement: [{ Sid: "Any", Effect: "Allow", Action: "*", Resource: "*" }] },
}];

/** The report `npm run doctor` prints. */
export function formatReport(results: readonly CheckResult[]): string {
  const mark: Record<CheckStatus, string> = { pass: "PASS", fail: "FAIL", warn: "WARN", skip: "SKIP" };
  const lines = results.flatMap((r) => [
    `${mark[r.status]}  ${r.id}: ${r.title}`,
    `      ${r.detail}`,
    ...(r.fix ? [`      fix: ${r.fix}`] : []),
  ]);
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const warned = count("warn");
  return [...lines, "", `doctor: ${count("pass")} passed, ${count("fail")} failed, ${count("skip")} skipped${warned ? `, ${warned} warning${warned === 1 ? "" : "s"}` : ""}`].join("\n");
}
