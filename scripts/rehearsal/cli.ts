/**
 * npm start: the whole two-account deployment rehearsed on the local moto AWS emulator, with real
 * Terraform (through the real `cdktf deploy`) and the real, bundled function.
 *
 * Flags: see USAGE below (`npm start -- --help`). The end-to-end suite drives the same phases
 * through `Rehearsal` (./rehearsal.ts) directly.
 *
 * Stopping: SIGINT, SIGTERM or SIGHUP to the rehearsal stops everything it started (cdktf and
 * Terraform, the ISS simulator, the gateway, moto.server) and removes its folder; and because a
 * signal to npm or tsx does not always reach it, it also watches the processes of this `npm start`
 * (./process-tree.ts) and does the same when any of them is gone.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../stacks/config";
import { LOCAL_REGION } from "../emulator/local-aws";
import { mapOfLog } from "../log/map-of-log";
import { parseCommandLine, runCommand, usageError } from "../shared/cli";
import { describeProcess, descendantsOf, launchChain, processTable, watchProcesses, type ProcessInfo } from "./process-tree";
import { countEntries, Rehearsal, ROOT } from "./rehearsal";

/** Where npm start draws the rehearsal's ground track (kept after the emulator stops; .local is git-ignored). */
export const REHEARSAL_MAP = join(ROOT, ".local", "rehearsal-track.png");
/** Where the hint for `npm run log -- --map` of a kept rehearsal writes (generated files live in .local/). */
export const KEPT_MAP = join(ROOT, ".local", "track.png");
const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];

export interface RehearsalFlags {
  readonly runs: number;
  readonly parallel: number;
  readonly targets: number;
  readonly keep: boolean;
  readonly live: boolean;
  readonly verbose: boolean;
}

export const USAGE = `usage: npm start -- [--runs N] [--parallel P] [--targets T] [--keep] [--live] [--verbose] [--help]

Rehearses the cross-account deployment on the local moto emulator: cdktf deploy of the stacks,
N runs of the deployed function (IAM enforced, through the emulator's conformance gates), the log
of every account B, then cdktf destroy.

  --runs N      invocations of the deployed function, 1-1000 (default 3)
  --parallel P  how many run at once, 1-1000 (default 1)
  --targets T   member accounts B the function appends to, 1-8 (default 1; with more, TARGETS
                lists 222222222222, 333333333333, ... and each gets its bootstrap stack)
  --keep        leave the emulator and the deployment up and print how to reach them and how to
                stop them (Ctrl-C, or kill -TERM any of its processes)
  --live        fetch the real ISS position (needs internet) instead of the local simulated orbit
  --verbose     stream the cdktf/terraform output
  --help        this text

Exits 0 only when every target's log gained exactly N entries and teardown succeeded.`;

/** Parses and validates npm start's flags (see ../shared/cli.ts). */
export function parseRehearsalFlags(argv: readonly string[]): RehearsalFlags {
  const values = parseCommandLine(argv, {
    runs: { type: "string" },
    parallel: { type: "string" },
    targets: { type: "string" },
    keep: { type: "boolean" },
    live: { type: "boolean" },
    verbose: { type: "boolean" },
  }, USAGE);
  const count = (name: "runs" | "parallel" | "targets", fallback: number, max = 1000): number => {
    const value = values[name];
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
      throw usageError(`--${name} needs a whole number from 1 to ${max}, got ${JSON.stringify(value)}`, USAGE);
    }
    return Number(value);
  };
  return {
    runs: count("runs", 3),
    parallel: count("parallel", 1),
    targets: count("targets", 1, 8),
    keep: values.keep ?? false,
    live: values.live ?? false,
    verbose: values.verbose ?? false,
  };
}

/** The log for the terminal: all of it when short, else the header and the last entries. */
export function logExcerpt(text: string, maxEntries = 12): string {
  const [header, ...entries] = text.split(/\n(?=Time: )/);
  if (entries.length <= maxEntries) return text;
  const shown = entries.slice(-maxEntries);
  return `${header}\n... (${entries.length - shown.length} earlier entries) ...\n\n${shown.join("\n")}`;
}

export interface RehearseOptions {
  /** Progress lines (default: the terminal). */
  readonly log?: (line: string) => void;
  /** Errors (default: the terminal's stderr). */
  readonly error?: (line: string) => void;
  /** Keep the emulator's folder (state, synth output, invocations) after stopping. */
  readonly keepFiles?: boolean;
  /**
   * Stop everything on SIGINT/SIGTERM/SIGHUP and when a process of this `npm start` is gone (the
   * command line does; a host that owns its signals and processes does not).
   */
  readonly handleSignals?: boolean;
}

/** How to stop a kept rehearsal, naming its processes. */
export function stopInstructions(rehearsalPid: number, together: readonly ProcessInfo[]): string {
  const npm = together.find((p) => /(^|[/\s])npm(\s|$)|npm-cli\.js/.test(p.command));
  return [
    `To stop it: Ctrl-C here, or  kill -TERM ${rehearsalPid}  (the rehearsal${npm ? `; or kill -TERM ${npm.pid}, npm start` : ""}).`,
    `SIGINT, SIGTERM or SIGHUP to any of its processes stops all of them and removes the emulator's folder:`,
    `  the rehearsal (pid ${rehearsalPid})${together.length ? `, ${together.map(describeProcess).join(", ")}` : ""}`,
  ].join("\n");
}

/** npm start, after flag parsing: returns the exit code. */
export async function rehearse(flags: RehearsalFlags, options: RehearseOptions = {}): Promise<number> {
  const started = Date.now();
  const log = options.log ?? ((line: string) => console.log(line));
  const logError = options.error ?? ((line: string) => console.error(line));
  log(`npm start: rehearsing the cross-account deployment on the moto emulator (${flags.runs} run(s), ${flags.parallel} at once, ` +
    `${flags.targets} account${flags.targets === 1 ? "" : "s"} B${flags.live ? ", live ISS API" : ""})`);

  let rehearsal: Rehearsal;
  try {
    rehearsal = await Rehearsal.start({ live: flags.live, verbose: flags.verbose, log, targets: flags.targets });
  } catch (error) {
    logError(`\nnpm start: the emulator did not start:\n${(error as Error).message}`);
    return 1;
  }

  // A signal, or a process of this npm start gone: stop everything, remove the emulator's folder.
  let stopping = false;
  const stopAll = (why: string, exitCode: number) => {
    if (stopping) return;
    stopping = true;
    logError(`\n${why}: stopping the emulator (${rehearsal.endpoint}) and everything this npm start started, and removing ${rehearsal.workDir}`);
    void rehearsal.stop().finally(() => process.exit(exitCode));
  };
  const onSignal = (signal: NodeJS.Signals) => stopAll(signal, signal === "SIGINT" ? 130 : signal === "SIGHUP" ? 129 : 143);
  let unwatch = () => undefined as void;
  let together: ProcessInfo[] = [];
  if (options.handleSignals) {
    for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
    // npm, its shell and tsx above; moto.server and tsx's esbuild service below.
    const table = processTable();
    together = [...launchChain(process.pid, table), ...descendantsOf(process.pid, table)];
    unwatch = watchProcesses(together, (gone) => stopAll(`${describeProcess(gone)} is gone`, 1));
  }

  let code = 1;
  try {
    await rehearsal.bootstrap();
    const fn = await rehearsal.deploy();
    log(`  function ${fn.name} (handler ${fn.handler}) runs as ${fn.roleArn}`);
    for (const t of fn.targets) log(`  it assumes ${t.accessRoleArn} (external id required) to append to s3://${t.bucket}/${t.key} in ${t.id}`);
    log(`  ISS sources: ${fn.environment.ISS_SOURCES}`);

    const countIn = async (account: string) => countEntries((await rehearsal.readLog(account))?.toString("utf8") ?? "");
    const before = await Promise.all(fn.targets.map((t) => countIn(t.id)));
    const results = await rehearsal.phase(`run: ${flags.runs} invocation(s) of the deployed bundle, ${flags.parallel} at once, as the execution role, IAM enforced`,
      () => rehearsal.invoke(flags.runs, flags.parallel));
    results.forEach((r, i) => {
      const outcomes = (r.summary?.targets ?? []).map((t) => `${t.target}: ${t.path} +${t.bytesAppended} B, ISS at ${t.issTimestamp} from ${t.source}, ${t.attempts} attempt(s)`);
      log(r.ok ? `  run ${i + 1}: ${outcomes.join("; ")}, ${r.ms} ms` : `  run ${i + 1}: FAILED after ${r.ms} ms: ${r.error}`);
    });
    const failed = results.filter((r) => !r.ok).length;
    const added: number[] = [];
    let total = 0;
    for (const [i, t] of fn.targets.entries()) {
      const text = (await rehearsal.readLog(t.id))?.toString("utf8") ?? "";
      const entries = countEntries(text);
      added.push(entries - before[i]);
      total += entries;
      log(`\n--- s3://${t.bucket}/${t.key} in account ${t.id} (${Buffer.byteLength(text)} bytes, ${entries} entries) ---`);
      log(text.length ? logExcerpt(text).trimEnd() : "(no object)");
      log("---");
    }
    code = added.every((n) => n === flags.runs) && failed === 0 ? 0 : 1;

    // The ground track of the (first target's) log, read as the function reads it (execution role ->
    // access role with the external id), drawn by the same code as npm run log --map.
    mkdirSync(join(ROOT, ".local"), { recursive: true });
    const [first] = fn.targets;
    const drawn = await rehearsal.phase("map: the log's positions on a world map (npm run log --map, through the function's chain)", async () =>
      mapOfLog({
        bucket: first.bucket, key: first.key, regionB: first.bucketRegion, accessRoleArn: first.accessRoleArn, externalId: first.externalId,
      }, { regionA: LOCAL_REGION, endpoint: rehearsal.endpoint, credentialsA: await rehearsal.executionCredentials() },
      REHEARSAL_MAP, loadConfig({ env: { ACCOUNT_B_ID: rehearsal.accountB } }).schedulePeriodSeconds));
    log(`  map of the log's ${drawn.entries} positions: ${drawn.map.path} (${drawn.map.width}x${drawn.map.height})`);

    if (flags.keep) {
      const profile = (name: string, c: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) =>
        [`[${name}]`, `aws_access_key_id = ${c.accessKeyId}`, `aws_secret_access_key = ${c.secretAccessKey}`, ...(c.sessionToken ? [`aws_session_token = ${c.sessionToken}`] : [])];
      // emulator-b is the first account B's administrator; emulator-b-<account> each one's.
      const profilesB = rehearsal.accountsB.flatMap((account, i) => profile(i === 0 ? "emulator-b" : `emulator-b-${account}`, rehearsal.local.adminOf(account)));
      writeFileSync(join(rehearsal.workDir, "credentials"), [...profile("emulator-a", rehearsal.adminA), ...profilesB, ""].join("\n"), { mode: 0o600 });
      log([
        "",
        `Kept: the emulator and the deployment are up at ${rehearsal.endpoint}. Point the AWS CLI at it:`,
        `  export AWS_ENDPOINT_URL=${rehearsal.endpoint} AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true`,
        `  export AWS_ACCESS_KEY_ID=${rehearsal.adminA.accessKeyId} AWS_SECRET_ACCESS_KEY=${rehearsal.adminA.secretAccessKey}   # admin user in A (${rehearsal.accountA})`,
        `  aws sts get-caller-identity`,
        `  aws lambda get-function-configuration --function-name ${fn.name}`,
        `  aws sts assume-role --role-arn arn:aws:iam::${rehearsal.accountB}:role/terraform --role-session-name me   # into B, as Terraform does`,
        `  (with B's credentials) aws s3 cp s3://${fn.bucket}/${fn.key} -`,
        `Read the log and check the deployment (profiles of A's and B's administrators in ${join(rehearsal.workDir, "credentials")}; on AWS, too, only the execution role may assume the access role, so a person reads with B's credentials):`,
        `  AWS_SHARED_CREDENTIALS_FILE=${join(rehearsal.workDir, "credentials")} npm run log -- --endpoint ${rehearsal.endpoint} --profile-b emulator-b --map ${KEPT_MAP}`,
        `  AWS_SHARED_CREDENTIALS_FILE=${join(rehearsal.workDir, "credentials")} npm run doctor -- --endpoint ${rehearsal.endpoint} --profile-a emulator-a`,
        `Synth output and state: ${rehearsal.workDir} (cdktf commands there need ISS_TRACKER_LOCAL_ENDPOINT=${rehearsal.endpoint} ` +
          `${rehearsal.accountsB.length > 1 ? `TARGETS=${rehearsal.accountsB.join(",")}` : `ACCOUNT_B_ID=${rehearsal.accountB}`}).`,
        `IAM enforcement is off between runs (moto's Lambda API does not work with it on).`,
        "",
        stopInstructions(process.pid, together),
      ].join("\n"));
    } else {
      await rehearsal.teardown();
    }
    const seconds = (Date.now() - started) / 1000;
    const perTarget = fn.targets.length > 1 ? ` (${fn.targets.map((t, i) => `${t.id}: +${added[i]}`).join(", ")})` : "";
    const newEntries = added.reduce((a, b) => a + b, 0);
    log(`\nSummary: ${newEntries} new entr${newEntries === 1 ? "y" : "ies"}${perTarget} for ${flags.runs} run(s) (${failed} failed), ${total} in the log${fn.targets.length > 1 ? "s" : ""} — ` +
      `${code === 0 ? "OK" : `MISMATCH: expected ${flags.runs}${fn.targets.length > 1 ? " per target" : ""}`}.`);
    log(`Total ${seconds.toFixed(1)} s: ${rehearsal.timings.map(([name, s]) => `${name.split(/[:(]/)[0].trim()} ${s.toFixed(1)} s`).join(", ")}`);
    if (flags.keep && code === 0) {
      await new Promise<never>(() => undefined); // until a signal or a process of it is gone (stopAll stops everything)
    }
  } catch (error) {
    logError(`\nnpm start failed: ${(error as Error).message}`);
    code = 1;
  } finally {
    // Once stopping, the stop in progress ends the process (after removing the folder).
    if (stopping) await new Promise<never>(() => undefined);
    await rehearsal.stop({ keepFiles: options.keepFiles });
    unwatch();
    if (options.handleSignals) for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
  return code;
}

if (require.main === module) {
  runCommand(process.argv.slice(2), (argv) => rehearse(parseRehearsalFlags(argv), { handleSignals: true })).then((code) => process.exit(code), (error) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  });
}
