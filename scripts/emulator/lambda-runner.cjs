// Runs a bundled Lambda handler the way the Lambda runtime would, in this fresh Node process (a
// cold start): node lambda-runner.cjs <job.json>. The process environment is the function's
// (configuration and credentials), set by the rehearsal. The job names the entry file, the
// export, the events, how many run at once and the function's timeout (the deadline the
// context's getRemainingTimeInMillis counts down to). Writes one result per event, in order:
// { ok, summary | error, ms, maxRssKiB } (the process's peak memory when the run ended, what
// Lambda reports as Max Memory Used).
"use strict";
const { randomUUID } = require("node:crypto");
const { readFileSync, writeFileSync } = require("node:fs");

async function main() {
  const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
  const handler = require(job.entry)[job.exportName];
  if (typeof handler !== "function") throw new Error(`${job.entry} has no export ${job.exportName}`);
  const results = new Array(job.events.length);
  let next = 0;
  async function worker() {
    while (next < job.events.length) {
      const i = next++;
      const started = Date.now();
      const deadline = started + job.timeoutMs;
      const context = { awsRequestId: randomUUID(), functionName: job.functionName, getRemainingTimeInMillis: () => deadline - Date.now() };
      try {
        results[i] = { ok: true, summary: await handler(job.events[i], context), ms: Date.now() - started, maxRssKiB: process.resourceUsage().maxRSS };
      } catch (error) {
        results[i] = { ok: false, error: error instanceof Error ? error.message : String(error), ms: Date.now() - started, maxRssKiB: process.resourceUsage().maxRSS };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(job.parallel, job.events.length)) }, worker));
  writeFileSync(job.resultsFile, JSON.stringify(results));
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
