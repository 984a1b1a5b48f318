/**
 * The emulator's IAM gate on a real moto server behind the real gateway, driven by the AWS SDK:
 * it learns a role's session from the AssumeRole answer, enforces that role's live policies with
 * the real action names (here the bootstrap role's real policy), answers AccessDenied as S3 and
 * IAM do, fails closed on a request shape it cannot map, records every call, and leaves every
 * other caller alone.
 */
import {
  CreatePolicyCommand, CreateRoleCommand, DeleteRolePermissionsBoundaryCommand, DeleteRolePolicyCommand, GetRolePolicyCommand, IAMClient,
  PutRolePermissionsBoundaryCommand, PutRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { CreateBucketCommand, GetBucketAclCommand, GetBucketAnalyticsConfigurationCommand, GetObjectCommand, HeadBucketCommand, PutBucketAclCommand, S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { bootstrapPermissionsPolicy, bootstrapTrustPolicy } from "../../../stacks/bootstrap-stack";
import { accessBoundaryPolicy } from "../../../stacks/constructs/trust-chain";
import { loadConfig } from "../../../stacks/config";
import { derivedArns, resourceNames } from "../../../stacks/names";
import { startGateway, type Gateway } from "../../../scripts/emulator/gateway";
import { iamGate, sessionFromAssumeRole, type IamGate } from "../../../scripts/emulator/iam-gate";
import { startMoto, type MotoServer } from "../../../scripts/emulator/moto";
import { assumeRole, isNotFound, parsePolicy, readRole, type Credentials } from "../../../scripts/shared/aws";

jest.setTimeout(60_000);

const ACCOUNT = "123456789012"; // moto's default account: the admin's credentials act here
const config = loadConfig({ env: { ACCOUNT_B_ID: ACCOUNT } });
const arns = derivedArns(config);
const names = resourceNames(config.namePrefix);
const admin: Credentials = { accessKeyId: "admin", secretAccessKey: "admin" };
const region = "us-east-1";

let moto: MotoServer;
let gateway: Gateway;
let gate: IamGate;
let session: Credentials;
const iamVia = (endpoint: string, credentials: Credentials) => new IAMClient({ region, endpoint, credentials });
const s3Via = (endpoint: string, credentials: Credentials) => new S3Client({ region, endpoint, credentials, forcePathStyle: true });

beforeAll(async () => {
  moto = await startMoto();
  const iam = iamVia(moto.endpoint, admin);
  await iam.send(new CreateRoleCommand({ RoleName: config.bootstrapRoleName, AssumeRolePolicyDocument: JSON.stringify(bootstrapTrustPolicy(`arn:aws:iam::${ACCOUNT}:root`)) }));
  await iam.send(new PutRolePolicyCommand({ RoleName: config.bootstrapRoleName, PolicyName: "manage-iss-tracker", PolicyDocument: JSON.stringify(bootstrapPermissionsPolicy(arns)) }));
  await iam.send(new CreatePolicyCommand({ PolicyName: names.accessBoundaryPolicyName, PolicyDocument: JSON.stringify(accessBoundaryPolicy(arns.objectArn)) }));
  gate = iamGate({
    roleArns: [arns.bootstrapRoleArn],
    readRole: async (roleArn) => ({ policies: (await readRole(iam, roleArn.split("/").pop()!)).policies }),
    boundaryOf: async (roleArn) => {
      try {
        return (await readRole(iam, roleArn.split("/").pop()!)).role.PermissionsBoundary?.PermissionsBoundaryArn;
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
  });
  gateway = await startGateway(moto.endpoint, [gate.gate]);
  session = await assumeRole(new STSClient({ region, endpoint: gateway.endpoint, credentials: admin }), arns.bootstrapRoleArn, "iss-tracker-terraform");
});

afterAll(async () => {
  await gateway?.stop();
  await moto?.stop();
});

const denial = async (promise: Promise<unknown>) => {
  const error = await promise.then(() => undefined, (e: { name?: string; message?: string; $metadata?: { httpStatusCode?: number } }) => e);
  if (!error) throw new Error("expected AccessDenied, the call succeeded");
  return { name: error.name, status: error.$metadata?.httpStatusCode, message: error.message ?? "" };
};

describe("the emulator's IAM gate (moto behind the gateway)", () => {
  it("learns the role's session from the AssumeRole answer that passes through it", () => {
    expect([...gate.sessions.entries()]).toEqual([[session.accessKeyId, { roleArn: arns.bootstrapRoleArn, session: `arn:aws:sts::${ACCOUNT}:assumed-role/terraform/iss-tracker-terraform` }]]);
  });

  it("forwards what the role's policy allows (CreateBucket, CreateRole with the boundary and tags) and records it with its real actions", async () => {
    const before = gate.calls.length;
    await s3Via(gateway.endpoint, session).send(new CreateBucketCommand({ Bucket: config.bucketName }));
    await iamVia(gateway.endpoint, session).send(new CreateRoleCommand({
      RoleName: names.accessRoleName, PermissionsBoundary: arns.accessBoundaryArn, Tags: [{ Key: "Project", Value: "iss-tracker" }],
      AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [] }),
    }));
    expect(gate.calls.slice(before).map((c) => [c.operation, c.actions, c.resource, c.allowed, c.status])).toEqual([
      ["CreateBucket", ["s3:CreateBucket"], arns.bucketArn, true, 200],
      ["CreateRole", ["iam:CreateRole", "iam:TagRole"], arns.accessRoleArn, true, 200],
    ]);
  });

  it("answers S3's AccessDenied, naming the real action, for a grant the role lacks (PutBucketAcl) and for another bucket (HeadBucket as s3:ListBucket)", async () => {
    const acl = await denial(s3Via(gateway.endpoint, session).send(new PutBucketAclCommand({ Bucket: config.bucketName, ACL: "public-read" })));
    expect(acl).toMatchObject({ name: "AccessDenied", status: 403 });
    expect(acl.message).toBe(`User: arn:aws:sts::${ACCOUNT}:assumed-role/terraform/iss-tracker-terraform is not authorized to perform: s3:PutBucketAcl on resource: ${arns.bucketArn} because no identity-based policy allows the s3:PutBucketAcl action (emulator IAM gate)`);
    const head = await denial(s3Via(gateway.endpoint, session).send(new HeadBucketCommand({ Bucket: "someone-elses-bucket" })));
    expect(head.status).toBe(403);
    expect(gate.calls.at(-1)).toMatchObject({ operation: "HeadBucket", actions: ["s3:ListBucket"], resource: "arn:aws:s3:::someone-elses-bucket", allowed: false, status: 403 });
  });

  it("evaluates the condition keys the request carries: CreateRole without the boundary is refused, and an explicit deny says so", async () => {
    const noBoundary = await denial(iamVia(gateway.endpoint, session).send(new CreateRoleCommand({ RoleName: names.accessRoleName, AssumeRolePolicyDocument: "{}" })));
    expect(noBoundary).toMatchObject({ name: "AccessDenied", status: 403 });
    expect(noBoundary.message).toMatch(/not authorized to perform: iam:CreateRole on resource: arn:aws:iam::123456789012:role\/iss-tracker-report-writer because no identity-based policy allows/);
    const remove = await denial(iamVia(gateway.endpoint, session).send(new DeleteRolePermissionsBoundaryCommand({ RoleName: names.accessRoleName })));
    expect(remove.message).toMatch(/iam:DeleteRolePermissionsBoundary on resource: .* with an explicit deny in an identity-based policy/);
    const log = await denial(s3Via(gateway.endpoint, session).send(new GetObjectCommand({ Bucket: config.bucketName, Key: config.objectKey })));
    expect(log).toMatchObject({ name: "AccessDenied", status: 403 });
    expect(log.message).toMatch(/s3:GetObject on resource: arn:aws:s3:::iss-tracker-reports-123456789012-us-east-1\/iss_position\.txt with an explicit deny/);
  });

  it("lets the role re-attach exactly its boundary to an access role that lost it, and nothing else in its place", async () => {
    await iamVia(moto.endpoint, admin).send(new DeleteRolePermissionsBoundaryCommand({ RoleName: names.accessRoleName }));
    const other = await denial(iamVia(gateway.endpoint, session).send(new PutRolePermissionsBoundaryCommand({ RoleName: names.accessRoleName, PermissionsBoundary: "arn:aws:iam::aws:policy/AdministratorAccess" })));
    expect(other.message).toMatch(/iam:PutRolePermissionsBoundary on resource: .* with an explicit deny in an identity-based policy/);
    await iamVia(gateway.endpoint, session).send(new PutRolePermissionsBoundaryCommand({ RoleName: names.accessRoleName, PermissionsBoundary: arns.accessBoundaryArn }));
    expect(gate.calls.at(-1)).toMatchObject({ operation: "PutRolePermissionsBoundary", allowed: true, status: 200 });
    expect((await readRole(iamVia(moto.endpoint, admin), names.accessRoleName)).role.PermissionsBoundary?.PermissionsBoundaryArn).toBe(arns.accessBoundaryArn);
  });

  it("fails closed on a request shape its table cannot map, and says which", async () => {
    const unknown = await denial(s3Via(gateway.endpoint, session).send(new GetBucketAnalyticsConfigurationCommand({ Bucket: config.bucketName, Id: "x" })));
    expect(unknown).toMatchObject({ name: "AccessDenied", status: 403 });
    expect(unknown.message).toMatch(/cannot map to an IAM action: GET \/iss-tracker-reports-123456789012-us-east-1\/\?analytics&id&x-id \(service s3\)\. Add its row to scripts\/emulator\/aws-actions\.ts/);
    expect(gate.calls.at(-1)).toMatchObject({ operation: "(unknown)", allowed: false, status: 403 });
  });

  it("reads the role's policies live: taking a grant away denies the next call", async () => {
    const iam = iamVia(moto.endpoint, admin);
    const saved = await iam.send(new GetRolePolicyCommand({ RoleName: config.bootstrapRoleName, PolicyName: "manage-iss-tracker" }));
    await s3Via(gateway.endpoint, session).send(new HeadBucketCommand({ Bucket: config.bucketName }));
    await iam.send(new DeleteRolePolicyCommand({ RoleName: config.bootstrapRoleName, PolicyName: "manage-iss-tracker" }));
    try {
      expect((await denial(s3Via(gateway.endpoint, session).send(new HeadBucketCommand({ Bucket: config.bucketName })))).status).toBe(403);
    } finally {
      await iam.send(new PutRolePolicyCommand({ RoleName: config.bootstrapRoleName, PolicyName: "manage-iss-tracker", PolicyDocument: JSON.stringify(parsePolicy(saved.PolicyDocument)) }));
    }
    await s3Via(gateway.endpoint, session).send(new HeadBucketCommand({ Bucket: config.bucketName }));
  });

  it("leaves every other caller to moto (the administrator sets the ACL the role may not)", async () => {
    const before = gate.calls.length;
    await s3Via(gateway.endpoint, admin).send(new PutBucketAclCommand({ Bucket: config.bucketName, ACL: "private" }));
    expect((await s3Via(gateway.endpoint, admin).send(new GetBucketAclCommand({ Bucket: config.bucketName }))).Owner).toBeDefined();
    expect(gate.calls.length).toBe(before);
  });

  it("reads the session from an AssumeRole answer, and nothing from an answer without one", () => {
    const xml = "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>s</SecretAccessKey></Credentials>" +
      "<AssumedRoleUser><AssumedRoleId>AROA:x</AssumedRoleId><Arn>arn:aws:sts::1:assumed-role/r/x</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>";
    expect(sessionFromAssumeRole(xml)).toEqual({ accessKeyId: "ASIAEXAMPLE", arn: "arn:aws:sts::1:assumed-role/r/x" });
    expect(sessionFromAssumeRole("<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>")).toBeUndefined();
  });
});
