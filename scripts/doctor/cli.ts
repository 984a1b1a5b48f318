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
 * compares what is deployed with what that configuration would deploy.
 */
import { ConfigError, loadConfig } from "../../stacks/config";
import { ACCOUNT_OPTIONS, accountFlags, parseCommandLine, runCommand, type AccountFlags } from "../shared/cli";
import { formatReport, runDoctor, type DoctorOptions } from "./checks";

export const USAGE = `usage: npm run doctor -- [--endpoint http://127.0.0.1:PORT] [--profile-a NAME] [--profile-b NAME] [--help]

Checks a deployed iss-tracker chain step by step, read-only, and prints PASS/FAIL/WARN with the fix.

  --endpoint URL    the local emulator left up by npm start -- --keep (loopback only)
  --profile-a NAME  account A's profile (default: the SDK's default chain, e.g. AWS_PROFILE)
  --profile-b NAME  read B directly with this profile instead of through the bootstrap role
  --help            this text

Configuration as for synth (ACCOUNT_B_ID, NAME_PREFIX, BUCKET_NAME, OBJECT_KEY, EXTERNAL_ID, ...).
Exit codes: 0 healthy (WARN included), 1 a check failed, 2 usage or configuration error.`;

export type DoctorFlags = AccountFlags;

export function parseDoctorFlags(argv: readonly string[]): DoctorFlags {
  return accountFlags(parseCommandLine(argv, ACCOUNT_OPTIONS, USAGE), USAGE);
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseDoctorFlags(argv);
  const env: Record<string, string | undefined> = { ...process.env, ISS_TRACKER_LOCAL_ENDPOINT: undefined };
  if (args.endpoint && !env.ACCOUNT_B_ID) env.ACCOUNT_B_ID = "222222222222";
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
  console.log(`doctor: ${args.endpoint ? `emulator ${args.endpoint}` : "AWS"}, B=${config.accountBId}, prefix ${config.namePrefix}, bucket ${config.bucketName}, key ${config.objectKey} (read-only)\n`);
  const results = await runDoctor(options);
  console.log(formatReport(results));
  return results.some((r) => r.status === "fail") ? 1 : 0;
}

if (require.main === module) {
  runCommand(process.argv.slice(2), main).then((code) => process.exit(code), (error) => {
    console.error(error instanceof ConfigError ? error.message : `doctor: ${error instanceof Error ? error.message : error}`);
    process.exit(2);
  });
}
