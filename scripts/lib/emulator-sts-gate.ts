/**
 * A loopback proxy in front of moto that evaluates role TRUST policies on sts:AssumeRole, which
 * moto never does (it hands out credentials for any role ARN, with any external id). The
 * function's AWS_ENDPOINT_URL points here during the rehearsal's runs; every request is
 * forwarded to moto unchanged (same Host header, so signatures still verify), except an
 * AssumeRole the target role's trust policy does not allow, which gets STS's AccessDenied.
 *
 * Evaluated subset (anything else fails closed, i.e. denies):
 *   - statements with Action sts:AssumeRole (or sts:* / *), Effect Allow or Deny;
 *   - Principal "*" or { AWS: ARN | [ARN] } matched against the caller's role ARN, its
 *     account's root ARN or account id;
 *   - Condition operators StringEquals / StringLike on sts:ExternalId, aws:PrincipalArn,
 *     aws:PrincipalAccount.
 * The caller is identified by its access key id, registered by the rehearsal when it issues the
 * execution role's credentials (as the Lambda service does).
 */
import { GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { randomUUID } from "node:crypto";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Credentials } from "./local-rehearsal";

export interface StsGateDecision {
  readonly allowed: boolean;
  readonly reason: string;
}

interface Statement {
  Effect?: string;
  Action?: string | string[];
  Principal?: string | { AWS?: string | string[] };
  Condition?: Record<string, Record<string, string | string[]>>;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const wildcard = (pattern: string, value: string) =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`).test(value);

/** Whether `trustPolicy` lets `callerRoleArn` assume the role with `externalId` (the subset above). */
export function evaluateTrust(trustPolicy: string, callerRoleArn: string, externalId: string | undefined): StsGateDecision {
  const doc = JSON.parse(trustPolicy) as { Statement?: Statement | Statement[] };
  const statements = Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
  const account = callerRoleArn.split(":")[4];
  const context: Record<string, string | undefined> = {
    "sts:externalid": externalId,
    "aws:principalarn": callerRoleArn,
    "aws:principalaccount": account,
  };
  const matches = (s: Statement): boolean | "unsupported" => {
    if (!list(s.Action).some((a) => ["sts:assumerole", "sts:*", "*"].includes(a.toLowerCase()))) return false;
    const principals = s.Principal === "*" ? ["*"] : typeof s.Principal === "object" ? list(s.Principal.AWS) : [];
    if (!principals.some((p) => p === "*" || p === callerRoleArn || p === account || p === `arn:aws:iam::${account}:root`)) return false;
    for (const [operator, keys] of Object.entries(s.Condition ?? {})) {
      if (operator !== "StringEquals" && operator !== "StringLike") return "unsupported";
      for (const [key, expected] of Object.entries(keys)) {
        if (!(key.toLowerCase() in context)) return "unsupported";
        const actual = context[key.toLowerCase()];
        if (actual === undefined) return false;
        if (!list(expected).some((e) => (operator === "StringEquals" ? e === actual : wildcard(e, actual)))) return false;
      }
    }
    return true;
  };
  const results = statements.map((s) => ({ s, m: matches(s) }));
  if (results.some(({ s, m }) => s.Effect === "Deny" && m !== false)) return { allowed: false, reason: "an explicit Deny in the trust policy" };
  if (results.some(({ s, m }) => s.Effect === "Allow" && m === true)) return { allowed: true, reason: "allowed by the trust policy" };
  if (results.some(({ m }) => m === "unsupported")) return { allowed: false, reason: "a trust policy condition the emulator's gate does not evaluate (fails closed)" };
  return { allowed: false, reason: externalId === undefined ? "no trust policy statement allows this caller without an external id" : "no trust policy statement allows this caller with this external id" };
}

export interface StsGate {
  /** Give this URL to the function as AWS_ENDPOINT_URL. */
  readonly endpoint: string;
  /** Tells the gate which role an access key belongs to (the credentials the rehearsal issued). */
  registerCaller(accessKeyId: string, roleArn: string): void;
  /** Decisions taken so far, newest last. */
  readonly decisions: Array<StsGateDecision & { roleArn: string; caller: string }>;
  stop(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolveBody(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * Starts the gate in front of `motoEndpoint`. `adminFor(accountId)` gives credentials that may
 * read roles (iam:GetRole) in that account.
 */
export async function startStsGate(motoEndpoint: string, adminFor: (accountId: string) => Credentials): Promise<StsGate> {
  const target = new URL(motoEndpoint);
  const callers = new Map<string, string>();
  const decisions: StsGate["decisions"] = [];

  const deny = (res: import("node:http").ServerResponse, message: string) => {
    res.writeHead(403, { "content-type": "text/xml" });
    res.end(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>` +
      `<Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
  };

  const server: Server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const credential = /Credential=([^/,\s]+)\/\d{8}\/[^/]+\/([^/]+)\//.exec(req.headers.authorization ?? "");
      const params = credential?.[2] === "sts" && req.method === "POST" ? new URLSearchParams(body.toString("utf8")) : undefined;
      if (params?.get("Action") === "AssumeRole") {
        const roleArn = params.get("RoleArn") ?? "";
        const caller = callers.get(credential![1]);
        let decision: StsGateDecision;
        if (!caller) {
          decision = { allowed: false, reason: "the emulator's STS gate does not know this caller's access key" };
        } else {
          const [, , , , account, resource] = roleArn.split(":");
          const iam = new IAMClient({ region: "us-east-1", endpoint: motoEndpoint, credentials: adminFor(account) });
          try {
            const role = await iam.send(new GetRoleCommand({ RoleName: resource.replace(/^role\/(.*\/)?/, "") }));
            decision = evaluateTrust(decodeURIComponent(role.Role!.AssumeRolePolicyDocument!), caller, params.get("ExternalId") ?? undefined);
          } catch (error) {
            decision = { allowed: false, reason: `the role cannot be read (${(error as Error).name})` };
          }
        }
        decisions.push({ ...decision, roleArn, caller: caller ?? credential![1] });
        if (!decision.allowed) {
          const session = caller ? `${caller.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/")}/${process.env.AWS_LAMBDA_FUNCTION_NAME ?? "session"}` : credential![1];
          deny(res, `User: ${session} is not authorized to perform: sts:AssumeRole on resource: ${roleArn} (emulator STS gate: ${decision.reason})`);
          return;
        }
      }
      const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on("error", (error) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(error));
      });
      upstream.end(body);
    } catch (error) {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    }
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    registerCaller: (accessKeyId, roleArn) => callers.set(accessKeyId, roleArn),
    decisions,
    stop: () => new Promise<void>((resolveClose) => {
      server.closeAllConnections();
      server.close(() => resolveClose());
    }),
  };
}
