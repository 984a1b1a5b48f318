/**
 * npm run doctor against the moto emulator: a healthy deployment passes every check, and each
 * broken setup is diagnosed by the right check with its fix. The deployed state is built with SDK
 * calls from the same typed policies the stack renders (faster than a Terraform deploy).
 */
import { CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, IAMClient, PutRolePolicyCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { CreateFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from "@aws-sdk/client-s3";
import { deterministicZip } from "../../function/build";
import { bootstrapTrustPolicy } from "../../stacks/bootstrap-stack";
import { loadConfig } from "../../stacks/config";
import { resourceNames } from "../../stacks/iss-tracker-stack";
import { accessTrustPolicy, assumeAccessRolePolicy, lambdaTrustPolicy, objectAccessPolicy } from "../../stacks/constructs/trust-chain";
import { runDoctor, type CheckResult, type Credentials } from "../../scripts/lib/doctor-checks";
import { startMoto, type MotoServer } from "../../scripts/lib/moto";
import { assumeRole } from "../../scripts/lib/rehearsal";

jest.setTimeout(60_000);

const A = "123456789012";
const B = "222222222222";
const config = loadConfig({ env: { ACCOUNT_B_ID: B } });
const names = resourceNames(config.namePrefix);
const bucketArn = `arn:aws:s3:::${config.bucketName}`;
const accessArn = `arn:aws:iam::${B}:role/${names.accessRoleName}`;

interface Breakage {
  execPath?: string;
  trustPrincipal?: (execArn: string) => string;
  trustExternalId?: string;
  withoutAssumePolicy?: boolean;
  environment?: Record<string, string>;
  bucketPolicyDeniesAccessRole?: boolean;
}

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto?.stop();
});

/** A fresh emulator state shaped like a deployment, broken as asked. Returns A's admin credentials. */
async function deploy(broken: Breakage = {}): Promise<Credentials> {
  await moto.reset();
  const region = "us-east-1";
  const endpoint = moto.endpoint;
  const iam0 = new IAMClient({ region, endpoint, credentials: { accessKeyId: "x", secretAccessKey: "y" } });
  await iam0.send(new CreateUserCommand({ UserName: "deployer" }));
  await iam0.send(new PutUserPolicyCommand({ UserName: "deployer", PolicyName: "admin", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }) }));
  const key = (await iam0.send(new CreateAccessKeyCommand({ UserName: "deployer" }))).AccessKey!;
  const adminA = { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
  const adminB = await assumeRole(endpoint, adminA, `arn:aws:iam::${B}:role/OrganizationAccountAccessRole`, "setup");
  const iamA = new IAMClient({ region, endpoint, credentials: adminA });
  const iamB = new IAMClient({ region, endpoint, credentials: adminB });

  await iamB.send(new CreateRoleCommand({ RoleName: "terraform", AssumeRolePolicyDocument: JSON.stringify(bootstrapTrustPolicy(`arn:aws:iam::${A}:user/deployer`)) }));
  const exec = await iamA.send(new CreateRoleCommand({ RoleName: names.executionRoleName, Path: broken.execPath ?? "/", AssumeRolePolicyDocument: JSON.stringify(lambdaTrustPolicy()) }));
  const execArn = exec.Role!.Arn!;
  if (!broken.withoutAssumePolicy) {
    await iamA.send(new PutRolePolicyCommand({ RoleName: names.executionRoleName, PolicyName: "assume-report-access-role", PolicyDocument: JSON.stringify(assumeAccessRolePolicy(accessArn)) }));
  }
  const principal = broken.trustPrincipal ? broken.trustPrincipal(execArn) : execArn;
  await iamB.send(new CreateRoleCommand({ RoleName: names.accessRoleName, AssumeRolePolicyDocument: JSON.stringify(accessTrustPolicy(principal, broken.trustExternalId ?? config.externalId)) }));
  await iamB.send(new PutRolePolicyCommand({ RoleName: names.accessRoleName, PolicyName: "read-write-report-object", PolicyDocument: JSON.stringify(objectAccessPolicy(bucketArn, config.objectKey)) }));
  const s3 = new S3Client({ region, endpoint, forcePathStyle: true, credentials: adminB });
  await s3.send(new CreateBucketCommand({ Bucket: config.bucketName }));
  if (broken.bucketPolicyDeniesAccessRole) {
    await s3.send(new PutBucketPolicyCommand({ Bucket: config.bucketName, Policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Sid: "NoWriter", Effect: "Deny", Principal: { AWS: accessArn }, Action: "s3:*", Resource: `${bucketArn}/*` }] }) }));
  }
  await new LambdaClient({ region, endpoint, credentials: adminA }).send(new CreateFunctionCommand({
    FunctionName: names.functionName,
    Role: execArn,
    Runtime: "nodejs22.x",
    Handler: "index.handler",
    Code: { ZipFile: deterministicZip([{ name: "index.js", data: Buffer.from("exports.handler = async () => ({});") }]) },
    Environment: { Variables: {
      ACCESS_ROLE_ARN: accessArn, EXTERNAL_ID: config.externalId, BUCKET_NAME: config.bucketName, BUCKET_REGION: "us-east-1",
      OBJECT_KEY: config.objectKey, ISS_SOURCES: "http://127.0.0.1:9/iss-now.json", ...broken.environment,
    } },
  }));
  return adminA;
}

async function diagnose(broken?: Breakage): Promise<CheckResult[]> {
  const credentialsA = await deploy(broken);
  return runDoctor({ config, endpoint: moto.endpoint, credentialsA });
}

const failing = (results: CheckResult[]) => results.filter((r) => !r.ok).map((r) => r.id);
const check = (results: CheckResult[], id: string) => {
  const found = results.find((r) => r.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
};

describe("npm run doctor (read-only diagnosis of a deployed chain)", () => {
  it("passes every check on a healthy deployment", async () => {
    const results = await diagnose();
    expect(results.map((r) => r.id)).toEqual([
      "identity-a", "bootstrap-role", "function", "execution-role", "function-environment", "execution-policy",
      "access-trust", "bucket", "access-permissions", "bucket-policy",
    ]);
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });

  it("diagnoses an execution role without sts:AssumeRole on the access role (seed pitfall 1)", async () => {
    const results = await diagnose({ withoutAssumePolicy: true });
    expect(failing(results)).toEqual(["execution-policy"]);
    expect(check(results, "execution-policy").fix).toMatch(/allowing sts:AssumeRole on arn:aws:iam::222222222222:role\/iss-tracker-report-writer/);
  });

  it("diagnoses a trust policy whose external id differs from the function's", async () => {
    const results = await diagnose({ trustExternalId: "something-else" });
    expect(failing(results)).toEqual(["access-trust"]);
    expect(check(results, "access-trust").fix).toMatch(/sts:ExternalId condition must equal the function's EXTERNAL_ID/);
  });

  it("diagnoses a trust principal that misses the execution role's path (seed 000's Invalid principal … /service-role/)", async () => {
    const results = await diagnose({ execPath: "/service-role/", trustPrincipal: () => `arn:aws:iam::${A}:role/${names.executionRoleName}` });
    expect(failing(results)).toEqual(["access-trust"]);
    const trust = check(results, "access-trust");
    expect(trust.fix).toMatch(/must name arn:aws:iam::123456789012:role\/service-role\/iss-tracker-function-exec exactly \(including its path/);
  });

  it("diagnoses a function environment that points at another role and bucket", async () => {
    const results = await diagnose({ environment: { ACCESS_ROLE_ARN: `arn:aws:iam::${B}:role/elsewhere`, BUCKET_NAME: "other-bucket" } });
    expect(failing(results)).toEqual(["function-environment"]);
    expect(check(results, "function-environment").detail).toMatch(/ACCESS_ROLE_ARN=.*elsewhere.*BUCKET_NAME="other-bucket"/);
  });

  it("diagnoses a bucket policy that denies the access role", async () => {
    const results = await diagnose({ bucketPolicyDeniesAccessRole: true });
    expect(failing(results)).toEqual(["bucket-policy"]);
    expect(check(results, "access-permissions").ok).toBe(true);
  });
});
