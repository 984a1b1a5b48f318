/**
 * A loopback HTTP proxy in front of moto that lets small conformance gates add the rules of the
 * real services that moto lacks. Every request is forwarded to moto unchanged (same Host header
 * and body, so SigV4 signatures still verify) unless a gate answers it itself.
 *
 * A gate is a middleware: it sees the buffered request and `next()` (the rest of the chain, then
 * moto), and returns a reply, its own or the one `next()` gave (or asks the gateway to destroy the
 * client's socket instead: `abort`). The local AWS (./local-aws.ts) wires these, in this order:
 *   ./iam-gate.ts        Terraform's calls in B under the bootstrap role's policy, with the real IAM
 *                        action names (./aws-actions.ts), recorded per phase;
 *   ./sts-gate.ts        the target role's trust policy on sts:AssumeRole (moto never evaluates it);
 *   ./lifecycle-gate.ts  the NewerNoncurrentVersions that moto drops from a bucket's lifecycle rules;
 *   ./logs-gate.ts       JSON filter patterns in CloudWatch Logs (moto returns every event for them);
 *   ./s3-faults.ts       S3's faults under load (409 conflicts, 503 SlowDown, lost responses,
 *                        inconsistent ranged reads), each off until switched on;
 *   ./bucket-owner-gate.ts  S3's bucket-owner condition (x-amz-expected-bucket-owner), which moto ignores;
 *   ./s3-gate.ts         S3's conditional writes (If-Match on CompleteMultipartUpload, the
 *                        copy-source conditions), atomic per key.
 */
import { randomUUID } from "node:crypto";
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface GatewayRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** From the SigV4 credential scope (`.../<region>/<service>/aws4_request`), if signed. */
  readonly service?: string;
  /** The signing access key id, if signed. */
  readonly accessKeyId?: string;
}

export interface GatewayReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  /** Destroy the client's socket instead of answering (a response lost on the way back). */
  readonly abort?: boolean;
}

export type Gate = (req: GatewayRequest, next: () => Promise<GatewayReply>) => Promise<GatewayReply>;

export interface Gateway {
  /** Give this URL to clients as their endpoint. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

const SIGV4 = /Credential=([^/,\s]+)\/\d{8}\/[^/]+\/([^/]+)\//;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolveBody(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export function xmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** An AWS query-protocol error (STS, IAM, SQS): `<ErrorResponse><Error>...`. */
export function queryError(status: number, code: string, message: string, namespace = "https://sts.amazonaws.com/doc/2011-06-15/"): GatewayReply {
  const body = `<ErrorResponse xmlns="${namespace}"><Error><Type>Sender</Type><Code>${xmlEscape(code)}</Code>` +
    `<Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
  return { status, headers: { "content-type": "text/xml" }, body: Buffer.from(body) };
}

/** An S3 REST error: `<Error><Code>...`. */
export function s3Error(status: number, code: string, message: string, extra: Record<string, string> = {}): GatewayReply {
  const fields = Object.entries(extra).map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join("");
  const id = randomUUID();
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message>${fields}<RequestId>${id}</RequestId></Error>`;
  return { status, headers: { "content-type": "application/xml", "x-amz-request-id": id }, body: Buffer.from(body) };
}

/** Starts a gateway in front of `upstream` (moto) that runs `gates` in order on every request. */
export async function startGateway(upstream: string, gates: readonly Gate[]): Promise<Gateway> {
  const target = new URL(upstream);
  const forward = (req: GatewayRequest): Promise<GatewayReply> =>
    new Promise((resolveReply, reject) => {
      const out = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (res) => {
        readBody(res).then((body) => resolveReply({ status: res.statusCode ?? 502, headers: res.headers, body }), reject);
      });
      out.on("error", reject);
      out.end(req.body);
    });

  const server: Server = createServer(async (req, res) => {
    try {
      const body = await readBody(req);
      const signed = SIGV4.exec(req.headers.authorization ?? "");
      const incoming: GatewayRequest = {
        method: req.method ?? "GET",
        url: req.url ?? "/",
        headers: req.headers,
        body,
        service: signed?.[2],
        accessKeyId: signed?.[1],
      };
      const run = (i: number): Promise<GatewayReply> => (i < gates.length ? gates[i](incoming, () => run(i + 1)) : forward(incoming));
      const reply = await run(0);
      if (reply.abort) {
        res.destroy();
        return;
      }
      const headers = { ...reply.headers };
      // The body is sent whole: drop hop-by-hop framing from upstream and state the length.
      delete headers["transfer-encoding"];
      if (req.method !== "HEAD") headers["content-length"] = String(reply.body.length);
      res.writeHead(reply.status, headers);
      res.end(req.method === "HEAD" ? undefined : reply.body);
    } catch (error) {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
      res.end(`emulator gateway: ${String(error)}`);
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolveClose) => {
      server.closeAllConnections();
      server.close(() => resolveClose());
    }),
  };
}
