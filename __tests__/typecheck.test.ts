/**
 * The whole project (product, tools, tests) type-checks under `strict`: `tsc --noEmit -p .`, run as
 * one of the test files so that it overlaps with the slow suites instead of delaying all of them.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(__dirname, "..");

it("type-checks every TypeScript file of the project with the strict compiler settings", () => {
  expect(JSON.parse(readFileSync(join(ROOT, "tsconfig.json"), "utf8")).compilerOptions).toMatchObject({ strict: true, noEmit: true });
  const tsc = spawnSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", ROOT], { cwd: ROOT, encoding: "utf8" });
  expect(`${tsc.stdout}${tsc.stderr}`).toBe("");
  expect(tsc.status).toBe(0);
}, 180_000);
