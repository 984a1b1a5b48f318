/**
 * AWS access for `npm run doctor`: SDK clients that can only read, and the reads doctor needs.
 *
 * Every client carries a middleware that refuses any operation outside READ_ONLY_OPERATIONS before
 * it is signed or sent, so a future check cannot change an account by mistake. (sts:AssumeRole
 * creates nothing: it returns temporary credentials, as `aws sts assume-role` does.)
 */
import {
  GetPolicyCommand, GetPolicyVersionCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient,
  ListAttachedRolePoliciesCommand, ListRolePoliciesCommand, type Role,
} from "@aws-sdk/client-iam";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { PolicyDocument } from "../../stacks/policy";
import type { NamedPolicy } from "./prove-synth";

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

export const READ_ONLY_OPERATIONS: ReadonlySet<string> = new Set([
  "GetCallerIdentityCommand", "AssumeRoleCommand",
  "GetRoleCommand", "ListRolePoliciesCommand", "GetRolePolicyCommand", "ListAttachedRolePoliciesCommand",
  "GetPolicyCommand", "GetPolicyVersionCommand",
  "GetFunctionConfigurationCommand",
  "HeadBucketCommand", "GetBucketLocationCommand", "GetBucketPolicyCommand", "ListObjectsV2Command", "HeadObjectCommand",
]);

/** Operations sent by doctor's clients in this process (for the tests' read-only assertion). */
export const sentOperations: string[] = [];

interface MiddlewareClient {
  middlewareStack: { add: (middleware: never, options: { step: "initialize"; name: string }) => void };
}

function readOnly<T extends MiddlewareClient>(client: T): T {
  const guard = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
    const operation = context.commandName ?? "(unknown)";
    if (!READ_ONLY_OPERATIONS.has(operation)) {
      throw new Error(`doctor is read-only: refusing ${operation}`);
    }
    sentOperations.push(operation);
    return next(args);
  };
  client.middlewareStack.add(guard as never, { step: "initialize", name: "doctorReadOnlyGuard" });
  return client;
}

function clientConfig(access: AccountAccess) {
  return {
    region: access.region,
    ...(access.endpoint ? { endpoint: access.endpoint } : {}),
    ...(access.credentials ? { credentials: access.credentials } : access.profile ? { profile: access.profile } : {}),
    maxAttempts: 2,
  };
}

export interface AccountClients {
  readonly sts: STSClient;
  readonly iam: IAMClient;
  readonly lambda: LambdaClient;
  readonly s3: S3Client;
}

export function clientsFor(access: AccountAccess, s3Region = access.region): AccountClients {
  const config = clientConfig(access);
  return {
    sts: readOnly(new STSClient(config)),
    iam: readOnly(new IAMClient(config)),
    lambda: readOnly(new LambdaClient(config)),
    s3: readOnly(new S3Client({ ...config, region: s3Region, forcePathStyle: access.endpoint !== undefined })),
  };
}

/** Credentials of a role session, as Terraform's provider or the function would get them. */
export async function assumeRole(sts: STSClient, roleArn: string, sessionName: string, externalId?: string): Promise<Credentials> {
  const out = await sts.send(new AssumeRoleCommand({
    RoleArn: roleArn, RoleSessionName: sessionName, DurationSeconds: 900, ...(externalId ? { ExternalId: externalId } : {}),
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

/** A role and all its identity policies (inline, and the default version of attached ones). */
export async function readRole(iam: IAMClient, roleName: string): Promise<{ role: Role; trust: PolicyDocument; policies: NamedPolicy[] }> {
  const role = (await iam.send(new GetRoleCommand({ RoleName: roleName }))).Role;
  if (!role?.Arn) throw new Error(`GetRole ${roleName} returned no role`);
  const policies: NamedPolicy[] = [];
  for (const name of (await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }))).PolicyNames ?? []) {
    const p = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: name }));
    policies.push({ name, policy: parsePolicy(p.PolicyDocument) });
  }
  for (const attached of (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }))).AttachedPolicies ?? []) {
    const meta = await iam.send(new GetPolicyCommand({ PolicyArn: attached.PolicyArn }));
    const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: attached.PolicyArn, VersionId: meta.Policy?.DefaultVersionId }));
    policies.push({ name: attached.PolicyName ?? attached.PolicyArn ?? "attached", policy: parsePolicy(version.PolicyVersion?.Document) });
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
