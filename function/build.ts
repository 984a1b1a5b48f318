/**
 * Bundles the tracker function with esbuild and packs it into a deterministic zip.
 *
 * Runs at synth time (the TrackerFunction construct calls it), so `cdktf synth` works on a fresh
 * clone with no separate build step. The zip has fixed timestamps and file order, so the same
 * source always gives the same bytes: `source_code_hash` is the base64 SHA-256 of the zip, exactly
 * what Lambda reports as CodeSha256, and an unchanged function never shows a diff.
 */
import { buildSync, version as esbuildVersion, type BuildOptions } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";

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

/** A zip (stored method 8, deflate) whose bytes depend only on the given files. */
export function deterministicZip(files: ReadonlyArray<{ name: string; data: Buffer }>): Buffer {
  const DOS_TIME = 0; // 00:00:00
  const DOS_DATE = (1980 - 1980) << 9 | 1 << 5 | 1; // 1980-01-01
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of [...files].sort((a, b) => a.name.localeCompare(b.name))) {
    const name = Buffer.from(file.name, "utf8");
    const compressed = deflateRawSync(file.data, { level: 9 });
    const crc = crc32(file.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(file.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(0x0314, 4); // made by: unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(compressed.length, 20);
    central.writeUInt32LE(file.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // -rw-r--r--
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, compressed);
    centrals.push(central, name);
    offset += local.length + name.length + compressed.length;
  }
  const centralBytes = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, centralBytes, end]);
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
