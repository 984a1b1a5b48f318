// Before any test file: what no package manager of the project installs (Node, Terraform, Python)
// must be there, or the run stops here with one message saying what to install. Then one temporary
// folder for the whole run: os.tmpdir() in every worker and child process (cdktf's Testing outdirs,
// the tests' own folders, Terraform's plugin sockets) points into it, and global-teardown.ts
// removes it, so a test run leaves nothing behind in the machine's temporary folder.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkPrerequisites } from "../scripts/shared/prerequisites";

export const RUN_TMPDIR_VARIABLE = "ISS_TRACKER_TEST_TMPDIR";

export default function globalSetup(): void {
  checkPrerequisites();
  const dir = mkdtempSync(join(tmpdir(), "iss-tracker-test-"));
  process.env[RUN_TMPDIR_VARIABLE] = dir;
  process.env.TMPDIR = dir;
}
