/**
 * The deployed artifact: built by buildFunctionBundle, small, deterministic, and loadable as Lambda
 * runs it (index.js out of the zip, required by a plain node process through the rehearsal's
 * runner). What it does against AWS is handler.bundle.test.ts's subject.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildFunctionBundle, LAMBDA_HANDLER } from "../../function/build";
import { buildFunction, failures, runFunction, type BuiltFunction } from "../../test-support/bundle-harness";

let fn: BuiltFunction;
let dir: string;
let bundle: BuiltFunction["bundle"];

beforeAll(() => {
  fn = buildFunction();
  ({ dir, bundle } = fn);
});
afterAll(() => fn?.remove());

describe("buildFunctionBundle", () => {
  it("produces a zip of at most 200 KB whose CodeSha256 is its SHA-256", () => {
    expect(bundle.zipBytes).toBeLessThanOrEqual(200 * 1024);
    expect(bundle.sha256).toBe(createHash("sha256").update(readFileSync(bundle.zipPath)).digest("base64"));
    expect(LAMBDA_HANDLER).toBe("index.handler");
  });

  it("is deterministic: the same sources give the same bytes", () => {
    const again = buildFunctionBundle(join(dir, "again"));
    expect(again.sha256).toBe(bundle.sha256);
  });

  it("reuses an unchanged build and rebuilds when an input file changed", () => {
    const out = join(dir, "incremental");
    const first = buildFunctionBundle(out);
    expect(first.fromCache).toBe(false);
    const second = buildFunctionBundle(out);
    expect(second).toEqual({ ...first, fromCache: true });
    // Pretend one input (the handler) had another size when the cache was written.
    const cacheFile = join(out, "build-cache.json");
    const cache = JSON.parse(readFileSync(cacheFile, "utf8"));
    expect(Object.keys(cache.inputs)).toContain("function/handler.ts");
    cache.inputs["function/handler.ts"][0] += 1;
    writeFileSync(cacheFile, JSON.stringify(cache));
    const third = buildFunctionBundle(out);
    expect(third).toEqual({ ...first, fromCache: false });
    expect(buildFunctionBundle(out, { incremental: false }).fromCache).toBe(false);
  });

  it("fails a run with a misconfigured environment naming the variable, without crashing", async () => {
    const outcome = await runFunction(fn, { env: { AWS_REGION: "us-east-1" } });
    expect(outcome.exitCode).toBe(0);
    expect(outcome.results).toEqual([expect.objectContaining({ ok: false, error: expect.stringMatching(/ACCESS_ROLE_ARN is not set/) })]);
    expect(failures(outcome)).toEqual([expect.objectContaining({ error: "ConfigError" })]);
  });
});
