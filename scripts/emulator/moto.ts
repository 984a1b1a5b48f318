/**
 * The moto AWS emulator as a child process on a free loopback port.
 *
 * Used by `npm start`, the benchmarks and the emulator tests. moto is a Python package: we look
 * for it in ISS_TRACKER_PYTHON, the project's .venv-emulator, then python3, and fail with the
 * install command when it is missing.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";

export const MOTO_INSTALL_HINT =
  "bash scripts/setup-emulator.sh   (installs the pinned moto into .venv-emulator)\n" +
  "  or: python3 -m pip install -r emulator/requirements.txt";
const PROJECT_VENV_PYTHON = resolve(__dirname, "..", "..", ".venv-emulator", "bin", "python");

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

/** ISS_TRACKER_PYTHON, else the project's .venv-emulator (made by setup-emulator.sh), else python3. */
export function pythonCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.ISS_TRACKER_PYTHON ?? (existsSync(PROJECT_VENV_PYTHON) ? PROJECT_VENV_PYTHON : "python3");
}

/** Throws a clear, actionable error when moto's server is not importable. */
export function checkMotoInstalled(env: NodeJS.ProcessEnv = process.env): string {
  const python = pythonCommand(env);
  const probe = spawnSync(python, ["-c", "import moto, moto.server, flask; print(moto.__version__)"], {
    encoding: "utf8",
  });
  if (probe.error || probe.status !== 0) {
    const why = probe.error ? String(probe.error.message) : (probe.stderr || "").trim().split("\n").pop();
    throw new Error(
      `The moto AWS emulator is not available to '${python}' (${why}).\n` +
        `Install it with:\n  ${MOTO_INSTALL_HINT}\n` +
        `or point ISS_TRACKER_PYTHON at a Python that has it.`,
    );
  }
  return probe.stdout.trim();
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
  checkMotoInstalled();
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  delete env.MOTO_ACCOUNT_ID;
  const child = spawn(pythonCommand(), ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
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
