/**
 * The storage model behind scripts/bench/storage.ts: hand-computed cases, and the default
 * retention's claim (at least 10x less than 30 days after a year at 5-minute runs).
 */
import { meanEntryBytes, RETENTIONS, storedBytes } from "../../../scripts/bench/storage";
import { loadConfig, SETTINGS } from "../../../stacks/config";

describe("storage model", () => {
  // One run a day at midnight, 10-byte entries, no header: the log after run k is 10k bytes.
  it("keeps a replaced version until the midnight after its retention days (1 day: versions 9 and 10 at day 10)", () => {
    expect(storedBytes({ label: "", noncurrentDays: 1, newerNoncurrentVersions: 0 }, [10], 1440, 10, 0)).toEqual([{ log: 100, average: 190, peak: 190 }]);
  });

  it("never expires one of the N newest noncurrent versions (N = 3: versions 7 to 10 at day 10)", () => {
    expect(storedBytes({ label: "", noncurrentDays: 1, newerNoncurrentVersions: 3 }, [10], 1440, 10, 0)).toEqual([{ log: 100, average: 340, peak: 340 }]);
  });

  it("keeps every version while none is old enough (30 days, at day 10: all ten)", () => {
    expect(storedBytes({ label: "", noncurrentDays: 30, newerNoncurrentVersions: 0 }, [10], 1440, 10, 0)[0].average).toBe(550);
  });

  it("measures entries with the function's own format (about 65 bytes on the simulated orbit)", () => {
    expect(meanEntryBytes(5)).toBeGreaterThan(60);
    expect(meanEntryBytes(5)).toBeLessThan(70);
  });

  it("models the configuration's defaults, and they store at least 10x less after a year than 30 days at 5-minute runs", () => {
    const config = loadConfig({ env: { ACCOUNT_B_ID: "222222222222" } });
    const byDefault = RETENTIONS.find((r) => r.label.includes("(default)"))!;
    expect([byDefault.noncurrentDays, byDefault.newerNoncurrentVersions]).toEqual([config.noncurrentVersionDays, config.newerNoncurrentVersions]);
    expect([SETTINGS.noncurrentVersionDays.default, SETTINGS.newerNoncurrentVersions.default]).toEqual([1, 5]);
    const entry = meanEntryBytes(5);
    const [former] = storedBytes(RETENTIONS[0], [365], 5, entry, 39);
    const [now] = storedBytes(byDefault, [365], 5, entry, 39);
    expect(former.average / now.average).toBeGreaterThanOrEqual(10);
    // The former default's year is the ~60 GB the issue measured.
    expect(former.average / 1e9).toBeGreaterThan(50);
    expect(former.average / 1e9).toBeLessThan(65);
  });
});
