/**
 * The two-account deployment rehearsed on the moto emulator: real Terraform through the real
 * `cdktf deploy`/`cdktf destroy`, and the real bundled function run as Lambda would run it.
 * The one implementation behind `npm start` (./cli.ts) and the end-to-end suite.
 *
 *   start      the local AWS (../emulator/local-aws.ts: moto, the gateway with its conformance
 *              gates, an admin user in A that Terraform runs as and an admin role in B) and the
 *              ISS simulator (unless live).
 *   bootstrap  `cdktf deploy bootstrap` with B's credentials: the `terraform` role in B, trusting
 *              A's admin user (DEPLOYER_PRINCIPAL_ARN); with several targets (`targets`), every
 *              other member account's bootstrap stack is applied at once by plain `terraform apply`
 *              with that account's credentials.
 *   deploy     `cdktf deploy iss-tracker` with A's credentials (the account_b provider assumes
 *              the bootstrap role); then the function as Lambda holds it (GetFunction).
 *   invoke     the execution role's credentials by AssumeRole (as the Lambda service gets them),
 *              IAM enforcement on, and the deployed zip's entry file run in a fresh Node process
 *              (a cold start, ../emulator/lambda-runtime.ts) with exactly the deployed environment; its AWS
 *              calls go through the gateway, so trust policies are evaluated.
 *   teardown   every version of the log deleted explicitly (force_destroy is off on purpose), then
 *              `cdktf destroy` of both stacks.
 *
 * Everything on disk lives in .local/<endpoint>/ (synth output, state, outputs, invocations);
 * nothing touches the user's cdktf.out or real state. cdktf and Terraform run through
 * ./terraform-runner.ts, the function through ./deployed-function.ts, the bucket's administration
 * through ../emulator/s3-admin.ts.
 */
import { DeleteQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import { AsyncLocalStorage } from "node:async_hooks";
import { readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TrackerTarget } from "../../function/contract";
import { bootstrapStackName } from "../../stacks/app";
import { localStateDir } from "../../stacks/backend";
import { SETTINGS } from "../../stacks/config";
import { startIssSimulator, type IssSimulator } from "../emulator/iss-simulator";
import { ADMIN_USER, ADMIN_USER_ARN, LOCAL_REGION, localAccountsB, startLocalAws, type LocalAws } from "../emulator/local-aws";
import type { IamGate, RecordedCall } from "../emulator/iam-gate";
import type { MotoServer } from "../emulator/moto";
import { emptyBucket, readObject } from "../emulator/s3-admin";
import type { StsGate } from "../emulator/sts-gate";
import { assumeRole, type Credentials } from "../shared/aws";
import { sessionOf } from "../shared/iam";
import { checkPrerequisites } from "../shared/prerequisites";
import { applyTerraformEnv } from "../shared/terraform-env";
import { deployedPackage, invokeDeployed, readDeployedFunction, type DeployedFunction, type InvocationResult } from "./deployed-function";
import { TerraformRunner, type CdktfOptions, type CdktfVerb } from "./terraform-runner";

export const ROOT = resolve(__dirname, "..", "..");

export interface RehearsalOptions {
  /** Fetch the real ISS position instead of the local simulator. */
  readonly live?: boolean;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** Stream cdktf/terraform output (otherwise kept and shown on failure). */
  readonly verbose?: boolean;
  /** How many member accounts B the function appends to (1-8; default 1: ACCOUNT_B_ID, else TARGETS). */
  readonly targets?: number;
}

/** Entries in the log's text (one `Time:` line each). */
export function countEntries(text: string): number {
  return (text.match(/^Time: /gm) ?? []).length;
}

export class Rehearsal {
  /** [phase, seconds] in order. */
  readonly timings: Array<[string, number]> = [];
  readonly accountA: string;
  readonly accountB: string;
  /** Every member account B, the first first. */
  readonly accountsB: readonly string[];
  /** cdktf and Terraform in this emulator's folder. */
  readonly runner: TerraformRunner;
  private deployed?: DeployedFunction;
  private readonly currentPhase = new AsyncLocalStorage<string>();
  private batches = 0;

  private constructor(
    /** moto, the gateway with every gate, the administrators. */
    readonly local: LocalAws,
    readonly simulator: IssSimulator | undefined,
    private readonly options: RehearsalOptions,
  ) {
    this.accountA = local.accountA;
    this.accountB = local.accountB;
    this.accountsB = local.accountsB;
    this.runner = new TerraformRunner({ root: ROOT, workDir: this.workDir, envFor: (c) => this.cdktfEnv(c), verbose: options.verbose });
  }

  /** Starts the local AWS (clear message when moto is not installed) and the ISS simulator. */
  static async start(options: RehearsalOptions = {}): Promise<Rehearsal> {
    const log = options.log ?? (() => undefined);
    const started = Date.now();
    checkPrerequisites();
    const [local, simulator] = await Promise.all([
      startLocalAws({ accountsB: localAccountsB(options.targets ?? 1) }), options.live ? undefined : startIssSimulator(),
    ]);
    const rehearsal = new Rehearsal(local, simulator, options);
    const seconds = (Date.now() - started) / 1000;
    rehearsal.timings.push(["emulator", seconds]);
    log(`▸ emulator: moto at ${local.motoEndpoint} behind the conformance gateway ${local.endpoint} (account A ${local.accountA}, account${local.accountsB.length > 1 ? "s" : ""} B ${local.accountsB.join(", ")}); ` +
      `ISS source ${simulator ? `simulated orbit at ${simulator.url}` : "the live API"} — ${seconds.toFixed(1)} s`);
    return rehearsal;
  }

  get moto(): MotoServer {
    return this.local.moto;
  }

  get adminA(): Credentials {
    return this.local.adminA;
  }

  get adminB(): Credentials {
    return this.local.adminB;
  }

  /** Decides trust policies on AssumeRole; callers are registered with it. */
  get stsGate(): StsGate {
    return this.local.stsGate!;
  }

  /** Enforces the bootstrap role's policy on Terraform's calls in B, and records them. */
  get iamGate(): IamGate {
    return this.local.iamGate!;
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /**
   * Runs and times one phase: "▸ name ..." then "  done in x s" (or FAILED). Terraform processes
   * started inside it name it in their User-Agent (TF_APPEND_USER_AGENT), so the IAM gate files
   * their calls under it even when phases run at once.
   */
  async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    this.iamGate.phase = name;
    this.log(`▸ ${name} ...`);
    try {
      const result = await this.currentPhase.run(name, fn);
      const seconds = (Date.now() - started) / 1000;
      this.timings.push([name, seconds]);
      this.log(`  done in ${seconds.toFixed(1)} s`);
      return result;
    } catch (error) {
      this.log(`  FAILED after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      throw error;
    }
  }

  /** Synth output, state files and outputs of this emulator: .local/<host>-<port>/ (git-ignored). */
  get workDir(): string {
    return localStateDir(this.endpoint);
  }

  /**
   * The emulator's endpoint as every client of the deployment sees it (Terraform's providers, the
   * function): the gateway in front of moto, so the conformance gates apply to all of them.
   */
  get endpoint(): string {
    return this.local.endpoint;
  }

  get outDir(): string {
    return this.runner.outDir;
  }

  /** Where the deliberate-destroy variant (ALLOW_BUCKET_DESTROY=true) is synthesized, beside the deployed synth. */
  get deliberateDestroyOutDir(): string {
    return join(this.workDir, "cdktf.out-allow-bucket-destroy");
  }

  /** The environment cdktf and Terraform run with: local mode, these credentials, no ambient AWS settings. */
  cdktfEnv(credentials: Credentials): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const spec of Object.values(SETTINGS)) delete env[spec.env];
    for (const name of Object.keys(env)) if (name.startsWith("AWS_") || name.startsWith("TF_VAR_")) delete env[name];
    Object.assign(env, {
      CHECKPOINT_DISABLE: "1",
      CI: "1",
      FORCE_COLOR: "0",
      ...(this.accountsB.length > 1 ? { TARGETS: this.accountsB.join(",") } : { ACCOUNT_B_ID: this.accountB }),
      ISS_TRACKER_LOCAL_ENDPOINT: this.endpoint,
      DEPLOYER_PRINCIPAL_ARN: ADMIN_USER_ARN,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: LOCAL_REGION,
      AWS_EC2_METADATA_DISABLED: "true",
    });
    if (credentials.sessionToken) env.AWS_SESSION_TOKEN = credentials.sessionToken;
    if (this.simulator) env.ISS_SOURCES = this.simulator.url;
    const phase = this.currentPhase.getStore();
    if (phase) env.TF_APPEND_USER_AGENT = `iss-tracker-phase/${encodeURIComponent(phase)}`;
    applyTerraformEnv(env);
    return env;
  }

  /** `cdktf <verb> <stack>` in this emulator's folder (see TerraformRunner.cdktf: synth cache, variants). */
  cdktf(verb: CdktfVerb, stack: string, credentials: Credentials, options: CdktfOptions = {}): Promise<string> {
    return this.runner.cdktf(verb, stack, credentials, options);
  }

  /** Terraform itself in a synthesized stack's folder (see TerraformRunner.terraform). */
  terraform(stack: string, credentials: Credentials, args: readonly string[], options: { readonly outDir?: string; readonly init?: boolean } = {}): Promise<string> {
    return this.runner.terraform(stack, credentials, args, options);
  }

  /**
   * `cdktf deploy bootstrap` with B's credentials: the `terraform` role in B. Every other member
   * account's bootstrap stack, synthesized beside it, is then applied at once with plain Terraform,
   * each with its own account's administrator (as each account's owner would).
   */
  async bootstrap(): Promise<void> {
    await this.phase(`bootstrap B: cdktf deploy bootstrap (role terraform in ${this.accountB}, trusting A's ${ADMIN_USER})`,
      () => this.cdktf("deploy", "bootstrap", this.adminB));
    const others = this.accountsB.slice(1);
    if (others.length === 0) return;
    await this.phase(`bootstrap ${others.join(", ")}: terraform apply of each bootstrap-<account> stack, at once, each with its account's administrator`,
      () => Promise.all(others.map((account, i) =>
        this.terraform(bootstrapStackName(account, i + 1), this.local.adminOf(account), ["apply", "-auto-approve", "-input=false"]))));
  }

  /**
   * `cdktf deploy iss-tracker` with A's credentials (and `settings` changed from the defaults, for
   * an update), then the function as Lambda holds it.
   */
  async deploy(settings: Readonly<Record<string, string>> = {}): Promise<DeployedFunction> {
    const outputsFile = join(this.workDir, "outputs.json");
    const changed = Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(" ");
    const before = this.iamGate.calls.length;
    await this.phase(`deploy: ${changed ? `${changed} ` : ""}cdktf deploy iss-tracker (A, and B through the terraform role)`,
      () => this.cdktf("deploy", "iss-tracker", this.adminA, { args: ["--outputs-file", outputsFile], settings }));
    this.log(`  ${describeCalls(this.iamGate.calls.slice(before))}`);
    const outputs: Record<string, string> = JSON.parse(readFileSync(outputsFile, "utf8"))["iss-tracker"];
    this.deployed = await readDeployedFunction(this.moto.endpoint, LOCAL_REGION, this.adminA, outputs);
    return this.deployed;
  }

  get function(): DeployedFunction {
    if (!this.deployed) throw new Error("deploy() first");
    return this.deployed;
  }

  /** The deployed package, checked byte for byte against Lambda's CodeSha256. */
  deployedPackage(): Buffer {
    return deployedPackage(join(this.outDir, "stacks", "iss-tracker"), this.function);
  }

  /** The execution role's credentials, as the Lambda service gets them (and registered with the STS gate). */
  async executionCredentials(): Promise<Credentials> {
    const fn = this.function;
    const sts = new STSClient({ region: LOCAL_REGION, endpoint: this.moto.endpoint, credentials: this.adminA });
    const credentials = await assumeRole(sts, fn.roleArn, fn.name);
    this.stsGate.registerCaller(credentials.accessKeyId, sessionOf(fn.roleArn, fn.name));
    return credentials;
  }

  /**
   * Invokes the deployed handler `count` times, `parallel` at once, as the execution role, with IAM
   * enforcement on, in a fresh Node process (a cold start: no credentials or clients cached from
   * an earlier batch) whose environment is exactly the deployed one plus `overrides`.
   */
  async invoke(count: number, parallel = 1, overrides: Record<string, string> = {}): Promise<InvocationResult[]> {
    const dir = join(this.workDir, "invocations", String(++this.batches));
    const zip = this.deployedPackage();
    const credentials = await this.executionCredentials();
    await this.moto.enforceIam();
    try {
      return await invokeDeployed({
        fn: this.function, zip, dir, credentials, endpoint: this.endpoint, region: LOCAL_REGION, account: this.accountA,
        count, parallel, overrides, verbose: this.options.verbose,
      });
    } finally {
      await this.moto.relaxIam();
    }
  }

  /** An account B's administrator S3 client (straight to moto; default: the first B). */
  s3B(accountB = this.accountB) {
    return this.local.s3B(accountB);
  }

  /** The deployed function's target in that account B (default: the first). */
  target(accountB = this.accountB): TrackerTarget {
    const target = this.function.targets.find((t) => t.id === accountB);
    if (!target) throw new Error(`the deployed function has no target in account ${accountB} (it has ${this.function.targets.map((t) => t.id).join(", ")})`);
    return target;
  }

  /** A target's log object's bytes (default: the first's), or undefined when it does not exist (yet). */
  readLog(accountB = this.accountB): Promise<Buffer | undefined> {
    const target = this.target(accountB);
    return readObject(this.s3B(accountB), target.bucket, target.key);
  }

  /** Deletes every version and delete marker in a target's report bucket (as that B's administrator). */
  emptyBucket(accountB = this.accountB): Promise<number> {
    return emptyBucket(this.s3B(accountB), this.target(accountB).bucket);
  }

  /**
   * Empties every target's bucket explicitly, then `cdktf destroy` of the main stack and of the
   * bootstrap stack (and plain `terraform destroy` of every other bootstrap stack, at once).
   */
  async teardown(): Promise<void> {
    if (this.deployed) {
      const targets = this.function.targets;
      const versions = await this.phase(`empty the report bucket${targets.length > 1 ? "s" : ""}: every version and delete marker (force_destroy is off on purpose, so destroy never wipes a real log)`,
        () => Promise.all(targets.map((t) => this.emptyBucket(t.id))));
      targets.forEach((t, i) => this.log(`  deleted ${versions[i]} object version(s) of s3://${t.bucket}`));
    }
    const queueUrls = this.deployed ? stackQueueUrls(this.deployed.outputs) : [];
    if (queueUrls.length > 0) {
      // hashicorp/aws 5.100.0 waits after deleting an SQS queue until 15 consecutive reads 3 s
      // apart find it gone (made for real SQS, which takes up to 60 s), and a refresh of a queue
      // that is already gone retries for 20 s per resource. So on the emulator every queue of the
      // stack (each output named *queue_url or dlq_url) is deleted through the SQS API first and
      // the destroy skips the refresh (TF_CLI_ARGS_destroy=-refresh=false; the state is the one
      // this run's deploy just wrote): the provider's delete then finds each queue gone at once.
      await this.phase(`delete the stack's ${queueUrls.length} SQS queue(s) through the SQS API (skips the provider's delete wait)`,
        () => Promise.all(queueUrls.map((url) => sqsDeleteQueue(this.moto.endpoint, this.adminA, url))));
    }
    // The bucket has prevent_destroy: the deliberate path (ALLOW_BUCKET_DESTROY=true, after the log
    // was emptied above) is the one a user takes too.
    const before = this.iamGate.calls.length;
    await this.phase("destroy: ALLOW_BUCKET_DESTROY=true cdktf destroy iss-tracker (the deliberate path, bucket emptied; without refresh)",
      () => this.cdktf("destroy", "iss-tracker", this.adminA, {
        env: { TF_CLI_ARGS_destroy: "-refresh=false" }, settings: { ALLOW_BUCKET_DESTROY: "true" }, outDir: this.deliberateDestroyOutDir,
      }));
    this.log(`  ${describeCalls(this.iamGate.calls.slice(before))}`);
    // The role and the boundary policy are as this run's bootstrap deploy wrote them: no refresh either.
    await this.phase("destroy: cdktf destroy bootstrap (without refresh)",
      () => this.cdktf("destroy", "bootstrap", this.adminB, { env: { TF_CLI_ARGS_destroy: "-refresh=false" } }));
    const others = this.accountsB.slice(1);
    if (others.length === 0) return;
    await this.phase(`destroy: terraform destroy of ${others.map((a, i) => bootstrapStackName(a, i + 1)).join(", ")}, at once (without refresh)`,
      () => Promise.all(others.map((account, i) =>
        this.terraform(bootstrapStackName(account, i + 1), this.local.adminOf(account), ["destroy", "-auto-approve", "-input=false", "-refresh=false"]))));
  }

  /** Ends any cdktf/Terraform still running, stops the simulator and the local AWS; removes this emulator's folder unless keepFiles. */
  async stop(options: { keepFiles?: boolean } = {}): Promise<void> {
    await this.runner.stopAll();
    await this.simulator?.stop();
    await this.local.stop();
    if (!options.keepFiles) rmSync(this.workDir, { recursive: true, force: true });
  }
}

/**
 * Denials of Terraform's calls in B that are expected on the emulator, and why. Local mode sets
 * the provider's skip_credentials_validation (moto's STS cannot validate real credentials), and
 * then the provider looks its account up with iam:GetUser first, which a role session may not
 * call (AccessDenied, as on AWS), and then with sts:GetCallerIdentity. Against AWS it calls
 * sts:GetCallerIdentity only.
 */
export const EXPECTED_DENIALS: Readonly<Record<string, string>> = {
  "iam:GetUser": "expected: local mode's skip_credentials_validation makes the provider look its account up with iam:GetUser, which a role may not call, before sts:GetCallerIdentity",
};

/** One line on Terraform's calls in B, as the IAM gate saw them (each expected denial says why). */
export function describeCalls(calls: readonly RecordedCall[]): string {
  const denied = calls.filter((c) => !c.allowed);
  const actions = new Set(calls.filter((c) => c.allowed).flatMap((c) => c.actions));
  const names = [...new Set(denied.map((c) => c.actions.join("+") || c.operation))];
  return `Terraform in B (bootstrap role, IAM gate): ${calls.length} call(s), ${actions.size} distinct action(s) allowed` +
    (denied.length ? `, ${denied.length} denied: ${names.map((n) => (EXPECTED_DENIALS[n] ? `${n} (${EXPECTED_DENIALS[n]})` : n)).join(", ")}` : "");
}

/** The URLs of every SQS queue the stack outputs (outputs named `dlq_url` or ending in `queue_url`). */
export function stackQueueUrls(outputs: Readonly<Record<string, string>>): string[] {
  return Object.entries(outputs).filter(([name]) => /(^|_)(dlq|queue)_url$/.test(name)).map(([, url]) => url).sort();
}

/** DeleteQueue on the emulator (straight to moto); a queue already gone is fine. */
async function sqsDeleteQueue(endpoint: string, credentials: Credentials, queueUrl: string): Promise<void> {
  const sqs = new SQSClient({ region: LOCAL_REGION, endpoint, credentials });
  try {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  } catch (error) {
    if (!/NonExistentQueue|QueueDoesNotExist/.test((error as Error).name)) throw error;
  }
}
