/**
 * cdktf and Terraform for the rehearsal: runs `cdktf deploy|destroy|diff|synth` and `terraform`
 * in a synthesized stack's folder as child processes, with the environment the rehearsal gives
 * them, and keeps a synth cache (a folder is synthesized again only when the settings it was
 * synthesized with change).
 *
 * Each child runs in its own process group, and every one still running is ended by `stopAll()`
 * (cdktf starts Terraform, which starts the provider plugin: ending the group ends all three), so
 * stopping a rehearsal never leaves a Terraform behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Credentials } from "../shared/aws";
import { applyTerraformEnv } from "../shared/terraform-env";

export interface RunnerOptions {
  /** The project root (cdktf.json, node_modules). */
  readonly root: string;
  /** Where synth output (`cdktf.out`) and state live. */
  readonly workDir: string;
  /** The environment a command runs with, for these credentials. */
  readonly envFor: (credentials: Credentials) => NodeJS.ProcessEnv;
  /** Stream the commands' output to stderr (otherwise kept and shown on failure). */
  readonly verbose?: boolean;
}

export type CdktfVerb = "deploy" | "destroy" | "diff" | "synth";

export interface CdktfOptions {
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Configuration variables that differ from the defaults (NONCURRENT_VERSION_DAYS, ALLOW_BUCKET_DESTROY, ...). */
  readonly settings?: Readonly<Record<string, string>>;
  /** Another synth folder (a variant), tracked the same way. */
  readonly outDir?: string;
}

export class TerraformRunner {
  /** The settings (JSON) each output folder was last synthesized with; absent before its first synth. */
  private readonly synthesizedWith = new Map<string, string>();
  private readonly running = new Set<ChildProcess>();

  constructor(private readonly options: RunnerOptions) {}

  get outDir(): string {
    return join(this.options.workDir, "cdktf.out");
  }

  /** Runs a command to its end; rejects with its output's tail (and `output`, all of it) when it fails. */
  run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd = this.options.root): Promise<string> {
    return new Promise((resolveRun, reject) => {
      const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
      this.running.add(child);
      let output = "";
      const collect = (chunk: Buffer) => {
        output += chunk.toString();
        if (this.options.verbose) process.stderr.write(chunk);
      };
      child.stdout!.on("data", collect);
      child.stderr!.on("data", collect);
      child.on("error", (error) => {
        this.running.delete(child);
        reject(error);
      });
      child.on("close", (code, signal) => {
        this.running.delete(child);
        if (code === 0) resolveRun(output);
        // The message keeps the tail; `output` keeps all of it (cdktf interleaves Terraform's stderr and stdout).
        else reject(Object.assign(new Error(`${command.replace(this.options.root + "/", "")} ${args.join(" ")} failed (${signal ?? `exit ${code}`}):\n${output.slice(-6000)}`), { output }));
      });
    });
  }

  /**
   * Ends every command still running, with its whole process group (cdktf, Terraform, the
   * provider), and waits until they are gone (SIGKILL after `graceMs`).
   */
  async stopAll(graceMs = 5000): Promise<void> {
    const children = [...this.running];
    const signalAll = (signal: NodeJS.Signals) => {
      for (const child of children) {
        try {
          if (child.pid) process.kill(-child.pid, signal);
        } catch {
          // already gone
        }
      }
    };
    signalAll("SIGTERM");
    const closed = Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once("close", r)))));
    const timer = setTimeout(() => signalAll("SIGKILL"), graceMs);
    await closed;
    clearTimeout(timer);
  }

  /**
   * `cdktf deploy|destroy|diff <stack>` (or `cdktf synth`). Synthesizes both stacks into the work
   * folder (--output) on the first call and whenever `settings` differ from the last synth's;
   * otherwise reuses that synth (--skip-synth). `outDir` keeps a variant in another folder, tracked
   * the same way (the state is the same file: local mode keeps it in the work folder).
   */
  async cdktf(verb: CdktfVerb, stack: string, credentials: Credentials, options: CdktfOptions = {}): Promise<string> {
    mkdirSync(this.options.workDir, { recursive: true });
    const outDir = options.outDir ?? this.outDir;
    const settings = JSON.stringify(options.settings ?? {});
    const env = { ...this.options.envFor(credentials), ...options.settings, ...options.env };
    // With an offline provider mirror, `terraform providers lock` (other platforms' checksums)
    // would need the registry.
    const offline = applyTerraformEnv({ ...env }).mirror && (verb === "deploy" || verb === "destroy") ? ["--skip-provider-lock"] : [];
    const skipSynth = this.synthesizedWith.get(outDir) === settings && verb !== "synth" ? ["--skip-synth"] : [];
    this.synthesizedWith.delete(outDir);
    const args = verb === "synth" ? [verb] : [verb, stack, ...(verb === "diff" ? [] : ["--auto-approve"]), ...offline, ...skipSynth];
    return this.run(join(this.options.root, "node_modules", ".bin", "cdktf"), [...args, "--no-color", "--output", outDir, ...(options.args ?? [])], env)
      .finally(() => {
        this.synthesizedWith.set(outDir, settings);
      });
  }

  /**
   * Terraform itself in a synthesized stack's folder (initialized first unless `init` is false: two
   * inits of one folder must not run at once; no args: init only), with the environment cdktf
   * gives it: for a command's full, unfiltered output (cdktf's relay of Terraform's output can drop
   * its last lines when Terraform fails).
   */
  async terraform(stack: string, credentials: Credentials, args: readonly string[], options: { readonly outDir?: string; readonly init?: boolean } = {}): Promise<string> {
    const dir = join(options.outDir ?? this.outDir, "stacks", stack);
    const env = this.options.envFor(credentials);
    if (options.init ?? true) await this.run("terraform", ["init", "-input=false", "-no-color"], env, dir);
    return args.length ? this.run("terraform", [...args, "-no-color"], env, dir) : "";
  }
}
