import { LocalBackend, S3Backend, type TerraformStack } from "cdktf";
import { resolve } from "node:path";
import type { AppConfig } from "./config";

/** Where local emulator mode keeps its state: one folder per emulator endpoint, never the real state. */
export function localStateDir(localEndpoint: string): string {
  const url = new URL(localEndpoint);
  return resolve(__dirname, "..", ".local", `${url.hostname.replace(/[^\w.-]/g, "_")}-${url.port || "80"}`);
}

/**
 * Remote state in S3 when configured (one key per stack, encrypted, locked with S3's native lock
 * file or a DynamoDB table); in local emulator mode, a state file beside that emulator's other
 * files; otherwise cdktf's default local state file per stack.
 */
export function configureBackend(stack: TerraformStack, stackName: string, config: Pick<AppConfig, "stateBackend" | "localEndpoint">): void {
  if (config.localEndpoint) {
    new LocalBackend(stack, { path: resolve(localStateDir(config.localEndpoint), `${stackName}.tfstate`) });
    return;
  }
  const backend = config.stateBackend;
  if (!backend) return;
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
