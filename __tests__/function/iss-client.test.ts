import { MockAgent } from "undici";
import { fetchIssPosition, IssUnavailableError, type IssClientOptions } from "../../function/iss-client";
import { ISS_FAULTS, startIssSimulator, type IssSimulator } from "../../scripts/emulator/iss-simulator";

const OPEN_NOTIFY = "http://api.open-notify.org/iss-now.json";
const WHERE = "https://api.wheretheiss.at/v1/satellites/25544";
const SOURCES = [OPEN_NOTIFY, WHERE];
const openNotifyBody = JSON.stringify({ message: "success", timestamp: 1765041585, iss_position: { latitude: "-50.5587", longitude: "122.1887" } });
const whereBody = JSON.stringify({ name: "iss", id: 25544, latitude: 12.25, longitude: -33.5, timestamp: 1765041590 });

let agent: MockAgent;
let sleeps: number[];
/** The function's clock in these tests: the second open-notify's fixed answer was computed. */
const CLOCK_MS = 1765041585_000;
function options(extra: Partial<IssClientOptions> = {}): IssClientOptions {
  return { sources: SOURCES, dispatcher: agent, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, now: () => CLOCK_MS, ...extra };
}
const openNotify = () => agent.get("http://api.open-notify.org").intercept({ path: "/iss-now.json", method: "GET" });
const where = () => agent.get("https://api.wheretheiss.at").intercept({ path: "/v1/satellites/25544", method: "GET" });

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

describe("fetchIssPosition with MockAgent", () => {
  it("returns open-notify's position on the first try", async () => {
    openNotify().reply(200, openNotifyBody);
    await expect(fetchIssPosition(options())).resolves.toEqual({
      position: { timestamp: 1765041585, latitude: -50.5587, longitude: 122.1887 },
      source: OPEN_NOTIFY,
      sourceIndex: 0,
      attempts: 1,
    });
    expect(sleeps).toEqual([]);
  });

  it("retries a 500 on the same source after a jittered backoff", async () => {
    openNotify().reply(500, "oops");
    openNotify().reply(200, openNotifyBody);
    const fix = await fetchIssPosition(options());
    expect(fix).toMatchObject({ source: OPEN_NOTIFY, attempts: 2 });
    expect(sleeps).toEqual([125]); // random 0.5 x base 250 ms
  });

  it("fails over to wheretheiss.at (numbers) when open-notify keeps answering 500", async () => {
    openNotify().reply(500, "oops").times(2);
    where().reply(200, whereBody);
    const fix = await fetchIssPosition(options());
    expect(fix).toEqual({ position: { timestamp: 1765041590, latitude: 12.25, longitude: -33.5 }, source: WHERE, sourceIndex: 1, attempts: 3 });
  });

  it.each([
    ["an HTML page", "<html><body>Service Unavailable</body></html>", /response is not JSON/],
    ["garbage", "\u0000garbage", /response is not JSON/],
    ["an out-of-range latitude", JSON.stringify({ message: "success", timestamp: 1, iss_position: { latitude: "91", longitude: "0" } }), /latitude out of range/],
    ["a failure message", JSON.stringify({ message: "failure" }), /not "success"/],
  ])("does not retry %s on the same source and fails over", async (_name, body, reason) => {
    openNotify().reply(200, body);
    where().reply(200, whereBody);
    const fix = await fetchIssPosition(options());
    expect(fix).toMatchObject({ source: WHERE, attempts: 2 });
    expect(sleeps).toEqual([]);
    // The failure is kept for the error message if the fallback fails too:
    openNotify().reply(200, body);
    where().reply(404, "not found");
    const error = await fetchIssPosition(options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IssUnavailableError);
    expect((error as Error).message).toMatch(reason);
  });

  it("fails with every source's reason, saying the object was not touched, when all sources fail", async () => {
    openNotify().reply(503, "down").times(2);
    where().reply(200, JSON.stringify({ latitude: 1, longitude: 500, timestamp: 1 }));
    const error = (await fetchIssPosition(options()).catch((e: unknown) => e)) as IssUnavailableError;
    expect(error).toBeInstanceOf(IssUnavailableError);
    expect(error.failures).toEqual([
      { source: OPEN_NOTIFY, attempt: 1, reason: "HTTP 503" },
      { source: OPEN_NOTIFY, attempt: 2, reason: "HTTP 503" },
      { source: WHERE, attempt: 1, reason: expect.stringMatching(/longitude out of range/) },
    ]);
    expect(error.message).toMatch(/^no ISS source gave a valid position; the object was not touched\. \[http:\/\/api\.open-notify\.org/);
  });

  it("times out an attempt that gets no answer, retries, then fails over", async () => {
    useFakeClock();
    openNotify().reply(200, openNotifyBody).delay(60_000).times(2);
    where().reply(200, whereBody);
    const pending = fetchIssPosition(options({ attemptTimeoutMs: 1000 }));
    await jest.advanceTimersByTimeAsync(2100);
    const fix = await pending;
    expect(fix).toMatchObject({ source: WHERE, attempts: 3 });
  });

  it("reports a timeout as such when every source hangs", async () => {
    useFakeClock();
    openNotify().reply(200, openNotifyBody).delay(60_000).times(2);
    where().reply(200, whereBody).delay(60_000).times(2);
    const pending = fetchIssPosition(options({ attemptTimeoutMs: 1000 })).catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(4100);
    const error = (await pending) as IssUnavailableError;
    expect(error.failures.map((f) => f.reason)).toEqual(Array(4).fill("timed out after 1000 ms"));
  });

  it("refuses a body larger than the cap", async () => {
    openNotify().reply(200, "x".repeat(70_000));
    where().reply(200, whereBody);
    const fix = await fetchIssPosition(options());
    expect(fix.source).toBe(WHERE);
  });

  it("retries a connection error", async () => {
    openNotify().replyWithError(new Error("ECONNRESET"));
    openNotify().reply(200, openNotifyBody);
    await expect(fetchIssPosition(options())).resolves.toMatchObject({ source: OPEN_NOTIFY, attempts: 2 });
  });

  it("stops before an attempt that would eat into the time kept for S3", async () => {
    openNotify().reply(500, "oops").persist();
    let remaining = 12_000;
    const error = await fetchIssPosition(
      options({ deadline: { remainingMs: () => remaining }, reserveMs: 8000, sleep: async () => void (remaining -= 3700) }),
    ).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^out of time before an ISS source gave a valid position.*HTTP 500/);
  });

  it("shortens the attempt to the time left before the reserve", async () => {
    useFakeClock();
    openNotify().reply(200, openNotifyBody).delay(60_000);
    where().reply(200, whereBody);
    const pending = fetchIssPosition(options({ sources: [OPEN_NOTIFY], attemptsPerSource: 1, deadline: { remainingMs: () => 8600 }, reserveMs: 8000 })).catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(700);
    expect(((await pending) as Error).message).toMatch(/timed out after 600 ms/);
  });

  it.each([
    ["a frozen source (10 minutes old)", 1765041585 - 600, /^stale fix: timestamp 1765040985 \(2025-12-06 17:09:45 UTC\) is 600 s behind the function's clock/],
    ["1970", 1, /^stale fix: timestamp 1 /],
    ["a day ahead", 1765041585 + 86_400, /^fix from the future: .* 86400 s ahead/],
  ])("refuses %s and fails over without retrying it (issue 8 #3)", async (_name, timestamp, reason) => {
    openNotify().reply(200, JSON.stringify({ message: "success", timestamp, iss_position: { latitude: "1.0", longitude: "2.0" } }));
    where().reply(200, whereBody);
    const fix = await fetchIssPosition(options());
    expect(fix).toMatchObject({ source: WHERE, attempts: 2 });
    openNotify().reply(200, JSON.stringify({ message: "success", timestamp, iss_position: { latitude: "1.0", longitude: "2.0" } }));
    const error = (await fetchIssPosition(options({ sources: [OPEN_NOTIFY] })).catch((e: unknown) => e)) as IssUnavailableError;
    expect(error.failures).toEqual([{ source: OPEN_NOTIFY, attempt: 1, reason: expect.stringMatching(reason) }]);
  });

  it("resumes after the sources already tried, refusing fixes far older than the log's newest entry, keeping earlier failures", async () => {
    where().reply(200, whereBody);
    const earlier = [{ source: OPEN_NOTIFY, attempt: 1, reason: "fix older than the log's newest entry" }];
    const error = (await fetchIssPosition(options({ fromSource: 1, newestEntry: 1765041590 + 301, failures: earlier })).catch((e: unknown) => e)) as IssUnavailableError;
    expect(error.failures).toEqual([...earlier, { source: WHERE, attempt: 1, reason: expect.stringMatching(/^fix .* is 301 s older than the log's newest entry/) }]);
    where().reply(200, whereBody);
    await expect(fetchIssPosition(options({ fromSource: 1, newestEntry: 1765041590 + 300 }))).resolves.toMatchObject({ source: WHERE, sourceIndex: 1, attempts: 1 });
  });

  it("refuses a body whose declared length is above the cap without reading it", async () => {
    openNotify().reply(200, "x".repeat(70_000), { headers: { "content-length": "70000" } });
    const error = (await fetchIssPosition(options({ sources: [OPEN_NOTIFY] })).catch((e: unknown) => e)) as IssUnavailableError;
    expect(error.failures[0].reason).toBe("response body of 70000 bytes, larger than 65536");
  });
});

describe("fetchIssPosition over real sockets (undici's real Agent) against the ISS simulator", () => {
  let iss: IssSimulator;
  beforeAll(async () => {
    iss = await startIssSimulator();
  });
  afterAll(() => iss.stop());
  const real = (sources: string[], extra: Partial<IssClientOptions> = {}) => fetchIssPosition({ sources, sleep: async () => undefined, ...extra });

  it("fetches and parses a position in either shape", async () => {
    await expect(real([iss.url])).resolves.toMatchObject({ source: iss.url, attempts: 1 });
    await expect(real([iss.whereUrl])).resolves.toMatchObject({ source: iss.whereUrl, attempts: 1 });
  });

  // The undici Agent errors a destroyed body; without a listener that was an uncaught exception
  // that killed the process (issue 8 #1). Here it would fail the test run.
  it.each(ISS_FAULTS.filter((f) => f !== "hang" && f !== "stall"))("%s: a clean reason, then the next source", async (fault) => {
    const fix = await real([iss.faultUrl(fault), iss.url]);
    expect(fix).toMatchObject({ source: iss.url, sourceIndex: 1 });
  });

  it("gives up on a server that accepts but never answers, within the headers timeout", async () => {
    const started = Date.now();
    const error = (await real([iss.faultUrl("hang")], { attemptsPerSource: 1, headersTimeoutMs: 150, attemptTimeoutMs: 5000 }).catch((e: unknown) => e)) as IssUnavailableError;
    expect(error).toBeInstanceOf(IssUnavailableError);
    expect(error.failures[0].reason).toMatch(/Headers Timeout/i);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it("gives up on a body that stalls after the headers, within the body timeout", async () => {
    const error = (await real([iss.faultUrl("stall")], { attemptsPerSource: 1, bodyTimeoutMs: 150 }).catch((e: unknown) => e)) as IssUnavailableError;
    expect(error.failures[0].reason).toMatch(/Body Timeout/i);
  });

  it("retries a refused connection, then fails over", async () => {
    const refused = await iss.refusedUrl();
    await expect(real([refused, iss.url])).resolves.toMatchObject({ source: iss.url, attempts: 3 });
  });
});
