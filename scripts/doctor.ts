/**
 * npm run doctor: diagnose a deployed iss-tracker trust chain, read-only.
 *
 *   AWS_PROFILE=account-a ACCOUNT_B_ID=222222222222 npm run doctor
 *   npm run doctor -- --endpoint http://127.0.0.1:PORT     (the emulator left up by npm start -- --keep;
 *                                                            export the admin keys it printed first)
 * Configuration as for synth. Exits non-zero when a check fails.
 */
import { ConfigError, loadConfig } from "../stacks/config";
import { runDoctor } from "./lib/doctor-checks";

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const at = args.indexOf("--endpoint");
  const endpoint = at >= 0 ? args[at + 1] : undefined;
  if (at >= 0 && !endpoint) throw new Error("--endpoint needs a URL, e.g. --endpoint http://127.0.0.1:5000");
  const env = { ...process.env };
  delete env.ISS_TRACKER_LOCAL_ENDPOINT;
  const config = loadConfig({ env });
  const results = await runDoctor({ config, endpoint });
  for (const r of results) {
    console.log(`${r.ok ? "PASS" : "FAIL"}  ${r.title}\n      ${r.detail}${r.fix ? `\n      fix: ${r.fix}` : ""}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  console.log(`\n${results.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (error) => {
  console.error(error instanceof ConfigError ? error.message : `doctor: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
