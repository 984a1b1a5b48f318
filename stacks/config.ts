/**
 * The app's configuration: one typed, validated object built from environment variables and
 * `cdktf.json` context (an environment variable wins over the context key of the same setting).
 *
 * Every problem is collected and reported at once, each naming the setting (both spellings) and
 * the fix, so a bad value fails `cdktf synth` before anything is planned.
 */
import { createHash } from "node:crypto";
import { formatDuration, ScheduleExpressionError, schedulePeriodSeconds } from "./schedule-period";

/** A setting's two spellings and its documentation (rendered into README and `help`). */
export interface SettingSpec {
  /** Environment variable, e.g. ACCOUNT_B_ID. */
  readonly env: string;
  /** cdktf.json context key, e.g. accountBId. */
  readonly context: string;
  readonly default: string;
  readonly description: string;
}

export const SETTINGS = {
  accountBId: { env: "ACCOUNT_B_ID", context: "accountBId", default: "(required)", description: "Account B (bucket + access role), 12 digits." },
  accountAId: { env: "ACCOUNT_A_ID", context: "accountAId", default: "(any)", description: "Account A (function). When set, the A provider refuses to run in any other account." },
  regionA: { env: "REGION_A", context: "regionA", default: "us-east-1", description: "Region of account A's resources." },
  regionB: { env: "REGION_B", context: "regionB", default: "us-east-1", description: "Region of the report bucket in account B." },
  bootstrapRoleName: { env: "BOOTSTRAP_ROLE_NAME", context: "bootstrapRoleName", default: "terraform", description: "Role in B that the account_b provider assumes (created by the bootstrap stack)." },
  deployerPrincipalArn: { env: "DEPLOYER_PRINCIPAL_ARN", context: "deployerPrincipalArn", default: "(asked at deploy)", description: "Principal in A allowed to assume the bootstrap role (bootstrap stack only)." },
  namePrefix: { env: "NAME_PREFIX", context: "namePrefix", default: "iss-tracker", description: "Prefix of every resource name: 3-24 of a-z, 0-9, '-', starting with a letter." },
  bucketName: { env: "BUCKET_NAME", context: "bucketName", default: "<prefix>-reports-<B>-<regionB>", description: "Report bucket in B (globally unique)." },
  objectKey: { env: "OBJECT_KEY", context: "objectKey", default: "iss_position.txt", description: "The one object the function appends to." },
  schedule: { env: "SCHEDULE", context: "schedule", default: "rate(5 minutes)", description: "EventBridge schedule expression: rate(...) or cron(...)." },
  externalId: { env: "EXTERNAL_ID", context: "externalId", default: "derived from B, prefix, bucket, key", description: "sts:ExternalId the access role requires (2-1224 of [\\w+=,.@:/-])." },
  issSources: { env: "ISS_SOURCES", context: "issSources", default: "open-notify, then wheretheiss.at", description: "Comma-separated ISS position URLs, tried in order." },
  logRetentionDays: { env: "LOG_RETENTION_DAYS", context: "logRetentionDays", default: "365", description: "Retention of the function's log group (a CloudWatch Logs value)." },
  noncurrentVersionDays: { env: "NONCURRENT_VERSION_DAYS", context: "noncurrentVersionDays", default: "1", description: "Days an earlier version of the log is kept after it was replaced (1-3650): the undo window. Every append stores a new version of the whole log, so this multiplies storage (npx tsx scripts/bench/storage.ts)." },
  newerNoncurrentVersions: { env: "NEWER_NONCURRENT_VERSIONS", context: "newerNoncurrentVersions", default: "5", description: "Earlier versions of the log kept regardless of age (0-100): the last states stay recoverable even after the function stopped writing." },
  allowBucketDestroy: { env: "ALLOW_BUCKET_DESTROY", context: "allowBucketDestroy", default: "false", description: "true lifts the report bucket's prevent_destroy for a deliberate `cdktf destroy` (archive and empty the log first; the destroy then refuses while the log exists). Unset it again afterwards." },
  stateBucket: { env: "STATE_BUCKET", context: "stateBucket", default: "(local state)", description: "S3 bucket for Terraform state; unset keeps state in local files." },
  stateKeyPrefix: { env: "STATE_KEY_PREFIX", context: "stateKeyPrefix", default: "<prefix>", description: "State object key prefix: <prefix>/<stack>.tfstate." },
  stateRegion: { env: "STATE_REGION", context: "stateRegion", default: "<regionA>", description: "Region of the state bucket." },
  stateLockTable: { env: "STATE_LOCK_TABLE", context: "stateLockTable", default: "(S3 lock file)", description: "DynamoDB lock table; unset uses S3 native locking (use_lockfile)." },
  alertEmail: { env: "ALERT_EMAIL", context: "alertEmail", default: "(none)", description: "Email address subscribed to the alarms' SNS topic (AWS mails a confirmation link first). Unset: the topic has no subscriber; subscribe one yourself." },
  alarmMissedRuns: { env: "ALARM_MISSED_RUNS", context: "alarmMissedRuns", default: "3", description: "The log-stalled alarm fires when fewer than one entry was appended in this many schedule periods (1-100; the window must fit CloudWatch's 7 days)." },
  localEndpoint: { env: "ISS_TRACKER_LOCAL_ENDPOINT", context: "localEndpoint", default: "(unset)", description: "Local emulator endpoint (loopback only; set by npm start)." },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

export const DEFAULT_ISS_SOURCES = [
  "http://api.open-notify.org/iss-now.json",
  "https://api.wheretheiss.at/v1/satellites/25544",
] as const;

/** CloudWatch Logs accepts only these retention values. */
export const LOG_RETENTION_VALUES = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export interface StateBackendConfig {
  readonly bucket: string;
  readonly keyPrefix: string;
  readonly region: string;
  /** DynamoDB table; when undefined, S3 native locking (use_lockfile) is used. */
  readonly lockTable?: string;
}

export interface AppConfig {
  readonly accountBId: string;
  readonly accountAId?: string;
  readonly regionA: string;
  readonly regionB: string;
  readonly bootstrapRoleName: string;
  readonly deployerPrincipalArn?: string;
  readonly namePrefix: string;
  readonly bucketName: string;
  readonly objectKey: string;
  readonly schedule: string;
  /** Longest interval between two scheduled runs, in seconds (see schedule-period.ts). */
  readonly schedulePeriodSeconds: number;
  readonly externalId: string;
  readonly issSources: readonly string[];
  readonly logRetentionDays: number;
  readonly noncurrentVersionDays: number;
  readonly newerNoncurrentVersions: number;
  /** True only for a deliberate destroy of the report bucket (ALLOW_BUCKET_DESTROY=true). */
  readonly allowBucketDestroy: boolean;
  /** The AWS partition of both accounts (aws, aws-cn, aws-us-gov, ...), derived from the regions. */
  readonly partition: string;
  /** Address subscribed to the alarms' topic, if any. */
  readonly alertEmail?: string;
  /** Schedule periods without an append before the log-stalled alarm fires. */
  readonly alarmMissedRuns: number;
  readonly stateBackend?: StateBackendConfig;
  /** Set only by `npm start`: the emulator endpoint (always a loopback URL). */
  readonly localEndpoint?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid iss-tracker configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
      problems.map((p) => `  - ${p}`).join("\n"));
    this.name = "ConfigError";
  }
}

export interface ConfigSources {
  readonly env?: Record<string, string | undefined>;
  readonly context?: Record<string, unknown>;
}

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const PREFIX = /^[a-z][a-z0-9-]{1,22}[a-z0-9]$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:(root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+|assumed-role\/[\w+=,.@/-]+)$/;
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$/;
/** An address SNS can mail: one local part, one domain with a dot, no spaces or list separators. */
const EMAIL = /^[^\s@,;<>"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
/** CloudWatch: period x evaluation periods at most 7 days (1 day for periods under an hour). */
const ALARM_WINDOW_MAX_SECONDS = 7 * 86_400;

/**
 * The AWS partition a region belongs to: every ARN the stacks build starts with arn:<partition>:.
 * China regions are aws-cn, GovCloud aws-us-gov, the ISO regions their own; all others aws.
 */
export function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  const iso = /^[a-z]{2}-(iso[a-z]?)-/.exec(region);
  if (iso) return iso[1] === "iso" ? "aws-iso" : `aws-iso-${iso[1].slice(3)}`;
  return "aws";
}

/** Derived, stable external id: not a secret, but unique per deployment (confused-deputy guard). */
export function deriveExternalId(accountBId: string, namePrefix: string, bucketName: string, objectKey: string): string {
  const digest = createHash("sha256").update(`iss-tracker|${accountBId}|${namePrefix}|${bucketName}|${objectKey}`).digest("hex");
  return `${namePrefix}-${digest.slice(0, 32)}`;
}

/** An http(s) URL on this machine (localhost, 127.x.x.x, [::1]): the only endpoints emulator settings accept. */
export function isLoopbackUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") &&
      (url.hostname === "localhost" || url.hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(url.hostname));
  } catch {
    return false;
  }
}

/**
 * Builds the configuration. Throws ConfigError listing every problem with its fix.
 */
export function loadConfig(sources: ConfigSources = {}): AppConfig {
  const env = sources.env ?? {};
  const context = sources.context ?? {};
  const problems: string[] = [];

  const raw = (name: SettingName): string | undefined => {
    const spec = SETTINGS[name];
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv.trim() !== "") return fromEnv.trim();
    const fromContext = context[spec.context];
    if (fromContext === undefined || fromContext === null || fromContext === "") return undefined;
    return String(fromContext).trim();
  };
  const label = (name: SettingName) => `${SETTINGS[name].env} (cdktf.json context "${SETTINGS[name].context}")`;
  const problem = (name: SettingName, value: string | undefined, why: string, fix: string) =>
    problems.push(`${label(name)}${value === undefined ? "" : ` = ${JSON.stringify(value)}`}: ${why}. Fix: ${fix}.`);

  const text = (name: SettingName, fallback: string, pattern: RegExp, why: string, fix: string): string => {
    const value = raw(name);
    if (value === undefined) return fallback;
    if (!pattern.test(value)) problem(name, value, why, fix);
    return value;
  };
  const integer = (name: SettingName, fallback: number, ok: (n: number) => boolean, why: string, fix: string): number => {
    const value = raw(name);
    if (value === undefined) return fallback;
    const n = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || !ok(n)) problem(name, value, why, fix);
    return n;
  };

  // Accounts and regions.
  const accountBId = raw("accountBId");
  if (accountBId === undefined) {
    problem("accountBId", undefined, "is required", "set ACCOUNT_B_ID to account B's 12-digit id, e.g. ACCOUNT_B_ID=222222222222 npx cdktf synth");
  } else if (!/^\d{12}$/.test(accountBId)) {
    problem("accountBId", accountBId, "is not a 12-digit AWS account id", "use the 12 digits shown by `aws sts get-caller-identity` in account B, leading zeros included");
  }
  const accountAId = raw("accountAId");
  if (accountAId !== undefined) {
    if (!/^\d{12}$/.test(accountAId)) {
      problem("accountAId", accountAId, "is not a 12-digit AWS account id", "use account A's 12-digit id, or unset it");
    } else if (accountAId === accountBId) {
      problem("accountAId", accountAId, "equals ACCOUNT_B_ID, but this app is for two different accounts", "set ACCOUNT_A_ID and ACCOUNT_B_ID to the two accounts' ids");
    }
  }
  const regionFix = "use a region code such as us-east-1 or eu-west-2";
  const regionA = text("regionA", "us-east-1", REGION, "is not an AWS region code", regionFix);
  const regionB = text("regionB", "us-east-1", REGION, "is not an AWS region code", regionFix);
  // A role in one partition cannot be assumed from another: both accounts live in one partition.
  const partition = partitionOf(regionB);
  if (REGION.test(regionA) && REGION.test(regionB) && partitionOf(regionA) !== partition) {
    problem("regionA", regionA, `is in partition ${partitionOf(regionA)} but REGION_B ${regionB} is in ${partition}, and AssumeRole does not cross partitions`,
      "put both accounts' resources in regions of one partition (e.g. both us-gov-* or both commercial)");
  }

  // Names.
  const bootstrapRoleName = text("bootstrapRoleName", "terraform", ROLE_NAME,
    "is not a valid IAM role name", "use 1-64 characters of letters, digits and +=,.@_-");
  const deployerPrincipalArn = raw("deployerPrincipalArn");
  if (deployerPrincipalArn !== undefined && !PRINCIPAL_ARN.test(deployerPrincipalArn)) {
    problem("deployerPrincipalArn", deployerPrincipalArn, "is not an IAM user, role or account-root ARN",
      "use the Arn printed by `aws sts get-caller-identity` in account A (for an assumed role, its role ARN arn:aws:iam::<A>:role/<name>)");
  } else if (deployerPrincipalArn !== undefined && deployerPrincipalArn.split(":")[1] !== partition) {
    problem("deployerPrincipalArn", deployerPrincipalArn, `is in partition ${deployerPrincipalArn.split(":")[1]}, but the regions are in ${partition}`,
      `use the deployer's ARN in ${partition} (arn:${partition}:iam::<A>:...)`);
  }
  const namePrefix = text("namePrefix", "iss-tracker", PREFIX,
    "is not a valid name prefix", "use 3-24 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'");

  // The default name fits S3's 63 characters for every valid prefix (24) and region code.
  const bucketName = raw("bucketName") ?? `${namePrefix}-reports-${accountBId ?? "000000000000"}-${regionB}`;
  if (raw("bucketName") !== undefined &&
      (!BUCKET.test(bucketName) || bucketName.includes("..") || /^\d+\.\d+\.\d+\.\d+$/.test(bucketName) || bucketName.startsWith("xn--"))) {
    problem("bucketName", bucketName, "is not a valid S3 bucket name",
      "use 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit, or unset it for the default");
  }

  const objectKey = raw("objectKey") ?? "iss_position.txt";
  if (objectKey.length > 1024 || objectKey.startsWith("/") || /[*?$\u0000-\u001f\\{}]/.test(objectKey) ||
      objectKey.split("/").some((part) => part === "" || part === "." || part === "..")) {
    problem("objectKey", objectKey, "is not a safe object key (it is used verbatim as an IAM resource)",
      "use up to 1024 characters without a leading '/', empty, '.' or '..' segments, and without * ? $ { } \\ (IAM wildcards and policy variables would widen the grant)");
  }

  // Schedule.
  const schedule = raw("schedule") ?? "rate(5 minutes)";
  const rate = RATE.exec(schedule);
  if (rate) {
    const n = Number(rate[1]);
    const singular = !rate[2].endsWith("s");
    if (n < 1 || (n === 1) !== singular) {
      problem("schedule", schedule, "is not a valid rate expression (EventBridge wants 'rate(1 minute)' but 'rate(5 minutes)')",
        "use rate(<positive number> <unit>) with a singular unit for 1 and a plural one otherwise");
    }
  } else if (!CRON.test(schedule)) {
    problem("schedule", schedule, "is not an EventBridge schedule expression",
      "use rate(5 minutes), rate(1 hour) or a six-field cron(...), e.g. cron(0/10 * * * ? *)");
  }
  let schedulePeriod = 300;
  if (!problems.some((p) => p.startsWith(label("schedule")))) {
    try {
      schedulePeriod = schedulePeriodSeconds(schedule);
    } catch (error) {
      if (!(error instanceof ScheduleExpressionError)) throw error;
      problem("schedule", schedule, `is not a schedule EventBridge accepts (${error.message.replace(`${schedule}: `, "")})`,
        "use rate(5 minutes), rate(1 hour) or a six-field cron(...) with '?' in day-of-month or day-of-week, e.g. cron(0/10 * * * ? *)");
    }
  }

  // External id.
  const externalId = text("externalId", deriveExternalId(accountBId ?? "", namePrefix, bucketName, objectKey), EXTERNAL_ID,
    "is not a valid STS external id", "use 2-1224 characters of letters, digits and +=,.@:/-");

  // ISS sources.
  const sourcesRaw = raw("issSources");
  const issSources = sourcesRaw === undefined ? [...DEFAULT_ISS_SOURCES] : sourcesRaw.split(",").map((s) => s.trim()).filter(Boolean);
  if (sourcesRaw !== undefined) {
    const bad = issSources.filter((s) => {
      try {
        const url = new URL(s);
        return !(url.protocol === "http:" || url.protocol === "https:") || s.includes(",");
      } catch {
        return true;
      }
    });
    if (issSources.length === 0 || bad.length > 0) {
      problem("issSources", sourcesRaw, bad.length ? `has invalid URLs: ${bad.join(" ")}` : "lists no URL",
        `give one or more http(s) URLs separated by commas, e.g. ${DEFAULT_ISS_SOURCES.join(",")}`);
    }
  }

  // Numbers.
  const logRetentionDays = integer("logRetentionDays", 365, (n) => (LOG_RETENTION_VALUES as readonly number[]).includes(n),
    "is not a retention CloudWatch Logs accepts", `use one of ${LOG_RETENTION_VALUES.join(", ")}`);
  const noncurrentVersionDays = integer("noncurrentVersionDays", 1, (n) => n >= 1 && n <= 3650,
    "is not a whole number of days from 1 to 3650 (S3 lifecycle expires noncurrent versions after at least 1 day)",
    "set it to how many days a replaced version of the log stays recoverable, e.g. 1 (the default) or 7; each day keeps one copy of the whole log per run (npx tsx scripts/bench/storage.ts)");
  const newerNoncurrentVersions = integer("newerNoncurrentVersions", 5, (n) => n >= 0 && n <= 100,
    "is not a whole number from 0 to 100 (S3's NewerNoncurrentVersions range; 0 turns it off)",
    "set it to how many of the latest earlier versions stay regardless of age, e.g. 5 (the default), or 0");
  const allowRaw = raw("allowBucketDestroy");
  if (allowRaw !== undefined && !/^(true|false)$/.test(allowRaw)) {
    problem("allowBucketDestroy", allowRaw, "is neither true nor false",
      "leave it unset (the bucket cannot be destroyed) or set ALLOW_BUCKET_DESTROY=true only for a deliberate destroy, after archiving and emptying the log");
  }
  const allowBucketDestroy = allowRaw === "true";

  // Alarms.
  const alertEmail = raw("alertEmail");
  if (alertEmail !== undefined && (alertEmail.length > 254 || !EMAIL.test(alertEmail))) {
    problem("alertEmail", alertEmail, "is not one email address", "give one address such as ops@example.com, or unset it and subscribe to the topic yourself");
  }
  const alarmMissedRuns = integer("alarmMissedRuns", 3, (n) => n >= 1 && n <= 100,
    "is not a whole number from 1 to 100", "set how many schedule periods without an appended entry raise the alarm, e.g. 3");
  const alarmWindow = alarmMissedRuns * schedulePeriod;
  if (schedulePeriod > ALARM_WINDOW_MAX_SECONDS) {
    problem("schedule", schedule, `leaves ${formatDuration(schedulePeriod)} between runs, longer than the 7 days a CloudWatch alarm can look back (the log-stalled alarm could never tell a stopped tracker from a quiet week)`,
      "run the tracker at least once a week, e.g. rate(1 day)");
  } else if (Number.isSafeInteger(alarmMissedRuns) && alarmMissedRuns >= 1 && alarmWindow > ALARM_WINDOW_MAX_SECONDS) {
    problem("alarmMissedRuns", String(alarmMissedRuns),
      `times the schedule's period (${formatDuration(schedulePeriod)}, from SCHEDULE=${JSON.stringify(schedule)}) is ${formatDuration(alarmWindow)}, longer than the 7 days a CloudWatch alarm can look back`,
      `lower ALARM_MISSED_RUNS to ${Math.floor(ALARM_WINDOW_MAX_SECONDS / schedulePeriod)} or less, or run the tracker more often`);
  }

  // State backend.
  let stateBackend: StateBackendConfig | undefined;
  const stateBucket = raw("stateBucket");
  const stateOnly: SettingName[] = ["stateKeyPrefix", "stateRegion", "stateLockTable"];
  if (stateBucket === undefined) {
    for (const name of stateOnly) {
      if (raw(name) !== undefined) {
        problem(name, raw(name), "only applies to the S3 state backend, which is off", "set STATE_BUCKET too, or unset this");
      }
    }
  } else {
    if (!BUCKET.test(stateBucket)) {
      problem("stateBucket", stateBucket, "is not a valid S3 bucket name", "name an existing bucket for Terraform state");
    }
    const keyPrefix = text("stateKeyPrefix", namePrefix, /^[\w!.'()\-/]{1,900}$/,
      "is not a usable key prefix", "use letters, digits and !-_.'()/ only, e.g. iss-tracker/prod");
    const region = text("stateRegion", regionA, REGION, "is not an AWS region code", regionFix);
    const lockTable = raw("stateLockTable");
    if (lockTable !== undefined && !/^[\w.-]{3,255}$/.test(lockTable)) {
      problem("stateLockTable", lockTable, "is not a DynamoDB table name", "use 3-255 characters of letters, digits and _.-, or unset it for S3 native locking");
    }
    stateBackend = { bucket: stateBucket, keyPrefix: keyPrefix.replace(/\/+$/, ""), region, lockTable };
  }

  // Local emulator mode.
  const localEndpoint = raw("localEndpoint");
  if (localEndpoint !== undefined && !isLoopbackUrl(localEndpoint)) {
    problem("localEndpoint", localEndpoint, "must be a loopback URL: local mode disables the TLS-only bucket policy and is never meant for real accounts",
      "unset ISS_TRACKER_LOCAL_ENDPOINT for real deployments (npm start sets it for the emulator)");
  }
  if (localEndpoint !== undefined && stateBackend !== undefined) {
    problem("stateBucket", stateBucket, "cannot be used in local emulator mode", "unset STATE_BUCKET when running npm start");
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    accountBId: accountBId as string,
    accountAId,
    regionA,
    regionB,
    bootstrapRoleName,
    deployerPrincipalArn,
    namePrefix,
    bucketName,
    objectKey,
    schedule,
    schedulePeriodSeconds: schedulePeriod,
    externalId,
    issSources,
    logRetentionDays,
    noncurrentVersionDays,
    newerNoncurrentVersions,
    allowBucketDestroy,
    partition,
    alertEmail,
    alarmMissedRuns,
    stateBackend,
    localEndpoint,
  };
}
