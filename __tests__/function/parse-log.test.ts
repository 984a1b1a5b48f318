import { formatEntry, LOG_HEADER, parseLog, textToAppend, type IssPosition } from "../../function/core";

const positions: IssPosition[] = [
  { timestamp: 1765041585, latitude: -50.5587, longitude: 122.1887 },
  { timestamp: 1765041885, latitude: 0, longitude: -180 },
  { timestamp: 1765042185, latitude: 51.5, longitude: 179.9999 },
];
/** A log built the way the function builds it. */
function logOf(entries: readonly IssPosition[]): string {
  let text = "";
  for (const p of entries) text += textToAppend(text, Buffer.byteLength(text), formatEntry(p));
  return text;
}

describe("parseLog: the log read back, in the function's own format", () => {
  it("reads back every entry formatEntry wrote, in order (the inverse of the writer)", () => {
    const parsed = parseLog(logOf(positions));
    expect(parsed).toEqual({ hasHeader: true, entries: positions, unparsed: [] });
  });

  it("reads an empty log and a header-only log as no entries", () => {
    expect(parseLog("")).toEqual({ hasHeader: false, entries: [], unparsed: [] });
    expect(parseLog(LOG_HEADER)).toEqual({ hasHeader: true, entries: [], unparsed: [] });
  });

  it("reports what it cannot read with its line number and keeps the rest (a hand edit, a torn entry)", () => {
    const text = `${LOG_HEADER}${formatEntry(positions[0])}a note by hand\n\nTime: 2025-12-06 17:24:45\nLatitude: 91.0000\nLongitude: 1.0000\n\n${formatEntry(positions[2])}Time: 2025-13-40 00:00:00\n`;
    const parsed = parseLog(text);
    expect(parsed.entries).toEqual([positions[0], positions[2]]);
    expect(parsed.unparsed).toEqual([
      { line: 8, text: "a note by hand" },
      { line: 10, text: "Time: 2025-12-06 17:24:45" },
      { line: 11, text: "Latitude: 91.0000" },
      { line: 12, text: "Longitude: 1.0000" },
      { line: 18, text: "Time: 2025-13-40 00:00:00" },
    ]);
  });

  it("accepts a shorter rule, CRLF line ends and entries whose blank line was lost", () => {
    const seed = `ISS Location Logs\n=================\n\n${formatEntry(positions[0]).trimEnd()}\n${formatEntry(positions[1])}`.replace(/\n/g, "\r\n");
    expect(parseLog(seed)).toEqual({ hasHeader: true, entries: positions.slice(0, 2), unparsed: [] });
  });

  it("does not take a foreign object for a log", () => {
    const parsed = parseLog('{"not":"a log"}\n');
    expect(parsed.hasHeader).toBe(false);
    expect(parsed.entries).toEqual([]);
    expect(parsed.unparsed).toEqual([{ line: 1, text: '{"not":"a log"}' }]);
  });
});
