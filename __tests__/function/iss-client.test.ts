import { MockAgent } from "undici";
import { fetchFromSource, type IssClientOptions, type SourceAnswer } from "../../function/iss-client";
import { ISS_FAULTS, startIssSimulator, type IssFault, type IssSimulator } from "../../scripts/emulator/iss-simulator";

const OPEN_NOTIFY = "http://api.open-notify.org/iss-now.json";
const WHERE = "https://api.wheretheiss.at/v1/satellites/25544";
const openNotifyBody = JSON.stringify({ message: "success", timestamp: 1765041585, iss_position: { latitude: "-50.5587", longitude: "122.1887" } });
const whereBody = JSON.stringify({ name: "iss", id: 25544, latitude: 12.25, longitude: -33.5, timestamp: 1765041590 });

let agent: MockAgent;
let sleeps: number[];
function options(extra: Partial<IssClientOptions> = {}): IssClientOptions {
  return { dispatcher: agent, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, ...extra };
}
const openNotify = () => agent.get("http://api.open-notify.org").intercept({ path: "/iss-now.json", method: "GET" });
const where = () => agent.get("https://api.wheretheiss.at").intercept({ path: "/v1/satellites/25544", method: "GET" });
/** Faults that answer slowly (their own tests), and well-formed answers with a timestamp the tracker refuses. */
const TIMING: readonly IssFault[] = ["hang", "stall"];
const VALID_BUT_OLD: readonly IssFault[] = ["frozen", "epoch", "day-old", "future"];
const reasons = (answer: SourceAnswer) => (answer.ok ? [] : answer.failures.map((f) => f.reason));

/** Fake timers, but not the microtask/nextTick queues undici's mock dispatch runs on. */
const useFakeClock = () => jest.useFakeTimers({ doNotFake: ["nextTick", "setImmediate", "queueMicrotask"] });

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  sleeps = [];
});
afterEach(async () => {
  jest.useRealTimers();
  await agent.close();
});

describe("fetchFromSource with MockAgent", () => {
  it("returns open-notify's position (string coordinates) on the first try", async () => {
    openNotify().reply(200, openNotifyBody);
    await expect(fetchFromSource(OPEN_NOTIFY, options())).resolves.toEqual({ ok: true, position: { timestamp: 1765041585, latitude: -50.5587, longitude: 122.1887 }, attempts: 1 });
    expect(sleeps).toEqual([]);
  });

  it("returns wheretheiss.at's position (numbers)", async () => {
    where().reply(200, whereBody);
    await expect(fetchFromSource(WHERE, options())).resolves.toEqual({ ok: true, position: { timestamp: 1765041590, latitude: 12.25, longitude: -33.5 }, attempts: 1 });
  });

  it("retries a 500 on the same source after a jittered backoff", async () => {
    openNotify().reply(500, "oops");
    openNotify().reply(200, openNotifyBody);
    await expect(fetchFromSource(OPEN_NOTIFY, options())).resolves.toMatchObject({ ok: true, attempts: 2 });
    expect(sleeps).toEqual([125]); // random 0.5 x base 250 ms
  });

  it("gives up on the source after its attempts, with each attempt's reason", async () => {
    openNotify().reply(503, "down").times(2);
    await expect(fetchFromSource(OPEN_NOTIFY, options())).resolves.toEqual({
      ok: false, attempts: 2, outOfTime: false,
      failures: [{ source: OPEN_NOTIFY, attempt: 1, reason: "HTTP 503" }, { source: OPEN_NOTIFY, attempt: 2, reason: "HTTP 503" }],
    });
  });

  it.each([
    ["an HTML page", "<html><body>Service Unavailable</body></html>", /response is not JSON/],
    ["garbage", "\u0000garbage", /response is not JSON/],
    ["an out-of-range latitude", JSON.stringify({ message: "success", timestamp: 1, iss_position: { latitude: "91", longitude: "0" } }), /latitude out of range/],
    ["a failure message", JSON.stringify({ message: "failure" }), /not "success"/],
  ])("does not retry %s: one clean reason", async (_name, body, reason) => {
    openNotify().reply(200, body);
    const answer = await fetchFromSource(OPEN_NOTIFY, options());
    expect(answer).toMatchObject({ ok: false, attempts: 1 });
    expect(reasons(answer)).toEqual([expect.stringMatching(reason)]);
    expect(sleeps).toEqual([]);
  });

  it.each([[404, "HTTP 404"], [301, "HTTP 301 (redirect to https://elsewhere/, not followed)"]])("does not retry an HTTP %s", async (status, reason) => {
    openNotify().reply(status, "", { headers: { location: "https://elsewhere/" } });
    expect(reasons(await fetchFromSource(OPEN_NOTIFY, options()))).toEqual([reason]);
  });

  it("times out an attempt that gets no answer, and retries it", async () => {
    useFakeClock();
    openNotify().reply(200, openNotifyBody).delay(60_000);
    openNotify().reply(200, openNotifyBody);
    const pending = fetchFromSource(OPEN_NOTIFY, options({ attemptTimeoutMs: 1000 }));
    await jest.advanceTimersByTimeAsync(1100);
    await expect(pending).resolves.toMatchObject({ ok: true, attempts: 2 });
  });

  it("refuses a body larger than the cap, whether it says so or not", async () => {
    openNotify().reply(200, "x".repeat(70_000));
    expect(reasons(await fetchFromSource(OPEN_NOTIFY, options()))).toEqual(["response body larger than 65536 bytes"]);
    openNotify().reply(200, "x".repeat(70_000), { headers: { "content-length": "70000" } });
    expect(reasons(await fetchFromSource(OPEN_NOTIFY, options()))).toEqual(["response body of 70000 bytes, larger than 65536"]);
  });

  it("retries a connection error", async () => {
    openNotify().replyWithError(new Error("ECONNRESET"));
    openNotify().reply(200, openNotifyBody);
    await expect(fetchFromSource(OPEN_NOTIFY, options())).resolves.toMatchObject({ ok: true, attempts: 2 });
  });

  it("stops before an attempt that would eat into the time kept for S3, and says so", async () => {
    openNotify().reply(500, "oops").persist();
    let remaining = 12_000;
    const answer = await fetchFromSource(OPEN_NOTIFY, options({ deadline: { remainingMs: () => remaining }, reserveMs: 8000, sleep: async () => void (remaining -= 3700) }));
    expect(answer).toEqual({ ok: false, attempts: 1, outOfTime: true, failures: [{ source: OPEN_NOTIFY, attempt: 1, reason: "HTTP 500" }] });
  });

  it("shortens the attempt to the time left before the reserve", async () => {
    useFakeClock();
    openNotify().reply(200, openNotifyBody).delay(60_000);
    const pending = fetchFromSource(OPEN_NOTIFY, options({ attemptsPerSource: 1, deadline: { remainingMs: () => 8600 }, reserveMs: 8000 }));
    await jest.advanceTimersByTimeAsync(700);
    expect(reasons(await pending)).toEqual(["timed out after 600 ms"]);
  });
});

describe("fetchFromSource over real sockets (undici's real Agent) against the ISS simulator", () => {
  let iss: IssSimulator;
  beforeAll(async () => {
    iss = await startIssSimulator();
  });
  afterAll(() => iss.stop());
  const real = (source: string, extra: Partial<IssClientOptions> = {}) => fetchFromSource(source, { sleep: async () => undefined, ...extra });

  it("fetches and parses a position in either shape", async () => {
    await expect(real(iss.url)).resolves.toMatchObject({ ok: true, attempts: 1 });
    await expect(real(iss.whereUrl)).resolves.toMatchObject({ ok: true, attempts: 1 });
  });

  // undici's real Agent errors a destroyed body; without a listener that is an uncaught exception
  // that kills the process: here it would fail the test run.
  it.each(ISS_FAULTS.filter((f) => !TIMING.includes(f) && !VALID_BUT_OLD.includes(f)))("%s: a clean reason, no crash", async (fault) => {
    const answer = await real(iss.faultUrl(fault));
    expect(answer.ok).toBe(false);
    expect(reasons(answer).length).toBeGreaterThanOrEqual(1);
  });

  it.each(VALID_BUT_OLD)("%s: a valid answer (whether it is fresh is the tracker's decision)", async (fault) => {
    await expect(real(iss.faultUrl(fault))).resolves.toMatchObject({ ok: true });
  });

  it("gives up on a server that accepts but never answers, within the headers timeout", async () => {
    const started = Date.now();
    const answer = await real(iss.faultUrl("hang"), { attemptsPerSource: 1, headersTimeoutMs: 150, attemptTimeoutMs: 5000 });
    expect(reasons(answer)).toEqual([expect.stringMatching(/Headers Timeout/i)]);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it("gives up on a body that stalls after the headers, within the body timeout", async () => {
    expect(reasons(await real(iss.faultUrl("stall"), { attemptsPerSource: 1, bodyTimeoutMs: 150 }))).toEqual([expect.stringMatching(/Body Timeout/i)]);
  });

  it("retries a refused connection", async () => {
    const answer = await real(await iss.refusedUrl());
    expect(answer).toMatchObject({ ok: false, attempts: 2 });
    expect(reasons(answer)).toEqual([expect.stringMatching(/ECONNREFUSED/), expect.stringMatching(/ECONNREFUSED/)]);
  });
});
