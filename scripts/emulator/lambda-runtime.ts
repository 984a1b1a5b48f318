/**
 * The Lambda service's part, for the emulator (moto's Invoke needs Docker, which is not here):
 * a function package unpacked, and its handler invoked the way the Lambda runtime does it, in a
 * fresh Node process (a cold start: nothing cached from an earlier invocation) whose environment
 * is exactly the function's, with a context whose getRemainingTimeInMillis counts down the
 * function's timeout. The process is ./lambda-runner.cjs. Used by the rehearsal (`npm start`), the
 * function's bundle tests and the append benchmark: one way to run the shipped code.
 */
import { unzipSync } from "fflate";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const LAMBDA_RUNNER = join(__dirname, "lambda-runner.cjs");

/** What one invocation gave: the handler's return value, or the message it threw. */
export interface InvocationResult<S = Record<string, unknown>> {
  readonly ok: boolean;
  readonly summary?: S;
  readonly error?: string;
  readonly ms: number;
  /** The process's peak resident memory when this run ended (KiB): Lambda's "Max Memory Used". */
  readonly maxRssKiB?: number;
}

export interface Invocations<S = Record<string, unknown>> {
  /** The runner's exit code: 0 when every handler call returned or threw (nothing crashed the process). */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** One per event, in order; undefined when the process died before writing them. */
  readonly results?: Array<InvocationResult<S>>;
  /** The JSON lines the function logged (console.log on stdout, console.warn/error on stderr). */
  readonly lines: Array<Record<string, unknown>>;
  readonly stdout: string;
  readonly stderr: string;
}

export interface InvokeOptions {
  /** The unpacked entry file (see unpackFunction). */
  readonly entry: string;
  readonly exportName: string;
  readonly functionName: string;
  /** The function's timeout, what getRemainingTimeInMillis counts down from. */
  readonly timeoutMs: number;
  /** The process environment: the function's configuration and credentials (nothing else is inherited but PATH). */
  readonly env: Record<string, string>;
  readonly events: readonly unknown[];
  /** Invocations at once in this process. Default 1. */
  readonly parallel?: number;
  /** Where the job and results files go. */
  readonly workDir: string;
}

/** "index.handler" -> ["index", "handler"]. */
export function splitHandler(handler: string): [string, string] {
  const dot = handler.lastIndexOf(".");
  if (dot <= 0 || /[\\/]|\.\./.test(handler)) throw new Error(`unsupported handler ${JSON.stringify(handler)}`);
  return [handler.slice(0, dot), handler.slice(dot + 1)];
}

/** Unpacks a function's zip into `dir`: the entry file and export that `handler` (e.g. "index.handler") names. */
export function unpackFunction(zip: Uint8Array, dir: string, handler: string): { entry: string; exportName: string; files: string[] } {
  const [moduleName, exportName] = splitHandler(handler);
  mkdirSync(dir, { recursive: true });
  const files = Object.entries(unzipSync(zip));
  for (const [name, data] of files) writeFileSync(join(dir, name), data);
  if (!files.some(([name]) => name === `${moduleName}.js`)) throw new Error(`the package has no ${moduleName}.js for handler ${handler}`);
  return { entry: join(dir, `${moduleName}.js`), exportName, files: files.map(([name]) => name) };
}

/** An EventBridge scheduled event, as the schedule rule delivers it. */
export function scheduledEvent(fields: { account?: string; region?: string; rule?: string } = {}): Record<string, unknown> {
  return {
    version: "0", id: randomUUID(), "detail-type": "Scheduled Event", source: "aws.events", account: fields.account ?? "123456789012",
    time: new Date().toISOString(), region: fields.region ?? "us-east-1", resources: fields.rule ? [fields.rule] : [], detail: {},
  };
}

let jobs = 0;

/**
 * Invokes the handler once per event in a fresh Node process and collects what happened. A process
 * that outlives every invocation's timeout by 15 s is a hang of the function itself: it is killed
 * (signal SIGKILL in the result).
 */
export function invokeInFreshProcess<S = Record<string, unknown>>(options: InvokeOptions): Promise<Invocations<S>> {
  const dir = join(options.workDir, `job-${process.pid}-${++jobs}`);
  mkdirSync(dir, { recursive: true });
  const parallel = Math.max(1, options.parallel ?? 1);
  const job = {
    entry: options.entry,
    exportName: options.exportName,
    functionName: options.functionName,
    timeoutMs: options.timeoutMs,
    parallel,
    events: options.events,
    resultsFile: join(dir, "results.json"),
  };
  writeFileSync(join(dir, "job.json"), JSON.stringify(job));
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [LAMBDA_RUNNER, join(dir, "job.json")], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? "", NODE_NO_WARNINGS: "1", AWS_EC2_METADATA_DISABLED: "true", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const rounds = Math.ceil(options.events.length / parallel);
    const killer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs * rounds + 15_000);
    child.on("error", (error) => {
      clearTimeout(killer);
      reject(error);
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(killer);
      writeFileSync(join(dir, "function.log"), `${stdout}${stderr}`);
      let results: Array<InvocationResult<S>> | undefined;
      try {
        results = JSON.parse(readFileSync(job.resultsFile, "utf8"));
      } catch {
        results = undefined;
      }
      const lines = `${stdout}\n${stderr}`.split("\n").filter((l) => l.startsWith("{")).flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
      resolveRun({ exitCode, signal, results, lines, stdout, stderr });
    });
  });
}
