/**
 * npm start: the whole two-account deployment rehearsed on the local moto emulator.
 *
 *   npm start -- [--runs N] [--parallel P] [--keep] [--live] [--verbose]
 *
 * --runs N      invocations of the function (default 3)
 * --parallel P  how many run at once (default 1)
 * --keep        leave the emulator and the deployment up (Ctrl-C to stop) and print how to use them
 * --live        fetch the real ISS position instead of the local orbit simulator
 * --verbose     stream cdktf/terraform output
 * Exits non-zero when the number of new entries differs from N.
 */
import { countEntries, Rehearsal } from "./lib/rehearsal";

interface Flags { runs: number; parallel: number; keep: boolean; live: boolean; verbose: boolean }

export function parseFlags(argv: string[]): Flags {
  const flags: Flags = { runs: 3, parallel: 1, keep: false, live: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const count = (name: "runs" | "parallel") => {
      const value = argv[++i];
      if (!/^\d+$/.test(value ?? "") || Number(value) < 1) throw new Error(`--${name} needs a whole number of at least 1, got ${JSON.stringify(value)}`);
      flags[name] = Number(value);
    };
    if (arg === "--runs") count("runs");
    else if (arg === "--parallel") count("parallel");
    else if (arg === "--keep") flags.keep = true;
    else if (arg === "--live") flags.live = true;
    else if (arg === "--verbose") flags.verbose = true;
    else throw new Error(`unknown flag ${arg}; use --runs N, --parallel P, --keep, --live, --verbose`);
  }
  return flags;
}

function excerpt(text: string, maxLines = 40): string {
  const lines = text.split("\n");
  if (lines.length <= maxLines) return text;
  return [...lines.slice(0, 6), `... (${lines.length - 6 - (maxLines - 6)} lines) ...`, ...lines.slice(-(maxLines - 6))].join("\n");
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  const started = Date.now();
  const log = (line: string) => console.log(line);
  const rehearsal = await Rehearsal.start({ live: flags.live, verbose: flags.verbose, log });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the emulator`);
    await rehearsal.stop();
    process.exit(130);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
  try {
    await rehearsal.bootstrap();
    const fn = await rehearsal.deploy();
    log(`  function ${fn.name} runs as ${fn.roleArn}; writes s3://${fn.bucket}/${fn.key} in ${rehearsal.accountB} via ${fn.environment.ACCESS_ROLE_ARN}`);
    const before = countEntries((await rehearsal.readLog())?.toString("utf8") ?? "");
    const results = await rehearsal.phase(`run the function ${flags.runs}× (${flags.parallel} at once, IAM enforced)`,
      () => rehearsal.invoke(flags.runs, flags.parallel));
    for (const [i, r] of results.entries()) {
      const s = r.summary ?? {};
      log(r.ok
        ? `  run ${i + 1}: ${s.path} +${s.bytesAppended} B, ISS ${s.issTimestamp} from ${s.source}, ${s.attempts} attempt(s), ${r.ms} ms`
        : `  run ${i + 1}: FAILED in ${r.ms} ms: ${r.error}`);
    }
    const text = (await rehearsal.readLog())?.toString("utf8") ?? "";
    const added = countEntries(text) - before;
    console.log(`\n--- s3://${fn.bucket}/${fn.key} (account ${rehearsal.accountB}) ---\n${excerpt(text)}---`);
    const failed = results.filter((r) => !r.ok).length;
    if (flags.keep) {
      console.log([
        "",
        `The emulator and the deployment are up at ${rehearsal.moto.endpoint} (Ctrl-C stops them). For example:`,
        `  export AWS_ENDPOINT_URL=${rehearsal.moto.endpoint} AWS_REGION=us-east-1`,
        `  export AWS_ACCESS_KEY_ID=${rehearsal.adminA.accessKeyId} AWS_SECRET_ACCESS_KEY=${rehearsal.adminA.secretAccessKey}   # admin in A`,
        `  aws lambda get-function-configuration --function-name ${fn.name}`,
        `  aws sts assume-role --role-arn arn:aws:iam::${rehearsal.accountB}:role/terraform --role-session-name me   # into B`,
        `Terraform state and synth output: ${rehearsal.workDir}`,
      ].join("\n"));
    } else {
      await rehearsal.teardown();
    }
    const total = (Date.now() - started) / 1000;
    console.log(`\nSummary: ${added} new entr${added === 1 ? "y" : "ies"} for ${flags.runs} run(s), ${failed} failed; ` +
      `${countEntries(text)} in the log. Total ${total.toFixed(1)} s (` +
      rehearsal.timings.map(([name, s]) => `${name.split(":")[0]} ${s.toFixed(1)} s`).join(", ") + ")");
    if (flags.keep) await new Promise(() => undefined); // until Ctrl-C
    return added === flags.runs && failed === 0 ? 0 : 1;
  } catch (error) {
    console.error(`\nnpm start failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    if (!flags.keep && !stopping) await rehearsal.stop();
  }
}

if (require.main === module) {
  main().then((code) => process.exit(code), (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
