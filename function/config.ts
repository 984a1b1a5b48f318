/**
 * The function's configuration, read from the Lambda environment the stack sets.
 * Every problem names its variable and is thrown before anything is read or written.
 */
import { FUNCTION_DEFAULTS, readTrackerEnvironment, type TrackerSettings } from "./contract";

export const MIN_MULTIPART_THRESHOLD = 5 * 1024 * 1024; // S3's minimum part size
/** A single PutObject carries at most 5 GiB: read-modify-write cannot go beyond that. */
export const MAX_MULTIPART_THRESHOLD = 5 * 1024 * 1024 * 1024;
/**
 * What Node, the SDK and the bundle take before any object is held: measured here, a node process
 * is at 39 MiB RSS, 57 MiB once the bundle is loaded; the rest of the reserve covers clients and
 * sockets of a run.
 */
export const RUNTIME_RESERVE_MB = 64;

/**
 * The largest MULTIPART_THRESHOLD_BYTES a function of `memoryMb` can afford. Below the threshold
 * the append reads the object whole and writes it back, holding it about twice at once (the read
 * and the concatenated body) plus the SDK's buffers: a third of what the runtime leaves, to keep
 * headroom. 256 MB → 64 MiB; 128 MB (Lambda's minimum) → 21 MiB; never above 5 GiB.
 */
export function maxMultipartThreshold(memoryMb: number): number {
  const bytes = Math.floor(((memoryMb - RUNTIME_RESERVE_MB) * 1024 * 1024) / 3);
  return Math.min(MAX_MULTIPART_THRESHOLD, Math.max(MIN_MULTIPART_THRESHOLD, bytes));
}

export interface TrackerConfig extends TrackerSettings {
  readonly multipartThresholdBytes: number;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** The function's configuration: the stack's variables (./contract.ts) and its own MULTIPART_THRESHOLD_BYTES. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TrackerConfig {
  const { settings, problems } = readTrackerEnvironment(env);

  const memoryRaw = env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE?.trim();
  const memoryMb = memoryRaw && /^\d+$/.test(memoryRaw) ? Number(memoryRaw) : FUNCTION_DEFAULTS.memoryMb; // a local run: the stack's memory
  const maxThreshold = maxMultipartThreshold(memoryMb);
  let multipartThresholdBytes = MIN_MULTIPART_THRESHOLD;
  const thresholdRaw = env.MULTIPART_THRESHOLD_BYTES?.trim();
  if (thresholdRaw) {
    const n = /^\d+$/.test(thresholdRaw) ? Number(thresholdRaw) : NaN;
    if (!Number.isSafeInteger(n) || n < MIN_MULTIPART_THRESHOLD || n > maxThreshold) {
      problems.push(
        `MULTIPART_THRESHOLD_BYTES is invalid: ${JSON.stringify(thresholdRaw)} (an integer number of bytes from ` +
          `${MIN_MULTIPART_THRESHOLD} (5 MiB, S3's minimum part size) to ${maxThreshold} (a third of what ${memoryMb} MB of function memory` +
          `${memoryRaw ? "" : " (assumed: AWS_LAMBDA_FUNCTION_MEMORY_SIZE is not set)"} leaves after the runtime: below the threshold ` +
          `the object is held in memory about twice). Lower it, or give the function more memory`,
      );
    } else {
      multipartThresholdBytes = n;
    }
  }

  if (problems.length > 0 || !settings) {
    throw new ConfigError(`Invalid function configuration:\n- ${problems.join("\n- ")}`);
  }
  return { ...settings, multipartThresholdBytes };
}
