/**
 * The function's one structured logger: every line is one JSON object written straight to stdout,
 * so CloudWatch Logs stores it as the event itself, whatever the function's log format (Lambda's
 * runtime prefixes only what goes through `console`), and metric filters can select on its fields
 * (`{ $.msg = "..." }`) rather than on words that an echoed ISS answer could also contain.
 * Persistent keys (the request id, the function) ride on every line of a run.
 */
export type Fields = object;

export interface Logger {
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger whose lines also carry these keys. */
  child(keys: Fields): Logger;
}

/** Where lines go: stdout by default (a test collects them). */
export type LineSink = (line: string) => void;

export const stdoutSink: LineSink = (line) => void process.stdout.write(`${line}\n`);

export function createLogger(sink: LineSink = stdoutSink, keys: Fields = {}): Logger {
  const write = (level: string) => (msg: string, fields: Fields = {}) => sink(JSON.stringify({ level, msg, ...fields, ...keys }));
  return {
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
    child: (more) => createLogger(sink, { ...keys, ...more }),
  };
}

/** The name and message of anything thrown, for a log line. */
export function errorFields(error: unknown): { error: string; message: string } {
  return error instanceof Error ? { error: error.name, message: error.message } : { error: "Error", message: String(error) };
}
