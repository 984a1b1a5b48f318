/**
 * Command lines of the tools (`npm start`, `npm run doctor`, `npm run log`): Node's util.parseArgs,
 * strict (an unknown flag or a missing value is an error), no positional arguments, `--help`/`-h`
 * on every one, and every error followed by the usage text.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { isLoopbackUrl, type AppConfig, type TargetConfig } from "../../stacks/config";

/** Bad flags (exit 2), or `help` when --help was asked for (the usage on stdout, exit 0). */
export class UsageError extends Error {
  constructor(message: string, readonly help = false) {
    super(message);
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values<T extends Options> = ReturnType<typeof parseArgs<{ args: string[]; strict: true; allowPositionals: false; options: T }>>["values"];

/**
 * The flags' values; throws UsageError (with `usage` appended) for bad flags (an empty value, as in
 * `--profile-a=`, included), and for --help or -h.
 */
export function parseCommandLine<T extends Options>(argv: readonly string[], options: T, usage: string): Values<T> {
  if (argv.includes("--help") || argv.includes("-h")) throw new UsageError(usage, true);
  let values: Values<T>;
  try {
    values = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options }).values;
  } catch (error) {
    throw usageError((error as Error).message, usage);
  }
  const empty = Object.entries(values).find(([, value]) => value === "");
  if (empty) throw usageError(`--${empty[0]} needs a value`, usage);
  return values;
}

/** A UsageError whose message is followed by the usage text. */
export function usageError(message: string, usage: string): UsageError {
  return new UsageError(`${message}\n\n${usage}`);
}

/**
 * Runs a tool's main function with its flags parsed: --help prints the usage and exits 0, bad flags
 * print the error and exit 2, anything else exits with main's code.
 */
export async function runCommand(argv: readonly string[], main: (argv: readonly string[]) => Promise<number>): Promise<number> {
  try {
    return await main(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    (error.help ? console.log : console.error)(error.message);
    return error.help ? 0 : 2;
  }
}

/**
 * The flags of every tool that reads a deployment (`npm run doctor`, `npm run log`): where it is
 * (--endpoint, only the local emulator) and as whom (--profile-a, --profile-b).
 */
export const ACCOUNT_OPTIONS = {
  endpoint: { type: "string" },
  "profile-a": { type: "string" },
  "profile-b": { type: "string" },
} as const;

export interface AccountFlags {
  readonly endpoint?: string;
  readonly profileA?: string;
  readonly profileB?: string;
}

/** ACCOUNT_OPTIONS' values, checked: an endpoint must be a loopback URL (it is never a real account). */
export function accountFlags(values: { readonly endpoint?: string; readonly "profile-a"?: string; readonly "profile-b"?: string }, usage: string): AccountFlags {
  if (values.endpoint !== undefined && !isLoopbackUrl(values.endpoint)) {
    throw usageError(`--endpoint must be a loopback URL (the local emulator), got ${values.endpoint}`, usage);
  }
  return { endpoint: values.endpoint, profileA: values["profile-a"], profileB: values["profile-b"] };
}

/** The flag of every tool that reads a deployment's targets: one account B, or (absent) all of them. */
export const TARGET_OPTION = { target: { type: "string" } } as const;

/**
 * The targets a tool reads: the one `--target` names (its account id), or every configured target.
 * Throws a UsageError naming the configured ones when `--target` is not one of them.
 */
export function selectTargets(config: Pick<AppConfig, "targets">, target: string | undefined, usage: string): readonly TargetConfig[] {
  if (target === undefined) return config.targets;
  const found = config.targets.filter((t) => t.accountId === target);
  if (found.length === 0) {
    throw usageError(`--target ${target} is not a configured target (ACCOUNT_B_ID or TARGETS lists ${config.targets.map((t) => t.accountId).join(", ")})`, usage);
  }
  return found;
}

/** Rows of cells as aligned columns, two spaces apart (the tools' per-target tables). */
export function alignColumns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}
