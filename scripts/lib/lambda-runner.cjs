// Runs a bundled Lambda handler the way the Lambda runtime would, in this fresh Node process
// (a cold start): node lambda-runner.cjs <index.js> <count> <parallel> <results.json>
// The function's configuration and credentials come in the environment. Writes one result per
// invocation: { ok, summary | error, ms }.
"use strict";
const { randomUUID } = require("node:crypto");
const { writeFileSync } = require("node:fs");

async function main() {
  const [entry, countArg, parallelArg, resultsFile] = process.argv.slice(2);
  const count = Number(countArg);
  const parallel = Math.max(1, Math.min(Number(parallelArg), count));
  const { handler } = require(entry);
  const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME;
  const results = [];
  let next = 0;
  async function worker() {
    while (next < count) {
      next++;
      const started = Date.now();
      const deadline = started + 30000;
      const context = { awsRequestId: randomUUID(), functionName, getRemainingTimeInMillis: () => deadline - Date.now() };
      const event = { "detail-type": "Scheduled Event", source: "aws.events", time: new Date().toISOString() };
      try {
        results.push({ ok: true, summary: await handler(event, context), ms: Date.now() - started });
      } catch (error) {
        results.push({ ok: false, error: error instanceof Error ? error.message : String(error), ms: Date.now() - started });
      }
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker));
  writeFileSync(resultsFile, JSON.stringify(results));
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
