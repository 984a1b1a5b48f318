import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { handler } from "../../function/handler";

const s3 = mockClient(S3Client);
const sts = mockClient(STSClient);
/** A fresh fix: the handler checks it against its clock. */
const TIMESTAMP = Math.floor(Date.now() / 1000);
const BODY = JSON.stringify({ message: "success", timestamp: TIMESTAMP, iss_position: { latitude: "10.0000", longitude: "20.0000" } });
const REQUEST_ID = "6f1c3f0e-8d2a-4b7e-9d6f-0a1b2c3d4e5f";

let server: Server;
let issRequests = 0;
let envBefore: NodeJS.ProcessEnv;
let roleCounter = 0;

function setEnv(extra: Record<string, string | undefined> = {}) {
  roleCounter++; // a fresh role per test: the credential cache lives as long as the module
  const port = (server.address() as AddressInfo).port;
  Object.assign(process.env, {
    ACCESS_ROLE_ARN: `arn:aws:iam::111111111111:role/access-${roleCounter}`,
    EXTERNAL_ID: "ext-123",
    BUCKET_NAME: "reports-bucket",
    BUCKET_REGION: "eu-west-1",
    OBJECT_KEY: "iss_position.txt",
    ISS_SOURCES: `http://127.0.0.1:${port}/iss-now.json`,
    AWS_REGION: "us-east-1",
  });
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}
const context = { awsRequestId: REQUEST_ID, functionName: "iss-tracker-function", getRemainingTimeInMillis: () => 25_000 };

beforeAll(async () => {
  server = createServer((_req, res) => {
    issRequests++;
    res.writeHead(200, { "content-type": "application/json" }).end(BODY);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  envBefore = { ...process.env };
  s3.reset();
  sts.reset();
  sts.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: "ASIAASSUMED", SecretAccessKey: "s", SessionToken: "t", Expiration: new Date(Date.now() + 3600_000) } });
  s3.on(GetObjectCommand).rejects(Object.assign(new Error("NoSuchKey"), { name: "NoSuchKey", $metadata: { httpStatusCode: 404 } }));
  s3.on(PutObjectCommand).resolves({ ETag: '"e1"' });
  issRequests = 0;
  jest.spyOn(process.stdout, "write").mockImplementation(() => true);
});
afterEach(() => {
  process.env = envBefore;
  jest.restoreAllMocks();
});

describe("handler", () => {
  it("runs once: ISS, AssumeRole for the function and invocation, S3 in BUCKET_REGION with the assumed credentials", async () => {
    setEnv();
    const summary = await handler({}, context);
    expect(summary).toMatchObject({
      requestId: REQUEST_ID,
      targets: [{ target: "111111111111", source: process.env.ISS_SOURCES, issTimestamp: TIMESTAMP, path: "created", attempts: 1, bucket: "reports-bucket", key: "iss_position.txt" }],
    });
    expect(typeof summary.durationMs).toBe("number");
    expect(sts.commandCalls(AssumeRoleCommand)[0].args[0].input).toEqual({
      RoleArn: process.env.ACCESS_ROLE_ARN,
      ExternalId: "ext-123",
      RoleSessionName: `iss-tracker-function-${REQUEST_ID}`,
      DurationSeconds: 3600,
    });
    const client = s3.call(0).thisValue as S3Client;
    expect(await client.config.region()).toBe("eu-west-1");
    expect(await client.config.credentials()).toMatchObject({ accessKeyId: "ASIAASSUMED", sessionToken: "t" });
    // Every S3 call had the time left (an abort signal).
    expect(s3.calls().map((c) => (c.args as unknown[])[1])).toEqual(s3.calls().map(() => ({ abortSignal: expect.any(AbortSignal) })));
    // One JSON line per write, straight to stdout (CloudWatch stores each as the event), with the run's keys.
    const written = (process.stdout.write as unknown as jest.Mock).mock.calls.map((c) => String(c[0]));
    expect(written.every((w) => w.endsWith("\n") && !w.slice(0, -1).includes("\n"))).toBe(true);
    expect(written.map((w) => JSON.parse(w))).toEqual([
      expect.objectContaining({ level: "info", msg: "entry appended", path: "created", source: process.env.ISS_SOURCES, requestId: REQUEST_ID, function: "iss-tracker-function" }),
      expect.objectContaining({ level: "info", msg: "run finished", requestId: REQUEST_ID, function: "iss-tracker-function" }),
    ]);
  });

  it("reuses the session on a warm invocation, and the S3 client that signs with it", async () => {
    setEnv();
    await handler({}, context);
    const second = await handler({}, { ...context, awsRequestId: "second" });
    expect(second.targets[0].credentialsCached).toBe(true);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1);
    expect(new Set(s3.calls().map((c) => c.thisValue)).size).toBe(1);
  });

  it("signs with exactly the session of the run: a renewed session gets its own S3 client", async () => {
    setEnv();
    // 8 minutes left: inside the function's 10-minute renewal margin, outside the SDK's own 5.
    sts.on(AssumeRoleCommand)
      .resolvesOnce({ Credentials: { AccessKeyId: "ASIAONE", SecretAccessKey: "s", SessionToken: "t1", Expiration: new Date(Date.now() + 8 * 60_000) } })
      .resolvesOnce({ Credentials: { AccessKeyId: "ASIATWO", SecretAccessKey: "s", SessionToken: "t2", Expiration: new Date(Date.now() + 3600_000) } });
    await handler({}, context);
    const second = await handler({}, { ...context, awsRequestId: "second" });
    expect(second.targets[0].credentialsCached).toBe(false);
    const clients = [...new Set(s3.calls().map((c) => c.thisValue as S3Client))];
    expect(await Promise.all(clients.map(async (c) => (await c.config.credentials()).accessKeyId))).toEqual(["ASIAONE", "ASIATWO"]);
  });

  it("runs with a deadline even without Lambda's context (local runs get the default timeout)", async () => {
    setEnv();
    await handler({}, { awsRequestId: "local" });
    expect((s3.calls()[0].args as unknown[])[1]).toEqual({ abortSignal: expect.any(AbortSignal) });
  });

  it("tolerates a missing context (local runs)", async () => {
    setEnv({ AWS_LAMBDA_FUNCTION_NAME: "local-fn" });
    await expect(handler(undefined, undefined)).resolves.toMatchObject({ targets: [{ path: "created" }] });
    expect(sts.commandCalls(AssumeRoleCommand)[0].args[0].input.RoleSessionName).toBe("local-fn");
  });

  it.each([
    ["ACCESS_ROLE_ARN", undefined, /ACCESS_ROLE_ARN is not set/],
    ["BUCKET_NAME", undefined, /BUCKET_NAME is not set/],
    ["ISS_SOURCES", "not a url", /ISS_SOURCES is invalid/],
    ["MULTIPART_THRESHOLD_BYTES", "1048576", /MULTIPART_THRESHOLD_BYTES is invalid.*5 MiB/],
    ["MULTIPART_THRESHOLD_BYTES", String(5 * 1024 ** 3), /MULTIPART_THRESHOLD_BYTES is invalid.*give the function more memory/],
  ])("throws before reading or writing anything when %s is %s", async (name, value, message) => {
    setEnv({ [name]: value });
    await expect(handler({}, context)).rejects.toThrow(message);
    expect(issRequests).toBe(0);
    expect(sts.calls()).toHaveLength(0);
    expect(s3.calls()).toHaveLength(0);
  });
});
