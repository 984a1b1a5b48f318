/**
 * Draws docs/iss-track.png, the README's picture: the positions the rehearsal's ISS simulator
 * (scripts/emulator/iss-simulator.ts, what every `npm start` serves) gives at the default schedule,
 * rate(5 minutes), over six hours, written as the function writes them (formatEntry), read back as
 * `npm run log` reads them (parseLog) and drawn by `npm run log -- --map`. A rehearsal's own runs are
 * a second or two apart, so the map `npm start` writes shows a single spot; this shows what a
 * tracker that ran for six hours would show. One run of the schedule is missing on purpose (the
 * line breaks there, as it does over any gap longer than two periods).
 *
 *   npx tsx scripts/log/sample-map.ts [out.png]
 */
import { resolve } from "node:path";
import { formatEntry, LOG_HEADER, parseLog } from "../../function/core";
import { simulatedPosition } from "../emulator/iss-simulator";
import { writeTrackMap } from "./map";

const PERIOD = 300;
const START = Date.UTC(2026, 0, 1, 6, 0, 0) / 1000;
const MISSING = START + 3 * 3600;

function main(out: string): void {
  let log = LOG_HEADER;
  for (let t = START; t < START + 6 * 3600; t += PERIOD) {
    if (t >= MISSING && t < MISSING + 3 * PERIOD) continue;
    const { latitude, longitude } = simulatedPosition(t);
    log += formatEntry({ timestamp: t, latitude, longitude });
  }
  const { entries } = parseLog(log);
  const map = writeTrackMap(out, entries, { width: 800, gapSeconds: 2 * PERIOD, subtitle: "the rehearsal's simulated orbit, rate(5 minutes), one gap" });
  console.log(`${map.path}: ${map.width}x${map.height}, ${entries.length} positions, ${map.bytes} bytes`);
}

main(resolve(process.argv[2] ?? resolve(__dirname, "..", "..", "docs", "iss-track.png")));
