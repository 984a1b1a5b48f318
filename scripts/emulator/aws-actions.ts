/**
 * The one table from AWS requests (as they arrive at the emulator gateway) to the IAM actions AWS
 * authorizes them as, and the resource each is checked against.
 *
 * Sources: for S3, the S3 User Guide's "Required permissions for Amazon S3 API operations"
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html) and the
 * Service Authorization Reference (SAR) "Actions, resources, and condition keys for Amazon S3"
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html); for IAM
 * and STS, whose actions carry the operation's name, the SAR pages for IAM and STS (resource
 * types, and which actions carry iam:PermissionsBoundary). Every action name here is checked
 * by the table's tests through the shared evaluator, which rejects an action the SAR does not list.
 * Where the name of the action differs from the operation's, the row says so; e.g. S3's
 * HeadBucket is authorized as s3:ListBucket and every DeleteBucketX of a configuration as the
 * matching PutX action. moto's own IAM enforcement gets several of these wrong (ENVIRONMENT.md),
 * which is why the emulator's IAM gate (./iam-gate.ts) uses this table instead.
 *
 * S3 requests are read by the one S3 request parser (./s3-request.ts), as the S3 gates read them.
 *
 * A request whose shape is not in the table is `unknown`: the gate refuses it (fails closed) and
 * says which shape it was, so a new provider call shows up as a clear denial, never as a silent
 * allow.
 */
import type { GatewayRequest } from "./gateway";
import { header, parseS3Target, subresourcesOf } from "./s3-request";

/** One AWS call, as IAM sees it. */
export interface AwsCall {
  readonly service: "s3" | "iam" | "sts";
  /** The API operation, e.g. GetBucketEncryption. */
  readonly operation: string;
  /** Every IAM action the call needs, e.g. ["s3:GetEncryptionConfiguration"]. */
  readonly actions: readonly string[];
  /** The ARN the actions are checked against ("*" for actions without a resource type). */
  readonly resource: string;
  /** Request parameters that feed condition keys (e.g. PermissionsBoundary of CreateRole). */
  readonly params: Readonly<Record<string, string>>;
  /** True for calls AWS authorizes without any policy (sts:GetCallerIdentity). */
  readonly needsNoPermission?: boolean;
}

export interface UnknownCall {
  readonly unknown: string;
}

/** S3 bucket sub-resources: query key -> operation and action per HTTP method. */
type MethodRow = readonly [operation: string, action: string];
const S3_BUCKET: Readonly<Record<string, Partial<Record<"GET" | "PUT" | "DELETE" | "HEAD" | "POST", MethodRow>>>> = {
  "": {
    HEAD: ["HeadBucket", "s3:ListBucket"],
    PUT: ["CreateBucket", "s3:CreateBucket"],
    DELETE: ["DeleteBucket", "s3:DeleteBucket"],
    GET: ["ListObjects", "s3:ListBucket"],
  },
  versions: { GET: ["ListObjectVersions", "s3:ListBucketVersions"] },
  uploads: { GET: ["ListMultipartUploads", "s3:ListBucketMultipartUploads"] },
  location: { GET: ["GetBucketLocation", "s3:GetBucketLocation"] },
  versioning: { GET: ["GetBucketVersioning", "s3:GetBucketVersioning"], PUT: ["PutBucketVersioning", "s3:PutBucketVersioning"] },
  policy: {
    GET: ["GetBucketPolicy", "s3:GetBucketPolicy"],
    PUT: ["PutBucketPolicy", "s3:PutBucketPolicy"],
    DELETE: ["DeleteBucketPolicy", "s3:DeleteBucketPolicy"],
  },
  policyStatus: { GET: ["GetBucketPolicyStatus", "s3:GetBucketPolicyStatus"] },
  tagging: {
    GET: ["GetBucketTagging", "s3:GetBucketTagging"],
    PUT: ["PutBucketTagging", "s3:PutBucketTagging"],
    DELETE: ["DeleteBucketTagging", "s3:PutBucketTagging"],
  },
  lifecycle: {
    GET: ["GetBucketLifecycleConfiguration", "s3:GetLifecycleConfiguration"],
    PUT: ["PutBucketLifecycleConfiguration", "s3:PutLifecycleConfiguration"],
    DELETE: ["DeleteBucketLifecycle", "s3:PutLifecycleConfiguration"],
  },
  encryption: {
    GET: ["GetBucketEncryption", "s3:GetEncryptionConfiguration"],
    PUT: ["PutBucketEncryption", "s3:PutEncryptionConfiguration"],
    DELETE: ["DeleteBucketEncryption", "s3:PutEncryptionConfiguration"],
  },
  publicAccessBlock: {
    GET: ["GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"],
    PUT: ["PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock"],
    DELETE: ["DeletePublicAccessBlock", "s3:PutBucketPublicAccessBlock"],
  },
  ownershipControls: {
    GET: ["GetBucketOwnershipControls", "s3:GetBucketOwnershipControls"],
    PUT: ["PutBucketOwnershipControls", "s3:PutBucketOwnershipControls"],
    DELETE: ["DeleteBucketOwnershipControls", "s3:PutBucketOwnershipControls"],
  },
  acl: { GET: ["GetBucketAcl", "s3:GetBucketAcl"], PUT: ["PutBucketAcl", "s3:PutBucketAcl"] },
  cors: {
    GET: ["GetBucketCors", "s3:GetBucketCORS"],
    PUT: ["PutBucketCors", "s3:PutBucketCORS"],
    DELETE: ["DeleteBucketCors", "s3:PutBucketCORS"],
  },
  website: {
    GET: ["GetBucketWebsite", "s3:GetBucketWebsite"],
    PUT: ["PutBucketWebsite", "s3:PutBucketWebsite"],
    DELETE: ["DeleteBucketWebsite", "s3:DeleteBucketWebsite"],
  },
  accelerate: { GET: ["GetBucketAccelerateConfiguration", "s3:GetAccelerateConfiguration"], PUT: ["PutBucketAccelerateConfiguration", "s3:PutAccelerateConfiguration"] },
  requestPayment: { GET: ["GetBucketRequestPayment", "s3:GetBucketRequestPayment"], PUT: ["PutBucketRequestPayment", "s3:PutBucketRequestPayment"] },
  logging: { GET: ["GetBucketLogging", "s3:GetBucketLogging"], PUT: ["PutBucketLogging", "s3:PutBucketLogging"] },
  replication: {
    GET: ["GetBucketReplication", "s3:GetReplicationConfiguration"],
    PUT: ["PutBucketReplication", "s3:PutReplicationConfiguration"],
    DELETE: ["DeleteBucketReplication", "s3:PutReplicationConfiguration"],
  },
  "object-lock": { GET: ["GetObjectLockConfiguration", "s3:GetBucketObjectLockConfiguration"], PUT: ["PutObjectLockConfiguration", "s3:PutBucketObjectLockConfiguration"] },
  notification: { GET: ["GetBucketNotificationConfiguration", "s3:GetBucketNotification"], PUT: ["PutBucketNotificationConfiguration", "s3:PutBucketNotification"] },
};

/** Object requests without a sub-resource (the tracker's own calls are the access role's, not Terraform's). */
const S3_OBJECT: Readonly<Record<string, MethodRow>> = {
  GET: ["GetObject", "s3:GetObject"],
  HEAD: ["HeadObject", "s3:GetObject"],
  PUT: ["PutObject", "s3:PutObject"],
  DELETE: ["DeleteObject", "s3:DeleteObject"],
};

/**
 * IAM operations map to the action of the same name (iam:<Operation>); this table says which
 * resource each is checked against. Operations not listed are unknown.
 */
const IAM_RESOURCE: Readonly<Record<string, "role" | "policy" | "new-policy" | "user" | "*">> = {
  CreateRole: "role", GetRole: "role", DeleteRole: "role", UpdateRole: "role", UpdateRoleDescription: "role",
  UpdateAssumeRolePolicy: "role", TagRole: "role", UntagRole: "role", ListRoleTags: "role",
  PutRolePolicy: "role", GetRolePolicy: "role", DeleteRolePolicy: "role", ListRolePolicies: "role",
  AttachRolePolicy: "role", DetachRolePolicy: "role", ListAttachedRolePolicies: "role", ListInstanceProfilesForRole: "role",
  PutRolePermissionsBoundary: "role", DeleteRolePermissionsBoundary: "role",
  CreatePolicy: "new-policy", GetPolicy: "policy", GetPolicyVersion: "policy", ListPolicyVersions: "policy", CreatePolicyVersion: "policy",
  DeletePolicyVersion: "policy", SetDefaultPolicyVersion: "policy", DeletePolicy: "policy", TagPolicy: "policy", UntagPolicy: "policy",
  ListPolicyTags: "policy",
  GetUser: "user",
  ListRoles: "*", ListPolicies: "*",
};

/** Maps one request to its IAM call, in `accountId` (the signer's account) and `partition`. */
export function awsCallOf(req: Pick<GatewayRequest, "method" | "url" | "body" | "service" | "headers">, accountId: string, partition = "aws"): AwsCall | UnknownCall {
  const shape = `${req.method} ${req.url.split("?")[0]}${req.url.includes("?") ? `?${[...new URL(req.url, "http://h").searchParams.keys()].join("&")}` : ""} (service ${req.service ?? "unsigned"})`;
  if (req.service === "s3") return s3Call(req, partition) ?? { unknown: shape };
  if (req.service === "iam" || req.service === "sts") {
    if (req.method !== "POST") return { unknown: shape };
    const params = Object.fromEntries(new URLSearchParams(req.body.toString("utf8")));
    const operation = params.Action ?? "";
    if (req.service === "sts") {
      if (operation === "GetCallerIdentity") {
        return { service: "sts", operation, actions: ["sts:GetCallerIdentity"], resource: "*", params, needsNoPermission: true };
      }
      return { unknown: `STS ${operation || "(no Action)"} ${shape}` };
    }
    const kind = IAM_RESOURCE[operation];
    if (kind === undefined) return { unknown: `IAM ${operation || "(no Action)"} ${shape}` };
    const path = (params.Path ?? "/").replace(/^\/?/, "/").replace(/\/?$/, "/");
    let resource: string | undefined;
    if (kind === "role" && params.RoleName) resource = `arn:${partition}:iam::${accountId}:role${path}${params.RoleName}`;
    else if (kind === "policy" && params.PolicyArn) resource = params.PolicyArn;
    else if (kind === "new-policy" && params.PolicyName) resource = `arn:${partition}:iam::${accountId}:policy${path}${params.PolicyName}`;
    else if (kind === "user") resource = `arn:${partition}:iam::${accountId}:user/${params.UserName ?? "(the caller)"}`;
    else if (kind === "*") resource = "*";
    if (resource === undefined) return { unknown: `IAM ${operation} without its resource parameter ${shape}` };
    const actions = [`iam:${operation}`];
    // Tag-on-create also authorizes as the tagging action (IAM User Guide, "Permissions required to tag IAM identities").
    if (params["Tags.member.1.Key"] !== undefined && operation === "CreateRole") actions.push("iam:TagRole");
    if (params["Tags.member.1.Key"] !== undefined && operation === "CreatePolicy") actions.push("iam:TagPolicy");
    return { service: "iam", operation, actions, resource, params };
  }
  return { unknown: shape };
}

function s3Call(req: Pick<GatewayRequest, "method" | "url" | "headers">, partition: string): AwsCall | undefined {
  const target = parseS3Target(req.url, header(req, "host"));
  if (!target) return undefined;
  const { bucket, key, query } = target;
  const subresources = subresourcesOf(target);
  const method = req.method as "GET" | "PUT" | "DELETE" | "HEAD" | "POST";
  // The headers that change what a call authorizes as (CreateBucket's ACL, ownership, lock).
  const params: Record<string, string> = Object.fromEntries(Object.entries(req.headers)
    .filter(([name]) => /^x-amz-(acl|grant-|object-ownership|bucket-object-lock-enabled)/.test(name))
    .map(([name, value]) => [name, String(value)]));
  if (!key) {
    if (subresources.length > 1) return undefined;
    const row = S3_BUCKET[subresources[0] ?? ""]?.[method];
    if (!row) return undefined;
    const actions = [row[1]];
    // CreateBucket with these headers also authorizes as the setting it applies (SAR, CreateBucket).
    if (row[0] === "CreateBucket") {
      if (req.headers["x-amz-object-ownership"]) actions.push("s3:PutBucketOwnershipControls");
      if (req.headers["x-amz-bucket-object-lock-enabled"] === "true") actions.push("s3:PutBucketObjectLockConfiguration", "s3:PutBucketVersioning");
      // An ACL other than private needs s3:PutBucketAcl; x-amz-acl: private (which hashicorp/aws
      // 5.100.0 sends) or none needs s3:CreateBucket only (CreateBucket API reference, Permissions).
      const acl = req.headers["x-amz-acl"];
      if ((acl !== undefined && acl !== "private") || Object.keys(req.headers).some((h) => h.startsWith("x-amz-grant-"))) actions.push("s3:PutBucketAcl");
    }
    if (row[0] === "ListObjects" && query.get("list-type") === "2") return { service: "s3", operation: "ListObjectsV2", actions, resource: `arn:${partition}:s3:::${bucket}`, params };
    return { service: "s3", operation: row[0], actions, resource: `arn:${partition}:s3:::${bucket}`, params };
  }
  if (subresources.length > 0) return undefined;
  const row = S3_OBJECT[method];
  if (!row) return undefined;
  const versioned = query.has("versionId");
  const action = versioned && row[1] === "s3:GetObject" ? "s3:GetObjectVersion" : versioned && row[1] === "s3:DeleteObject" ? "s3:DeleteObjectVersion" : row[1];
  return { service: "s3", operation: row[0], actions: [action], resource: `arn:${partition}:s3:::${bucket}/${key}`, params };
}

/** Every (operation, action) pair the table knows, for the table's own tests. */
export function knownS3Rows(): Array<{ operation: string; method: string; subresource: string; action: string }> {
  const rows: Array<{ operation: string; method: string; subresource: string; action: string }> = [];
  for (const [subresource, methods] of Object.entries(S3_BUCKET)) {
    for (const [method, row] of Object.entries(methods)) rows.push({ operation: row![0], method, subresource, action: row![1] });
  }
  for (const [method, row] of Object.entries(S3_OBJECT)) rows.push({ operation: row[0], method, subresource: "(object)", action: row[1] });
  return rows;
}

/** The IAM operations the table knows. */
export const KNOWN_IAM_OPERATIONS: readonly string[] = Object.keys(IAM_RESOURCE);
