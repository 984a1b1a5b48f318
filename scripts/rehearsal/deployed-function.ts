/**
 * The deployed function on the emulator, as the Lambda service holds and runs it: its
 * configuration read back with GetFunction, its package checked byte for byte against
 * CodeSha256, and invocations of that package in a fresh Node process (a cold start,
 * ../emulator/lambda-runtime.ts) with exactly the deployed environment and the execution role's
 * credentials, its AWS calls through the gateway.
 */
import { readTrackerEnvironment, type TrackerTarget } from "../../function/contract";
import type { RunSummary } from "../../function/tracker";
import { GetFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { invokeInFreshProcess, scheduledEvent, unpackFunction, type InvocationResult as LambdaInvocationResult } from "../emulator/lambda-runtime";
import type { Credentials } from "../shared/aws";

/** The deployed function as the Lambda service holds it. */
export interface DeployedFunction {
  readonly name: string;
  readonly roleArn: string;
  readonly environment: Record<string, string>;
  readonly codeSha256: string;
  readonly handler: string;
  readonly timeoutSeconds: number;
  /** Every log it appends to, as it reads its environment (function/contract.ts). */
  readonly targets: readonly TrackerTarget[];
  /** The first target's bucket and key. */
  readonly bucket: string;
  readonly key: string;
  readonly outputs: Record<string, string>;
}

export type { RunSummary } from "../../function/tracker";

export type InvocationResult = LambdaInvocationResult<RunSummary>;

/** The function named by the stack's outputs, as GetFunction answers (straight to moto, as A's administrator). */
export async function readDeployedFunction(motoEndpoint: string, region: string, adminA: Credentials, outputs: Record<string, string>): Promise<DeployedFunction> {
  const lambda = new LambdaClient({ region, endpoint: motoEndpoint, credentials: adminA });
  const config = (await lambda.send(new GetFunctionCommand({ FunctionName: outputs.function_name }))).Configuration;
  const environment = config?.Environment?.Variables ?? {};
  const { settings, problems } = readTrackerEnvironment(environment);
  if (!config?.Role || !config.CodeSha256 || !config.Handler || !settings) {
    throw new Error(`the deployed function ${outputs.function_name} has no role, code or handler, or its environment is not the tracker's: ${problems.join("; ")}`);
  }
  return {
    name: outputs.function_name,
    roleArn: config.Role,
    environment,
    codeSha256: config.CodeSha256,
    handler: config.Handler,
    timeoutSeconds: config.Timeout ?? 3,
    targets: settings.targets,
    bucket: settings.targets[0].bucket,
    key: settings.targets[0].key,
    outputs,
  };
}

/** The package in a synthesized stack folder, checked byte for byte against Lambda's CodeSha256. */
export function deployedPackage(stackDir: string, fn: DeployedFunction): Buffer {
  const synthesized = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
  const resource = Object.values<{ filename: string }>(synthesized.resource.aws_lambda_function)[0];
  const zip = readFileSync(join(stackDir, resource.filename));
  const sha = createHash("sha256").update(zip).digest("base64");
  if (sha !== fn.codeSha256) {
    throw new Error(`the package on disk (${sha}) is not the deployed code (CodeSha256 ${fn.codeSha256})`);
  }
  return zip;
}

export interface InvokeDeployedOptions {
  readonly fn: DeployedFunction;
  readonly zip: Buffer;
  /** Where the package is unpacked and the runner's files go. */
  readonly dir: string;
  readonly credentials: Credentials;
  /** What the function's AWS calls go to (the gateway). */
  readonly endpoint: string;
  readonly region: string;
  readonly account: string;
  readonly count: number;
  readonly parallel: number;
  /** Environment variables that differ from the deployed ones. */
  readonly overrides?: Record<string, string>;
  /** Stream the function's output to stderr. */
  readonly verbose?: boolean;
}

/** Invokes the deployed handler `count` times, `parallel` at once, in one fresh Node process. */
export async function invokeDeployed(options: InvokeDeployedOptions): Promise<InvocationResult[]> {
  const { fn, credentials, region } = options;
  const { entry, exportName } = unpackFunction(options.zip, options.dir, fn.handler);
  const env: Record<string, string> = {
    ...fn.environment,
    ...options.overrides,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_SESSION_TOKEN: credentials.sessionToken ?? "",
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    // moto, through the gateway that adds the rules moto lacks (trust policies, S3 conditions).
    AWS_ENDPOINT_URL: options.endpoint,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
  };
  const events = Array.from({ length: options.count }, () => scheduledEvent({ account: options.account, region, rule: fn.outputs.rule_name }));
  const run = await invokeInFreshProcess<RunSummary>({
    entry, exportName, functionName: fn.name, timeoutMs: fn.timeoutSeconds * 1000, env, events, parallel: options.parallel, workDir: options.dir,
  });
  if (options.verbose) process.stderr.write(run.stdout + run.stderr);
  if (!run.results) throw new Error(`the function's process ended without results (${run.signal ?? `exit ${run.exitCode}`}):\n${(run.stdout + run.stderr).slice(-4000)}`);
  return run.results;
}
