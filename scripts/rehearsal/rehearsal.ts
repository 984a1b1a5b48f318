/**
 * The two-account deployment rehearsed on the moto emulator: real Terraform through the real
 * `cdktf deploy`/`cdktf destroy`, and the real bundled function run as Lambda would run it.
 * The one implementation behind `npm start` (./cli.ts) and the end-to-end suite.
 *
 *   start      moto on a free loopback port, the ISS simulator (unless live) and the emulator
 *              gateway with its conformance gates (../emulator: trust policies on AssumeRole, S3's
 *              conditional multipart writes); an admin user in A (moto's default
 *              account 123456789012) that Terraform runs as; an admin role in B.
 *   bootstrap  `cdktf deploy bootstrap` with B's credentials: the `terraform` role in B, trusting
 *              A's admin user (DEPLOYER_PRINCIPAL_ARN).
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
 * nothing touches the user's cdktf.out or real state.
 */
import {
  CreateAccessKeyCommand, CreateRoleCommand, CreateUserCommand, GetRoleCommand, IAMClient,
  PutRolePolicyCommand, PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import { GetFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { DeleteObjectsCommand, GetObjectCommand, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import { DeleteQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import { AsyncLocalStorage } from "node:async_hooks";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { localStateDir } from "../../stacks/backend";
import { SETTINGS } from "../../stacks/config";
import { startGateway, type Gateway } from "../emulator/gateway";
import { startIssSimulator, type IssSimulator } from "../emulator/iss-simulator";
import { invokeInFreshProcess, scheduledEvent, unpackFunction, type InvocationResult as LambdaInvocationResult } from "../emulator/lambda-runtime";
import { startMoto, type MotoServer } from "../emulator/moto";
import { iamGate, type IamGate, type RecordedCall } from "../emulator/iam-gate";
import { lifecycleGate } from "../emulator/lifecycle-gate";
import { logsGate } from "../emulator/logs-gate";
import { s3Gate } from "../emulator/s3-gate";
import { stsGate, type StsGate } from "../emulator/sts-gate";
import { assumeRole, isNotFound, parsePolicy, readManagedPolicy, readRole, type Credentials } from "../shared/aws";
import { sessionOf } from "../shared/iam";
import { checkPrerequisites } from "../shared/prerequisites";
import { applyTerraformEnv } from "../shared/terraform-env";
import type { RunSummary } from "../../function/tracker";

export const ROOT = resolve(__dirname, "..", "..");
/** moto's default account: credentials not from AssumeRole act here. */
export const LOCAL_ACCOUNT_A = "123456789012";
export const LOCAL_ACCOUNT_B = "222222222222";
export const LOCAL_REGION = "us-east-1";
const ADMIN_USER = "local-admin";
const ADMIN_ROLE_B = "OrganizationAccountAccessRole";
const ADMIN_POLICY = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] });

export interface RehearsalOptions {
  /** Fetch the real ISS position instead of the local simulator. */
  readonly live?: boolean;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** Stream cdktf/terraform output (otherwise kept and shown on failure). */
  readonly verbose?: boolean;
}

/** The deployed function as the Lambda service holds it. */
export interface DeployedFunction {
  readonly name: string;
  readonly roleArn: string;
  readonly environment: Record<string, string>;
  readonly codeSha256: string;
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly bucket: string;
  readonly key: string;
  readonly outputs: Record<string, string>;
}

export type { RunSummary } from "../../function/tracker";

export type InvocationResult = LambdaInvocationResult<RunSummary>;

/** Entries in the log's text (one `Time:` line each). */
export function countEntries(text: string): number {
  return (text.match(/^Time: /gm) ?? []).length;
}

export class Rehearsal {
  /** [phase, seconds] in order. */
  readonly timings: Array<[string, number]> = [];
  readonly accountA = LOCAL_ACCOUNT_A;
  readonly accountB = LOCAL_ACCOUNT_B;
  private deployed?: DeployedFunction;
  private readonly currentPhase = new AsyncLocalStorage<string>();
  /** The settings (JSON) each output folder was last synthesized with; absent before its first synth. */
  private readonly synthesizedWith = new Map<string, string>();
  private batches = 0;

  private constructor(
    readonly moto: MotoServer,
    readonly simulator: IssSimulator | undefined,
    readonly adminA: Credentials,
    readonly adminB: Credentials,
    /** In front of moto for the function's calls, with the conformance gates. */
    readonly gateway: Gateway,
    readonly stsGate: StsGate,
    /** Enforces the bootstrap role's policy on Terraform's calls in B, and records them. */
    readonly iamGate: IamGate,
    private readonly options: RehearsalOptions,
  ) {}

  /** Starts moto (clear message when it is not installed), the ISS simulator and the gateway; creates the admins. */
  static async start(options: RehearsalOptions = {}): Promise<Rehearsal> {
    const log = options.log ?? (() => undefined);
    const started = Date.now();
    checkPrerequisites();
    const [moto, simulator] = await Promise.all([startMoto(), options.live ? undefined : startIssSimulator()]);
    let gateway: Gateway | undefined;
    try {
      const iamA = new IAMClient({ region: LOCAL_REGION, endpoint: moto.endpoint, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
      await iamA.send(new CreateUserCommand({ UserName: ADMIN_USER }));
      await iamA.send(new PutUserPolicyCommand({ UserName: ADMIN_USER, PolicyName: "administrator", PolicyDocument: ADMIN_POLICY }));
      const key = (await iamA.send(new CreateAccessKeyCommand({ UserName: ADMIN_USER }))).AccessKey;
      if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error("moto returned no access key");
      const adminA = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
      const sts = new STSClient({ region: LOCAL_REGION, endpoint: moto.endpoint, credentials: adminA });
      // B's administrator: a real role in B (as AWS Organizations creates one), assumed from A.
      const roleArnB = `arn:aws:iam::${LOCAL_ACCOUNT_B}:role/${ADMIN_ROLE_B}`;
      const iamB = new IAMClient({ region: LOCAL_REGION, endpoint: moto.endpoint, credentials: await assumeRole(sts, roleArnB, "local-setup") });
      await iamB.send(new CreateRoleCommand({
        RoleName: ADMIN_ROLE_B,
        AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${LOCAL_ACCOUNT_A}:root` }, Action: "sts:AssumeRole" }] }),
      }));
      await iamB.send(new PutRolePolicyCommand({ RoleName: ADMIN_ROLE_B, PolicyName: "administrator", PolicyDocument: ADMIN_POLICY }));
      const adminB = await assumeRole(sts, roleArnB, "local-admin-b");
      const iamOf = (account: string) =>
        new IAMClient({ region: LOCAL_REGION, endpoint: moto.endpoint, credentials: account === LOCAL_ACCOUNT_B ? adminB : adminA });
      const trustGate = stsGate({
        trustPolicyOf: async (roleArn) => {
          const name = roleArn.split(":")[5]?.replace(/^role\/(.*\/)?/, "") ?? "";
          const role = await iamOf(roleArn.split(":")[4]).send(new GetRoleCommand({ RoleName: name }));
          return parsePolicy(role.Role?.AssumeRolePolicyDocument);
        },
      });
      // Terraform's account_b provider assumes the bootstrap role as A's admin user, through the gate.
      trustGate.registerCaller(adminA.accessKeyId, `arn:aws:iam::${LOCAL_ACCOUNT_A}:user/${ADMIN_USER}`);
      // Terraform's calls in B, as the bootstrap role, under that role's policy with the real IAM
      // action names (the gate learns the session from the AssumeRole answer).
      const adminIamB = iamOf(LOCAL_ACCOUNT_B);
      const terraformGate = iamGate({
        roleArns: [`arn:aws:iam::${LOCAL_ACCOUNT_B}:role/${SETTINGS.bootstrapRoleName.default}`],
        readRole: async (roleArn) => {
          const { role, policies } = await readRole(adminIamB, roleArn.replace(/^.*:role\/(.*\/)?/, ""));
          const boundaryArn = role.PermissionsBoundary?.PermissionsBoundaryArn;
          if (!boundaryArn) return { policies };
          return { policies, boundary: { name: boundaryArn, policy: await readManagedPolicy(adminIamB, boundaryArn) } };
        },
        boundaryOf: async (roleArn) => {
          try {
            const role = await adminIamB.send(new GetRoleCommand({ RoleName: roleArn.replace(/^.*:role\/(.*\/)?/, "") }));
            return role.Role?.PermissionsBoundary?.PermissionsBoundaryArn;
          } catch (error) {
            if (isNotFound(error)) return undefined;
            throw error;
          }
        },
      });
      // S3's conditional multipart writes, which moto ignores; its own reads of ETags act as B's admin.
      const conditions = s3Gate({ upstream: moto.endpoint, readAs: adminB, region: LOCAL_REGION });
      gateway = await startGateway(moto.endpoint, [terraformGate.gate, trustGate.gate, lifecycleGate(), logsGate(), conditions.gate]);
      const rehearsal = new Rehearsal(moto, simulator, adminA, adminB, gateway, trustGate, terraformGate, options);
      const seconds = (Date.now() - started) / 1000;
      rehearsal.timings.push(["emulator", seconds]);
      log(`▸ emulator: moto at ${moto.endpoint} behind the conformance gateway ${gateway.endpoint} (account A ${LOCAL_ACCOUNT_A}, account B ${LOCAL_ACCOUNT_B}); ` +
        `ISS source ${simulator ? `simulated orbit at ${simulator.url}` : "the live API"} — ${seconds.toFixed(1)} s`);
      return rehearsal;
    } catch (error) {
      await gateway?.stop();
      await simulator?.stop();
      await moto.stop();
      throw error;
    }
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
    return this.gateway.endpoint;
  }

  get outDir(): string {
    return join(this.workDir, "cdktf.out");
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
      ACCOUNT_B_ID: this.accountB,
      ISS_TRACKER_LOCAL_ENDPOINT: this.endpoint,
      DEPLOYER_PRINCIPAL_ARN: `arn:aws:iam::${this.accountA}:user/${ADMIN_USER}`,
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

  private exec(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): Promise<string> {
    return new Promise((resolveRun, reject) => {
      const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        if (this.options.verbose) process.stderr.write(chunk);
      };
      child.stdout.on("data", collect);
      child.stderr.on("data", collect);
      child.on("error", reject);
      child.on("close", (code, signal) => {
        if (code === 0) resolveRun(output);
        // The message keeps the tail; `output` keeps all of it (cdktf interleaves Terraform's stderr and stdout).
        else reject(Object.assign(new Error(`${command.replace(ROOT + "/", "")} ${args.join(" ")} failed (${signal ?? `exit ${code}`}):\n${output.slice(-6000)}`), { output }));
      });
    });
  }

  /**
   * `cdktf deploy|destroy|diff <stack>` (or `cdktf synth`). Synthesizes both stacks into this emulator's folder
   * (--output) on the first call and whenever `settings` (configuration variables such as
   * NONCURRENT_VERSION_DAYS or ALLOW_BUCKET_DESTROY) differ from the last synth's; otherwise
   * reuses that synth (--skip-synth). `outDir` keeps a variant in another folder, tracked the same
   * way (the state is the same file: local mode keeps it in the work folder). Rejects with the
   * command's output when it fails.
   */
  async cdktf(verb: "deploy" | "destroy" | "diff" | "synth", stack: string, credentials: Credentials,
    options: { readonly args?: readonly string[]; readonly env?: NodeJS.ProcessEnv; readonly settings?: Readonly<Record<string, string>>; readonly outDir?: string } = {}): Promise<string> {
    mkdirSync(this.workDir, { recursive: true });
    const outDir = options.outDir ?? this.outDir;
    const settings = JSON.stringify(options.settings ?? {});
    const env = { ...this.cdktfEnv(credentials), ...options.settings, ...options.env };
    // With an offline provider mirror, `terraform providers lock` (other platforms' checksums)
    // would need the registry.
    const offline = applyTerraformEnv({ ...env }).mirror && (verb === "deploy" || verb === "destroy") ? ["--skip-provider-lock"] : [];
    const skipSynth = this.synthesizedWith.get(outDir) === settings && verb !== "synth" ? ["--skip-synth"] : [];
    this.synthesizedWith.delete(outDir);
    const args = verb === "synth" ? [verb] : [verb, stack, ...(verb === "diff" ? [] : ["--auto-approve"]), ...offline, ...skipSynth];
    const output = await this.exec(join(ROOT, "node_modules", ".bin", "cdktf"), [...args, "--no-color", "--output", outDir, ...(options.args ?? [])], env)
      .finally(() => {
        this.synthesizedWith.set(outDir, settings);
      });
    return output;
  }

  /**
   * Terraform itself in a synthesized stack's folder (initialized first unless `init` is false: two
   * inits of one folder must not run at once; `outDir` as given to cdktf(), default this
   * emulator's; no args: init only), with the environment cdktf gives it: for a command's full,
   * unfiltered output (cdktf's relay of Terraform's output can drop its last lines when Terraform
   * fails). Rejects like cdktf() on failure.
   */
  async terraform(stack: string, credentials: Credentials, args: readonly string[], options: { readonly outDir?: string; readonly init?: boolean } = {}): Promise<string> {
    const dir = join(options.outDir ?? this.outDir, "stacks", stack);
    const env = this.cdktfEnv(credentials);
    if (options.init ?? true) await this.exec("terraform", ["init", "-input=false", "-no-color"], env, dir);
    return args.length ? this.exec("terraform", [...args, "-no-color"], env, dir) : "";
  }

  /** `cdktf deploy bootstrap` with B's credentials: the `terraform` role in B. */
  async bootstrap(): Promise<void> {
    await this.phase(`bootstrap B: cdktf deploy bootstrap (role terraform in ${this.accountB}, trusting A's ${ADMIN_USER})`,
      () => this.cdktf("deploy", "bootstrap", this.adminB));
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
    const lambda = new LambdaClient({ region: LOCAL_REGION, endpoint: this.moto.endpoint, credentials: this.adminA });
    const config = (await lambda.send(new GetFunctionCommand({ FunctionName: outputs.function_name }))).Configuration;
    const environment = config?.Environment?.Variables ?? {};
    if (!config?.Role || !config.CodeSha256 || !config.Handler || !environment.OBJECT_KEY || !environment.BUCKET_NAME) {
      throw new Error(`the deployed function ${outputs.function_name} has no role, code, handler or OBJECT_KEY/BUCKET_NAME`);
    }
    this.deployed = {
      name: outputs.function_name,
      roleArn: config.Role,
      environment,
      codeSha256: config.CodeSha256,
      handler: config.Handler,
      timeoutSeconds: config.Timeout ?? 3,
      bucket: environment.BUCKET_NAME,
      key: environment.OBJECT_KEY,
      outputs,
    };
    return this.deployed;
  }

  get function(): DeployedFunction {
    if (!this.deployed) throw new Error("deploy() first");
    return this.deployed;
  }

  /** The deployed package, checked byte for byte against Lambda's CodeSha256. */
  deployedPackage(): Buffer {
    const stackDir = join(this.outDir, "stacks", "iss-tracker");
    const synthesized = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
    const fn = Object.values<{ filename: string }>(synthesized.resource.aws_lambda_function)[0];
    const zip = readFileSync(join(stackDir, fn.filename));
    const sha = createHash("sha256").update(zip).digest("base64");
    if (sha !== this.function.codeSha256) {
      throw new Error(`the package on disk (${sha}) is not the deployed code (CodeSha256 ${this.function.codeSha256})`);
    }
    return zip;
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
    const fn = this.function;
    const dir = join(this.workDir, "invocations", String(++this.batches));
    const { entry, exportName } = unpackFunction(this.deployedPackage(), dir, fn.handler);
    const credentials = await this.executionCredentials();
    const env: Record<string, string> = {
      ...fn.environment,
      ...overrides,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SESSION_TOKEN: credentials.sessionToken ?? "",
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      // moto, through the gateway that adds the rules moto lacks (trust policies, S3 conditions).
      AWS_ENDPOINT_URL: this.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
    };
    const events = Array.from({ length: count }, () => scheduledEvent({ account: this.accountA, region: LOCAL_REGION, rule: fn.outputs.rule_name }));
    await this.moto.enforceIam();
    try {
      const run = await invokeInFreshProcess<RunSummary>({
        entry, exportName, functionName: fn.name, timeoutMs: fn.timeoutSeconds * 1000, env, events, parallel, workDir: dir,
      });
      if (this.options.verbose) process.stderr.write(run.stdout + run.stderr);
      if (!run.results) throw new Error(`the function's process ended without results (${run.signal ?? `exit ${run.exitCode}`}):\n${(run.stdout + run.stderr).slice(-4000)}`);
      return run.results;
    } finally {
      await this.moto.relaxIam();
    }
  }

  /** B's administrator S3 client (straight to moto). */
  s3B(): S3Client {
    return new S3Client({ region: LOCAL_REGION, endpoint: this.moto.endpoint, forcePathStyle: true, credentials: this.adminB });
  }

  /** The log object's bytes, or undefined when it does not exist (yet). */
  async readLog(): Promise<Buffer | undefined> {
    try {
      const res = await this.s3B().send(new GetObjectCommand({ Bucket: this.function.bucket, Key: this.function.key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (error) {
      if ((error as { name?: string }).name === "NoSuchKey") return undefined;
      throw error;
    }
  }

  /** Deletes every version and delete marker in the report bucket (as B's administrator). */
  async emptyBucket(): Promise<number> {
    const s3 = this.s3B();
    let deleted = 0;
    for (;;) {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: this.function.bucket }));
      const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
      if (objects.length === 0) return deleted;
      await s3.send(new DeleteObjectsCommand({ Bucket: this.function.bucket, Delete: { Objects: objects, Quiet: true } }));
      deleted += objects.length;
    }
  }

  /** Empties the bucket explicitly, then `cdktf destroy` of the main stack and of the bootstrap stack. */
  async teardown(): Promise<void> {
    if (this.deployed) {
      const versions = await this.phase("empty the report bucket: every version and delete marker (force_destroy is off on purpose, so destroy never wipes a real log)",
        () => this.emptyBucket());
      this.log(`  deleted ${versions} object version(s) of s3://${this.function.bucket}`);
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
  }

  /** Stops the gateway, the simulator and the emulator; removes this emulator's folder unless keepFiles. */
  async stop(options: { keepFiles?: boolean } = {}): Promise<void> {
    await this.gateway.stop();
    await this.simulator?.stop();
    await this.moto.stop();
    if (!options.keepFiles) rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** One line on Terraform's calls in B, as the IAM gate saw them. */
export function describeCalls(calls: readonly RecordedCall[]): string {
  const denied = calls.filter((c) => !c.allowed);
  const actions = new Set(calls.filter((c) => c.allowed).flatMap((c) => c.actions));
  return `Terraform in B (bootstrap role, IAM gate): ${calls.length} call(s), ${actions.size} distinct action(s) allowed` +
    (denied.length ? `, ${denied.length} denied: ${[...new Set(denied.map((c) => c.actions.join("+") || c.operation))].join(", ")}` : "");
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
