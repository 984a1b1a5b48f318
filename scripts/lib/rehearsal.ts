/**
 * The two-account deployment rehearsed on the moto emulator, with real Terraform (through the real
 * `cdktf deploy`) and the real, bundled function. Used by `npm start` and the end-to-end test.
 *
 *   1. moto on a free loopback port; an admin user in A (moto's default account) for Terraform;
 *      admin credentials in B (any AssumeRole into B acts in B on moto).
 *   2. `cdktf deploy bootstrap` with B's credentials: the `terraform` role, trusting A's admin user.
 *   3. `cdktf deploy iss-tracker` with A's credentials; the account_b provider assumes that role.
 *   4. Runs as Lambda would: the function's configuration (environment, role, code hash) is read
 *      from the emulator, the execution role's credentials come from AssumeRole, IAM enforcement is
 *      switched on, and the bundled index.js from the deployed zip is invoked in-process.
 *   5. Teardown: the bucket is emptied explicitly (force_destroy is off on purpose), then
 *      `cdktf destroy` for both stacks.
 */
import { DeleteObjectsCommand, GetObjectCommand, ListObjectVersionsCommand, S3Client } from "@aws-sdk/client-s3";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { GetFunctionConfigurationCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { inflateRawSync } from "node:zlib";
import { localStateDir } from "../../stacks/backend";
import { SETTINGS } from "../../stacks/config";
import { startMoto, type MotoServer } from "./moto";
import { startOrbitSimulator, type OrbitSimulator } from "./orbit-simulator";
import { applyTerraformEnv } from "./terraform-env";

export const ROOT = resolve(__dirname, "..", "..");
export const ACCOUNT_A = "123456789012"; // moto's default account
export const DEFAULT_ACCOUNT_B = "222222222222";
const REGION = "us-east-1";
const ADMIN_USER = "rehearsal-admin";

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface RehearsalOptions {
  /** Use the real ISS API instead of the local orbit simulator. */
  readonly live?: boolean;
  readonly accountB?: string;
  /** Progress lines (phase names and timings). */
  readonly log?: (line: string) => void;
  /** Stream cdktf/terraform output instead of keeping it for errors. */
  readonly verbose?: boolean;
}

export interface DeployedFunction {
  readonly name: string;
  readonly roleArn: string;
  readonly environment: Record<string, string>;
  readonly codeSha256: string;
  readonly bucket: string;
  readonly key: string;
  readonly outputs: Record<string, string>;
}

export interface InvocationResult {
  readonly ok: boolean;
  readonly summary?: Record<string, unknown>;
  readonly error?: string;
  readonly ms: number;
}

/** Entries in a log object's text. */
export function countEntries(text: string): number {
  return (text.match(/^Time: /gm) ?? []).length;
}

/** The first file of a zip (enough for the function's one-file deterministic zip). */
export function firstZipEntry(zip: Buffer): { name: string; data: Buffer } {
  if (zip.readUInt32LE(0) !== 0x04034b50) throw new Error("not a zip file");
  const method = zip.readUInt16LE(8);
  const compressed = zip.readUInt32LE(18);
  const nameLength = zip.readUInt16LE(26);
  const extraLength = zip.readUInt16LE(28);
  const start = 30 + nameLength + extraLength;
  const body = zip.subarray(start, start + compressed);
  return {
    name: zip.subarray(30, 30 + nameLength).toString("utf8"),
    data: method === 8 ? inflateRawSync(body) : Buffer.from(body),
  };
}

async function timed<T>(log: (line: string) => void, phase: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  log(`▸ ${phase} ...`);
  try {
    const result = await fn();
    log(`  ${phase}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  } catch (error) {
    log(`  ${phase}: FAILED after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    throw error;
  }
}

export class Rehearsal {
  /** Seconds per phase, in order. */
  readonly timings: Array<[string, number]> = [];
  private deployed?: DeployedFunction;
  private invocationCount = 0;
  private synthesized = false;

  private constructor(
    readonly moto: MotoServer,
    readonly simulator: OrbitSimulator | undefined,
    readonly accountB: string,
    readonly adminA: Credentials,
    readonly adminB: Credentials,
    private readonly options: RehearsalOptions,
  ) {}

  /** Starts the emulator (and the orbit simulator unless live) and creates the admin identities. */
  static async start(options: RehearsalOptions = {}): Promise<Rehearsal> {
    const log = options.log ?? (() => undefined);
    const moto = await timed(log, "start the moto emulator", () => startMoto());
    try {
      const simulator = options.live ? undefined : await startOrbitSimulator();
      const accountB = options.accountB ?? DEFAULT_ACCOUNT_B;
      const bootstrapCredentials = { accessKeyId: "emulator", secretAccessKey: "emulator" };
      const iam = new IAMClient({ region: REGION, endpoint: moto.endpoint, credentials: bootstrapCredentials });
      await iam.send(new CreateUserCommand({ UserName: ADMIN_USER }));
      await iam.send(new PutUserPolicyCommand({
        UserName: ADMIN_USER,
        PolicyName: "administrator",
        PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }),
      }));
      const key = (await iam.send(new CreateAccessKeyCommand({ UserName: ADMIN_USER }))).AccessKey;
      if (!key?.AccessKeyId || !key.SecretAccessKey) throw new Error("moto returned no access key");
      const adminA = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
      const adminB = await assumeRole(moto.endpoint, adminA, `arn:aws:iam::${accountB}:role/OrganizationAccountAccessRole`, "rehearsal-admin-b");
      log(`  emulator ${moto.endpoint}; account A ${ACCOUNT_A}, account B ${accountB}; ISS source ${simulator?.url ?? "live API"}`);
      return new Rehearsal(moto, simulator, accountB, adminA, adminB, options);
    } catch (error) {
      await moto.stop();
      throw error;
    }
  }

  private log(line: string): void {
    this.options.log?.(line);
  }

  /** Runs a phase, logging and recording its duration. */
  async phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const result = await timed((l) => this.log(l), name, fn);
    this.timings.push([name, (Date.now() - started) / 1000]);
    return result;
  }

  /** Everything this rehearsal writes on disk (synth output, state) lives here. */
  get workDir(): string {
    return localStateDir(this.moto.endpoint);
  }

  private get outDir(): string {
    return join(this.workDir, "cdktf.out");
  }

  /** Environment for cdktf/terraform: the app's configuration for local mode and the given credentials. */
  cdktfEnv(credentials: Credentials): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const spec of Object.values(SETTINGS)) delete env[spec.env];
    for (const name of Object.keys(env)) if (name.startsWith("AWS_")) delete env[name];
    Object.assign(env, {
      CHECKPOINT_DISABLE: "1",
      CI: "1",
      ACCOUNT_B_ID: this.accountB,
      ISS_TRACKER_LOCAL_ENDPOINT: this.moto.endpoint,
      DEPLOYER_PRINCIPAL_ARN: `arn:aws:iam::${ACCOUNT_A}:user/${ADMIN_USER}`,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: REGION,
      AWS_EC2_METADATA_DISABLED: "true",
    });
    if (credentials.sessionToken) env.AWS_SESSION_TOKEN = credentials.sessionToken;
    if (this.simulator) env.ISS_SOURCES = this.simulator.url;
    applyTerraformEnv(env);
    return env;
  }

  private run(command: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): Promise<string> {
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
      child.on("close", (code) => {
        if (code === 0) resolveRun(output);
        else reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${output.slice(-6000)}`));
      });
    });
  }

  private async cdktf(verb: "deploy" | "destroy", stack: string, credentials: Credentials, extra: string[] = []): Promise<string> {
    mkdirSync(this.workDir, { recursive: true });
    const env = this.cdktfEnv(credentials);
    // With an offline provider mirror, `terraform providers lock` (which cdktf runs after init to
    // add other platforms' checksums) would need the registry: skip it there.
    const offline = applyTerraformEnv({ ...env }).mirror !== undefined ? ["--skip-provider-lock"] : [];
    // The first command synthesizes both stacks (same configuration for all); later ones reuse it.
    const skipSynth = this.synthesized ? ["--skip-synth"] : [];
    const output = await this.run(join(ROOT, "node_modules", ".bin", "cdktf"),
      [verb, stack, "--auto-approve", "--no-color", "--output", this.outDir, ...offline, ...skipSynth, ...extra], env);
    this.synthesized = true;
    return output;
  }

  /** `cdktf deploy bootstrap` with B's credentials. */
  async bootstrap(): Promise<void> {
    await this.phase("bootstrap B: cdktf deploy bootstrap (role terraform)", () => this.cdktf("deploy", "bootstrap", this.adminB));
  }

  /** `cdktf deploy iss-tracker` with A's credentials, then the function's configuration as Lambda sees it. */
  async deploy(): Promise<DeployedFunction> {
    const outputsFile = join(this.workDir, "outputs.json");
    await this.phase("deploy: cdktf deploy iss-tracker (A + B)", () =>
      this.cdktf("deploy", "iss-tracker", this.adminA, ["--outputs-file", outputsFile]));
    const outputs: Record<string, string> = JSON.parse(readFileSync(outputsFile, "utf8"))["iss-tracker"];
    const lambda = new LambdaClient({ region: REGION, endpoint: this.moto.endpoint, credentials: this.adminA });
    const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: outputs.function_name }));
    const environment = config.Environment?.Variables ?? {};
    const key = environment.OBJECT_KEY;
    if (!config.Role || !config.CodeSha256 || !key) throw new Error("the deployed function has no role, code or OBJECT_KEY");
    this.deployed = {
      name: outputs.function_name,
      roleArn: config.Role,
      environment,
      codeSha256: config.CodeSha256,
      bucket: outputs.bucket_name,
      key,
      outputs,
    };
    return this.deployed;
  }

  get function(): DeployedFunction {
    if (!this.deployed) throw new Error("deploy() first");
    return this.deployed;
  }

  /** The deployed code, checked against the CodeSha256 Lambda reports. */
  bundledCode(): Buffer {
    const stackDir = join(this.outDir, "stacks", "iss-tracker");
    const synthesized = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
    const fn = Object.values<{ filename: string }>(synthesized.resource.aws_lambda_function)[0];
    const zip = readFileSync(join(stackDir, fn.filename));
    const sha = createHash("sha256").update(zip).digest("base64");
    if (sha !== this.function.codeSha256) {
      throw new Error(`the bundle on disk (${sha}) is not the deployed code (${this.function.codeSha256})`);
    }
    return firstZipEntry(zip).data;
  }

  /** The execution role's credentials, as the Lambda service gets them (AssumeRole). */
  executionCredentials(): Promise<Credentials> {
    return assumeRole(this.moto.endpoint, this.adminA, this.function.roleArn, this.function.name);
  }

  /**
   * Invokes the bundled handler `count` times, `parallel` at once, as the execution role, with IAM
   * enforcement on. The invocations run in a fresh Node process (a cold start, like a new Lambda
   * sandbox: no cached credentials leak between scenarios) with the deployed environment,
   * plus `overrides`.
   */
  async invoke(count: number, parallel = 1, overrides: Record<string, string> = {}): Promise<InvocationResult[]> {
    const code = this.bundledCode();
    const credentials = await this.executionCredentials();
    const dir = join(this.workDir, `invocation-${++this.invocationCount}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "index.js"), code);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...this.function.environment, ...overrides,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SESSION_TOKEN: credentials.sessionToken ?? "",
      AWS_REGION: REGION,
      AWS_ENDPOINT_URL: this.moto.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: this.function.name,
      AWS_EC2_METADATA_DISABLED: "true",
      NODE_NO_WARNINGS: "1",
    };
    const resultsFile = join(dir, "results.json");
    await this.moto.enforceIam();
    try {
      const logs = await this.run(process.execPath,
        [join(__dirname, "lambda-runner.cjs"), join(dir, "index.js"), String(count), String(parallel), resultsFile], env, dir);
      writeFileSync(join(dir, "function.log"), logs);
      if (this.options.verbose) process.stderr.write(logs);
    } finally {
      await this.moto.relaxIam();
    }
    return JSON.parse(readFileSync(resultsFile, "utf8"));
  }

  /** B's admin S3 client (enforcement must be off). */
  s3B(): S3Client {
    return new S3Client({ region: REGION, endpoint: this.moto.endpoint, forcePathStyle: true, credentials: this.adminB });
  }

  /** The log object's bytes, or undefined when it does not exist yet. */
  async readLog(): Promise<Buffer | undefined> {
    try {
      const res = await this.s3B().send(new GetObjectCommand({ Bucket: this.function.bucket, Key: this.function.key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (error) {
      if ((error as { name?: string }).name === "NoSuchKey") return undefined;
      throw error;
    }
  }

  /** Empties the bucket (every version), then destroys both stacks. */
  async teardown(): Promise<void> {
    if (this.deployed) {
      await this.phase("empty the report bucket (all versions; force_destroy is off on purpose)", async () => {
        const s3 = this.s3B();
        for (;;) {
          const page = await s3.send(new ListObjectVersionsCommand({ Bucket: this.function.bucket }));
          const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key!, VersionId: v.VersionId }));
          if (objects.length === 0) break;
          await s3.send(new DeleteObjectsCommand({ Bucket: this.function.bucket, Delete: { Objects: objects, Quiet: true } }));
        }
      });
    }
    await this.phase("destroy: cdktf destroy iss-tracker", async () => {
      // hashicorp/aws waits for 15 consecutive "queue gone" reads after deleting an SQS queue
      // (~2.5 min, made for SQS's 60 s delete). The emulator is thrown away next, so the queue and
      // its policy are dropped from the state instead of waited for.
      const stackDir = join(this.outDir, "stacks", "iss-tracker");
      const synthesized = JSON.parse(readFileSync(join(stackDir, "cdk.tf.json"), "utf8"));
      const addresses = ["aws_sqs_queue_policy", "aws_sqs_queue"].flatMap((type) =>
        Object.keys(synthesized.resource[type] ?? {}).map((id) => `${type}.${id}`));
      await this.run("terraform", ["state", "rm", ...addresses], this.cdktfEnv(this.adminA), stackDir);
      await this.cdktf("destroy", "iss-tracker", this.adminA);
    });
    await this.phase("destroy: cdktf destroy bootstrap", () => this.cdktf("destroy", "bootstrap", this.adminB));
  }

  /** Stops the emulator and the simulator and removes the work folder. */
  async stop(options: { keepFiles?: boolean } = {}): Promise<void> {
    await this.simulator?.stop();
    await this.moto.stop();
    if (!options.keepFiles) rmSync(this.workDir, { recursive: true, force: true });
  }
}

export async function assumeRole(endpoint: string, credentials: Credentials, roleArn: string, sessionName: string): Promise<Credentials> {
  const sts = new STSClient({ region: REGION, endpoint, credentials });
  const res = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName.slice(0, 64) }));
  const c = res.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
}
