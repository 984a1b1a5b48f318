/**
 * AWS helpers shared by the tools (rehearsal, emulator gates, doctor, log, prove): one Credentials
 * type, client settings for one account, a guard that keeps a client read-only, one AssumeRole,
 * and reading a role's policies back.
 */
import {
  GetPolicyCommand, GetPolicyVersionCommand, GetRoleCommand, GetRolePolicyCommand, type IAMClient,
  ListAttachedRolePoliciesCommand, ListRolePoliciesCommand, type Role,
} from "@aws-sdk/client-iam";
import { AssumeRoleCommand, type STSClient } from "@aws-sdk/client-sts";
import type { PolicyDocument } from "../../stacks/policy";
import type { NamedPolicy } from "./iam";

/** Static credentials (tests, or what AssumeRole returned). */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Where one account's calls go and as whom. */
export interface AccountAccess {
  readonly region: string;
  /** Emulator endpoint; unset for real AWS. */
  readonly endpoint?: string;
  /** A named profile (~/.aws/config), used when no credentials are given. */
  readonly profile?: string;
  readonly credentials?: Credentials;
}

export interface MiddlewareClient {
  middlewareStack: { add: (middleware: never, options: { step: "initialize"; name: string }) => void };
}

/**
 * Makes an SDK client refuse, before signing or sending, every operation outside `allowed`
 * (`tool` names the refusing tool in the error); the operations it lets through are appended to `sent`.
 * `npm run log` guards its clients the same way with its own, smaller set.
 */
export function guardOperations<T extends MiddlewareClient>(client: T, allowed: ReadonlySet<string>, tool: string, sent: string[]): T {
  const guard = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
    const operation = context.commandName ?? "(unknown)";
    if (!allowed.has(operation)) {
      throw new Error(`${tool} is read-only: refusing ${operation}`);
    }
    sent.push(operation);
    return next(args);
  };
  client.middlewareStack.add(guard as never, { step: "initialize", name: `${tool.replace(/\W/g, "")}ReadOnlyGuard` });
  return client;
}

/** SDK client settings for one account: region, emulator endpoint, credentials or profile, 2 attempts. */
export function clientConfig(access: AccountAccess) {
  return {
    region: access.region,
    ...(access.endpoint ? { endpoint: access.endpoint } : {}),
    ...(access.credentials ? { credentials: access.credentials } : access.profile ? { profile: access.profile } : {}),
    maxAttempts: 2,
  };
}

/** Credentials of a role session, as Terraform's provider or the function would get them. */
export async function assumeRole(sts: Pick<STSClient, "send">, roleArn: string, sessionName: string, externalId?: string): Promise<Credentials> {
  const out = await sts.send(new AssumeRoleCommand({
    RoleArn: roleArn, RoleSessionName: sessionName.slice(0, 64), DurationSeconds: 900, ...(externalId ? { ExternalId: externalId } : {}),
  }));
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
}

/** IAM returns policy documents URL-encoded. */
export function parsePolicy(text: string | undefined): PolicyDocument {
  if (!text) throw new Error("empty policy document");
  const decoded = text.trim().startsWith("{") ? text : decodeURIComponent(text);
  return JSON.parse(decoded);
}

/** The document of a managed policy's default version. */
export async function readManagedPolicy(iam: Pick<IAMClient, "send">, policyArn: string): Promise<PolicyDocument> {
  const meta = await iam.send(new GetPolicyCommand({ PolicyArn: policyArn }));
  const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: meta.Policy?.DefaultVersionId }));
  return parsePolicy(version.PolicyVersion?.Document);
}

/** A role and all its identity policies (inline, and the default version of attached ones). */
export async function readRole(iam: Pick<IAMClient, "send">, roleName: string): Promise<{ role: Role; trust: PolicyDocument; policies: NamedPolicy[] }> {
  const role = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role;
  if (!role?.Arn) throw new Error(`GetRole ${roleName} returned no role`);
  const policies: NamedPolicy[] = [];
  for (const name of (await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames ?? []) {
    const p = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: name }));
    policies.push({ name, policy: parsePolicy(p.PolicyDocument) });
  }
  for (const attached of (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }))).AttachedPolicies ?? []) {
    policies.push({ name: attached.PolicyName ?? attached.PolicyArn ?? "attached", policy: await readManagedPolicy(iam, attached.PolicyArn!) });
  }
  return { role, trust: parsePolicy(role.AssumeRolePolicyDocument), policies };
}

/** "Name: message" of an SDK error, for a check's detail. */
export function errorText(error: unknown): string {
  const e = error as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.Code ?? e.name ?? "Error";
  const status = e.$metadata?.httpStatusCode;
  return `${name}${status ? ` (HTTP ${status})` : ""}: ${e.message || "(no message)"}`;
}

export function isAccessDenied(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return /AccessDenied|Forbidden|UnauthorizedOperation/i.test(`${e.Code ?? ""} ${e.name ?? ""}`) || e.$metadata?.httpStatusCode === 403;
}

export function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return /NoSuch|NotFound/i.test(`${e.Code ?? ""} ${e.name ?? ""}`) || e.$metadata?.httpStatusCode === 404;
}
