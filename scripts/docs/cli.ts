/**
 * npm run docs: rewrites the generated blocks of README.md and help (the settings and the outputs).
 * `npm run docs -- --check` changes nothing and exits 1 when a block is stale.
 */
import { generate } from "./generate";

const check = process.argv.includes("--check");
const stale = generate({ write: !check });
if (check && stale.length > 0) {
  console.error(`stale generated blocks (run npm run docs): ${stale.join(", ")}`);
  process.exit(1);
}
console.log(check ? "generated blocks are up to date" : stale.length ? `rewrote: ${stale.join(", ")}` : "generated blocks were up to date");
