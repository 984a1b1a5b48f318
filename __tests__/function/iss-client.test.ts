import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { MockAgent } from "undici";
import { fetchIssPosition, IssUnavailableError, type IssClientOptions } from "../../function/iss-client";

const OPEN_NOTIFY = "http://api.open-notify.org/iss-now.json";
const WHERE = "https://api.wheretheiss.at/v1/satellites/25544";
const SOURCES = [OPEN_NOTIFY, WHERE];
const openNotifyBody = JSON.stringify({ message: "success", timestamp: 1765041585, iss_position: { latitude: "-50.5587", longitude: "122.1887" } });
const whereBody = JSON.stringify({ name: "iss", id: 25544, latitude: 12.25, longitude: -33.5, timestamp: 1765041590 });

let agent: MockAgent;
let sleeps: number[];
function options(extra: Partial<IssClientOptions> = {}): IssClientOptions {
  return { sources: SOURCES, dispatcher: agent, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, ...extra };
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
    expect(fix).toEqual({ position: { timestamp: 1765041590, latitude: 12.25, longitude: -33.5 }, source: WHERE, attempts: 3 });
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
});

describe("fetchIssPosition over real sockets (the bundled undici Agent)", () => {
  let server: Server;
  let base: string;
  let behaviour: "ok" | "hang" = "ok";
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (behaviour === "hang") return; // never answers
      res.writeHead(200, { "content-type": "application/json" }).end(req.url === "/where" ? whereBody : openNotifyBody);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("fetches and parses a position from a live HTTP server", async () => {
    behaviour = "ok";
    await expect(fetchIssPosition({ sources: [`${base}/iss-now.json`] })).resolves.toMatchObject({ position: { timestamp: 1765041585 }, attempts: 1 });
  });

  it("gives up on a server that accepts but never answers, within the headers timeout", async () => {
    behaviour = "hang";
    const started = Date.now();
    const error = (await fetchIssPosition({ sources: [`${base}/iss-now.json`], attemptsPerSource: 1, headersTimeoutMs: 150, attemptTimeoutMs: 5000 }).catch(
      (e: unknown) => e,
    )) as IssUnavailableError;
    expect(error).toBeInstanceOf(IssUnavailableError);
    expect(error.failures[0].reason).toMatch(/Headers Timeout/i);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
