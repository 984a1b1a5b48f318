import { parseRehearsalFlags, USAGE } from "../../../scripts/rehearsal/cli";
import { UsageError } from "../../../scripts/shared/cli";

describe("npm start's flags", () => {
  it("defaults to 3 runs, 1 at once, one account B, torn down, simulated orbit, quiet", () => {
    expect(parseRehearsalFlags([])).toEqual({ runs: 3, parallel: 1, targets: 1, keep: false, live: false, verbose: false });
  });

  it("takes every flag, with the value separate or after =", () => {
    expect(parseRehearsalFlags(["--runs", "20", "--parallel=20", "--targets", "3", "--keep", "--live", "--verbose"]))
      .toEqual({ runs: 20, parallel: 20, targets: 3, keep: true, live: true, verbose: true });
  });

  it.each([
    [["--runs"], /--runs/],
    [["--runs", "0"], /--runs needs a whole number from 1 to 1000, got "0"/],
    [["--runs", "1001"], /--runs needs a whole number from 1 to 1000/],
    [["--parallel", "x"], /--parallel needs a whole number/],
    [["--parallel", "2.5"], /--parallel needs a whole number/],
    [["--targets", "0"], /--targets needs a whole number from 1 to 8, got "0"/],
    [["--targets", "9"], /--targets needs a whole number from 1 to 8, got "9"/],
    [["--bogus"], /Unknown option '--bogus'/],
    [["--keep=1"], /--keep/],
    [["extra"], /positional/],
  ])("rejects %j with a message naming the flag, followed by the usage", (argv, message) => {
    expect(() => parseRehearsalFlags(argv)).toThrow(message);
    expect(() => parseRehearsalFlags(argv)).toThrow(/usage: npm start --/);
  });

  it("--help and -h ask for the usage text (exit 0), which lists every flag", () => {
    for (const flag of ["--help", "-h"]) {
      let error: unknown;
      try {
        parseRehearsalFlags([flag]);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).help).toBe(true);
      expect((error as UsageError).message).toBe(USAGE);
    }
    for (const flag of ["--runs N", "--parallel P", "--targets T", "--keep", "--live", "--verbose", "--help"]) expect(USAGE).toContain(flag);
  });
});
