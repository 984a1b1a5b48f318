/**
 * The contract between the stack and the function: the environment variables the stack sets and
 * the function reads, how each is validated, and the constants both sides rely on. stacks/ builds
 * the environment with `trackerEnvironment`, the function reads it back with
 * `readTrackerEnvironment`, and doctor compares a deployed function's environment with what
 * `trackerEnvironment` gives for the configuration. Bundled into the function: no dependencies.
 */

/**
 * The function's size and time as the stack deploys it: the memory bounds what the function may hold
 * (function/config.ts), the timeout is a local run's deadline too (function/handler.ts).
 */
export const FUNCTION_DEFAULTS = {
  /** MiB. The function's memory does not grow with the log (large logs are appended server-side); this buys CPU for a faster cold start. */
  memoryMb: 256,
  /** Seconds. Every outside call is bounded by what is left of it, and retries go on while an attempt fits. */
  timeoutSeconds: 30,
} as const;

/** STS caps a role-chained session (a Lambda assuming a role) at one hour; the access role allows no more. */
export const ROLE_CHAINING_MAX_SECONDS = 3600;

/** STS's ExternalId: 2-1224 characters of these. */
export const EXTERNAL_ID_PATTERN = /^[\w+=,.@:/-]{2,1224}$/;
/** An AWS region code, commercial, GovCloud, China or ISO (us-east-1, us-gov-west-1, cn-north-1, us-isob-east-1). */
export const REGION_PATTERN = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$/;
/** An IAM role ARN in any partition, path included. */
export const ROLE_ARN_PATTERN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/**
 * S3's rules for a general purpose bucket's name: 3-63 characters of a-z, 0-9, '.' and '-', starting
 * and ending with a letter or digit, no '..', not an IP address, not starting with xn--.
 */
export function isBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes("..") && !/^\d+\.\d+\.\d+\.\d+$/.test(name) && !name.startsWith("xn--");
}

/** An http(s) URL (what an ISS source must be). */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

/** What the stack tells the function: where to append, through which role, from which ISS sources. */
export interface TrackerSettings {
  readonly accessRoleArn: string;
  readonly externalId: string;
  readonly bucket: string;
  readonly bucketRegion: string;
  readonly key: string;
  /** Tried in order. */
  readonly issSources: readonly string[];
}

/** The key given when OBJECT_KEY is unset (the stack always sets it). */
export const DEFAULT_OBJECT_KEY = "iss_position.txt";

interface Variable {
  readonly name: string;
  /** What a valid value is, for the message naming a missing or invalid one. */
  readonly hint: string;
  readonly valid: (value: string) => boolean;
}

/** The variables, in the order the stack sets them. */
export const TRACKER_VARIABLES = {
  accessRoleArn: { name: "ACCESS_ROLE_ARN", hint: "ARN of the role in account B to assume, arn:aws:iam::<12 digits>:role/<name>", valid: (v) => ROLE_ARN_PATTERN.test(v) },
  externalId: { name: "EXTERNAL_ID", hint: "the access role's sts:ExternalId, 2-1224 of [\\w+=,.@:/-]", valid: (v) => EXTERNAL_ID_PATTERN.test(v) },
  bucket: { name: "BUCKET_NAME", hint: "an S3 bucket name", valid: isBucketName },
  bucketRegion: { name: "BUCKET_REGION", hint: "the bucket's region, e.g. us-east-1", valid: (v) => REGION_PATTERN.test(v) },
  key: { name: "OBJECT_KEY", hint: "the object to append to, at most 1024 bytes", valid: (v) => new TextEncoder().encode(v).length <= 1024 },
  issSources: { name: "ISS_SOURCES", hint: "comma-separated http(s) URLs of ISS position APIs, tried in order", valid: (v) => splitSources(v).length > 0 && splitSources(v).every(isHttpUrl) },
} as const satisfies Record<keyof TrackerSettings, Variable>;

function splitSources(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/** The environment the stack gives the function (values may be Terraform references). */
export function trackerEnvironment(settings: TrackerSettings): Record<string, string> {
  const text = (name: keyof TrackerSettings) => (name === "issSources" ? settings.issSources.join(",") : settings[name]);
  return Object.fromEntries(Object.entries(TRACKER_VARIABLES).map(([name, v]) => [v.name, text(name as keyof TrackerSettings)]));
}

/**
 * The function's side: the settings from its environment, or every problem (each naming its
 * variable). OBJECT_KEY may be unset (DEFAULT_OBJECT_KEY); every other variable is required.
 */
export function readTrackerEnvironment(env: Readonly<Record<string, string | undefined>>): { settings?: TrackerSettings; problems: string[] } {
  const problems: string[] = [];
  const values: Partial<Record<keyof TrackerSettings, string>> = {};
  for (const [field, variable] of Object.entries(TRACKER_VARIABLES) as Array<[keyof TrackerSettings, Variable]>) {
    const raw = env[variable.name]?.trim();
    const value = raw ? raw : field === "key" ? DEFAULT_OBJECT_KEY : undefined;
    if (value === undefined) problems.push(`${variable.name} is not set (${variable.hint})`);
    else if (!variable.valid(value)) problems.push(`${variable.name} is invalid: ${JSON.stringify(value)} (${variable.hint})`);
    else values[field] = value;
  }
  if (problems.length > 0) return { problems };
  const v = values as Record<keyof TrackerSettings, string>;
  return {
    problems,
    settings: { accessRoleArn: v.accessRoleArn, externalId: v.externalId, bucket: v.bucket, bucketRegion: v.bucketRegion, key: v.key, issSources: splitSources(v.issSources) },
  };
}
