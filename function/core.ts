/**
 * The pure core of the tracker: no I/O, no clock, no environment.
 *
 * - parse an ISS source's response (open-notify or wheretheiss.at) into one validated shape;
 * - format a log entry in seed 003's format;
 * - tell whether the entry is already the last one of the log (idempotent re-runs);
 * - compute the bytes to append to a log, given only the log's tail.
 */

/** One ISS position, whatever source it came from. */
export interface IssPosition {
  /** Unix time in whole seconds (UTC). */
  readonly timestamp: number;
  /** Degrees, in [-90, 90]. */
  readonly latitude: number;
  /** Degrees, in [-180, 180]. */
  readonly longitude: number;
}

/** A source answered, but not with a usable position (bad JSON, wrong shape, out of range). */
export class InvalidIssResponseError extends Error {
  override readonly name = "InvalidIssResponseError";
}

export const LOG_TITLE = "ISS Location Logs";
/** Header of a new log: the title, a line of `=`, a blank line (seed 003's file). */
export const LOG_HEADER = `${LOG_TITLE}\n${"=".repeat(19)}\n\n`;

/** Latest second formatEntry can render as YYYY (9999-12-31T23:59:59Z). */
const MAX_TIMESTAMP = 253_402_300_799;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

function fail(message: string): never {
  throw new InvalidIssResponseError(message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkTimestamp(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value)) fail(`timestamp is not an integer: ${JSON.stringify(value)}`);
  if (value <= 0 || value > MAX_TIMESTAMP) fail(`timestamp out of range: ${value}`);
  return value;
}

/** A coordinate given as a JSON number, or (open-notify) as a decimal string. */
function checkCoordinate(name: "latitude" | "longitude", value: unknown, asString: boolean): number {
  let n: number;
  if (asString) {
    if (typeof value !== "string" || !DECIMAL.test(value.trim())) fail(`${name} is not a decimal string: ${JSON.stringify(value)}`);
    n = Number(value.trim());
  } else {
    if (typeof value !== "number") fail(`${name} is not a number: ${JSON.stringify(value)}`);
    n = value;
  }
  const limit = name === "latitude" ? 90 : 180;
  if (!Number.isFinite(n) || n < -limit || n > limit) fail(`${name} out of range [-${limit}, ${limit}]: ${JSON.stringify(value)}`);
  return n;
}

/**
 * Parses a source's body by its shape:
 * - open-notify: `{"message":"success","timestamp":<int>,"iss_position":{"latitude":"<str>","longitude":"<str>"}}`
 * - wheretheiss.at: `{"latitude":<num>,"longitude":<num>,"timestamp":<int>,...}`
 * Throws InvalidIssResponseError for anything else (HTML, garbage, missing or out-of-range fields).
 */
export function parseIssResponse(body: string): IssPosition {
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    const start = body.trimStart().slice(0, 40).replace(/\s+/g, " ");
    fail(`response is not JSON (starts with ${JSON.stringify(start)})`);
  }
  if (!isRecord(data)) fail("response is not a JSON object");
  if ("iss_position" in data || "message" in data) {
    // open-notify
    if (data.message !== "success") fail(`open-notify message is ${JSON.stringify(data.message)}, not "success"`);
    const position = data.iss_position;
    if (!isRecord(position)) fail("open-notify iss_position is missing or not an object");
    return {
      timestamp: checkTimestamp(data.timestamp),
      latitude: checkCoordinate("latitude", position.latitude, true),
      longitude: checkCoordinate("longitude", position.longitude, true),
    };
  }
  if ("latitude" in data && "longitude" in data && "timestamp" in data) {
    // wheretheiss.at
    return {
      timestamp: checkTimestamp(data.timestamp),
      latitude: checkCoordinate("latitude", data.latitude, false),
      longitude: checkCoordinate("longitude", data.longitude, false),
    };
  }
  fail(`unrecognised response shape (keys: ${Object.keys(data).slice(0, 8).join(", ") || "none"})`);
}

/** `YYYY-MM-DD HH:MM:SS` in UTC. */
export function formatUtc(timestamp: number): string {
  return new Date(timestamp * 1000).toISOString().slice(0, 19).replace("T", " ");
}

/** Four decimals like seed 003's log; never "-0.0000". */
export function formatCoordinate(value: number): string {
  const text = value.toFixed(4);
  return text === "-0.0000" ? "0.0000" : text;
}

/** One entry: Time, Latitude, Longitude lines and a blank line. */
export function formatEntry(position: IssPosition): string {
  return (
    `Time: ${formatUtc(position.timestamp)}\n` +
    `Latitude: ${formatCoordinate(position.latitude)}\n` +
    `Longitude: ${formatCoordinate(position.longitude)}\n\n`
  );
}

/** The `Time:` value of the last entry found in a log's tail, if any. */
export function lastEntryTime(tail: string): string | undefined {
  const matches = [...tail.matchAll(/^Time: (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})[ \t]*$/gm)];
  return matches.at(-1)?.[1];
}

/** True when the log's last entry has this position's timestamp (an at-least-once re-delivery). */
export function isDuplicate(tail: string, position: IssPosition): boolean {
  return lastEntryTime(tail) === formatUtc(position.timestamp);
}

/**
 * The text to append to a log whose content ends with `tail` (the whole log when it is short).
 * An empty log gets the header first; otherwise a separator keeps one blank line between entries
 * even when the log was edited by hand and lost its trailing newlines.
 */
export function textToAppend(tail: string, logSize: number, entry: string): string {
  if (logSize === 0) return LOG_HEADER + entry;
  if (tail.endsWith("\n\n")) return entry;
  if (tail.endsWith("\n")) return `\n${entry}`;
  return `\n\n${entry}`;
}

/** A log read back: its entries in file order, and what did not parse (a hand edit, a torn line). */
export interface ParsedLog {
  /** Whether the log starts with LOG_HEADER's title and rule. */
  readonly hasHeader: boolean;
  readonly entries: readonly IssPosition[];
  /** Non-blank lines that are neither the header nor part of a whole entry (1-based line numbers). */
  readonly unparsed: readonly { readonly line: number; readonly text: string }[];
}

const TIME_LINE = /^Time: (\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})[ \t]*$/;
const COORDINATE_LINE = (name: "Latitude" | "Longitude") => new RegExp(`^${name}: (\\S+)[ \\t]*$`);

/**
 * Parses a whole log in formatEntry's format, the inverse of formatEntry for every entry it wrote.
 * Lenient: a line it cannot read is reported in `unparsed`, never thrown, so a reader can show the
 * rest of a log that was edited by hand.
 */
export function parseLog(text: string): ParsedLog {
  const lines = text.split(/\r?\n/);
  let i = 0;
  const hasHeader = lines[0]?.trim() === LOG_TITLE && /^=+\s*$/.test(lines[1] ?? "");
  if (hasHeader) i = 2;
  const entries: IssPosition[] = [];
  const unparsed: { line: number; text: string }[] = [];
  const coordinate = (line: string | undefined, name: "Latitude" | "Longitude", limit: number): number | undefined => {
    const m = COORDINATE_LINE(name).exec(line ?? "");
    if (!m || !DECIMAL.test(m[1])) return undefined;
    const n = Number(m[1]);
    return Number.isFinite(n) && Math.abs(n) <= limit ? n : undefined;
  };
  while (i < lines.length) {
    const line = lines[i];
    const time = TIME_LINE.exec(line);
    if (time) {
      const [, y, mo, d, h, mi, s] = time.map(Number);
      const timestamp = Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
      const latitude = coordinate(lines[i + 1], "Latitude", 90);
      const longitude = coordinate(lines[i + 2], "Longitude", 180);
      if (latitude !== undefined && longitude !== undefined && formatUtc(timestamp) === line.slice(6, 25)) {
        entries.push({ timestamp, latitude, longitude });
        i += 3;
        continue;
      }
    }
    if (line.trim() !== "") unparsed.push({ line: i + 1, text: line });
    i++;
  }
  return { hasHeader, entries, unparsed };
}
