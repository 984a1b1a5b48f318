/**
 * The S3 adapter and the append algorithm against moto's S3 and STS over HTTP: real conditional
 * writes (412 on a stale ETag), a real multipart-copy append above the threshold, and the
 * handler's SDK wiring (AWS_ENDPOINT_URL, path-style on an IP endpoint, assumed-role credentials).
 *
 * moto ignores If-Match on CompleteMultipartUpload and CopySourceIfMatch on UploadPartCopy (see
 * ENVIRONMENT.md), so every call here goes through the emulator gateway with the S3 conformance
 * gate (scripts/emulator/s3-gate.ts), which answers those as S3 does (412).
 */
import { CompleteMultipartUploadCommand, CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startGateway, type Gateway } from "../../scripts/emulator/gateway";
import { startMoto, type MotoServer } from "../../scripts/emulator/moto";
import { s3Gate } from "../../scripts/emulator/s3-gate";
import { assumeRole } from "../../scripts/shared/aws";
import { appendEntry } from "../../function/append";
import { formatEntry, LOG_HEADER } from "../../function/core";
import { handler } from "../../function/handler";
import { S3ObjectStore, type ObjectStore, type S3Sender } from "../../function/object-store";
import { ConflictError } from "../../function/store-errors";

const ACCOUNT_B = "111111111111";
const ROLE = `arn:aws:iam::${ACCOUNT_B}:role/iss-tracker-access`;
const BUCKET = "iss-tracker-moto-reports";
const REGION = "eu-west-1";
const THRESHOLD = 5 * 1024 * 1024;
const pos = (timestamp: number, latitude = 1, longitude = 2) => ({ timestamp, latitude, longitude });

let moto: MotoServer;
let gateway: Gateway;
let envBefore: NodeJS.ProcessEnv;
let s3: S3Client;
let key = 0;
const nextKey = () => `logs/run-${++key}.txt`;
const fast = { sleep: async () => undefined, multipartThresholdBytes: THRESHOLD };

async function readAll(objectKey: string): Promise<string> {
  const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: objectKey }));
  return out.Body!.transformToString();
}

beforeAll(async () => {
  moto = await startMoto();
  // The S3 gate reads ETags as someone acting in B (IAM enforcement is off here).
  const readAs = await assumeRole(new STSClient({ region: REGION, endpoint: moto.endpoint, credentials: { accessKeyId: "gate", secretAccessKey: "gate" } }), ROLE, "s3-gate");
  gateway = await startGateway(moto.endpoint, [s3Gate({ upstream: moto.endpoint, readAs, region: REGION }).gate]);
  envBefore = { ...process.env };
  // What the emulator sets for the bundled handler: the SDK's own endpoint override.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: gateway.endpoint,
    AWS_ACCESS_KEY_ID: "AKIAEXECUTIONROLE",
    AWS_SECRET_ACCESS_KEY: "secret",
    AWS_SESSION_TOKEN: "token",
    AWS_REGION: "us-east-1",
  });
  // Account B's S3 as the access role, as the function signs it.
  s3 = new S3Client({ region: REGION, credentials: await assumeRole(new STSClient({}), ROLE, "moto-test", "ext-123") });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET, CreateBucketConfiguration: { LocationConstraint: REGION } }));
}, 30_000);

afterAll(async () => {
  process.env = envBefore;
  await gateway?.stop();
  await moto?.stop();
});

describe("against moto S3 (assumed-role credentials in account B)", () => {
  it("creates a missing object, then appends by read-modify-write, then skips a duplicate", async () => {
    const objectKey = nextKey();
    const store = new S3ObjectStore(s3, BUCKET, objectKey);
    expect(await appendEntry(store, pos(100), fast)).toMatchObject({ path: "created" });
    expect(await appendEntry(store, pos(200), fast)).toMatchObject({ path: "read-modify-write" });
    expect(await appendEntry(store, pos(200), fast)).toMatchObject({ path: "duplicate" });
    expect(await readAll(objectKey)).toBe(LOG_HEADER + formatEntry(pos(100)) + formatEntry(pos(200)));
  });

  it("answers a stale ETag with 412 and an existing object's create with 412", async () => {
    const objectKey = nextKey();
    const store = new S3ObjectStore(s3, BUCKET, objectKey);
    const first = await store.create(Buffer.from("one\n"));
    await expect(store.create(Buffer.from("again\n"))).rejects.toBeInstanceOf(ConflictError);
    await store.replace(Buffer.from("one\ntwo\n"), first);
    await expect(store.replace(Buffer.from("one\nlost\n"), first)).rejects.toBeInstanceOf(ConflictError);
    await expect(store.readWhole(first, 4)).rejects.toBeInstanceOf(ConflictError);
    expect(await readAll(objectKey)).toBe("one\ntwo\n");
  });

  it("loses a real race on a stale ETag, re-reads, and both entries survive", async () => {
    const objectKey = nextKey();
    const mine = new S3ObjectStore(s3, BUCKET, objectKey);
    const theirs = new S3ObjectStore(s3, BUCKET, objectKey);
    await appendEntry(mine, pos(100), fast);
    // Between my read and my write, another run appends its entry.
    let raced = false;
    const racing: ObjectStore = Object.create(mine, {
      replace: {
        value: async (body: Buffer, etag: string, deliveries?: readonly string[]) => {
          if (!raced) {
            raced = true;
            await appendEntry(theirs, pos(300), fast);
          }
          return mine.replace(body, etag, deliveries);
        },
      },
    });
    const result = await appendEntry(racing, pos(200), fast);
    expect(result).toMatchObject({ path: "read-modify-write", attempts: 2 });
    expect(await readAll(objectKey)).toBe(LOG_HEADER + formatEntry(pos(100)) + formatEntry(pos(300)) + formatEntry(pos(200)));
  });

  it("appends to an object above the threshold by multipart copy, moving only its head, its tail and the entry", async () => {
    const objectKey = nextKey();
    const filler = formatEntry(pos(1)).repeat(Math.ceil((THRESHOLD + 1024 * 1024) / formatEntry(pos(1)).length));
    const original = LOG_HEADER + filler + formatEntry(pos(500));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: objectKey, Body: Buffer.from(original) }));
    const store = new S3ObjectStore(s3, BUCKET, objectKey);
    const entry = formatEntry(pos(600, -12.5, 99.25));
    const result = await appendEntry(store, pos(600, -12.5, 99.25), fast);
    expect(result).toMatchObject({ path: "multipart-append", attempts: 1, objectBytes: original.length + entry.length });
    expect(store.stats.bytesDownloaded).toBe(1024 + 64); // the tail, and the head (is it this log?)
    expect(store.stats.bytesDownloaded + store.stats.bytesUploaded).toBeLessThan(4096);
    const after = await readAll(objectKey);
    expect(after).toBe(original + entry);
    // The duplicate check on this path reads the tail only:
    expect(await appendEntry(new S3ObjectStore(s3, BUCKET, objectKey), pos(600), fast)).toMatchObject({ path: "duplicate" });
  }, 20_000);

  it("records each delivery in the object's metadata on both paths: a retried event, with a fix of another second, writes nothing", async () => {
    const small = nextKey();
    const opts = (deliveryId: string) => ({ ...fast, deliveryId });
    expect(await appendEntry(new S3ObjectStore(s3, BUCKET, small), pos(100), opts("event-a"))).toMatchObject({ path: "created" });
    expect(await appendEntry(new S3ObjectStore(s3, BUCKET, small), pos(200), opts("event-b"))).toMatchObject({ path: "read-modify-write" });
    // Lambda retries event-b a minute later: a new fix, the same event.
    expect(await appendEntry(new S3ObjectStore(s3, BUCKET, small), pos(260), opts("event-b"))).toMatchObject({ path: "duplicate", bytesAppended: 0 });
    expect(await readAll(small)).toBe(LOG_HEADER + formatEntry(pos(100)) + formatEntry(pos(200)));
    const meta = async (k: string) => (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: k }))).Metadata;
    expect(await meta(small)).toEqual({ deliveries: "event-a event-b" });

    const large = nextKey();
    const original = LOG_HEADER + formatEntry(pos(1)).repeat(Math.ceil((THRESHOLD + 1024) / formatEntry(pos(1)).length)) + formatEntry(pos(500));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: large, Body: Buffer.from(original) }));
    expect(await appendEntry(new S3ObjectStore(s3, BUCKET, large), pos(600), opts("event-c"))).toMatchObject({ path: "multipart-append" });
    expect(await meta(large)).toEqual({ deliveries: "event-c" });
    expect(await appendEntry(new S3ObjectStore(s3, BUCKET, large), pos(660), opts("event-c"))).toMatchObject({ path: "duplicate" });
    expect(await readAll(large)).toBe(original + formatEntry(pos(600)));
  }, 30_000);

  it("loses a real multipart race (its stale complete gets S3's 412 through the S3 gate), re-reads, and both entries survive", async () => {
    const objectKey = nextKey();
    const filler = formatEntry(pos(1)).repeat(Math.ceil((THRESHOLD + 1024) / formatEntry(pos(1)).length));
    const original = LOG_HEADER + filler;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: objectKey, Body: Buffer.from(original) }));
    const theirs = new S3ObjectStore(s3, BUCKET, objectKey);
    // Between my UploadPartCopy and my CompleteMultipartUpload, another run appends its entry.
    let raced = false;
    const racing: S3Sender = {
      send: (async (command: object) => {
        if (!raced && command instanceof CompleteMultipartUploadCommand) {
          raced = true;
          await appendEntry(theirs, pos(300), fast);
        }
        return s3.send(command as never);
      }) as S3Sender["send"],
    };
    const result = await appendEntry(new S3ObjectStore(racing, BUCKET, objectKey), pos(200), fast);
    expect(result).toMatchObject({ path: "multipart-append", attempts: 2 });
    expect(await readAll(objectKey)).toBe(original + formatEntry(pos(300)) + formatEntry(pos(200)));
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: objectKey }));
    expect(uploads.Uploads ?? []).toEqual([]);
  }, 20_000);
});

describe("handler wiring against moto", () => {
  /** A fresh fix: the handler checks it against its clock. */
  const TIMESTAMP = Math.floor(Date.now() / 1000);
  let iss: Server;
  beforeAll(async () => {
    iss = createServer((_req, res) => res.writeHead(200).end(JSON.stringify({ latitude: 45.5, longitude: -120.25, timestamp: TIMESTAMP })));
    await new Promise<void>((r) => iss.listen(0, "127.0.0.1", r));
  });
  afterAll(async () => {
    iss.closeAllConnections();
    await new Promise((r) => iss.close(r));
  });

  it("honours AWS_ENDPOINT_URL for STS and S3 (path-style on the IP endpoint) and appends", async () => {
    const objectKey = nextKey();
    Object.assign(process.env, {
      ACCESS_ROLE_ARN: ROLE,
      EXTERNAL_ID: "ext-123",
      BUCKET_NAME: BUCKET,
      BUCKET_REGION: REGION,
      OBJECT_KEY: objectKey,
      ISS_SOURCES: `http://127.0.0.1:${(iss.address() as AddressInfo).port}/v1/satellites/25544`,
    });
    const log = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      const summary = await handler({}, { awsRequestId: "req-moto", functionName: "iss-tracker-function", getRemainingTimeInMillis: () => 30_000 });
      expect(summary.targets).toEqual([expect.objectContaining({ path: "created", issTimestamp: TIMESTAMP, bucket: BUCKET, key: objectKey })]);
      expect(await readAll(objectKey)).toBe(LOG_HEADER + formatEntry({ timestamp: TIMESTAMP, latitude: 45.5, longitude: -120.25 }));
    } finally {
      log.mockRestore();
    }
  });
});
