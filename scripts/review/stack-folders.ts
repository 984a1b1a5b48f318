/**
 * What every synth leaves in each stack folder (cdktf.out/stacks/<stack>), whichever form it wrote:
 *
 * - one form only: `cdktf synth` writes cdk.tf.json, `cdktf synth --hcl` writes cdk.tf, and
 *   neither removes the other's file; side by side they declare everything twice and
 *   `terraform init` fails ("Duplicate provider configuration", ...). The form just written stays.
 * - the project's provider lock file (.terraform.lock.hcl at the project root), so `terraform init`
 *   installs exactly the pinned hashicorp/aws package, and cdktf (which runs
 *   `terraform providers lock -platform=linux_amd64` against the registry when a stack folder has
 *   no lock file) has nothing to fetch.
 *
 * Terraform's own files (.terraform/, a plan) stay, so the next init is cheap.
 */
import { copyFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export const PROJECT_ROOT = resolve(__dirname, "..", "..");
/** The committed provider lock file (hashicorp/aws at the version @cdktf/provider-aws binds). */
export const PROVIDER_LOCK_FILE = join(PROJECT_ROOT, ".terraform.lock.hcl");

const FORMS = ["cdk.tf.json", "cdk.tf"] as const;

interface Manifest {
  readonly stacks: Record<string, { readonly synthesizedStackPath: string; readonly workingDirectory: string }>;
}

/** The stacks cdktf's manifest lists in `outdir`: name, folder and the file just synthesized. */
export function manifestStacks(outdir: string): Array<{ name: string; dir: string; file: string }> {
  const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8")) as Manifest;
  return Object.entries(manifest.stacks).map(([name, s]) => ({ name, dir: join(outdir, s.workingDirectory), file: join(outdir, s.synthesizedStackPath) }));
}

/** Removes the other form's stale file and copies the lock file into every stack folder of `outdir`. */
export function finishStackFolders(outdir: string, lockFile: string = PROVIDER_LOCK_FILE): void {
  if (!existsSync(lockFile)) {
    throw new Error(`The provider lock file ${lockFile} is missing: restore it (git checkout -- .terraform.lock.hcl) or write it again with npm run lock:providers.`);
  }
  for (const { dir, file } of manifestStacks(outdir)) {
    for (const form of FORMS) {
      const path = join(dir, form);
      if (path !== file && existsSync(path)) rmSync(path);
    }
    if (dirname(file) === dir) copyFileSync(lockFile, join(dir, ".terraform.lock.hcl"));
  }
}
