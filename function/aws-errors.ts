/**
 * What an AWS SDK error says about the request, for the decisions that do not depend on the service:
 * its HTTP status, its code, and whether it is worth another attempt (S3's and STS's 5xx and
 * throttling codes, a connection that broke before an answer).
 */

/** Codes S3 (and the SDK) give for a failure that says nothing about the request: try again. */
const TRANSIENT_CODES = new Set(["SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestTimeoutException"]);
/** Connection failures (the request may or may not have reached S3). */
const NETWORK_CODES = new Set(["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ECONNABORTED", "UND_ERR_SOCKET"]);

export function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

export function nameOf(error: unknown): string {
  return (error as { name?: string })?.name ?? "";
}

/** A failure worth another attempt: 5xx, S3's throttling codes, a connection that broke. */
export function isTransient(error: unknown): boolean {
  const status = statusOf(error);
  if (status !== undefined && status >= 500) return true;
  if (TRANSIENT_CODES.has(nameOf(error))) return true;
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
  return status === undefined && /socket hang up|ECONNRESET|other side closed/i.test((error as Error)?.message ?? "");
}
