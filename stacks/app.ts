import type { App } from "cdktf";
import { BootstrapStack, BOOTSTRAP_STACK_NAME } from "./bootstrap-stack";
import type { AppConfig } from "./config";
import { IssTrackerStack, TRACKER_STACK_NAME } from "./iss-tracker-stack";
import { PIPELINE_STACK_NAME, PipelineStack } from "./pipeline-stack";

/**
 * The bootstrap stack of target `index`: `bootstrap` for the first (the single pair's), then
 * `bootstrap-<account>`; each is deployed once with its own account's credentials.
 */
export const bootstrapStackName = (accountId: string, index: number) => (index === 0 ? BOOTSTRAP_STACK_NAME : `${BOOTSTRAP_STACK_NAME}-${accountId}`);

/** The app's stacks for one configuration: what `cdktf synth` writes, and every tool synthesizes. */
export function addStacks(app: App, config: AppConfig): { tracker: IssTrackerStack; bootstrap: BootstrapStack; bootstraps: BootstrapStack[]; pipeline?: PipelineStack } {
  const tracker = new IssTrackerStack(app, TRACKER_STACK_NAME, config);
  // A retired target keeps its bootstrap stack until its entry goes: the tracker destroys its access role through it.
  const bootstraps = [...config.targets, ...config.retiredTargets].map((t, i) => new BootstrapStack(app, bootstrapStackName(t.accountId, i), config, t));
  // The pipeline's identity in A, only when PIPELINE_REPOSITORY is set.
  const pipeline = config.pipelineRepository ? new PipelineStack(app, PIPELINE_STACK_NAME, config) : undefined;
  return { tracker, bootstrap: bootstraps[0], bootstraps, ...(pipeline && { pipeline }) };
}
