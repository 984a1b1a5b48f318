/**
 * STS conformance gate (a gateway middleware, see ./gateway.ts): evaluates the target role's TRUST
 * policy on sts:AssumeRole, which moto never does (it hands out credentials for any role ARN, with
 * any external id). The trust policy is evaluated by the same IAM evaluator as `npm run prove` and
 * `npm run doctor` (../shared/iam.ts: principals, conditions such as sts:ExternalId, explicit
 * denies). The caller's own identity policies stay moto's job (its IAM enforcement), so the gate
 * evaluates the trust side alone: the caller is given an administrator's identity policy.
 *
 * The caller is identified by its access key id, registered by whoever issued its credentials (the
 * rehearsal registers the execution role's session, as the Lambda service would hold it). An
 * AssumeRole from a key the gate does not know is refused: the gate fails closed.
 */
import type { PolicyDocument } from "../../stacks/policy";
import { ADMINISTRATOR, evaluate } from "../shared/iam";
import { queryError, type Gate } from "./gateway";

export interface StsGateDecision {
  readonly allowed: boolean;
  readonly reason: string;
  readonly roleArn: string;
  /** The caller's principal ARN (or its access key id when unknown). */
  readonly caller: string;
}

export interface StsGate {
  readonly gate: Gate;
  /** Tells the gate whose credentials an access key is (a user ARN or an assumed-role session ARN). */
  registerCaller(accessKeyId: string, principalArn: string): void;
  /** Decisions taken so far, newest last. */
  readonly decisions: StsGateDecision[];
}

export interface StsGateOptions {
  /** The trust policy of a role, read from the emulator (throws when the role does not exist). */
  readonly trustPolicyOf: (roleArn: string) => Promise<PolicyDocument>;
}

/** Whether the trust policy lets `principalArn` assume `roleArn` (with `externalId`, when given). */
export async function trustAllows(trustPolicy: PolicyDocument, principalArn: string, roleArn: string, externalId: string | undefined): Promise<{ allowed: boolean; reason: string }> {
  const evaluation = await evaluate({
    principal: principalArn,
    identityPolicies: ADMINISTRATOR,
    action: "sts:AssumeRole",
    resource: roleArn,
    resourceAccount: roleArn.split(":")[4],
    resourcePolicy: trustPolicy,
    context: externalId === undefined ? {} : { "sts:ExternalId": externalId },
  });
  if (evaluation.decision === "Allowed") return { allowed: true, reason: "allowed by the trust policy" };
  if (evaluation.decision === "ExplicitlyDenied") return { allowed: false, reason: "an explicit Deny in the trust policy" };
  return {
    allowed: false,
    reason: externalId === undefined
      ? "the trust policy allows this caller no AssumeRole without an external id"
      : "the trust policy allows this caller no AssumeRole with this external id",
  };
}

export function stsGate(options: StsGateOptions): StsGate {
  const callers = new Map<string, string>();
  const decisions: StsGateDecision[] = [];
  const gate: Gate = async (req, next) => {
    if (req.service !== "sts" || req.method !== "POST") return next();
    const params = new URLSearchParams(req.body.toString("utf8"));
    if (params.get("Action") !== "AssumeRole") return next();
    const roleArn = params.get("RoleArn") ?? "";
    const caller = req.accessKeyId ? callers.get(req.accessKeyId) : undefined;
    let verdict: { allowed: boolean; reason: string };
    if (!caller) {
      verdict = { allowed: false, reason: "the emulator's STS gate does not know this caller's access key (fails closed)" };
    } else {
      try {
        verdict = await trustAllows(await options.trustPolicyOf(roleArn), caller, roleArn, params.get("ExternalId") ?? undefined);
      } catch (error) {
        verdict = { allowed: false, reason: `the role cannot be read (${(error as Error).name}: ${(error as Error).message})` };
      }
    }
    decisions.push({ ...verdict, roleArn, caller: caller ?? req.accessKeyId ?? "(unsigned)" });
    if (verdict.allowed) return next();
    return queryError(403, "AccessDenied",
      `User: ${caller ?? req.accessKeyId} is not authorized to perform: sts:AssumeRole on resource: ${roleArn} (emulator STS gate: ${verdict.reason})`);
  };
  return {
    gate,
    registerCaller: (accessKeyId, principalArn) => callers.set(accessKeyId, principalArn),
    decisions,
  };
}
