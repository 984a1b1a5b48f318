/**
 * Which arguments of the AWS provider, its resources and data sources are nested blocks: the one
 * thing Terraform's JSON syntax leaves implicit (`"rule": [{...}]` is a block for
 * aws_s3_bucket_lifecycle_configuration, `"tags": {...}` an attribute), so the HCL renderer needs
 * the provider's own schema to write `rule { ... }` or `tags = { ... }`.
 *
 * Read once from `terraform providers schema -json` (the pinned provider, installed through the
 * committed lock file and the offline mirror when there is one), reduced to the block tree, and kept
 * in .build/ keyed by the lock file's content: ~10 s the first time, nothing afterwards.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { applyTerraformEnv, AWS_PROVIDER_VERSION } from "../shared/terraform-env";
import { PROJECT_ROOT, PROVIDER_LOCK_FILE } from "./stack-folders";

/** A block's nested block types, by name (attributes are everything else). */
export interface BlockTree {
  readonly [name: string]: { readonly mode: "single" | "group" | "list" | "set" | "map"; readonly blocks: BlockTree };
}

export interface ProviderBlocks {
  readonly provider: BlockTree;
  readonly resources: Readonly<Record<string, BlockTree>>;
  readonly dataSources: Readonly<Record<string, BlockTree>>;
}

interface SchemaBlock {
  readonly block_types?: Record<string, { nesting_mode: BlockTree[string]["mode"]; block: SchemaBlock }>;
}

function treeOf(block: SchemaBlock | undefined): BlockTree {
  const tree: Record<string, BlockTree[string]> = {};
  for (const [name, nested] of Object.entries(block?.block_types ?? {})) tree[name] = { mode: nested.nesting_mode, blocks: treeOf(nested.block) };
  return tree;
}

/** The block trees of one provider in `terraform providers schema -json` output. */
export function providerBlocksFrom(schemaJson: string, source = "registry.terraform.io/hashicorp/aws"): ProviderBlocks {
  const schema = JSON.parse(schemaJson).provider_schemas?.[source];
  if (!schema) throw new Error(`terraform providers schema has no ${source}`);
  const map = (schemas: Record<string, { block: SchemaBlock }> = {}) =>
    Object.fromEntries(Object.entries(schemas).map(([type, s]) => [type, treeOf(s.block)]));
  return { provider: treeOf(schema.provider?.block), resources: map(schema.resource_schemas), dataSources: map(schema.data_source_schemas) };
}

const CACHE_DIR = join(PROJECT_ROOT, ".build", "provider-schema");

/** The AWS provider's block trees, from the cache or from Terraform. */
export function awsProviderBlocks(lockFile: string = PROVIDER_LOCK_FILE): ProviderBlocks {
  const lock = readFileSync(lockFile, "utf8");
  const key = createHash("sha256").update(lock).digest("hex").slice(0, 16);
  const cached = join(CACHE_DIR, `aws-${AWS_PROVIDER_VERSION}-${key}.json`);
  if (existsSync(cached)) return JSON.parse(readFileSync(cached, "utf8"));
  mkdirSync(CACHE_DIR, { recursive: true });
  const work = mkdtempSync(join(CACHE_DIR, "work-"));
  try {
    writeFileSync(join(work, "main.tf"), [
      "terraform {",
      "  required_providers {",
      "    aws = {",
      '      source  = "hashicorp/aws"',
      `      version = "${AWS_PROVIDER_VERSION}"`,
      "    }",
      "  }",
      "}",
      "",
    ].join("\n"));
    copyFileSync(lockFile, join(work, ".terraform.lock.hcl"));
    const env = { ...process.env };
    applyTerraformEnv(env);
    const terraform = (args: string[]) => execFileSync("terraform", args, { cwd: work, env, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] });
    try {
      terraform(["init", "-backend=false", "-input=false", "-no-color", "-lockfile=readonly"]);
    } catch (error) {
      const stderr = String((error as { stderr?: string }).stderr ?? "").trim();
      throw new Error(`reading the AWS provider's schema needs hashicorp/aws ${AWS_PROVIDER_VERSION} installed by terraform init, which failed:\n${stderr}`);
    }
    const blocks = providerBlocksFrom(terraform(["providers", "schema", "-json"]));
    const tmp = `${cached}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(blocks));
    renameSync(tmp, cached); // parallel callers: one atomic write wins, both are the same
    return blocks;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
