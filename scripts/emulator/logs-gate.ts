/**
 * CloudWatch Logs conformance gate (a gateway middleware, see ./gateway.ts): moto 5.2.1 evaluates
 * only term and phrase filter patterns and returns every event for any other pattern (its own
 * docstring: "If the pattern is not supported, all events are returned"), so a JSON metric filter
 * such as `{ $.msg = "entry appended" }` matches everything on the emulator. The gate puts the
 * service's rule back for JSON patterns, as the CloudWatch Logs User Guide documents them ("Using
 * filter patterns to match terms in JSON log events"): the event must be a JSON object; a selector
 * (`$.a.b[0]`) names a field; strings compare with `=`/`!=` (`*` matches any run of characters),
 * numbers with `= != < > <= >=`, and `IS TRUE`, `IS FALSE`, `IS NULL`, `NOT EXISTS`; conditions join
 * with `&&` and `||` in parentheses. A pattern outside that subset is refused (the gate fails
 * closed) rather than matched wrongly.
 *
 * FilterLogEvents with a JSON pattern: moto answers with every event, and the gate keeps those the
 * pattern matches. TestMetricFilter is answered by the gate itself.
 */
import { type Gate, type GatewayReply } from "./gateway";

type Value = unknown;
type Condition = (event: Record<string, unknown>) => boolean;

export class FilterPatternError extends Error {
  override readonly name = "FilterPatternError";
}

const TOKEN = /\s*(\{|\}|\(|\)|&&|\|\||!=|<=|>=|=|<|>|"(?:[^"\\]|\\.)*"|\$(?:\.[A-Za-z_][\w-]*|\[\d+\])+|[^\s(){}=!<>&|"]+)/y;

function tokenize(pattern: string): string[] {
  const tokens: string[] = [];
  let rest = pattern;
  while (rest.trim() !== "") {
    TOKEN.lastIndex = 0;
    const m = TOKEN.exec(rest);
    if (!m) throw new FilterPatternError(`cannot read the filter pattern at ${JSON.stringify(rest.slice(0, 20))}`);
    tokens.push(m[1]);
    rest = rest.slice(m[0].length);
  }
  return tokens;
}

/** The value a selector such as `$.targets[0].outcome` names, or undefined when the event has no such field. */
export function select(event: unknown, selector: string): Value {
  const steps = [...selector.slice(1).matchAll(/\.([A-Za-z_][\w-]*)|\[(\d+)\]/g)].map((m) => m[1] ?? Number(m[2]));
  let value: unknown = event;
  for (const step of steps) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string | number, unknown>)[step];
    if (value === undefined) return undefined;
  }
  return value;
}

const wildcard = (glob: string) => new RegExp(`^${glob.split("*").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);

function comparison(selector: string, operator: string, literal: string): Condition {
  const quoted = literal.startsWith('"');
  const text = quoted ? (JSON.parse(literal) as string) : literal;
  const number = !quoted && /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(text) ? Number(text) : undefined;
  if (number !== undefined) {
    const compare: Record<string, (a: number) => boolean> = {
      "=": (a) => a === number, "!=": (a) => a !== number, "<": (a) => a < number, ">": (a) => a > number, "<=": (a) => a <= number, ">=": (a) => a >= number,
    };
    return (event) => {
      const value = select(event, selector);
      return typeof value === "number" && compare[operator](value);
    };
  }
  if (operator !== "=" && operator !== "!=") throw new FilterPatternError(`${operator} compares numbers, not ${literal}`);
  const matches = wildcard(text);
  return (event) => {
    const value = select(event, selector);
    if (typeof value !== "string") return false;
    return (operator === "=") === matches.test(value);
  };
}

/** Compiles a JSON filter pattern (`{ ... }`) into a test of one log event's message. */
export function compileJsonPattern(pattern: string): (message: string) => boolean {
  const tokens = tokenize(pattern);
  if (tokens[0] !== "{" || tokens.at(-1) !== "}") throw new FilterPatternError("a JSON filter pattern is enclosed in { }");
  let i = 1;
  const end = tokens.length - 1;
  const peek = () => (i < end ? tokens[i] : undefined);
  const take = (expected?: string) => {
    const token = peek();
    if (token === undefined || (expected !== undefined && token !== expected)) throw new FilterPatternError(`expected ${expected ?? "more"} in the filter pattern, found ${token ?? "its end"}`);
    i++;
    return token;
  };
  const primary = (): Condition => {
    if (peek() === "(") {
      take("(");
      const inner = or();
      take(")");
      return inner;
    }
    const selector = take();
    if (!selector.startsWith("$")) throw new FilterPatternError(`a condition starts with a selector such as $.field, not ${selector}`);
    const operator = take();
    if (operator === "IS") {
      const what = take();
      if (what === "TRUE" || what === "FALSE") return (event) => select(event, selector) === (what === "TRUE");
      if (what === "NULL") return (event) => select(event, selector) === null;
      throw new FilterPatternError(`IS ${what} is not a JSON filter condition`);
    }
    if (operator === "NOT") {
      take("EXISTS");
      return (event) => select(event, selector) === undefined;
    }
    if (!["=", "!=", "<", ">", "<=", ">="].includes(operator)) throw new FilterPatternError(`${operator} is not a JSON filter operator`);
    return comparison(selector, operator, take());
  };
  const and = (): Condition => {
    let left = primary();
    while (peek() === "&&") {
      take("&&");
      const a = left;
      const b = primary();
      left = (event) => a(event) && b(event);
    }
    return left;
  };
  const or = (): Condition => {
    let left = and();
    while (peek() === "||") {
      take("||");
      const a = left;
      const b = and();
      left = (event) => a(event) || b(event);
    }
    return left;
  };
  const condition = or();
  if (i !== end) throw new FilterPatternError(`unexpected ${tokens[i]} in the filter pattern`);
  return (message) => {
    let event: unknown;
    try {
      event = JSON.parse(message);
    } catch {
      return false; // JSON patterns match only events that are JSON
    }
    return event !== null && typeof event === "object" && !Array.isArray(event) && condition(event as Record<string, unknown>);
  };
}

const isJsonPattern = (pattern: unknown): pattern is string => typeof pattern === "string" && pattern.trim().startsWith("{");

function jsonReply(status: number, body: unknown): GatewayReply {
  return { status, headers: { "content-type": "application/x-amz-json-1.1" }, body: Buffer.from(JSON.stringify(body)) };
}

function invalid(message: string): GatewayReply {
  return jsonReply(400, { __type: "InvalidParameterException", message });
}

export function logsGate(): Gate {
  return async (req, next) => {
    const target = String(req.headers["x-amz-target"] ?? "");
    if (req.service !== "logs" || !target.startsWith("Logs_20140328.")) return next();
    const operation = target.slice("Logs_20140328.".length);
    if (operation !== "FilterLogEvents" && operation !== "TestMetricFilter") return next();
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(req.body.toString("utf8"));
    } catch {
      return next();
    }
    if (!isJsonPattern(input.filterPattern)) return next();
    let matches: (message: string) => boolean;
    try {
      matches = compileJsonPattern(input.filterPattern);
    } catch (error) {
      return invalid(`Invalid filter pattern (emulator logs gate: ${(error as Error).message})`);
    }
    if (operation === "TestMetricFilter") {
      const messages = Array.isArray(input.logEventMessages) ? (input.logEventMessages as string[]) : [];
      return jsonReply(200, { matches: messages.flatMap((m, index) => (matches(m) ? [{ eventNumber: index + 1, eventMessage: m, extractedValues: {} }] : [])) });
    }
    // moto answers a pattern it cannot evaluate with every event: the gate keeps the matching ones.
    const reply = await next();
    return reply.status !== 200 ? reply : filtered(reply, matches);
  };
}

function filtered(reply: GatewayReply, matches: (message: string) => boolean): GatewayReply {
  const body = JSON.parse(reply.body.toString("utf8")) as { events?: Array<{ message?: string }> };
  return { ...reply, body: Buffer.from(JSON.stringify({ ...body, events: (body.events ?? []).filter((e) => matches(e.message ?? "")) })) };
}
