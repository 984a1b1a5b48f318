/**
 * The one request -> IAM action table (scripts/emulator/aws-actions.ts): the action names AWS
 * documents for the calls hashicorp/aws makes, the resource each is checked on, and unknown
 * shapes reported as unknown (the IAM gate then fails closed).
 */
import { awsCallOf, KNOWN_IAM_OPERATIONS, knownS3Rows, type AwsCall } from "../../../scripts/emulator/aws-actions";
import { evaluate } from "../../../scripts/shared/iam";

const B = "222222222222";
const s3 = (method: string, url: string, headers: Record<string, string> = {}) => awsCallOf({ method, url, headers, body: Buffer.alloc(0), service: "s3" }, B);
const query = (service: "iam" | "sts", params: Record<string, string>) =>
  awsCallOf({ method: "POST", url: "/", headers: {}, body: Buffer.from(new URLSearchParams(params).toString()), service }, B);
const known = (call: AwsCall | { unknown: string }): AwsCall => {
  if ("unknown" in call) throw new Error(`unknown: ${call.unknown}`);
  return call;
};

describe("S3 requests", () => {
  it.each([
    ["HEAD", "/bkt", "HeadBucket", ["s3:ListBucket"]],
    ["PUT", "/bkt", "CreateBucket", ["s3:CreateBucket"]],
    ["DELETE", "/bkt", "DeleteBucket", ["s3:DeleteBucket"]],
    ["GET", "/bkt?list-type=2&prefix=a&max-keys=1", "ListObjectsV2", ["s3:ListBucket"]],
    ["GET", "/bkt?versions", "ListObjectVersions", ["s3:ListBucketVersions"]],
    ["GET", "/bkt?encryption", "GetBucketEncryption", ["s3:GetEncryptionConfiguration"]],
    ["DELETE", "/bkt?encryption", "DeleteBucketEncryption", ["s3:PutEncryptionConfiguration"]],
    ["DELETE", "/bkt?lifecycle", "DeleteBucketLifecycle", ["s3:PutLifecycleConfiguration"]],
    ["GET", "/bkt?lifecycle", "GetBucketLifecycleConfiguration", ["s3:GetLifecycleConfiguration"]],
    ["DELETE", "/bkt?publicAccessBlock", "DeletePublicAccessBlock", ["s3:PutBucketPublicAccessBlock"]],
    ["DELETE", "/bkt?ownershipControls", "DeleteBucketOwnershipControls", ["s3:PutBucketOwnershipControls"]],
    ["DELETE", "/bkt?tagging", "DeleteBucketTagging", ["s3:PutBucketTagging"]],
    ["GET", "/bkt?object-lock", "GetObjectLockConfiguration", ["s3:GetBucketObjectLockConfiguration"]],
    ["GET", "/bkt?accelerate", "GetBucketAccelerateConfiguration", ["s3:GetAccelerateConfiguration"]],
    ["GET", "/bkt?replication", "GetBucketReplication", ["s3:GetReplicationConfiguration"]],
    ["GET", "/bkt?cors", "GetBucketCors", ["s3:GetBucketCORS"]],
    ["PUT", "/bkt?policy", "PutBucketPolicy", ["s3:PutBucketPolicy"]],
    ["GET", "/bkt/log.txt?x-id=GetObject", "GetObject", ["s3:GetObject"]],
    ["GET", "/bkt/log.txt?versionId=v1", "GetObject", ["s3:GetObjectVersion"]],
    ["DELETE", "/bkt/logs/log.txt?versionId=v1", "DeleteObject", ["s3:DeleteObjectVersion"]],
  ])("%s %s is %s, authorized as %j", (method, url, operation, actions) => {
    expect(known(s3(method, url))).toMatchObject({ service: "s3", operation, actions });
  });

  it("checks bucket calls on the bucket's ARN and object calls on the object's, in the given partition", () => {
    expect(known(s3("GET", "/bkt?versioning")).resource).toBe("arn:aws:s3:::bkt");
    expect(known(s3("PUT", "/bkt/logs/a%20b.txt")).resource).toBe("arn:aws:s3:::bkt/logs/a b.txt");
    expect(known(awsCallOf({ method: "HEAD", url: "/bkt", headers: {}, body: Buffer.alloc(0), service: "s3" }, B, "aws-cn")).resource).toBe("arn:aws-cn:s3:::bkt");
  });

  it("authorizes CreateBucket with an ACL other than private, object ownership or object lock as those settings too", () => {
    expect(known(s3("PUT", "/bkt", { "x-amz-acl": "private" })).actions).toEqual(["s3:CreateBucket"]);
    expect(known(s3("PUT", "/bkt", { "x-amz-acl": "public-read" })).actions).toEqual(["s3:CreateBucket", "s3:PutBucketAcl"]);
    expect(known(s3("PUT", "/bkt", { "x-amz-grant-read": "id=x" })).actions).toEqual(["s3:CreateBucket", "s3:PutBucketAcl"]);
    expect(known(s3("PUT", "/bkt", { "x-amz-object-ownership": "BucketOwnerEnforced" })).actions).toEqual(["s3:CreateBucket", "s3:PutBucketOwnershipControls"]);
    expect(known(s3("PUT", "/bkt", { "x-amz-bucket-object-lock-enabled": "true" })).actions)
      .toEqual(["s3:CreateBucket", "s3:PutBucketObjectLockConfiguration", "s3:PutBucketVersioning"]);
  });

  it("reports shapes it does not know instead of guessing", () => {
    expect(s3("GET", "/bkt?analytics")).toEqual({ unknown: "GET /bkt?analytics (service s3)" });
    expect(s3("GET", "/bkt?versioning&policy")).toHaveProperty("unknown");
    expect(s3("PUT", "/bkt/key?tagging")).toHaveProperty("unknown");
    expect(s3("POST", "/bkt?delete")).toHaveProperty("unknown");
    expect(s3("GET", "/")).toHaveProperty("unknown");
  });
});

describe("IAM and STS requests", () => {
  it("maps IAM operations to the action of the same name, on the role or policy the request names", () => {
    expect(known(query("iam", { Action: "GetRole", RoleName: "r" }))).toMatchObject({ actions: ["iam:GetRole"], resource: "arn:aws:iam::222222222222:role/r" });
    expect(known(query("iam", { Action: "CreateRole", RoleName: "r", Path: "/svc/" })).resource).toBe("arn:aws:iam::222222222222:role/svc/r");
    expect(known(query("iam", { Action: "CreatePolicyVersion", PolicyArn: "arn:aws:iam::222222222222:policy/p" })).resource).toBe("arn:aws:iam::222222222222:policy/p");
    expect(known(query("iam", { Action: "CreatePolicy", PolicyName: "p" })).resource).toBe("arn:aws:iam::222222222222:policy/p");
  });

  it("authorizes tag-on-create as the tagging action too, and keeps the request's parameters for condition keys", () => {
    const call = known(query("iam", { Action: "CreateRole", RoleName: "r", PermissionsBoundary: "arn:aws:iam::222222222222:policy/b", "Tags.member.1.Key": "Project" }));
    expect(call.actions).toEqual(["iam:CreateRole", "iam:TagRole"]);
    expect(call.params.PermissionsBoundary).toBe("arn:aws:iam::222222222222:policy/b");
    expect(known(query("iam", { Action: "CreateRole", RoleName: "r" })).actions).toEqual(["iam:CreateRole"]);
  });

  it("knows that sts:GetCallerIdentity needs no permission, and nothing else of STS", () => {
    expect(known(query("sts", { Action: "GetCallerIdentity" }))).toMatchObject({ actions: ["sts:GetCallerIdentity"], needsNoPermission: true });
    expect(query("sts", { Action: "AssumeRole", RoleArn: "arn:aws:iam::1:role/x" })).toHaveProperty("unknown");
    expect(query("iam", { Action: "CreateAccessKey", UserName: "u" })).toHaveProperty("unknown");
    expect(query("iam", { Action: "PutRolePolicy" })).toHaveProperty("unknown");
  });
});

describe("the table against the Service Authorization Reference", () => {
  const judge = async (call: AwsCall) => {
    for (const action of call.actions) {
      // The evaluator rejects an action the SAR does not list, or a resource of the wrong type for it.
      const e = await evaluate({ principal: "arn:aws:iam::222222222222:role/x", identityPolicies: [], action, resource: call.resource, resourceAccount: B });
      expect([call.operation, action, e.decision]).toEqual([call.operation, action, "ImplicitlyDenied"]);
    }
  };

  it("names, for every S3 row, actions IAM knows on the resource type it builds", async () => {
    for (const row of knownS3Rows()) {
      const url = row.subresource === "(object)" ? "/bkt/key" : `/bkt${row.subresource ? `?${row.subresource}` : ""}`;
      const call = known(s3(row.method, url, { "x-amz-acl": "public-read", "x-amz-object-ownership": "BucketOwnerEnforced", "x-amz-bucket-object-lock-enabled": "true" }));
      await judge(call);
    }
    await judge(known(s3("GET", "/bkt/key?versionId=1")));
    await judge(known(s3("DELETE", "/bkt/key?versionId=1")));
  });

  it("names, for every IAM operation, the action IAM knows on the resource type it builds", async () => {
    for (const operation of KNOWN_IAM_OPERATIONS) {
      const call = known(query("iam", { Action: operation, RoleName: "r", PolicyArn: "arn:aws:iam::222222222222:policy/p", PolicyName: "p", UserName: "u", "Tags.member.1.Key": "k" }));
      await judge(call);
    }
  });

  it("would be caught naming a made-up action (moto's s3:HeadBucket)", async () => {
    await expect(evaluate({ principal: "arn:aws:iam::222222222222:role/x", identityPolicies: [], action: "s3:HeadBucket", resource: "arn:aws:s3:::b", resourceAccount: B }))
      .rejects.toThrow(/invalid\.action/);
  });
});
