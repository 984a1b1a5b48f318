/**
 * npm run lint:workflows [-- DIR]: actionlint (syntax, expressions, action inputs, runner labels)
 * and zizmor (security: unpinned actions, persisted credentials, excessive permissions, template
 * injection, dangerous triggers) on the GitHub Actions workflows, both from their pinned, hashed
 * venv (scripts/shared/python-tools.ts, WORKFLOW_LINTERS). zizmor runs --offline: its online audits
 * need a GitHub token and network. Exits 1 when either reports anything.
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { ensurePythonTool, PROJECT_ROOT, WORKFLOW_LINTERS } from "../shared/python-tools";

export const WORKFLOWS_DIR = join(PROJECT_ROOT, ".github", "workflows");

export interface LinterRun {
  readonly tool: "actionlint" | "zizmor";
  readonly ok: boolean;
  readonly output: string;
}

/** Both linters on every workflow file of `dir`. */
export function lintWorkflows(dir: string = WORKFLOWS_DIR): LinterRun[] {
  const bin = dirname(ensurePythonTool(WORKFLOW_LINTERS));
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(dir, f)).sort();
  if (files.length === 0) throw new Error(`no workflow files in ${dir}`);
  const run = (tool: LinterRun["tool"], args: string[]): LinterRun => {
    const result = spawnSync(join(bin, tool), args, { cwd: PROJECT_ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 5 * 60_000 });
    const output = `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ? result.error.message : ""}`.trim();
    return { tool, ok: result.status === 0, output };
  };
  return [
    run("actionlint", ["-no-color", ...files]),
    run("zizmor", ["--offline", "--no-progress", "--color=never", ...files]),
  ];
}

if (require.main === module) {
  const runs = lintWorkflows(process.argv[2] ?? WORKFLOWS_DIR);
  for (const r of runs) console.log(`${r.tool}: ${r.ok ? "clean" : "FINDINGS"}${r.output && !r.ok ? `\n${r.output}` : ""}`);
  process.exit(runs.every((r) => r.ok) ? 0 : 1);
}
