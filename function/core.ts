/**
 * The pure core of the tracker: no I/O, no clock, no environment.
 *
 * - parse an ISS source's response (open-notify or wheretheiss.at) into one validated shape;
 * - format a log entry (`Time: …`, `Latitude: …`, `Longitude: …`, a blank line);
 * - tell whether the entry is already in the log's tail, or this delivery's entry is (idempotent
 *   re-runs and Lambda's retries of a run that failed for another target);
 * - judge a fix's freshness against the function's clock and against the log's newest entry;
 * - decide what an append does with a fix and a log's tail (planAppend);
 * - recognise the log's header (anything else at the key is a foreign object, never appended to);
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

/** A source answered, but not with a usable position (bad JSON, wrong shape, out of range, stale). */
export class InvalidIssResponseError extends Error {
  override readonly name = "InvalidIssResponseError";
}

export const LOG_TITLE = "ISS Location Logs";
/** Header of a new log: the title, a line of 19 `=`, a blank line. */
export const LOG_HEADER = `${LOG_TITLE}\n${"=".repeat(19)}\n\n`;
/** Bytes read from the start of a large log to check its header (the title, a rule line, slack). */
export const HEAD_BYTES = 64;
/**
 * The start of a log: the title line, then a line of one or more `=` (this function writes 19,
 * older docs showed 17, and a hand-made log may have no blank line after it).
 */
const LOG_HEAD = /^ISS Location Logs\r?\n=+(\r?\n|$)/;

/**
 * Freshness tolerances of an ISS fix, in seconds, against the function's clock (NTP-synced in
 * Lambda). A live source stamps its answer with the second it computed it: a fix is the ISS
 * position *now*, so anything much older is a frozen or cached source, and anything ahead is a
 * broken clock.
 * - MAX_FIX_AGE_S: 120 s covers network latency, a CDN or proxy cache of up to a minute and the
 *   source's own clock error; it is shorter than any sensible schedule (rate(5 minutes) by default),
 *   so a source frozen on one second fails over at the next run instead of repeating a silent
 *   "duplicate"; 1970, a day old and the like are refused at once.
 * - MAX_FIX_AHEAD_S: 30 s. Sources and Lambda both keep NTP time; a fix from the future is a
 *   broken source (it would also sort after every later entry).
 * - MAX_BEHIND_LOG_S: 300 s. Concurrent runs land out of order: a run may write its fix after a
 *   later-fetched one, up to its whole duration later, and each fix may sit anywhere in
 *   [-MAX_FIX_AGE_S, +MAX_FIX_AHEAD_S] of the clock: 120 + 30 + a run of up to 150 s (the stack's
 *   timeout is 30 s). A fix further behind the log's newest entry means the log or a source is
 *   wrong: fail over, then fail clearly rather than write history out of order.
 */
export const MAX_FIX_AGE_S = 120;
export const MAX_FIX_AHEAD_S = 30;
export const MAX_BEHIND_LOG_S = 300;

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

/** Four decimals (about 11 m); never "-0.0000". */
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

/** The `Time:` values of the entries found in a log's tail, in order (whole lines only). */
export function entryTimes(tail: string): string[] {
  return [...tail.matchAll(/^Time: (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})[ \t\r]*$/gm)].map((m) => m[1]);
}

/** `YYYY-MM-DD HH:MM:SS` (UTC) back to unix seconds. */
export function parseUtc(text: string): number {
  return Date.parse(`${text.replace(" ", "T")}Z`) / 1000;
}

/**
 * True when any entry of the tail has this position's second: an at-least-once re-delivery, an SDK
 * retry of a write that did commit, or two runs that got the same fix; another writer's entry may
 * have landed after it, so every entry read is checked, not only the last.
 */
export function isDuplicate(tail: string, position: IssPosition): boolean {
  const time = formatUtc(position.timestamp);
  return entryTimes(tail).includes(time);
}

/**
 * Whether the object's first bytes (at least HEAD_BYTES of them, or the whole object) are this log's
 * header. An empty object counts as a new log; a rule line cut by HEAD_BYTES still counts.
 */
export function isLogHead(head: string): boolean {
  return head.length === 0 || LOG_HEAD.test(head);
}

/** Why a fix is not fresh against the clock (`nowMs`), or undefined when it is. */
export function freshnessProblem(position: IssPosition, nowMs: number): string | undefined {
  const now = Math.floor(nowMs / 1000);
  const age = now - position.timestamp;
  if (age > MAX_FIX_AGE_S) return `stale fix: timestamp ${position.timestamp} (${formatUtc(position.timestamp)} UTC) is ${age} s behind the function's clock (at most ${MAX_FIX_AGE_S} s)`;
  if (-age > MAX_FIX_AHEAD_S) return `fix from the future: timestamp ${position.timestamp} (${formatUtc(position.timestamp)} UTC) is ${-age} s ahead of the function's clock (at most ${MAX_FIX_AHEAD_S} s)`;
  return undefined;
}

/** The newest entry time in a tail (unix seconds), if any. */
export function newestEntry(tail: string): number | undefined {
  const times = entryTimes(tail).map(parseUtc).filter(Number.isFinite);
  return times.length ? Math.max(...times) : undefined;
}

/** Why a fix may not follow the log's newest entry, or undefined when it may. */
export function orderProblem(position: IssPosition, newest: number | undefined): string | undefined {
  if (newest === undefined || position.timestamp >= newest - MAX_BEHIND_LOG_S) return undefined;
  return (
    `fix ${formatUtc(position.timestamp)} UTC is ${newest - position.timestamp} s older than the log's newest entry ` +
    `(${formatUtc(newest)} UTC; at most ${MAX_BEHIND_LOG_S} s)`
  );
}

/** What a run last saw of a log: its size, its first bytes and its last bytes (ending at `size`). */
export interface LogWatermark {
  readonly size: number;
  /** Up to HEAD_BYTES from the start. */
  readonly head: Buffer;
  /** Up to a tail read's worth, ending at `size`. */
  readonly tail: Buffer;
}

/** The watermark of a log of `size` bytes that starts with `head` and ends with `tail`. */
export function watermarkOf(size: number, head: Buffer, tail: Buffer, tailBytes: number): LogWatermark {
  return { size, head: Buffer.from(head.subarray(0, HEAD_BYTES)), tail: Buffer.from(tail.subarray(Math.max(0, tail.length - tailBytes))) };
}

/**
 * Why a log read now (`size` bytes, starting with `head`, ending with `tail`) is not the log that
 * was `seen`, plus appends: shorter than it was, another beginning, or other bytes where the two
 * reads overlap. An append-only log never does that; a rewrite (or an erasure) does.
 */
export function rewriteProblem(seen: LogWatermark, size: number, head: Buffer, tail: Buffer): string | undefined {
  if (size < seen.size) return `it has ${size} bytes, fewer than the ${seen.size} it had when this function last read it`;
  const n = Math.min(seen.head.length, head.length);
  if (!head.subarray(0, n).equals(seen.head.subarray(0, n))) return "its first bytes are not the ones this function last read";
  const seenStart = seen.size - seen.tail.length;
  const nowStart = size - tail.length;
  const from = Math.max(seenStart, nowStart);
  if (from < seen.size && !seen.tail.subarray(from - seenStart).equals(tail.subarray(from - nowStart, seen.size - nowStart))) {
    return `its bytes ${from}-${seen.size - 1} are not the ones this function last read there`;
  }
  return undefined;
}

/**
 * The deliveries (scheduled events, by id) whose entry a log holds, kept in the object's metadata
 * (x-amz-meta-deliveries) by every write: a retry of a run delivers the same event a minute or more
 * later, with a new fix of another second, so only the event's id tells that this log has its entry
 * already (a run that failed for another target is retried, and must not write twice where it
 * landed). The last MAX_DELIVERIES are kept; S3 allows 2 KB of metadata, this takes at most 650 bytes.
 */
export const DELIVERIES_METADATA = "deliveries";
export const MAX_DELIVERIES = 10;
const DELIVERY_ID = /^[A-Za-z0-9-]{1,64}$/;

/** The id of the event a run was delivered (an EventBridge event's `id`), when it has a usable one. */
export function deliveryIdOf(event: unknown): string | undefined {
  const id = (event as { readonly id?: unknown } | null | undefined)?.id;
  return typeof id === "string" && DELIVERY_ID.test(id) ? id : undefined;
}

/** The deliveries a metadata value lists (anything that is not an id is ignored). */
export function parseDeliveries(value: string | undefined): string[] {
  return (value ?? "").split(" ").filter((id) => DELIVERY_ID.test(id));
}

/** The deliveries to record with a write of `id`'s entry: the newest MAX_DELIVERIES, `id` last. */
export function withDelivery(recorded: readonly string[], id: string | undefined): string[] {
  const ids = id === undefined ? [...recorded] : [...recorded.filter((r) => r !== id), id];
  return ids.slice(-MAX_DELIVERIES);
}

/** What to do with a fix, given the log's tail: it is there already, it is too far behind, or this text goes on the end. */
export type AppendPlan =
  | { readonly kind: "duplicate" }
  | { readonly kind: "stale"; readonly newest: number; readonly reason: string }
  | { readonly kind: "append"; readonly text: string };

/**
 * The decision for one fix and one log (whose size is `logSize`, which ends with `tail` and records
 * these deliveries): a duplicate when the tail has the fix's second or the log records this delivery.
 */
export function planAppend(tail: string, logSize: number, position: IssPosition, delivery: { readonly id?: string; readonly recorded: readonly string[] } = { recorded: [] }): AppendPlan {
  if (isDuplicate(tail, position) || (delivery.id !== undefined && delivery.recorded.includes(delivery.id))) return { kind: "duplicate" };
  const newest = newestEntry(tail);
  const reason = orderProblem(position, newest);
  if (reason !== undefined && newest !== undefined) return { kind: "stale", newest, reason };
  return { kind: "append", text: textToAppend(tail, logSize, formatEntry(position)) };
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

const TIME_LINE = /^Time: (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})[ \t]*$/;
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
      const timestamp = parseUtc(time[1]);
      const latitude = coordinate(lines[i + 1], "Latitude", 90);
      const longitude = coordinate(lines[i + 2], "Longitude", 180);
      // A date that does not exist (2025-13-40) does not survive the round trip.
      if (latitude !== undefined && longitude !== undefined && Number.isFinite(timestamp) && formatUtc(timestamp) === time[1]) {
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
