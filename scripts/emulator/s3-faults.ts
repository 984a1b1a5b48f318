/**
 * S3 fault injection (a gateway middleware, see ./gateway.ts): the answers a real S3, or a store
 * that claims to be S3, gives under load or failure, which moto never gives. Each fault is off
 * until a test or a benchmark switches it on, and each is counted (how many requests it could
 * have hit, how many it did hit), so a run says what it was exposed to. The gate sits in front of
 * the conditional-write gate (./s3-gate.ts): a write it lets through is checked and committed
 * there, and a fault "after the commit" really comes after it.
 *
 *   conflicts            the next N conditional writes (PutObject or CompleteMultipartUpload with
 *                        If-Match / If-None-Match) answered 409 ConditionalRequestConflict without
 *                        being forwarded: S3's answer to a concurrent conflicting write
 *                        (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
 *   inconsistentReads    a ranged GetObject answered with the bytes of the object's previous
 *                        version (read from moto with `versionId`, so the bucket must be
 *                        versioned) under the ETag, version id and other headers of the current
 *                        one. The answer's framing (status, Content-Range, Content-Length)
 *                        describes the bytes sent, so the body is self-consistent and only a
 *                        comparison with what the store states for the version (its ETag, or a
 *                        checksum asked for separately) tells it is stale. The whole-object
 *                        checksum headers moto adds are left out, as S3 leaves them out of a
 *                        byte-range answer (the SDK would otherwise catch the mismatch by itself). S3 never does this; an emulator written by
 *                        others was seen to under concurrent writes. A GET of an object that has no
 *                        previous version is answered as moto answered it (and not counted as hit).
 *   slowDown             a GetObject answered 503 SlowDown (S3's XML error body, optionally a
 *                        Retry-After header) without being forwarded: S3 throttling a prefix
 *                        (https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html).
 *   lostResponses        a PutObject or CompleteMultipartUpload forwarded, committed by moto (the
 *                        object has the new version), and then the client's answer lost: a 500
 *                        InternalError, or the socket destroyed without an answer. What a client
 *                        sees when S3 committed the write and the response did not reach it.
 *
 * A rate is `{ every: k }` (the k-th, 2k-th, ... eligible request) or `{ fraction: p, seed }`
 * (each eligible request with probability p, from a seeded generator, so a run can be repeated).
 * `appliesTo` limits the faults to some requests (e.g. one object key), so the rest of a shared
 * emulator (Terraform's calls, an administrator's reads) is never hit.
 */
import { GetObjectCommand, ListObjectVersionsCommand } from "@aws-sdk/client-s3";
import { s3Error, type Gate, type GatewayReply, type GatewayRequest } from "./gateway";
import { bucketAdminClients, type BucketReader } from "./s3-admin";
import { classify, header, isGetObject, isS3, parseS3Target, type S3Target } from "./s3-request";

export type FaultRate = { readonly every: number } | { readonly fraction: number; readonly seed?: number };

export interface FaultSettings {
  readonly inconsistentReads?: FaultRate;
  readonly slowDown?: FaultRate & { readonly retryAfterSeconds?: number };
  readonly lostResponses?: FaultRate & { readonly as?: "500" | "reset" };
}

/** Per fault: requests it could have hit since it was counted, and the ones it did hit. */
export interface FaultCount {
  eligible: number;
  injected: number;
}

export interface FaultStats {
  readonly conflicts: FaultCount;
  readonly inconsistentReads: FaultCount;
  readonly slowDown: FaultCount;
  readonly lostResponses: FaultCount;
}

export interface S3FaultsOptions {
  /** moto's endpoint: the gate reads earlier versions there directly. */
  readonly upstream: string;
  /** Credentials of its own reads: an administrator of the bucket's account (moto's IAM enforcement may be on). */
  readonly readAs: BucketReader;
  /** Signing region of those reads. Default us-east-1. */
  readonly region?: string;
}

export interface S3Faults {
  readonly gate: Gate;
  /** Answers the next `count` conditional writes with S3's 409 ConditionalRequestConflict, without forwarding them. */
  injectConflicts(count: number): void;
  /** Switches faults on (a rate) or off (undefined); faults not named keep their setting. Restarts the named faults' rates. */
  set(settings: FaultSettings): void;
  /** Limits every fault to the requests this accepts (default: all S3 object requests). */
  appliesTo(filter: ((target: S3Target, req: GatewayRequest) => boolean) | undefined): void;
  /** Every fault off, pending conflicts dropped, the filter removed (the counts stay). */
  clear(): void;
  /** A copy of the counts so far. */
  stats(): FaultStats;
}

/** A deterministic generator in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Whether each successive eligible request is hit, for a rate. */
export function selector(rate: FaultRate): () => boolean {
  if ("every" in rate) {
    if (!Number.isInteger(rate.every) || rate.every < 1) throw new RangeError(`a fault rate's every must be a whole number >= 1, got ${rate.every}`);
    let n = 0;
    return () => ++n % rate.every === 0;
  }
  if (!(rate.fraction >= 0 && rate.fraction <= 1)) throw new RangeError(`a fault rate's fraction must be in [0, 1], got ${rate.fraction}`);
  const random = seededRandom(rate.seed ?? 1);
  return () => random() < rate.fraction;
}

const CONFLICT_MESSAGE = "A conflicting operation occurred. If using PutObject you can retry the request. If using multipart upload you should initiate another CreateMultipartUpload request and re-upload each part.";

/** Headers that describe the bytes of an answer (taken from the version whose bytes are sent). */
const FRAMING = new Set(["content-range", "content-length", "transfer-encoding"]);

export function s3Faults(options: S3FaultsOptions): S3Faults {
  const counts: FaultStats = {
    conflicts: { eligible: 0, injected: 0 },
    inconsistentReads: { eligible: 0, injected: 0 },
    slowDown: { eligible: 0, injected: 0 },
    lostResponses: { eligible: 0, injected: 0 },
  };
  let conflictsToInject = 0;
  let settings: FaultSettings = {};
  let pick: { [K in keyof FaultSettings]?: () => boolean } = {};
  let filter: ((target: S3Target, req: GatewayRequest) => boolean) | undefined;

  const clientFor = bucketAdminClients(options);

  /** The version written just before `versionId` (undefined when there is none). */
  const previousVersion = async (bucket: string, key: string, versionId: string): Promise<string | undefined> => {
    const client = await clientFor(bucket);
    // Newest first, as S3 lists them and moto too (its LastModified has whole seconds only, so the
    // listing's order is the one to trust).
    const versions: string[] = [];
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    for (;;) {
      const page = await client.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }));
      for (const v of page.Versions ?? []) if (v.Key === key && v.VersionId) versions.push(v.VersionId);
      if (!page.IsTruncated) break;
      keyMarker = page.NextKeyMarker;
      versionIdMarker = page.NextVersionIdMarker;
    }
    const i = versions.indexOf(versionId);
    return i < 0 ? undefined : versions[i + 1];
  };

  /** The current answer's headers with the previous version's bytes (and the framing that describes them). */
  const staleRead = async (req: GatewayRequest, target: S3Target, current: GatewayReply): Promise<GatewayReply | undefined> => {
    const currentVersion = current.headers["x-amz-version-id"];
    if (typeof currentVersion !== "string" || currentVersion === "null") return undefined;
    const previous = await previousVersion(target.bucket, target.key, currentVersion);
    if (!previous) return undefined;
    const old = await (await clientFor(target.bucket)).send(new GetObjectCommand({
      Bucket: target.bucket, Key: target.key, VersionId: previous, Range: header(req, "range"),
    }));
    const body = Buffer.from(await old.Body!.transformToByteArray());
    const headers = Object.fromEntries(Object.entries(current.headers).filter(([name]) => !FRAMING.has(name) && !name.startsWith("x-amz-checksum-")));
    if (old.ContentRange) headers["content-range"] = old.ContentRange;
    return { status: old.$metadata.httpStatusCode ?? (old.ContentRange ? 206 : 200), headers, body };
  };

  const gate: Gate = async (req, next) => {
    if (!isS3(req)) return next();
    const target = parseS3Target(req.url, header(req, "host"));
    if (!target || !target.key || (filter && !filter(target, req))) return next();
    const operation = classify(req, target);

    const conditional = header(req, "if-match") !== undefined || header(req, "if-none-match") !== undefined;
    if (conditional && (operation === "CompleteMultipartUpload" || operation === "PutObject")) {
      counts.conflicts.eligible++;
      if (conflictsToInject > 0) {
        conflictsToInject--;
        counts.conflicts.injected++;
        return s3Error(409, "ConditionalRequestConflict", CONFLICT_MESSAGE, { Key: target.key });
      }
    }

    if (isGetObject(req, target)) {
      if (settings.slowDown && pick.slowDown) {
        counts.slowDown.eligible++;
        if (pick.slowDown()) {
          counts.slowDown.injected++;
          const reply = s3Error(503, "SlowDown", "Please reduce your request rate.");
          const retryAfter = settings.slowDown.retryAfterSeconds;
          return retryAfter === undefined ? reply : { ...reply, headers: { ...reply.headers, "retry-after": String(retryAfter) } };
        }
      }
      const reply = await next();
      if (settings.inconsistentReads && pick.inconsistentReads && header(req, "range") !== undefined && reply.status >= 200 && reply.status < 300) {
        counts.inconsistentReads.eligible++;
        if (pick.inconsistentReads()) {
          const stale = await staleRead(req, target, reply);
          if (stale) {
            counts.inconsistentReads.injected++;
            return stale;
          }
        }
      }
      return reply;
    }

    if (settings.lostResponses && pick.lostResponses && (operation === "PutObject" || operation === "CompleteMultipartUpload")) {
      const reply = await next();
      // CompleteMultipartUpload can fail with 200 and an <Error> body: then nothing was committed.
      const committed = reply.status === 200 && !/<Error>/.test(reply.body.subarray(0, 512).toString("utf8"));
      if (!committed) return reply;
      counts.lostResponses.eligible++;
      if (!pick.lostResponses()) return reply;
      counts.lostResponses.injected++;
      if (settings.lostResponses.as === "reset") return { ...reply, abort: true };
      return s3Error(500, "InternalError", "We encountered an internal error. Please try again.");
    }
    return next();
  };

  const set = (changes: FaultSettings) => {
    settings = { ...settings, ...changes };
    for (const name of Object.keys(changes) as Array<keyof FaultSettings>) {
      const rate = changes[name];
      pick = { ...pick, [name]: rate === undefined ? undefined : selector(rate) };
    }
  };

  return {
    gate,
    injectConflicts: (count) => {
      conflictsToInject += count;
    },
    set,
    appliesTo: (accept) => {
      filter = accept;
    },
    clear: () => {
      settings = {};
      pick = {};
      conflictsToInject = 0;
      filter = undefined;
    },
    stats: () => ({
      conflicts: { ...counts.conflicts },
      inconsistentReads: { ...counts.inconsistentReads },
      slowDown: { ...counts.slowDown },
      lostResponses: { ...counts.lostResponses },
    }),
  };
}
