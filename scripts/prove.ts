/**
 * npm run prove: evaluates the synthesized IAM policies with a real IAM policy evaluator and prints
 * what is allowed and what is denied. Exits non-zero when any expectation fails.
 * Configuration as for synth (ACCOUNT_B_ID etc.; defaults to 222222222222 and A = 111111111111).
 */
import { prove } from "./lib/prove-model";

async function main(): Promise<number> {
  const { model, rows } = await prove(process.env);
  console.log(`Access model of ${model.config.namePrefix}: A=${model.accountA}, B=${model.config.accountBId}, ` +
    `object ${model.objectArn}, external id ${model.config.externalId}`);
  console.log("Evaluator: @cloud-copilot/iam-simulate (identity + resource policies, cross-account rules)\n");
  const width = Math.max(...rows.map((r) => r.description.length));
  console.log(`${"expectation".padEnd(width)}  expected  decision          result`);
  for (const r of rows) {
    console.log(`${r.description.padEnd(width)}  ${r.expected.padEnd(8)}  ${r.decision.padEnd(16)}  ${r.ok ? "ok" : "WRONG"}`);
  }
  const wrong = rows.filter((r) => !r.ok);
  console.log(`\n${rows.length - wrong.length} passed, ${wrong.length} failed`);
  return wrong.length === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
