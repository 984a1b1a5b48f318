/**
 * npm run synth [-- --output DIR]: both stacks as `cdktf synth` writes them, and beside them the
 * plain Terraform for review with each stack's digest (review.ts). Exits 1 on a bad setting or
 * when an expectation of `npm run prove` does not hold (the files are written either way).
 */
import { ConfigError } from "../../stacks/config";
import { parseCommandLine, runCommand } from "../shared/cli";
import { DEFAULT_OUTDIR, formatReview, synthForReview } from "./review";

export const USAGE = `usage: npm run synth -- [--output DIR] [--help]

Synthesizes both stacks into DIR/stacks/<stack>/cdk.tf.json (default DIR: cdktf.out), exactly what
cdktf synth writes and cdktf deploy applies, and writes beside them, for review:
  DIR/review/<stack>/main.tf     the same configuration as plain Terraform (terraform fmt-clean)
  DIR/review/<stack>/DIGEST.md   each role: who may assume it, what it may do, its boundary;
                                 the resource policies; what npm run prove answered
Configuration as for cdktf synth (environment variables, cdktf.json context).`;

if (require.main === module) {
  runCommand(process.argv.slice(2), async (argv) => {
    const { output } = parseCommandLine(argv, { output: { type: "string" } }, USAGE);
    try {
      const result = await synthForReview(output ?? DEFAULT_OUTDIR);
      console.log(formatReview(result));
      return result.rows.every((r) => r.ok) ? 0 : 1;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      console.error(error.message);
      return 1;
    }
  }).then((code) => process.exit(code));
}
