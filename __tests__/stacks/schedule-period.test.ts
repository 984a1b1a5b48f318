import { formatDuration, ScheduleExpressionError, schedulePeriodSeconds } from "../../stacks/schedule-period";

const HOUR = 3600;
const DAY = 86_400;

describe("schedulePeriodSeconds: how long the tracker waits between two runs", () => {
  it("reads rate expressions in minutes, hours and days", () => {
    expect(schedulePeriodSeconds("rate(5 minutes)")).toBe(300);
    expect(schedulePeriodSeconds("rate(1 minute)")).toBe(60);
    expect(schedulePeriodSeconds("rate(1 hour)")).toBe(HOUR);
    expect(schedulePeriodSeconds("rate(12 hours)")).toBe(12 * HOUR);
    expect(schedulePeriodSeconds("rate(2 days)")).toBe(2 * DAY);
  });

  it("takes a regular cron's interval", () => {
    expect(schedulePeriodSeconds("cron(0/10 * * * ? *)")).toBe(600);
    expect(schedulePeriodSeconds("cron(*/15 * * * ? *)")).toBe(900);
    expect(schedulePeriodSeconds("cron(0 * * * ? *)")).toBe(HOUR);
    expect(schedulePeriodSeconds("cron(30 6 * * ? *)")).toBe(DAY);
    expect(schedulePeriodSeconds("cron(0 0,12 * * ? *)")).toBe(12 * HOUR);
  });

  it("takes the LONGEST interval of an irregular cron, so an alarm sized on it stays quiet over the gap", () => {
    // Hourly 08:00-17:00 UTC: quiet from 17:00 to 08:00 the next day.
    expect(schedulePeriodSeconds("cron(0 8-17 * * ? *)")).toBe(15 * HOUR);
    // Hourly on weekdays only: quiet from Friday 23:00 to Monday 00:00.
    expect(schedulePeriodSeconds("cron(0 * ? * MON-FRI *)")).toBe(49 * HOUR);
    // Every 5 minutes from minute 2: still 5 minutes apart across the hour.
    expect(schedulePeriodSeconds("cron(2/5 * * * ? *)")).toBe(300);
    // Monthly on the 1st: the longest month is 31 days.
    expect(schedulePeriodSeconds("cron(0 0 1 * ? *)")).toBe(31 * DAY);
    // Quarterly by month names, and lists.
    expect(schedulePeriodSeconds("cron(0 0 1 JAN,APR,JUL,OCT ? *)")).toBe(92 * DAY);
  });

  it("supports EventBridge's L, W and # wildcards", () => {
    // The last day of the month: 31 days apart at most (Jan 31 -> Feb 28 is 28, Feb 28 -> Mar 31 is 31).
    expect(schedulePeriodSeconds("cron(0 12 L * ? *)")).toBe(31 * DAY);
    // The second Tuesday of each month: 35 days apart at most.
    expect(schedulePeriodSeconds("cron(0 9 ? * 3#2 *)")).toBe(35 * DAY);
    // The last Friday: 35 days apart at most.
    expect(schedulePeriodSeconds("cron(0 9 ? * 6L *)")).toBe(35 * DAY);
    // Every Saturday (L alone in day-of-week).
    expect(schedulePeriodSeconds("cron(0 9 ? * L *)")).toBe(7 * DAY);
    // Weekday nearest to the 15th, and the last weekday: 28-35 days apart.
    expect(schedulePeriodSeconds("cron(0 9 15W * ? *)")).toBeGreaterThanOrEqual(28 * DAY);
    expect(schedulePeriodSeconds("cron(0 9 15W * ? *)")).toBeLessThanOrEqual(35 * DAY);
    expect(schedulePeriodSeconds("cron(0 9 LW * ? *)")).toBeLessThanOrEqual(35 * DAY);
  });

  it("gives the same answer whatever day it runs (synth output must not drift)", () => {
    const realNow = Date.now;
    try {
      Date.now = () => Date.UTC(2031, 5, 1);
      expect(schedulePeriodSeconds("cron(0 * ? * MON-FRI *)")).toBe(49 * HOUR);
    } finally {
      Date.now = realNow;
    }
  });

  it("refuses what EventBridge would refuse, naming the field", () => {
    const refused = (expression: string) => {
      try {
        schedulePeriodSeconds(expression);
      } catch (error) {
        expect(error).toBeInstanceOf(ScheduleExpressionError);
        return (error as Error).message;
      }
      throw new Error(`${expression} was accepted`);
    };
    expect(refused("cron(0 * * * * *)")).toMatch(/exactly one of day-of-month and day-of-week must be '\?'/);
    expect(refused("cron(0 * ? * ? *)")).toMatch(/exactly one of/);
    expect(refused("cron(61 * * * ? *)")).toMatch(/minutes value "61" is not in 0-59/);
    expect(refused("cron(0 5-2 * * ? *)")).toMatch(/hours range "5-2" runs backwards/);
    expect(refused("cron(0 0 1 FOO ? *)")).toMatch(/month value "FOO"/);
    expect(refused("cron(0 0 ? * 2#6 *)")).toMatch(/week number after '#' must be 1-5/);
    expect(refused("cron(0 0 1 1 ? 2020)")).toMatch(/never runs in or after 2025/);
    expect(refused("cron(0 0 1 1 ? 2030)")).toMatch(/runs once in 2030-2031/);
    expect(refused("cron(0 0 * *)")).toMatch(/six fields/);
    expect(refused("every 5 minutes")).toMatch(/not an EventBridge schedule expression/);
  });
});

describe("formatDuration", () => {
  it("says durations the way a person reads them", () => {
    expect(formatDuration(300)).toBe("5 minutes");
    expect(formatDuration(3600)).toBe("1 hour");
    expect(formatDuration(49 * HOUR)).toBe("2 days 1 hour");
    expect(formatDuration(90)).toBe("1 minute 30 seconds");
    expect(formatDuration(0)).toBe("0 seconds");
  });
});
