/**
 * The moto AWS emulator as a child process on a free loopback port.
 *
 * Used by `npm start`, the benchmarks and the emulator tests. moto is a Python package: the
 * machine's python3 (or ISS_TRACKER_PYTHON) when it has the pinned version, otherwise the project's
 * .venv-emulator, installed on first use (../shared/python-tools.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { ensurePythonTool, MOTO } from "../shared/python-tools";

export interface MotoServer {
  /** e.g. http://127.0.0.1:43123 */
  readonly endpoint: string;
  readonly port: number;
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

export interface StartMotoOptions {
  readonly port?: number;
  /** Extra environment for the server (never MOTO_ACCOUNT_ID: it breaks cross-account STS). */
  readonly env?: NodeJS.ProcessEnv;
  readonly readyTimeoutMs?: number;
  /** Stream the server's log to this process's stderr. */
  readonly verbose?: boolean;
}

export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const python = motoPython();
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.MOTO_ACCOUNT_ID;
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
