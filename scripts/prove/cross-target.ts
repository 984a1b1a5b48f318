/**
 * Questions across targets (TARGETS with several accounts B): each target's access role reaches
 * only its own log, and nothing a member account's administrators or its Terraform role do
 * reaches another member's log or access role. Asked for every ordered pair of targets, with the
 * same evaluator and policies as every other row (./model.ts).
 *
 * What an account's administrators can do inside their own account is theirs (the residual row
 * "an administrator of B reads the object directly"): these questions ask only what they can do
 * to another account. The function cannot be made to write elsewhere from B at all: where it
 * writes is its environment in A, which no member account can change.
 */
import { ADMINISTRATOR, sessionOf } from "../shared/iam";
import type { AccessModel } from "./access-model";
import type { Expectation } from "./model";

/** Everything, on every resource: what a member account's administrators may make of their own access role. */
const EVERYTHING = { name: "everything-its-account-could-put", policy: { Version: "2012-10-17", Statement: [{ Sid: "Everything", Effect: "Allow", Action: "*", Resource: "*" }] } } as const;

/** The group of the questions about target `to` asked from target `from`. */
export const crossTargetGroup = (from: AccessModel, to: AccessModel) => `Target ${from.accountB} reaches nothing of target ${to.accountB}`;

/** The questions from target `from` towards target `to` (two different targets of one configuration). */
export function crossTargetExpectations(from: AccessModel, to: AccessModel): Expectation[] {
  const group = crossTargetGroup(from, to);
  const p = from.config.partition;
  const access = { principal: sessionOf(from.accessRole.arn, "iss-tracker"), identityPolicies: from.accessRole.policies, permissionsBoundary: from.accessRole.boundary };
  // The access role as its own account's administrators could rewrite it: any policy, no boundary.
  const rewrittenAccess = { principal: sessionOf(from.accessRole.arn, "rewritten"), identityPolicies: [EVERYTHING] };
  const adminOfFrom = { principal: `arn:${p}:iam::${from.accountB}:role/admin`, identityPolicies: ADMINISTRATOR };
  const terraformOfFrom = { principal: sessionOf(from.bootstrapRole.arn, "iss-tracker-terraform"), identityPolicies: from.bootstrapRole.policies };
  const exec = { principal: sessionOf(from.executionRole.arn, from.functionName), identityPolicies: from.executionRole.policies };
  const object = { resource: to.objectArn, resourceAccount: to.accountB, resourcePolicy: to.bucketPolicy };
  const bucket = { resource: to.bucketArn, resourceAccount: to.accountB, resourcePolicy: to.bucketPolicy };
  const assumeTo = { action: "sts:AssumeRole", resource: to.accessRole.arn, resourceAccount: to.accountB, resourcePolicy: to.accessRole.trustPolicy };
  const toAccessRole = { resource: to.accessRole.arn, resourceAccount: to.accountB };
  const of = `target ${to.accountB}'s`;
  const rows: Expectation[] = [
    { group, description: `its access role reads ${of} log`, expected: "deny", ...access, action: "s3:GetObject", ...object },
    { group, description: `its access role writes ${of} log`, expected: "deny", ...access, action: "s3:PutObject", ...object },
    { group, description: `its access role, given any policy by its own account, reads ${of} log`, expected: "deny", ...rewrittenAccess, action: "s3:GetObject", ...object },
    { group, description: `its access role, given any policy by its own account, overwrites ${of} log`, expected: "deny", ...rewrittenAccess, action: "s3:PutObject", ...object },
    { group, description: `its access role, given any policy by its own account, deletes a version of ${of} log`, expected: "deny", ...rewrittenAccess, action: "s3:DeleteObjectVersion", ...object },
    { group, description: `its access role, given any policy by its own account, assumes ${of} access role`, expected: "deny", ...rewrittenAccess, ...assumeTo, context: { "sts:ExternalId": to.target.externalId } },
    { group, description: `an administrator of its account reads ${of} log`, expected: "deny", ...adminOfFrom, action: "s3:GetObject", ...object },
    { group, description: `an administrator of its account writes ${of} log`, expected: "deny", ...adminOfFrom, action: "s3:PutObject", ...object },
    { group, description: `an administrator of its account rewrites ${of} bucket policy`, expected: "deny", ...adminOfFrom, action: "s3:PutBucketPolicy", ...bucket },
    { group, description: `an administrator of its account assumes ${of} access role with its external id`, expected: "deny", ...adminOfFrom, ...assumeTo, context: { "sts:ExternalId": to.target.externalId } },
    { group, description: `its Terraform role puts a policy on ${of} access role`, expected: "deny", ...terraformOfFrom, action: "iam:PutRolePolicy", ...toAccessRole, context: { "iam:PermissionsBoundary": to.accessBoundaryArn } },
    { group, description: `its Terraform role rewrites ${of} access role's trust`, expected: "deny", ...terraformOfFrom, action: "iam:UpdateAssumeRolePolicy", ...toAccessRole, context: { "iam:PermissionsBoundary": to.accessBoundaryArn } },
    { group, description: `its Terraform role writes ${of} bucket policy`, expected: "deny", ...terraformOfFrom, action: "s3:PutBucketPolicy", ...bucket },
  ];
  // Each target's external id is its own (derived from its account, bucket and key) unless one
  // EXTERNAL_ID is set for all: then the function's role holding one id opens every trust, by design.
  if (from.target.externalId !== to.target.externalId) {
    rows.push({ group, description: `the execution role assumes ${of} access role with target ${from.accountB}'s external id`, expected: "deny", ...exec, ...assumeTo, context: { "sts:ExternalId": from.target.externalId } });
  }
  return rows;
}

/** Every ordered pair of targets' questions (none with one target). */
export function allCrossTargetExpectations(models: readonly AccessModel[]): Array<{ from: AccessModel; to: AccessModel; expectations: Expectation[] }> {
  return models.flatMap((from) => models.filter((to) => to !== from).map((to) => ({ from, to, expectations: crossTargetExpectations(from, to) })));
}
