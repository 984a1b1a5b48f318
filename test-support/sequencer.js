// Starts the longest test files first, so that on a fresh clone (no timing cache yet) the
// emulator end-to-end suite and the scanner overlap with everything else instead of running last.
// After the first run jest's own timing cache orders the rest.
const Sequencer = require("@jest/test-sequencer").default;

const FIRST = [/rehearsal\.e2e\.test\.ts$/, /targets\.e2e\.test\.ts$/, /checkov\.test\.ts$/];

class LongestFirst extends Sequencer {
  sort(tests) {
    const rank = (test) => {
      const i = FIRST.findIndex((pattern) => pattern.test(test.path));
      return i === -1 ? FIRST.length : i;
    };
    const sorted = super.sort(tests);
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = LongestFirst;
