/** Synthesizes the app's stacks for tests, from configuration given as environment variables. */
import { Testing } from "cdktf";
import { BootstrapStack } from "../stacks/bootstrap-stack";
import { loadConfig, type AppConfig } from "../stacks/config";
import { IssTrackerStack } from "../stacks/iss-tracker-stack";

export const ACCOUNT_B = "222222222222";
export const BASE_ENV = { ACCOUNT_B_ID: ACCOUNT_B } as const;

export function testConfig(env: Record<string, string> = {}): AppConfig {
  return loadConfig({ env: { ...BASE_ENV, ...env } });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Synthesized {
  readonly stack: IssTrackerStack;
  /** Testing.synth output (a JSON string), for the cdktf matchers. */
  readonly synthesized: string;
  readonly json: Json;
}

export function synthTracker(env: Record<string, string> = {}): Synthesized {
  const app = Testing.app();
  const stack = new IssTrackerStack(app, "iss-tracker", testConfig(env));
  const synthesized = Testing.synth(stack);
  return { stack, synthesized, json: JSON.parse(synthesized) };
}

export function synthBootstrap(env: Record<string, string> = {}): { stack: BootstrapStack; synthesized: string; json: Json } {
  const app = Testing.app();
  const stack = new BootstrapStack(app, "bootstrap", testConfig(env));
  const synthesized = Testing.synth(stack);
  return { stack, synthesized, json: JSON.parse(synthesized) };
}

/** All resources of a type, keyed by logical id. */
export function resources(json: Json, type: string): Record<string, Json> {
  return json.resource?.[type] ?? {};
}

/** The only resource of a type (fails when there are zero or several). */
export function only(json: Json, type: string): Json {
  const all = Object.values(resources(json, type));
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0];
}

/** Parses a rendered policy attribute back into an object. */
export function policyOf(resource: Json, attribute = "policy"): Json {
  return JSON.parse(resource[attribute]);
}

/**
 * The synthesized JSON with content-derived values masked (the bundle's hash changes with every
 * function edit; its own test pins it), so snapshots change only when the infrastructure does.
 */
export function stableSnapshot(json: Json): Json {
  const text = JSON.stringify(json)
    .replace(/"source_code_hash":"[A-Za-z0-9+/=]+"/g, '"source_code_hash":"<bundle sha256>"')
    .replace(/assets\/([\w-]+)\/[0-9A-F]{32}\//g, "assets/$1/<asset hash>/");
  return JSON.parse(text);
}
