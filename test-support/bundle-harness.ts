/**
 * Runs the shipped function as Lambda would, for the tests that must see the real thing: the zip
 * built by buildFunctionBundle, unpacked and invoked in a fresh `node` process by the emulator's
 * Lambda stand-in (scripts/emulator/lambda-runtime.ts, the same one `npm start` uses) with the
 * Lambda environment, its AWS calls going to moto through the emulator gateway (where a test can
 * put a gate that hangs, denies or rewrites what it needs).
 */
import { CreateBucketCommand, ListMultipartUploadsCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildFunctionBundle, LAMBDA_HANDLER, type FunctionBundle } from "../function/build";
import { startGateway, type Gate, type Gateway, type GatewayReply, type GatewayRequest } from "../scripts/emulator/gateway";
import { invokeInFreshProcess, scheduledEvent, unpackFunction, type Invocations } from "../scripts/emulator/lambda-runtime";
import { startMoto, type MotoServer } from "../scripts/emulator/moto";
import { accountS3, readObject } from "../scripts/emulator/s3-admin";

export interface BuiltFunction {
  readonly bundle: FunctionBundle;
  /** index.js, unzipped. */
  readonly entry: string;
  readonly exportName: string;
  readonly dir: string;
  remove(): void;
}

/** Builds the deployed zip into a temp dir and unpacks it next to it. */
export function buildFunction(): BuiltFunction {
  const dir = mkdtempSync(join(tmpdir(), "iss-bundle-"));
  const bundle = buildFunctionBundle(dir, { incremental: false });
  const { entry, exportName } = unpackFunction(readFileSync(bundle.zipPath), join(dir, "unpacked"), LAMBDA_HANDLER);
  return { bundle, entry, exportName, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export type Outcome = Invocations;

export interface RunOptions {
  readonly env: Record<string, string>;
  readonly events?: number;
  /** These events instead (e.g. one delivered again, as Lambda retries it). */
  readonly deliveries?: readonly Record<string, unknown>[];
  readonly parallel?: number;
  /** The function's timeout (what getRemainingTimeInMillis counts down from). Default 30 s. */
  readonly timeoutMs?: number;
}

/** Runs the bundled handler in a fresh node process (a cold start) and collects what it did. */
export function runFunction(fn: BuiltFunction, options: RunOptions): Promise<Outcome> {
  return invokeInFreshProcess({
    entry: fn.entry,
    exportName: fn.exportName,
    functionName: "iss-tracker-function",
    timeoutMs: options.timeoutMs ?? 30_000,
    env: options.env,
    // Each run its own event, as the schedule delivers them (an event id twice is a retry: see core.ts deliveries).
    events: options.deliveries ?? Array.from({ length: options.events ?? 1 }, () => scheduledEvent()),
    parallel: options.parallel,
    workDir: fn.dir,
  });
}

/** Runs `tasks` with at most `limit` at once (the machine has 2 cores). */
export async function inBatches<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

export const ACCOUNT_B = "111111111111";
export const ACCESS_ROLE = `arn:aws:iam::${ACCOUNT_B}:role/iss-tracker-access`;
export const REGION = "us-east-1";

/**
 * moto with account B's bucket, and the gateway in front of it for the function's calls. The
 * gateway's one gate sends each request to the gate registered for its object key or its signing
 * key id (see `on`), else straight to moto.
 */
export interface Emulator {
  readonly moto: MotoServer;
  readonly gateway: Gateway;
  readonly bucket: string;
  /** Account B's S3, straight to moto (not through the gateway). */
  readonly s3: S3Client;
  /** Routes requests for this object key (S3) or signed with this access key id (STS, S3) to `gate`. */
  on(keyOrAccessKeyId: string, gate: Gate): void;
  /** The function's environment for one object key; `accessKeyId` names the execution role's key. */
  env(key: string, sources: readonly string[], extra?: Record<string, string>): Record<string, string>;
  put(key: string, body: Buffer | string): Promise<void>;
  get(key: string): Promise<Buffer | undefined>;
  /** Multipart uploads in progress for this key. */
  uploads(key: string): Promise<number>;
  stop(): Promise<void>;
}

/** The object key of a path-style S3 request (`/bucket/key?...`), if it has one. */
export function objectKeyOf(req: GatewayRequest, bucket: string): string | undefined {
  const path = req.url.split("?")[0];
  const prefix = `/${bucket}/`;
  return path.startsWith(prefix) ? decodeURIComponent(path.slice(prefix.length)) : undefined;
}

export async function startEmulator(bucket = "iss-tracker-bundle-tests"): Promise<Emulator> {
  const moto = await startMoto();
  const routes = new Map<string, Gate>();
  const route: Gate = (req, next) => {
    const gate = routes.get(objectKeyOf(req, bucket) ?? "") ?? routes.get(req.accessKeyId ?? "");
    return gate ? gate(req, next) : next();
  };
  const gateway = await startGateway(moto.endpoint, [route]);
  const s3 = await accountS3(moto.endpoint, ACCOUNT_B);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    moto,
    gateway,
    bucket,
    s3,
    on: (k, gate) => void routes.set(k, gate),
    env: (key, sources, extra = {}) => ({
      AWS_ENDPOINT_URL: gateway.endpoint,
      AWS_ACCESS_KEY_ID: "AKIAEXECUTIONROLE",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_SESSION_TOKEN: "token",
      AWS_REGION: REGION,
      ACCESS_ROLE_ARN: ACCESS_ROLE,
      EXTERNAL_ID: "ext-123",
      BUCKET_NAME: bucket,
      BUCKET_REGION: REGION,
      OBJECT_KEY: key,
      ISS_SOURCES: sources.join(","),
      ...extra,
    }),
    put: async (key, body) => void (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(body) }))),
    get: (key) => readObject(s3, bucket, key),
    uploads: async (key) => (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }))).Uploads?.length ?? 0,
    stop: async () => {
      await gateway.stop();
      await moto.stop();
    },
  };
}

/** A gate that never answers (the socket stays open until the client gives up). */
export function hang(): Promise<GatewayReply> {
  return new Promise<GatewayReply>(() => undefined);
}

/** The "run failed" lines among what the function logged. */
export const failures = (o: Outcome) => o.lines.filter((l) => l.msg === "run failed");
