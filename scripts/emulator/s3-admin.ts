/**
 * S3 administration on the emulator, as a bucket's administrator straight to moto (not through
 * the gateway, so no gate or injected fault touches it): read an object's bytes, empty a bucket of
 * every version and delete marker. The rehearsal reads and empties the report bucket with it, the
 * tests and benchmarks read what the function wrote.
 */
import { DeleteObjectsCommand, GetObjectCommand, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { assumeRole, type Credentials } from "../shared/aws";

/** Who a gate reads a bucket as: one administrator, or the administrator of the bucket's account. */
export type BucketReader = Credentials | ((bucket: string) => Credentials | Promise<Credentials>);

/**
 * S3 clients straight to moto (no retries: a gate's read must not hide a fault) as the
 * administrator `readAs` names for each bucket, one client per set of credentials.
 */
export function bucketAdminClients(options: { readonly readAs: BucketReader; readonly upstream: string; readonly region?: string }): (bucket: string) => Promise<S3Client> {
  const clients = new Map<string, S3Client>();
  return async (bucket) => {
    const credentials = typeof options.readAs === "function" ? await options.readAs(bucket) : options.readAs;
    let client = clients.get(credentials.accessKeyId);
    if (!client) {
      client = new S3Client({ region: options.region ?? "us-east-1", endpoint: options.upstream, forcePathStyle: true, credentials, maxAttempts: 1 });
      clients.set(credentials.accessKeyId, client);
    }
    return client;
  };
}

/**
 * An account's S3 straight to moto, as that account's administrator: moto serves any account id
 * through AssumeRole (with IAM enforcement off, as on a bare moto).
 */
export async function accountS3(motoEndpoint: string, account: string, region = "us-east-1"): Promise<S3Client> {
  const sts = new STSClient({ region, endpoint: motoEndpoint, credentials: { accessKeyId: "setup", secretAccessKey: "setup" } });
  const credentials = await assumeRole(sts, `arn:aws:iam::${account}:role/admin`, "setup");
  return new S3Client({ region, endpoint: motoEndpoint, forcePathStyle: true, credentials });
}

/** The object's bytes, or undefined when it does not exist (yet). */
export async function readObject(s3: S3Client, bucket: string, key: string): Promise<Buffer | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await res.Body!.transformToByteArray());
  } catch (error) {
    if ((error as { name?: string }).name === "NoSuchKey") return undefined;
    throw error;
  }
}

/** Deletes every version and delete marker in the bucket; returns how many. */
export async function emptyBucket(s3: S3Client, bucket: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
    if (objects.length === 0) return deleted;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
    deleted += objects.length;
  }
}
