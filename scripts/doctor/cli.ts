/**
 * npm run doctor: diagnoses a deployed iss-tracker trust chain, step by step and read-only, and
 * prints PASS/FAIL with the concrete fix for each pitfall; then its day-two state (on-failure
 * destination, queues, alert topic, alarms), with WARN where nothing is broken but a person should
 * look (an alarm without data, nobody subscribed). Exits 1 when a check fails, 0 otherwise.
 *
 *   ACCOUNT_B_ID=222222222222 AWS_PROFILE=account-a npm run doctor
 *   npm run doctor -- --profile-a account-a --profile-b account-b     (B read directly, not via the bootstrap role)
 *   npm run doctor -- --endpoint http://127.0.0.1:PORT                (the emulator left up by npm start -- --keep;
 *                                                                      export the keys it printed; ACCOUNT_B_ID
 *                                                                      defaults to 222222222222 there)
 * Configuration as for synth (NAME_PREFIX, BUCKET_NAME, OBJECT_KEY, EXTERNAL_ID, ...): doctor
 * compares what is deployed with what that configuration would deploy. With several targets
 * (TARGETS) it checks each (or the one --target names) and ends with a table of all.
 */
import { ConfigError, loadConfig } from "../../stacks/config";
import { ACCOUNT_OPTIONS, accountFlags, parseCommandLine, runCommand, selectTargets, TARGET_OPTION, usageError, type AccountFlags } from "../shared/cli";
import { formatReport, formatTargetTable, runDoctor, type CheckResult, type DoctorOptions } from "./checks";

export const USAGE = `usage: npm run doctor -- [--target ACCOUNT] [--endpoint http://127.0.0.1:PORT] [--profile-a NAME] [--profile-b NAME] [--help]

Checks a deployed iss-tracker chain step by step, read-only, and prints PASS/FAIL/WARN with the fix.

  --target ACCOUNT  check only that account B's chain (default: every target, then a table of all)
  --endpoint URL    the local emulator left up by npm start -- --keep (loopback only)
  --profile-a NAME  account A's profile (default: the SDK's default chain, e.g. AWS_PROFILE)
  --profile-b NAME  read B directly with this profile instead of through the bootstrap role (one target)
  --help            this text

Configuration as for synth (ACCOUNT_B_ID or TARGETS, NAME_PREFIX, BUCKET_NAME, OBJECT_KEY, EXTERNAL_ID, ...).
Exit codes: 0 healthy (WARN included), 1 a check failed, 2 usage or configuration error.`;

export interface DoctorFlags extends AccountFlags {
  /** The one account B to check (default: every target). */
  readonly target?: string;
}

export function parseDoctorFlags(argv: readonly string[]): DoctorFlags {
  const values = parseCommandLine(argv, { ...TARGET_OPTION, ...ACCOUNT_OPTIONS }, USAGE);
  return { target: values.target, ...accountFlags(values, USAGE) };
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseDoctorFlags(argv);
  const env: Record<string, string | undefined> = { ...process.env, ISS_TRACKER_LOCAL_ENDPOINT: undefined };
  if (args.endpoint && !env.ACCOUNT_B_ID && !env.TARGETS) env.ACCOUNT_B_ID = "222222222222";
  const config = loadConfig({ env });
  const options: DoctorOptions = {
    config,
    endpoint: args.endpoint,
    profileA: args.profileA,
    profileB: args.profileB,
    // The emulator accepts any keys while IAM enforcement is off.
    ...(args.endpoint && !process.env.AWS_ACCESS_KEY_ID && !args.profileA && !process.env.AWS_PROFILE
      ? { credentialsA: { accessKeyId: "doctor", secretAccessKey: "doctor" } } : {}),
  };
  const targets = selectTargets(config, args.target, USAGE);
  if (targets.length > 1 && args.profileB) throw usageError(`--profile-b is one account's: add --target with one of ${targets.map((t) => t.accountId).join(", ")}`, USAGE);
  const reports: Array<{ target: string; results: CheckResult[] }> = [];
  for (const target of targets) {
    console.log(`${reports.length ? "\n" : ""}doctor: ${args.endpoint ? `emulator ${args.endpoint}` : "AWS"}, B=${target.accountId}, prefix ${config.namePrefix}, ` +
      `bucket ${target.bucketName}, key ${target.objectKey} (read-only)\n`);
    const results = await runDoctor({ ...options, targetIndex: config.targets.indexOf(target) });
    console.log(formatReport(results));
    reports.push({ target: target.accountId, results });
  }
  if (reports.length > 1) console.log(`\n${formatTargetTable(reports)}`);
  return reports.some(({ results }) => results.some((r) => r.status === "fail")) ? 1 : 0;
}

if (require.main === module) {
  runCommand(process.argv.slice(2), main).then((code) => process.exit(code), (error) => {
    console.error(error instanceof ConfigError ? error.message : `doctor: ${error instanceof Error ? error.message : error}`);
    process.exit(2);
  });
}
