/**
 * Bundles the tracker function with esbuild and packs it into a deterministic zip.
 *
 * Runs at synth time (the TrackerFunction construct calls it), so `cdktf synth` works on a fresh
 * clone with no separate build step. The zip has fixed timestamps and file order, so the same
 * source always gives the same bytes: `source_code_hash` is the base64 SHA-256 of the zip, exactly
 * what Lambda reports as CodeSha256, and an unchanged function never shows a diff.
 */
import { buildSync, version as esbuildVersion, type BuildOptions } from "esbuild";
import { zipSync, type Zippable } from "fflate";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const FUNCTION_ENTRY = resolve(__dirname, "handler.ts");
/** Lambda handler setting for the bundle: file index.js, export `handler`. */
export const LAMBDA_HANDLER = "index.handler";

/** esbuild options of the deployed bundle (exported so the benchmark builds exactly the same). */
export const BUNDLE_OPTIONS: BuildOptions = {
  entryPoints: [FUNCTION_ENTRY],
  absWorkingDir: resolve(__dirname, ".."),
  bundle: true,
  platform: "node",
  target: "node22",
  format: "cjs",
  minify: true,
  treeShaking: true,
  sourcemap: false,
  legalComments: "none",
  // Resolve the "module" (ESM) builds so tree shaking can drop unused SDK code.
  mainFields: ["module", "main"],
  alias: {
    // The SDK's default credential chain (SSO, ini, process, web identity, ECS, IMDS and their
    // nested clients, ~100 kB) is replaced by an environment-only provider: in Lambda the execution
    // role's credentials are in the environment, and account B's come from our own AssumeRole.
    "@aws-sdk/credential-provider-node": "./function/shims/env-credentials.ts",
  },
  // undici embeds its HTTP parser twice (SIMD and plain wasm, 72 kB each as base64). Leaving the
  // SIMD copy out makes undici's own try/catch fall back to the plain one, which works on every
  // CPU (the parser handles a few hundred bytes per run). Saves ~50 kB of the zip.
  external: ["../llhttp/llhttp_simd-wasm.js"],
  write: false,
  logLevel: "silent",
};

export interface FunctionBundle {
  /** Absolute path of the zip. */
  readonly zipPath: string;
  /** base64(SHA-256(zip)): Lambda's CodeSha256 and the resource's source_code_hash. */
  readonly sha256: string;
  readonly zipBytes: number;
  readonly codeBytes: number;
  /** True when a previous identical build was reused. */
  readonly fromCache: boolean;
}

/**
 * A zip whose bytes depend only on the given files: fflate, deflate level 9, names sorted, every
 * mtime 1980-01-01 00:00 (the DOS epoch; given in local time because zip stores local time).
 */
export function deterministicZip(files: ReadonlyArray<{ name: string; data: Buffer }>): Buffer {
  const mtime = new Date(1980, 0, 1);
  const entries: Zippable = {};
  for (const file of [...files].sort((a, b) => a.name.localeCompare(b.name))) {
    entries[file.name] = [new Uint8Array(file.data), { level: 9, mtime, os: 3, attrs: (0o100644 << 16) >>> 0 }];
  }
  return Buffer.from(zipSync(entries));
}

interface BuildCache {
  readonly key: string;
  /** Every input esbuild read, with the size and mtime it had. */
  readonly inputs: Record<string, [number, number]>;
  readonly bundle: Omit<FunctionBundle, "zipPath" | "fromCache">;
}

const CACHE_FILE = "build-cache.json";
const cacheKey = () => JSON.stringify({ esbuild: esbuildVersion, options: BUNDLE_OPTIONS });

function statOf(path: string): [number, number] | undefined {
  try {
    const st = statSync(path);
    return [st.size, st.mtimeMs];
  } catch {
    return undefined;
  }
}

/** The previous build in `outDir`, when neither the options nor any input file changed since. */
function cachedBundle(outDir: string): FunctionBundle | undefined {
  const zipPath = join(outDir, "function.zip");
  let cache: BuildCache;
  try {
    cache = JSON.parse(readFileSync(join(outDir, CACHE_FILE), "utf8"));
  } catch {
    return undefined;
  }
  if (cache.key !== cacheKey() || statOf(zipPath)?.[0] !== cache.bundle.zipBytes) return undefined;
  const root = BUNDLE_OPTIONS.absWorkingDir as string;
  for (const [input, [size, mtime]] of Object.entries(cache.inputs)) {
    const now = statOf(resolve(root, input));
    if (!now || now[0] !== size || now[1] !== mtime) return undefined;
  }
  return { zipPath, ...cache.bundle, fromCache: true };
}

function writeAtomically(path: string, data: string | Buffer): void {
  // Parallel synths (test workers) share the files.
  const tmpPath = `${path}.${process.pid}.tmp`;
  writeFileSync(tmpPath, data);
  renameSync(tmpPath, path);
}

/**
 * Bundles function/handler.ts into `<outDir>/function.zip` (index.js inside).
 * With `incremental` (the default), a previous build in `outDir` is reused when no input file
 * (by size and mtime) and no option changed: a synth then skips esbuild entirely.
 */
export function buildFunctionBundle(outDir: string, options: { incremental?: boolean } = {}): FunctionBundle {
  if (options.incremental ?? true) {
    const cached = cachedBundle(outDir);
    if (cached) return cached;
  }
  const result = buildSync({ ...BUNDLE_OPTIONS, metafile: true });
  const code = result.outputFiles?.[0];
  if (!code) throw new Error("esbuild produced no output for the tracker function");
  const zip = deterministicZip([{ name: "index.js", data: Buffer.from(code.contents) }]);
  mkdirSync(outDir, { recursive: true });
  const zipPath = join(outDir, "function.zip");
  writeAtomically(zipPath, zip);
  const bundle = {
    sha256: createHash("sha256").update(zip).digest("base64"),
    zipBytes: zip.length,
    codeBytes: code.contents.length,
  };
  const root = BUNDLE_OPTIONS.absWorkingDir as string;
  const inputs: BuildCache["inputs"] = {};
  for (const input of Object.keys(result.metafile?.inputs ?? {})) {
    const st = statOf(resolve(root, input));
    if (st) inputs[input] = st;
  }
  const cache: BuildCache = { key: cacheKey(), inputs, bundle };
  writeAtomically(join(outDir, CACHE_FILE), JSON.stringify(cache));
  return { zipPath, ...bundle, fromCache: false };
}
