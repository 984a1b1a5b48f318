/**
 * The app's configuration: one typed, validated object built from environment variables and
 * `cdktf.json` context (an environment variable wins over the context key of the same setting),
 * following the settings table (./settings.ts), then a short second pass for the checks that
 * involve two settings.
 *
 * Every problem is collected and reported at once, each naming the setting (both spellings) and
 * the fix, so a bad value fails `cdktf synth` before anything is planned.
 */
import { defaultBucketName, deriveExternalId, partitionOf } from "../function/contract";
import { pipelineRoleNames } from "./pipeline-names";
import { formatDuration, schedulePeriodSeconds } from "./schedule-period";
import { ALARM_WINDOW_MAX_SECONDS, Invalid, SETTINGS, type Setting, type SettingName, type SettingValue } from "./settings";

export { partitionOf } from "../function/contract";
export { DEFAULT_ISS_SOURCES, deriveExternalId, isLoopbackUrl, LOG_RETENTION_VALUES, SETTINGS, type SettingName } from "./settings";

export interface StateBackendConfig {
  readonly bucket: string;
  readonly keyPrefix: string;
  readonly region: string;
  /** DynamoDB table; when undefined, S3 native locking (use_lockfile) is used. */
  readonly lockTable?: string;
}

/** The S3 backend's settings: in AppConfig only as `stateBackend`, and only when STATE_BUCKET is set. */
const STATE_SETTINGS = ["stateBucket", "stateKeyPrefix", "stateRegion", "stateLockTable"] as const;
type StateSetting = (typeof STATE_SETTINGS)[number];

/** Settings whose value may stay unset (no default of any kind). */
type Optional = { [N in SettingName]: (typeof SETTINGS)[N] extends { default: unknown } | { derive: unknown } | { required: unknown } ? never : N }[SettingName];

type SettingValues = { readonly [N in Exclude<SettingName, StateSetting | Optional>]: SettingValue<N> } &
  { readonly [N in Exclude<Optional, StateSetting | "targets">]?: SettingValue<N> };

/** One account B the function appends to, every field filled in. */
export interface TargetConfig {
  readonly accountId: string;
  readonly region: string;
  readonly bucketName: string;
  readonly objectKey: string;
  readonly bootstrapRoleName: string;
  readonly externalId: string;
}

export interface AppConfig extends SettingValues {
  /**
   * Every account B, in the order given: TARGETS, or the one account of ACCOUNT_B_ID (with
   * REGION_B, BUCKET_NAME, OBJECT_KEY, BOOTSTRAP_ROLE_NAME, EXTERNAL_ID). accountBId, regionB,
   * bucketName, objectKey, bootstrapRoleName and externalId are the first target's.
   */
  readonly targets: readonly TargetConfig[];
  /**
   * TARGETS' entries marked `"retired": true`: the tracker stack keeps their provider (to destroy
   * the access role) and forgets their bucket (`removed` blocks, never destroy); no function, role
   * or alarm of the tracker names them. Never the first.
   */
  readonly retiredTargets: readonly TargetConfig[];
  /** Longest interval between two scheduled runs, in seconds (see schedule-period.ts). */
  readonly schedulePeriodSeconds: number;
  /** The AWS partition of both accounts (aws, aws-cn, aws-us-gov, ...), derived from the regions. */
  readonly partition: string;
  /** Remote state, when STATE_BUCKET is set. */
  readonly stateBackend?: StateBackendConfig;
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

/** `ENV (cdktf.json context "key")`: how every message names a setting. */
export function settingLabel(name: SettingName): string {
  return `${SETTINGS[name].env} (cdktf.json context "${SETTINGS[name].context}")`;
}

/** Builds the configuration. Throws ConfigError listing every problem with its fix. */
export function loadConfig(sources: ConfigSources = {}): AppConfig {
  const env = sources.env ?? {};
  const context = sources.context ?? {};
  const problems: string[] = [];
  const problem = (name: SettingName, value: string | undefined, why: string, fix: string) =>
    problems.push(`${settingLabel(name)}${value === undefined ? "" : ` = ${JSON.stringify(value)}`}: ${why}. Fix: ${fix}.`);

  /** The setting's text as given (environment first), trimmed; undefined when unset or empty. */
  const given = (name: SettingName): string | undefined => {
    const spec = SETTINGS[name];
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv.trim() !== "") return fromEnv.trim();
    const fromContext = context[spec.context];
    if (fromContext === undefined || fromContext === null || fromContext === "") return undefined;
    // A list or an object in cdktf.json (TARGETS) is read as the JSON it is.
    return (typeof fromContext === "object" ? JSON.stringify(fromContext) : String(fromContext)).trim();
  };

  // First pass: each setting on its own, in the table's order; a derived default sees the settings before it.
  const values: Record<string, unknown> = {};
  const invalid = new Set<SettingName>();
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const spec: Setting<unknown> = SETTINGS[name];
    const text = given(name);
    if (text !== undefined) {
      try {
        values[name] = spec.parse(text);
      } catch (error) {
        if (!(error instanceof Invalid)) throw error;
        problem(name, text, error.why, error.fix);
        invalid.add(name);
      }
    } else if (spec.required && (spec.required.unless === undefined || given(spec.required.unless as SettingName) === undefined)) {
      problem(name, undefined, "is required", spec.required.fix);
      invalid.add(name);
    }
    if (values[name] === undefined && !spec.required) {
      values[name] = spec.derive ? spec.derive(values as never) : spec.default;
    }
  }
  const ok = (name: SettingName) => !invalid.has(name) && values[name] !== undefined;
  const v = values as { [N in SettingName]: SettingValue<N> };

  // Second pass: what two settings must agree on.
  // Every ARN follows account A's partition; a single account B must be in it too (TARGETS are checked below).
  const partition = partitionOf(v.regionA);
  if (v.targets === undefined && ok("regionA") && ok("regionB") && partitionOf(v.regionB) !== partition) {
    problem("regionA", v.regionA, `is in partition ${partition} but REGION_B ${v.regionB} is in ${partitionOf(v.regionB)}, and AssumeRole does not cross partitions`,
      "put both accounts' resources in regions of one partition (e.g. both us-gov-* or both commercial)");
  }
  if (ok("accountAId") && v.accountAId === v.accountBId) {
    problem("accountAId", v.accountAId, "equals ACCOUNT_B_ID, but this app is for two different accounts", "set ACCOUNT_A_ID and ACCOUNT_B_ID to the two accounts' ids");
  }
  const deployerPartition = ok("deployerPrincipalArn") ? v.deployerPrincipalArn.split(":")[1] : undefined;
  if (deployerPartition !== undefined && deployerPartition !== partition) {
    problem("deployerPrincipalArn", v.deployerPrincipalArn, `is in partition ${deployerPartition}, but the regions are in ${partition}`,
      `use the deployer's ARN in ${partition} (arn:${partition}:iam::<A>:...)`);
  }
  const deployerAccount = ok("deployerPrincipalArn") ? v.deployerPrincipalArn.split(":")[4] : undefined;
  if (deployerAccount !== undefined && ok("accountAId") && deployerAccount !== v.accountAId) {
    problem("deployerPrincipalArn", v.deployerPrincipalArn, `is in account ${deployerAccount}, but ACCOUNT_A_ID is ${v.accountAId}`,
      `name the deploying user or role of account A (arn:${partition}:iam::${v.accountAId}:...), or fix ACCOUNT_A_ID`);
  }
  let period = 0;
  if (ok("schedule")) period = schedulePeriodSeconds(v.schedule);
  if (ok("schedule") && ok("alarmMissedRuns") && v.alarmMissedRuns * period > ALARM_WINDOW_MAX_SECONDS) {
    problem("alarmMissedRuns", String(v.alarmMissedRuns),
      `times the schedule's period (${formatDuration(period)}, from SCHEDULE=${JSON.stringify(v.schedule)}) is ${formatDuration(v.alarmMissedRuns * period)}, longer than the 7 days a CloudWatch alarm can look back`,
      `lower ALARM_MISSED_RUNS to ${Math.floor(ALARM_WINDOW_MAX_SECONDS / period)} or less, or run the tracker more often`);
  }
  const stateBucket = given("stateBucket");
  if (stateBucket === undefined) {
    for (const name of STATE_SETTINGS.slice(1)) {
      const text = given(name);
      if (text !== undefined && !invalid.has(name)) problem(name, text, "only applies to the S3 state backend, which is off", "set STATE_BUCKET too, or unset this");
    }
  } else if (v.localEndpoint !== undefined) {
    problem("stateBucket", stateBucket, "cannot be used in local emulator mode", "unset STATE_BUCKET when running npm start");
  }

  // The pipeline: its settings mean nothing without the repository; its role ARNs need account A.
  const pipelineRepository = given("pipelineRepository");
  if (pipelineRepository === undefined) {
    for (const name of ["pipelineEnvironment", "pipelineOidcProviderArn"] as const) {
      const text = given(name);
      if (text !== undefined && !invalid.has(name)) problem(name, text, "only applies to the pipeline stack, which is off", "set PIPELINE_REPOSITORY=<owner>/<repo> too, or unset this");
    }
  } else if (!invalid.has("pipelineRepository")) {
    if (given("accountAId") === undefined) {
      problem("accountAId", undefined, "is required with PIPELINE_REPOSITORY (the pipeline's roles and OIDC provider live in account A)", "set ACCOUNT_A_ID to account A's 12-digit id");
    } else if (ok("accountAId") && ok("pipelineOidcProviderArn") && v.pipelineOidcProviderArn!.split(":")[4] !== v.accountAId) {
      problem("pipelineOidcProviderArn", v.pipelineOidcProviderArn, `is in account ${v.pipelineOidcProviderArn!.split(":")[4]}, not account A (${v.accountAId})`, "reuse the provider of account A, or unset it to create one");
    }
    if (v.localEndpoint !== undefined) problem("pipelineRepository", pipelineRepository, "cannot be used in local emulator mode", "unset PIPELINE_REPOSITORY when running npm start");
  }
  // With the pipeline, the bootstrap roles trust its deploy role unless DEPLOYER_PRINCIPAL_ARN says otherwise (a given ARN wins).
  if (pipelineRepository !== undefined && problems.length === 0 && values.deployerPrincipalArn === undefined) {
    values.deployerPrincipalArn = `arn:${partition}:iam::${v.accountAId}:role/${pipelineRoleNames(v.namePrefix).deploy}`;
  }

  // The targets: TARGETS' entries with the single-account settings as their defaults, or the one account of ACCOUNT_B_ID.
  let targets: TargetConfig[] = [];
  let retired = new Set<string>();
  if (v.targets === undefined) {
    if (ok("accountBId")) targets = [{ accountId: v.accountBId, region: v.regionB, bucketName: v.bucketName, objectKey: v.objectKey, bootstrapRoleName: v.bootstrapRoleName, externalId: v.externalId }];
  } else {
    for (const name of ["accountBId", "bucketName"] as const) {
      if (given(name) !== undefined) {
        problem(name, given(name), "is set beside TARGETS, which names the accounts and their buckets", name === "accountBId"
          ? "list every account B in TARGETS and unset ACCOUNT_B_ID" : "give each target its bucket in TARGETS (\"bucket\"), or leave it out for the default names");
      }
    }
    retired = new Set(v.targets.filter((e) => e.retired).map((e) => e.account));
    targets = v.targets.map((entry) => {
      const region = entry.region ?? v.regionB;
      const bucketName = entry.bucket ?? defaultBucketName(v.namePrefix, entry.account, region);
      const objectKey = entry.key ?? v.objectKey;
      return {
        accountId: entry.account,
        region,
        bucketName,
        objectKey,
        bootstrapRoleName: entry.bootstrapRoleName ?? v.bootstrapRoleName,
        externalId: given("externalId") !== undefined ? v.externalId : deriveExternalId(entry.account, v.namePrefix, bucketName, objectKey),
      };
    });
    const partitionA = partitionOf(v.regionA);
    for (const t of targets) {
      if (partitionOf(t.region) !== partitionA) {
        problem("targets", given("targets"), `puts account ${t.accountId} in ${t.region}, partition ${partitionOf(t.region)}, but REGION_A ${v.regionA} is in ${partitionA}, and AssumeRole does not cross partitions`,
          "put every target in regions of REGION_A's partition");
      }
      if (t.accountId === v.accountAId) problem("targets", given("targets"), `names account A (${t.accountId}) as a target, but the targets are other accounts`, "list only accounts B in TARGETS");
    }
    const buckets = targets.map((t) => t.bucketName);
    const shared = buckets.find((b, i) => buckets.indexOf(b) !== i);
    if (shared) problem("targets", given("targets"), `gives two targets the bucket ${shared}`, "give each target its own bucket (bucket names are global)");
  }

  if (problems.length > 0) throw new ConfigError(problems);
  const [first] = targets;
  const settings = Object.fromEntries(Object.entries(values).filter(([name]) => !(STATE_SETTINGS as readonly string[]).includes(name) && name !== "targets"));
  return {
    ...(settings as unknown as SettingValues),
    accountBId: first.accountId,
    regionB: first.region,
    bucketName: first.bucketName,
    objectKey: first.objectKey,
    bootstrapRoleName: first.bootstrapRoleName,
    externalId: first.externalId,
    targets: targets.filter((t) => !retired.has(t.accountId)),
    retiredTargets: targets.filter((t) => retired.has(t.accountId)),
    schedulePeriodSeconds: period,
    partition,
    stateBackend: stateBucket === undefined ? undefined : { bucket: v.stateBucket, keyPrefix: v.stateKeyPrefix, region: v.stateRegion, lockTable: v.stateLockTable },
  };
}
