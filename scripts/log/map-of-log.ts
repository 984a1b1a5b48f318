/**
 * The log's ground track drawn from a read through the chain: what `npm start` does after its
 * runs (as the execution role: the function's own chain, behind the emulator's STS gate), by the
 * same code as `npm run log -- --map`.
 */
import { parseLog } from "../../function/core";
import { writeTrackMap, type WrittenMap } from "./map";
import { readLog, type LogLocation, type LogReadOptions } from "./read";

/** Reads the log through the chain and draws its ground track to `path` (gaps: two schedule periods). */
export async function mapOfLog(location: LogLocation, options: LogReadOptions, path: string, periodSeconds: number): Promise<{ entries: number; map: WrittenMap }> {
  const read = await readLog(location, options);
  const { entries } = parseLog(read.text ?? "");
  const map = writeTrackMap(path, entries, { gapSeconds: 2 * periodSeconds, subtitle: `s3://${location.bucket}/${location.key}` });
  return { entries: entries.length, map };
}
