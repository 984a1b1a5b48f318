/**
 * checkov on both synthesized stacks: the pinned scanner (scripts/checkov/requirements.txt, its own
 * venv .venv-checkov, installed on first use), the project's configuration (.checkov.yaml: every
 * skip justified on its line), and only the synthesized Terraform JSON (not cdktf's manifest or the
 * function's asset). Used by `npm run checkov` (./cli.ts) and the checkov test.
 */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BOOTSTRAP_STACK_NAME } from "../../stacks/bootstrap-stack";
import type { AppConfig } from "../../stacks/config";
import { TRACKER_STACK_NAME } from "../../stacks/iss-tracker-stack";
import { CHECKOV, ensurePythonTool } from "../shared/python-tools";
import { synthesizeStacks, type SynthesizedStacks } from "../shared/synth";

export const CHECKOV_CONFIG = join(__dirname, ".checkov.yaml");

/** Writes each stack's cdk.tf.json as `<dir>/<stack>/cdk.tf.json`, the layout checkov scans. */
export function writeScanTree(dir: string, stacks: SynthesizedStacks): void {
  for (const [name, json] of [[TRACKER_STACK_NAME, stacks.tracker], [BOOTSTRAP_STACK_NAME, stacks.bootstrap]] as const) {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, "cdk.tf.json"), JSON.stringify(json, null, 2));
  }
}

/** Synthesizes both stacks for `config` into `<dir>/synth` and lays out `<dir>/scan/stacks` for checkov. */
export function prepareScan(dir: string, config: AppConfig): { scanDir: string; stacks: SynthesizedStacks } {
  const stacks = synthesizeStacks(config, join(dir, "synth"));
  const scanDir = join(dir, "scan");
  writeScanTree(join(scanDir, "stacks"), stacks);
  return { scanDir, stacks };
}

/** Runs the pinned checkov (installing it first when needed) with these arguments. */
export function runCheckov(args: readonly string[], options: { inherit?: boolean } = {}): SpawnSyncReturns<string> {
  const python = ensurePythonTool(CHECKOV);
  const checkov = join(python, "..", "checkov");
  return spawnSync(checkov, [...args], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    stdio: options.inherit ? "inherit" : "pipe",
  });
}
