/**
 * npm run checkov: synthesizes both stacks (normal mode, into a temporary directory: the user's
 * cdktf.out is left alone) and scans them with the pinned checkov and the project's configuration.
 * Configuration as for synth; ACCOUNT_B_ID (222222222222) and DEPLOYER_PRINCIPAL_ARN default to
 * examples, since no check depends on their values. Extra arguments go to checkov, e.g.
 *   npm run checkov -- -o json
 * Exits with checkov's status (non-zero on a failed check).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "../../stacks/config";
import { reviewConfig } from "../shared/synth";
import { CHECKOV_CONFIG, prepareScan, runCheckov } from "./scan";

function main(argv: readonly string[]): number {
  const work = mkdtempSync(join(tmpdir(), "iss-checkov-"));
  try {
    const { scanDir } = prepareScan(work, reviewConfig(process.env));
    const run = runCheckov(["--config-file", CHECKOV_CONFIG, "-d", scanDir, ...argv], { inherit: true });
    if (run.error) throw run.error;
    return run.status ?? 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

try {
  process.exit(main(process.argv.slice(2)));
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : `checkov: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
