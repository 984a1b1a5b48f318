/**
 * npm run test:node -- [majors...] [--start] [--refresh]: the fast suites and the cdktf CLI under
 * other Node versions (see matrix.ts). Not part of `npm test`: each major costs a ~50 MB download
 * once and a few minutes of CPU.
 */
import { parseArgs } from "node:util";
import { runCommand, usageError, UsageError } from "../shared/cli";
import { formatResults, runMatrix, SUPPORTED_NODE_MAJORS, type MatrixOptions } from "./matrix";

export const USAGE = `usage: npm run test:node -- [MAJOR ...] [--current] [--start] [--refresh] [--help]

Fetches Node's official binary for each MAJOR from the npm registry into .local/node/<MAJOR> (once),
then runs under it, with it first on PATH: npm run test:fast, cdktf synth, cdktf synth --hcl and
npm run synth. Default majors: the supported ones (${SUPPORTED_NODE_MAJORS.join(", ")}) other than this Node's.

  --current  run the checks under this Node instead, fetching nothing (the CI workflow's Node matrix)
  --start    also npm start (the emulator rehearsal: cdktf deploy and destroy of both stacks)
  --refresh  fetch each binary again (the newest release of its major)
  --help     this text

Ends with a table of every check; exits 1 when one failed. A major the registry does not serve
for this platform is reported as not installable and fails nothing.`;

/** The command line's options; throws UsageError on bad input. */
export function parseMatrixArgs(argv: readonly string[], currentMajor = Number(process.versions.node.split(".")[0])): MatrixOptions {
  if (argv.includes("--help") || argv.includes("-h")) throw new UsageError(USAGE, true);
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], strict: true, allowPositionals: true, options: { start: { type: "boolean" }, refresh: { type: "boolean" }, current: { type: "boolean" } } });
  } catch (error) {
    throw usageError((error as Error).message, USAGE);
  }
  const majors = parsed.positionals.map((p) => {
    if (!/^\d+$/.test(p)) throw usageError(`a Node major is a whole number (e.g. 24), got ${JSON.stringify(p)}`, USAGE);
    const major = Number(p);
    if (!(SUPPORTED_NODE_MAJORS as readonly number[]).includes(major)) {
      throw usageError(`Node ${major} is not a supported major (${SUPPORTED_NODE_MAJORS.join(", ")})`, USAGE);
    }
    return major;
  });
  const current = parsed.values.current ?? false;
  if (current && majors.length > 0) throw usageError("--current runs under this Node only: give no majors with it", USAGE);
  return {
    current,
    majors: current ? [] : majors.length > 0 ? [...new Set(majors)] : SUPPORTED_NODE_MAJORS.filter((m) => m !== currentMajor),
    start: parsed.values.start ?? false,
    refresh: parsed.values.refresh ?? false,
  };
}

if (require.main === module) {
  runCommand(process.argv.slice(2), async (argv) => {
    const options = parseMatrixArgs(argv);
    const { results, ok } = runMatrix(options);
    console.log(formatResults(results));
    return ok ? 0 : 1;
  }).then((code) => process.exit(code));
}
