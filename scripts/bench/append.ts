/**
 * Benchmark of concurrent appends (run: npx tsx scripts/bench/append.ts [--writers 1,5,10,20]
 * [--baseline-writers 20] [--faults] [--fault-writers 20]).
 *
 * N concurrent runs of the shipped bundle on one log, each run its own fresh Node process with the
 * deployed 30 s deadline (the method of __tests__/function/concurrency.bundle.test.ts, through
 * ../emulator/append-race.ts), for both append paths: a small log (read-modify-write, PutObject
 * If-Match) and a 5.5 MiB log (multipart append: UploadPartCopy x-amz-copy-source-if-match +
 * CompleteMultipartUpload If-Match; MULTIPART_THRESHOLD_BYTES = 5 MiB). Through the emulator
 * gateway with the S3 conformance gate (S3's rules), and side by side the baseline straight on
 * moto, which ignores the multipart conditions: there every run "succeeds" and entries are lost.
 *
 * With --faults, rows "S3 gate + faults" too: the same runs with the store faults of STORE_FAULTS
 * switched on in the gateway (inconsistent ranged reads, 503 SlowDown, responses lost after
 * committed writes; ../emulator/s3-faults.ts), and how many of each the runs met.
 *
 * Prints per row: runs that succeeded, entries landed / lost / duplicated, the original bytes
 * intact, multipart uploads left behind, conditional writes the gate refused, append attempts per
 * run (mean / max) and time per run (median / p95 / max, from the handler's start), and the ratio
 * of time per run through the gate to the baseline. Timings depend on the machine's load (printed).
 */
import { loadavg, cpus } from "node:os";
import { AppendRace, MiB, STORE_FAULTS, THRESHOLD_BYTES, type RaceResult } from "./append-race";

function listArg(name: string, fallback: number[]): number[] {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const values = (process.argv[i + 1] ?? "").split(",").map(Number);
  if (values.length === 0 || values.some((n) => !Number.isInteger(n) || n < 1 || n > 50)) {
    throw new Error(`${name} takes a comma-separated list of writer counts from 1 to 50, e.g. 1,5,10,20`);
  }
  return values;
}

const WRITERS = listArg("--writers", [1, 5, 10, 20]);
const BASELINE_WRITERS = listArg("--baseline-writers", [20]);
const FAULT_WRITERS = process.argv.includes("--faults") ? listArg("--fault-writers", [20]) : [];
const PATHS = [
  { name: "read-modify-write", label: "small log (2 KiB)", logBytes: 2 * 1024 },
  { name: "multipart-append", label: "5.5 MiB log", logBytes: 5.5 * MiB },
] as const;

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const quantile = (xs: number[], q: number) => (xs.length ? sorted(xs)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)] : NaN);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const s = (ms: number) => (Number.isNaN(ms) ? "-" : `${(ms / 1000).toFixed(1)}`);

const HEADER = ["path", "writers", "via", "ok", "landed", "lost", "dup", "prefix", "uploads left", "412 by gate", "faults met", "attempts mean/max", "s/run median/p95/max", "wall s"];

/** "stale 3, 503 4, lost 2": the faults the batch met (- when none were on). */
function faultsMet(result: RaceResult): string {
  const f = result.faults;
  if (!Object.values(result.options.faults).some((x) => x !== undefined)) return "-";
  return `stale ${f.inconsistentReads.injected}, 503 ${f.slowDown.injected}, lost ${f.lostResponses.injected}`;
}

function row(path: string, result: RaceResult): string[] {
  const attempts = result.outcomes.map((o) => o.attempts).filter((a): a is number => a !== undefined);
  const ms = result.outcomes.map((o) => o.ms);
  return [
    path,
    String(result.options.runs),
    result.options.gate ? (faultsMet(result) === "-" ? "S3 gate" : "S3 gate + faults") : "moto only",
    `${result.succeeded}/${result.options.runs}`,
    String(result.landed),
    String(result.lost),
    String(result.duplicated),
    result.prefixIntact ? "intact" : "CHANGED",
    String(result.leftoverUploads),
    result.options.gate ? String(result.refusedByGate) : "-",
    faultsMet(result),
    `${mean(attempts).toFixed(1)}/${Math.max(...attempts)}`,
    `${s(quantile(ms, 0.5))}/${s(quantile(ms, 0.95))}/${s(Math.max(...ms))}`,
    s(result.wallMs),
  ];
}

function table(rows: string[][]): string {
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(HEADER), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

async function main(): Promise<void> {
  const started = Date.now();
  const race = await AppendRace.start();
  const rows: string[][] = [];
  const ratios: string[] = [];
  const failures: string[] = [];
  try {
    for (const path of PATHS) {
      const gated = new Map<number, RaceResult>();
      for (const writers of WRITERS) {
        const result = await race.run({ runs: writers, logBytes: path.logBytes, gate: true });
        gated.set(writers, result);
        rows.push(row(path.name, result));
        process.stderr.write(`  ${path.label}: ${writers} writer(s) through the S3 gate done (${s(result.wallMs)} s)\n`);
        for (const o of result.outcomes.filter((x) => !x.ok)) failures.push(`${path.name} x${writers} via S3 gate: ${o.error}`);
      }
      for (const writers of FAULT_WRITERS) {
        const result = await race.run({ runs: writers, logBytes: path.logBytes, gate: true, faults: STORE_FAULTS });
        rows.push(row(path.name, result));
        process.stderr.write(`  ${path.label}: ${writers} writer(s) through the S3 gate with store faults done (${s(result.wallMs)} s)\n`);
        for (const o of result.outcomes.filter((x) => !x.ok)) failures.push(`${path.name} x${writers} via S3 gate + faults: ${o.error}`);
      }
      for (const writers of BASELINE_WRITERS) {
        const result = await race.run({ runs: writers, logBytes: path.logBytes, gate: false });
        rows.push(row(path.name, result));
        process.stderr.write(`  ${path.label}: ${writers} writer(s) straight on moto done (${s(result.wallMs)} s)\n`);
        const twin = gated.get(writers);
        if (twin) {
          const ratio = quantile(twin.outcomes.map((o) => o.ms), 0.5) / quantile(result.outcomes.map((o) => o.ms), 0.5);
          ratios.push(`${path.name}, ${writers} writers: median time per run through the S3 gate = ${ratio.toFixed(2)}× straight on moto ` +
            `(moto only: ${result.lost} of ${result.succeeded} successful runs' entries lost; S3 gate: ${twin.lost} lost, ${twin.options.runs - twin.succeeded} runs failed)`);
        }
      }
    }
  } finally {
    await race.stop();
  }
  console.log(`Concurrent appends of the shipped bundle, one fresh Node process per run, 30 s deadline, MULTIPART_THRESHOLD_BYTES=${THRESHOLD_BYTES}`);
  console.log(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(" / ")} (1/5/15 min) at the end\n`);
  console.log(table(rows));
  console.log("ok: runs that returned; landed/lost: successful runs whose entry is in the log / is not; dup: extra copies; prefix: the log's earlier bytes;");
  console.log("412 by gate: stale conditional writes the S3 gate refused (read-modify-write's 412s are moto's own PutObject If-Match answers);");
  console.log("faults met: ranged reads answered with the previous version's bytes, GETs answered 503 SlowDown, committed writes whose response was lost (500);");
  console.log("attempts: append rounds per run (a failed run counts the attempts it reports); s/run: from the handler's start to its return.\n");
  for (const line of ratios) console.log(line);
  if (failures.length) {
    console.log(`\nFailed runs (${failures.length}):`);
    for (const line of failures) console.log(`- ${line}`);
  }
  console.log(`\ntotal ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
