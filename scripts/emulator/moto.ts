/**
 * The moto AWS emulator as a child process on a free loopback port.
 *
 * Started through the local AWS (./local-aws.ts) by `npm start`, the benchmarks and the tests.
 * moto is a Python package: the machine's python3 (or ISS_TRACKER_PYTHON) when it has the pinned
 * version, otherwise the project's .venv-emulator, installed on first use (../shared/python-tools.ts).
 *
 * The server runs with a clean environment (motoEnvironment): what the interpreter needs to start,
 * and nothing of the caller's AWS settings or credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...), so
 * an emulator can never act with, log or leak a real account's keys.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { ensurePythonTool, MOTO } from "../shared/python-tools";

export interface MotoServer {
  /** e.g. http://127.0.0.1:43123 */
  readonly endpoint: string;
  readonly port: number;
  /** The server process's id. */
  readonly pid: number;
  /** Clears all emulated state (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** Turns IAM enforcement on: identity policies are checked from now on (POST /moto-api/reset-auth). */
  enforceIam(): Promise<void>;
  /** Turns IAM enforcement off again. */
  relaxIam(): Promise<void>;
  stop(): Promise<void>;
}

/** The Python that runs moto: the machine's when it has the pinned moto, else .venv-emulator (installed on first use). */
export function motoPython(): string {
  return ensurePythonTool(MOTO);
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function waitUntilReady(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto server exited with code ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) return;
      lastError = new Error(`HTTP ${res.status}`);
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto server at ${endpoint} not ready after ${timeoutMs} ms: ${String(lastError)}`);
}

/** What the interpreter needs from the caller's environment to start: the search path, the locale, a home and temporary folder, pyenv's and Python's own settings. */
const INHERITED = /^(PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR|TEMP|TMP|SYSTEMROOT|PYENV(_[A-Z_]+)?|PYTHON[A-Z_]*)$/;

/**
 * The server's environment: the caller's variables INHERITED allows (never an AWS_* setting, a
 * credential or MOTO_ACCOUNT_ID, which breaks cross-account STS), then `extra`.
 */
export function motoEnvironment(callerEnv: NodeJS.ProcessEnv = process.env, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(callerEnv)) if (INHERITED.test(name) && value !== undefined) env[name] = value;
  Object.assign(env, extra);
  delete env.MOTO_ACCOUNT_ID;
  for (const name of Object.keys(env)) if (name.startsWith("AWS_")) delete env[name];
  return env;
}

export interface StartMotoOptions {
  readonly port?: number;
  /** Extra environment for the server, e.g. MOTO_* settings (never MOTO_ACCOUNT_ID or AWS_*: dropped). */
  readonly env?: NodeJS.ProcessEnv;
  readonly readyTimeoutMs?: number;
  /** Stream the server's log to this process's stderr. */
  readonly verbose?: boolean;
}

export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const python = motoPython();
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const env = motoEnvironment(process.env, options.env);
  const child = spawn(python, ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
    env,
    stdio: ["ignore", options.verbose ? "inherit" : "ignore", options.verbose ? "inherit" : "pipe"],
  });
  let stderrTail = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-4000);
  });
  const stopOnExit = () => child.kill("SIGTERM");
  process.once("exit", stopOnExit);
  try {
    await waitUntilReady(endpoint, child, options.readyTimeoutMs ?? 20_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(`${(error as Error).message}\n${stderrTail}`);
  }
  const post = async (path: string, body?: string) => {
    const res = await fetch(`${endpoint}${path}`, { method: "POST", body });
    if (!res.ok) throw new Error(`moto ${path}: HTTP ${res.status}`);
  };
  return {
    endpoint,
    port,
    pid: child.pid!,
    reset: () => post("/moto-api/reset"),
    enforceIam: () => post("/moto-api/reset-auth", "0"),
    // moto enforces after INITIAL_NO_AUTH_ACTION_COUNT requests: infinity means never.
    relaxIam: () => post("/moto-api/reset-auth", "inf"),
    stop: () =>
      new Promise<void>((resolveStop) => {
        process.removeListener("exit", stopOnExit);
        if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolveStop();
        });
        child.kill("SIGTERM");
      }),
  };
}
