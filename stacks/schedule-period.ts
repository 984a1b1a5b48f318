/**
 * How long the tracker waits between two runs: the period every alarm window and every "gap" in
 * the log is measured in. Pure: no clock, no I/O, so synth output never depends on the day it runs.
 *
 * - `rate(N minute|minutes|hour|hours|day|days)`: N times the unit.
 * - `cron(minutes hours day-of-month month day-of-week year)` (EventBridge's six fields, UTC):
 *   the LONGEST interval between two consecutive runs, found by listing every run over two whole
 *   calendar years (from 2025, or from the first year the year field allows after it). The longest
 *   interval is the honest choice for an alarm: a schedule that runs hourly on weekdays only is
 *   quiet for 49 hours every weekend, and an alarm sized on its shortest interval would fire every
 *   weekend. Supported syntax, as EventBridge documents it: `*`, `?`, values, `a-b` ranges, `/`
 *   steps, `,` lists, JAN-DEC and SUN-SAT names (day-of-week 1 = Sunday), `L` and `W` in
 *   day-of-month (`L`, `LW`, `15W`), `L` and `#` in day-of-week (`L`, `6L`, `3#2`); exactly one of
 *   day-of-month and day-of-week must be `?`.
 */

export class ScheduleExpressionError extends Error {
  override readonly name = "ScheduleExpressionError";
}

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/;
const UNIT_SECONDS: Record<string, number> = { minute: 60, hour: 3600, day: 86_400 };
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
/** First year of the simulated window (fixed: the result must not depend on today's date). */
export const CRON_WINDOW_START_YEAR = 2025;
const WINDOW_YEARS = 2;

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}
const FIELDS = {
  minutes: { name: "minutes", min: 0, max: 59 },
  hours: { name: "hours", min: 0, max: 23 },
  dayOfMonth: { name: "day-of-month", min: 1, max: 31 },
  month: { name: "month", min: 1, max: 12, names: MONTHS },
  dayOfWeek: { name: "day-of-week", min: 1, max: 7, names: WEEKDAYS },
  year: { name: "year", min: 1970, max: 2199 },
} as const satisfies Record<string, Field>;

function fail(expression: string, why: string): never {
  throw new ScheduleExpressionError(`${expression}: ${why}`);
}

/** A value of a field: a number or (month, day-of-week) a name. */
function value(field: Field, text: string, expression: string): number {
  const byName = field.names?.indexOf(text.toUpperCase()) ?? -1;
  const n = byName >= 0 ? byName + field.min : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < field.min || n > field.max) {
    fail(expression, `${field.name} value ${JSON.stringify(text)} is not in ${field.min}-${field.max}`);
  }
  return n;
}

/** `*`, `a`, `a-b`, each optionally `/step`, as the set of values they select. */
function plain(field: Field, token: string, expression: string): number[] {
  const [range, stepText, extra] = token.split("/");
  if (extra !== undefined) fail(expression, `${field.name} has more than one '/' in ${JSON.stringify(token)}`);
  const step = stepText === undefined ? 1 : /^\d+$/.test(stepText) && Number(stepText) > 0 ? Number(stepText) : fail(expression, `${field.name} step ${JSON.stringify(stepText)} is not a positive whole number`);
  let from: number;
  let to: number;
  if (range === "*") {
    [from, to] = [field.min, field.max];
  } else if (range.includes("-")) {
    const [a, b] = range.split("-");
    [from, to] = [value(field, a, expression), value(field, b, expression)];
    if (from > to) fail(expression, `${field.name} range ${JSON.stringify(range)} runs backwards`);
  } else {
    from = value(field, range, expression);
    to = stepText === undefined ? from : field.max;
  }
  const out: number[] = [];
  for (let n = from; n <= to; n += step) out.push(n);
  return out;
}

function set(field: Field, text: string, expression: string): ReadonlySet<number> {
  if (text === "?") fail(expression, `'?' is only allowed in day-of-month or day-of-week, not in ${field.name}`);
  return new Set(text.split(",").flatMap((token) => plain(field, token, expression)));
}

interface Day {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  /** 1 = Sunday ... 7 = Saturday, as EventBridge counts. */
  readonly weekday: number;
  readonly daysInMonth: number;
}
type DayRule = (d: Day) => boolean;

const weekdayOf = (year: number, month: number, day: number) => new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
const isWorkday = (weekday: number) => weekday >= 2 && weekday <= 6;

/** The weekday (Mon-Fri) nearest to `target` within the month, as `W` defines it. */
function nearestWorkday(year: number, month: number, target: number, daysInMonth: number): number {
  const w = weekdayOf(year, month, target);
  if (isWorkday(w)) return target;
  if (w === 7) return target > 1 ? target - 1 : target + 2; // Saturday: Friday, or Monday on the 1st
  return target < daysInMonth ? target + 1 : target - 2; // Sunday: Monday, or Friday on the last day
}

function dayOfMonthRule(text: string, expression: string): DayRule {
  const rules: DayRule[] = text.split(",").map((token): DayRule => {
    if (token === "L") return (d) => d.day === d.daysInMonth;
    if (token === "LW") return (d) => d.day === nearestWorkday(d.year, d.month, d.daysInMonth, d.daysInMonth);
    const w = /^(\d+)W$/.exec(token);
    if (w) {
      const target = value(FIELDS.dayOfMonth, w[1], expression);
      return (d) => target <= d.daysInMonth && d.day === nearestWorkday(d.year, d.month, target, d.daysInMonth);
    }
    const days = new Set(plain(FIELDS.dayOfMonth, token, expression));
    return (d) => days.has(d.day);
  });
  return (d) => rules.some((rule) => rule(d));
}

function dayOfWeekRule(text: string, expression: string): DayRule {
  const rules: DayRule[] = text.split(",").map((token): DayRule => {
    if (token === "L") return (d) => d.weekday === 7;
    const last = /^(\w+)L$/.exec(token);
    if (last) {
      const weekday = value(FIELDS.dayOfWeek, last[1], expression);
      return (d) => d.weekday === weekday && d.day + 7 > d.daysInMonth;
    }
    const nth = /^(\w+)#(\d)$/.exec(token);
    if (nth) {
      const weekday = value(FIELDS.dayOfWeek, nth[1], expression);
      const k = Number(nth[2]);
      if (k < 1 || k > 5) fail(expression, `day-of-week ${JSON.stringify(token)}: the week number after '#' must be 1-5`);
      return (d) => d.weekday === weekday && Math.ceil(d.day / 7) === k;
    }
    const days = new Set(plain(FIELDS.dayOfWeek, token, expression));
    return (d) => days.has(d.weekday);
  });
  return (d) => rules.some((rule) => rule(d));
}

/** Longest interval between two consecutive runs of a cron expression, in seconds. */
function cronPeriodSeconds(expression: string): number {
  const m = CRON.exec(expression);
  if (!m) fail(expression, "a cron expression has six fields: cron(minutes hours day-of-month month day-of-week year)");
  const [, minutesText, hoursText, domText, monthText, dowText, yearText] = m;
  const minutes = [...set(FIELDS.minutes, minutesText, expression)].sort((a, b) => a - b);
  const hours = [...set(FIELDS.hours, hoursText, expression)].sort((a, b) => a - b);
  const months = set(FIELDS.month, monthText, expression);
  const years = set(FIELDS.year, yearText, expression);
  if ((domText === "?") === (dowText === "?")) {
    fail(expression, "exactly one of day-of-month and day-of-week must be '?' (EventBridge rejects both or neither)");
  }
  const dayRule = domText === "?" ? dayOfWeekRule(dowText, expression) : dayOfMonthRule(domText, expression);

  const first = [...years].filter((y) => y >= CRON_WINDOW_START_YEAR).sort((a, b) => a - b)[0];
  if (first === undefined) fail(expression, `it never runs in or after ${CRON_WINDOW_START_YEAR}`);
  let previous: number | undefined;
  let longest = 0;
  let runs = 0;
  for (let year = first; year < first + WINDOW_YEARS; year++) {
    if (!years.has(year)) continue;
    for (let month = 1; month <= 12; month++) {
      if (!months.has(month)) continue;
      const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
      for (let day = 1; day <= daysInMonth; day++) {
        if (!dayRule({ year, month, day, weekday: weekdayOf(year, month, day), daysInMonth })) continue;
        const base = Date.UTC(year, month - 1, day) / 60_000;
        for (const hour of hours) {
          for (const minute of minutes) {
            const at = base + hour * 60 + minute;
            if (previous !== undefined) longest = Math.max(longest, at - previous);
            previous = at;
            runs++;
          }
        }
      }
    }
  }
  if (runs < 2) {
    fail(expression, `it runs ${runs === 0 ? "never" : "once"} in ${first}-${first + WINDOW_YEARS - 1}: a tracker (and its alarms) needs a recurring schedule`);
  }
  return longest * 60;
}

/**
 * The schedule's period in seconds: a rate's interval, or a cron's longest interval between two
 * consecutive runs (see the module comment). Throws ScheduleExpressionError for anything else.
 */
export function schedulePeriodSeconds(expression: string): number {
  const rate = RATE.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    if (n < 1) fail(expression, "a rate needs a positive number");
    return n * UNIT_SECONDS[rate[2].replace(/s$/, "")];
  }
  if (expression.startsWith("cron(")) return cronPeriodSeconds(expression);
  fail(expression, "not an EventBridge schedule expression: rate(...) or cron(...)");
}

/** "5 minutes", "1 hour", "2 days 3 hours", for messages and reports. */
export function formatDuration(seconds: number): string {
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [unit, size] of [["day", 86_400], ["hour", 3600], ["minute", 60], ["second", 1]] as const) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n} ${unit}${n === 1 ? "" : "s"}`);
  }
  return parts.length === 0 ? "0 seconds" : parts.slice(0, 2).join(" ");
}
