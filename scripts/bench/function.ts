/**
 * Benchmark of the tracker function (run: npx tsx scripts/bench/function.ts [--runs N]).
 *
 * 1. Artifact: the deployed zip from buildFunctionBundle (goal <= 200 KB).
 * 2. Module load: require() of the deployed index.js versus a naive bundle (S3 + STS clients +
 *    undici, esbuild's defaults + minify, built side by side in a temp dir), alternating, each run
 *    in a fresh node process; medians (goal <= 60 % of the naive one).
 * 3. Per append against moto, for a 1 KB and a 64 MiB object: the bundled handler runs in a fresh
 *    node process (as a cold start) through a byte-counting TCP proxy in front of moto. Reported:
 *    object bytes through the function (bodies), all bytes on the wire (HTTP headers, STS and
 *    XML included) and peak RSS; the baseline is the naive way (GET whole, append, PUT whole),
 *    run the same way. Goal: <= 4 KB through the function and flat memory for both sizes.
 */
import { execFile } from "node:child_process";
import { buildSync } from "esbuild";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildFunctionBundle, BUNDLE_OPTIONS, LAMBDA_HANDLER } from "../../function/build";
import { formatEntry, LOG_HEADER } from "../../function/core";
import { startIssSimulator } from "../emulator/iss-simulator";
import { unpackFunction } from "../emulator/lambda-runtime";
import { startMoto } from "../emulator/moto";

const ROOT = resolve(__dirname, "..", "..");
const RUNS = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 9;
const APPEND_RUNS = 3;
const KB = 1024;
const MiB = 1024 * 1024;

const fmt = (n: number, unit = "") => `${n.toLocaleString("en-US", { maximumFractionDigits: 1 })}${unit}`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (a: number, b: number) => `${fmt((100 * a) / b)} %`;

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((res, rej) =>
    execFile(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, maxBuffer: 16 * MiB, timeout: 120_000 }, (error, stdout, stderr) =>
      error ? rej(new Error(`${error.message}\n${stderr}`)) : res(stdout),
    ),
  );
}

/** The last JSON line a child printed on stdout. */
function lastJson<T>(stdout: string): T {
  const line = stdout.trim().split("\n").reverse().find((l) => l.startsWith("{\"bench\""));
  if (!line) throw new Error(`no result line in:\n${stdout}`);
  return JSON.parse(line) as T;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "iss-bench-"));
  try {
    // 1. Artifact
    const bundle = buildFunctionBundle(join(dir, "deployed"));
    const indexJs = unpackFunction(readFileSync(bundle.zipPath), join(dir, "unpacked"), LAMBDA_HANDLER).entry;

    // The naive bundle: the same three dependencies, esbuild defaults + minify.
    const naiveEntry = join(dir, "naive-entry.js");
    writeFileSync(
      naiveEntry,
      `const { S3Client, GetObjectCommand, PutObjectCommand } = require("@aws-sdk/client-s3");
const { STSClient, AssumeRoleCommand } = require("@aws-sdk/client-sts");
const { request } = require("undici");
exports.handler = async () => [S3Client, GetObjectCommand, PutObjectCommand, STSClient, AssumeRoleCommand, request];
`,
    );
    const naive = buildSync({
      entryPoints: [naiveEntry],
      absWorkingDir: dir,
      nodePaths: [join(ROOT, "node_modules")],
      bundle: true,
      platform: "node",
      target: "node22",
      format: "cjs",
      minify: true,
      outfile: join(dir, "naive.js"),
      logLevel: "silent",
    });
    void naive;
    const naiveBytes = readFileSync(join(dir, "naive.js")).length;
    const naiveZip = (await import("../../function/build")).deterministicZip([{ name: "index.js", data: readFileSync(join(dir, "naive.js")) }]).length;

    console.log("Artifact (buildFunctionBundle)");
    console.log(`  zip            ${fmt(bundle.zipBytes / KB, " KB")}   (goal <= 200 KB)  ${bundle.zipBytes <= 200 * KB ? "OK" : "MISSED"}`);
    console.log(`  index.js       ${fmt(bundle.codeBytes / KB, " KB")}`);
    console.log(`  naive bundle   ${fmt(naiveZip / KB, " KB")} zipped, ${fmt(naiveBytes / KB, " KB")} index.js   -> ours is ${pct(bundle.zipBytes, naiveZip)} of it`);
    console.log(`  esbuild        target ${BUNDLE_OPTIONS.target}, mainFields ${JSON.stringify(BUNDLE_OPTIONS.mainFields)}`);

    // 2. Module load, alternating, fresh processes.
    const probe = (file: string) =>
      run(["-e", `const t=process.hrtime.bigint();require(${JSON.stringify(file)});const ms=Number(process.hrtime.bigint()-t)/1e6;console.log(JSON.stringify({bench:1,ms}))`]).then(
        (out) => lastJson<{ ms: number }>(out).ms,
      );
    await probe(indexJs);
    await probe(join(dir, "naive.js")); // warm the file cache for both
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      ours.push(await probe(indexJs));
      theirs.push(await probe(join(dir, "naive.js")));
    }
    const loadRatio = median(ours) / median(theirs);
    console.log(`\nModule load (require, fresh node ${process.version} process, median of ${RUNS})`);
    console.log(`  deployed       ${fmt(median(ours), " ms")}   (min ${fmt(Math.min(...ours), " ms")}, max ${fmt(Math.max(...ours), " ms")})`);
    console.log(`  naive          ${fmt(median(theirs), " ms")}   (min ${fmt(Math.min(...theirs), " ms")}, max ${fmt(Math.max(...theirs), " ms")})`);
    console.log(`  ratio          ${pct(median(ours), median(theirs))}   (goal <= 60 %)  ${loadRatio <= 0.6 ? "OK" : "MISSED"}`);

    // 3. Per append against moto.
    const moto = await startMoto();
    const motoPort = moto.port;
    let wire = { up: 0, down: 0 };
    const proxy = createServer((client) => {
      const upstream = connect(motoPort, "127.0.0.1");
      client.on("data", (d: Buffer) => void (wire.up += d.length));
      upstream.on("data", (d: Buffer) => void (wire.down += d.length));
      client.pipe(upstream).pipe(client);
      const end = () => (client.destroy(), upstream.destroy());
      client.on("error", end).on("close", end);
      upstream.on("error", end).on("close", end);
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    // The project's ISS stand-in: every request a new, current second (the function refuses stale fixes).
    const iss = await startIssSimulator();
    const role = "arn:aws:iam::111111111111:role/iss-tracker-access";
    const bucket = "iss-bench-reports";
    const env = {
      AWS_ENDPOINT_URL: proxyUrl,
      AWS_ACCESS_KEY_ID: "AKIAEXEC",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_SESSION_TOKEN: "token",
      AWS_REGION: "us-east-1",
      ACCESS_ROLE_ARN: role,
      EXTERNAL_ID: "bench-ext-id",
      BUCKET_NAME: bucket,
      BUCKET_REGION: "us-east-1",
      ISS_SOURCES: iss.url,
    };
    // Account B's credentials, to seed the objects directly in moto.
    const { S3Client, CreateBucketCommand, PutObjectCommand } = await import("@aws-sdk/client-s3");
    const { STSClient, AssumeRoleCommand } = await import("@aws-sdk/client-sts");
    const dummy = { accessKeyId: "a", secretAccessKey: "b" };
    const assumed = (await new STSClient({ endpoint: moto.endpoint, region: "us-east-1", credentials: dummy }).send(new AssumeRoleCommand({ RoleArn: role, RoleSessionName: "bench" })))
      .Credentials!;
    const s3 = new S3Client({
      endpoint: moto.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: assumed.AccessKeyId!, secretAccessKey: assumed.SecretAccessKey!, sessionToken: assumed.SessionToken },
    });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const seed = async (key: string, size: number) => {
      const entry = formatEntry({ timestamp: 1_700_000_000, latitude: 1, longitude: 2 });
      let text = LOG_HEADER + entry.repeat(Math.ceil(size / entry.length));
      text = text.slice(0, size - entry.length) + entry;
      const body = Buffer.from(text.slice(0, size));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }));
      return body.length;
    };

    // The baseline: the naive algorithm (whole GET, append, whole PUT) with the same SDK.
    const baselineJs = join(dir, "baseline.js");
    writeFileSync(
      baselineJs,
      `let peak=0;const sample=()=>{const m=process.memoryUsage();peak=Math.max(peak,m.heapUsed+m.external)};sample();const timer=setInterval(sample,2);
const { S3Client, GetObjectCommand, PutObjectCommand } = require(${JSON.stringify(require.resolve("@aws-sdk/client-s3"))});
const { STSClient, AssumeRoleCommand } = require(${JSON.stringify(require.resolve("@aws-sdk/client-sts"))});
(async () => {
  const e = process.env;
  const c = (await new STSClient({}).send(new AssumeRoleCommand({ RoleArn: e.ACCESS_ROLE_ARN, RoleSessionName: "baseline", ExternalId: e.EXTERNAL_ID }))).Credentials;
  const s3 = new S3Client({ region: e.BUCKET_REGION, credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken } });
  const got = await s3.send(new GetObjectCommand({ Bucket: e.BUCKET_NAME, Key: e.OBJECT_KEY }));
  const content = await got.Body.transformToString("utf-8");
  const body = content + "Time: 2025-12-06 17:19:45\\nLatitude: 1.0000\\nLongitude: 2.0000\\n\\n";
  await s3.send(new PutObjectCommand({ Bucket: e.BUCKET_NAME, Key: e.OBJECT_KEY, Body: body }));
  const b = Buffer.byteLength(content), w = Buffer.byteLength(body);
  sample(); clearInterval(timer);
  console.log(JSON.stringify({ bench: 1, bytesRead: b, bytesWritten: w, path: "naive", maxRssKiB: process.resourceUsage().maxRSS, heapKiB: Math.round(peak / 1024) }));
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    /** Samples heap used + external (Buffers) every 2 ms while the run is in flight: its peak. */
    const SAMPLER = `let peak=0;const sample=()=>{const m=process.memoryUsage();peak=Math.max(peak,m.heapUsed+m.external)};sample();const timer=setInterval(sample,2);`;
    const REPORT = `sample();clearInterval(timer);console.log(JSON.stringify({ bench: 1, ...s, maxRssKiB: process.resourceUsage().maxRSS, heapKiB: Math.round(peak / 1024) }))`;
    const ourRunner = `${SAMPLER}require(${JSON.stringify(indexJs)}).handler({}, { awsRequestId: "bench", functionName: "iss-tracker-function", getRemainingTimeInMillis: () => 60000 })
  .then((s) => { ${REPORT} }, (e) => { console.error(e); process.exit(1); });`;
    interface Row {
      bytesRead: number;
      bytesWritten: number;
      path: string;
      maxRssKiB: number;
      heapKiB: number;
      wire: number;
    }
    const measureOnce = async (args: string[], key: string): Promise<Row> => {
      wire = { up: 0, down: 0 };
      const out = lastJson<Omit<Row, "wire">>(await run(args, { ...env, OBJECT_KEY: key }));
      await new Promise((r) => setTimeout(r, 50)); // let the proxy count the last bytes
      return { ...out, wire: wire.up + wire.down };
    };
    /** Median peak RSS and heap of APPEND_RUNS runs (RSS is noisy); bytes of the last run. */
    const measure = async (args: string[], key: string, size: number): Promise<Row> => {
      const rows: Row[] = [];
      for (let i = 0; i < APPEND_RUNS; i++) {
        await seed(key, size); // the same object every run
        rows.push(await measureOnce(args, key));
      }
      return { ...rows.at(-1)!, maxRssKiB: median(rows.map((r) => r.maxRssKiB)), heapKiB: median(rows.map((r) => r.heapKiB)) };
    };
    console.log(`\nPer append against moto (fresh node process per run, bundled handler; wire = all HTTP bytes incl. STS;`);
    console.log(`memory: median of ${APPEND_RUNS} runs of the process's peak RSS, and of the peak of JS heap + Buffers sampled every 2 ms)`);
    console.log("  object    way        path               object bytes through fn   wire bytes     peak RSS    peak heap+buffers");
    const results: Record<string, { ours: Row; base: Row }> = {};
    for (const [label, size] of [["1 KB", KB], ["6 MiB", 6 * MiB], ["64 MiB", 64 * MiB]] as const) {
      const key = `bench-${label.replace(" ", "")}.txt`;
      const oursRow = await measure(["-e", ourRunner], key, size);
      const baseRow = await measure([baselineJs], key, size);
      results[label] = { ours: oursRow, base: baseRow };
      for (const [way, row] of [["ours", oursRow], ["naive", baseRow]] as const) {
        console.log(
          `  ${label.padEnd(8)}  ${way.padEnd(9)}  ${row.path.padEnd(17)}  ${fmt(row.bytesRead + row.bytesWritten).padStart(14)} B        ${fmt(row.wire).padStart(12)} B   ${fmt(row.maxRssKiB / 1024, " MiB").padStart(9)}   ${fmt(row.heapKiB / 1024, " MiB").padStart(9)}`,
        );
      }
    }
    const small = results["1 KB"];
    const big = results["64 MiB"];
    const through = (r: Row) => r.bytesRead + r.bytesWritten;
    console.log("\nSummary");
    console.log(
      `  through the function: ${fmt(through(small.ours))} B (1 KB), ${fmt(through(big.ours))} B (64 MiB)   (goal <= 4096 B)  ${through(small.ours) <= 4096 && through(big.ours) <= 4096 ? "OK" : "MISSED"}`,
    );
    console.log(`  vs the naive way at 64 MiB: ${fmt(through(big.base))} B -> ratio ${(through(big.ours) / through(big.base)).toExponential(2)} (${fmt(through(big.base) / through(big.ours))}x less)`);
    console.log(
      `  peak RSS: ${fmt(small.ours.maxRssKiB / 1024, " MiB")} (1 KB) vs ${fmt(big.ours.maxRssKiB / 1024, " MiB")} (64 MiB): ${pct(big.ours.maxRssKiB - small.ours.maxRssKiB, small.ours.maxRssKiB)} growth` +
        `; naive: ${fmt(small.base.maxRssKiB / 1024, " MiB")} -> ${fmt(big.base.maxRssKiB / 1024, " MiB")} (ratio ours/naive at 64 MiB ${pct(big.ours.maxRssKiB, big.base.maxRssKiB)})`,
    );
    console.log(
      `  peak JS heap + Buffers: ${fmt(small.ours.heapKiB / 1024, " MiB")} (1 KB) vs ${fmt(big.ours.heapKiB / 1024, " MiB")} (64 MiB); ` +
        `naive: ${fmt(small.base.heapKiB / 1024, " MiB")} -> ${fmt(big.base.heapKiB / 1024, " MiB")} (ratio ours/naive at 64 MiB ${pct(big.ours.heapKiB, big.base.heapKiB)})`,
    );
    console.log(`  module load: ${pct(median(ours), median(theirs))} of the naive bundle; artifact ${fmt(bundle.zipBytes / KB, " KB")} zipped`);

    await iss.stop();
    proxy.close();
    await moto.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
