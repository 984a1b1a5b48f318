/**
 * The S3 lifecycle gate on a real moto server behind the gateway: moto drops
 * NoncurrentVersionExpiration.NewerNoncurrentVersions from a stored rule (S3 keeps it), the gate
 * puts it back into the answer, and forgets it with the configuration or the bucket.
 */
import {
  CreateBucketCommand, DeleteBucketCommand, DeleteBucketLifecycleCommand, GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand, S3Client, type LifecycleRule,
} from "@aws-sdk/client-s3";
import { startGateway, type Gateway } from "../../../scripts/emulator/gateway";
import { lifecycleGate, newerNoncurrentVersionsByRule, withNewerNoncurrentVersions } from "../../../scripts/emulator/lifecycle-gate";
import { startMoto, type MotoServer } from "../../../scripts/emulator/moto";

jest.setTimeout(60_000);

let moto: MotoServer;
let gateway: Gateway;
const client = (endpoint: string) => new S3Client({ region: "us-east-1", endpoint, forcePathStyle: true, credentials: { accessKeyId: "a", secretAccessKey: "b" } });
const rules: LifecycleRule[] = [
  { ID: "expire-noncurrent-versions", Status: "Enabled", Filter: {}, NoncurrentVersionExpiration: { NoncurrentDays: 1, NewerNoncurrentVersions: 5 } },
  { ID: "abort-incomplete-multipart-uploads", Status: "Enabled", Filter: {}, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } },
];
const expirationOf = async (endpoint: string, bucket: string) =>
  (await client(endpoint).send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules?.find((r) => r.ID === "expire-noncurrent-versions")?.NoncurrentVersionExpiration;

beforeAll(async () => {
  moto = await startMoto();
  gateway = await startGateway(moto.endpoint, [lifecycleGate()]);
});

afterAll(async () => {
  await gateway?.stop();
  await moto?.stop();
});

describe("S3 lifecycle gate", () => {
  it("answers NewerNoncurrentVersions as written, where moto alone drops it", async () => {
    await client(gateway.endpoint).send(new CreateBucketCommand({ Bucket: "lifecycle" }));
    await client(gateway.endpoint).send(new PutBucketLifecycleConfigurationCommand({ Bucket: "lifecycle", LifecycleConfiguration: { Rules: rules } }));
    expect(await expirationOf(moto.endpoint, "lifecycle")).toEqual({ NoncurrentDays: 1 }); // moto's gap (if this fails, moto fixed it: drop the gate)
    expect(await expirationOf(gateway.endpoint, "lifecycle")).toEqual({ NoncurrentDays: 1, NewerNoncurrentVersions: 5 });
    const abort = (await client(gateway.endpoint).send(new GetBucketLifecycleConfigurationCommand({ Bucket: "lifecycle" }))).Rules?.[1];
    expect(abort).toMatchObject({ ID: "abort-incomplete-multipart-uploads", AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } });
  });

  it("follows a changed configuration, and forgets it with DeleteBucketLifecycle and with the bucket", async () => {
    const changed = [{ ...rules[0], NoncurrentVersionExpiration: { NoncurrentDays: 2 } }, rules[1]];
    await client(gateway.endpoint).send(new PutBucketLifecycleConfigurationCommand({ Bucket: "lifecycle", LifecycleConfiguration: { Rules: changed } }));
    expect(await expirationOf(gateway.endpoint, "lifecycle")).toEqual({ NoncurrentDays: 2 });
    await client(gateway.endpoint).send(new PutBucketLifecycleConfigurationCommand({ Bucket: "lifecycle", LifecycleConfiguration: { Rules: rules } }));
    await client(gateway.endpoint).send(new DeleteBucketLifecycleCommand({ Bucket: "lifecycle" }));
    await expect(expirationOf(gateway.endpoint, "lifecycle")).rejects.toMatchObject({ name: "NoSuchLifecycleConfiguration" });
    await client(gateway.endpoint).send(new PutBucketLifecycleConfigurationCommand({ Bucket: "lifecycle", LifecycleConfiguration: { Rules: rules } }));
    await client(gateway.endpoint).send(new DeleteBucketCommand({ Bucket: "lifecycle" }));
    await client(gateway.endpoint).send(new CreateBucketCommand({ Bucket: "lifecycle" }));
    await client(gateway.endpoint).send(new PutBucketLifecycleConfigurationCommand({ Bucket: "lifecycle", LifecycleConfiguration: { Rules: [{ ...rules[0], NoncurrentVersionExpiration: { NoncurrentDays: 3 } }] } }));
    expect(await expirationOf(gateway.endpoint, "lifecycle")).toEqual({ NoncurrentDays: 3 });
  });

  it("adds the element only to the rule that had it, and never twice", () => {
    const put = "<LifecycleConfiguration><Rule><ID>a</ID><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>5</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>" +
      "<Rule><ID>b</ID><NoncurrentVersionExpiration><NoncurrentDays>9</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>";
    const byRule = newerNoncurrentVersionsByRule(put);
    expect([...byRule]).toEqual([["a", "5"]]);
    const moto = put.replace("<NewerNoncurrentVersions>5</NewerNoncurrentVersions>", "");
    expect(withNewerNoncurrentVersions(moto, byRule)).toBe(put);
    expect(withNewerNoncurrentVersions(put, byRule)).toBe(put);
  });
});
