/**
 * npm start: the whole two-account deployment rehearsed on the local moto AWS emulator, with real
 * Terraform (through the real `cdktf deploy`) and the real, bundled function.
 *
 *   npm start -- [--runs N] [--parallel P] [--keep] [--live] [--verbose]
 *
 *   --runs N      invocations of the deployed function (default 3)
 *   --parallel P  how many run at once (default 1)
 *   --keep        leave the emulator and the deployment up (until Ctrl-C) and print how to reach them
 *   --live        fetch the real ISS position (needs internet) instead of the local simulated orbit
 *   --verbose     stream the cdktf/terraform output
 *
 * Exits 0 only when the log gained exactly N entries (and teardown succeeded).
 */
import { countEntries, LocalRehearsal } from "./lib/local-rehearsal";

export interface LocalFlags {
  runs: number;
  parallel: number;
  keep: boolean;
  live: boolean;
  verbose: boolean;
}

const USAGE = "usage: npm start -- [--runs N] [--parallel P] [--keep] [--live] [--verbose]";

export function parseLocalFlags(argv: readonly string[]): LocalFlags {
  const flags: LocalFlags = { runs: 3, parallel: 1, keep: false, live: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if (name === "--runs" || name === "--parallel") {
      const value = inline ?? argv[++i];
      if (value === undefined || !/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1000) {
        throw new Error(`${name} needs a whole number from 1 to 1000, got ${JSON.stringify(value ?? "")}\n${USAGE}`);
      }
      flags[name === "--runs" ? "runs" : "parallel"] = Number(value);
    } else if (name === "--keep" || name === "--live" || name === "--verbose") {
      if (inline !== undefined) throw new Error(`${name} takes no value\n${USAGE}`);
      flags[name.slice(2) as "keep" | "live" | "verbose"] = true;
    } else if (name === "--help" || name === "-h") {
      throw new Error(USAGE);
    } else {
      throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  return flags;
}

/** The log for the terminal: all of it when short, else the header and the last entries. */
export function logExcerpt(text: string, maxEntries = 12): string {
  const [header, ...entries] = text.split(/\n(?=Time: )/);
  if (entries.length <= maxEntries) return text;
  const shown = entries.slice(-maxEntries);
  return `${header}\n... (${entries.length - shown.length} earlier entries) ...\n\n${shown.join("\n")}`;
}

async function main(argv: readonly string[]): Promise<number> {
  let flags: LocalFlags;
  try {
    flags = parseLocalFlags(argv);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const started = Date.now();
  const log = (line: string) => console.log(line);
  log(`npm start: rehearsing the two-account deployment on the moto emulator (${flags.runs} run(s), ${flags.parallel} at once${flags.live ? ", live ISS API" : ""})`);

  let rehearsal: LocalRehearsal;
  try {
    rehearsal = await LocalRehearsal.start({ live: flags.live, verbose: flags.verbose, log });
  } catch (error) {
    console.error(`\nnpm start: the emulator did not start:\n${(error as Error).message}`);
    return 1;
  }

  // Ctrl-C / SIGTERM: stop the emulator and the simulator, remove the emulator's folder.
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: stopping the emulator (${rehearsal.moto.endpoint}) and removing ${rehearsal.workDir}`);
    void rehearsal.stop().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let code = 1;
  try {
    await rehearsal.bootstrap();
    const fn = await rehearsal.deploy();
    log(`  function ${fn.name} (handler ${fn.handler}) runs as ${fn.roleArn}`);
    log(`  it assumes ${fn.environment.ACCESS_ROLE_ARN} (external id required) to append to s3://${fn.bucket}/${fn.key} in ${rehearsal.accountB}`);
    log(`  ISS sources: ${fn.environment.ISS_SOURCES}`);

    const before = countEntries((await rehearsal.readLog())?.toString("utf8") ?? "");
    const results = await rehearsal.phase(`run: ${flags.runs} invocation(s) of the deployed bundle, ${flags.parallel} at once, as the execution role, IAM enforced`,
      () => rehearsal.invoke(flags.runs, flags.parallel));
    results.forEach((r, i) => {
      const s = r.summary;
      log(r.ok && s
        ? `  run ${i + 1}: ${s.path} +${s.bytesAppended} B, ISS at ${s.issTimestamp} from ${s.source}, ${s.attempts} attempt(s), ${r.ms} ms`
        : `  run ${i + 1}: FAILED after ${r.ms} ms: ${r.error}`);
    });
    const text = (await rehearsal.readLog())?.toString("utf8") ?? "";
    const total = countEntries(text);
    const added = total - before;
    const failed = results.filter((r) => !r.ok).length;
    log(`\n--- s3://${fn.bucket}/${fn.key} in account ${rehearsal.accountB} (${Buffer.byteLength(text)} bytes, ${total} entries) ---`);
    log(text.length ? logExcerpt(text).trimEnd() : "(no object)");
    log("---");
    code = added === flags.runs ? 0 : 1;

    if (flags.keep) {
      log([
        "",
        `Kept: the emulator and the deployment are up at ${rehearsal.moto.endpoint} until Ctrl-C. Point the AWS CLI at it:`,
        `  export AWS_ENDPOINT_URL=${rehearsal.moto.endpoint} AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true`,
        `  export AWS_ACCESS_KEY_ID=${rehearsal.adminA.accessKeyId} AWS_SECRET_ACCESS_KEY=${rehearsal.adminA.secretAccessKey}   # admin user in A (${rehearsal.accountA})`,
        `  aws sts get-caller-identity`,
        `  aws lambda get-function-configuration --function-name ${fn.name}`,
        `  aws sts assume-role --role-arn arn:aws:iam::${rehearsal.accountB}:role/terraform --role-session-name me   # into B, as Terraform does`,
        `  (with B's credentials) aws s3 cp s3://${fn.bucket}/${fn.key} -`,
        `Synth output and state: ${rehearsal.workDir} (cdktf commands there need ISS_TRACKER_LOCAL_ENDPOINT=${rehearsal.moto.endpoint} ACCOUNT_B_ID=${rehearsal.accountB}).`,
        `IAM enforcement is off between runs (moto's Lambda API does not work with it on).`,
      ].join("\n"));
    } else {
      await rehearsal.teardown();
    }
    const seconds = (Date.now() - started) / 1000;
    log(`\nSummary: ${added} new entr${added === 1 ? "y" : "ies"} for ${flags.runs} run(s) (${failed} failed), ${total} in the log — ` +
      `${code === 0 ? "OK" : `MISMATCH: expected ${flags.runs}`}.`);
    log(`Total ${seconds.toFixed(1)} s: ${rehearsal.timings.map(([name, s]) => `${name.split(/[:(]/)[0].trim()} ${s.toFixed(1)} s`).join(", ")}`);
    if (flags.keep) {
      await new Promise<never>(() => undefined); // until Ctrl-C (onSignal stops everything)
    }
  } catch (error) {
    console.error(`\nnpm start failed: ${(error as Error).message}`);
    code = 1;
  } finally {
    if (!stopping && !flags.keep) await rehearsal.stop();
    if (!stopping && flags.keep && code !== 0) await rehearsal.stop();
  }
  return code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (error) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  });
}
