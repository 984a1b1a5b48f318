/**
 * STS AssumeRole on a target's access role with its external id: one session, asked for within the
 * time left in the run (a hung STS ends the run cleanly, not as a Lambda timeout), retried with
 * jitter while STS throttles or fails transiently. A Lambda assuming a role is role chaining,
 * capped at one hour. Caching sessions is ./sessions.ts's job.
 */
import { AssumeRoleCommand, type STSClient } from "@aws-sdk/client-sts";
import { ROLE_CHAINING_MAX_SECONDS } from "./contract";
import { NO_DEADLINE, realSleep, retryWithinDeadline, OutOfTimeError, within, type Deadline, type Sleep } from "./retry";
import { isTransient } from "./aws-errors";

export interface AssumedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** The part of STSClient used here (tests pass a mocked client). */
export type StsSender = Pick<STSClient, "send">;

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

export interface AssumeRoleOptions {
  readonly roleArn: string;
  readonly externalId: string;
  readonly sessionName: string;
  readonly deadline?: Deadline;
  /** Time kept back from the call for the rest of the run. Default 0. */
  readonly marginMs?: number;
  /** Default ROLE_CHAINING_MAX_SECONDS; at least 900. */
  readonly durationSeconds?: number;
  readonly sleep?: Sleep;
  readonly random?: () => number;
}

/** Delays between attempts of a throttled AssumeRole. */
export const ASSUME_ROLE_BACKOFF = { baseMs: 100, capMs: 1000 } as const;

export async function assumeRole(sts: StsSender, options: AssumeRoleOptions): Promise<AssumedCredentials> {
  const { roleArn, externalId, sessionName } = options;
  const duration = options.durationSeconds ?? ROLE_CHAINING_MAX_SECONDS;
  if (!Number.isInteger(duration) || duration < 900 || duration > ROLE_CHAINING_MAX_SECONDS) {
    throw new RangeError(`durationSeconds must be an integer in [900, ${ROLE_CHAINING_MAX_SECONDS}] (role chaining cap), got ${duration}`);
  }
  const deadline = options.deadline ?? NO_DEADLINE;
  const marginMs = options.marginMs ?? 0;
  const call = () => within(deadline, marginMs, `AssumeRole on ${roleArn}`, (abortSignal) =>
    sts.send(new AssumeRoleCommand({ RoleArn: roleArn, ExternalId: externalId, RoleSessionName: sessionName, DurationSeconds: duration }), { abortSignal }));
  let response;
  try {
    response = (await retryWithinDeadline(call, isTransient, {
      deadline,
      // An attempt needs the margin and a little time for STS itself.
      minAttemptMs: marginMs + 200,
      backoff: { ...ASSUME_ROLE_BACKOFF, random: options.random ?? Math.random },
      sleep: options.sleep ?? realSleep,
    })).value;
  } catch (error) {
    const cause = error instanceof OutOfTimeError ? error.last ?? error : error;
    throw new AssumeRoleError(explain(cause, roleArn), cause);
  }
  const c = response.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
    throw new AssumeRoleError(`AssumeRole on ${roleArn} returned no complete credentials`, undefined);
  }
  return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken, expiration: new Date(c.Expiration) };
}
