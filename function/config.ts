/**
 * The function's configuration, read from the Lambda environment the stack sets.
 * Every problem names its variable and is thrown before anything is read or written.
 */

export const MIN_MULTIPART_THRESHOLD = 5 * 1024 * 1024; // S3's minimum part size
/** A single PutObject carries at most 5 GiB: read-modify-write cannot go beyond that. */
export const MAX_MULTIPART_THRESHOLD = 5 * 1024 * 1024 * 1024;
/** Memory assumed when AWS_LAMBDA_FUNCTION_MEMORY_SIZE is not set (a local run): the stack's default. */
export const DEFAULT_MEMORY_MB = 256;
/**
 * What Node, the SDK and the bundle take before any object is held: measured here, a node process
 * is at 39 MiB RSS, 57 MiB once the bundle is loaded; the rest of the reserve covers clients and
 * sockets of a run.
 */
export const RUNTIME_RESERVE_MB = 64;

/**
 * The largest MULTIPART_THRESHOLD_BYTES a function of `memoryMb` can afford. Below the threshold
 * the append reads the object whole and writes it back, holding it about twice at once (the read
 * and the concatenated body) plus the SDK's buffers: a third of what the runtime leaves, to keep
 * headroom. 256 MB → 64 MiB; 128 MB (Lambda's minimum) → 21 MiB; never above 5 GiB.
 */
export function maxMultipartThreshold(memoryMb: number): number {
  const bytes = Math.floor(((memoryMb - RUNTIME_RESERVE_MB) * 1024 * 1024) / 3);
  return Math.min(MAX_MULTIPART_THRESHOLD, Math.max(MIN_MULTIPART_THRESHOLD, bytes));
}

export interface TrackerConfig {
  readonly accessRoleArn: string;
  readonly externalId: string;
  readonly bucket: string;
  readonly bucketRegion: string;
  readonly key: string;
  readonly issSources: readonly string[];
  readonly multipartThresholdBytes: number;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@\/-]{1,512}$/;
const EXTERNAL_ID = /^[\w+=,.@:\/-]{2,1224}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): TrackerConfig {
  const problems: string[] = [];
  const read = (name: string, pattern: RegExp | undefined, hint: string, fallback?: string): string => {
    const raw = env[name]?.trim();
    const value = raw === undefined || raw === "" ? fallback : raw;
    if (value === undefined) {
      problems.push(`${name} is not set (${hint})`);
      return "";
    }
    if (pattern && !pattern.test(value)) problems.push(`${name} is invalid: ${JSON.stringify(value)} (${hint})`);
    return value;
  };

  const accessRoleArn = read("ACCESS_ROLE_ARN", ROLE_ARN, "ARN of the role in account B to assume, arn:aws:iam::<12 digits>:role/<name>");
  const externalId = read("EXTERNAL_ID", EXTERNAL_ID, "the access role's sts:ExternalId, 2-1224 of [\\w+=,.@:/-]");
  const bucket = read("BUCKET_NAME", BUCKET, "an S3 bucket name");
  const bucketRegion = read("BUCKET_REGION", REGION, "the bucket's region, e.g. us-east-1");
  const key = read("OBJECT_KEY", undefined, "the object to append to", "iss_position.txt");
  if (Buffer.byteLength(key) > 1024) problems.push("OBJECT_KEY is invalid: longer than 1024 bytes");

  const sourcesRaw = read("ISS_SOURCES", undefined, "comma-separated http(s) URLs of ISS position APIs, tried in order");
  const issSources = sourcesRaw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (sourcesRaw && issSources.length === 0) problems.push("ISS_SOURCES is invalid: no URL in it");
  for (const source of issSources) {
    let url: URL | undefined;
    try {
      url = new URL(source);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      problems.push(`ISS_SOURCES is invalid: ${JSON.stringify(source)} is not an http(s) URL`);
    }
  }

  const memoryRaw = env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE?.trim();
  const memoryMb = memoryRaw && /^\d+$/.test(memoryRaw) ? Number(memoryRaw) : DEFAULT_MEMORY_MB;
  const maxThreshold = maxMultipartThreshold(memoryMb);
  let multipartThresholdBytes = MIN_MULTIPART_THRESHOLD;
  const thresholdRaw = env.MULTIPART_THRESHOLD_BYTES?.trim();
  if (thresholdRaw) {
    const n = /^\d+$/.test(thresholdRaw) ? Number(thresholdRaw) : NaN;
    if (!Number.isSafeInteger(n) || n < MIN_MULTIPART_THRESHOLD || n > maxThreshold) {
      problems.push(
        `MULTIPART_THRESHOLD_BYTES is invalid: ${JSON.stringify(thresholdRaw)} (an integer number of bytes from ` +
          `${MIN_MULTIPART_THRESHOLD} (5 MiB, S3's minimum part size) to ${maxThreshold} (a third of what ${memoryMb} MB of function memory` +
          `${memoryRaw ? "" : " (assumed: AWS_LAMBDA_FUNCTION_MEMORY_SIZE is not set)"} leaves after the runtime: below the threshold ` +
          `the object is held in memory about twice). Lower it, or give the function more memory`,
      );
    } else {
      multipartThresholdBytes = n;
    }
  }

  if (problems.length > 0) {
    throw new ConfigError(`Invalid function configuration:\n- ${problems.join("\n- ")}`);
  }
  return { accessRoleArn, externalId, bucket, bucketRegion, key, issSources, multipartThresholdBytes };
}
