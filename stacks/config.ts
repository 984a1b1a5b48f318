/**
 * The app's configuration: one typed, validated object built from environment variables and
 * `cdktf.json` context (an environment variable wins over the context key of the same setting),
 * following the settings table (./settings.ts), then a short second pass for the checks that
 * involve two settings.
 *
 * Every problem is collected and reported at once, each naming the setting (both spellings) and
 * the fix, so a bad value fails `cdktf synth` before anything is planned.
 */
import { partitionOf } from "../function/contract";
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
  { readonly [N in Exclude<Optional, StateSetting>]?: SettingValue<N> };

export interface AppConfig extends SettingValues {
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
    return String(fromContext).trim();
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
    } else if (spec.required) {
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
  const partition = partitionOf(v.regionB);
  if (ok("regionA") && ok("regionB") && partitionOf(v.regionA) !== partition) {
    problem("regionA", v.regionA, `is in partition ${partitionOf(v.regionA)} but REGION_B ${v.regionB} is in ${partition}, and AssumeRole does not cross partitions`,
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

  if (problems.length > 0) throw new ConfigError(problems);
  const settings = Object.fromEntries(Object.entries(values).filter(([name]) => !(STATE_SETTINGS as readonly string[]).includes(name)));
  return {
    ...(settings as unknown as SettingValues),
    schedulePeriodSeconds: period,
    partition,
    stateBackend: stateBucket === undefined ? undefined : { bucket: v.stateBucket, keyPrefix: v.stateKeyPrefix, region: v.stateRegion, lockTable: v.stateLockTable },
  };
}
