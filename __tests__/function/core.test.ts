import {
  entryTimes,
  formatCoordinate,
  formatEntry,
  formatUtc,
  freshnessProblem,
  HEAD_BYTES,
  InvalidIssResponseError,
  deliveryIdOf,
  isDuplicate,
  isLogHead,
  LOG_HEADER,
  MAX_BEHIND_LOG_S,
  MAX_FIX_AGE_S,
  MAX_FIX_AHEAD_S,
  newestEntry,
  orderProblem,
  MAX_DELIVERIES,
  parseDeliveries,
  parseIssResponse,
  parseUtc,
  planAppend,
  rewriteProblem,
  watermarkOf,
  textToAppend,
  withDelivery,
} from "../../function/core";

const openNotify = (over: Record<string, unknown> = {}, position: Record<string, unknown> = {}) =>
  JSON.stringify({ message: "success", timestamp: 1765041585, iss_position: { latitude: "-50.5587", longitude: "122.1887", ...position }, ...over });

describe("parseIssResponse: open-notify", () => {
  it("normalises string coordinates to numbers", () => {
    expect(parseIssResponse(openNotify())).toEqual({ timestamp: 1765041585, latitude: -50.5587, longitude: 122.1887 });
  });
  it("accepts the exact bounds of latitude and longitude", () => {
    expect(parseIssResponse(openNotify({}, { latitude: "-90", longitude: "180" }))).toMatchObject({ latitude: -90, longitude: 180 });
    expect(parseIssResponse(openNotify({}, { latitude: "90.0000", longitude: "-180.0" }))).toMatchObject({ latitude: 90, longitude: -180 });
  });
  it.each([
    ["message other than success", openNotify({ message: "failure" }), /not "success"/],
    ["missing message", JSON.stringify({ timestamp: 1, iss_position: { latitude: "1", longitude: "1" } }), /not "success"/],
    ["fractional timestamp", openNotify({ timestamp: 1765041585.5 }), /timestamp is not an integer/],
    ["string timestamp", openNotify({ timestamp: "1765041585" }), /timestamp is not an integer/],
    ["negative timestamp", openNotify({ timestamp: -5 }), /timestamp out of range/],
    ["latitude above 90", openNotify({}, { latitude: "90.0001" }), /latitude out of range/],
    ["longitude below -180", openNotify({}, { longitude: "-180.5" }), /longitude out of range/],
    ["numeric string coordinate required", openNotify({}, { latitude: 12.5 }), /latitude is not a decimal string/],
    ["non-decimal coordinate", openNotify({}, { longitude: "12e3" }), /longitude is not a decimal string/],
    ["NaN coordinate", openNotify({}, { latitude: "NaN" }), /latitude is not a decimal string/],
    ["missing iss_position", JSON.stringify({ message: "success", timestamp: 1 }), /iss_position is missing/],
  ])("rejects %s", (_name, body, message) => {
    expect(() => parseIssResponse(body)).toThrow(InvalidIssResponseError);
    expect(() => parseIssResponse(body)).toThrow(message);
  });
});

describe("parseIssResponse: wheretheiss.at", () => {
  const where = (over: Record<string, unknown> = {}) =>
    JSON.stringify({ name: "iss", id: 25544, latitude: 50.11496269845, longitude: 118.07900427317, altitude: 408.05, velocity: 27635.97, visibility: "daylight", timestamp: 1765041585, units: "kilometers", ...over });
  it("reads numeric latitude, longitude and timestamp", () => {
    expect(parseIssResponse(where())).toEqual({ timestamp: 1765041585, latitude: 50.11496269845, longitude: 118.07900427317 });
  });
  it.each([
    ["string latitude", where({ latitude: "50.1" }), /latitude is not a number/],
    ["latitude below -90", where({ latitude: -90.01 }), /latitude out of range/],
    ["longitude above 180", where({ longitude: 180.0001 }), /longitude out of range/],
    ["fractional timestamp", where({ timestamp: 1.5 }), /timestamp is not an integer/],
    ["null timestamp", where({ timestamp: null }), /timestamp is not an integer/],
  ])("rejects %s", (_name, body, message) => {
    expect(() => parseIssResponse(body)).toThrow(message);
  });
});

describe("parseIssResponse: not a position", () => {
  it.each([
    ["HTML", "<html><body>502 Bad Gateway</body></html>", /not JSON \(starts with "<html><body>502 Bad Gateway/],
    ["garbage", "\u0000\u00ff{{", /not JSON/],
    ["empty body", "", /not JSON/],
    ["a JSON array", "[1,2]", /not a JSON object/],
    ["JSON null", "null", /not a JSON object/],
    ["an unknown shape", JSON.stringify({ lat: 1, lon: 2 }), /unrecognised response shape \(keys: lat, lon\)/],
  ])("rejects %s", (_name, body, message) => {
    expect(() => parseIssResponse(body)).toThrow(message);
  });
});

describe("formatting", () => {
  it("formats the time in UTC as YYYY-MM-DD HH:MM:SS", () => {
    expect(formatUtc(1765041585)).toBe("2025-12-06 17:19:45");
    expect(formatUtc(1)).toBe("1970-01-01 00:00:01");
  });
  it("formats coordinates with four decimals and never as -0.0000", () => {
    expect(formatCoordinate(-50.55871)).toBe("-50.5587");
    expect(formatCoordinate(122.18876)).toBe("122.1888");
    expect(formatCoordinate(-0.00001)).toBe("0.0000");
    expect(formatCoordinate(-180)).toBe("-180.0000");
  });
  it("renders an entry as Time, Latitude and Longitude lines, ending with a blank line", () => {
    expect(formatEntry({ timestamp: 1765041585, latitude: -50.5587, longitude: 122.1887 })).toBe(
      "Time: 2025-12-06 17:19:45\nLatitude: -50.5587\nLongitude: 122.1887\n\n",
    );
  });
  it("has the log's header: the title, a line of 19 '=', a blank line", () => {
    expect(LOG_HEADER).toBe("ISS Location Logs\n===================\n\n");
    expect(LOG_HEADER.split("\n")[1]).toBe("=".repeat(19));
  });
});

describe("duplicate detection", () => {
  const position = { timestamp: 1765041585, latitude: 1, longitude: 2 };
  const log = LOG_HEADER + formatEntry({ timestamp: 1765041000, latitude: 0, longitude: 0 });
  it("finds the entries' times in a tail, in order", () => {
    expect(entryTimes(log + formatEntry(position))).toEqual(["2025-12-06 17:10:00", "2025-12-06 17:19:45"]);
    expect(entryTimes(LOG_HEADER)).toEqual([]);
  });
  it("is a duplicate when any entry of the tail has the same second, whatever its coordinates", () => {
    expect(isDuplicate(log + formatEntry(position), position)).toBe(true);
    expect(isDuplicate(log + formatEntry({ ...position, latitude: 40 }), position)).toBe(true);
    expect(isDuplicate(log, position)).toBe(false);
  });
  it("finds a duplicate that is not the last entry (a redelivered event after another writer's append)", () => {
    const other = formatEntry({ ...position, timestamp: position.timestamp + 1 });
    expect(isDuplicate(formatEntry(position) + other, position)).toBe(true);
    expect(isDuplicate(log + formatEntry(position) + other + formatEntry({ ...position, timestamp: position.timestamp - 7 }), position)).toBe(true);
    expect(entryTimes(log + formatEntry(position) + other)).toEqual(["2025-12-06 17:10:00", "2025-12-06 17:19:45", "2025-12-06 17:19:46"]);
  });
  it("works on a tail cut in the middle of an earlier entry", () => {
    const tail = "ude: 12.0000\n\n" + formatEntry(position);
    expect(isDuplicate(tail, position)).toBe(true);
  });
  it("ignores a Time line that is not a whole line", () => {
    expect(entryTimes("xTime: 2025-12-06 17:19:45\n")).toEqual([]);
  });
});

describe("textToAppend (merge)", () => {
  const entry = "Time: 2025-12-06 17:19:45\nLatitude: 1.0000\nLongitude: 2.0000\n\n";
  it("puts the header before the entry of an empty object", () => {
    expect(textToAppend("", 0, entry)).toBe(LOG_HEADER + entry);
  });
  it("appends the entry as is after a log ending with a blank line", () => {
    expect(textToAppend(LOG_HEADER, LOG_HEADER.length, entry)).toBe(entry);
  });
  it("restores the blank line of a log that lost it", () => {
    expect(textToAppend("Longitude: 2.0000\n", 5000, entry)).toBe(`\n${entry}`);
    expect(textToAppend("Longitude: 2.0000", 5000, entry)).toBe(`\n\n${entry}`);
  });
});

describe("isLogHead (a foreign object at the key is refused)", () => {
  it.each([
    ["the header this function writes", LOG_HEADER + formatEntry({ timestamp: 1765041585, latitude: 1, longitude: 2 })],
    ["an empty object (a new log)", ""],
    ["17 '=' as older docs showed", "ISS Location Logs\n=================\n"],
    ["an older file, no blank line after the rule", "ISS Location Logs\n===================\nTime: 2025-12-06 17:19:45\n"],
    ["CRLF line ends", "ISS Location Logs\r\n===================\r\n\r\n"],
    ["a rule line cut by the head read", `ISS Location Logs\n${"=".repeat(HEAD_BYTES)}`.slice(0, HEAD_BYTES)],
  ])("accepts %s", (_name, head) => {
    expect(isLogHead(head.slice(0, HEAD_BYTES))).toBe(true);
  });
  it.each([
    ["JSON", '{"ISS Location Logs":"==="}'],
    ["random bytes", "\u0000\u00ff\u0013PK\u0003\u0004"],
    ["the title without its rule line", "ISS Location Logs\nTime: 2025-12-06 17:19:45\n"],
    ["another title", "ISS Locations\n=====\n"],
    ["leading whitespace", "\nISS Location Logs\n=====\n"],
    ["a rule line of something else", "ISS Location Logs\n-----\n"],
  ])("refuses %s", (_name, head) => {
    expect(isLogHead(head)).toBe(false);
  });
});

describe("freshness", () => {
  const at = 1_790_000_000;
  const fix = (timestamp: number) => ({ timestamp, latitude: 1, longitude: 2 });
  it("accepts a fix within the tolerances of the function's clock", () => {
    expect(freshnessProblem(fix(at), at * 1000)).toBeUndefined();
    expect(freshnessProblem(fix(at - MAX_FIX_AGE_S), at * 1000 + 999)).toBeUndefined();
    expect(freshnessProblem(fix(at + MAX_FIX_AHEAD_S), at * 1000)).toBeUndefined();
  });
  it.each([
    ["a frozen source, minutes behind", at - MAX_FIX_AGE_S - 1, /^stale fix: timestamp \d+ \(.* UTC\) is 121 s behind the function's clock \(at most 120 s\)$/],
    ["1970", 1, /^stale fix: timestamp 1 \(1970-01-01 00:00:01 UTC\)/],
    ["a day old", at - 86_400, /is 86400 s behind/],
    ["a day ahead", at + 86_400, /^fix from the future: .* is 86400 s ahead of the function's clock \(at most 30 s\)$/],
    ["just past the ahead tolerance", at + MAX_FIX_AHEAD_S + 1, /31 s ahead/],
  ])("refuses %s", (_name, timestamp, message) => {
    expect(freshnessProblem(fix(timestamp), at * 1000)).toMatch(message);
  });
  it("reads the log's newest entry from its tail, out of order or not", () => {
    const tail = [at - 50, at - 10, at - 30].map((t) => formatEntry(fix(t))).join("");
    expect(newestEntry(tail)).toBe(at - 10);
    expect(newestEntry(LOG_HEADER)).toBeUndefined();
    expect(parseUtc(formatUtc(at))).toBe(at);
  });
  it("lets a fix land behind the log's newest entry within MAX_BEHIND_LOG_S (concurrent runs), not further", () => {
    expect(orderProblem(fix(at), undefined)).toBeUndefined();
    expect(orderProblem(fix(at), at + MAX_BEHIND_LOG_S)).toBeUndefined();
    expect(orderProblem(fix(at), at + MAX_BEHIND_LOG_S + 1)).toMatch(/^fix .* UTC is 301 s older than the log's newest entry \(.* UTC; at most 300 s\)$/);
    expect(orderProblem(fix(at - 86_400), at)).toMatch(/86400 s older/);
  });
  it("keeps the tolerances consistent: an honest concurrent run is never refused by the log", () => {
    // A fix accepted as MAX_FIX_AGE_S old must fit behind one accepted MAX_FIX_AHEAD_S ahead.
    expect(MAX_BEHIND_LOG_S).toBeGreaterThanOrEqual(MAX_FIX_AGE_S + MAX_FIX_AHEAD_S + 30);
  });
});

describe("planAppend: what one fix does to one log", () => {
  const at = 1_790_000_000;
  const fix = (timestamp: number) => ({ timestamp, latitude: 1, longitude: 2 });
  const log = LOG_HEADER + formatEntry(fix(at - 300));
  it("appends the entry after the log's last blank line", () => {
    expect(planAppend(log, log.length, fix(at))).toEqual({ kind: "append", text: formatEntry(fix(at)) });
  });
  it("writes the header first into an empty object", () => {
    expect(planAppend("", 0, fix(at))).toEqual({ kind: "append", text: LOG_HEADER + formatEntry(fix(at)) });
  });
  it("finds the fix's second already in the tail: a duplicate, nothing to write", () => {
    expect(planAppend(log + formatEntry(fix(at)) + formatEntry(fix(at + 1)), 999, fix(at))).toEqual({ kind: "duplicate" });
  });
  it("refuses a fix more than MAX_BEHIND_LOG_S behind the log's newest entry, naming both", () => {
    const ahead = log + formatEntry(fix(at + MAX_BEHIND_LOG_S + 1));
    expect(planAppend(ahead, ahead.length, fix(at))).toEqual({ kind: "stale", newest: at + MAX_BEHIND_LOG_S + 1, reason: orderProblem(fix(at), at + MAX_BEHIND_LOG_S + 1) });
  });
});

describe("deliveries: a retried event finds its entry by the event's id", () => {
  const at = 1_790_000_000;
  const fix = (timestamp: number) => ({ timestamp, latitude: 1, longitude: 2 });
  const log = LOG_HEADER + formatEntry(fix(at - 300));
  it("takes an EventBridge event's id, and nothing from an event without a usable one", () => {
    expect(deliveryIdOf({ id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event" })).toBe("53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa");
    expect([deliveryIdOf({}), deliveryIdOf(undefined), deliveryIdOf(null), deliveryIdOf({ id: 7 }), deliveryIdOf({ id: "a b" }), deliveryIdOf({ id: "x".repeat(65) })]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
  });
  it("keeps the newest MAX_DELIVERIES, the run's own last, each once", () => {
    const ids = Array.from({ length: MAX_DELIVERIES }, (_, i) => `e${i}`);
    expect(withDelivery(ids, "new")).toEqual([...ids.slice(1), "new"]);
    expect(withDelivery(["a", "b", "c"], "a")).toEqual(["b", "c", "a"]);
    expect(withDelivery(["a"], undefined)).toEqual(["a"]);
    expect(withDelivery(ids, "new").join(" ").length).toBeLessThanOrEqual(MAX_DELIVERIES * 65);
  });
  it("reads the ids a metadata value lists and ignores anything else", () => {
    expect(parseDeliveries("a-1 b-2  c;d e-3")).toEqual(["a-1", "b-2", "e-3"]);
    expect(parseDeliveries(undefined)).toEqual([]);
  });
  it("is a duplicate when the log records this delivery, whatever the fix's second; another delivery appends", () => {
    expect(planAppend(log, log.length, fix(at), { id: "retried", recorded: ["older", "retried"] })).toEqual({ kind: "duplicate" });
    expect(planAppend(log, log.length, fix(at), { id: "new", recorded: ["older", "retried"] })).toEqual({ kind: "append", text: formatEntry(fix(at)) });
    expect(planAppend(log, log.length, fix(at), { recorded: ["older"] })).toEqual({ kind: "append", text: formatEntry(fix(at)) });
  });
});

describe("rewriteProblem: a log against what a run last saw of it", () => {
  const log = Buffer.from(LOG_HEADER + formatEntry({ timestamp: 1_790_000_000, latitude: 1, longitude: 2 }));
  const seen = watermarkOf(log.length, log, log, 1024);
  const grown = Buffer.concat([log, Buffer.from(formatEntry({ timestamp: 1_790_000_300, latitude: 3, longitude: 4 }))]);
  it("takes the same log, or the log with entries after it", () => {
    expect(rewriteProblem(seen, log.length, log, log)).toBeUndefined();
    expect(rewriteProblem(seen, grown.length, grown, grown)).toBeUndefined();
    // Only the last 16 bytes of a long log in hand: it still overlaps what was seen.
    expect(rewriteProblem(seen, grown.length, grown, grown.subarray(grown.length - 16))).toBeUndefined();
  });
  it("names a log that got shorter", () => {
    expect(rewriteProblem(seen, 10, log.subarray(0, 10), log.subarray(0, 10))).toMatch(/^it has 10 bytes, fewer than the \d+/);
  });
  it("names a log whose first bytes or whose bytes where it ended changed", () => {
    const other = Buffer.from(log.toString().replace("Time: 2026", "Time: 2027"));
    expect(rewriteProblem(seen, other.length, other, other)).toBe("its first bytes are not the ones this function last read");
    const tampered = Buffer.from(grown.toString().replace("Longitude: 2.0000", "Longitude: 9.0000"));
    expect(rewriteProblem(seen, tampered.length, tampered, tampered)).toMatch(/^its bytes \d+-\d+ are not the ones this function last read there$/);
  });
});
