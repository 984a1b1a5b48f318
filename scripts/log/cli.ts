/**
 * npm run log: reads the ISS log through the chain the function uses (A's credentials ->
 * sts:AssumeRole on the access role with the external id -> GetObject of the one object),
 * read-only, and says what is in it; optionally draws the track on a world map.
 *
 *   ACCOUNT_B_ID=222222222222 AWS_PROFILE=account-a npm run log -- --tail 5 --max-age 15m
 *   npm run log -- --profile-b account-b --map .local/track.png          (real AWS: read as a principal of B)
 *   npm run log -- --endpoint http://127.0.0.1:PORT --map .local/track.svg (the emulator of npm start -- --keep)
 *
 * Configuration as for synth (ACCOUNT_B_ID, NAME_PREFIX, BUCKET_NAME, OBJECT_KEY, EXTERNAL_ID,
 * SCHEDULE, ...): it names the role, the external id, the object and the schedule's period.
 * Exit codes: 0 read (and fresh, with --max-age); 1 the last entry is older than --max-age, or
 * there is none; 2 bad flags, bad configuration, or the log could not be read.
 */
import { parseLog } from "../../function/core";
import { ConfigError, loadConfig, type AppConfig } from "../../stacks/config";
import { ACCOUNT_OPTIONS, accountFlags, parseCommandLine, runCommand, usageError, type AccountFlags } from "../shared/cli";
import { derivedArns } from "../../stacks/names";
import type { Credentials } from "../shared/aws";
import { writeTrackMap, type WrittenMap } from "./map";
import { LogAccessError, readLog, type LogLocation } from "./read";
import { formatSummary, isStale, parseDuration, summarize } from "./report";

export const USAGE = `usage: npm run log -- [--tail N] [--max-age DURATION] [--map FILE.png|FILE.svg] [--endpoint URL] [--profile-a NAME] [--profile-b NAME] [--help]

Reads the ISS log as the function reaches it (account A's credentials, then sts:AssumeRole on the
access role in B with the external id), read-only, and prints the number of entries, the first and
last time, the gaps longer than two schedule periods, how old the last entry is and the last entries.

  --tail N            how many of the last entries to print, 0-1000 (default 10)
  --max-age DURATION  exit 1 when the last entry is older than this (900, 15m, 2h, 1d), or there is none
  --map FILE          draw the logged positions on a world map, FILE ending in .png or .svg
  --endpoint URL      the local emulator (npm start -- --keep prints it); loopback only
  --profile-a NAME    account A's profile (default: the SDK's default chain, e.g. AWS_PROFILE)
  --profile-b NAME    read with account B's profile instead (on real AWS only the execution role may
                      assume the access role: a person reads with a principal of B allowed s3:GetObject)
  --help              this text

Configuration as for synth: ACCOUNT_B_ID (222222222222 by default with --endpoint), NAME_PREFIX,
BUCKET_NAME, OBJECT_KEY, EXTERNAL_ID, SCHEDULE, REGION_A, REGION_B.
Exit codes: 0 read (and fresh); 1 stale or empty with --max-age; 2 usage, configuration or access error.`;

export interface LogFlags extends AccountFlags {
  readonly tail: number;
  readonly maxAgeSeconds?: number;
  readonly map?: string;
}

export function parseLogFlags(argv: readonly string[]): LogFlags {
  const values = parseCommandLine(argv, {
    tail: { type: "string" },
    "max-age": { type: "string" },
    map: { type: "string" },
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
  return { tail: Number(tailText), maxAgeSeconds, map: values.map, ...accountFlags(values, USAGE) };
}

/** Where the log is and how the function reaches it, from the configuration. */
export function logLocation(config: AppConfig): LogLocation {
  return {
    bucket: config.bucketName,
    key: config.objectKey,
    regionB: config.regionB,
    accessRoleArn: derivedArns(config).accessRoleArn,
    externalId: config.externalId,
  };
}

export interface LogCommandOptions {
  readonly config: AppConfig;
  readonly flags: LogFlags;
  /** Static credentials (tests, the rehearsal); they win over profiles. */
  readonly credentialsA?: Credentials;
  readonly credentialsB?: Credentials;
  /** Unix seconds; default: the clock. */
  readonly now?: number;
  readonly print?: (line: string) => void;
}

export interface LogCommandResult {
  readonly code: 0 | 1 | 2;
  readonly entries: number;
  readonly map?: WrittenMap;
}

/** npm run log after flag parsing: prints the report, writes the map, returns the exit code. */
export async function runLogCommand(options: LogCommandOptions): Promise<LogCommandResult> {
  const { config, flags } = options;
  const print = options.print ?? ((line: string) => console.log(line));
  const location = logLocation(config);
  let read;
  try {
    read = await readLog(location, {
      regionA: config.regionA,
      endpoint: flags.endpoint,
      profileA: flags.profileA,
      profileB: flags.profileB,
      credentialsA: options.credentialsA,
      credentialsB: options.credentialsB,
    });
  } catch (error) {
    if (!(error instanceof LogAccessError)) throw error;
    print(`log: cannot read s3://${location.bucket}/${location.key}: ${error.message}\n  fix: ${error.fix}`);
    return { code: 2, entries: 0 };
  }
  const parsed = parseLog(read.text ?? "");
  const summary = summarize(parsed.entries, { now: options.now ?? Math.floor(Date.now() / 1000), periodSeconds: config.schedulePeriodSeconds, tail: flags.tail });
  print(`s3://${location.bucket}/${location.key} in account ${config.accountBId}, read through ${read.via}: ` +
    (read.text === undefined ? "no log yet (the first run creates it)" : `${read.bytes} bytes${read.lastModified ? `, last modified ${read.lastModified.toISOString()}` : ""}`));
  print(formatSummary(summary, parsed, { schedule: config.schedule, periodSeconds: config.schedulePeriodSeconds, maxAgeSeconds: flags.maxAgeSeconds }));
  let map: WrittenMap | undefined;
  if (flags.map) {
    map = writeTrackMap(flags.map, parsed.entries, { gapSeconds: summary.gapThresholdSeconds, subtitle: `s3://${location.bucket}/${location.key}` });
    print(`map: ${map.path} (${map.format.toUpperCase()}, ${map.width}x${map.height}, ${parsed.entries.length} positions, ${map.bytes} bytes)`);
  }
  const stale = flags.maxAgeSeconds !== undefined && isStale(summary, flags.maxAgeSeconds);
  return { code: stale ? 1 : 0, entries: summary.count, map };
}

async function main(argv: readonly string[]): Promise<number> {
  const flags = parseLogFlags(argv);
  const env: Record<string, string | undefined> = { ...process.env, ISS_TRACKER_LOCAL_ENDPOINT: undefined };
  if (flags.endpoint && !env.ACCOUNT_B_ID) env.ACCOUNT_B_ID = "222222222222";
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
