/**
 * The cost of many targets (npm run bench:fleet [-- --sizes 1,3,10,30] [--runs 3] [--skip-plan]):
 * for N targets, N accounts B from one TARGETS list, measured side by side with N = 1 (the same-run
 * reference, a single pair) and one `terraform validate` of the single pair's stack:
 *
 * - synth: the cdktf app command as cdktf.json runs it, in a fresh process, alternating the sizes;
 *   wall time and peak memory (GNU time's max RSS).
 * - plan: `terraform plan` of the tracker stack (local mode, against moto: every provider assumes
 *   its target's bootstrap role), wall time and the peak memory of Terraform and its provider
 *   plugins together (Terraform starts one plugin process per provider configuration: one per target).
 * - function: the deployed bundle in a fresh node process against moto, one cold run (a session per
 *   target) and warm runs; run time and peak memory (Lambda's "Max Memory Used"), and the size of
 *   the environment the stack gives it (Lambda allows 4 KB in all).
 *
 * Prints a table with the cost per added target, and the largest N that fits the function's timeout,
 * memory and environment with half of each to spare.
 */
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildFunctionBundle, LAMBDA_HANDLER } from "../../function/build";
import { defaultBucketName, FUNCTION_DEFAULTS, targetOf, trackerEnvironment } from "../../function/contract";
import { formatEntry, LOG_HEADER } from "../../function/core";
import { localStateDir } from "../../stacks/backend";
import { SETTINGS } from "../../stacks/settings";
import { TRACKER_STACK_NAME } from "../../stacks/iss-tracker-stack";
import { startIssSimulator } from "../emulator/iss-simulator";
import { invokeInFreshProcess, scheduledEvent, unpackFunction } from "../emulator/lambda-runtime";
import { startMoto } from "../emulator/moto";
import { accountS3 } from "../emulator/s3-admin";
import { finishStackFolders } from "../review/stack-folders";
import { assumeRole } from "../shared/aws";
import { applyTerraformEnv } from "../shared/terraform-env";

const ROOT = resolve(__dirname, "..", "..");
const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const SIZES = (arg("--sizes") ?? "1,3,10,30").split(",").map(Number);
const RUNS = Number(arg("--runs") ?? 3);
const SKIP_PLAN = process.argv.includes("--skip-plan");
const WARM_RUNS = 3;
const ACCOUNT_A = "111111111111";
const REGION = "us-east-1";
const PREFIX = SETTINGS.namePrefix.default as string;
const KEY = SETTINGS.objectKey.default as string;
const LAMBDA_ENV_LIMIT = 4096;
const APP_COMMAND: string = JSON.parse(readFileSync(join(ROOT, "cdktf.json"), "utf8")).app;
const GNU_TIME = "/usr/bin/time";

/** N target accounts, none of them A. */
export const targetAccounts = (n: number) => Array.from({ length: n }, (_, i) => String(200_000_000_001 + i));

function appEnv(n: number, outdir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env, CHECKPOINT_DISABLE: "1", CDKTF_OUTDIR: outdir,
    ACCOUNT_A_ID: ACCOUNT_A, TARGETS: targetAccounts(n).join(","), DEPLOYER_PRINCIPAL_ARN: `arn:aws:iam::${ACCOUNT_A}:role/deployer`, ...extra,
  };
}

interface Measured { seconds: number; peakMiB: number }

/** The app command in a fresh process for N targets; the stacks land in `outdir`. */
function synth(n: number, outdir: string, extra: NodeJS.ProcessEnv = {}): Measured {
  const started = process.hrtime.bigint();
  const result = spawnSync(GNU_TIME, ["-f", "%M", "sh", "-c", APP_COMMAND], { cwd: ROOT, env: appEnv(n, outdir, extra), encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0 || !existsSync(join(outdir, "stacks", TRACKER_STACK_NAME, "cdk.tf.json"))) throw new Error(`synth of ${n} targets failed:\n${result.stderr}`);
  return { seconds, peakMiB: Number(result.stderr.trim().split("\n").pop()) / 1024 };
}

/**
 * Memory of every process in a process group (KiB): the proportional set size (smaps_rollup's Pss),
 * so the plugin binary's pages that the processes share count once, not once per process.
 */
function groupMemoryKiB(pgid: number): { kib: number; processes: number } {
  let kib = 0;
  let processes = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) !== pgid) continue; // the process group
      kib += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
      processes++;
    } catch {
      // gone meanwhile
    }
  }
  return { kib, processes };
}

/** A Terraform command in its own process group, sampled every 100 ms: wall time, peak memory of the group and most processes at once. */
function terraform(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Measured & { processes: number }> {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn("terraform", args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    let peak = 0;
    let processes = 0;
    const sampler = setInterval(() => {
      const now = groupMemoryKiB(child.pid!);
      peak = Math.max(peak, now.kib);
      processes = Math.max(processes, now.processes);
    }, 100);
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(sampler);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) reject(new Error(`terraform ${args.join(" ")} failed in ${cwd}:\n${output.slice(-4000)}`));
      else resolvePromise({ seconds, peakMiB: peak / 1024, processes });
    });
  });
}

interface FunctionCost { coldMs: number; warmMs: number; peakMiB: number; envBytes: number }

async function main(): Promise<void> {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} is missing: it measures the synth's peak memory (apt-get install time)`);
  const work = mkdtempSync(join(tmpdir(), "iss-bench-fleet-"));
  const moto = await startMoto();
  const iss = await startIssSimulator();
  const tfEnv: NodeJS.ProcessEnv = { ...process.env };
  applyTerraformEnv(tfEnv);
  try {
    console.log(`fleet benchmark: N = ${SIZES.join(", ")} targets; synth ${RUNS} runs each, alternating; plan and function once per N (${WARM_RUNS} warm runs)`);

    // Same-run reference: one terraform validate of the single pair's stack.
    const refDir = join(work, "reference");
    synth(1, refDir);
    finishStackFolders(refDir);
    const refStack = join(refDir, "stacks", TRACKER_STACK_NAME);
    await terraform(["init", "-input=false", "-backend=false"], refStack, tfEnv);
    const validate = await terraform(["validate", "-no-color"], refStack, tfEnv);
    console.log(`  reference: terraform validate of the single pair's stack ${validate.seconds.toFixed(1)} s`);

    // Synth, alternating the sizes.
    const synths = new Map<number, Measured[]>(SIZES.map((n) => [n, []]));
    for (let run = 1; run <= RUNS; run++) {
      for (const n of SIZES) {
        const dir = join(work, `synth-${n}-${run}`);
        const m = synth(n, dir);
        synths.get(n)!.push(m);
        rmSync(dir, { recursive: true, force: true });
        console.log(`  synth  N=${String(n).padStart(2)} run ${run}: ${m.seconds.toFixed(2)} s, ${m.peakMiB.toFixed(0)} MiB`);
      }
    }

    // Plan against moto: A's administrator on moto; every target's provider assumes its bootstrap role.
    const plans = new Map<number, Measured & { processes: number }>();
    if (!SKIP_PLAN) {
      const admin = await assumeRole(new STSClient({ region: REGION, endpoint: moto.endpoint, credentials: { accessKeyId: "bench", secretAccessKey: "bench" } }), `arn:aws:iam::${ACCOUNT_A}:role/admin`, "bench");
      // Go's default GOGC, as a user's `cdktf deploy` or `terraform plan` runs it (the project's own runs use TERRAFORM_GOGC).
      const planEnv = { ...tfEnv, GOGC: "100", AWS_ACCESS_KEY_ID: admin.accessKeyId, AWS_SECRET_ACCESS_KEY: admin.secretAccessKey, AWS_SESSION_TOKEN: admin.sessionToken, AWS_REGION: REGION };
      for (const n of SIZES) {
        const predicted = predictMiB([...plans].map(([size, m]) => [size, m.peakMiB]), n);
        if (predicted !== undefined && predicted > 0.6 * availableMiB()) {
          console.log(`  plan   N=${String(n).padStart(2)}: skipped, it would take about ${(predicted / 1024).toFixed(1)} GiB of the ${(availableMiB() / 1024).toFixed(1)} GiB available`);
          continue;
        }
        const dir = join(work, `plan-${n}`);
        synth(n, dir, { ISS_TRACKER_LOCAL_ENDPOINT: moto.endpoint });
        finishStackFolders(dir);
        const stack = join(dir, "stacks", TRACKER_STACK_NAME);
        await terraform(["init", "-input=false"], stack, planEnv);
        const m = await terraform(["plan", "-input=false", "-lock=false", "-no-color", "-out=tfplan"], stack, planEnv);
        plans.set(n, m);
        rmSync(dir, { recursive: true, force: true });
        console.log(`  plan   N=${String(n).padStart(2)}: ${m.seconds.toFixed(1)} s, ${m.peakMiB.toFixed(0)} MiB (${m.processes} processes at most)`);
      }
      rmSync(localStateDir(moto.endpoint), { recursive: true, force: true });
    }

    // The function: the deployed bundle, one cold and WARM_RUNS warm runs, every target appended.
    const bundle = buildFunctionBundle(join(work, "bundle"), { incremental: false });
    const { entry, exportName } = unpackFunction(readFileSync(bundle.zipPath), join(work, "unpacked"), LAMBDA_HANDLER);
    const functions = new Map<number, FunctionCost>();
    const seed = LOG_HEADER + formatEntry({ timestamp: Math.floor(Date.now() / 1000) - 3600, latitude: 1, longitude: 2 });
    for (const n of SIZES) {
      const accounts = targetAccounts(n).map((a) => `${a.slice(0, 2)}${String(n).padStart(2, "0")}${a.slice(4)}`); // fresh accounts per N
      for (const account of accounts) {
        const s3 = await accountS3(moto.endpoint, account, REGION);
        const bucket = defaultBucketName(PREFIX, account, REGION);
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: KEY, Body: seed }));
      }
      const targets = accounts.map((account) => ({ ...targetOf({ account, region: REGION }, PREFIX, KEY), account }));
      const environment = trackerEnvironment(PREFIX, KEY, targets, [iss.url]);
      const envBytes = Object.entries(environment).reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
      const outcome = await invokeInFreshProcess({
        entry, exportName, functionName: "iss-tracker-function", timeoutMs: FUNCTION_DEFAULTS.timeoutSeconds * 1000, workDir: work,
        env: { AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: "AKIAEXECUTIONROLE", AWS_SECRET_ACCESS_KEY: "secret", AWS_SESSION_TOKEN: "token", AWS_REGION: REGION, ...environment },
        events: Array.from({ length: 1 + WARM_RUNS }, () => scheduledEvent()),
      });
      const results = outcome.results ?? [];
      const failed = results.filter((r) => !r.ok);
      if (results.length !== 1 + WARM_RUNS || failed.length > 0) throw new Error(`the function failed with ${n} targets: ${failed[0]?.error ?? outcome.stderr.slice(-2000)}`);
      const appended = outcome.lines.filter((l) => l.msg === "entry appended").length;
      if (appended !== n * (1 + WARM_RUNS)) throw new Error(`with ${n} targets, ${appended} entries appended, expected ${n * (1 + WARM_RUNS)}`);
      const warm = results.slice(1).map((r) => r.ms).sort((a, b) => a - b);
      const cost = { coldMs: results[0].ms, warmMs: warm[Math.floor(warm.length / 2)], peakMiB: Math.max(...results.map((r) => r.maxRssKiB ?? 0)) / 1024, envBytes };
      functions.set(n, cost);
      console.log(`  function N=${String(n).padStart(2)}: cold ${cost.coldMs} ms, warm ${cost.warmMs} ms, ${cost.peakMiB.toFixed(0)} MiB, environment ${envBytes} bytes`);
    }

    printTable(synths, plans, functions, validate.seconds);
  } finally {
    await iss.stop();
    await moto.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** MemAvailable of this machine (MiB). */
const availableMiB = () => Number(/^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) / 1024;

/** A linear prediction at `n` from the last two measured points, if there are two. */
function predictMiB(points: Array<[number, number]>, n: number): number | undefined {
  if (points.length < 2) return undefined;
  const [[n1, v1], [n2, v2]] = points.slice(-2);
  return v2 + ((v2 - v1) / (n2 - n1)) * (n - n2);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function printTable(synths: Map<number, Measured[]>, plans: Map<number, Measured & { processes: number }>, functions: Map<number, FunctionCost>, validateSeconds: number): void {
  const rows: Array<[string, (n: number) => number | undefined, number]> = [
    ["synth (s)", (n) => median(synths.get(n)!.map((m) => m.seconds)), 2],
    ["synth peak memory (MiB)", (n) => Math.max(...synths.get(n)!.map((m) => m.peakMiB)), 0],
    ["terraform plan (s)", (n) => plans.get(n)?.seconds, 1],
    ["plan peak memory, Terraform + plugins (MiB)", (n) => plans.get(n)?.peakMiB, 0],
    ["plan processes at most", (n) => plans.get(n)?.processes, 0],
    ["function cold run (ms)", (n) => functions.get(n)?.coldMs, 0],
    ["function warm run (ms)", (n) => functions.get(n)?.warmMs, 0],
    ["function peak memory (MiB)", (n) => functions.get(n)?.peakMiB, 0],
    ["function environment (bytes)", (n) => functions.get(n)?.envBytes, 0],
  ];
  // The marginal cost: between the two largest sizes measured (N = 1 has the single pair's variables, not TARGETS).
  const perTarget = (f: (n: number) => number | undefined) => {
    const measured = SIZES.filter((n) => f(n) !== undefined);
    if (measured.length < 2) return undefined;
    const [a, b] = measured.slice(-2);
    return (f(b)! - f(a)!) / (b - a);
  };
  const cell = (v: number | undefined, digits: number) => (v === undefined ? "-" : v.toFixed(digits));
  console.log(`\n| | ${SIZES.map((n) => `N = ${n}`).join(" | ")} | per added target (the two largest N) |`);
  console.log(`|---|${SIZES.map(() => "---:").join("|")}|---:|`);
  for (const [label, f, digits] of rows) console.log(`| ${label} | ${SIZES.map((n) => cell(f(n), digits)).join(" | ")} | ${cell(perTarget(f), digits + 1)} |`);
  console.log(`\nReference (same run): terraform validate of the single pair's stack ${validateSeconds.toFixed(1)} s.`);

  // The largest N with half of the function's timeout, memory and environment to spare (linear in N, as measured).
  const fit = (f: (n: number) => number | undefined, limit: number) => {
    const slope = perTarget(f);
    const largest = [...SIZES].reverse().find((n) => f(n) !== undefined);
    if (slope === undefined || largest === undefined || slope <= 0) return undefined;
    return Math.floor(largest + (limit / 2 - f(largest)!) / slope);
  };
  const limits = {
    timeout: fit((n) => functions.get(n)?.coldMs, FUNCTION_DEFAULTS.timeoutSeconds * 1000),
    memory: fit((n) => functions.get(n)?.peakMiB, FUNCTION_DEFAULTS.memoryMb),
    environment: fit((n) => functions.get(n)?.envBytes, LAMBDA_ENV_LIMIT),
  };
  console.log(
    `Largest N with half to spare: timeout (${FUNCTION_DEFAULTS.timeoutSeconds} s, cold run) ${limits.timeout ?? "not bound"}, memory (${FUNCTION_DEFAULTS.memoryMb} MiB) ${limits.memory ?? "not bound"}, ` +
      `environment (4 KB) ${limits.environment ?? "not bound"}: ${Math.min(...Object.values(limits).filter((v): v is number => v !== undefined))}.`,
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
