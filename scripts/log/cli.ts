/**
 * npm run log: reads the ISS log through the chain the function uses (A's credentials ->
 * sts:AssumeRole on the access role with the external id -> GetObject of the one object),
 * read-only, and says what is in it; optionally draws the track on a world map.
 *
 *   ACCOUNT_B_ID=222222222222 AWS_PROFILE=account-a npm run log -- --tail 5 --max-age 15m
 *   npm run log -- --profile-b account-b --map .local/track.png          (real AWS: read as a principal of B)
 *   npm run log -- --endpoint http://127.0.0.1:PORT --map .local/track.svg (the emulator of npm start -- --keep)
 *
 * Configuration as for synth (ACCOUNT_B_ID or TARGETS, NAME_PREFIX, BUCKET_NAME, OBJECT_KEY,
 * EXTERNAL_ID, SCHEDULE, ...): it names the role, the external id, the object and the schedule's
 * period. With several targets it reads each (or the one --target names) and ends with a table.
 * Exit codes: 0 read (and fresh, with --max-age); 1 the last entry is older than --max-age, or
 * there is none; 2 bad flags, bad configuration, or the log could not be read.
 */
import { parseLog } from "../../function/core";
import { ConfigError, loadConfig, type AppConfig } from "../../stacks/config";
import type { TargetConfig } from "../../stacks/config";
import { ACCOUNT_OPTIONS, accountFlags, alignColumns, parseCommandLine, runCommand, selectTargets, TARGET_OPTION, usageError, type AccountFlags } from "../shared/cli";
import { targetArns } from "../../stacks/names";
import type { Credentials } from "../shared/aws";
import { writeTrackMap, type WrittenMap } from "./map";
import { LogAccessError, readLog, type LogLocation } from "./read";
import { formatSummary, isStale, parseDuration, summarize } from "./report";

export const USAGE = `usage: npm run log -- [--tail N] [--max-age DURATION] [--map FILE.png|FILE.svg] [--target ACCOUNT] [--endpoint URL] [--profile-a NAME] [--profile-b NAME] [--help]

Reads the ISS log as the function reaches it (account A's credentials, then sts:AssumeRole on the
access role in B with the external id), read-only, and prints the number of entries, the first and
last time, the gaps longer than two schedule periods, how old the last entry is and the last entries.

  --tail N            how many of the last entries to print, 0-1000 (default 10)
  --max-age DURATION  exit 1 when the last entry is older than this (900, 15m, 2h, 1d), or there is none
  --map FILE          draw the logged positions on a world map, FILE ending in .png or .svg (one target)
  --target ACCOUNT    read only that account B's log (default: every target, then a table of all)
  --endpoint URL      the local emulator (npm start -- --keep prints it); loopback only
  --profile-a NAME    account A's profile (default: the SDK's default chain, e.g. AWS_PROFILE)
  --profile-b NAME    read with account B's profile instead (on real AWS only the execution role may
                      assume the access role: a person reads with a principal of B allowed s3:GetObject;
                      one target)
  --help              this text

Configuration as for synth: ACCOUNT_B_ID (222222222222 by default with --endpoint) or TARGETS,
NAME_PREFIX, BUCKET_NAME, OBJECT_KEY, EXTERNAL_ID, SCHEDULE, REGION_A, REGION_B.
Exit codes (the worst target's): 0 read (and fresh); 1 stale or empty with --max-age; 2 usage,
configuration or access error.`;

export interface LogFlags extends AccountFlags {
  readonly tail: number;
  readonly maxAgeSeconds?: number;
  readonly map?: string;
  /** The one account B to read (default: every target). */
  readonly target?: string;
}

export function parseLogFlags(argv: readonly string[]): LogFlags {
  const values = parseCommandLine(argv, {
    tail: { type: "string" },
    "max-age": { type: "string" },
    map: { type: "string" },
    ...TARGET_OPTION,
    ...ACCOUNT_OPTIONS,
  }, USAGE);
  const tailText = values.tail ?? "10";
  if (!/^\d+$/.test(tailText) || Number(tailText) > 1000) throw usageError(`--tail needs a whole number from 0 to 1000, got ${JSON.stringify(tailText)}`, USAGE);
  let maxAgeSeconds: number | undefined;
  if (values["max-age"] !== undefined) {
    try {
      maxAgeSeconds = parseDuration(values["max-age"]);
    } catch (error) {
      throw usageError(`--max-age: ${(error as Error).message}`, USAGE);
    }
  }
  if (values.map !== undefined && !/\.(png|svg)$/i.test(values.map)) throw usageError(`--map ${values.map}: the file must end in .png or .svg`, USAGE);
  return { tail: Number(tailText), maxAgeSeconds, map: values.map, target: values.target, ...accountFlags(values, USAGE) };
}

/** Where a target's log is (default: the first's) and how the function reaches it, from the configuration. */
export function logLocation(config: AppConfig, target: TargetConfig = config.targets[0]): LogLocation {
  return {
    bucket: target.bucketName,
    key: target.objectKey,
    regionB: target.region,
    accessRoleArn: targetArns(config, target).accessRoleArn,
    externalId: target.externalId,
  };
}

export interface LogCommandOptions {
  readonly config: AppConfig;
  readonly flags: LogFlags;
  /** Static credentials (tests, the rehearsal); they win over profiles. B's: one, or per account B. */
  readonly credentialsA?: Credentials;
  readonly credentialsB?: Credentials | ((accountB: string) => Credentials);
  /** Unix seconds; default: the clock. */
  readonly now?: number;
  readonly print?: (line: string) => void;
}

export interface LogCommandResult {
  readonly code: 0 | 1 | 2;
  /** The entries of every target read. */
  readonly entries: number;
  readonly map?: WrittenMap;
  /** Per target read, in the configuration's order. */
  readonly targets: readonly TargetLogResult[];
}

export interface TargetLogResult {
  readonly target: string;
  readonly code: 0 | 1 | 2;
  readonly entries: number;
  readonly bytes?: number;
  /** The last entry's age in seconds. */
  readonly ageSeconds?: number;
  /** One word: fresh, stale, empty, none (no log yet) or unreadable. */
  readonly status: string;
}

/**
 * npm run log after flag parsing: prints each target's report (every target, or --target's), and
 * with several a table of all; writes the map (one target); returns the worst exit code.
 */
export async function runLogCommand(options: LogCommandOptions): Promise<LogCommandResult> {
  const { config, flags } = options;
  const print = options.print ?? ((line: string) => console.log(line));
  const targets = selectTargets(config, flags.target, USAGE);
  if (targets.length > 1 && (flags.map || flags.profileB)) {
    throw usageError(`--${flags.map ? "map" : "profile-b"} reads one log: add --target with one of ${targets.map((t) => t.accountId).join(", ")}`, USAGE);
  }
  const results: TargetLogResult[] = [];
  let map: WrittenMap | undefined;
  for (const target of targets) {
    if (targets.length > 1) print(`\n== target ${target.accountId} ==`);
    const { map: drawn, ...result } = await readTargetLog(options, target, print);
    results.push(result);
    map ??= drawn;
  }
  if (targets.length > 1) print(`\n${formatTargetTable(results)}`);
  const code = Math.max(...results.map((r) => r.code)) as 0 | 1 | 2;
  return { code, entries: results.reduce((sum, r) => sum + r.entries, 0), map, targets: results };
}

/** The table of every target read: account, entries, bytes, the last entry's age, status. */
export function formatTargetTable(results: readonly TargetLogResult[]): string {
  const rows = [["target", "entries", "bytes", "last entry", "status"], ...results.map((r) => [
    r.target, String(r.entries), r.bytes === undefined ? "-" : String(r.bytes), r.ageSeconds === undefined ? "-" : `${formatAge(r.ageSeconds)} ago`, r.status,
  ])];
  return alignColumns(rows);
}

const formatAge = (seconds: number) => (seconds < 120 ? `${seconds} s` : seconds < 7200 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds / 3600)} h`);

async function readTargetLog(options: LogCommandOptions, target: TargetConfig, print: (line: string) => void): Promise<TargetLogResult & { map?: WrittenMap }> {
  const { config, flags } = options;
  const location = logLocation(config, target);
  const credentialsB = typeof options.credentialsB === "function" ? options.credentialsB(target.accountId) : options.credentialsB;
  let read;
  try {
    read = await readLog(location, {
      regionA: config.regionA,
      endpoint: flags.endpoint,
      profileA: flags.profileA,
      profileB: flags.profileB,
      credentialsA: options.credentialsA,
      credentialsB,
    });
  } catch (error) {
    if (!(error instanceof LogAccessError)) throw error;
    print(`log: cannot read s3://${location.bucket}/${location.key}: ${error.message}\n  fix: ${error.fix}`);
    return { target: target.accountId, code: 2, entries: 0, status: "unreadable" };
  }
  const parsed = parseLog(read.text ?? "");
  const summary = summarize(parsed.entries, { now: options.now ?? Math.floor(Date.now() / 1000), periodSeconds: config.schedulePeriodSeconds, tail: flags.tail });
  print(`s3://${location.bucket}/${location.key} in account ${target.accountId}, read through ${read.via}: ` +
    (read.text === undefined ? "no log yet (the first run creates it)" : `${read.bytes} bytes${read.lastModified ? `, last modified ${read.lastModified.toISOString()}` : ""}`));
  print(formatSummary(summary, parsed, { schedule: config.schedule, periodSeconds: config.schedulePeriodSeconds, maxAgeSeconds: flags.maxAgeSeconds }));
  let map: WrittenMap | undefined;
  if (flags.map) {
    map = writeTrackMap(flags.map, parsed.entries, { gapSeconds: summary.gapThresholdSeconds, subtitle: `s3://${location.bucket}/${location.key}` });
    print(`map: ${map.path} (${map.format.toUpperCase()}, ${map.width}x${map.height}, ${parsed.entries.length} positions, ${map.bytes} bytes)`);
  }
  const stale = flags.maxAgeSeconds !== undefined && isStale(summary, flags.maxAgeSeconds);
  const status = read.text === undefined ? "none" : summary.count === 0 ? "empty" : stale ? "stale" : flags.maxAgeSeconds === undefined ? "read" : "fresh";
  return { target: target.accountId, code: stale ? 1 : 0, entries: summary.count, bytes: read.bytes, ageSeconds: summary.ageSeconds, status, map };
}

async function main(argv: readonly string[]): Promise<number> {
  const flags = parseLogFlags(argv);
  const env: Record<string, string | undefined> = { ...process.env, ISS_TRACKER_LOCAL_ENDPOINT: undefined };
  if (flags.endpoint && !env.ACCOUNT_B_ID && !env.TARGETS) env.ACCOUNT_B_ID = "222222222222";
  let config: AppConfig;
  try {
    config = loadConfig({ env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 2;
  }
  return (await runLogCommand({ config, flags })).code;
}

if (require.main === module) {
  runCommand(process.argv.slice(2), main).then((code) => process.exit(code), (error) => {
    console.error(`log: ${error instanceof Error ? error.message : error}`);
    process.exit(2);
  });
}
