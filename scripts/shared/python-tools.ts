/**
 * The project's Python tools (the moto emulator, the checkov scanner), installed on demand by the
 * commands that need them, so `npm start` and `npm test` work on a fresh clone with nothing run
 * first. Each tool has a pinned requirements file and its own virtualenv in the project
 * (.venv-emulator, .venv-checkov):
 *
 * - fast when present: the venv records what it was built from (the requirements' sha256 without
 *   comments, and the base Python's version); a match costs one `python3 --version`;
 * - rebuilt from scratch (`venv --clear`) only when either changes or an install did not finish;
 * - one install at a time across processes (a lock directory beside the venv), with a progress
 *   line while it runs;
 * - a machine interpreter that already has the exact pinned distributions can be used instead
 *   (moto: the machine's python3 often has it; checkov never, its pins clash with other tools);
 * - a fully pinned tool (checkov, the workflow linters: a full freeze) is installed by uv (pinned in
 *   uv-requirements.txt, itself installed by the venv's pip), about 20 s of CPU less than pip for
 *   checkov; pip installs it when uv cannot (uv does not read pip's configuration: an index or proxy
 *   that only pip.conf names), with the same exact pins, so either way the venv holds the same
 *   distributions;
 * - a full freeze carries the sha256 of every file PyPI serves for each pin, and uv and pip install
 *   it (and uv itself) in hash-checking mode (--require-hashes): a file that is not the one pinned,
 *   from whatever index or mirror, is refused.
 *
 * Only Python itself is a prerequisite: a missing python3 is reported with what to install.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

export const PROJECT_ROOT = resolve(__dirname, "..", "..");

export interface PythonTool {
  /** For messages, e.g. "moto". */
  readonly name: string;
  /** Pinned requirements (pip -r). */
  readonly requirements: string;
  /** The tool's virtualenv. */
  readonly venv: string;
  /** Distribution names whose installed versions must equal the requirements' pins for a machine interpreter to be used. */
  readonly machineDistributions?: readonly string[];
  /** Interpreters tried before the venv (only with machineDistributions). */
  readonly machineInterpreters?: readonly string[];
  /**
   * The requirements pin every package of the venv (a full freeze) with their hashes: install them as
   * listed without a resolver (`--no-deps`), in hash-checking mode, with uv when it can be installed;
   * `pip check` still verifies them.
   */
  readonly fullyPinned?: boolean;
  /** Where uv's pin is (default: scripts/shared/uv-requirements.txt). */
  readonly uvRequirements?: string;
}

export const UV_REQUIREMENTS = join(PROJECT_ROOT, "scripts", "shared", "uv-requirements.txt");

export const MOTO: PythonTool = {
  name: "moto (the local AWS emulator)",
  requirements: join(PROJECT_ROOT, "scripts", "emulator", "requirements.txt"),
  venv: join(PROJECT_ROOT, ".venv-emulator"),
  machineDistributions: ["moto", "flask", "flask-cors"],
  machineInterpreters: [process.env.ISS_TRACKER_PYTHON ?? "", "python3"].filter(Boolean),
};

export const CHECKOV: PythonTool = {
  name: "checkov (the IaC scanner)",
  requirements: join(PROJECT_ROOT, "scripts", "checkov", "requirements.txt"),
  venv: join(PROJECT_ROOT, ".venv-checkov"),
  fullyPinned: true,
};

/** parliament, the IAM policy linter run over every synthesized policy (scripts/parliament/lint.ts). */
export const PARLIAMENT: PythonTool = {
  name: "parliament (the IAM policy linter)",
  requirements: join(PROJECT_ROOT, "scripts", "parliament", "requirements.txt"),
  venv: join(PROJECT_ROOT, ".venv-parliament"),
  fullyPinned: true,
};

/** actionlint and zizmor, the GitHub Actions workflow linters (both single wheels with their binary inside). */
export const WORKFLOW_LINTERS: PythonTool = {
  name: "actionlint and zizmor (the workflow linters)",
  requirements: join(PROJECT_ROOT, "scripts", "workflows", "requirements.txt"),
  venv: join(PROJECT_ROOT, ".venv-workflow-lint"),
  fullyPinned: true,
};

/**
 * The pins of a full freeze that carry no `--hash=sha256:` (hash-checking mode refuses to install
 * them): empty when every requirement is hashed.
 */
export function unhashedPins(requirementsText: string): string[] {
  const requirements = requirementsText.replace(/\\\n/g, " ").split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
  return requirements.filter((r) => !/--hash=sha256:[0-9a-f]{64}/.test(r)).map((r) => r.split(/\s/)[0]);
}

/** The interpreter venvs are built from: ISS_TRACKER_BASE_PYTHON or python3. */
function basePython(): string {
  return process.env.ISS_TRACKER_BASE_PYTHON ?? "python3";
}

/** `name==version` pins of a requirements file (extras dropped), comments and blanks ignored. */
export function pinsOf(requirementsText: string): Map<string, string> {
  const pins = new Map<string, string>();
  for (const raw of requirementsText.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const m = /^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;]+)/.exec(line);
    if (m) pins.set(m[1].toLowerCase().replace(/[_.]/g, "-"), m[3]);
  }
  return pins;
}

/** What a venv must have been built from: the requirements (comments aside) and the base Python's version. */
function buildStamp(tool: PythonTool, pythonVersion: string): string {
  const requirements = readFileSync(tool.requirements, "utf8").split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean).join("\n");
  return `${createHash("sha256").update(requirements).digest("hex")} python ${pythonVersion}`;
}

function run(command: string, args: string[], timeoutMs = 15 * 60_000) {
  return spawnSync(command, args, { encoding: "utf8", timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
}

/** The machine interpreter that already has every pinned distribution at its pinned version, if any. */
function machineInterpreter(tool: PythonTool): string | undefined {
  if (!tool.machineDistributions?.length) return undefined;
  const pins = pinsOf(readFileSync(tool.requirements, "utf8"));
  const wanted = tool.machineDistributions.map((d) => [d, pins.get(d)] as const);
  const script = "import sys\nfrom importlib.metadata import version\nfor d in sys.argv[1:]:\n  print(version(d))";
  for (const python of tool.machineInterpreters ?? []) {
    const probe = run(python, ["-c", script, ...wanted.map(([d]) => d)], 30_000);
    if (probe.status !== 0) continue;
    const versions = probe.stdout.trim().split("\n");
    // Distributions without a pin only have to be present.
    if (wanted.every(([, pin], i) => pin === undefined || versions[i] === pin)) return python;
  }
  return undefined;
}

/** Waits for and takes `<venv>.lock` (a directory: atomic create). Stale after 20 minutes. */
function lock(dir: string): () => void {
  const lockDir = `${dir}.lock`;
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(lockDir);
      return () => rmSync(lockDir, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      let age = 0;
      try {
        age = Date.now() - statSync(lockDir).mtimeMs;
      } catch {
        continue;
      }
      if (age > 20 * 60_000) rmSync(lockDir, { recursive: true, force: true });
      else if (Date.now() - started > 20 * 60_000) throw new Error(`timed out waiting for ${lockDir} (another install?)`);
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
}

type Step = [command: string, args: string[]];

/**
 * Runs one install step: undefined when it succeeded, else what went wrong (`summary`: the last line
 * it printed; `detail`: the command and the end of its output).
 */
function attempt([command, args]: Step): { summary: string; detail: string } | undefined {
  const result = run(command, args);
  if (!result.error && result.status === 0) return undefined;
  const output = `${result.stdout.slice(-2000)}${result.stderr.slice(-4000)}`;
  return {
    summary: result.error?.message ?? (output.trim().split("\n").pop() || `exit ${result.status}`),
    detail: `${[command, ...args].join(" ")}\n${result.error?.message ?? ""}${output}`,
  };
}

/** Runs one install step; throws what failed, with its output and what to do, when it failed. */
function step(tool: PythonTool, command: Step): void {
  const failed = attempt(command);
  if (failed) {
    throw new Error(`setting up ${tool.name} failed at: ${failed.detail}\n` +
      `Fix the cause (network to PyPI, a Python without venv/pip) and run the command again; it starts over by itself.`);
  }
}

/**
 * The Python interpreter to run `tool` with, installing it into its venv first when needed.
 * Throws a clear error (what to install, what failed) when Python is missing or pip fails.
 */
export function ensurePythonTool(tool: PythonTool, progress: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): string {
  const machine = machineInterpreter(tool);
  if (machine) return machine;
  const base = basePython();
  const version = run(base, ["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], 30_000);
  if (version.error || version.status !== 0) {
    throw new Error(`${tool.name} needs Python 3.9 or newer, and '${base}' ${version.error ? "was not found" : "does not run"}. ` +
      `Install Python 3 (with venv and pip; e.g. apt install python3-venv), or set ISS_TRACKER_BASE_PYTHON to an interpreter.`);
  }
  const stamp = buildStamp(tool, version.stdout.trim());
  const stampFile = join(tool.venv, ".installed-from");
  const python = join(tool.venv, "bin", "python");
  const current = () => existsSync(python) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp;
  if (current()) return python;
  const release = lock(tool.venv);
  try {
    if (current()) return python; // another process installed it while we waited
    const started = Date.now();
    progress(`setting up ${tool.name}: installing ${relative(PROJECT_ROOT, tool.requirements)} into ${relative(PROJECT_ROOT, tool.venv)} (once; later runs reuse it) ...`);
    rmSync(stampFile, { force: true });
    const pip = (...args: string[]): Step => [python, ["-m", "pip", ...args]];
    const quiet = ["--quiet", "--disable-pip-version-check", "--no-input"];
    step(tool, [base, ["-m", "venv", "--clear", tool.venv]]);
    let installer = "pip";
    if (tool.fullyPinned) {
      const uv = join(tool.venv, "bin", "uv");
      const failed = attempt(pip("install", ...quiet, "--require-hashes", "-r", tool.uvRequirements ?? UV_REQUIREMENTS)) ??
        attempt([uv, ["pip", "install", "--quiet", "--python", python, "--no-deps", "--require-hashes", "--compile-bytecode", "-r", tool.requirements]]);
      if (failed === undefined) installer = "uv";
      else progress(`setting up ${tool.name}: uv could not install it (${failed.summary}); pip does, a little slower`);
    }
    if (installer === "pip") step(tool, pip("install", ...quiet, ...(tool.fullyPinned ? ["--no-deps", "--require-hashes"] : []), "-r", tool.requirements));
    step(tool, pip("check"));
    writeFileSync(stampFile, stamp);
    progress(`setting up ${tool.name}: done in ${((Date.now() - started) / 1000).toFixed(0)} s (installed with ${installer})`);
    return python;
  } finally {
    release();
  }
}
