/**
 * Storage benchmark (a model, not a measurement of S3): how many bytes the report bucket holds
 * after a month, a year and five years, for each noncurrent-version retention, at one run every
 * few minutes.
 *
 * Every append stores a new version of the WHOLE log (S3 objects are immutable; the multipart
 * path copies the old bytes server-side into a new version too), so the previous version becomes
 * noncurrent with the full log in it. The lifecycle rule expires a noncurrent version
 * NONCURRENT_VERSION_DAYS after it was replaced, rounded up to the next midnight UTC (S3's rule),
 * and never one of the NEWER_NONCURRENT_VERSIONS newest noncurrent versions. Storage therefore
 * grows with the square of the log: ~runs per day x retention days copies of a growing log.
 *
 * Entry sizes are the function's own (formatEntry over the simulated ISS orbit), the header is
 * LOG_HEADER. Printed per retention: the log itself, the bucket's average and peak over the last
 * day before each horizon, and the ratio against 30 days (the former default).
 *
 * Usage: npx tsx scripts/bench/storage.ts [--every MINUTES]   (default 5, the default schedule)
 */
import { formatEntry, LOG_HEADER } from "../../function/core";
import { simulatedPosition } from "../emulator/iss-simulator";

export interface Retention {
  readonly label: string;
  readonly noncurrentDays: number;
  readonly newerNoncurrentVersions: number;
}

export interface StoredBytes {
  /** Size of the current log. */
  readonly log: number;
  /** Bucket bytes (current + retained noncurrent versions), averaged over the last day before the horizon. */
  readonly average: number;
  /** The most the bucket held during that day (just before the daily expiry at midnight UTC). */
  readonly peak: number;
}

const DAY_S = 86_400;

/** Mean entry size over a day of runs, from the function's own formatter and a plausible orbit. */
export function meanEntryBytes(everyMinutes: number, start = Date.UTC(2026, 0, 1) / 1000): number {
  const runs = Math.round((24 * 60) / everyMinutes);
  let total = 0;
  for (let i = 0; i < runs; i++) {
    const timestamp = start + i * everyMinutes * 60;
    total += Buffer.byteLength(formatEntry({ timestamp, ...simulatedPosition(timestamp) }));
  }
  return total / runs;
}

/**
 * Bytes in the bucket at each horizon (days after the first run), runs every `everyMinutes`
 * starting at midnight UTC. Version k (the log after run k, `header + k x entry` bytes) is
 * current until run k+1, then noncurrent until it expires at
 *   max(ceilToMidnight(replacedAt + noncurrentDays), the time N newer noncurrent versions exist).
 */
export function storedBytes(retention: Retention, horizonsDays: readonly number[], everyMinutes: number, entryBytes: number, headerBytes: number): StoredBytes[] {
  const step = everyMinutes * 60;
  const sizeAfter = (k: number) => headerBytes + k * entryBytes; // k >= 1 runs
  const expiry = (k: number): number => {
    const replacedAt = (k + 1) * step; // run k+1 replaces version k (runs at step, 2*step, ...)
    const byAge = Math.ceil((replacedAt + retention.noncurrentDays * DAY_S) / DAY_S) * DAY_S;
    const byCount = (k + 1 + retention.newerNoncurrentVersions) * step; // N newer versions are noncurrent
    return Math.max(byAge, byCount);
  };
  return horizonsDays.map((days) => {
    const end = days * DAY_S;
    let sum = 0;
    let peak = 0;
    let samples = 0;
    // Sample every run of the last day: at time t, runs 1..floor(t/step) happened.
    for (let t = end - DAY_S + step; t <= end; t += step) {
      const current = Math.floor(t / step);
      let bytes = sizeAfter(current);
      // Noncurrent versions k < current still held at t; only the last (noncurrentDays + 2) days can be.
      const oldest = Math.max(1, current - Math.ceil(((retention.noncurrentDays + 2) * DAY_S) / step) - retention.newerNoncurrentVersions);
      for (let k = oldest; k < current; k++) if (expiry(k) > t) bytes += sizeAfter(k);
      sum += bytes;
      peak = Math.max(peak, bytes);
      samples++;
    }
    return { log: sizeAfter(Math.floor(end / step)), average: sum / samples, peak };
  });
}

export const RETENTIONS: readonly Retention[] = [
  { label: "30 days (former default)", noncurrentDays: 30, newerNoncurrentVersions: 0 },
  { label: "7 days", noncurrentDays: 7, newerNoncurrentVersions: 0 },
  { label: "1 day + 5 newest (default)", noncurrentDays: 1, newerNoncurrentVersions: 5 },
  { label: "1 day", noncurrentDays: 1, newerNoncurrentVersions: 0 },
];

export const HORIZONS: ReadonlyArray<readonly [string, number]> = [["1 month", 30], ["1 year", 365], ["5 years", 5 * 365]];

const human = (bytes: number) => {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
};

function main(argv: readonly string[]): void {
  const everyArg = argv.indexOf("--every");
  const everyMinutes = everyArg >= 0 ? Number(argv[everyArg + 1]) : 5;
  if (!Number.isFinite(everyMinutes) || everyMinutes <= 0 || everyMinutes > 1440) {
    throw new Error(`--every needs minutes between runs (0 < m <= 1440), got ${argv[everyArg + 1]}`);
  }
  const entry = meanEntryBytes(everyMinutes);
  const header = Buffer.byteLength(LOG_HEADER);
  const runsPerDay = (24 * 60) / everyMinutes;
  console.log(`Storage model: one run every ${everyMinutes} min (${runsPerDay.toFixed(0)} a day), entries of ${entry.toFixed(1)} B on average, header ${header} B.`);
  console.log("Every run stores a new version of the whole log; noncurrent versions expire after N days (rounded up to midnight UTC), the newest M never.");
  console.log("Bucket = current log + retained noncurrent versions, average (peak) over the last day before the horizon; ratio = 30 days / this.\n");
  const baseline = storedBytes(RETENTIONS[0], HORIZONS.map(([, d]) => d), everyMinutes, entry, header);
  const rows = RETENTIONS.map((r) => {
    const bytes = storedBytes(r, HORIZONS.map(([, d]) => d), everyMinutes, entry, header);
    return [r.label, ...bytes.map((b, i) => `${human(b.average)} (${human(b.peak)}) ${(baseline[i].average / b.average).toFixed(1)}x`)];
  });
  const logRow = ["the log itself (one version)", ...baseline.map((b) => human(b.log))];
  const header_ = ["retention", ...HORIZONS.map(([name]) => `after ${name}`)];
  const table = [header_, logRow, ...rows];
  const widths = header_.map((_, i) => Math.max(...table.map((row) => row[i].length)));
  for (const row of table) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join("   ").trimEnd());
  const year = storedBytes(RETENTIONS[2], [365], everyMinutes, entry, header)[0];
  console.log(`\nDefault (1 day + 5 newest) after a year: ${human(year.average)} on average, ${(baseline[1].average / year.average).toFixed(1)}x less than 30 days; ` +
    "undo window: any state of the log from the last 1-2 days (expiry runs at midnight UTC), and the 5 newest earlier states whenever writes stop.");
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(`bench:storage: ${(error as Error).message}`);
    process.exit(2);
  }
}
