/**
 * What doctor's checks share, each read once on first use (read-only clients, ./aws.ts): the
 * caller in A, the bootstrap role's session, B's clients, the function, the execution and access
 * roles, the bucket. A fact that could not be read makes the checks that need it SKIP (Skip), with
 * the reason; the check that owns the fact reports the failure itself.
 */
import { GetFunctionConfigurationCommand } from "@aws-sdk/client-lambda";
import {
  GetBucketLifecycleConfigurationCommand, GetBucketLocationCommand, GetBucketPolicyCommand, GetBucketVersioningCommand, GetPublicAccessBlockCommand, HeadBucketCommand,
  type LifecycleRule as S3LifecycleRule, type PublicAccessBlockConfiguration,
} from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import type { PolicyDocument } from "../../stacks/policy";
import { assumeRole, errorText, isAccessDenied, isNotFound, parsePolicy, readRole, type Credentials } from "../shared/aws";
import { evaluate, sessionOf, type NamedPolicy } from "../shared/iam";
import { clientsFor, type AccountClients } from "./aws";
import type { DoctorOptions } from "./checks";
import { readTrackerEnvironment, TARGETS_VARIABLE, TRACKER_VARIABLES } from "../../function/contract";
import { expectationsOf, type Expectations } from "./expectations";

/** A check could not run: a fact it needs could not be read (the message says which). */
export class Skip extends Error {}

export const REDEPLOY = "`npx cdktf deploy iss-tracker` with the same configuration";
export const ALLOWED = "Allowed";

/** An identity side that allows everything, to evaluate the resource side alone. */
export const ADMIN: readonly NamedPolicy[] = [{
  name: "caller", policy: { Version: "2012-10-17", Statement: [{ Sid: "Any", Effect: "Allow", Action: "*", Resource: "*" }] },
}];

/** The IAM role ARN behind an STS assumed-role session ARN (path unknown: shown without it). */
export const roleOfSession = (arn: string) => arn.replace(/^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.*$/, "arn:$1:iam::$2:role/$3");

type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

/** Runs `read` once; later calls get the same answer. */
function once<T>(read: () => Promise<T>): () => Promise<T> {
  let promise: Promise<T> | undefined;
  return () => (promise ??= read());
}

async function attempt<T>(read: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await read() };
  } catch (error) {
    return { ok: false, error: errorText(error) };
  }
}

export interface CallerA {
  readonly arn: string;
  readonly account: string;
  /** Why these are not account A's credentials, if they are not. */
  readonly wrong?: string;
}

export interface DeployedFunctionView {
  readonly env: Record<string, string>;
  readonly functionArn?: string;
  /** The role the function runs as (with its path once the role was read). */
  readonly roleArn: string;
  readonly logGroupName: string;
}

export interface BootstrapTrust {
  readonly trusted: boolean;
  /** What the trust policy says, or why it was not evaluated (starts with "; "). */
  readonly note: string;
  /** GetRole said the role does not exist (only the emulator hands out sessions of such roles). */
  readonly missing: boolean;
}

export interface BucketView {
  readonly region: string;
  readonly policy?: PolicyDocument;
}

export interface BucketProtections {
  /** Versioning's status (undefined: never enabled). */
  readonly versioning?: string;
  readonly publicAccessBlock: PublicAccessBlockConfiguration;
  readonly lifecycleRules: readonly S3LifecycleRule[];
}

export class DoctorContext {
  readonly expected: Expectations;
  readonly emulator: boolean;
  readonly a: AccountClients;

  constructor(readonly options: DoctorOptions) {
    this.expected = expectationsOf(options.config, options.targetIndex ?? 0);
    this.emulator = options.endpoint !== undefined;
    this.a = clientsFor({ region: this.expected.regionA, endpoint: options.endpoint, profile: options.profileA, credentials: options.credentialsA });
  }

  /** GetCallerIdentity in A (never throws: identity-a reports a failure). */
  readonly identityA = once(() => attempt(async (): Promise<CallerA> => {
    const me = await this.a.sts.send(new GetCallerIdentityCommand({}));
    const account = me.Account ?? "";
    const x = this.expected;
    const wrong = account === x.accountBId ? "these are account B's credentials"
      : x.accountAId !== undefined && x.accountAId !== account ? `ACCOUNT_A_ID is ${x.accountAId}` : undefined;
    return { arn: me.Arn ?? "", account, wrong };
  }));

  /** The caller in A, for checks that need it; Skip when there is none or it is not A's. */
  async callerA(): Promise<CallerA> {
    const read = await this.identityA();
    if (!read.ok) throw new Skip("no credentials for account A");
    if (read.value.wrong) throw new Skip("the credentials are not account A's");
    return read.value;
  }

  /** The bootstrap role's session, as Terraform's account_b provider assumes it. */
  readonly bootstrapSession = once(async () => {
    await this.callerA();
    return attempt(() => assumeRole(this.a.sts, this.expected.bootstrapRoleArn, "iss-tracker-doctor"));
  });

  /** B is reached only through the bootstrap role's session (no profile or credentials of B given). */
  get viaBootstrapOnly(): boolean {
    return this.options.credentialsB === undefined && this.options.profileB === undefined;
  }

  /** Clients in B before the bootstrap role's trust was read: the profile given, else the bootstrap session. */
  private readonly clientsB0 = once(async (): Promise<AccountClients | undefined> => {
    const session = await this.bootstrapSession();
    const viaBootstrap = session.ok ? session.value : undefined;
    const credentials = this.options.credentialsB ?? (this.options.profileB ? undefined : viaBootstrap);
    if (!this.options.credentialsB && !this.options.profileB && !viaBootstrap) return undefined;
    return clientsFor({ region: this.expected.regionB, endpoint: this.options.endpoint, profile: this.options.profileB, credentials });
  });

  /**
   * The bootstrap role's trust, evaluated for the caller where B's credentials can read the role
   * (a profile of B; the bootstrap role itself may not read itself). The emulator neither
   * evaluates cross-account trust nor checks that the role exists.
   */
  readonly bootstrapTrust = once(async (): Promise<BootstrapTrust | undefined> => {
    const session = await this.bootstrapSession();
    const b = await this.clientsB0();
    if (!session.ok || !b) return undefined;
    const caller = await this.callerA();
    const x = this.expected;
    try {
      const { trust } = await readRole(b.iam, x.bootstrapRoleName);
      const decision = await evaluate({ principal: caller.arn, identityPolicies: ADMIN, action: "sts:AssumeRole", resource: x.bootstrapRoleArn, resourceAccount: x.accountBId, resourcePolicy: trust });
      const trusted = decision.decision === ALLOWED;
      return { trusted, missing: false, note: `; its trust policy ${trusted ? "names" : "does not name"} ${caller.arn} (trusts ${trustedPrincipals(trust).join(", ") || "no AWS principal"})` };
    } catch (error) {
      if (isNotFound(error)) return { trusted: false, missing: true, note: `; but GetRole says it does not exist: ${errorText(error)}` };
      if (isAccessDenied(error) && this.viaBootstrapOnly) {
        // The bootstrap role's own session may not read the role (iam:GetRole on itself is not a
        // bootstrap grant): the AssumeRole that worked is the check of its trust.
        return { trusted: true, missing: false, note: "; its trust policy was evaluated by that AssumeRole itself (the role's own session may not read it: --profile-b <profile of B> also reads and evaluates it)" };
      }
      return { trusted: true, missing: false, note: `; trust policy not readable with B's credentials (${errorText(error)})` };
    }
  });

  /** Clients in B, or undefined when there are none (a session of a role that does not exist is none). */
  readonly clientsB = once(async (): Promise<AccountClients | undefined> => {
    const b = await this.clientsB0();
    const trust = await this.bootstrapTrust();
    return trust?.missing && this.viaBootstrapOnly ? undefined : b;
  });

  /** B's clients for checks that need them; Skip without. */
  async b(): Promise<AccountClients> {
    const b = await this.clientsB();
    if (!b) throw new Skip("no credentials for account B");
    return b;
  }

  /** The deployed function (never throws: the function check reports a failure). */
  readonly functionRead = once(async () => {
    await this.callerA();
    return attempt(async (): Promise<DeployedFunctionView> => {
      const fn = await this.a.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: this.expected.functionName }));
      return {
        env: targetEnvironment(fn.Environment?.Variables ?? {}, this.expected.accountBId),
        functionArn: fn.FunctionArn,
        roleArn: fn.Role ?? "",
        logGroupName: fn.LoggingConfig?.LogGroup ?? `/aws/lambda/${this.expected.functionName}`,
      };
    });
  });

  /** The function, for checks that need it; Skip when it is not deployed. */
  async function(): Promise<DeployedFunctionView> {
    const read = await this.functionRead();
    if (!read.ok) throw new Skip("the function is not deployed");
    return read.value;
  }

  /** The execution role as IAM holds it (never throws). */
  readonly executionRole = once(async () => {
    const fn = await this.function();
    return attempt(() => readRole(this.a.iam, fn.roleArn.split("/").pop() ?? ""));
  });

  /** The execution role's ARN with its path when it could be read, else the function's Role. */
  async executionRoleArn(): Promise<string> {
    const role = await this.executionRole();
    return role.ok ? role.value.role.Arn! : (await this.function()).roleArn;
  }

  /** The execution role's session as the function holds it. */
  async executionSession(): Promise<string> {
    return sessionOf(await this.executionRoleArn(), this.expected.functionName);
  }

  /** The access role in B (never throws). */
  readonly accessRoleRead = once(async () => {
    await this.function();
    const b = await this.clientsB();
    if (!b) return { ok: false, error: "no credentials for account B" } as const;
    return attempt(() => readRole(b.iam, this.expected.accessRoleName));
  });

  async accessRole(): Promise<Awaited<ReturnType<typeof readRole>>> {
    const read = await this.accessRoleRead();
    if (!read.ok) throw new Skip("the access role could not be read");
    return read.value;
  }

  /** The deployed access role's ARN, else the configured one. */
  async accessRoleArn(): Promise<string> {
    const read = await this.accessRoleRead();
    return read.ok ? read.value.role.Arn! : this.expected.accessRoleArn;
  }

  /** The bucket's region and policy (never throws; undefined without B's credentials). */
  readonly bucketRead = once(async () => {
    await this.function();
    const b = await this.clientsB();
    if (!b) return undefined;
    const bucket = this.expected.bucketName;
    return attempt(async (): Promise<BucketView> => {
      // The region from HeadBucket (s3:ListBucket, which the bootstrap role has); GetBucketLocation
      // (which it has not) only if S3 left the header out.
      const head = await b.s3.send(new HeadBucketCommand({ Bucket: bucket }));
      const region = head.BucketRegion ?? ((await b.s3.send(new GetBucketLocationCommand({ Bucket: bucket }))).LocationConstraint || "us-east-1");
      let policy: PolicyDocument | undefined;
      try {
        policy = parsePolicy((await b.s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      return { region, policy };
    });
  });

  /** The bucket, for checks that need it; Skip when it could not be read. */
  async bucket(): Promise<BucketView> {
    const read = await this.bucketRead();
    if (!read?.ok) throw new Skip("the bucket could not be read");
    return read.value;
  }

  /**
   * The bucket's protections as S3 holds them (versioning, public access block, lifecycle rules);
   * a configuration S3 says was never set reads as empty. Skip when the bucket could not be read.
   */
  readonly protections = once(async (): Promise<Read<BucketProtections>> => {
    await this.bucket();
    const b = await this.b();
    const Bucket = this.expected.bucketName;
    const orNone = async <T>(read: () => Promise<T>, none: T): Promise<T> => {
      try {
        return await read();
      } catch (error) {
        if (isNotFound(error)) return none;
        throw error;
      }
    };
    return attempt(async () => ({
      versioning: (await b.s3.send(new GetBucketVersioningCommand({ Bucket }))).Status,
      publicAccessBlock: await orNone(async () => (await b.s3.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration ?? {}, {}),
      lifecycleRules: await orNone(async () => (await b.s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules ?? [], [] as S3LifecycleRule[]),
    }));
  });

  /** A session's clients in B for other credentials (the access role's). */
  clientsInB(credentials: Credentials): AccountClients {
    return clientsFor({ region: this.expected.regionB, endpoint: this.options.endpoint, credentials });
  }
}

/** The AWS principals an Allow statement for sts:AssumeRole names. */
export function trustedPrincipals(trust: PolicyDocument): string[] {
  return trust.Statement.filter((s) => s.Effect === "Allow" && actionsOf(s).some((a) => /^sts:(AssumeRole|\*)$|^\*$/.test(a)))
    .flatMap((s) => {
      if (s.Principal === "*") return ["*"];
      const aws = s.Principal?.AWS;
      return aws === undefined ? [] : typeof aws === "string" ? [aws] : [...aws];
    });
}
const actionsOf = (s: PolicyDocument["Statement"][number]): string[] => (typeof s.Action === "string" ? [s.Action] : [...s.Action]);

/** The sts:ExternalId values the trust's Allow statements require (StringEquals / StringLike). */
export function requiredExternalIds(trust: PolicyDocument): string[] {
  return trust.Statement.filter((s) => s.Effect === "Allow").flatMap((s) =>
    Object.values(s.Condition ?? {}).flatMap((block) =>
      Object.entries(block ?? {}).filter(([key]) => key.toLowerCase() === "sts:externalid").flatMap(([, v]) => (typeof v === "string" ? [v] : [...v]))));
}

/**
 * The function's environment as one target sees it: with TARGETS, that target's entry in the
 * single-account variables (ACCESS_ROLE_ARN, EXTERNAL_ID, BUCKET_NAME, BUCKET_REGION, OBJECT_KEY),
 * read as the function reads them; a target the function was not told about has none of them.
 */
export function targetEnvironment(env: Record<string, string>, accountB: string): Record<string, string> {
  if (!env[TARGETS_VARIABLE]) return env;
  const target = readTrackerEnvironment(env).settings?.targets.find((t) => t.id === accountB);
  if (!target) return env;
  const fields = Object.entries(TRACKER_VARIABLES).map(([field, v]) => [v.name, target[field as keyof typeof TRACKER_VARIABLES]]);
  return { ...env, ...Object.fromEntries(fields) };
}
