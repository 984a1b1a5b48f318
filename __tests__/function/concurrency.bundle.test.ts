/**
 * 20 concurrent runs of the shipped bundle (buildFunctionBundle's index.js, each run a fresh Node
 * process through the emulator's Lambda stand-in) on one log, against moto through
 * the local AWS's gateway with the S3 conformance gate, so the races are answered as S3 answers them
 * (412 on a stale If-Match or copy-source-if-match). On a small log (read-modify-write) and on a
 * 5.5 MiB log (multipart append, MULTIPART_THRESHOLD_BYTES = 5 MiB): every run succeeds, every
 * entry lands exactly once, the bytes that were there stay as they were, no multipart upload is
 * left behind. Straight on moto the same multipart runs all "succeed" and lose entries: see
 * __tests__/scripts/emulator/s3-gate.test.ts and `scripts/bench/append.ts`.
 */
import { AppendRace, FUNCTION_TIMEOUT_MS, MiB, STORE_FAULTS, THRESHOLD_BYTES } from "../../scripts/bench/append-race";

const RUNS = 20;
/**
 * Each run's deadline here: twice the deployed function's 30 s. What this pins is that no run fails
 * and no entry is lost or doubled; the time it takes is the benchmark's (`npm run bench:append`,
 * 30 s deadline, quiet machine: 20 of 20 on both paths, docs/benchmarks.md). The 20 multipart writers need
 * ~18 s of CPU from one single-threaded moto, the gateway and 20 Node processes; inside `npm test`
 * the two cores are already saturated by the other suites and the end-to-end run's Terraform, and a
 * loaded fresh-clone run once had 2 of 20 give up at 30 s, cleanly, with their entries unwritten.
 * Real S3 serves the writers in parallel.
 */
const TEST_DEADLINE_MS = 2 * FUNCTION_TIMEOUT_MS;
/**
 * Under the store's faults, a third more attempts (stale reads read again, throttled calls backed off,
 * lost answers read back) on the same single moto: each run's deadline here is three times the
 * function's 30 s. What this pins is the same: every run succeeds, every entry lands once. The
 * bench (`npm run bench:append -- --faults`) measures it with the function's own deadline.
 */
const FAULTS_DEADLINE_MS = 3 * FUNCTION_TIMEOUT_MS;
let race: AppendRace;

beforeAll(async () => {
  race = await AppendRace.start();
}, 60_000);

afterAll(async () => {
  await race?.stop();
});

describe.each([
  ["a small log (read-modify-write)", 2 * 1024, "read-modify-write"],
  ["a 5.5 MiB log (multipart append)", 5.5 * MiB, "multipart-append"],
] as const)(`${RUNS} concurrent runs of the shipped bundle through the S3 gate, on %s`, (_, logBytes, path) => {
  it(`all ${RUNS} succeed; ${RUNS} entries land, none twice; the original bytes intact; no upload left`, async () => {
    expect(logBytes >= THRESHOLD_BYTES).toBe(path === "multipart-append");
    const result = await race.run({ runs: RUNS, logBytes, timeoutMs: TEST_DEADLINE_MS });
    // The failures first, with their messages: the most useful line when this breaks.
    expect(result.outcomes.filter((o) => !o.ok).map((o) => o.error)).toEqual([]);
    expect(result.succeeded).toBe(RUNS);
    expect(result.outcomes.map((o) => o.path)).toEqual(Array(RUNS).fill(path));
    expect(result).toMatchObject({ landed: RUNS, lost: 0, duplicated: 0, unexpected: 0, prefixIntact: true, leftoverUploads: 0 });
    // The runs did race: some lost a conditional write (412) and went again.
    expect(Math.max(...result.outcomes.map((o) => o.attempts ?? 0))).toBeGreaterThan(1);
  }, 180_000);
});

describe.each([
  ["a small log (PutObject If-Match)", 2 * 1024, "read-modify-write"],
  ["a 5.5 MiB log (CompleteMultipartUpload If-Match)", 5.5 * MiB, "multipart-append"],
] as const)("S3's 409 ConditionalRequestConflict (which moto never answers) on %s", (_, logBytes, path) => {
  it("is retried by the shipped bundle: the run succeeds and its entry lands once, nothing else changes", async () => {
    const injectedBefore = race.faults.stats().conflicts.injected;
    race.faults.injectConflicts(2);
    const result = await race.run({ runs: 1, logBytes });
    expect(race.faults.stats().conflicts.injected - injectedBefore).toBe(2); // both 409s were answered
    expect(result.outcomes.map((o) => o.error)).toEqual([undefined]);
    expect(result.outcomes[0]).toMatchObject({ ok: true, path, attempts: 3 });
    expect(result).toMatchObject({ landed: 1, lost: 0, duplicated: 0, unexpected: 0, prefixIntact: true, leftoverUploads: 0 });
  }, 60_000);
});

describe.each([
  ["a small log (read-modify-write)", 2 * 1024, "read-modify-write"],
  ["a 5.5 MiB log (multipart append)", 5.5 * MiB, "multipart-append"],
] as const)(`${RUNS} concurrent runs of the shipped bundle under S3's faults (stale ranged reads, 503 SlowDown, answers lost after committed writes), on %s`, (_, logBytes, path) => {
  it(`all ${RUNS} succeed; ${RUNS} entries land, none twice, the earlier bytes intact: every fault was met and survived`, async () => {
    const result = await race.run({ runs: RUNS, logBytes, timeoutMs: FAULTS_DEADLINE_MS, faults: STORE_FAULTS });
    expect(result.outcomes.filter((o) => !o.ok).map((o) => o.error)).toEqual([]);
    expect(result).toMatchObject({ succeeded: RUNS, landed: RUNS, lost: 0, duplicated: 0, unexpected: 0, prefixIntact: true, leftoverUploads: 0 });
    // The runs met each fault (a lost answer means the retry found the entry already there: a duplicate outcome, landed once).
    expect(result.faults.slowDown.injected).toBeGreaterThan(0);
    expect(result.faults.lostResponses.injected).toBeGreaterThan(0);
    if (path === "read-modify-write") expect(result.faults.inconsistentReads.injected).toBeGreaterThan(0);
    expect(result.outcomes.every((o) => o.path === path || o.path === "duplicate")).toBe(true);
  }, 360_000);
});
