/**
 * npm run log on the moto emulator: the log read through the function's own chain (A's
 * credentials -> AssumeRole on the access role with the external id -> GetObject), its report
 * (entries, first and last, gaps, age, tail), --max-age as a check, the map, the read-only guard,
 * and, behind the emulator's STS gate (which evaluates the access role's trust policy as AWS
 * does), the refusal a person gets on real AWS and the --profile-b way around it.
 */
import { CreateRoleCommand, GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PNG } from "pngjs";
import { formatEntry, LOG_HEADER, type IssPosition } from "../../../function/core";
import { logLocation, parseLogFlags, runLogCommand, type LogFlags } from "../../../scripts/log/cli";
import type { UsageError } from "../../../scripts/shared/cli";
import { LOG_READ_OPERATIONS, sentLogOperations } from "../../../scripts/log/read";
import { formatSummary, parseDuration, summarize } from "../../../scripts/log/report";
import { startGateway, type Gateway } from "../../../scripts/emulator/gateway";
import { startMoto, type MotoServer } from "../../../scripts/emulator/moto";
import { stsGate } from "../../../scripts/emulator/sts-gate";
import { assumeRole, parsePolicy, type Credentials } from "../../../scripts/shared/aws";
import { sessionOf } from "../../../scripts/shared/iam";
import { loadConfig } from "../../../stacks/config";
import { ACCOUNT_A, deploy, type Deployment } from "../../../test-support/deployed-state";

const B = "222222222222";
const config = loadConfig({ env: { ACCOUNT_B_ID: B } });
const LOG_CLI = resolve(__dirname, "..", "..", "..", "scripts", "log", "cli.ts");
const T0 = Date.UTC(2025, 11, 6, 12, 0, 0) / 1000;
const at = (minutes: number, latitude: number, longitude: number): IssPosition => ({ timestamp: T0 + minutes * 60, latitude, longitude });
// Every 5 minutes, then a 40-minute gap (the tracker was down), then two more.
const ENTRIES = [at(0, -20.5, 100.25), at(5, 0, 130), at(10, 20, 160.5), at(50, 45, -120), at(55, 51.2, -90)];
const LOG = LOG_HEADER + ENTRIES.map(formatEntry).join("");
const flags = (overrides: Partial<LogFlags> = {}): LogFlags => ({ tail: 2, ...overrides });

let moto: MotoServer;
let deployment: Deployment;
let dir: string;
beforeAll(async () => {
  moto = await startMoto();
  deployment = await deploy(moto.endpoint, config, { withLog: LOG, localMode: true });
  dir = mkdtempSync(join(tmpdir(), "iss-log-"));
});
afterAll(async () => {
  await moto?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function run(overrides: Partial<LogFlags> = {}, extra: { credentialsA?: Credentials; credentialsB?: Credentials; endpoint?: string; now?: number } = {}) {
  const lines: string[] = [];
  const result = await runLogCommand({
    config,
    flags: flags({ endpoint: extra.endpoint ?? moto.endpoint, ...overrides }),
    credentialsA: extra.credentialsA ?? deployment.deployer,
    credentialsB: extra.credentialsB,
    now: extra.now ?? T0 + 58 * 60,
    print: (line) => lines.push(line),
  });
  return { ...result, output: lines.join("\n") };
}

describe("npm run log (on the emulator)", () => {
  it("reads the log through the access role with the external id and reports entries, span, gaps, age and the last entries", async () => {
    const { code, entries, output } = await run();
    expect(code).toBe(0);
    expect(entries).toBe(5);
    expect(output).toContain(`s3://${config.bucketName}/iss_position.txt in account ${B}, read through the access role arn:aws:iam::${B}:role/iss-tracker-report-writer (assumed with the function's external id): ${Buffer.byteLength(LOG)} bytes`);
    expect(output.split("\n").slice(1)).toEqual([
      "entries: 5, first 2025-12-06 12:00:00 UTC, last 2025-12-06 12:55:00 UTC",
      "last entry: 3 minutes old",
      "schedule: rate(5 minutes) (every 5 minutes); gaps longer than 10 minutes: 1",
      "  2025-12-06 12:10:00 -> 2025-12-06 12:50:00  40 minutes",
      "last 2 entries (UTC, latitude, longitude):",
      "  2025-12-06 12:50:00    45.0000   -120.0000",
      "  2025-12-06 12:55:00    51.2000    -90.0000",
    ]);
  });

  it("serves as a check: exits 1 when the last entry is older than --max-age, 0 when it is not", async () => {
    const fresh = await run({ maxAgeSeconds: 600 });
    expect(fresh.code).toBe(0);
    expect(fresh.output).toMatch(/^fresh: the last entry is within --max-age 10 minutes$/m);
    const stale = await run({ maxAgeSeconds: 120 });
    expect(stale.code).toBe(1);
    expect(stale.output).toMatch(/^STALE: the last entry is 3 minutes old, more than --max-age 2 minutes$/m);
  });

  it("draws the map of what it read: a PNG whose dots sit at the logged coordinates", async () => {
    const path = join(dir, "track.png");
    const { map, output } = await run({ map: path });
    expect(output).toMatch(new RegExp(`^map: ${path.replace(/[.\\/]/g, "\\$&")} \\(PNG, 1024x\\d+, 5 positions, \\d+ bytes\\)$`, "m"));
    const png = PNG.sync.read(readFileSync(path));
    expect([png.width, png.height]).toEqual([map!.width, map!.height]);
    const top = png.height - png.width / 2;
    const color = (lon: number, lat: number) => {
      const i = (Math.round(top + ((90 - lat) / 180) * (png.width / 2)) * png.width + Math.round(((lon + 180) / 360) * png.width)) * 4;
      return `#${[0, 1, 2].map((k) => png.data[i + k].toString(16).padStart(2, "0")).join("")}`;
    };
    expect(color(130, 0)).toBe("#d62728");
    expect(color(-120, 45)).toBe("#d62728");
    expect(color(-105, -55)).toBe("#d7e7f6");
  });

  it("says there is no log yet, and is stale under --max-age, when the object does not exist", async () => {
    const other = loadConfig({ env: { ACCOUNT_B_ID: B, OBJECT_KEY: "missing.txt" } });
    const lines: string[] = [];
    const result = await runLogCommand({ config: other, flags: flags({ endpoint: moto.endpoint, maxAgeSeconds: 3600 }), credentialsA: deployment.deployer, print: (l) => lines.push(l) });
    expect(lines[0]).toMatch(/: no log yet \(the first run creates it\)$/);
    expect(lines.join("\n")).toMatch(/^STALE: no entry at all, more than --max-age 1 hour$/m);
    expect(result.code).toBe(1);
  });

  it("only reads: every operation it sent is a read, and its clients refuse a write before sending it", async () => {
    sentLogOperations.length = 0;
    await run();
    expect(sentLogOperations).toEqual(["AssumeRoleCommand", "GetObjectCommand"]);
    expect([...LOG_READ_OPERATIONS].sort()).toEqual(["AssumeRoleCommand", "GetCallerIdentityCommand", "GetObjectCommand"]);
    // The guard is the doctor's, with log's smaller list.
    const { guardOperations } = await import("../../../scripts/shared/aws");
    const s3 = guardOperations(new S3Client({ region: "us-east-1", endpoint: moto.endpoint, forcePathStyle: true, credentials: deployment.adminB }), LOG_READ_OPERATIONS, "npm run log", []);
    await expect(s3.send(new PutObjectCommand({ Bucket: config.bucketName, Key: "x", Body: "x" }))).rejects.toThrow("npm run log is read-only: refusing PutObjectCommand");
  });
});

describe("npm run log with several targets (on the emulator)", () => {
  const C = "333333333333";
  const fleet = loadConfig({ env: { TARGETS: `${B},${C}` } });
  const second = fleet.targets[1];
  beforeAll(async () => {
    // The second member account: its access role and bucket, and a log of two entries.
    const sts = new STSClient({ region: "us-east-1", endpoint: moto.endpoint, credentials: deployment.deployer });
    const adminC = await assumeRole(sts, `arn:aws:iam::${C}:role/OrganizationAccountAccessRole`, "setup");
    await new IAMClient({ region: "us-east-1", endpoint: moto.endpoint, credentials: adminC }).send(new CreateRoleCommand({
      RoleName: "iss-tracker-report-writer", AssumeRolePolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: deployment.execArn }, Action: "sts:AssumeRole" }] }),
    }));
    const s3 = new S3Client({ region: "us-east-1", endpoint: moto.endpoint, forcePathStyle: true, credentials: adminC });
    await s3.send(new CreateBucketCommand({ Bucket: second.bucketName }));
    await s3.send(new PutObjectCommand({ Bucket: second.bucketName, Key: second.objectKey, Body: LOG_HEADER + ENTRIES.slice(0, 2).map(formatEntry).join("") }));
  });
  const runFleet = async (overrides: Partial<LogFlags> = {}) => {
    const lines: string[] = [];
    const result = await runLogCommand({
      config: fleet, flags: flags({ endpoint: moto.endpoint, ...overrides }), credentialsA: deployment.deployer, now: T0 + 58 * 60, print: (line) => lines.push(line),
    });
    return { ...result, output: lines.join("\n") };
  };

  it("reads every target's log through its own access role and ends with a table of all; --max-age judges each", async () => {
    const { code, targets, output } = await runFleet({ maxAgeSeconds: 1800 });
    expect(targets.map((t) => [t.target, t.entries, t.status])).toEqual([[B, 5, "fresh"], [C, 2, "stale"]]);
    expect(code).toBe(1);
    expect(output).toContain(`== target ${C} ==\ns3://${second.bucketName}/iss_position.txt in account ${C}, read through the access role arn:aws:iam::${C}:role/iss-tracker-report-writer`);
    const table = output.split("\n").slice(-3);
    expect(table[0]).toMatch(/^target +entries +bytes +last entry +status$/);
    expect(table[1]).toMatch(new RegExp(`^${B} +5 +${Buffer.byteLength(LOG)} +3 min ago +fresh$`));
    expect(table[2]).toMatch(new RegExp(`^${C} +2 +\\d+ +53 min ago +stale$`));
  });

  it("--target reads that account's log alone, without the table", async () => {
    const { code, targets, output } = await runFleet({ target: C });
    expect(code).toBe(0);
    expect(targets.map((t) => t.target)).toEqual([C]);
    expect(output).not.toContain("== target");
    expect(output).not.toMatch(/^target +entries/m);
  });

  it("refuses a --target that is not configured, and --map or --profile-b over several logs, naming the way", async () => {
    await expect(runFleet({ target: "444444444444" })).rejects.toThrow(`--target 444444444444 is not a configured target (ACCOUNT_B_ID or TARGETS lists ${B}, ${C})`);
    await expect(runFleet({ map: join(dir, "all.png") })).rejects.toThrow(`--map reads one log: add --target with one of ${B}, ${C}`);
    await expect(runFleet({ profileB: "b" })).rejects.toThrow(/^--profile-b reads one log/);
  });
});

describe("npm run log behind the emulator's STS gate (the access role's trust policy evaluated, as on AWS)", () => {
  let gateway: Gateway;
  let registerCaller: (key: string, arn: string) => void;
  beforeAll(async () => {
    const gate = stsGate({
      trustPolicyOf: async (roleArn) => {
        const iam = new IAMClient({ region: "us-east-1", endpoint: moto.endpoint, credentials: deployment.adminB });
        return parsePolicy((await iam.send(new GetRoleCommand({ RoleName: roleArn.split("/").pop()! }))).Role?.AssumeRolePolicyDocument);
      },
    });
    registerCaller = gate.registerCaller;
    gate.registerCaller(deployment.deployer.accessKeyId, deployment.deployerArn);
    gateway = await startGateway(moto.endpoint, [gate.gate]);
  });
  afterAll(async () => gateway?.stop());

  it("is refused for a person's credentials (only the execution role may assume the access role) and says to read with B's", async () => {
    const { code, output } = await run({}, { endpoint: gateway.endpoint });
    expect(code).toBe(2);
    expect(output).toContain(`log: cannot read s3://${config.bucketName}/iss_position.txt: AssumeRole arn:aws:iam::${B}:role/iss-tracker-report-writer (external id ${config.externalId}) as arn:aws:iam::${ACCOUNT_A}:user/deployer: AccessDenied`);
    expect(output).toMatch(/\n {2}fix: only the function's execution role may assume the access role .*: --profile-b <profile of B>$/);
  });

  it("reads with B's credentials instead (--profile-b), and says so", async () => {
    const { code, output } = await run({}, { endpoint: gateway.endpoint, credentialsB: deployment.adminB });
    expect(code).toBe(0);
    expect(output).toMatch(/read through account B's credentials: \d+ bytes/);
    expect(output).toMatch(/^entries: 5, /m);
  });

  it("goes through for the execution role's own session: the same chain the function uses", async () => {
    const sts = new STSClient({ region: "us-east-1", endpoint: moto.endpoint, credentials: deployment.deployer });
    const exec = await assumeRole(sts, deployment.execArn, "iss-tracker-function");
    registerCaller(exec.accessKeyId, sessionOf(deployment.execArn, "iss-tracker-function"));
    const { code, output } = await run({}, { endpoint: gateway.endpoint, credentialsA: exec });
    expect(code).toBe(0);
    expect(output).toMatch(/read through the access role .* \(assumed with the function's external id\)/);
  });
});

describe("the report (pure)", () => {
  it("counts gaps over two schedule periods, entries out of order, and a hand-edited line", () => {
    const shuffled = [ENTRIES[0], ENTRIES[2], ENTRIES[1], ENTRIES[3]];
    const summary = summarize(shuffled, { now: T0 + 3600, periodSeconds: 300, tail: 0 });
    expect(summary).toMatchObject({ count: 4, outOfOrder: 1, gapThresholdSeconds: 600 });
    expect(summary.gaps).toEqual([{ from: ENTRIES[1].timestamp, to: ENTRIES[3].timestamp, seconds: 45 * 60 }]);
    const text = formatSummary(summary, { hasHeader: true, unparsed: [{ line: 9, text: "a note" }] }, { schedule: "rate(5 minutes)", periodSeconds: 300 });
    expect(text).toContain("entries not after the one before: 1");
    expect(text).toContain('lines that are not part of an entry: 1\n  line 9: "a note"');
  });

  it("names the access role in the regions' partition (the ARN the stacks derive)", () => {
    const env = { ACCOUNT_B_ID: "222222222222", REGION_A: "us-gov-west-1", REGION_B: "us-gov-west-1" };
    expect(logLocation(loadConfig({ env })).accessRoleArn).toBe("arn:aws-us-gov:iam::222222222222:role/iss-tracker-report-writer");
    expect(logLocation(loadConfig({ env: { ACCOUNT_B_ID: "222222222222" } })).accessRoleArn).toBe("arn:aws:iam::222222222222:role/iss-tracker-report-writer");
  });

  it("reads durations as seconds, minutes, hours or days", () => {
    expect([parseDuration("900"), parseDuration("15m"), parseDuration("2h"), parseDuration("1d")]).toEqual([900, 900, 7200, 86_400]);
    expect(() => parseDuration("soon")).toThrow('"soon" is not a duration');
    expect(() => parseDuration("0")).toThrow();
  });
});

describe("the command line", () => {
  it("parses its flags with util.parseArgs and refuses what it does not know", () => {
    expect(parseLogFlags(["--tail", "3", "--max-age", "15m", "--map", "t.svg", "--endpoint", "http://127.0.0.1:5000", "--profile-b", "b"]))
      .toEqual({ tail: 3, maxAgeSeconds: 900, map: "t.svg", endpoint: "http://127.0.0.1:5000", profileA: undefined, profileB: "b" });
    expect(parseLogFlags([])).toMatchObject({ tail: 10 });
    const refused = (argv: string[]) => {
      try {
        parseLogFlags(argv);
      } catch (error) {
        return error as UsageError;
      }
      throw new Error(`${argv.join(" ")} was accepted`);
    };
    expect(refused(["--help"]).help).toBe(true);
    expect(refused(["--write"]).message).toMatch(/Unknown option '--write'/);
    expect(refused(["--tail", "many"]).message).toMatch(/^--tail needs a whole number from 0 to 1000/);
    expect(refused(["--max-age", "soon"]).message).toMatch(/^--max-age: "soon" is not a duration/);
    expect(refused(["--map", "t.jpg"]).message).toMatch(/^--map t\.jpg: the file must end in \.png or \.svg/);
    expect(refused(["--endpoint", "https://s3.amazonaws.com"]).message).toMatch(/^--endpoint must be a loopback URL/);
  });

  it("runs as `npm run log -- --endpoint`, printing the report and exiting 1 when the log is stale", () => {
    const map = join(dir, "cli.svg");
    const result = spawnSync(process.execPath, ["--import", "tsx", LOG_CLI, "--endpoint", moto.endpoint, "--tail", "1", "--max-age", "1d", "--map", map], {
      encoding: "utf8",
      env: { ...process.env, ACCOUNT_B_ID: B, AWS_ACCESS_KEY_ID: deployment.deployer.accessKeyId, AWS_SECRET_ACCESS_KEY: deployment.deployer.secretAccessKey, AWS_PROFILE: "", AWS_SESSION_TOKEN: "" },
    });
    expect(result.stderr).not.toMatch(/log:/);
    expect(result.stdout).toMatch(/^entries: 5, first 2025-12-06 12:00:00 UTC, last 2025-12-06 12:55:00 UTC$/m);
    expect(result.stdout).toMatch(/^STALE: the last entry is \d+ days? .*old, more than --max-age 1 day$/m);
    expect(readFileSync(map, "utf8")).toMatch(/^<svg /);
    expect(result.status).toBe(1);
  }, 30_000);

  it("prints its usage for --help (exit 0) and for a bad flag (exit 2)", () => {
    const help = spawnSync(process.execPath, ["--import", "tsx", LOG_CLI, "--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run log -- \[--tail N\]/);
    const bad = spawnSync(process.execPath, ["--import", "tsx", LOG_CLI, "--tail", "-1"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/usage: npm run log/);
  }, 30_000);

  it("exits 2 with the configuration's own message when ACCOUNT_B_ID is missing on real AWS", () => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.ACCOUNT_B_ID;
    const result = spawnSync(process.execPath, ["--import", "tsx", LOG_CLI], { encoding: "utf8", env });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/ACCOUNT_B_ID \(cdktf\.json context "accountBId"\): is required/);
  }, 30_000);

  it("takes account B from a named profile (--profile-b), as doctor does", () => {
    const credentials = join(dir, "credentials");
    writeFileSync(credentials, [
      "[account-b]", `aws_access_key_id = ${deployment.adminB.accessKeyId}`, `aws_secret_access_key = ${deployment.adminB.secretAccessKey}`,
      `aws_session_token = ${deployment.adminB.sessionToken}`, "",
    ].join("\n"));
    const env: NodeJS.ProcessEnv = { ...process.env, ACCOUNT_B_ID: B, AWS_SHARED_CREDENTIALS_FILE: credentials, AWS_CONFIG_FILE: join(dir, "config") };
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"]) delete env[name];
    const result = spawnSync(process.execPath, ["--import", "tsx", LOG_CLI, "--endpoint", moto.endpoint, "--profile-b", "account-b", "--tail", "0"], { encoding: "utf8", env });
    expect(result.stderr).not.toMatch(/log:/);
    expect(result.stdout).toMatch(/read through account B's credentials \(profile account-b\): \d+ bytes/);
    expect(result.stdout).toMatch(/^entries: 5, /m);
    expect(result.status).toBe(0);
  }, 30_000);
});
