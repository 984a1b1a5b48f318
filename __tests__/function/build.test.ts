/**
 * The deployed artifact: built by buildFunctionBundle, small, deterministic, and working as Lambda
 * runs it — index.js required by a plain node process (not jest), with the execution role's
 * credentials in the environment and the SDK pointed at moto through AWS_ENDPOINT_URL.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { buildFunctionBundle, LAMBDA_HANDLER } from "../../function/build";
import { startMoto, type MotoServer } from "../../scripts/emulator/moto";

let dir: string;
let indexJs: string;
let bundle: ReturnType<typeof buildFunctionBundle>;

/** index.js out of the zip (one deflated entry). */
function unzipIndex(zip: Buffer): { name: string; data: Buffer } {
  const compressedSize = zip.readUInt32LE(18);
  const nameLength = zip.readUInt16LE(26);
  const name = zip.subarray(30, 30 + nameLength).toString("utf8");
  return { name, data: inflateRawSync(zip.subarray(30 + nameLength, 30 + nameLength + compressedSize)) };
}

/** Runs the bundled handler once in a fresh node process with this environment. */
function invoke(env: NodeJS.ProcessEnv): Promise<{ ok: boolean; value: unknown }> {
  const script = `require(${JSON.stringify(indexJs)}).handler({}, { awsRequestId: "r-1", functionName: "fn", getRemainingTimeInMillis: () => 30000 })
    .then((v) => process.stdout.write(JSON.stringify({ ok: true, value: v })), (e) => process.stdout.write(JSON.stringify({ ok: false, value: String(e.message) })));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["-e", script], { env: { PATH: process.env.PATH, ...env }, timeout: 20_000 }, (error, stdout) => {
      if (error && !stdout) return reject(error);
      resolve(JSON.parse(stdout.trim().split("\n").filter((l) => l.startsWith('{"ok"')).pop() ?? stdout));
    });
  });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "iss-bundle-"));
  bundle = buildFunctionBundle(dir);
  const entry = unzipIndex(readFileSync(bundle.zipPath));
  expect(entry.name).toBe("index.js");
  indexJs = join(dir, "index.js");
  writeFileSync(indexJs, entry.data);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("buildFunctionBundle", () => {
  it("produces a zip of at most 200 KB whose CodeSha256 is its SHA-256", () => {
    expect(bundle.zipBytes).toBeLessThanOrEqual(200 * 1024);
    expect(bundle.sha256).toBe(createHash("sha256").update(readFileSync(bundle.zipPath)).digest("base64"));
    expect(LAMBDA_HANDLER).toBe("index.handler");
  });

  it("is deterministic: the same sources give the same bytes", () => {
    const again = buildFunctionBundle(join(dir, "again"));
    expect(again.sha256).toBe(bundle.sha256);
  });

  it("reuses an unchanged build and rebuilds when an input file changed", () => {
    const out = join(dir, "incremental");
    const first = buildFunctionBundle(out);
    expect(first.fromCache).toBe(false);
    const second = buildFunctionBundle(out);
    expect(second).toEqual({ ...first, fromCache: true });
    // Pretend one input (the handler) had another size when the cache was written.
    const cacheFile = join(out, "build-cache.json");
    const cache = JSON.parse(readFileSync(cacheFile, "utf8"));
    expect(Object.keys(cache.inputs)).toContain("function/handler.ts");
    cache.inputs["function/handler.ts"][0] += 1;
    writeFileSync(cacheFile, JSON.stringify(cache));
    const third = buildFunctionBundle(out);
    expect(third).toEqual({ ...first, fromCache: false });
    expect(buildFunctionBundle(out, { incremental: false }).fromCache).toBe(false);
  });

  it("fails a run with a misconfigured environment naming the variable", async () => {
    const result = await invoke({ AWS_REGION: "us-east-1" });
    expect(result.ok).toBe(false);
    expect(String(result.value)).toMatch(/ACCESS_ROLE_ARN is not set/);
  });
});

describe("the bundled handler against moto", () => {
  let moto: MotoServer;
  let iss: Server;
  let env: NodeJS.ProcessEnv;
  let timestamp = 1765041585;
  beforeAll(async () => {
    moto = await startMoto();
    iss = createServer((_req, res) =>
      res.writeHead(200).end(JSON.stringify({ message: "success", timestamp: timestamp++, iss_position: { latitude: "1.0000", longitude: "2.0000" } })),
    );
    await new Promise<void>((r) => iss.listen(0, "127.0.0.1", r));
    env = {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: "AKIAEXEC",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_SESSION_TOKEN: "token",
      AWS_REGION: "us-east-1",
      ACCESS_ROLE_ARN: "arn:aws:iam::111111111111:role/access",
      EXTERNAL_ID: "ext-123",
      BUCKET_NAME: "bundle-test-bucket",
      BUCKET_REGION: "us-east-1",
      OBJECT_KEY: "iss_position.txt",
      // An unreachable first source: the bundled undici fails over to the second.
      ISS_SOURCES: `http://127.0.0.1:9/iss-now.json,http://127.0.0.1:${(iss.address() as AddressInfo).port}/iss-now.json`,
    };
    const { S3Client, CreateBucketCommand } = await import("@aws-sdk/client-s3");
    // Account B's bucket: created with B's credentials (assumed-role keys act in B on moto).
    const { STSClient, AssumeRoleCommand } = await import("@aws-sdk/client-sts");
    const assumed = await new STSClient({ endpoint: moto.endpoint, region: "us-east-1", credentials: { accessKeyId: "a", secretAccessKey: "b" } }).send(
      new AssumeRoleCommand({ RoleArn: env.ACCESS_ROLE_ARN, RoleSessionName: "setup" }),
    );
    const c = assumed.Credentials!;
    await new S3Client({ endpoint: moto.endpoint, region: "us-east-1", credentials: { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken } }).send(
      new CreateBucketCommand({ Bucket: "bundle-test-bucket" }),
    );
  }, 30_000);
  afterAll(async () => {
    iss?.closeAllConnections();
    await new Promise((r) => iss?.close(r));
    await moto?.stop();
  });

  it("creates the log, then appends to it (fresh node processes, like cold starts)", async () => {
    const first = await invoke(env);
    expect(first).toEqual({ ok: true, value: expect.objectContaining({ path: "created", source: env.ISS_SOURCES!.split(",")[1], issAttempts: 3 }) });
    const second = await invoke(env);
    expect(second).toEqual({ ok: true, value: expect.objectContaining({ path: "read-modify-write", attempts: 1, bytesAppended: 62 }) });
  }, 30_000);
});
