/**
 * npm run diff -- <stack> [cdktf flags], npm run deploy -- <stack> [cdktf flags]: `cdktf diff` /
 * `cdktf deploy` of one stack, after checking, in seconds, that the credentials it needs are there
 * (credentials.ts). A missing or wrong credential is one line naming the account and how to
 * provide it (exit 1), instead of Terraform's generic error after half a minute. Terraform finds
 * the provider as the project's tests do (an offline mirror when there is one).
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ConfigError } from "../../stacks/config";
import { runCommand, usageError, UsageError } from "../shared/cli";
import { applyTerraformEnv } from "../shared/terraform-env";
import { checkCredentials, STACKS, type StackName } from "./credentials";
import { projectConfig } from "./review";
import { PROJECT_ROOT } from "./stack-folders";

export const VERBS = ["diff", "deploy"] as const;
export type Verb = (typeof VERBS)[number];

export const usage = (verb: Verb) => `usage: npm run ${verb} -- <${STACKS.join("|")}> [cdktf ${verb} flags]

Checks that the stack's credentials are there (iss-tracker: account A's, and the bootstrap role in B
they must be able to assume; bootstrap: account B's), then runs cdktf ${verb} <stack> with the flags given.`;

/** The stack and the flags passed through to cdktf; throws UsageError for a missing or unknown stack. */
export function parseStackArgs(verb: Verb, argv: readonly string[]): { stack: StackName; passThrough: string[] } {
  if (argv.includes("--help") || argv.includes("-h")) throw new UsageError(usage(verb), true);
  const [stack, ...passThrough] = argv;
  if (!stack) throw usageError("name the stack", usage(verb));
  if (!(STACKS as readonly string[]).includes(stack)) throw usageError(`unknown stack ${JSON.stringify(stack)}`, usage(verb));
  return { stack: stack as StackName, passThrough };
}

export async function main(verb: Verb, argv: readonly string[]): Promise<number> {
  const { stack, passThrough } = parseStackArgs(verb, argv);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"; // one line, not the SDK's Node notice
  let config;
  try {
    config = projectConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 1;
  }
  const report = await checkCredentials(stack, config, { command: `npm run ${verb} -- ${stack}` });
  if (!report.ok) {
    console.error(report.line);
    return 1;
  }
  console.error(report.line);
  const env = { ...process.env };
  delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
  applyTerraformEnv(env);
  const cdktf = spawnSync(join(PROJECT_ROOT, "node_modules", ".bin", "cdktf"), [verb, stack, ...passThrough], { cwd: PROJECT_ROOT, env, stdio: "inherit" });
  return cdktf.status ?? 1;
}

if (require.main === module) {
  const [verb, ...argv] = process.argv.slice(2);
  if (!(VERBS as readonly string[]).includes(verb)) {
    console.error(`scripts/review/cdktf.ts: the first argument is one of ${VERBS.join(", ")}`);
    process.exit(2);
  }
  runCommand(argv, (args) => main(verb as Verb, args)).then((code) => process.exit(code));
}
