/**
 * Doctor's checks of the trust chain, in order: the credentials in A, the bootstrap role and B,
 * the function and its execution role, the access role and its trust, the bucket, the function's
 * environment, what the access role may do, and a live read of the log through the chain. Each
 * maps a known pitfall to its fix (see ./checks.ts for how they run).
 */
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { assumeRole, errorText, isAccessDenied, isNotFound, type Credentials } from "../shared/aws";
import { evaluate, sessionOf } from "../shared/iam";
import type { AccountClients } from "./aws";
import type { Check, Outcome } from "./checks";
import { ADMIN, ALLOWED, REDEPLOY, requiredExternalIds, roleOfSession, Skip, trustedPrincipals, type DoctorContext } from "./context";

const pass = (detail: string): Outcome => ({ status: "pass", detail });
const fail = (detail: string, fix: string): Outcome => ({ status: "fail", detail, fix });
const verdict = (ok: boolean, detail: string, fix: string): Outcome => (ok ? pass(detail) : fail(detail, fix));

export const IDENTITY_CHECKS: readonly Check[] = [
  {
    id: "identity-a",
    title: () => "credentials for account A",
    run: async (ctx) => {
      const read = await ctx.identityA();
      if (!read.ok) return fail(read.error, "configure credentials for account A: AWS_PROFILE=<profile of A>, --profile-a <name>, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
      const { arn, account, wrong } = read.value;
      return verdict(wrong === undefined, `${arn} in account ${account}${wrong ? ` (${wrong})` : ""}`,
        `use account A's credentials (AWS_PROFILE or --profile-a)${ctx.expected.accountAId ? `, account ${ctx.expected.accountAId}` : ""}, or fix ACCOUNT_A_ID`);
    },
  },
  {
    id: "bootstrap-role",
    title: (ctx) => `deployer can assume the bootstrap role ${ctx.expected.bootstrapRoleName} in B`,
    run: async (ctx) => {
      const caller = await ctx.callerA();
      const arn = ctx.expected.bootstrapRoleArn;
      const deployerHint = caller.arn.includes(":assumed-role/")
        ? `${roleOfSession(caller.arn)} (your role's full ARN: add its path if it has one, see \`aws iam get-role\`)` : caller.arn;
      const fix = `deploy the bootstrap stack with B's credentials: DEPLOYER_PRINCIPAL_ARN=${deployerHint} AWS_PROFILE=<profile of B> npx cdktf deploy bootstrap` +
        ` (or set BOOTSTRAP_ROLE_NAME to the role that exists)`;
      const session = await ctx.bootstrapSession();
      if (!session.ok) return fail(`AssumeRole ${arn} as ${caller.arn}: ${session.error}`, fix);
      const trust = await ctx.bootstrapTrust();
      return verdict(trust?.trusted ?? true, `assumed ${arn} as ${caller.arn}${trust?.note ?? ""}`, fix);
    },
  },
  {
    id: "identity-b",
    title: () => "credentials for account B",
    run: async (ctx) => {
      await ctx.callerA();
      const b = await ctx.clientsB();
      const x = ctx.expected;
      let accountB: string | undefined;
      let identity = "";
      if (b) {
        try {
          const me = await b.sts.send(new GetCallerIdentityCommand({}));
          accountB = me.Account;
          identity = `${me.Arn} in account ${me.Account}`;
        } catch (error) {
          identity = errorText(error);
        }
      }
      const o = ctx.options;
      return verdict(accountB === x.accountBId,
        b ? `${identity}${o.profileB ? ` (profile ${o.profileB})` : o.credentialsB ? "" : " (through the bootstrap role)"}` : "no credentials for B (the bootstrap role is not usable; pass --profile-b to check B directly)",
        accountB && accountB !== x.accountBId
          ? `ACCOUNT_B_ID is ${x.accountBId} but B's credentials act in ${accountB}: fix ACCOUNT_B_ID or the profile`
          : "fix the bootstrap role (above) or pass --profile-b <profile of B>");
    },
  },
  {
    id: "function",
    title: (ctx) => `function ${ctx.expected.functionName} is deployed in A`,
    run: async (ctx) => {
      const read = await ctx.functionRead();
      if (!read.ok) {
        return fail(read.error, `deploy the stack: ${REDEPLOY} (NAME_PREFIX ${ctx.expected.namePrefix} gives the function name ${ctx.expected.functionName})`);
      }
      return pass(`${read.value.functionArn} runs as ${read.value.roleArn}`);
    },
  },
  {
    id: "execution-role",
    title: () => "execution role exists and trusts lambda.amazonaws.com",
    run: async (ctx) => {
      const fn = await ctx.function();
      const read = await ctx.executionRole();
      if (!read.ok) return fail(`${fn.roleArn}: ${read.error}`, `the function's role is gone: ${REDEPLOY} re-creates it`);
      const { role, trust } = read.value;
      const account = (await ctx.callerA()).account;
      const lambda = await evaluate({ principal: "lambda.amazonaws.com", action: "sts:AssumeRole", resource: role.Arn!, resourceAccount: account, resourcePolicy: trust });
      return verdict(lambda.decision === ALLOWED, `${role.Arn} (path ${role.Path ?? "/"}); lambda.amazonaws.com may assume it: ${lambda.decision}`,
        `the execution role's trust policy must allow lambda.amazonaws.com to sts:AssumeRole: ${REDEPLOY}`);
    },
  },
  {
    id: "execution-policy",
    title: () => "execution role may sts:AssumeRole the access role (and no other role)",
    run: async (ctx) => {
      const read = await ctx.executionRole();
      if (!read.ok) throw new Skip("the execution role could not be read");
      const x = ctx.expected;
      const policies = read.value.policies;
      const execName = read.value.role.RoleName ?? x.executionRoleName;
      const session = await ctx.executionSession();
      const accessArn = await ctx.accessRoleArn();
      const target = await evaluate({ principal: session, identityPolicies: policies, action: "sts:AssumeRole", resource: accessArn, resourceAccount: x.accountBId });
      const other = await evaluate({ principal: session, identityPolicies: policies, action: "sts:AssumeRole", resource: `arn:${x.partition}:iam::${x.accountBId}:role/doctor-probe-other-role`, resourceAccount: x.accountBId });
      const attached = policies.map((p) => p.name).join(", ") || "none";
      if (target.identity !== ALLOWED) {
        return fail(`${execName} (policies: ${attached}) -> sts:AssumeRole ${accessArn}: ${target.identity}`,
          `attach to ${execName} a policy allowing sts:AssumeRole on ${accessArn} (the stack's assume-report-access-role policy): ${REDEPLOY}`);
      }
      return verdict(other.identity !== ALLOWED,
        `${execName} (policies: ${attached}) may assume ${accessArn}${other.identity === ALLOWED ? " and any other role (Resource \"*\")" : " and no other role"}`,
        `restrict the sts:AssumeRole statement of ${execName} to Resource ${accessArn} ("Resource": "*" lets the function assume any role that trusts it): ${REDEPLOY}`);
    },
  },
  {
    id: "access-role",
    title: (ctx) => `access role ${ctx.expected.accessRoleName} exists in B`,
    run: async (ctx) => {
      const read = await ctx.accessRoleRead();
      if (!read.ok) {
        const b = await ctx.clientsB();
        return fail(`${ctx.expected.accessRoleArn}: ${read.error}`,
          b ? `deploy the stack: the access role is created by ${REDEPLOY} through the bootstrap role` : "fix the bootstrap role (above) or pass --profile-b");
      }
      return pass(`${read.value.role.Arn}, policies: ${read.value.policies.map((p) => p.name).join(", ") || "none"}`);
    },
  },
  {
    id: "access-trust-principal",
    title: () => "access role trusts exactly the execution role (its real ARN, with path)",
    run: async (ctx) => {
      const access = await ctx.accessRole();
      const execArn = await ctx.executionRoleArn();
      const x = ctx.expected;
      const account = (await ctx.callerA()).account;
      const principals = trustedPrincipals(access.trust);
      const named = principals.includes(execArn);
      const roleName = execArn.replace(/^.*:role\//, "");
      const execName = execArn.split("/").pop() ?? "";
      const withoutPath = `arn:${x.partition}:iam::${account}:role/${execName}`;
      const broad = principals.filter((p) => p === "*" || /:root$/.test(p) || /^\d{12}$/.test(p));
      const others = principals.filter((p) => p !== execArn);
      let fix: string | undefined;
      if (!named && principals.includes(withoutPath) && withoutPath !== execArn) {
        const path = roleName.slice(0, roleName.lastIndexOf("/") + 1);
        fix = `the trust policy names ${withoutPath}, but the execution role's ARN has the path /${path}: name ${execArn}; the ARN without /${path} names no role (AWS rejects it with "Invalid principal in policy"): ${REDEPLOY}`;
      } else if (!named && principals.some((p) => /^AROA[A-Z0-9]+$/.test(p))) {
        fix = `the trust policy holds a deleted role's unique id (AROA...): the execution role was re-created after the trust policy was written; ${REDEPLOY} so it names ${execArn} again`;
      } else if (!named) {
        fix = `the access role's trust policy must name the execution role ${execArn} exactly (it names ${principals.join(", ") || "no AWS principal"}): ${REDEPLOY}`;
      } else if (others.length > 0) {
        fix = `the trust policy also admits ${others.join(", ")}${broad.length ? " (a whole account or anyone: any administrator there could assume it)" : ""}: trust only ${execArn}: ${REDEPLOY}`;
      }
      const detail = `trusts ${principals.join(", ") || "no AWS principal"}; the function runs as ${execArn}`;
      return fix === undefined ? pass(detail) : fail(detail, fix);
    },
  },
  {
    id: "access-trust-external-id",
    title: () => "access role requires the external id the function sends",
    run: async (ctx) => {
      const access = await ctx.accessRole();
      const fn = await ctx.function();
      const execArn = await ctx.executionRoleArn();
      const x = ctx.expected;
      const required = requiredExternalIds(access.trust);
      const sent = fn.env.EXTERNAL_ID;
      const named = trustedPrincipals(access.trust).includes(execArn);
      let fix: string | undefined;
      let detail = `the trust requires sts:ExternalId ${required.map((v) => JSON.stringify(v)).join(" or ") || "(none)"}; the function sends ${sent === undefined ? "(no EXTERNAL_ID)" : JSON.stringify(sent)}`;
      if (required.length === 0) {
        fix = `the trust policy has no sts:ExternalId condition: add StringEquals sts:ExternalId ${JSON.stringify(x.externalId)} (the confused-deputy guard): ${REDEPLOY}`;
      } else if (sent === undefined || !required.includes(sent)) {
        fix = `the function's EXTERNAL_ID and the trust policy's sts:ExternalId differ: redeploy both from one configuration (EXTERNAL_ID=${x.externalId}): ${REDEPLOY}`;
      } else if (named) {
        // Both sides line up on paper: confirm with the evaluator (condition operators, other statements).
        const session = await ctx.executionSession();
        const accessArn = access.role.Arn!;
        const withId = await evaluate({ principal: session, identityPolicies: ADMIN, action: "sts:AssumeRole", resource: accessArn, resourceAccount: x.accountBId, resourcePolicy: access.trust, context: { "sts:ExternalId": sent } });
        const withoutId = await evaluate({ principal: session, identityPolicies: ADMIN, action: "sts:AssumeRole", resource: accessArn, resourceAccount: x.accountBId, resourcePolicy: access.trust });
        detail += `; evaluated: with it ${withId.resource}, without it ${withoutId.resource}`;
        if (withId.resource !== ALLOWED) fix = `the trust policy does not let the execution role in with EXTERNAL_ID (evaluated ${withId.resource}): ${REDEPLOY}`;
        else if (withoutId.resource === ALLOWED) fix = `another trust statement admits the execution role without the external id: remove it: ${REDEPLOY}`;
      }
      return fix === undefined ? pass(detail) : fail(detail, fix);
    },
  },
  {
    id: "bucket",
    title: (ctx) => `bucket ${ctx.expected.bucketName} exists in ${ctx.expected.regionB}`,
    run: async (ctx) => {
      await ctx.b();
      const x = ctx.expected;
      const read = (await ctx.bucketRead())!;
      if (!read.ok) return fail(`${x.bucketName}: ${read.error}`, `deploy the stack (${REDEPLOY}) or fix BUCKET_NAME`);
      const { region, policy } = read.value;
      return verdict(region === x.regionB, `${x.bucketName} in ${region}; ${policy ? `bucket policy: ${policy.Statement.map((s) => s.Sid ?? "(no Sid)").join(", ")}` : "no bucket policy"}`,
        `the bucket is in ${region}: set REGION_B=${region} (the function's BUCKET_REGION) and redeploy`);
    },
  },
  {
    id: "function-environment",
    title: () => "function environment matches the deployed resources",
    run: async (ctx) => {
      const fn = await ctx.function();
      const x = ctx.expected;
      const access = await ctx.accessRoleRead();
      const bucket = await ctx.bucketRead();
      const bucketOk = bucket?.ok === true;
      const region = bucket?.ok ? bucket.value.region : undefined;
      const expected: Record<string, [string, string]> = {
        ACCESS_ROLE_ARN: [await ctx.accessRoleArn(), access.ok ? "the deployed access role" : "the configured access role"],
        EXTERNAL_ID: [x.externalId, "the configured external id"],
        BUCKET_NAME: [x.bucketName, bucketOk ? "the deployed bucket" : "the configured bucket"],
        BUCKET_REGION: [region ?? x.regionB, region ? "the bucket's region" : "REGION_B"],
        OBJECT_KEY: [x.objectKey, "the key the access role may write"],
      };
      const mismatched = Object.entries(expected).filter(([k, [v]]) => fn.env[k] !== v);
      return verdict(mismatched.length === 0,
        mismatched.length === 0 ? `${Object.keys(expected).join(", ")} match the deployed resources`
          : mismatched.map(([k, [v, what]]) => `${k}=${JSON.stringify(fn.env[k] ?? null)}, but ${what} is ${JSON.stringify(v)}`).join("; "),
        `the function's environment was changed or deployed from another configuration: ${REDEPLOY} (never edit it by hand)`);
    },
  },
  {
    id: "access-permissions",
    title: () => "access role may read and write the object",
    run: async (ctx) => {
      const evaluations = await objectEvaluations(ctx);
      const x = ctx.expected;
      const identityDenied = OBJECT_ACTIONS.filter((_, i) => evaluations[i].identity !== ALLOWED);
      return verdict(identityDenied.length === 0,
        OBJECT_ACTIONS.map((action, i) => `${action}: ${evaluations[i].identity}`).join(", "),
        `grant ${x.accessRoleName} ${identityDenied.join(", ")} (s3:GetObject/s3:PutObject/s3:AbortMultipartUpload on ${x.objectArn}; the stack's read-write-report-object policy): ${REDEPLOY}`);
    },
  },
  {
    id: "bucket-policy",
    title: () => "bucket policy does not block the access role over TLS",
    run: async (ctx) => {
      await ctx.accessRole();
      const { policy } = await ctx.bucket();
      const evaluations = await objectEvaluations(ctx);
      const denies = [...new Set(evaluations.flatMap((e) => e.resourceDenies))];
      return verdict(denies.length === 0,
        policy ? `over TLS: ${OBJECT_ACTIONS.map((action, i) => `${action}: ${evaluations[i].resource === "ExplicitlyDenied" ? "denied by the bucket policy" : "not denied"}`).join(", ")}` : "no bucket policy",
        `the bucket policy's statement ${denies.join(", ")} denies the access role: remove it (only DenyInsecureTransport, which denies plain HTTP, belongs there): ${REDEPLOY}, or fix the policy by hand if it was added outside Terraform`);
    },
  },
  {
    id: "object-read",
    title: () => "the object can be read through the chain (live read)",
    run: liveRead,
  },
];

const OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"] as const;

/** The access role's session on the object, by its own policies and the bucket policy (when it could be read). */
async function objectEvaluations(ctx: DoctorContext) {
  const access = await ctx.accessRole();
  const x = ctx.expected;
  const bucket = await ctx.bucketRead();
  const policy = bucket?.ok ? bucket.value.policy : undefined;
  const session = sessionOf(access.role.Arn!, "iss-tracker");
  return Promise.all(OBJECT_ACTIONS.map((action) =>
    evaluate({ principal: session, identityPolicies: access.policies, action, resource: x.objectArn, resourceAccount: x.accountBId, resourcePolicy: policy })));
}

/**
 * A live GET of the log as the function reaches it: the access role assumed with the function's
 * external id. On real AWS only the execution role may assume it, so doctor is refused there (as
 * designed): then it cannot read through the chain and says so (SKIP), after reading with B's own
 * credentials where it has them, to tell a broken bucket from a closed chain.
 */
async function liveRead(ctx: DoctorContext): Promise<Outcome> {
  const x = ctx.expected;
  const { policy } = await ctx.bucket();
  const fn = await ctx.function();
  const caller = await ctx.callerA();
  const accessArn = fn.env.ACCESS_ROLE_ARN ?? (await ctx.accessRoleArn());
  let viaAccess: Credentials | undefined;
  let refused = "";
  try {
    viaAccess = await assumeRole(ctx.a.sts, accessArn, "iss-tracker-doctor", fn.env.EXTERNAL_ID);
  } catch (error) {
    refused = errorText(error);
  }
  if (viaAccess) {
    const execArn = await ctx.executionRoleArn();
    const callerIsExec = roleOfSession(caller.arn) === `arn:${x.partition}:iam::${caller.account}:role/${execArn.split("/").pop()}`;
    if (!ctx.emulator && !callerIsExec) {
      return fail(`${caller.arn} could assume ${accessArn}: the trust admits more than the execution role`, `restrict the access role's trust policy to ${execArn}: ${REDEPLOY}`);
    }
    if (ctx.emulator && policy?.Statement.some((s) => s.Effect === "Deny")) {
      // moto applies a bucket policy's Deny to every caller whatever its condition.
      throw new Skip(`the emulator applies the bucket policy's Deny statements (${policy.Statement.filter((s) => s.Effect === "Deny").map((s) => s.Sid ?? "(no Sid)").join(", ")}) ` +
        "to every object call whatever their conditions, so a GET there cannot tell (npm start's local mode deploys no bucket policy)");
    }
    const who = `the access role (assumed with the function's EXTERNAL_ID${ctx.emulator ? "; the emulator does not evaluate cross-account trust" : ""})`;
    return getObject(ctx, ctx.clientsInB(viaAccess), who);
  }
  const b = await ctx.clientsB();
  const why = `${caller.arn} may not assume the access role (${refused}); only the execution role may, as designed`;
  if (!b) throw new Skip(`${why}, and there are no credentials for account B`);
  if (ctx.viaBootstrapOnly) {
    throw new Skip(`${why}; and B is reached here through the bootstrap role, which by design may not read the log (--profile-b <profile of B> reads it with B's own credentials)`);
  }
  const asB = await getObject(ctx, b, "B's credentials");
  const guarded = policy?.Statement.some((st) => st.Sid === "OnlyAccessRoleTouchesObjects");
  if (asB.status === "fail" && guarded && /AccessDenied|Forbidden|403/.test(asB.detail)) {
    // By design: the bucket policy lets only the access role (and B's root user) touch the objects.
    throw new Skip(`${why}; and the bucket policy's OnlyAccessRoleTouchesObjects keeps B's other principals out of the log, as designed (read it as B's root user)`);
  }
  if (asB.status === "fail") return asB;
  throw new Skip(`${why}; read with B's credentials instead: ${asB.detail.replace(/^B's credentials: /, "")}`);
}

/** One GET of the object (the first KiB): what S3 answered. */
async function getObject(ctx: DoctorContext, clients: AccountClients, who: string): Promise<Outcome> {
  const x = ctx.expected;
  try {
    const res = await clients.s3.send(new GetObjectCommand({ Bucket: x.bucketName, Key: x.objectKey, Range: "bytes=0-1023" }));
    const head = Buffer.from(await res.Body!.transformToByteArray()).toString("utf8");
    const size = /\/(\d+)$/.exec(res.ContentRange ?? "")?.[1] ?? String(res.ContentLength ?? head.length);
    return pass(`${who}: GetObject ${x.objectKey}: the log exists (${size} bytes${head.startsWith("ISS Location Logs") ? ", it begins with the log's header" : ", but it does not begin with the log's header"})`);
  } catch (error) {
    if (isNotFound(error) || (error as { name?: string }).name === "NoSuchKey") {
      return pass(`${who}: GetObject ${x.objectKey}: allowed, no log yet (NoSuchKey: the first run creates it)`);
    }
    return fail(`${who}: ${errorText(error)}`, isAccessDenied(error)
      ? `S3 refused the read: check access-permissions and bucket-policy above; also look for an SCP/RCP or a KMS key policy in B that blocks ${x.accessRoleName}`
      : `the bucket ${x.bucketName} cannot be read: ${REDEPLOY} or fix BUCKET_NAME`);
  }
}
