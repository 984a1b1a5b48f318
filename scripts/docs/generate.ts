/**
 * The generated blocks of README.md and `help`: the settings table, rendered from the settings table
 * (stacks/settings.ts), and the stacks' outputs, rendered from a synth of both stacks. Each block sits
 * between a BEGIN and an END marker line; everything outside them is left alone.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { defaultText, SETTINGS, type Setting } from "../../stacks/settings";
import { reviewConfig, synthesizeStacks, type Json } from "../shared/synth";

export const ROOT = resolve(__dirname, "..", "..");

/** A file's generated block: where it is and what belongs there. */
export interface GeneratedBlock {
  readonly file: string;
  readonly name: string;
  readonly begin: string;
  readonly end: string;
  readonly render: () => string;
}

const specs = () => Object.values(SETTINGS) as Setting<unknown>[];
const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\s+/g, " ").trim();

/** README: one row per setting, in the order loadConfig reads them. */
export function settingsTable(): string {
  return [
    "| variable | context key | default | meaning |",
    "|---|---|---|---|",
    ...specs().map((s) => `| \`${s.env}\` | \`${s.context}\` | ${cell(defaultText(s))} | ${cell(s.description)} |`),
  ].join("\n");
}

/** help: one line per setting (names and default; the meaning is in the README's table). */
export function settingsLines(): string {
  const rows = specs().map((s) => [s.env, `[${s.context}]`, defaultText(s).replace(/`|\*\*/g, "")]);
  const width = (i: number) => Math.max(...rows.map((r) => r[i].length));
  return rows.map((r) => `    ${r[0].padEnd(width(0))}  ${r[1].padEnd(width(1))}  ${r[2]}`.trimEnd()).join("\n");
}

/** docs/operations.md: every output of both stacks, as a synth of the example configuration declares it. */
export function outputsTable(): string {
  const stacks = synthesizeStacks(reviewConfig());
  const rows = (stack: string, json: Json) =>
    Object.entries<Json>(json.output ?? {}).map(([name, output]) => `| \`${stack}\` | \`${name}\` | ${cell(String(output.description ?? ""))} |`);
  return ["| stack | output | what |", "|---|---|---|", ...rows("iss-tracker", stacks.tracker), ...rows("bootstrap", stacks.bootstrap)].join("\n");
}

export const BLOCKS: readonly GeneratedBlock[] = [
  { file: "README.md", name: "settings", begin: "<!-- BEGIN GENERATED: settings (npm run docs) -->", end: "<!-- END GENERATED: settings -->", render: settingsTable },
  { file: "docs/operations.md", name: "outputs", begin: "<!-- BEGIN GENERATED: outputs (npm run docs) -->", end: "<!-- END GENERATED: outputs -->", render: outputsTable },
  { file: "help", name: "settings", begin: "  BEGIN GENERATED: settings (npm run docs)", end: "  END GENERATED: settings", render: settingsLines },
];

/** The text between a block's marker lines, or an error naming the missing marker. */
export function blockContent(text: string, block: GeneratedBlock): string {
  const lines = text.split("\n");
  const begin = lines.indexOf(block.begin);
  const end = lines.indexOf(block.end);
  if (begin < 0 || end < begin) throw new Error(`${block.file} has no generated ${block.name} block (the marker lines ${JSON.stringify(block.begin)} ... ${JSON.stringify(block.end)})`);
  return lines.slice(begin + 1, end).join("\n");
}

/** The text with a block's content replaced. */
export function withBlock(text: string, block: GeneratedBlock, content: string): string {
  const lines = text.split("\n");
  blockContent(text, block);
  const begin = lines.indexOf(block.begin);
  const end = lines.indexOf(block.end);
  return [...lines.slice(0, begin + 1), content, ...lines.slice(end)].join("\n");
}

/** Rewrites every block in place (`write`), or lists the blocks that differ from their rendering. */
export function generate(options: { write: boolean; root?: string }): string[] {
  const root = options.root ?? ROOT;
  const stale: string[] = [];
  const files = new Map<string, string>();
  for (const block of BLOCKS) {
    const path = join(root, block.file);
    const text = files.get(path) ?? readFileSync(path, "utf8");
    const content = block.render();
    if (blockContent(text, block) !== content) stale.push(`${block.file}: ${block.name}`);
    files.set(path, withBlock(text, block, content));
  }
  if (options.write) for (const [path, text] of files) writeFileSync(path, text);
  return stale;
}
