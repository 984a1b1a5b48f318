/**
 * Both stacks synthesized exactly as `cdktf synth` writes them (stacks/app.ts), for the tools that
 * read the output: `npm run prove`, `npm run checkov` and their tests. Always normal mode, never the
 * emulator's local mode; the user's cdktf.out is never touched (a temporary directory by default).
 */
import { App } from "cdktf";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addStacks, bootstrapStackName } from "../../stacks/app";
import { loadConfig, partitionOf, type AppConfig } from "../../stacks/config";
import { TRACKER_STACK_NAME } from "../../stacks/iss-tracker-stack";
import { PIPELINE_STACK_NAME } from "../../stacks/pipeline-stack";

/** Account A when ACCOUNT_A_ID is unset (no policy depends on its value). */
export const EXAMPLE_ACCOUNT_A = "111111111111";
/** Account B when ACCOUNT_B_ID is unset, so review tools work without any setting. */
export const EXAMPLE_ACCOUNT_B = "222222222222";
/** The deploying principal when DEPLOYER_PRINCIPAL_ARN is unset. */
export const exampleDeployer = (accountA: string, partition = "aws") => `arn:${partition}:iam::${accountA}:role/deployer`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface SynthesizedStacks {
  readonly tracker: Json;
  /** The first target's bootstrap stack. */
  readonly bootstrap: Json;
  /** Every target's bootstrap stack, in the targets' order (the first is `bootstrap`; absent: that one alone). */
  readonly bootstraps?: readonly Json[];
  /** The pipeline stack, when PIPELINE_REPOSITORY is set. */
  readonly pipeline?: Json;
}

/** The configuration review tools use: the environment's settings, example accounts where unset, normal (non-local) mode. */
export function reviewConfig(env: Record<string, string | undefined> = {}): AppConfig {
  const accountA = env.ACCOUNT_A_ID || EXAMPLE_ACCOUNT_A;
  return loadConfig({
    env: {
      ...env,
      ...(env.TARGETS ? {} : { ACCOUNT_B_ID: env.ACCOUNT_B_ID || EXAMPLE_ACCOUNT_B }),
      DEPLOYER_PRINCIPAL_ARN: env.DEPLOYER_PRINCIPAL_ARN || exampleDeployer(accountA, partitionOf(env.REGION_B || "us-east-1")),
      ISS_TRACKER_LOCAL_ENDPOINT: undefined,
    },
  });
}

/**
 * Synthesizes both stacks into `outdir` (kept) or a temporary directory (removed), and returns
 * their cdk.tf.json.
 */
export function synthesizeStacks(config: AppConfig, outdir?: string): SynthesizedStacks {
  const dir = outdir ?? mkdtempSync(join(tmpdir(), "iss-synth-"));
  try {
    const app = new App({ outdir: dir });
    addStacks(app, config);
    app.synth();
    const read = (stack: string) => JSON.parse(readFileSync(join(dir, "stacks", stack, "cdk.tf.json"), "utf8"));
    const bootstraps = config.targets.map((t, i) => read(bootstrapStackName(t.accountId, i)));
    const pipeline = existsSync(join(dir, "stacks", PIPELINE_STACK_NAME)) ? { pipeline: read(PIPELINE_STACK_NAME) } : {};
    return { tracker: read(TRACKER_STACK_NAME), bootstrap: bootstraps[0], bootstraps, ...pipeline };
  } finally {
    if (!outdir) rmSync(dir, { recursive: true, force: true });
  }
}
