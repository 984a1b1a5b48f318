import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { policyOf, resources, synthTracker, type Json } from "../../../test-support/synth";

const { synthesized, json } = synthTracker();
const roles = resources(json, "aws_iam_role");
const rolePolicies = resources(json, "aws_iam_role_policy");

function roleNamed(name: string): [string, Json] {
  const entry = Object.entries(roles).find(([, r]) => r.name === name);
  if (!entry) throw new Error(`no role ${name}`);
  return entry;
}
function inlinePolicy(name: string): Json {
  const found = Object.values(rolePolicies).find((p) => p.name === name);
  if (!found) throw new Error(`no inline policy ${name}`);
  return found;
}

const [execId, exec] = roleNamed("iss-tracker-function-exec");
const [accessId, access] = roleNamed("iss-tracker-report-writer");

describe("execution role (account A)", () => {
  it("lives in account A and is assumable by the Lambda service only", () => {
    expect(exec.provider).toBe("aws");
    expect(policyOf(exec, "assume_role_policy")).toEqual({
      Version: "2012-10-17",
      Statement: [{
        Sid: "LambdaServiceAssumesRole",
        Effect: "Allow",
        Principal: { Service: "lambda.amazonaws.com" },
        Action: "sts:AssumeRole",
      }],
    });
  });

  it("may assume exactly the access role in B, nothing else", () => {
    const assume = inlinePolicy("assume-report-access-role");
    expect(assume.provider).toBe("aws");
    expect(assume.role).toBe(`\${aws_iam_role.${execId}.name}`);
    expect(policyOf(assume)).toEqual({
      Version: "2012-10-17",
      Statement: [{ Sid: "AssumeReportAccessRole", Effect: "Allow", Action: "sts:AssumeRole", Resource: `\${aws_iam_role.${accessId}.arn}` }],
    });
  });

  it("may write only to its own log group", () => {
    const logs = inlinePolicy("write-own-logs");
    expect(logs.role).toBe(`\${aws_iam_role.${execId}.name}`);
    const logGroupId = Object.keys(resources(json, "aws_cloudwatch_log_group"))[0];
    expect(policyOf(logs).Statement).toEqual([{
      Sid: "WriteOwnLogGroup",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: `\${aws_cloudwatch_log_group.${logGroupId}.arn}:*`,
    }]);
  });

  it("has no managed policies attached", () => {
    expect(resources(json, "aws_iam_role_policy_attachment")).toEqual({});
    expect(exec.managed_policy_arns).toBeUndefined();
  });
});

describe("access role (account B)", () => {
  it("lives in account B, trusts exactly A's execution role with the external id, one-hour sessions", () => {
    expect(access.provider).toBe("aws.account_b");
    expect(access.max_session_duration).toBe(3600);
    const externalId = json.output.external_id.value;
    expect(externalId).toMatch(/^iss-tracker-[0-9a-f]{32}$/);
    expect(policyOf(access, "assume_role_policy")).toEqual({
      Version: "2012-10-17",
      Statement: [{
        Sid: "TrackerExecutionRoleAssumesRole",
        Effect: "Allow",
        Principal: { AWS: `\${aws_iam_role.${execId}.arn}` },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "sts:ExternalId": externalId } },
      }],
    });
  });

  it("may read and write only the one object: no listing (the function creates on 403), no delete", () => {
    const grant = inlinePolicy("read-write-report-object");
    expect(grant.provider).toBe("aws.account_b");
    expect(grant.role).toBe(`\${aws_iam_role.${accessId}.name}`);
    const bucketId = Object.keys(resources(json, "aws_s3_bucket"))[0];
    expect(policyOf(grant).Statement).toEqual([
      {
        Sid: "ReadWriteReportObject",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
        Resource: `\${aws_s3_bucket.${bucketId}.arn}/iss_position.txt`,
      },
    ]);
    expect(JSON.stringify(policyOf(grant))).not.toMatch(/Delete|List|\*"/);
  });

  it("carries the permissions boundary the bootstrap stack creates, at the ARN derived from the configuration", () => {
    expect(access.permissions_boundary).toBe("arn:aws:iam::222222222222:policy/iss-tracker-report-writer-boundary");
    expect(exec.permissions_boundary).toBeUndefined();
    const custom = synthTracker({ NAME_PREFIX: "iss-prod", ACCOUNT_B_ID: "555555555555", REGION_A: "us-gov-west-1", REGION_B: "us-gov-east-1" }).json;
    const role = Object.values(resources(custom, "aws_iam_role")).find((r: Json) => r.name === "iss-prod-report-writer");
    expect(role.permissions_boundary).toBe("arn:aws-us-gov:iam::555555555555:policy/iss-prod-report-writer-boundary");
  });

  it("follows a configured object key and external id", () => {
    const custom = synthTracker({ OBJECT_KEY: "logs/iss.txt", EXTERNAL_ID: "my-external-id" }).json;
    const grant = Object.values(resources(custom, "aws_iam_role_policy")).find((p: Json) => p.name === "read-write-report-object");
    expect(policyOf(grant).Statement[0].Resource).toMatch(/\/logs\/iss\.txt$/);
    const role = Object.values(resources(custom, "aws_iam_role")).find((r: Json) => r.name === "iss-tracker-report-writer");
    expect(policyOf(role, "assume_role_policy").Statement[0].Condition).toEqual({ StringEquals: { "sts:ExternalId": "my-external-id" } });
  });
});

describe("the chain as a whole", () => {
  it("has exactly two roles and three inline policies of its own", () => {
    expect(synthesized).toHaveResourceWithProperties(IamRole, { name: "iss-tracker-function-exec" });
    expect(synthesized).toHaveResourceWithProperties(IamRolePolicy, { name: "read-write-report-object" });
    expect(Object.keys(roles)).toHaveLength(2);
    // (Other constructs grant the execution role what they own, e.g. the failure destination.)
    expect(Object.entries(rolePolicies).filter(([id]) => id.startsWith("trust-chain_")).map(([, p]: [string, Json]) => p.name).sort()).toEqual(
      ["assume-report-access-role", "read-write-report-object", "write-own-logs"],
    );
  });
});
