/**
 * What can go wrong with the log object, as the append sees it. Raised by the S3 adapters
 * (s3-call.ts, object-store.ts, multipart-append.ts), decided on by append.ts and tracker.ts.
 */

/** The object changed (or appeared, or vanished) under us: re-read and retry. */
export class ConflictError extends Error {
  override readonly name = "ConflictError";
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

/**
 * Two answers about one version disagree (bytes that are not the ETag's, sizes that differ): a read
 * met a store that was not consistent for a moment. Not a race with another writer: read again at
 * once, without backing off.
 */
export class InconsistentReadError extends ConflictError {}

/**
 * S3 did not answer usefully this time (500, 503 SlowDown, a throttle, a reset connection, a
 * response lost after the request was sent): try again, as after a lost race. A write whose answer
 * was lost may have landed: the next read tells (the entry is then found as a duplicate).
 */
export class TransientStoreError extends Error {
  override readonly name = "TransientStoreError";
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

/**
 * S3 refused the access role's session: AccessDenied, or a session S3 no longer accepts (expired,
 * revoked, unknown key). The run drops the cached session so the next run assumes the role again.
 */
export class StoreAccessDeniedError extends Error {
  override readonly name: string = "StoreAccessDeniedError";
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

/** GetObject answered 403: without s3:ListBucket, S3 says that for a missing object too. */
export class ReadDeniedError extends StoreAccessDeniedError {}

/** S3 answered something this store cannot trust (no ETag, a range without a total, a short body). */
export class StoreProtocolError extends Error {
  override readonly name = "StoreProtocolError";
}
