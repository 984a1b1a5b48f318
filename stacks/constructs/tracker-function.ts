import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import type { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { LambdaFunction } from "@cdktf/provider-aws/lib/lambda-function";
import { LambdaFunctionEventInvokeConfig } from "@cdktf/provider-aws/lib/lambda-function-event-invoke-config";
import type { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { AssetType, TerraformAsset } from "cdktf";
import { Construct } from "constructs";
import { resolve } from "node:path";
import { buildFunctionBundle, LAMBDA_HANDLER, type FunctionBundle } from "../../function/build";
import { FUNCTION_DEFAULTS } from "../../function/contract";
import { SETTINGS } from "../settings";
import type { FailureDestination } from "./failure-destination";

/** Where synth writes the bundle (git-ignored). */
export const BUNDLE_DIR = resolve(__dirname, "..", "..", ".build", "function");

let cachedBundle: FunctionBundle | undefined;
/** Bundles once per process: several stacks (and test synths) share one build. */
function bundle(): FunctionBundle {
  cachedBundle ??= buildFunctionBundle(BUNDLE_DIR);
  return cachedBundle;
}

export interface TrackerFunctionProps {
  readonly provider: AwsProvider;
  readonly functionName: string;
  readonly role: IamRole;
  /** What the function is told: its environment, as function/contract.ts's trackerEnvironment builds it. */
  readonly environment: Record<string, string>;
  /** Log retention in days. Default: the LOG_RETENTION_DAYS setting's default. */
  readonly logRetentionDays?: number;
  /** Timeout in seconds. Default: FUNCTION_DEFAULTS.timeoutSeconds (function/contract.ts). */
  readonly timeoutSeconds?: number;
  /** Memory in MiB. Default: FUNCTION_DEFAULTS.memoryMb (function/contract.ts). */
  readonly memoryMb?: number;
  /**
   * Retries of an asynchronous (scheduled) invocation that failed. Default: 2, Lambda's own.
   * Safe: a retry either appends a newer position or finds its entry already in the log and writes nothing.
   */
  readonly maxRetryAttempts?: number;
  /**
   * Oldest event worth running, in seconds. Default: 600 — a position is stale after a couple of
   * schedule periods; older events are dropped rather than queued up.
   */
  readonly maxEventAgeSeconds?: number;
  /**
   * Where an asynchronous invocation's record goes once its retries are spent (or it is too old).
   * Default: none, and such an event is dropped. The invoke config is created after the
   * destination's grant to the execution role (Lambda checks that grant when it is set).
   */
  readonly onFailure?: FailureDestination;
}

/**
 * The tracker function: bundled with esbuild at synth time (no separate build step), packaged as a
 * deterministic zip, deployed as nodejs22.x on arm64 with an explicit log group.
 */
export class TrackerFunction extends Construct {
  readonly function: LambdaFunction;
  readonly logGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: TrackerFunctionProps) {
    super(scope, id);
    const built = bundle();
    const asset = new TerraformAsset(this, "bundle", { path: built.zipPath, type: AssetType.FILE });

    this.logGroup = new CloudwatchLogGroup(this, "log-group", {
      provider: props.provider,
      name: `/aws/lambda/${props.functionName}`,
      retentionInDays: props.logRetentionDays ?? SETTINGS.logRetentionDays.default,
    });
    this.function = new LambdaFunction(this, "function", {
      provider: props.provider,
      functionName: props.functionName,
      description: "Appends the ISS position to the report object in account B",
      role: props.role.arn,
      runtime: "nodejs22.x",
      architectures: ["arm64"],
      handler: LAMBDA_HANDLER,
      filename: asset.path,
      sourceCodeHash: built.sha256,
      timeout: props.timeoutSeconds ?? FUNCTION_DEFAULTS.timeoutSeconds,
      memorySize: props.memoryMb ?? FUNCTION_DEFAULTS.memoryMb,
      environment: { variables: { ...props.environment } },
      // The group exists (with its retention) before the first invocation could create it.
      dependsOn: [this.logGroup],
    });
    new LambdaFunctionEventInvokeConfig(this, "async-invoke", {
      provider: props.provider,
      functionName: this.function.functionName,
      maximumRetryAttempts: props.maxRetryAttempts ?? 2,
      maximumEventAgeInSeconds: props.maxEventAgeSeconds ?? 600,
      ...(props.onFailure
        ? { destinationConfig: { onFailure: { destination: props.onFailure.queue.arn } }, dependsOn: [props.onFailure.grant] }
        : {}),
    });
  }
}
