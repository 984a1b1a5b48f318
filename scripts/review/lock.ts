/**
 * npm run lock:providers [-- --registry]: writes the project's provider lock file
 * (.terraform.lock.hcl) with `terraform providers lock` for hashicorp/aws at the version
 * @cdktf/provider-aws binds. From the public registry it records the registry's signed checksums
 * (zh:) for every platform below and the package hashes (h1:); from an offline mirror (used when
 * one is found, unless --registry) only the h1: hash of each platform the mirror holds, which is
 * all a machine without the registry can compute. Every synth copies the file into each stack
 * folder (stack-folders.ts), so `terraform init` and `cdktf deploy` install exactly that package.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyTerraformEnv, AWS_PROVIDER_VERSION, findProviderMirror } from "../shared/terraform-env";
import { PROJECT_ROOT, PROVIDER_LOCK_FILE } from "./stack-folders";

/** The platforms a lock from the registry covers: where users and CI runners run Terraform. */
export const REGISTRY_PLATFORMS = ["linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64", "windows_amd64"] as const;

export interface LockSource {
  /** The mirror the hashes come from; undefined for the registry. */
  readonly mirror?: string;
  readonly platforms: readonly string[];
}

/** Where the hashes come from: a mirror when one is found (and not `registry`), else the registry. */
export function lockSource(registry: boolean, env: NodeJS.ProcessEnv = process.env): LockSource {
  const mirror = registry ? undefined : findProviderMirror(env);
  if (!mirror) return { platforms: REGISTRY_PLATFORMS };
  const dir = join(mirror, "registry.terraform.io", "hashicorp", "aws", AWS_PROVIDER_VERSION);
  return { mirror, platforms: readdirSync(dir).filter((p) => /^[a-z0-9]+_[a-z0-9]+$/.test(p)).sort() };
}

/** `terraform providers lock` into `target`; returns where the hashes came from. */
export function writeProviderLock(target: string = PROVIDER_LOCK_FILE, source: LockSource = lockSource(false)): LockSource {
  mkdirSync(join(PROJECT_ROOT, ".build"), { recursive: true });
  const work = mkdtempSync(join(PROJECT_ROOT, ".build", "lock-"));
  try {
    writeFileSync(join(work, "main.tf"), `terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n      version = "${AWS_PROVIDER_VERSION}"\n    }\n  }\n}\n`);
    const env = { ...process.env };
    applyTerraformEnv(env);
    const args = ["providers", "lock", "-no-color", ...(source.mirror ? [`-fs-mirror=${source.mirror}`] : []), ...source.platforms.map((p) => `-platform=${p}`)];
    try {
      execFileSync("terraform", args, { cwd: work, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (error) {
      throw new Error(`terraform ${args.join(" ")} failed:\n${String((error as { stderr?: string }).stderr ?? error).trim()}`);
    }
    const lock = join(work, ".terraform.lock.hcl");
    if (!existsSync(lock)) throw new Error("terraform providers lock wrote no lock file");
    copyFileSync(lock, target);
    return source;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const registry = process.argv.includes("--registry");
  try {
    const source = writeProviderLock(PROVIDER_LOCK_FILE, lockSource(registry));
    console.log(`.terraform.lock.hcl: hashicorp/aws ${AWS_PROVIDER_VERSION} for ${source.platforms.join(", ")}, from ${source.mirror ? `the mirror ${source.mirror} (h1: hashes only)` : "the registry (its signed zh: checksums and h1:)"}. Commit it.`);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
