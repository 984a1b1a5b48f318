import { S3Backend, type TerraformStack } from "cdktf";
import type { StateBackendConfig } from "./config";

/**
 * Remote state in S3 when configured (one key per stack, encrypted, locked with S3's native lock
 * file or a DynamoDB table); otherwise cdktf's default local state file per stack.
 */
export function configureBackend(stack: TerraformStack, stackName: string, backend: StateBackendConfig | undefined): void {
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
