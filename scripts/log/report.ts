/**
 * What `npm run log` says about a log: pure functions over the parsed entries (function/core.ts
 * parseLog), a clock and the schedule's period.
 */
import { formatCoordinate, formatUtc, type IssPosition, type ParsedLog } from "../../function/core";
import { formatDuration } from "../../stacks/schedule-period";

/** Two consecutive entries further apart than two schedule periods. */
export interface Gap {
  readonly from: number;
  readonly to: number;
  readonly seconds: number;
}

export interface LogSummary {
  readonly count: number;
  readonly first?: IssPosition;
  readonly last?: IssPosition;
  /** Seconds between the last entry's time and now. */
  readonly ageSeconds?: number;
  /** A gap is longer than this (two schedule periods). */
  readonly gapThresholdSeconds: number;
  readonly gaps: readonly Gap[];
  /** Entries whose time is not after the one before (a hand edit, a clock gone back). */
  readonly outOfOrder: number;
  readonly tail: readonly IssPosition[];
}

export interface SummaryOptions {
  /** Unix seconds. */
  readonly now: number;
  /** The schedule's period in seconds (a cron's longest interval). */
  readonly periodSeconds: number;
  /** How many of the last entries to keep for printing. */
  readonly tail: number;
}

export function summarize(entries: readonly IssPosition[], options: SummaryOptions): LogSummary {
  const gapThresholdSeconds = 2 * options.periodSeconds;
  const gaps: Gap[] = [];
  let outOfOrder = 0;
  for (let i = 1; i < entries.length; i++) {
    const seconds = entries[i].timestamp - entries[i - 1].timestamp;
    if (seconds <= 0) outOfOrder++;
    else if (seconds > gapThresholdSeconds) gaps.push({ from: entries[i - 1].timestamp, to: entries[i].timestamp, seconds });
  }
  const last = entries.at(-1);
  return {
    count: entries.length,
    first: entries[0],
    last,
    ageSeconds: last === undefined ? undefined : options.now - last.timestamp,
    gapThresholdSeconds,
    gaps,
    outOfOrder,
    tail: options.tail > 0 ? entries.slice(-options.tail) : [],
  };
}

/** "90s", "15m", "2h", "1d" or plain seconds, to seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw new Error(`${JSON.stringify(text)} is not a duration: use e.g. 900, 15m, 2h or 1d`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? "s") as "s" | "m" | "h" | "d"];
}

/** Whether the last entry is older than `maxAgeSeconds` (no entry at all counts as too old). */
export function isStale(summary: LogSummary, maxAgeSeconds: number): boolean {
  return summary.ageSeconds === undefined || summary.ageSeconds > maxAgeSeconds;
}

const entryLine = (p: IssPosition) => `  ${formatUtc(p.timestamp)}  ${formatCoordinate(p.latitude).padStart(9)}  ${formatCoordinate(p.longitude).padStart(10)}`;
const age = (seconds: number) => (seconds < 0 ? `${formatDuration(-seconds)} in the future (check the clocks)` : `${formatDuration(seconds)} old`);

/** The report's lines. */
export function formatSummary(summary: LogSummary, parsed: Pick<ParsedLog, "unparsed" | "hasHeader">, context: { schedule: string; periodSeconds: number; maxAgeSeconds?: number }): string {
  const lines: string[] = [];
  if (summary.count === 0) {
    lines.push("entries: 0");
  } else {
    lines.push(`entries: ${summary.count}, first ${formatUtc(summary.first!.timestamp)} UTC, last ${formatUtc(summary.last!.timestamp)} UTC`);
    lines.push(`last entry: ${age(summary.ageSeconds!)}`);
  }
  lines.push(`schedule: ${context.schedule} (every ${formatDuration(context.periodSeconds)}); gaps longer than ${formatDuration(summary.gapThresholdSeconds)}: ${summary.gaps.length}`);
  for (const gap of summary.gaps) lines.push(`  ${formatUtc(gap.from)} -> ${formatUtc(gap.to)}  ${formatDuration(gap.seconds)}`);
  if (summary.outOfOrder > 0) lines.push(`entries not after the one before: ${summary.outOfOrder}`);
  if (!parsed.hasHeader && summary.count > 0) lines.push("warning: the log does not start with the 'ISS Location Logs' header");
  if (parsed.unparsed.length > 0) {
    lines.push(`lines that are not part of an entry: ${parsed.unparsed.length}`);
    for (const u of parsed.unparsed.slice(0, 5)) lines.push(`  line ${u.line}: ${JSON.stringify(u.text.slice(0, 80))}`);
  }
  if (summary.tail.length > 0) {
    lines.push(`last ${summary.tail.length} entr${summary.tail.length === 1 ? "y" : "ies"} (UTC, latitude, longitude):`);
    for (const p of summary.tail) lines.push(entryLine(p));
  }
  if (context.maxAgeSeconds !== undefined) {
    lines.push(isStale(summary, context.maxAgeSeconds)
      ? `STALE: ${summary.count === 0 ? "no entry at all" : `the last entry is ${age(summary.ageSeconds!)}`}, more than --max-age ${formatDuration(context.maxAgeSeconds)}`
      : `fresh: the last entry is within --max-age ${formatDuration(context.maxAgeSeconds)}`);
  }
  return lines.join("\n");
}
