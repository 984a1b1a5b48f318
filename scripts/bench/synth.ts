/**
 * Synth benchmark: the app as cdktf.json runs it (`npx tsx main.ts`, deep provider imports)
 * against a baseline that loads the provider through its barrel, measured side by side,
 * alternating, in fresh processes. Prints wall time and peak memory (max RSS) per run, medians and
 * the ratio. Usage: npx tsx scripts/bench/synth.ts [--runs N]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..", "..");
const runs = Number(process.argv[process.argv.indexOf("--runs") + 1] || 0) || 5;
const appCommand: string = JSON.parse(readFileSync(join(ROOT, "cdktf.json"), "utf8")).app;
const GNU_TIME = "/usr/bin/time";

interface Sample { seconds: number; maxRssMiB?: number }

function measure(command: string): Sample {
  const outdir = mkdtempSync(join(tmpdir(), "iss-bench-synth-"));
  const env = { ...process.env, ACCOUNT_B_ID: "222222222222", CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: "1" };
  const timed = existsSync(GNU_TIME);
  const started = process.hrtime.bigint();
  const result = timed
    ? spawnSync(GNU_TIME, ["-f", "%M", "sh", "-c", command], { cwd: ROOT, env, encoding: "utf8" })
    : spawnSync("sh", ["-c", command], { cwd: ROOT, env, encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`${command} failed:\n${result.stderr}`);
  if (!existsSync(join(outdir, "stacks", "iss-tracker", "cdk.tf.json"))) throw new Error(`${command} wrote no stack`);
  rmSync(outdir, { recursive: true, force: true });
  const kib = timed ? Number(result.stderr.trim().split("\n").pop()) : NaN;
  return { seconds, maxRssMiB: Number.isFinite(kib) ? kib / 1024 : undefined };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (s: Sample) => `${s.seconds.toFixed(2)} s${s.maxRssMiB === undefined ? "" : `, ${s.maxRssMiB.toFixed(0)} MiB`}`;

// The baseline runs through the same runner as the app command; only the entry file differs.
const candidates = {
  app: appCommand,
  barrel: appCommand.replace(/main\.ts$/, "scripts/bench/barrel-app.ts"),
};
if (candidates.barrel === appCommand) throw new Error(`cannot derive the baseline from the app command ${appCommand}`);
const samples: Record<keyof typeof candidates, Sample[]> = { app: [], barrel: [] };
console.log(`synth benchmark: ${runs} runs each, alternating; app command: ${appCommand}`);
measure(candidates.app); // warm the file cache and tsx's compile cache for both
measure(candidates.barrel);
for (let i = 1; i <= runs; i++) {
  for (const name of Object.keys(candidates) as Array<keyof typeof candidates>) {
    const sample = measure(candidates[name]);
    samples[name].push(sample);
    console.log(`  run ${i} ${name.padEnd(6)} ${fmt(sample)}`);
  }
}
const summary = (name: keyof typeof candidates) => ({
  seconds: median(samples[name].map((s) => s.seconds)),
  maxRssMiB: samples[name][0].maxRssMiB === undefined ? undefined : Math.max(...samples[name].map((s) => s.maxRssMiB ?? 0)),
});
const app = summary("app");
const barrel = summary("barrel");
console.log(`median app (deep imports):   ${app.seconds.toFixed(2)} s, peak ${app.maxRssMiB?.toFixed(0) ?? "?"} MiB`);
console.log(`median baseline (barrel):    ${barrel.seconds.toFixed(2)} s, peak ${barrel.maxRssMiB?.toFixed(0) ?? "?"} MiB`);
console.log(`ratio app/baseline: time ${(app.seconds / barrel.seconds).toFixed(2)} (goal <= 0.20)` +
  (app.maxRssMiB && barrel.maxRssMiB ? `, memory ${(app.maxRssMiB / barrel.maxRssMiB).toFixed(2)}` : "") +
  `; app peak memory goal <= 150 MiB`);
