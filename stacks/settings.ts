/**
 * Every setting of the app, declared once: its environment variable, its cdktf.json context key, its
 * typed default, what it means, and how a value is parsed and validated. loadConfig (./config.ts)
 * reads them in this order; the README's configuration table and `help` are rendered from this table
 * (`npm run docs`, checked by a test); constructs take their defaults from it.
 *
 * A `parse` throws Invalid(why, fix) for a value it cannot use; loadConfig adds the setting's names.
 * Checks that involve two settings are the second pass in ./config.ts.
 */
import { DEFAULT_OBJECT_KEY, defaultBucketName, deriveExternalId, EXTERNAL_ID_PATTERN, isBucketName, isHttpUrl, REGION_PATTERN } from "../function/contract";

export { deriveExternalId } from "../function/contract";
import { formatDuration, ScheduleExpressionError, schedulePeriodSeconds } from "./schedule-period";

/** A value that cannot be used: why, and how to fix it. */
export class Invalid extends Error {
  constructor(readonly why: string, readonly fix: string) {
    super(why);
  }
}

/** The settings a derived default may use (those declared before it, parsed or defaulted). */
export interface Derivation {
  readonly accountBId?: string;
  readonly regionA: string;
  readonly regionB: string;
  readonly namePrefix: string;
  readonly bucketName: string;
  readonly objectKey: string;
}

export interface Setting<T> {
  /** Environment variable, e.g. ACCOUNT_B_ID (it wins over the context key). */
  readonly env: string;
  /** cdktf.json context key, e.g. accountBId. */
  readonly context: string;
  /** What it means, one or two sentences (README and help). */
  readonly description: string;
  /** Parses and validates a value given as text (the environment, or context rendered with String()). */
  readonly parse: (text: string) => T;
  /** The value when unset. Absent: see `derive`, `required`, or the setting stays undefined. */
  readonly default?: T;
  /** A default computed from earlier settings. */
  readonly derive?: (earlier: Derivation) => T;
  /** Unset is a problem, with this fix (unless the setting `unless` names is set). */
  readonly required?: { readonly fix: string; readonly unless?: string };
  /** How the docs show a default that is not a plain value (derived, required, or unset). */
  readonly defaultDoc?: string;
}

/** Keeps a spec's literal type (which of default, derive, required it has; what parse returns). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const setting = <S extends Setting<any>>(spec: S): S => spec;

function matching(pattern: RegExp, why: string, fix: string): (text: string) => string {
  return (text) => {
    if (!pattern.test(text)) throw new Invalid(why, fix);
    return text;
  };
}

function wholeNumber(ok: (n: number) => boolean, why: string, fix: string): (text: string) => number {
  return (text) => {
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || !ok(n)) throw new Invalid(why, fix);
    return n;
  };
}

const accountId = (fix: string) => matching(/^\d{12}$/, "is not a 12-digit AWS account id", fix);
const region = matching(REGION_PATTERN, "is not an AWS region code", "use a region code such as us-east-1 or eu-west-2");
const bucketName = (fix: string) => (text: string) => {
  if (!isBucketName(text)) throw new Invalid("is not a valid S3 bucket name", fix);
  return text;
};

/**
 * The deploying identity: an IAM user or role ARN. Not the account root (the trust would then admit
 * every principal of A whose own policy allows sts:AssumeRole), not an STS session (a trust naming
 * arn:aws:sts::<A>:assumed-role/... matches only that one session name and breaks at the next one).
 */
const deployerPrincipal = (text: string): string => {
  const fix = "use the Arn printed by `aws sts get-caller-identity` in account A; for an assumed role, its role ARN arn:aws:iam::<A>:role/<name>";
  const session = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([\w+=,.@-]+)\/.+$/.exec(text);
  if (session) {
    throw new Invalid("is an STS session (assumed-role) ARN, which names one session and stops matching at the next one",
      `use its role ARN arn:${session[1]}:iam::${session[2]}:role/${session[3]} (with the role's path, if it has one)`);
  }
  if (/^arn:aws[a-z-]*:iam::\d{12}:root$/.test(text)) {
    throw new Invalid("is account A's root, which would let every principal of A that may call sts:AssumeRole become the bootstrap role",
      "name the one IAM user or role that deploys (arn:aws:iam::<A>:user/<name> or arn:aws:iam::<A>:role/<name>)");
  }
  if (!/^arn:aws[a-z-]*:iam::\d{12}:(user|role)\/[\w+=,.@/-]+$/.test(text)) throw new Invalid("is not an IAM user or role ARN", fix);
  return text;
};

/** HTTPS first: open-notify answers over plain HTTP only, so its fix could be forged on the way; it stays as the fallback. */
export const DEFAULT_ISS_SOURCES = [
  "https://api.wheretheiss.at/v1/satellites/25544",
  "http://api.open-notify.org/iss-now.json",
] as const;

/** CloudWatch Logs accepts only these retention values. */
export const LOG_RETENTION_VALUES = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** CloudWatch: period x evaluation periods at most 7 days. */
export const ALARM_WINDOW_MAX_SECONDS = 7 * 86_400;

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$/;
/** An address SNS can mail: one local part, one domain with a dot, no spaces or list separators. */
const EMAIL = /^[^\s@,;<>"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/** An EventBridge schedule expression a tracker and its alarms can live with. */
function schedule(text: string): string {
  const rate = RATE.exec(text);
  if (rate) {
    const n = Number(rate[1]);
    if (n < 1 || (n === 1) !== !rate[2].endsWith("s")) {
      throw new Invalid("is not a valid rate expression (EventBridge wants 'rate(1 minute)' but 'rate(5 minutes)')",
        "use rate(<positive number> <unit>) with a singular unit for 1 and a plural one otherwise");
    }
  } else if (!CRON.test(text)) {
    throw new Invalid("is not an EventBridge schedule expression", "use rate(5 minutes), rate(1 hour) or a six-field cron(...), e.g. cron(0/10 * * * ? *)");
  }
  let period: number;
  try {
    period = schedulePeriodSeconds(text);
  } catch (error) {
    if (!(error instanceof ScheduleExpressionError)) throw error;
    throw new Invalid(`is not a schedule EventBridge accepts (${error.message.replace(`${text}: `, "")})`,
      "use rate(5 minutes), rate(1 hour) or a six-field cron(...) with '?' in day-of-month or day-of-week, e.g. cron(0/10 * * * ? *)");
  }
  if (period > ALARM_WINDOW_MAX_SECONDS) {
    throw new Invalid(`leaves ${formatDuration(period)} between runs, longer than the 7 days a CloudWatch alarm can look back (the log-stalled alarm could never tell a stopped tracker from a quiet week)`,
      "run the tracker at least once a week, e.g. rate(1 day)");
  }
  return text;
}

function objectKey(text: string): string {
  if (text.length > 1024 || text.startsWith("/") || /[*?$\u0000-\u001f\\{}]/.test(text) ||
      text.split("/").some((part) => part === "" || part === "." || part === "..")) {
    throw new Invalid("is not a safe object key (it is used verbatim as an IAM resource)",
      "use up to 1024 characters without a leading '/', empty, '.' or '..' segments, and without * ? $ { } \\ (IAM wildcards and policy variables would widen the grant)");
  }
  return text;
}

function issSources(text: string): readonly string[] {
  const sources = text.split(",").map((s) => s.trim()).filter(Boolean);
  const bad = sources.filter((s) => !isHttpUrl(s));
  if (sources.length === 0 || bad.length > 0) {
    throw new Invalid(bad.length ? `has invalid URLs: ${bad.join(" ")}` : "lists no URL",
      `give one or more http(s) URLs separated by commas, e.g. ${DEFAULT_ISS_SOURCES.join(",")}`);
  }
  return sources;
}

/** One entry of TARGETS, as given (the unset fields are filled in by loadConfig). */
export interface TargetEntry {
  readonly account: string;
  readonly region?: string;
  readonly bucket?: string;
  readonly key?: string;
  readonly bootstrapRoleName?: string;
  /** Being removed: its access role goes, its bucket and log stay in its account, forgotten by the state. */
  readonly retired?: boolean;
}

const TARGET_FIELDS = new Set(["account", "region", "bucket", "key", "bootstrapRoleName", "retired"]);
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/** TARGETS: a JSON list of entries, or `account[:region]` entries separated by commas. */
function targetList(text: string): readonly TargetEntry[] {
  const fix = 'give account[:region] entries separated by commas (222222222222,333333333333:eu-west-1), or a JSON list such as [{"account":"222222222222","bucket":"my-logs"}]';
  let entries: unknown[];
  if (text.startsWith("[")) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (!Array.isArray(parsed)) throw new Error("not a list");
      entries = parsed;
    } catch {
      throw new Invalid("is not a JSON list", fix);
    }
  } else {
    entries = text.split(",").map((e) => e.trim()).filter(Boolean).map((e) => {
      const [account, region, ...rest] = e.split(":");
      if (rest.length > 0) throw new Invalid(`has an entry ${JSON.stringify(e)} with more than account:region`, fix);
      return region === undefined ? { account } : { account, region };
    });
  }
  if (entries.length === 0) throw new Invalid("lists no account", fix);
  const targets = entries.map((entry, i): TargetEntry => {
    const at = `entry ${i + 1} (${JSON.stringify(entry)})`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw new Invalid(`${at} is not an object`, fix);
    const e = entry as Record<string, unknown>;
    const unknown = Object.keys(e).filter((k) => !TARGET_FIELDS.has(k));
    if (unknown.length > 0) throw new Invalid(`${at} has unknown fields ${unknown.join(", ")}`, `use only ${[...TARGET_FIELDS].join(", ")}`);
    const text = (field: string) => (e[field] === undefined ? undefined : String(e[field]).trim());
    const account = text("account");
    if (account === undefined || !/^\d{12}$/.test(account)) throw new Invalid(`${at} has no 12-digit account id`, "give each entry its account B's 12 digits");
    const region = text("region");
    if (region !== undefined && !REGION_PATTERN.test(region)) throw new Invalid(`${at} has a region that is not an AWS region code`, "use a region code such as us-east-1 or eu-west-2");
    const bucket = text("bucket");
    if (bucket !== undefined && !isBucketName(bucket)) throw new Invalid(`${at} has a bucket name S3 does not accept`, "use 3-63 characters of a-z, 0-9, '.' and '-', or leave it out for the default name");
    const key = text("key");
    if (key !== undefined) {
      try {
        objectKey(key);
      } catch (error) {
        throw new Invalid(`${at} has a key that ${(error as Invalid).why.replace(/^is /, "is ")}`, (error as Invalid).fix);
      }
    }
    const bootstrapRoleName = text("bootstrapRoleName");
    if (bootstrapRoleName !== undefined && !ROLE_NAME.test(bootstrapRoleName)) throw new Invalid(`${at} has a bootstrap role name IAM does not accept`, "use 1-64 characters of letters, digits and +=,.@_-");
    if (e.retired !== undefined && typeof e.retired !== "boolean") throw new Invalid(`${at} has "retired" that is not true or false`, 'write "retired": true to remove the target (see docs/targets.md)');
    if (e.retired === true && i === 0) {
      throw new Invalid(`${at} is retired, but the first target holds the single pair's names (the account_b provider, the bootstrap stack)`,
        "retire only targets after the first; to move the first, see docs/targets.md (Removing a target)");
    }
    return { account, ...(region && { region }), ...(bucket && { bucket }), ...(key && { key }), ...(bootstrapRoleName && { bootstrapRoleName }), ...(e.retired === true && { retired: true }) };
  });
  const accounts = targets.map((t) => t.account);
  const twice = accounts.find((a, i) => accounts.indexOf(a) !== i);
  if (twice) throw new Invalid(`names account ${twice} twice`, "list each account once: an account holds one log");
  return targets;
}

/**
 * The loopback URLs emulator settings accept (localhost, 127.x.x.x, [::1]): local mode turns off
 * real-AWS protections, so it must never point at anything but this machine.
 */
export function isLoopbackUrl(value: string): boolean {
  if (!isHttpUrl(value)) return false;
  const { hostname } = new URL(value);
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

export const SETTINGS = {
  accountBId: setting({
    env: "ACCOUNT_B_ID", context: "accountBId",
    description: "Account B (bucket, access role), 12 digits.",
    parse: accountId("use the 12 digits shown by `aws sts get-caller-identity` in account B, leading zeros included"),
    required: { fix: "set ACCOUNT_B_ID to account B's 12-digit id, e.g. ACCOUNT_B_ID=222222222222 npx cdktf synth (or list several accounts in TARGETS)", unless: "targets" },
    defaultDoc: "**required** (or `TARGETS`)",
  }),
  accountAId: setting({
    env: "ACCOUNT_A_ID", context: "accountAId",
    description: "Account A (function). When set, the A provider refuses to run in any other account.",
    parse: accountId("use account A's 12-digit id, or unset it"),
    defaultDoc: "any",
  }),
  targets: setting({
    env: "TARGETS", context: "targets",
    description: "Several accounts B, each with its own bootstrap role, access role, bucket and log: `account[:region]` entries separated by commas, or a JSON list of `{account, region?, bucket?, key?, bootstrapRoleName?, retired?}` (in cdktf.json, the list itself; `retired: true` removes a target but keeps its bucket and log, see docs/targets.md). What an entry leaves out comes from REGION_B, the default bucket name, OBJECT_KEY and BOOTSTRAP_ROLE_NAME. Replaces ACCOUNT_B_ID; one entry is the same deployment as ACCOUNT_B_ID alone.",
    parse: targetList,
    defaultDoc: "the one account of `ACCOUNT_B_ID`",
  }),
  regionA: setting({ env: "REGION_A", context: "regionA", description: "Region of account A's resources.", parse: region, default: "us-east-1" }),
  regionB: setting({
    env: "REGION_B", context: "regionB",
    description: "Region of the report bucket in B; both regions must be in one partition (aws, aws-us-gov, aws-cn), which every ARN follows.",
    parse: region, default: "us-east-1",
  }),
  bootstrapRoleName: setting({
    env: "BOOTSTRAP_ROLE_NAME", context: "bootstrapRoleName",
    description: "Role in B that the account_b provider assumes (created by the bootstrap stack).",
    parse: matching(ROLE_NAME, "is not a valid IAM role name", "use 1-64 characters of letters, digits and +=,.@_-"),
    default: "terraform",
  }),
  deployerPrincipalArn: setting({
    env: "DEPLOYER_PRINCIPAL_ARN", context: "deployerPrincipalArn",
    description: "Bootstrap stack: the identity in A allowed to assume the bootstrap role.",
    parse: deployerPrincipal,
    defaultDoc: "asked at deploy",
  }),
  namePrefix: setting({
    env: "NAME_PREFIX", context: "namePrefix",
    description: "Prefix of every resource name: 3-24 of a-z, 0-9 and '-', starting with a letter.",
    parse: matching(/^[a-z][a-z0-9-]{1,22}[a-z0-9]$/, "is not a valid name prefix", "use 3-24 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'"),
    default: "iss-tracker",
  }),
  bucketName: setting({
    env: "BUCKET_NAME", context: "bucketName",
    description: "Report bucket in B (globally unique).",
    parse: bucketName("use 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit, or unset it for the default"),
    derive: (s) => defaultBucketName(s.namePrefix, s.accountBId ?? "000000000000", s.regionB),
    defaultDoc: "`<prefix>-reports-<B>-<regionB>`",
  }),
  objectKey: setting({
    env: "OBJECT_KEY", context: "objectKey",
    description: "The one object the function appends to (no `*`, `?`, `$`, `{}`: it is an IAM resource).",
    parse: objectKey, default: DEFAULT_OBJECT_KEY,
  }),
  schedule: setting({
    env: "SCHEDULE", context: "schedule",
    description: "EventBridge schedule expression: `rate(...)` or a six-field `cron(...)`, at least once a week.",
    parse: schedule, default: "rate(5 minutes)",
  }),
  externalId: setting({
    env: "EXTERNAL_ID", context: "externalId",
    description: "`sts:ExternalId` the access role requires (2-1224 of `[\\w+=,.@:/-]`).",
    parse: matching(EXTERNAL_ID_PATTERN, "is not a valid STS external id", "use 2-1224 characters of letters, digits and +=,.@:/-"),
    derive: (s) => deriveExternalId(s.accountBId ?? "", s.namePrefix, s.bucketName, s.objectKey),
    defaultDoc: "`<prefix>-<sha256 of B, prefix, bucket, key>`",
  }),
  issSources: setting({
    env: "ISS_SOURCES", context: "issSources",
    description: "Comma-separated ISS position URLs, tried in order.",
    parse: issSources, default: DEFAULT_ISS_SOURCES,
    defaultDoc: "`api.wheretheiss.at` (HTTPS), then open-notify (HTTP only)",
  }),
  logRetentionDays: setting({
    env: "LOG_RETENTION_DAYS", context: "logRetentionDays",
    description: "Retention of the function's log group (a CloudWatch Logs value).",
    parse: wholeNumber((n) => (LOG_RETENTION_VALUES as readonly number[]).includes(n), "is not a retention CloudWatch Logs accepts", `use one of ${LOG_RETENTION_VALUES.join(", ")}`),
    default: 365,
  }),
  noncurrentVersionDays: setting({
    env: "NONCURRENT_VERSION_DAYS", context: "noncurrentVersionDays",
    description: "Days a replaced version of the log stays recoverable (1-3650): the undo window. Every append stores a new version of the whole log, so this multiplies storage (docs/storage.md).",
    parse: wholeNumber((n) => n >= 1 && n <= 3650,
      "is not a whole number of days from 1 to 3650 (S3 lifecycle expires noncurrent versions after at least 1 day)",
      "set it to how many days a replaced version of the log stays recoverable, e.g. 1 (the default) or 7; each day keeps one copy of the whole log per run (npx tsx scripts/bench/storage.ts)"),
    default: 1,
  }),
  newerNoncurrentVersions: setting({
    env: "NEWER_NONCURRENT_VERSIONS", context: "newerNoncurrentVersions",
    description: "Earlier versions of the log kept regardless of age (0-100, 0 = off): the last states stay recoverable even after the function stopped writing.",
    parse: wholeNumber((n) => n >= 0 && n <= 100,
      "is not a whole number from 0 to 100 (S3's NewerNoncurrentVersions range; 0 turns it off)",
      "set it to how many of the latest earlier versions stay regardless of age, e.g. 5 (the default), or 0"),
    default: 5,
  }),
  allowBucketDestroy: setting({
    env: "ALLOW_BUCKET_DESTROY", context: "allowBucketDestroy",
    description: "`true` lifts the report bucket's prevent_destroy for a deliberate `cdktf destroy` (archive and empty the log first; the destroy still refuses while the log exists). Unset it again afterwards.",
    parse: (text) => {
      if (!/^(true|false)$/.test(text)) {
        throw new Invalid("is neither true nor false",
          "leave it unset (the bucket cannot be destroyed) or set ALLOW_BUCKET_DESTROY=true only for a deliberate destroy, after archiving and emptying the log");
      }
      return text === "true";
    },
    default: false,
  }),
  alertEmail: setting({
    env: "ALERT_EMAIL", context: "alertEmail",
    description: "Address subscribed to the alarms' SNS topic (AWS mails a confirmation link first). Unset: the topic has no subscriber; subscribe one yourself.",
    parse: (text) => {
      if (text.length > 254 || !EMAIL.test(text)) throw new Invalid("is not one email address", "give one address such as ops@example.com, or unset it and subscribe to the topic yourself");
      return text;
    },
    defaultDoc: "none",
  }),
  alarmMissedRuns: setting({
    env: "ALARM_MISSED_RUNS", context: "alarmMissedRuns",
    description: "The log-stalled alarm fires when fewer than one entry was appended in this many schedule periods (1-100; the window must fit CloudWatch's 7 days).",
    parse: wholeNumber((n) => n >= 1 && n <= 100, "is not a whole number from 1 to 100", "set how many schedule periods without an appended entry raise the alarm, e.g. 3"),
    default: 3,
  }),
  stateBucket: setting({
    env: "STATE_BUCKET", context: "stateBucket",
    description: "S3 bucket for Terraform state (encrypted, locked); unset keeps each stack's state in a local file.",
    parse: bucketName("name an existing bucket for Terraform state"),
    defaultDoc: "local state",
  }),
  stateKeyPrefix: setting({
    env: "STATE_KEY_PREFIX", context: "stateKeyPrefix",
    description: "State object key prefix: `<prefix>/<stack>.tfstate` (S3 backend only).",
    parse: (text) => matching(/^[\w!.'()\-/]{1,900}$/, "is not a usable key prefix", "use letters, digits and !-_.'()/ only, e.g. iss-tracker/prod")(text).replace(/\/+$/, ""),
    derive: (s) => s.namePrefix,
    defaultDoc: "`<prefix>`",
  }),
  stateRegion: setting({
    env: "STATE_REGION", context: "stateRegion",
    description: "Region of the state bucket (S3 backend only).",
    parse: region,
    derive: (s) => s.regionA,
    defaultDoc: "`REGION_A`",
  }),
  stateLockTable: setting({
    env: "STATE_LOCK_TABLE", context: "stateLockTable",
    description: "DynamoDB lock table (S3 backend only); unset uses S3's native lock file (use_lockfile, Terraform >= 1.10).",
    parse: matching(/^[\w.-]{3,255}$/, "is not a DynamoDB table name", "use 3-255 characters of letters, digits and _.-, or unset it for S3 native locking"),
    defaultDoc: "S3 lock file",
  }),
  localEndpoint: setting({
    env: "ISS_TRACKER_LOCAL_ENDPOINT", context: "localEndpoint",
    description: "Set by `npm start` only: the local emulator's endpoint (loopback URLs only).",
    parse: (text) => {
      if (!isLoopbackUrl(text)) {
        throw new Invalid("must be a loopback URL: local mode disables the TLS-only bucket policy and is never meant for real accounts",
          "unset ISS_TRACKER_LOCAL_ENDPOINT for real deployments (npm start sets it for the emulator)");
      }
      return text;
    },
    defaultDoc: "unset",
  }),
  pipelineRepository: setting({
    env: "PIPELINE_REPOSITORY", context: "pipelineRepository",
    description: "GitHub repository (`owner/repo`) whose workflows deploy: adds the `pipeline` stack (GitHub's OIDC provider, a read-only plan role for its pull requests, a deploy role for its deployment environment) and makes the bootstrap role trust that deploy role. Needs ACCOUNT_A_ID. Not GITHUB_REPOSITORY, which every Actions run sets.",
    // The repository part may not be "." or "..".
    parse: matching(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/(?!\.\.?$)[A-Za-z0-9._-]{1,100}$/,
      "is not a GitHub repository in owner/repo form (it becomes the OIDC subject the roles trust, matched exactly)",
      "give the repository as shown in its URL, e.g. PIPELINE_REPOSITORY=octo-org/iss-tracker (no wildcard, no https://github.com/ prefix)"),
    defaultDoc: "no pipeline stack",
  }),
  pipelineEnvironment: setting({
    env: "PIPELINE_ENVIRONMENT", context: "pipelineEnvironment",
    description: "GitHub deployment environment whose jobs may assume the deploy role (the OIDC subject `repo:<owner>/<repo>:environment:<name>`). Pipeline only.",
    parse: matching(/^[A-Za-z0-9_.-]{1,255}$/, "is not a GitHub environment name the role can match exactly",
      "use 1-255 letters, digits and _.- (no spaces, no '*' or ':'), e.g. production"),
    default: "production",
  }),
  pipelineOidcProviderArn: setting({
    env: "PIPELINE_OIDC_PROVIDER_ARN", context: "pipelineOidcProviderArn",
    description: "An existing IAM OIDC provider for token.actions.githubusercontent.com in account A to reuse (an account holds one per URL); unset, the pipeline stack creates it.",
    parse: matching(/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/,
      "is not the ARN of GitHub's OIDC provider",
      "use arn:aws:iam::<A>:oidc-provider/token.actions.githubusercontent.com (aws iam list-open-id-connect-providers in A), or unset it to create one"),
    defaultDoc: "created",
  }),
} as const;

export type SettingName = keyof typeof SETTINGS;

/** The value type of a setting. */
export type SettingValue<N extends SettingName> = (typeof SETTINGS)[N] extends { parse: (text: string) => infer T } ? T : never;

/** How a setting's default reads in the docs. */
export function defaultText(spec: Setting<unknown>): string {
  if (spec.defaultDoc !== undefined) return spec.defaultDoc;
  const value = spec.default;
  return `\`${Array.isArray(value) ? value.join(",") : String(value)}\``;
}
