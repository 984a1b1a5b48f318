/**
 * Credentials for account B: STS AssumeRole on the access role with the external id.
 *
 * Sessions are cached per (role ARN, external id) across warm invocations and renewed a margin
 * before they expire. A Lambda assuming a role is role chaining, capped at one hour. A session S3
 * refused (AccessDenied, ExpiredToken, a revoked key) is dropped with `invalidate`, so the next run
 * assumes the role again instead of failing with it until it expires. The AssumeRole call gets the
 * time left in the run (an abort signal): a hung STS ends the run cleanly, not as a Lambda timeout.
 */
import { AssumeRoleCommand, type STSClient } from "@aws-sdk/client-sts";
import { ROLE_CHAINING_MAX_SECONDS } from "./contract";
import { NO_DEADLINE, within, type Deadline } from "./retry";

export interface AssumedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** The part of STSClient used here (tests pass a mocked client). */
export type StsSender = Pick<STSClient, "send">;

/** Renew this long before expiry, so a session never runs out in the middle of a run. */
export const REFRESH_MARGIN_MS = 10 * 60 * 1000;

export class AssumeRoleError extends Error {
  override readonly name = "AssumeRoleError";
  constructor(message: string, override readonly cause: unknown) {
    super(message);
  }
}

/**
 * `<function>-<request id>`: identifies the function and the invocation in CloudTrail.
 * Only [\w+=,.@-] are kept (others become '-'), 2..64 characters; the request id is kept whole.
 */
export function roleSessionName(functionName: string | undefined, requestId: string | undefined): string {
  const clean = (s: string) => s.replace(/[^\w+=,.@-]/g, "-");
  const id = clean(requestId ?? "").slice(0, 64);
  const fn = clean(functionName || "iss-tracker");
  const room = 64 - id.length - (id ? 1 : 0);
  const name = id ? (room > 0 ? `${fn.slice(0, room)}-${id}` : id) : fn.slice(0, 64);
  return name.length >= 2 ? name : `${name}--`.slice(0, 2);
}

function explain(error: unknown, roleArn: string): string {
  const name = (error as { name?: string })?.name ?? "Error";
  const message = error instanceof Error ? error.message : String(error);
  if (name === "AccessDenied" || name === "AccessDeniedException" || /not authorized to perform: sts:AssumeRole/.test(message)) {
    return (
      `AccessDenied assuming ${roleArn}: ${message}\n` +
      `Likely causes: (1) the function's execution role policy lacks sts:AssumeRole on ${roleArn}; ` +
      `(2) the access role's trust policy does not list the execution role as principal, ` +
      `or its sts:ExternalId condition differs from EXTERNAL_ID.`
    );
  }
  return `AssumeRole on ${roleArn} failed (${name}): ${message}`;
}

export interface AssumeRoleProviderOptions {
  readonly sts: StsSender;
  readonly roleArn: string;
  readonly externalId: string;
  readonly durationSeconds?: number;
  readonly now?: () => number;
  /** Sessions by role ARN + external id; default: one cache per container. */
  readonly cache?: Map<string, AssumedCredentials>;
}

const containerCache = new Map<string, AssumedCredentials>();

export interface CredentialsResult {
  readonly credentials: AssumedCredentials;
  /** True when a cached session was reused (no STS call). */
  readonly cached: boolean;
}

export class AssumeRoleProvider {
  private readonly cache: Map<string, AssumedCredentials>;
  private readonly now: () => number;
  private readonly durationSeconds: number;

  constructor(private readonly options: AssumeRoleProviderOptions) {
    this.cache = options.cache ?? containerCache;
    this.now = options.now ?? Date.now;
    const duration = options.durationSeconds ?? ROLE_CHAINING_MAX_SECONDS;
    if (!Number.isInteger(duration) || duration < 900 || duration > ROLE_CHAINING_MAX_SECONDS) {
      throw new RangeError(`durationSeconds must be an integer in [900, ${ROLE_CHAINING_MAX_SECONDS}] (role chaining cap), got ${duration}`);
    }
    this.durationSeconds = duration;
  }

  private get cacheKey(): string {
    return `${this.options.roleArn}\n${this.options.externalId}`;
  }

  /**
   * Cached credentials while they have more than REFRESH_MARGIN_MS left; otherwise a new session,
   * asked for within the time `deadline` leaves minus `marginMs`.
   */
  async get(sessionName = roleSessionName(undefined, undefined), deadline: Deadline = NO_DEADLINE, marginMs = 0): Promise<CredentialsResult> {
    const hit = this.cache.get(this.cacheKey);
    if (hit && hit.expiration.getTime() - this.now() > REFRESH_MARGIN_MS) return { credentials: hit, cached: true };
    const { roleArn, externalId } = this.options;
    let response;
    try {
      response = await within(deadline, marginMs, `AssumeRole on ${roleArn}`, (abortSignal) =>
        this.options.sts.send(
          new AssumeRoleCommand({ RoleArn: roleArn, ExternalId: externalId, RoleSessionName: sessionName, DurationSeconds: this.durationSeconds }),
          { abortSignal },
        ),
      );
    } catch (error) {
      throw new AssumeRoleError(explain(error, roleArn), error);
    }
    const c = response.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new AssumeRoleError(`AssumeRole on ${roleArn} returned no complete credentials`, undefined);
    }
    const credentials: AssumedCredentials = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: new Date(c.Expiration),
    };
    this.cache.set(this.cacheKey, credentials);
    return { credentials, cached: false };
  }

  /** Drops the cached session if it is still this one (a newer one, from a concurrent run, stays). */
  invalidate(credentials: AssumedCredentials): boolean {
    if (this.cache.get(this.cacheKey)?.accessKeyId !== credentials.accessKeyId) return false;
    return this.cache.delete(this.cacheKey);
  }
}
