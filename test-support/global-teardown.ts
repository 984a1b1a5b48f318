// After the last test file: the run's temporary folder (see global-setup.ts) goes, with whatever
// the tests and their child processes left in it.
import { rmSync } from "node:fs";
import { RUN_TMPDIR_VARIABLE } from "./global-setup";

export default function globalTeardown(): void {
  const dir = process.env[RUN_TMPDIR_VARIABLE];
  if (dir) rmSync(dir, { recursive: true, force: true });
}
