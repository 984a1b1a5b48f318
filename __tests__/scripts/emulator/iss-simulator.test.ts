/**
 * The ISS stand-in itself, over its real socket: the default answer the rehearsal relies on, and
 * each fault mode answering exactly the bad answer it names.
 */
import { request } from "node:http";
import { freshnessProblem, parseIssResponse } from "../../../function/core";
import { AHEAD_S, BEHIND_S, ISS_FAULTS, simulatedPosition, startIssSimulator, type IssSimulator } from "../../../scripts/emulator/iss-simulator";

let iss: IssSimulator;
beforeAll(async () => {
  iss = await startIssSimulator();
});
afterAll(() => iss.stop());

interface Answer {
  status?: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** "answered", or what happened instead within `waitMs`. */
  outcome: "answered" | "no headers" | "body stalled" | "refused";
}

/** GET with a short patience: tells a hang (no headers) and a stall (headers, then silence) apart. */
function get(url: string, waitMs = 300): Promise<Answer> {
  return new Promise((resolveAnswer) => {
    const answer: Answer = { headers: {}, body: "", outcome: "no headers" };
    const req = request(url, (res) => {
      answer.status = res.statusCode;
      answer.headers = res.headers;
      answer.outcome = "body stalled";
      res.on("data", (c: Buffer) => (answer.body += c.toString()));
      res.on("end", () => {
        answer.outcome = "answered";
        clearTimeout(timer);
        resolveAnswer(answer);
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolveAnswer(answer);
    }, waitMs);
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNREFUSED") answer.outcome = "refused";
      clearTimeout(timer);
      resolveAnswer(answer);
    });
    req.end();
  });
}

describe("startIssSimulator: the default answer (what npm start uses)", () => {
  it("answers like open-notify, with a fresh timestamp and the simulated position", async () => {
    const answer = await get(iss.url);
    expect(answer).toMatchObject({ status: 200, outcome: "answered", headers: { "content-type": "application/json" } });
    const fix = parseIssResponse(answer.body);
    expect(freshnessProblem(fix, Date.now())).toBeUndefined();
    const { latitude, longitude } = simulatedPosition(fix.timestamp);
    expect(fix.latitude).toBeCloseTo(latitude, 4);
    expect(fix.longitude).toBeCloseTo(longitude, 4);
  });

  it("answers like wheretheiss.at on whereUrl", async () => {
    const body = JSON.parse((await get(iss.whereUrl)).body);
    expect(body).toMatchObject({ id: 25544, latitude: expect.any(Number), longitude: expect.any(Number), timestamp: expect.any(Number) });
  });

  it("never gives the same second twice; in a burst of 150, all but the last ~30 are fresh for the function", async () => {
    const now = Math.floor(Date.now() / 1000);
    const stamps = await Promise.all(Array.from({ length: 150 }, async () => parseIssResponse((await get(iss.url, 5000)).body).timestamp));
    expect(new Set(stamps).size).toBe(150);
    const within = stamps.filter((t) => t >= now - BEHIND_S && t <= now + AHEAD_S + 1);
    expect(within.length).toBeGreaterThanOrEqual(AHEAD_S + BEHIND_S - 2); // what the earlier tests left
    const fresh = stamps.filter((t) => freshnessProblem({ timestamp: t, latitude: 0, longitude: 0 }, Date.now()) === undefined);
    expect(fresh.length).toBeGreaterThanOrEqual(AHEAD_S + BEHIND_S - 2);
  });

  it("counts the good answers it served", () => {
    expect(iss.served()).toBeGreaterThanOrEqual(152);
  });
});

describe("fault modes", () => {
  it.each([
    ["non-json", { status: 200, outcome: "answered" }, (b: string) => expect(() => JSON.parse(b)).toThrow()],
    ["html", { status: 200, outcome: "answered", headers: expect.objectContaining({ "content-type": "text/html" }) }, (b: string) => expect(b).toMatch(/^<html>/)],
    ["out-of-range", { status: 200, outcome: "answered" }, (b: string) => expect(() => parseIssResponse(b)).toThrow(/latitude out of range/)],
    ["wrong-types", { status: 200, outcome: "answered" }, (b: string) => expect(() => parseIssResponse(b)).toThrow(/timestamp is not an integer/)],
    ["failure-message", { status: 200, outcome: "answered" }, (b: string) => expect(JSON.parse(b)).toEqual({ message: "failure" })],
    ["empty", { status: 200, outcome: "answered" }, (b: string) => expect(b).toBe("")],
    ["status-404", { status: 404, outcome: "answered" }, () => undefined],
    ["status-429", { status: 429, outcome: "answered" }, () => undefined],
    ["status-500", { status: 500, outcome: "answered" }, () => undefined],
    ["status-503", { status: 503, outcome: "answered" }, () => undefined],
    ["redirect", { status: 302, outcome: "answered" }, () => undefined],
    ["oversized", { status: 200, outcome: "answered", headers: expect.not.objectContaining({ "content-length": expect.anything() }) }, (b: string) => expect(b.length).toBeGreaterThan(1024 * 1024)],
    ["hang", { outcome: "no headers" }, (b: string) => expect(b).toBe("")],
    ["stall", { status: 200, outcome: "body stalled" }, (b: string) => expect(b.length).toBeLessThan(200)],
  ] as const)("%s", async (fault, expected, checkBody) => {
    const answer = await get(iss.faultUrl(fault), fault === "oversized" ? 5000 : 300);
    expect(answer).toMatchObject(expected);
    checkBody(answer.body);
  });

  it("redirects to the good answer (which a client must not follow)", async () => {
    expect((await get(iss.faultUrl("redirect"))).headers.location).toBe(iss.url);
  });

  it.each([
    ["frozen", /stale fix/],
    ["epoch", /stale fix: timestamp 1 /],
    ["day-old", /stale fix: .* 8640\d s behind/],
    ["future", /fix from the future: .* 8640\d s ahead/],
  ] as const)("%s: a well-formed answer the function's freshness check refuses", async (fault, problem) => {
    const fix = parseIssResponse((await get(iss.faultUrl(fault))).body);
    expect(freshnessProblem(fix, Date.now())).toMatch(problem);
  });

  it("answers 'frozen' with the same timestamp every time", async () => {
    const [a, b] = await Promise.all([get(iss.faultUrl("frozen")), get(iss.faultUrl("frozen"))]);
    expect(parseIssResponse(a.body).timestamp).toBe(parseIssResponse(b.body).timestamp);
  });

  it("gives a URL that refuses connections", async () => {
    expect((await get(await iss.refusedUrl())).outcome).toBe("refused");
  });

  it("counts the requests per fault, and answers an unknown one 404", async () => {
    expect(ISS_FAULTS.every((f) => iss.requests(f) >= 1)).toBe(true);
    expect((await get(iss.url.replace("/iss-now.json", "/fault/nope/iss-now.json"))).status).toBe(404);
  });
});
