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
import { formatReport, runDoctor, type DoctorOptions } from "./checks";

const USAGE = "usage: npm run doctor -- [--endpoint http://127.0.0.1:PORT] [--profile-a NAME] [--profile-b NAME]";

export function parseArgs(argv: readonly string[]): { endpoint?: string; profileA?: string; profileB?: string } {
  const out: { endpoint?: string; profileA?: string; profileB?: string } = {};
  const keys: Record<string, keyof typeof out> = { "--endpoint": "endpoint", "--profile-a": "profileA", "--profile-b": "profileB" };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const key = keys[flag];
    if (!key) throw new Error(`unknown argument ${argv[i]}\n${USAGE}`);
    const value = inline ?? argv[++i];
    if (!value || value.startsWith("--")) throw new Error(`${flag} needs a value\n${USAGE}`);
    out[key] = value;
  }
  if (out.endpoint !== undefined && !/^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\/?$/.test(out.endpoint)) {
    throw new Error(`--endpoint must be a loopback URL (the local emulator), got ${out.endpoint}`);
  }
  return out;
}

async function main(): Promise<number> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const args = parseArgs(process.argv.slice(2));
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
  main().then((code) => process.exit(code), (error) => {
    console.error(error instanceof ConfigError ? error.message : `doctor: ${error instanceof Error ? error.message : error}`);
    process.exit(2);
  });
}
