import type { App } from "cdktf";
import { BootstrapStack, BOOTSTRAP_STACK_NAME } from "./bootstrap-stack";
import type { AppConfig } from "./config";
import { IssTrackerStack, TRACKER_STACK_NAME } from "./iss-tracker-stack";

/** The app's two stacks for one configuration: what `cdktf synth` writes, and every tool synthesizes. */
export function addStacks(app: App, config: AppConfig): { tracker: IssTrackerStack; bootstrap: BootstrapStack } {
  return {
    tracker: new IssTrackerStack(app, TRACKER_STACK_NAME, config),
    bootstrap: new BootstrapStack(app, BOOTSTRAP_STACK_NAME, config),
  };
}
