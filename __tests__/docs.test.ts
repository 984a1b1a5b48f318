/**
 * The README and `help` say what the code does: their generated blocks (the settings, the outputs) are
 * what the code renders, every npm script they name exists, and the log format they show is the function's.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { LOG_HEADER } from "../function/core";
import { blockContent, BLOCKS, generate, withBlock, type GeneratedBlock } from "../scripts/docs/generate";

const ROOT = resolve(__dirname, "..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const HELP = readFileSync(join(ROOT, "help"), "utf8");
const SCRIPTS = Object.keys(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts);

describe("the README and help", () => {
  it.each(BLOCKS.map((b) => [b.file, b.name, b]))("carry the generated %s %s block as the code renders it (npm run docs rewrites it)", (_file, _name, block) => {
    const text = readFileSync(join(ROOT, block.file), "utf8");
    expect(blockContent(text, block)).toBe(block.render());
  });

  it("npm run docs rewrites a stale block and leaves the text around it alone", () => {
    const root = mkdtempSync(join(tmpdir(), "docs-"));
    const stale = (text: string, block: GeneratedBlock) => withBlock(text, block, "stale");
    writeFileSync(join(root, "README.md"), BLOCKS.filter((b) => b.file === "README.md").reduce(stale, README));
    writeFileSync(join(root, "help"), BLOCKS.filter((b) => b.file === "help").reduce(stale, HELP));
    expect(generate({ write: false, root })).toEqual(["README.md: settings", "README.md: outputs", "help: settings"]);
    expect(generate({ write: true, root })).toHaveLength(3);
    expect([readFileSync(join(root, "README.md"), "utf8"), readFileSync(join(root, "help"), "utf8")]).toEqual([README, HELP]);
    expect(generate({ write: false, root })).toEqual([]);
  });

  it("name only npm scripts that exist", () => {
    const named = [...new Set([...`${README}\n${HELP}`.matchAll(/npm run ([a-z]+(?::[a-z]+)?)/g)].map((m) => m[1]))];
    expect(named.length).toBeGreaterThanOrEqual(5);
    expect(named.filter((name) => !SCRIPTS.includes(name))).toEqual([]);
  });

  it("show the log's header as the function writes it (19 '=', like seed 003)", () => {
    expect(LOG_HEADER).toBe(`ISS Location Logs\n${"=".repeat(19)}\n\n`);
    expect(README).toContain(`\`\`\`\n${LOG_HEADER}Time: `);
  });
});
