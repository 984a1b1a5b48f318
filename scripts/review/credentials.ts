/**
 * Before anything runs Terraform against real accounts: are the right account's credentials
 * there? Terraform's provider answers a missing credential after ~30 s of retries with a generic
 * "No valid credential sources found ... EC2 IMDS" error, twice; this check answers in one line,
 * within seconds, naming the account and how to provide its credentials.
 *
 *   iss-tracker  A's credentials (the default provider), and through them the bootstrap role in B
 *                (the account_b provider assumes it): GetCallerIdentity, then AssumeRole.
 *   bootstrap    B's credentials (it creates that role): GetCallerIdentity in B.
 *
 * Credentials come from the SDK's default chain, as the provider finds them (environment keys,
 * AWS_PROFILE, SSO, web identity / OIDC, container or instance roles); calls go to the emulator in
 * local mode. Read-only: STS calls only.
 */
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { BOOTSTRAP_STACK_NAME } from "../../stacks/bootstrap-stack";
import type { AppConfig } from "../../stacks/config";
import { TRACKER_STACK_NAME } from "../../stacks/iss-tracker-stack";

export const STACKS = [TRACKER_STACK_NAME, BOOTSTRAP_STACK_NAME] as const;
export type StackName = (typeof STACKS)[number];

/** The session name the account_b provider uses (stacks/constructs/providers.ts's default). */
const TERRAFORM_SESSION = "iss-tracker-terraform";

export interface Identity {
  readonly account: string;
  readonly arn: string;
}

export type CredentialReport =
  | { readonly ok: true; readonly line: string; readonly identity: Identity; readonly bootstrapRole?: string }
  | { readonly ok: false; readonly line: string };

export interface CheckOptions {
  /** Where the SDK's credential chain looks (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...). Default: process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Give up after this long (default 15 s): STS unreachable. */
  readonly timeoutMs?: number;
  /** The command to suggest, e.g. "npm run diff -- iss-tracker". */
  readonly command?: string;
}

function how(account: "A" | "B", command: string): string {
  const profile = account === "A" ? "account-a" : "account-b";
  return `set AWS_PROFILE to a profile of account ${account} (e.g. AWS_PROFILE=${profile} ${command}; aws configure sso creates one), ` +
    "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN); in CI, short-lived OIDC credentials";
}

/** One line for an SDK error: its name and the first line of its message. */
function reason(error: unknown): string {
  const e = error as { name?: string; message?: string };
  return `${e.name ?? "Error"}: ${(e.message ?? String(error)).split("\n")[0]}`;
}

function isMissing(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? "";
  return name === "CredentialsProviderError" || /Could not load credentials|Could not resolve credentials/.test(String((error as Error).message));
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} did not answer within ${ms / 1000} s`), { name: "Timeout" })), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The identity the environment's credentials belong to, in `region` (through `endpoint` in local mode). */
async function callerIdentity(sts: STSClient, timeoutMs: number): Promise<Identity> {
  const out = await withDeadline(sts.send(new GetCallerIdentityCommand({})), timeoutMs, "STS");
  return { account: String(out.Account), arn: String(out.Arn) };
}

function stsClient(config: AppConfig, region: string): STSClient {
  // No credentials given: the SDK's default chain, from process.env (see inEnv).
  return new STSClient({
    region,
    maxAttempts: 1,
    ...(config.localEndpoint ? { endpoint: config.localEndpoint } : {}),
  });
}

/** Runs `fn` with process.env replaced by `env` (the SDK's default credential chain reads process.env). */
async function inEnv<T>(env: NodeJS.ProcessEnv, fn: () => Promise<T>): Promise<T> {
  if (env === process.env) return fn();
  const saved = process.env;
  process.env = { ...env };
  try {
    return await fn();
  } finally {
    process.env = saved;
  }
}

/** Checks the credentials `stack` needs; never throws for a credential problem, it reports it. */
export async function checkCredentials(stack: StackName, config: AppConfig, options: CheckOptions = {}): Promise<CredentialReport> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const command = options.command ?? `npm run diff -- ${stack}`;
  const account: "A" | "B" = stack === BOOTSTRAP_STACK_NAME ? "B" : "A";
  const expected = account === "B" ? config.accountBId : config.accountAId;
  const region = account === "B" ? config.regionB : config.regionA;
  const whose = `account ${account}'s credentials${expected ? ` (${expected})` : ""}`;
  return inEnv(env, async () => {
    let identity: Identity;
    try {
      identity = await callerIdentity(stsClient(config, region), timeoutMs);
    } catch (error) {
      if (isMissing(error)) return { ok: false, line: `${stack} needs ${whose} and none were found (${reason(error)}): ${how(account, command)}.` };
      return { ok: false, line: `${stack} needs ${whose}, and STS refused or did not answer for the ones found (${reason(error)}): refresh them (e.g. aws sso login) or ${how(account, command)}.` };
    }
    if (expected && identity.account !== expected) {
      return { ok: false, line: `${stack} needs ${whose}, and these are account ${identity.account}'s (${identity.arn}): ${how(account, command)}.` };
    }
    if (stack === BOOTSTRAP_STACK_NAME) {
      return { ok: true, identity, line: `${stack}: account B's credentials: ${identity.arn}` };
    }
    const roleArn = `arn:${config.partition}:iam::${config.accountBId}:role/${config.bootstrapRoleName}`;
    try {
      await withDeadline(stsClient(config, region).send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: TERRAFORM_SESSION, DurationSeconds: 900 })), timeoutMs, "STS");
    } catch (error) {
      return {
        ok: false,
        line: `${stack} reaches account B through ${roleArn}, which account A's ${identity.arn} may not assume (${reason(error)}): ` +
          `deploy the bootstrap stack first with B's credentials and DEPLOYER_PRINCIPAL_ARN set to this identity's role or user ARN (npm run deploy -- bootstrap).`,
      };
    }
    return { ok: true, identity, bootstrapRole: roleArn, line: `${stack}: account A's credentials: ${identity.arn}; account B through ${roleArn}` };
  });
}
