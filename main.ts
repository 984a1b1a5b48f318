/**
 * iss-tracker cdktf app: `cdktf synth` / `cdktf deploy <stack>` run this file (cdktf.json "app").
 *   iss-tracker  — the system (providers for A and B, trust chain, bucket, function, schedule)
 *   bootstrap    — the `terraform` role in B, deployed once with B's credentials
 * Configuration: environment variables or cdktf.json context (see README / help).
 */
import { App } from "cdktf";
import { finishStackFolders } from "./scripts/review/stack-folders";
import { addStacks } from "./stacks/app";
import { ConfigError, loadConfig, SETTINGS, type AppConfig } from "./stacks/config";

/** The configuration an app synthesizes: the environment, then its context (cdktf.json's, as the CLI passes it). */
export function appConfig(app: App, env: Record<string, string | undefined> = process.env): AppConfig {
  const context = Object.fromEntries(Object.values(SETTINGS).map((s) => [s.context, app.node.tryGetContext(s.context)]));
  return loadConfig({ env, context });
}

/**
 * Builds both stacks from the environment and cdktf.json context, and writes them out: each stack
 * folder holds the form just synthesized (JSON, or HCL for `cdktf synth --hcl`) and never the
 * other one, plus the project's provider lock file (scripts/review/stack-folders.ts).
 */
export function synthApp(app: App = new App(), env: Record<string, string | undefined> = process.env): App {
  addStacks(app, appConfig(app, env));
  app.synth();
  finishStackFolders(app.outdir);
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
