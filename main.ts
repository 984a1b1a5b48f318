/**
 * iss-tracker cdktf app: `cdktf synth` / `cdktf deploy <stack>` run this file (cdktf.json "app").
 *   iss-tracker  — the system (providers for A and B, trust chain, bucket, function, schedule)
 *   bootstrap    — the `terraform` role in B, deployed once with B's credentials
 * Configuration: environment variables or cdktf.json context (see README / help).
 */
import { App } from "cdktf";
import { addStacks } from "./stacks/app";
import { ConfigError, loadConfig, SETTINGS } from "./stacks/config";

/** Builds both stacks from the environment and cdktf.json context, and writes them out. */
export function synthApp(app: App = new App()): App {
  const context = Object.fromEntries(Object.values(SETTINGS).map((s) => [s.context, app.node.tryGetContext(s.context)]));
  const config = loadConfig({ env: process.env, context });
  addStacks(app, config);
  app.synth();
  return app;
}

if (require.main === module) {
  try {
    synthApp();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // A bad setting: say which and how to fix it, without a stack trace.
    console.error(error.message);
    process.exit(1);
  }
}
