/**
 * A deployment of iss-tracker built directly on the moto emulator with SDK calls (a Terraform
 * apply takes ~20 s; this takes well under one): the same role names, trust and permission
 * policies (the stack's own typed policy functions), bucket, bucket policy and function
 * environment the stacks create — optionally broken in one place.
 */
import { CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, IAMClient, PutRolePolicyCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { CreateBucketCommand, PutBucketPolicyCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { deflateRawSync } from "node:zlib";
import { bootstrapPermissionsPolicy, bootstrapTrustPolicy } from "../../../stacks/bootstrap-stack";
import type { AppConfig } from "../../../stacks/config";
import { tlsOnlyBucketPolicy } from "../../../stacks/constructs/report-bucket";
import { accessTrustPolicy, assumeAccessRolePolicy, lambdaTrustPolicy, logWritingPolicy, objectAccessPolicy } from "../../../stacks/constructs/trust-chain";
import { resourceNames } from "../../../stacks/iss-tracker-stack";
import type { PolicyDocument } from "../../../stacks/policy";
import type { Credentials } from "../../../scripts/doctor/aws";

/** moto's default account: credentials that are not a role session act here. */
export const ACCOUNT_A = "123456789012";
const REGION = "us-east-1";

/** One thing to break (all optional; none = a healthy deployment). */
export interface Breakage {
  /** Create the execution role under this path (AWS consoles use /service-role/). */
  readonly execPath?: string;
  /** What the access role's trust names instead of the execution role's ARN. */
  readonly trustPrincipal?: (execArn: string) => string;
  readonly trustExternalId?: string;
  readonly withoutAssumePolicy?: boolean;
  /** The execution role's sts:AssumeRole statement on "*" (seed 000's policy). */
  readonly assumeAnyRole?: boolean;
  readonly withoutObjectPolicy?: boolean;
  /** Overrides of the function's environment. */
  readonly environment?: Record<string, string>;
  /** An extra bucket policy statement. */
  readonly extraBucketStatement?: (accessArn: string, bucketArn: string) => PolicyDocument["Statement"][number];
  readonly withoutBootstrapRole?: boolean;
  /** Who the bootstrap role trusts instead of the deployer. */
  readonly bootstrapTrusts?: string;
  readonly withoutFunction?: boolean;
  /** Write the log object first. */
  readonly withLog?: string;
  /**
   * Deploy as npm start does (local mode): no TLS-only bucket policy. moto applies a bucket
   * policy's Deny to every object call whatever its condition, so reading the object needs this.
   */
  readonly localMode?: boolean;
}

export interface Deployment {
  /** The deployer's credentials in A (an IAM user with administrator rights). */
  readonly deployer: Credentials;
  readonly deployerArn: string;
  /** Administrator credentials in B (like a profile of B). */
  readonly adminB: Credentials;
  readonly execArn: string;
  readonly accessArn: string;
}

const ADMIN: PolicyDocument = { Version: "2012-10-17", Statement: [{ Sid: "All", Effect: "Allow", Action: "*", Resource: "*" }] };

/** A one-file zip (deflate), enough for Lambda's CreateFunction. */
export function zipOf(name: string, text: string): Buffer {
  const data = Buffer.from(text);
  const packed = deflateRawSync(data);
  const crc = crc32(data);
  const nameBytes = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc, 14); local.writeUInt32LE(packed.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc, 16); central.writeUInt32LE(packed.length, 20); central.writeUInt32LE(data.length, 24); central.writeUInt16LE(nameBytes.length, 28);
  const offset = local.length + nameBytes.length + packed.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(1, 8); end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([local, nameBytes, packed, central, nameBytes, end]);
}
function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Builds the deployment on a freshly reset emulator. */
export async function deploy(endpoint: string, config: AppConfig, broken: Breakage = {}): Promise<Deployment> {
  const names = resourceNames(config.namePrefix);
  const B = config.accountBId;
  const client = <T>(Ctor: new (c: object) => T, credentials: Credentials, extra: object = {}) => new Ctor({ region: REGION, endpoint, credentials, ...extra });
  const root: Credentials = { accessKeyId: "setup", secretAccessKey: "setup" };

  // The deployer in A, and an administrator of B.
  const iam0 = client(IAMClient, root);
  await iam0.send(new CreateUserCommand({ UserName: "deployer" }));
  await iam0.send(new PutUserPolicyCommand({ UserName: "deployer", PolicyName: "admin", PolicyDocument: JSON.stringify(ADMIN) }));
  const key = (await iam0.send(new CreateAccessKeyCommand({ UserName: "deployer" }))).AccessKey!;
  const deployer = { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
  const deployerArn = `arn:aws:iam::${ACCOUNT_A}:user/deployer`;
  const assumed = (await client(STSClient, root).send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${B}:role/OrganizationAccountAccessRole`, RoleSessionName: "setup" }))).Credentials!;
  const adminB = { accessKeyId: assumed.AccessKeyId!, secretAccessKey: assumed.SecretAccessKey!, sessionToken: assumed.SessionToken };
  const iamA = client(IAMClient, deployer);
  const iamB = client(IAMClient, adminB);
  const put = (iam: IAMClient, RoleName: string, PolicyName: string, policy: PolicyDocument) =>
    iam.send(new PutRolePolicyCommand({ RoleName, PolicyName, PolicyDocument: JSON.stringify(policy) }));

  // The bootstrap stack (B).
  if (!broken.withoutBootstrapRole) {
    await iamB.send(new CreateRoleCommand({ RoleName: config.bootstrapRoleName, MaxSessionDuration: 3600, AssumeRolePolicyDocument: JSON.stringify(bootstrapTrustPolicy(broken.bootstrapTrusts ?? deployerArn)) }));
    await put(iamB, config.bootstrapRoleName, "manage-iss-tracker", bootstrapPermissionsPolicy(B, config.namePrefix, config.bucketName));
  }

  // The trust chain.
  const accessArn = `arn:aws:iam::${B}:role/${names.accessRoleName}`;
  const exec = await iamA.send(new CreateRoleCommand({ RoleName: names.executionRoleName, Path: broken.execPath ?? "/", AssumeRolePolicyDocument: JSON.stringify(lambdaTrustPolicy()) }));
  const execArn = exec.Role!.Arn!;
  if (!broken.withoutAssumePolicy) {
    await put(iamA, names.executionRoleName, "assume-report-access-role", assumeAccessRolePolicy(broken.assumeAnyRole ? "*" : accessArn));
  }
  await put(iamA, names.executionRoleName, "write-own-logs", logWritingPolicy(`arn:aws:logs:${REGION}:${ACCOUNT_A}:log-group:/aws/lambda/${names.functionName}`));
  const principal = broken.trustPrincipal ? broken.trustPrincipal(execArn) : execArn;
  await iamB.send(new CreateRoleCommand({ RoleName: names.accessRoleName, MaxSessionDuration: 3600, AssumeRolePolicyDocument: JSON.stringify(accessTrustPolicy(principal, broken.trustExternalId ?? config.externalId)) }));
  const bucketArn = `arn:aws:s3:::${config.bucketName}`;
  if (!broken.withoutObjectPolicy) {
    await put(iamB, names.accessRoleName, "read-write-report-object", objectAccessPolicy(bucketArn, config.objectKey));
  }

  // The bucket (B): TLS-only policy as deployed outside local mode, plus any extra statement.
  const s3 = client(S3Client, adminB, { forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: config.bucketName }));
  if (broken.withLog !== undefined) {
    await s3.send(new PutObjectCommand({ Bucket: config.bucketName, Key: config.objectKey, Body: broken.withLog }));
  }
  const bucketPolicy = tlsOnlyBucketPolicy(bucketArn);
  const statements = broken.extraBucketStatement ? [...bucketPolicy.Statement, broken.extraBucketStatement(accessArn, bucketArn)] : bucketPolicy.Statement;
  if (!broken.localMode) {
    await s3.send(new PutBucketPolicyCommand({ Bucket: config.bucketName, Policy: JSON.stringify({ ...bucketPolicy, Statement: statements }) }));
  }

  // The function (A), with the environment the stack gives it.
  if (!broken.withoutFunction) {
    await client(LambdaClient, deployer).send(new CreateFunctionCommand({
      FunctionName: names.functionName,
      Role: execArn,
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      Handler: "index.handler",
      Code: { ZipFile: zipOf("index.js", "exports.handler = async () => ({});\n") },
      Environment: {
        Variables: {
          ACCESS_ROLE_ARN: accessArn,
          EXTERNAL_ID: config.externalId,
          BUCKET_NAME: config.bucketName,
          BUCKET_REGION: config.regionB,
          OBJECT_KEY: config.objectKey,
          ISS_SOURCES: config.issSources.join(","),
          ...broken.environment,
        },
      },
    }));
  }
  return { deployer, deployerArn, adminB, execArn, accessArn };
}
