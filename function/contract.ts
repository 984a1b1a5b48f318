/**
 * The contract between the stack and the function: the environment variables the stack sets and
 * the function reads, how each is validated, and the constants both sides rely on. stacks/ builds
 * the environment with `trackerEnvironment`, the function reads it back with
 * `readTrackerEnvironment`, and doctor compares a deployed function's environment with what
 * `trackerEnvironment` gives for the configuration. Bundled into the function: no dependencies.
 */
import { createHash } from "node:crypto";

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

/**
 * The `msg` of the function's log lines (one JSON object each, on stdout): the stack's metric
 * filters select on these fields, and doctor and the tests read them.
 */
export const LOG_MESSAGES = {
  /** A target's log gained the run's entry (its line carries `target`, the account id). */
  appended: "entry appended",
  /** The entry was in the target's log already: nothing written. */
  duplicate: "entry already in the log; nothing written",
  targetFailed: "target failed",
  /** Every target's outcome, once per run. */
  runFinished: "run finished",
  runFailed: "run failed",
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

/** One log the function appends to: an object in a bucket of one account, reached through that account's access role. */
export interface TrackerTarget {
  /** The target's account id: names it in log lines, summaries and alarms. */
  readonly id: string;
  readonly accessRoleArn: string;
  readonly externalId: string;
  readonly bucket: string;
  readonly bucketRegion: string;
  readonly key: string;
}

/** What the stack tells the function: where to append, and from which ISS sources. */
export interface TrackerSettings {
  /** Every log a run appends its entry to (one per account). */
  readonly targets: readonly TrackerTarget[];
  /** Tried in order. */
  readonly issSources: readonly string[];
}

/** The key given when OBJECT_KEY is unset. */
export const DEFAULT_OBJECT_KEY = "iss_position.txt";

/**
 * The AWS partition a region belongs to: every ARN starts with arn:<partition>:. China regions are
 * aws-cn, GovCloud aws-us-gov, the ISO regions their own; all others aws.
 */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  const iso = /^[a-z]{2}-(iso[a-z]?)-/.exec(region);
  if (iso) return iso[1] === "iso" ? "aws-iso" : `aws-iso-${iso[1].slice(3)}`;
  return "aws";
}

/** The access role's name in every target account. */
export const accessRoleName = (namePrefix: string) => `${namePrefix}-report-writer`;

/** The report bucket's default name; fits S3's 63 characters for every valid prefix (24) and region code. */
export const defaultBucketName = (namePrefix: string, accountId: string, region: string) => `${namePrefix}-reports-${accountId}-${region}`;

/** Derived, stable external id: not a secret, but unique per deployment and target (confused-deputy guard). */
export function deriveExternalId(accountId: string, namePrefix: string, bucketName: string, objectKey: string): string {
  const digest = createHash("sha256").update(`iss-tracker|${accountId}|${namePrefix}|${bucketName}|${objectKey}`).digest("hex");
  return `${namePrefix}-${digest.slice(0, 32)}`;
}

interface Variable {
  readonly name: string;
  /** What a valid value is, for the message naming a missing or invalid one. */
  readonly hint: string;
  readonly valid: (value: string) => boolean;
}

type SingleTargetField = Exclude<keyof TrackerTarget, "id">;

/**
 * One target: these variables, in the order the stack sets them. Several targets: TARGETS (a JSON
 * list, see TargetEntry) with NAME_PREFIX and OBJECT_KEY for what each entry leaves out: Lambda's
 * environment holds 4 KB in all, and a full entry takes about 180 bytes.
 */
export const TRACKER_VARIABLES = {
  accessRoleArn: { name: "ACCESS_ROLE_ARN", hint: "ARN of the role in account B to assume, arn:aws:iam::<12 digits>:role/<name>", valid: (v) => ROLE_ARN_PATTERN.test(v) },
  externalId: { name: "EXTERNAL_ID", hint: "the access role's sts:ExternalId, 2-1224 of [\\w+=,.@:/-]", valid: (v) => EXTERNAL_ID_PATTERN.test(v) },
  bucket: { name: "BUCKET_NAME", hint: "an S3 bucket name", valid: isBucketName },
  bucketRegion: { name: "BUCKET_REGION", hint: "the bucket's region, e.g. us-east-1", valid: (v) => REGION_PATTERN.test(v) },
  key: { name: "OBJECT_KEY", hint: "the object to append to, at most 1024 bytes", valid: (v) => new TextEncoder().encode(v).length <= 1024 },
} as const satisfies Record<SingleTargetField, Variable>;

export const ISS_SOURCES_VARIABLE: Variable = {
  name: "ISS_SOURCES", hint: "comma-separated http(s) URLs of ISS position APIs, tried in order",
  valid: (v) => splitSources(v).length > 0 && splitSources(v).every(isHttpUrl),
};

/** One entry of TARGETS: the account and region, and the bucket, key and external id where they are not the defaults. */
export interface TargetEntry {
  readonly account: string;
  readonly region: string;
  readonly bucket?: string;
  readonly key?: string;
  readonly externalId?: string;
}

export const TARGETS_VARIABLE = "TARGETS";
export const NAME_PREFIX_VARIABLE = "NAME_PREFIX";

function splitSources(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/** What the stack knows of a target when it builds the environment (values may be Terraform references). */
export interface TargetEnvironment extends Omit<TrackerTarget, "id"> {
  readonly account: string;
}

/**
 * The environment the stack gives the function. One target: its five variables. Several: TARGETS,
 * each entry with only what differs from what NAME_PREFIX and OBJECT_KEY imply (the role, the
 * bucket's default name and the derived external id), which the function derives the same way.
 */
export function trackerEnvironment(namePrefix: string, defaultKey: string, targets: readonly TargetEnvironment[], issSources: readonly string[]): Record<string, string> {
  if (targets.length === 1) {
    const [t] = targets;
    return { ...Object.fromEntries(Object.entries(TRACKER_VARIABLES).map(([field, v]) => [v.name, t[field as SingleTargetField]])), [ISS_SOURCES_VARIABLE.name]: issSources.join(",") };
  }
  const entries: TargetEntry[] = targets.map((t) => ({
    account: t.account,
    region: t.bucketRegion,
    ...(t.bucket === defaultBucketName(namePrefix, t.account, t.bucketRegion) ? {} : { bucket: t.bucket }),
    ...(t.key === defaultKey ? {} : { key: t.key }),
    ...(t.externalId === deriveExternalId(t.account, namePrefix, t.bucket, t.key) ? {} : { externalId: t.externalId }),
  }));
  return {
    [TARGETS_VARIABLE]: JSON.stringify(entries),
    [NAME_PREFIX_VARIABLE]: namePrefix,
    [TRACKER_VARIABLES.key.name]: defaultKey,
    [ISS_SOURCES_VARIABLE.name]: issSources.join(","),
  };
}

/** The target one TARGETS entry describes, with the defaults filled in as the stack fills them. */
export function targetOf(entry: TargetEntry, namePrefix: string, defaultKey: string): TrackerTarget {
  const bucket = entry.bucket ?? defaultBucketName(namePrefix, entry.account, entry.region);
  const key = entry.key ?? defaultKey;
  return {
    id: entry.account,
    accessRoleArn: `arn:${partitionOf(entry.region)}:iam::${entry.account}:role/${accessRoleName(namePrefix)}`,
    externalId: entry.externalId ?? deriveExternalId(entry.account, namePrefix, bucket, key),
    bucket,
    bucketRegion: entry.region,
    key,
  };
}

const PREFIX_PATTERN = /^[a-z][a-z0-9-]{1,22}[a-z0-9]$/;

function readTargets(env: Readonly<Record<string, string | undefined>>, problems: string[]): TrackerTarget[] {
  const text = env[TARGETS_VARIABLE]?.trim();
  const namePrefix = env[NAME_PREFIX_VARIABLE]?.trim() ?? "";
  const defaultKey = env[TRACKER_VARIABLES.key.name]?.trim() || DEFAULT_OBJECT_KEY;
  if (!PREFIX_PATTERN.test(namePrefix)) problems.push(`${NAME_PREFIX_VARIABLE} is ${namePrefix ? `invalid: ${JSON.stringify(namePrefix)}` : "not set"} (the deployment's name prefix, which names every target's access role and default bucket)`);
  let entries: unknown;
  try {
    entries = JSON.parse(text ?? "");
  } catch {
    entries = undefined;
  }
  const hint = `a JSON list of {"account":"<12 digits>","region":"<region>"} with optional "bucket", "key" and "externalId"`;
  if (!Array.isArray(entries) || entries.length === 0) {
    problems.push(`${TARGETS_VARIABLE} is invalid: ${JSON.stringify((text ?? "").slice(0, 80))} (${hint})`);
    return [];
  }
  const targets: TrackerTarget[] = [];
  entries.forEach((entry: Partial<Record<keyof TargetEntry, unknown>>, i) => {
    const ok = typeof entry === "object" && entry !== null && typeof entry.account === "string" && /^\d{12}$/.test(entry.account) &&
      typeof entry.region === "string" && REGION_PATTERN.test(entry.region) &&
      (entry.bucket === undefined || (typeof entry.bucket === "string" && isBucketName(entry.bucket))) &&
      (entry.key === undefined || (typeof entry.key === "string" && TRACKER_VARIABLES.key.valid(entry.key))) &&
      (entry.externalId === undefined || (typeof entry.externalId === "string" && EXTERNAL_ID_PATTERN.test(entry.externalId)));
    if (!ok) problems.push(`${TARGETS_VARIABLE} entry ${i + 1} is invalid: ${JSON.stringify(entry).slice(0, 160)} (${hint})`);
    else targets.push(targetOf(entry as TargetEntry, namePrefix, defaultKey));
  });
  const ids = targets.map((t) => t.id);
  const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (twice.length > 0) problems.push(`${TARGETS_VARIABLE} names account ${twice[0]} twice (one log per account)`);
  return targets;
}

function readSingleTarget(env: Readonly<Record<string, string | undefined>>, problems: string[]): TrackerTarget[] {
  const values: Partial<Record<SingleTargetField, string>> = {};
  for (const [field, variable] of Object.entries(TRACKER_VARIABLES) as Array<[SingleTargetField, Variable]>) {
    const raw = env[variable.name]?.trim();
    const value = raw ? raw : field === "key" ? DEFAULT_OBJECT_KEY : undefined;
    if (value === undefined) problems.push(`${variable.name} is not set (${variable.hint})`);
    else if (!variable.valid(value)) problems.push(`${variable.name} is invalid: ${JSON.stringify(value)} (${variable.hint})`);
    else values[field] = value;
  }
  if (Object.keys(values).length < Object.keys(TRACKER_VARIABLES).length) return [];
  const v = values as Record<SingleTargetField, string>;
  return [{ id: v.accessRoleArn.split(":")[4], ...v }];
}

/**
 * The function's side: the settings from its environment, or every problem (each naming its
 * variable). TARGETS when set, else the one target's variables (OBJECT_KEY may be unset:
 * DEFAULT_OBJECT_KEY); ISS_SOURCES always.
 */
export function readTrackerEnvironment(env: Readonly<Record<string, string | undefined>>): { settings?: TrackerSettings; problems: string[] } {
  const problems: string[] = [];
  const targets = env[TARGETS_VARIABLE]?.trim() ? readTargets(env, problems) : readSingleTarget(env, problems);
  const sources = env[ISS_SOURCES_VARIABLE.name]?.trim();
  if (!sources) problems.push(`${ISS_SOURCES_VARIABLE.name} is not set (${ISS_SOURCES_VARIABLE.hint})`);
  else if (!ISS_SOURCES_VARIABLE.valid(sources)) problems.push(`${ISS_SOURCES_VARIABLE.name} is invalid: ${JSON.stringify(sources)} (${ISS_SOURCES_VARIABLE.hint})`);
  if (problems.length > 0) return { problems };
  return { problems, settings: { targets, issSources: splitSources(sources ?? "") } };
}
