/**
 * The README, `help` and docs/ say what the code does: their generated blocks (the settings, the
 * outputs) are what the code renders, every npm script they name exists, the log format they show is
 * the function's, and every relative link leads to a file and heading that exist.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { LOG_HEADER } from "../function/core";
import { blockContent, BLOCKS, generate, withBlock, type GeneratedBlock } from "../scripts/docs/generate";

const ROOT = resolve(__dirname, "..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const HELP = readFileSync(join(ROOT, "help"), "utf8");
const SCRIPTS = Object.keys(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts);
const MARKDOWN = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");

/** Markdown text outside fenced code blocks. */
const prose = (markdown: string) => markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "");

/** The anchors GitHub gives a document's headings (lower case, punctuation dropped, spaces to '-', repeats numbered). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of prose(markdown).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const base = heading.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

/** Every relative link target of a document, as [document, target]. */
function relativeLinks(file: string): [string, string][] {
  const targets = [...prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
  return targets.filter((t) => !/^[a-z]+:/i.test(t)).map((t) => [file, t]);
}

describe("the README and help", () => {
  it.each(BLOCKS.map((b) => [b.file, b.name, b]))("carry the generated %s %s block as the code renders it (npm run docs rewrites it)", (_file, _name, block) => {
    expect(blockContent(read(block.file), block)).toBe(block.render());
  });

  it("npm run docs rewrites a stale block and leaves the text around it alone", () => {
    const root = mkdtempSync(join(tmpdir(), "docs-"));
    const stale = (text: string, block: GeneratedBlock) => withBlock(text, block, "stale");
    const files = [...new Set(BLOCKS.map((b) => b.file))];
    mkdirSync(join(root, "docs"));
    for (const file of files) writeFileSync(join(root, file), BLOCKS.filter((b) => b.file === file).reduce(stale, read(file)));
    expect(generate({ write: false, root })).toEqual(["README.md: settings", "docs/operations.md: outputs", "help: settings"]);
    expect(generate({ write: true, root })).toHaveLength(3);
    expect(files.map((file) => readFileSync(join(root, file), "utf8"))).toEqual(files.map(read));
    expect(generate({ write: false, root })).toEqual([]);
  });

  it("hold each generated block between one pair of markers", () => {
    for (const [text, begin, end] of [
      [README, "<!-- BEGIN GENERATED: settings (npm run docs) -->", "<!-- END GENERATED: settings -->"],
      [read("docs/operations.md"), "<!-- BEGIN GENERATED: outputs (npm run docs) -->", "<!-- END GENERATED: outputs -->"],
      [HELP, "  BEGIN GENERATED: settings (npm run docs)", "  END GENERATED: settings"],
    ]) {
      const lines = text.split("\n");
      expect([begin, lines.filter((l) => l === begin).length, lines.filter((l) => l === end).length]).toEqual([begin, 1, 1]);
      expect(lines.indexOf(begin)).toBeLessThan(lines.indexOf(end));
    }
  });

  it("show the log's header as the function writes it (19 '=')", () => {
    expect(LOG_HEADER).toBe(`ISS Location Logs\n${"=".repeat(19)}\n\n`);
    expect(README).toContain(`\`\`\`\n${LOG_HEADER}Time: `);
  });
});

describe("the README, help and docs/", () => {
  it("name only npm scripts that exist", () => {
    const text = [HELP, ...MARKDOWN.map(read)].join("\n");
    const named = [...new Set([...text.matchAll(/npm run ([a-z]+(?::[a-z]+)?)/g)].map((m) => m[1]))];
    expect(named.length).toBeGreaterThanOrEqual(5);
    expect(named.filter((name) => !SCRIPTS.includes(name))).toEqual([]);
  });

  it("link only to files and headings that exist", () => {
    const links = MARKDOWN.flatMap(relativeLinks);
    expect(links.length).toBeGreaterThanOrEqual(20);
    const broken = links.filter(([file, target]) => {
      const [path, anchor] = target.split("#");
      const to = path === "" ? file : relative(ROOT, resolve(ROOT, dirname(file), decodeURIComponent(path)));
      if (!existsSync(join(ROOT, to))) return true;
      return anchor !== undefined && (!to.endsWith(".md") || !anchors(read(to)).has(anchor));
    });
    expect(broken.map(([file, target]) => `${file} -> ${target}`)).toEqual([]);
  });

  it("find the anchors GitHub gives headings", () => {
    expect([...anchors("# A `b`: c, d\n## Large logs: `X_Y`\n```\n# not a heading\n```\n## A `b`: c, d\n")]).toEqual(["a-b-c-d", "large-logs-x_y", "a-b-c-d-1"]);
  });
});
