import { LocalBackend, S3Backend, type TerraformStack } from "cdktf";
import { resolve } from "node:path";
import type { AppConfig } from "./config";

/** Where local emulator mode keeps its state: one folder per emulator endpoint, never the real state. */
export function localStateDir(localEndpoint: string): string {
  const url = new URL(localEndpoint);
  return resolve(__dirname, "..", ".local", `${url.hostname.replace(/[^\w.-]/g, "_")}-${url.port || "80"}`);
}

/**
 * The default local state file of a stack, relative to the directory Terraform runs in
 * (cdktf.out/stacks/<stack>): the project root, where cdktf's own default puts it, without the
 * machine's absolute path in the reviewed cdk.tf.json. Assumes the default output directory
 * (`cdktf deploy` without --output); elsewhere, use the S3 backend.
 */
export function defaultStatePath(stackName: string): string {
  return `../../../terraform.${stackName}.tfstate`;
}

/**
 * Remote state in S3 when configured (one key per stack, encrypted, locked with S3's native lock
 * file or a DynamoDB table); in local emulator mode, a state file beside that emulator's other
 * files; otherwise a local state file per stack in the project root (see defaultStatePath).
 */
export function configureBackend(stack: TerraformStack, stackName: string, config: Pick<AppConfig, "stateBackend" | "localEndpoint">): void {
  if (config.localEndpoint) {
    new LocalBackend(stack, { path: resolve(localStateDir(config.localEndpoint), `${stackName}.tfstate`) });
    return;
  }
  const backend = config.stateBackend;
  if (!backend) {
    new LocalBackend(stack, { path: defaultStatePath(stackName) });
    return;
  }
  const s3 = new S3Backend(stack, {
    bucket: backend.bucket,
    key: `${backend.keyPrefix}/${stackName}.tfstate`,
    region: backend.region,
    encrypt: true,
    dynamodbTable: backend.lockTable,
  });
  // Terraform >= 1.10: lock with a .tflock object next to the state (cdktf 0.21 has no typed field).
  if (!backend.lockTable) s3.addOverride("use_lockfile", true);
}
