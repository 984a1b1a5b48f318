/**
 * Concurrent runs of the shipped function bundle against one log on the emulator: the measurement
 * behind __tests__/function/concurrency.bundle.test.ts and `scripts/bench/append.ts`.
 *
 * The bundle is the one `cdktf synth` ships (buildFunctionBundle, the zip's index.js). Each
 * concurrent run is its own fresh Node process (as each concurrent Lambda invocation is its own
 * execution environment), started like the Lambda runtime with the function's
 * environment and a 30 s deadline (../emulator/lambda-runtime.ts). The function's AWS calls go to
 * the local AWS (../emulator/local-aws.ts) either through the gateway with the S3 conformance gate
 * (S3's conditional-write rules, ../emulator/s3-gate.ts), optionally with S3's faults switched on
 * for the batch (../emulator/s3-faults.ts), or straight to moto (the baseline that shows what the
 * gate prevents). The bucket is versioned from the first batch with faults on (inconsistent reads
 * answer with an earlier version). STS is plain moto (no IAM
 * enforcement): this is about the append, not about access. Its ISS source is a fresh
 * ./iss-simulator.ts per batch (every request a new, later second, so every run has its own entry).
 *
 * After a batch, the log is read back and checked: the bytes before the runs intact, which
 * successful run's entry landed (once, twice, never), anything else that appeared, and multipart
 * uploads left behind (ListMultipartUploads).
 */
import { CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, PutBucketVersioningCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildFunctionBundle, LAMBDA_HANDLER } from "../../function/build";
import { formatEntry, formatUtc, LOG_HEADER } from "../../function/core";
import { simulatedPosition, startIssSimulator } from "../emulator/iss-simulator";
import { invokeInFreshProcess, scheduledEvent, unpackFunction } from "../emulator/lambda-runtime";
import { LOCAL_ACCOUNT_B, LOCAL_REGION, startLocalAws, type LocalAws } from "../emulator/local-aws";
import type { FaultSettings, FaultStats, S3Faults } from "../emulator/s3-faults";
import type { S3Gate } from "../emulator/s3-gate";

const ACCOUNT_B = LOCAL_ACCOUNT_B;
const REGION = LOCAL_REGION;
const BUCKET = "iss-tracker-append-race";
const ACCESS_ROLE = `arn:aws:iam::${ACCOUNT_B}:role/iss-tracker-access`;
/** The deployed function's timeout (stacks/constructs/tracker-function.ts). */
export const FUNCTION_TIMEOUT_MS = 30_000;
export const MiB = 1024 * 1024;
/** MULTIPART_THRESHOLD_BYTES for the runs: 5 MiB, S3's smallest part. */
export const THRESHOLD_BYTES = 5 * MiB;
/**
 * The store faults a function must survive without losing an entry: a quarter of ranged reads
 * inconsistent (bytes of the previous version under the current ETag), one GET in five answered
 * 503 SlowDown, and the response lost (500 InternalError) after every third committed write.
 */
export const STORE_FAULTS: FaultSettings = {
  inconsistentReads: { fraction: 0.25, seed: 16 },
  slowDown: { every: 5 },
  lostResponses: { every: 3, as: "500" },
};

export interface RaceOptions {
  /** Concurrent runs, each in its own Node process. */
  readonly runs: number;
  /** Size of the log before the runs: below THRESHOLD_BYTES read-modify-write, at or above it multipart append. */
  readonly logBytes: number;
  /** Through the S3 gate (default) or straight to moto. */
  readonly gate?: boolean;
  /** Each run's deadline (Lambda's timeout). Default FUNCTION_TIMEOUT_MS, the deployed function's. */
  readonly timeoutMs?: number;
  /** S3 faults on this batch's object, through the gate only (default: none). */
  readonly faults?: FaultSettings;
}

export interface RunOutcome {
  readonly ok: boolean;
  readonly ms: number;
  readonly attempts?: number;
  readonly path?: string;
  readonly issTimestamp?: number;
  readonly error?: string;
}

export interface RaceResult {
  readonly options: Required<RaceOptions>;
  readonly key: string;
  readonly outcomes: readonly RunOutcome[];
  readonly succeeded: number;
  /** Successful runs whose entry is in the log exactly once or more. */
  readonly landed: number;
  /** Successful runs whose entry is not in the log. */
  readonly lost: number;
  /** Extra copies of entries (an entry present n times counts n - 1). */
  readonly duplicated: number;
  /** New `Time:` entries that belong to no successful run. */
  readonly unexpected: number;
  /** The log's bytes from before the runs are its first bytes, unchanged. */
  readonly prefixIntact: boolean;
  readonly leftoverUploads: number;
  readonly logBytesAfter: number;
  /** Wall time of the batch (all processes), ms. */
  readonly wallMs: number;
  /** Conditional requests the S3 gate refused during the batch (0 without it). */
  readonly refusedByGate: number;
  /** What the fault gate did during the batch (counts since its start). */
  readonly faults: FaultStats;
}

/** A valid log of at least `bytes` bytes (header + plausible entries 5 minutes apart, the last a day ago). */
export function logOfSize(bytes: number): Buffer {
  const last = Math.floor(Date.now() / 1000) - 86_400;
  const entries: string[] = [];
  let size = Buffer.byteLength(LOG_HEADER);
  for (let timestamp = last; entries.length === 0 || size < bytes; timestamp -= 300) {
    const entry = formatEntry({ timestamp, ...simulatedPosition(timestamp) });
    entries.push(entry);
    size += Buffer.byteLength(entry);
  }
  return Buffer.from(LOG_HEADER + entries.reverse().join(""), "utf8");
}

const delta = (after: { eligible: number; injected: number }, before: { eligible: number; injected: number }) =>
  ({ eligible: after.eligible - before.eligible, injected: after.injected - before.injected });

/** "Gave up after 6 attempts", "after 3 append attempt(s)": the attempts a failed run reports. */
function attemptsOf(error: string | undefined): number | undefined {
  const m = /after (\d+) (?:append )?attempt/.exec(error ?? "");
  return m ? Number(m[1]) : undefined;
}

export class AppendRace {
  private batches = 0;
  private versioned = false;

  private constructor(
    readonly local: LocalAws,
    private readonly workDir: string,
    private readonly fn: { entry: string; exportName: string },
  ) {}

  /** The S3 conformance gate in the gateway. */
  get s3Gate(): S3Gate {
    return this.local.s3Gate!;
  }

  /** The S3 fault gate in the gateway (every fault off unless a batch switches it on). */
  get faults(): S3Faults {
    return this.local.faults!;
  }

  /** The local AWS with the S3 fault and conformance gates, the versioned bucket in B, the bundle built. */
  static async start(): Promise<AppendRace> {
    const workDir = mkdtempSync(join(tmpdir(), "iss-append-race-"));
    const local = await startLocalAws({ gates: ["faults", "owner", "s3"] });
    try {
      const bundle = buildFunctionBundle(join(workDir, "build"), { incremental: false });
      const fn = unpackFunction(readFileSync(bundle.zipPath), join(workDir, "bundle"), LAMBDA_HANDLER);
      const race = new AppendRace(local, workDir, fn);
      const admin = race.admin();
      await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
      return race;
    } catch (error) {
      await local.stop();
      rmSync(workDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** B's administrator, straight to moto. */
  admin(): S3Client {
    return this.local.s3B();
  }

  /** Writes a log of `logBytes` to a new key, runs the batch, and checks what landed. */
  async run(options: RaceOptions): Promise<RaceResult> {
    const opts: Required<RaceOptions> = { gate: true, timeoutMs: FUNCTION_TIMEOUT_MS, faults: {}, ...options };
    const batch = ++this.batches;
    const faulty = Object.values(opts.faults).some((f) => f !== undefined);
    const key = `race/${batch}-${opts.runs}x-${opts.logBytes}b-${opts.gate ? (faulty ? "faults" : "gate") : "moto"}.txt`;
    const dir = join(this.workDir, `batch-${batch}`);
    mkdirSync(dir);
    const original = logOfSize(opts.logBytes);
    const s3 = this.admin();
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: original }));
    const simulator = await startIssSimulator();
    const refusedBefore = this.s3Gate.stats().refused;
    const faultsBefore = this.faults.stats();
    if (faulty && !this.versioned) {
      // Inconsistent reads answer with an earlier version: from the first batch with faults on, the bucket keeps them.
      await s3.send(new PutBucketVersioningCommand({ Bucket: BUCKET, VersioningConfiguration: { Status: "Enabled" } }));
      this.versioned = true;
    }
    if (faulty) {
      this.faults.appliesTo((target) => target.bucket === BUCKET && target.key === key);
      this.faults.set(opts.faults);
    }
    const env: Record<string, string> = {
      ACCESS_ROLE_ARN: ACCESS_ROLE,
      EXTERNAL_ID: "append-race",
      BUCKET_NAME: BUCKET,
      BUCKET_REGION: REGION,
      OBJECT_KEY: key,
      ISS_SOURCES: simulator.url,
      MULTIPART_THRESHOLD_BYTES: String(THRESHOLD_BYTES),
      AWS_ACCESS_KEY_ID: "AKIAEXECUTIONROLE",
      AWS_SECRET_ACCESS_KEY: "execution-role-secret",
      AWS_SESSION_TOKEN: "execution-role-token",
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ENDPOINT_URL: opts.gate ? this.local.endpoint : this.local.motoEndpoint,
      AWS_LAMBDA_FUNCTION_NAME: "iss-tracker-function",
    };
    const started = Date.now();
    let outcomes: RunOutcome[];
    try {
      outcomes = await Promise.all(Array.from({ length: opts.runs }, async () => {
        const run = await invokeInFreshProcess<{ targets: Array<{ attempts?: number; path?: string; issTimestamp?: number }> }>({
          ...this.fn, functionName: "iss-tracker-function", timeoutMs: opts.timeoutMs, env, events: [scheduledEvent()], workDir: dir,
        });
        const result = run.results?.[0];
        if (!result) return { ok: false, ms: Date.now() - started, error: `the runner wrote no result: ${(run.stdout + run.stderr).slice(-2000)}` };
        return result.ok
          ? { ok: true, ms: result.ms, attempts: result.summary?.targets[0]?.attempts, path: result.summary?.targets[0]?.path, issTimestamp: result.summary?.targets[0]?.issTimestamp }
          : { ok: false, ms: result.ms, error: result.error, attempts: attemptsOf(result.error) };
      }));
    } finally {
      this.faults.clear();
      await simulator.stop();
    }
    const faultsAfter = this.faults.stats();
    const wallMs = Date.now() - started;

    const after = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());
    const prefixIntact = after.length >= original.length && after.subarray(0, original.length).equals(original);
    const added = after.subarray(Math.min(original.length, after.length)).toString("utf8");
    const times = [...added.matchAll(/^Time: (.+)$/gm)].map((m) => m[1]);
    const seen = new Map<string, number>();
    for (const t of times) seen.set(t, (seen.get(t) ?? 0) + 1);
    const expected = new Set(outcomes.filter((o) => o.ok && o.issTimestamp !== undefined).map((o) => formatUtc(o.issTimestamp!)));
    const landed = [...expected].filter((t) => seen.has(t)).length;
    const duplicated = [...seen.values()].reduce((sum, n) => sum + n - 1, 0);
    const unexpected = [...seen.keys()].filter((t) => !expected.has(t)).length;
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: key }));
    return {
      options: opts,
      key,
      outcomes,
      succeeded: outcomes.filter((o) => o.ok).length,
      landed,
      lost: expected.size - landed,
      duplicated,
      unexpected,
      prefixIntact,
      leftoverUploads: uploads.Uploads?.length ?? 0,
      logBytesAfter: after.length,
      wallMs,
      refusedByGate: this.s3Gate.stats().refused - refusedBefore,
      faults: {
        conflicts: delta(faultsAfter.conflicts, faultsBefore.conflicts),
        inconsistentReads: delta(faultsAfter.inconsistentReads, faultsBefore.inconsistentReads),
        slowDown: delta(faultsAfter.slowDown, faultsBefore.slowDown),
        lostResponses: delta(faultsAfter.lostResponses, faultsBefore.lostResponses),
      },
    };
  }

  async stop(): Promise<void> {
    await this.local.stop();
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
