/**
 * The local AWS as one unit: moto on a free loopback port, the gateway in front of it with its
 * gates (./gateway.ts names them and their order), and the administrators of the two accounts:
 *
 *   account A (moto's default account 123456789012): the IAM user `local-admin` with an
 *     administrator policy and an access key (what Terraform and a person in A run as);
 *   account B (222222222222): the role `OrganizationAccountAccessRole` with an administrator
 *     policy, trusting A (as AWS Organizations creates one), assumed from A's admin; with
 *     `accountsB`, each member account gets one (333333333333, 444444444444, ...: localAccountsB).
 *
 * `npm start` (../rehearsal/rehearsal.ts), the tests and the benchmarks all start it with
 * `startLocalAws()`, choosing the gates they need. The gates' own reads (ETags, earlier versions,
 * trust and role policies) go straight to moto as these administrators, since moto's IAM
 * enforcement may be on. `reset()` clears moto's state and creates the administrators again.
 */
import {
  CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, GetRoleCommand, IAMClient, PutRolePolicyCommand, PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { SETTINGS } from "../../stacks/config";
import { assumeRole, isNotFound, parsePolicy, readManagedPolicy, readRole, type Credentials } from "../shared/aws";
import { startGateway, type Gate, type Gateway } from "./gateway";
import { iamGate, type IamGate } from "./iam-gate";
import { bucketOwnerGate, type BucketOwnerGate } from "./bucket-owner-gate";
import { lifecycleGate } from "./lifecycle-gate";
import { logsGate } from "./logs-gate";
import { startMoto, type MotoServer, type StartMotoOptions } from "./moto";
import { s3Faults, type S3Faults } from "./s3-faults";
import { s3Gate, type S3Gate } from "./s3-gate";
import { stsGate, type StsGate } from "./sts-gate";

/** moto's default account: credentials not from AssumeRole act here. */
export const LOCAL_ACCOUNT_A = "123456789012";
export const LOCAL_ACCOUNT_B = "222222222222";
export const LOCAL_REGION = "us-east-1";
export const ADMIN_USER = "local-admin";
export const ADMIN_USER_ARN = `arn:aws:iam::${LOCAL_ACCOUNT_A}:user/${ADMIN_USER}`;
export const ADMIN_ROLE_B = "OrganizationAccountAccessRole";
/** The first `count` local member accounts: 222222222222, 333333333333, ... (at most 8). */
export function localAccountsB(count: number): string[] {
  if (!Number.isInteger(count) || count < 1 || count > 8) throw new Error(`the emulator serves 1 to 8 member accounts, not ${count}`);
  return Array.from({ length: count }, (_, i) => String(i + 2).repeat(12));
}
const ADMIN_POLICY = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });

/** The gates, in the order the gateway runs them (see ./gateway.ts). */
export const GATE_ORDER = ["iam", "sts", "lifecycle", "logs", "faults", "owner", "s3"] as const;
export type GateName = (typeof GATE_ORDER)[number];

export interface LocalAwsOptions {
  /** Which gates to put in front of moto (always in GATE_ORDER). Default: all of them. */
  readonly gates?: readonly GateName[];
  /** More gates, after the chosen ones (right before moto), e.g. a test's routing or blocking gate. */
  readonly innerGates?: readonly Gate[];
  /** The member accounts B, each with an administrator role (default: LOCAL_ACCOUNT_B alone). */
  readonly accountsB?: readonly string[];
  /** The roles whose sessions the IAM gate enforces. Default: each account B's bootstrap role (BOOTSTRAP_ROLE_NAME's default). */
  readonly enforcedRoles?: readonly string[];
  /** How moto is started (its port, its log). */
  readonly moto?: Pick<StartMotoOptions, "port" | "verbose" | "readyTimeoutMs">;
}

export interface LocalAws {
  readonly moto: MotoServer;
  readonly gateway: Gateway;
  /** The gateway's URL: what every client of a deployment is given (Terraform, the function). */
  readonly endpoint: string;
  /** moto itself, for administration that must not pass the gates. */
  readonly motoEndpoint: string;
  readonly accountA: string;
  /** The first account B. */
  readonly accountB: string;
  /** Every account B, the first first. */
  readonly accountsB: readonly string[];
  readonly region: string;
  /** A's administrator user (changes on reset()). */
  readonly adminA: Credentials;
  /** The first B's administrator role session (changes on reset()). */
  readonly adminB: Credentials;
  /** An account B's administrator role session (changes on reset()). */
  adminOf(accountB: string): Credentials;
  /** The gates that were asked for (undefined otherwise). */
  readonly iamGate?: IamGate;
  readonly stsGate?: StsGate;
  readonly s3Gate?: S3Gate;
  readonly faults?: S3Faults;
  readonly ownerGate?: BucketOwnerGate;
  /** An S3 client straight to moto as an account B's administrator (default: the first B). */
  s3B(accountB?: string): S3Client;
  /** Clears moto's state and creates the administrators again (the gates keep their records). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

interface Administrators {
  readonly adminA: Credentials;
  /** Per account B, its administrator role's session. */
  readonly adminsB: ReadonlyMap<string, Credentials>;
}

/** A's admin user and each B's admin role, created on a fresh moto. */
async function createAdministrators(endpoint: string, accountsB: readonly string[]): Promise<Administrators> {
  const iamA = new IAMClient({ region: LOCAL_REGION, endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
  await iamA.send(new CreateUserCommand({ UserName: ADMIN_USER }));
  await iamA.send(new PutUserPolicyCommand({ UserName: ADMIN_USER, PolicyName: "administrator", PolicyDocument: ADMIN_POLICY }));
  const key = (await iamA.send(new CreateAccessKeyCommand({ UserName: ADMIN_USER }))).AccessKey;
  if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error("moto returned no access key");
  const adminA = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
  const sts = new STSClient({ region: LOCAL_REGION, endpoint, credentials: adminA });
  // Each B's administrator: a real role in B, assumed from A (moto hands out a session for any
  // role ARN, which is how the role gets created in B in the first place).
  const adminsB = new Map<string, Credentials>();
  for (const accountB of accountsB) {
    const roleArnB = `arn:aws:iam::${accountB}:role/${ADMIN_ROLE_B}`;
    const iamB = new IAMClient({ region: LOCAL_REGION, endpoint, credentials: await assumeRole(sts, roleArnB, "local-setup") });
    await iamB.send(new CreateRoleCommand({
      RoleName: ADMIN_ROLE_B,
      AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${LOCAL_ACCOUNT_A}:root` }, Action: "sts:AssumeRole" }] }),
    }));
    await iamB.send(new PutRolePolicyCommand({ RoleName: ADMIN_ROLE_B, PolicyName: "administrator", PolicyDocument: ADMIN_POLICY }));
    adminsB.set(accountB, await assumeRole(sts, roleArnB, "local-admin-b"));
  }
  return { adminA, adminsB };
}

const roleNameOf = (roleArn: string) => roleArn.replace(/^.*:role\/(.*\/)?/, "");

/** Starts moto, creates the administrators and puts the gateway with the chosen gates in front. */
export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const wanted = new Set(options.gates ?? GATE_ORDER);
  const accountsB = options.accountsB ?? [LOCAL_ACCOUNT_B];
  if (accountsB.length === 0 || accountsB.includes(LOCAL_ACCOUNT_A) || new Set(accountsB).size !== accountsB.length) {
    throw new Error(`accountsB must list distinct accounts other than A (${LOCAL_ACCOUNT_A}), got ${JSON.stringify(accountsB)}`);
  }
  const moto = await startMoto(options.moto);
  let gateway: Gateway | undefined;
  try {
    let admins = await createAdministrators(moto.endpoint, accountsB);
    const adminOf = (account: string): Credentials => {
      if (account === LOCAL_ACCOUNT_A) return admins.adminA;
      const admin = admins.adminsB.get(account);
      if (!admin) throw new Error(`account ${account} is not one of the emulator's accounts (A ${LOCAL_ACCOUNT_A}, B ${accountsB.join(", ")})`);
      return admin;
    };
    const iamOf = (account: string) => new IAMClient({ region: LOCAL_REGION, endpoint: moto.endpoint, credentials: adminOf(account) });

    const trust = wanted.has("sts") ? stsGate({
      trustPolicyOf: async (roleArn) => {
        const role = await iamOf(roleArn.split(":")[4]).send(new GetRoleCommand({ RoleName: roleNameOf(roleArn) }));
        return parsePolicy(role.Role?.AssumeRolePolicyDocument);
      },
    }) : undefined;
    // Terraform's account_b provider assumes the bootstrap role as A's admin user, through the gate.
    trust?.registerCaller(admins.adminA.accessKeyId, ADMIN_USER_ARN);

    // Terraform's calls in B, as the bootstrap role, under that role's policy with the real IAM
    // action names (the gate learns the session from the AssumeRole answer).
    const terraform = wanted.has("iam") ? iamGate({
      roleArns: options.enforcedRoles ?? accountsB.map((account) => `arn:aws:iam::${account}:role/${SETTINGS.bootstrapRoleName.default}`),
      readRole: async (roleArn) => {
        const iam = iamOf(roleArn.split(":")[4]);
        const { role, policies } = await readRole(iam, roleNameOf(roleArn));
        const boundaryArn = role.PermissionsBoundary?.PermissionsBoundaryArn;
        if (!boundaryArn) return { policies };
        return { policies, boundary: { name: boundaryArn, policy: await readManagedPolicy(iam, boundaryArn) } };
      },
      boundaryOf: async (roleArn) => {
        try {
          const role = await iamOf(roleArn.split(":")[4]).send(new GetRoleCommand({ RoleName: roleNameOf(roleArn) }));
          return role.Role?.PermissionsBoundary?.PermissionsBoundaryArn;
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      },
    }) : undefined;

    // Which account owns a bucket: each administrator lists its own account's buckets (remembered
    // for a few seconds: a request burst asks once; a bucket deleted and made again elsewhere is seen soon).
    const owners = new Map<string, { account?: string; at: number }>();
    const ownerOf = async (bucket: string): Promise<string | undefined> => {
      const known = owners.get(bucket);
      if (known && Date.now() - known.at < 5000) return known.account;
      let found: string | undefined;
      for (const account of [...accountsB, LOCAL_ACCOUNT_A]) {
        const s3 = new S3Client({ region: LOCAL_REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: adminOf(account) });
        if (((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).some((b) => b.Name === bucket)) {
          found = account;
          break;
        }
      }
      owners.set(bucket, { account: found, at: Date.now() });
      return found;
    };
    // The S3 gates read ETags and earlier versions as the bucket's administrator (with one account
    // B, B's without asking: the buckets are B's).
    const readAs = accountsB.length === 1 ? () => admins.adminsB.get(accountsB[0])! : async (bucket: string) => adminOf((await ownerOf(bucket)) ?? accountsB[0]);
    const conditions = wanted.has("s3") ? s3Gate({ upstream: moto.endpoint, readAs, region: LOCAL_REGION }) : undefined;
    const faults = wanted.has("faults") ? s3Faults({ upstream: moto.endpoint, readAs, region: LOCAL_REGION }) : undefined;
    const owner = wanted.has("owner") ? bucketOwnerGate({ ownerOf }) : undefined;

    const byName: Record<GateName, Gate | undefined> = {
      iam: terraform?.gate, sts: trust?.gate, lifecycle: wanted.has("lifecycle") ? lifecycleGate() : undefined, logs: wanted.has("logs") ? logsGate() : undefined, faults: faults?.gate, owner: owner?.gate, s3: conditions?.gate,
    };
    const gates = [...GATE_ORDER.map((name) => byName[name]).filter((g): g is Gate => g !== undefined), ...(options.innerGates ?? [])];
    gateway = await startGateway(moto.endpoint, gates);
    const started = gateway;
    return {
      moto,
      gateway,
      endpoint: gateway.endpoint,
      motoEndpoint: moto.endpoint,
      accountA: LOCAL_ACCOUNT_A,
      accountB: accountsB[0],
      accountsB,
      region: LOCAL_REGION,
      get adminA() {
        return admins.adminA;
      },
      get adminB() {
        return adminOf(accountsB[0]);
      },
      adminOf,
      iamGate: terraform,
      stsGate: trust,
      s3Gate: conditions,
      faults,
      ownerGate: owner,
      s3B: (accountB = accountsB[0]) => new S3Client({ region: LOCAL_REGION, endpoint: moto.endpoint, forcePathStyle: true, credentials: adminOf(accountB) }),
      reset: async () => {
        await moto.reset();
        owners.clear();
        admins = await createAdministrators(moto.endpoint, accountsB);
        trust?.registerCaller(admins.adminA.accessKeyId, ADMIN_USER_ARN);
      },
      stop: async () => {
        await started.stop();
        await moto.stop();
      },
    };
  } catch (error) {
    await gateway?.stop();
    await moto.stop();
    throw error;
  }
}
