/**
 * S3 bucket-owner condition gate (a gateway middleware, see ./gateway.ts): moto 5.2.1 ignores
 * `x-amz-expected-bucket-owner` (and, on copies, `x-amz-source-expected-bucket-owner`). S3 refuses a
 * request whose expected owner is not the account that owns the bucket, with 403 AccessDenied
 * (S3 User Guide, "Verifying bucket ownership with bucket owner condition"), which is what keeps a
 * caller from writing into a bucket of the same name that another account created. The gate puts
 * that back: it asks `ownerOf` which account owns the bucket (an administrator's ListBuckets per
 * account, straight to moto) and answers a mismatch as S3 does. Everything else passes through.
 */
import { s3Error, type Gate } from "./gateway";
import { header, isS3, parseCopySource, parseS3Target } from "./s3-request";

export interface BucketOwnerGateOptions {
  /** The account that owns a bucket, or undefined when no account has it. */
  readonly ownerOf: (bucket: string) => Promise<string | undefined>;
}

export interface BucketOwnerGate {
  readonly gate: Gate;
  /** Requests refused for naming another owner, so far. */
  refused(): number;
}

export function bucketOwnerGate(options: BucketOwnerGateOptions): BucketOwnerGate {
  let refused = 0;
  const gate: Gate = async (req, next) => {
    if (!isS3(req)) return next();
    const expected = header(req, "x-amz-expected-bucket-owner");
    const sourceExpected = header(req, "x-amz-source-expected-bucket-owner");
    if (expected === undefined && sourceExpected === undefined) return next();
    const target = parseS3Target(req.url, header(req, "host"));
    const copySource = header(req, "x-amz-copy-source");
    const source = copySource === undefined ? undefined : parseCopySource(copySource);
    const checks: Array<[string | undefined, string | undefined]> = [[expected, target?.bucket], [sourceExpected, source?.bucket]];
    for (const [account, bucket] of checks) {
      if (account === undefined || bucket === undefined) continue;
      const owner = await options.ownerOf(bucket);
      if (owner !== undefined && owner !== account) {
        refused++;
        return s3Error(403, "AccessDenied", "Access Denied");
      }
    }
    return next();
  };
  return { gate, refused: () => refused };
}
