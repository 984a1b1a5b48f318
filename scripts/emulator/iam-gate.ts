/**
 * IAM conformance gate (a gateway middleware, see ./gateway.ts): enforces the identity policies of
 * chosen roles on every call their sessions make, with the real IAM action names, and records each
 * call. The rehearsal puts Terraform's bootstrap role in B under it, so a grant the provider needs
 * but the bootstrap policy lacks fails `npm start` the way it would fail a real deploy, and the
 * recording shows exactly which actions the provider used.
 *
 * Why not moto's own enforcement: it breaks account A's Lambda API calls, and it checks several S3
 * calls under made-up or wrong action names (ENVIRONMENT.md). The gate instead:
 *   1. learns a session's access key from the AssumeRole answer of a watched role (the answer
 *      passes through the gateway: the provider's assume_role goes through the STS gate);
 *   2. maps each request signed with that key to its IAM actions and resource with the one table
 *      (./aws-actions.ts, from the Service Authorization Reference);
 *   3. evaluates them with the shared evaluator (../shared/iam.ts) against the role's identity
 *      policies and permissions boundary as they are in the emulator at that moment, with the
 *      condition keys the request carries (iam:PermissionsBoundary);
 *   4. forwards the request when every action is allowed, else answers 403 AccessDenied as the
 *      service does. A request shape the table does not know is refused too (fails closed), with
 *      the shape in the message.
 * Only the identity side is evaluated: the gate's roles act in their own account, where an Allow
 * in the identity policy suffices and resource policies (bucket policies) can add only Denies.
 */
import type { NamedPolicy } from "../shared/iam";
import { evaluate } from "../shared/iam";
import { awsCallOf, type AwsCall } from "./aws-actions";
import { queryError, s3Error, type Gate, type GatewayReply, type GatewayRequest } from "./gateway";

/** IAM actions whose authorization carries iam:PermissionsBoundary (SAR), and where its value comes from. */
const BOUNDARY_FROM_REQUEST = new Set(["CreateRole", "PutRolePermissionsBoundary"]);
const BOUNDARY_OF_ROLE = new Set(["PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy", "DetachRolePolicy",
  "UpdateAssumeRolePolicy", "DeleteRolePermissionsBoundary", "DeleteRole", "GetRole"]);

export interface RoleUnderGate {
  /** Identity policies (inline and attached) as the emulator holds them now. */
  readonly policies: readonly NamedPolicy[];
  /** The role's permissions boundary policy, if it has one. */
  readonly boundary?: NamedPolicy;
}

export interface IamGateOptions {
  /** ARNs of the roles whose sessions the gate enforces. */
  readonly roleArns: readonly string[];
  /** Reads a watched role's policies from the emulator (directly, not through the gateway). */
  readonly readRole: (roleArn: string) => Promise<RoleUnderGate>;
  /** The permissions boundary ARN a role carries now; undefined when it has none or does not exist. */
  readonly boundaryOf: (roleArn: string) => Promise<string | undefined>;
  /** Partition of the ARNs the gate builds. Default "aws" (moto's). */
  readonly partition?: string;
}

export interface RecordedCall {
  /** What the gate's user was doing: the phase the calling Terraform process names in its User-Agent, else IamGate.phase when the call came in. */
  readonly phase: string;
  /** When the call came in (ms since the epoch). */
  readonly at: number;
  /** The session ARN that signed the call. */
  readonly session: string;
  readonly service: string;
  readonly operation: string;
  readonly actions: readonly string[];
  readonly resource: string;
  /** IAM request parameters, or the S3 headers that change the authorization (see aws-actions.ts). */
  readonly params: Readonly<Record<string, string>>;
  readonly allowed: boolean;
  /** Why, in AWS's words (or the request shape, for an unknown call). */
  readonly reason: string;
  /** What the caller got: the emulator's status when forwarded, 403 when the gate refused. */
  readonly status: number;
}

export interface IamGate {
  readonly gate: Gate;
  /** Every call of a watched session so far, oldest first. */
  readonly calls: RecordedCall[];
  /** A label recorded with each call from now on (e.g. "deploy", "destroy"). */
  phase: string;
  /** The parameters of every AssumeRole into a watched role (e.g. whether it carried session tags). */
  readonly assumptions: Array<Readonly<Record<string, string>>>;
  /** Access keys learned so far -> the watched role and the session ARN. */
  readonly sessions: ReadonlyMap<string, { readonly roleArn: string; readonly session: string }>;
}

const IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/";

function denial(req: GatewayRequest, message: string): GatewayReply {
  if (req.service === "s3") return s3Error(403, "AccessDenied", message);
  if (req.service === "iam") return queryError(403, "AccessDenied", message, IAM_NAMESPACE);
  return queryError(403, "AccessDenied", message);
}

/** The session an AssumeRole answer describes: its access key id and assumed-role ARN. */
export function sessionFromAssumeRole(xml: string): { accessKeyId: string; arn: string } | undefined {
  const accessKeyId = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(xml)?.[1];
  const arn = /<AssumedRoleUser>[\s\S]*?<Arn>([^<]+)<\/Arn>[\s\S]*?<\/AssumedRoleUser>/.exec(xml)?.[1];
  return accessKeyId && arn ? { accessKeyId, arn } : undefined;
}

export function iamGate(options: IamGateOptions): IamGate {
  const watched = new Set(options.roleArns);
  const sessions = new Map<string, { roleArn: string; session: string }>();
  const calls: RecordedCall[] = [];
  const assumptions: Array<Record<string, string>> = [];

  const contextOf = async (call: AwsCall): Promise<Record<string, string>> => {
    if (call.service !== "iam") return {};
    if (BOUNDARY_FROM_REQUEST.has(call.operation)) {
      return call.params.PermissionsBoundary ? { "iam:PermissionsBoundary": call.params.PermissionsBoundary } : {};
    }
    if (BOUNDARY_OF_ROLE.has(call.operation)) {
      const boundary = await options.boundaryOf(call.resource);
      return boundary ? { "iam:PermissionsBoundary": boundary } : {};
    }
    return {};
  };

  const authorize = async (roleArn: string, session: string, call: AwsCall): Promise<{ allowed: boolean; reason: string }> => {
    if (call.needsNoPermission) return { allowed: true, reason: `${call.actions.join(", ")} needs no permission` };
    const role = await options.readRole(roleArn);
    const context = await contextOf(call);
    for (const action of call.actions) {
      const evaluation = await evaluate({
        principal: session,
        identityPolicies: role.policies,
        permissionsBoundary: role.boundary,
        action,
        resource: call.resource,
        resourceAccount: roleArn.split(":")[4],
        context,
      });
      if (evaluation.decision !== "Allowed") {
        const why = evaluation.decision === "ExplicitlyDenied"
          ? "with an explicit deny in an identity-based policy"
          : evaluation.boundary === "ImplicitlyDenied" || evaluation.boundary === "ExplicitlyDenied"
            ? "because no permissions boundary allows the " + action + " action"
            : "because no identity-based policy allows the " + action + " action";
        return { allowed: false, reason: `User: ${session} is not authorized to perform: ${action} on resource: ${call.resource} ${why}` };
      }
    }
    return { allowed: true, reason: "allowed by the role's identity policy" };
  };

  /**
   * The phase a call belongs to: the one its Terraform process names in its User-Agent
   * (TF_APPEND_USER_AGENT="iss-tracker-phase/<uri-encoded label>", so phases that run at once stay
   * apart), else the gate's current phase.
   */
  const phaseOf = (req: GatewayRequest): string => {
    const tagged = /(?:^|\s)iss-tracker-phase\/(\S+)/.exec(String(req.headers["user-agent"] ?? ""));
    if (!tagged) return state.phase;
    try {
      return decodeURIComponent(tagged[1]);
    } catch {
      return state.phase;
    }
  };

  const gate: Gate = async (req, next) => {
    // 1. Learn the sessions of watched roles from their AssumeRole answers.
    if (req.service === "sts" && req.method === "POST") {
      const params = new URLSearchParams(req.body.toString("utf8"));
      if (params.get("Action") === "AssumeRole" && watched.has(params.get("RoleArn") ?? "")) {
        assumptions.push(Object.fromEntries(params));
        const reply = await next();
        const learned = reply.status === 200 ? sessionFromAssumeRole(reply.body.toString("utf8")) : undefined;
        if (learned) sessions.set(learned.accessKeyId, { roleArn: params.get("RoleArn")!, session: learned.arn });
        return reply;
      }
    }
    const known = req.accessKeyId ? sessions.get(req.accessKeyId) : undefined;
    if (!known) return next();

    // 2-4. A watched session's call: map, evaluate, forward or refuse.
    const call = awsCallOf(req, known.roleArn.split(":")[4], options.partition ?? "aws");
    if ("unknown" in call) {
      const reason = `User: ${known.session} made a request the emulator's IAM gate cannot map to an IAM action: ${call.unknown}. ` +
        "Add its row to scripts/emulator/aws-actions.ts from the Service Authorization Reference (the gate fails closed)";
      calls.push({ phase: phaseOf(req), at: Date.now(), session: known.session, service: req.service ?? "?", operation: "(unknown)", actions: [], resource: "?", params: {}, allowed: false, reason, status: 403 });
      return denial(req, reason);
    }
    let verdict: { allowed: boolean; reason: string };
    try {
      verdict = await authorize(known.roleArn, known.session, call);
    } catch (error) {
      verdict = { allowed: false, reason: `the emulator's IAM gate could not evaluate ${call.actions.join(", ")} (${(error as Error).message}); it fails closed` };
    }
    const record = { phase: phaseOf(req), at: Date.now(), session: known.session, service: call.service, operation: call.operation, actions: call.actions, resource: call.resource, params: call.params, ...verdict };
    if (!verdict.allowed) {
      calls.push({ ...record, status: 403 });
      return denial(req, `${verdict.reason} (emulator IAM gate)`);
    }
    const reply = await next();
    calls.push({ ...record, status: reply.status });
    return reply;
  };

  const state: IamGate = { gate, calls, assumptions, sessions, phase: "" };
  return state;
}
