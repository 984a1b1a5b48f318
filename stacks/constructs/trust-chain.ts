import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { Construct } from "constructs";
import { ROLE_CHAINING_MAX_SECONDS } from "../../function/contract";
import { policy, render, type PolicyDocument } from "../policy";


/** One account B at the end of the chain. */
export interface TrustTarget {
  /** Provider of the target's account B (the bucket's account). */
  readonly provider: AwsProvider;
  /** Name of the access role in B. */
  readonly accessRoleName: string;
  /** Value the access role requires as sts:ExternalId. */
  readonly externalId: string;
  /**
   * ARN of the permissions boundary the access role carries (the bootstrap stack creates it; the
   * bootstrap role may not create or change the access role without it). Default: none.
   */
  readonly accessRolePermissionsBoundary?: string;
  /** Appended to the ids of this target's resources. Default "" (the single pair's ids). */
  readonly idSuffix?: string;
}

export interface TrustChainProps {
  /** Provider of account A (the function's account). */
  readonly accountA: AwsProvider;
  /** Name of the Lambda execution role in A. */
  readonly executionRoleName: string;
  /** Every account B the execution role may reach, each through its own access role. */
  readonly targets: readonly TrustTarget[];
}

/** Trust policy of the execution role: only the Lambda service may assume it. */
export function lambdaTrustPolicy(): PolicyDocument {
  return policy({
    Sid: "LambdaServiceAssumesRole",
    Effect: "Allow",
    Principal: { Service: "lambda.amazonaws.com" },
    Action: "sts:AssumeRole",
  });
}

/** Trust policy of the access role: exactly A's execution role, with the external id. */
export function accessTrustPolicy(executionRoleArn: string, externalId: string): PolicyDocument {
  return policy({
    Sid: "TrackerExecutionRoleAssumesRole",
    Effect: "Allow",
    Principal: { AWS: executionRoleArn },
    Action: "sts:AssumeRole",
    Condition: { StringEquals: { "sts:ExternalId": externalId } },
  });
}

/** Execution role: may assume exactly the access roles in B (one per target). */
export function assumeAccessRolePolicy(accessRoleArns: string | readonly string[]): PolicyDocument {
  return policy({ Sid: "AssumeReportAccessRole", Effect: "Allow", Action: "sts:AssumeRole", Resource: accessRoleArns });
}

/** Execution role: may write to its own log group only (the group is created by Terraform). */
export function logWritingPolicy(logGroupArn: string): PolicyDocument {
  return policy({
    Sid: "WriteOwnLogGroup",
    Effect: "Allow",
    Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
    Resource: `${logGroupArn}:*`,
  });
}

/**
 * What the function does to the one object, and all it may ever do in B:
 * - GetObject / PutObject: read-modify-write, conditional create (If-None-Match: *) and update
 *   (If-Match), and every call of the multipart append (CreateMultipartUpload, UploadPart,
 *   UploadPartCopy with the object as its own source, CompleteMultipartUpload all authorize as
 *   s3:PutObject / s3:GetObject);
 * - AbortMultipartUpload: cleaning up a failed append.
 * No s3:ListBucket: a read of the missing log then answers 403 rather than 404, and the function
 * tells "missing" from "denied" with a conditional create (If-None-Match: *) instead.
 */
export const REPORT_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"] as const;

/** Access role: the object actions on the one object, nothing else (no delete, no other key, no bucket configuration). */
export function objectAccessPolicy(bucketArn: string, objectKey: string): PolicyDocument {
  return policy({
    Sid: "ReadWriteReportObject",
    Effect: "Allow",
    Action: [...REPORT_OBJECT_ACTIONS],
    Resource: `${bucketArn}/${objectKey}`,
  });
}

/**
 * The access role's permissions boundary (created by the bootstrap stack): the most any policy on
 * the access role can grant, whoever writes it. Terraform's bootstrap role may change the access
 * role only while this boundary is attached, so even a rewritten inline policy (Action "*") yields
 * at most these actions on this object.
 */
export function accessBoundaryPolicy(objectArn: string): PolicyDocument {
  return policy({
    Sid: "AtMostTheReportObject",
    Effect: "Allow",
    Action: [...REPORT_OBJECT_ACTIONS],
    Resource: objectArn,
  });
}

/**
 * The two-way trust chain, to every target account:
 *   lambda.amazonaws.com -> execution role (A) -> [sts:AssumeRole + ExternalId] -> access role (B)
 * A grants the execution role permission to assume exactly the targets' access roles; each access
 * role trusts exactly the execution role, with its own external id. Permissions on other resources
 * are granted by the constructs that own them, through the grant methods below.
 */
export class TrustChain extends Construct {
  readonly executionRole: IamRole;
  /** One per target, in the order given. */
  readonly accessRoles: readonly IamRole[];
  private readonly idSuffixes: readonly string[];

  constructor(scope: Construct, id: string, props: TrustChainProps) {
    super(scope, id);
    this.executionRole = new IamRole(this, "execution-role", {
      provider: props.accountA,
      name: props.executionRoleName,
      description: "iss-tracker function: runs in A, may only assume the report access role in B",
      assumeRolePolicy: render(this, lambdaTrustPolicy()),
    });
    this.accessRoles = props.targets.map((target) => new IamRole(this, `access-role${target.idSuffix ?? ""}`, {
      provider: target.provider,
      name: target.accessRoleName,
      description: "iss-tracker report writer: assumed by the function's execution role in A",
      assumeRolePolicy: render(this, accessTrustPolicy(this.executionRole.arn, target.externalId)),
      maxSessionDuration: ROLE_CHAINING_MAX_SECONDS,
      permissionsBoundary: target.accessRolePermissionsBoundary,
    }));
    const arns = this.accessRoles.map((role) => role.arn);
    new IamRolePolicy(this, "assume-access-role", {
      provider: props.accountA,
      role: this.executionRole.name,
      name: "assume-report-access-role",
      policy: render(this, assumeAccessRolePolicy(arns.length === 1 ? arns[0] : arns)),
    });
    this.idSuffixes = props.targets.map((t) => t.idSuffix ?? "");
  }

  /** The first target's access role: the single pair's. */
  get accessRole(): IamRole {
    return this.accessRoles[0];
  }

  /** Lets the execution role write its log streams in `logGroupArn`. */
  grantLogWriting(logGroupArn: string): IamRolePolicy {
    return new IamRolePolicy(this, "write-logs", {
      provider: this.executionRole.provider,
      role: this.executionRole.name,
      name: "write-own-logs",
      policy: render(this, logWritingPolicy(logGroupArn)),
    });
  }

  /** Lets target `index`'s access role read and append to exactly `objectKey` in `bucketArn`. */
  grantObjectReadWrite(bucketArn: string, objectKey: string, index = 0): IamRolePolicy {
    const role = this.accessRoles[index];
    return new IamRolePolicy(this, `report-object-access${this.idSuffixes[index]}`, {
      provider: role.provider,
      role: role.name,
      name: "read-write-report-object",
      policy: render(this, objectAccessPolicy(bucketArn, objectKey)),
    });
  }
}
