/**
 * iss-tracker cdktf app: `cdktf synth` / `cdktf deploy <stack>` run this file.
 *   iss-tracker  — the system (providers for A and B, trust chain, bucket, function, schedule)
 *   bootstrap    — the `terraform` role in B, deployed once with B's credentials
 * Configuration: environment variables or cdktf.json context (see README / help).
 */
import { App } from "cdktf";
import { BootstrapStack, BOOTSTRAP_STACK_NAME } from "./stacks/bootstrap-stack";
import { ConfigError, loadConfig, type AppConfig } from "./stacks/config";
import { IssTrackerStack, TRACKER_STACK_NAME } from "./stacks/iss-tracker-stack";

export function buildApp(config: AppConfig, outdir?: string): App {
  const app = new App({ outdir, skipValidation: false });
  new IssTrackerStack(app, TRACKER_STACK_NAME, config);
  new BootstrapStack(app, BOOTSTRAP_STACK_NAME, config);
  return app;
}

if (require.main === module) {
  const app = new App();
  let config: AppConfig;
  try {
    config = loadConfig({ env: process.env, context: contextOf(app) });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  new IssTrackerStack(app, TRACKER_STACK_NAME, config);
  new BootstrapStack(app, BOOTSTRAP_STACK_NAME, config);
  app.synth();
}

/** The cdktf.json context (and CDKTF_CONTEXT_JSON) as a plain object. */
function contextOf(app: App): Record<string, unknown> {
  const keys = ["accountBId", "accountAId", "regionA", "regionB", "bootstrapRoleName", "deployerPrincipalArn", "namePrefix",
    "bucketName", "objectKey", "schedule", "externalId", "issSources", "logRetentionDays", "noncurrentVersionDays",
    "stateBucket", "stateKeyPrefix", "stateRegion", "stateLockTable", "localEndpoint"];
  return Object.fromEntries(keys.map((key) => [key, app.node.tryGetContext(key)]));
}
