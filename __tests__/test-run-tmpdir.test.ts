/**
 * A test run leaves nothing in the machine's temporary folder: every worker (and every child
 * process it starts) writes its temporary files into the run's own folder, which jest's global
 * teardown removes (test-support/global-setup.ts, global-teardown.ts).
 */
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename } from "node:path";
import { execFileSync } from "node:child_process";

describe("the test run's temporary folder", () => {
  const runDir = process.env.ISS_TRACKER_TEST_TMPDIR;

  it("is where this worker and its child processes put temporary files", () => {
    expect(runDir).toBeDefined();
    expect(existsSync(runDir!)).toBe(true);
    expect(basename(runDir!)).toMatch(/^iss-tracker-test-/);
    expect(tmpdir()).toBe(runDir);
    expect(execFileSync(process.execPath, ["-p", "require('node:os').tmpdir()"], { encoding: "utf8" }).trim()).toBe(runDir);
  });
});
