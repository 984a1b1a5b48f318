/**
 * The bucket-owner condition as S3 documents it ("Verifying bucket ownership with bucket owner
 * condition": a request whose expected owner is not the bucket's account fails with 403
 * AccessDenied), put back in front of moto, which ignores it, and the function's store against it:
 * a bucket of the log's name in another account is refused, never written.
 */
import { CreateBucketCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { S3ObjectStore } from "../../../function/object-store";
import { StoreAccessDeniedError } from "../../../function/store-errors";
import { startLocalAws, type LocalAws } from "../../../scripts/emulator/local-aws";

let local: LocalAws;
const BUCKET_OF_A = "iss-owner-test-bucket-of-a";

beforeAll(async () => {
  local = await startLocalAws({ gates: ["owner"] });
  const s3A = new S3Client({ region: local.region, endpoint: local.motoEndpoint, forcePathStyle: true, credentials: local.adminA });
  await s3A.send(new CreateBucketCommand({ Bucket: BUCKET_OF_A }));
}, 30_000);
afterAll(() => local?.stop());

const storeAs = (expectedOwner: string, key: string) =>
  new S3ObjectStore(new S3Client({ region: local.region, endpoint: local.endpoint, forcePathStyle: true, credentials: local.adminA }), BUCKET_OF_A, key, { expectedOwner });

describe("bucketOwnerGate", () => {
  it("refuses a write into a bucket another account owns with 403, and nothing is written", async () => {
    const error = await storeAs(local.accountB, "refused.txt").create(Buffer.from("x")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreAccessDeniedError);
    expect((error as Error).message).toMatch(/^AccessDenied: PutObject \(create\) on s3:\/\/iss-owner-test-bucket-of-a\/refused\.txt .*ExpectedBucketOwner/);
    const s3A = new S3Client({ region: local.region, endpoint: local.motoEndpoint, forcePathStyle: true, credentials: local.adminA });
    await expect(s3A.send(new GetObjectCommand({ Bucket: BUCKET_OF_A, Key: "refused.txt" }))).rejects.toMatchObject({ name: "NoSuchKey" });
    expect(local.ownerGate!.refused()).toBe(1);
  });

  it("lets the bucket's own account through", async () => {
    await expect(storeAs(local.accountA, "allowed.txt").create(Buffer.from("x"))).resolves.toMatch(/^"/);
  });

  it("moto alone writes whatever the expected owner says (what the gate puts back)", async () => {
    const bare = new S3ObjectStore(new S3Client({ region: local.region, endpoint: local.motoEndpoint, forcePathStyle: true, credentials: local.adminA }), BUCKET_OF_A, "bare.txt", { expectedOwner: local.accountB });
    await expect(bare.create(Buffer.from("x"))).resolves.toMatch(/^"/);
  });
});
