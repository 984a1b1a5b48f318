/**
 * The sessions of a container, one per target: the assumed-role credentials and the S3 client that
 * signs with exactly them, kept across warm invocations and renewed a margin before they expire.
 * A session S3 refused (AccessDenied, ExpiredToken, a revoked key) is dropped, so the next run
 * assumes the role again instead of failing with it until it expires.
 *
 * One S3 client per session, built with that session's keys as a fixed identity: the SDK memoizes
 * a credential *function* until shortly before the expiration it returned, so one long-lived client
 * over a provider would keep signing with a session that was already renewed or dropped. A dropped
 * session's client is not destroyed: a concurrent run may still use it.
 */
import type { TrackerTarget } from "./contract";
import { assumeRole, type AssumedCredentials, type StsSender } from "./credentials";
import type { Deadline } from "./retry";
import type { S3Sender } from "./s3-call";

/** Renew this long before expiry, so a session never runs out in the middle of a run. */
export const REFRESH_MARGIN_MS = 10 * 60 * 1000;

export interface Session {
  readonly credentials: AssumedCredentials;
  /** Signs with exactly `credentials`. */
  readonly s3: S3Sender;
  /** True when an earlier run assumed it (no STS call this time). */
  readonly cached: boolean;
}

export interface SessionsOptions {
  readonly sts: StsSender;
  /** The S3 client for a bucket's region that signs with these credentials. */
  readonly s3Client: (region: string, credentials: AssumedCredentials) => S3Sender;
  readonly now?: () => number;
}

type SessionTarget = Pick<TrackerTarget, "accessRoleArn" | "externalId" | "bucketRegion">;

export class Sessions {
  private readonly current = new Map<string, Omit<Session, "cached">>();
  private readonly now: () => number;

  constructor(private readonly options: SessionsOptions) {
    this.now = options.now ?? Date.now;
  }

  private static keyOf(target: SessionTarget): string {
    return `${target.accessRoleArn}\n${target.externalId}\n${target.bucketRegion}`;
  }

  /**
   * The target's cached session while it has more than REFRESH_MARGIN_MS left; otherwise a new one,
   * asked for within the time `deadline` leaves minus `marginMs`.
   */
  async get(target: SessionTarget, sessionName: string, deadline: Deadline, marginMs = 0): Promise<Session> {
    const key = Sessions.keyOf(target);
    const hit = this.current.get(key);
    if (hit && hit.credentials.expiration.getTime() - this.now() > REFRESH_MARGIN_MS) return { ...hit, cached: true };
    const credentials = await assumeRole(this.options.sts, { roleArn: target.accessRoleArn, externalId: target.externalId, sessionName, deadline, marginMs });
    const session = { credentials, s3: this.options.s3Client(target.bucketRegion, credentials) };
    this.current.set(key, session);
    return { ...session, cached: false };
  }

  /** Forgets the target's session if it is still this one (a newer one, from a concurrent run, stays). */
  drop(target: SessionTarget, credentials: AssumedCredentials): boolean {
    const key = Sessions.keyOf(target);
    if (this.current.get(key)?.credentials.accessKeyId !== credentials.accessKeyId) return false;
    return this.current.delete(key);
  }
}
