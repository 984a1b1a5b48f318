/**
 * The README and `help` say what the code does: every setting with its variable, context key and
 * default, every npm script the README names exists, and the log format they show is the function's.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { LOG_HEADER } from "../function/core";
import { SETTINGS } from "../stacks/config";

const ROOT = resolve(__dirname, "..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const HELP = readFileSync(join(ROOT, "help"), "utf8");
const SCRIPTS = Object.keys(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts);

describe("the README and help", () => {
  it.each(Object.values(SETTINGS).map((s) => [s.env, s.context]))("document the setting %s (context key %s) in the README's table and in help", (env, context) => {
    expect(README).toMatch(new RegExp(`^\\| \`${env}\` \\| \`${context}\` \\| `, "m"));
    expect(HELP).toMatch(new RegExp(`\\b${env}\\b.*\\[[^\\]]*\\b${context}\\b`));
  });

  it("give the same defaults as the configuration for the settings whose default is a plain value", () => {
    for (const s of Object.values(SETTINGS)) {
      if (!/^[\w.()-]+$/.test(s.default) || /^\(/.test(s.default)) continue;
      const row = new RegExp(`^\\| \`${s.env}\` \\| \`${s.context}\` \\| [^|]*${s.default.replace(/[().]/g, "\\$&")}`, "m");
      expect([s.env, README.match(row) ? "documented" : "missing"]).toEqual([s.env, "documented"]);
    }
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
