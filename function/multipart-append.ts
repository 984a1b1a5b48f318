/**
 * The multipart append: a new version of the log made of the current object, copied server-side
 * (UploadPartCopy pinned to its ETag), and the appendix as the last part, completed with
 * `If-Match: <etag>` so it lands only if nobody wrote in between. The object's bytes never pass
 * through the function; each call is S3's own conditional request, so a lost race is a 412 (a
 * ConflictError from ./s3-call.ts). On any failure the upload is aborted within the margin kept for
 * it; one left behind is the bucket's lifecycle rule's to remove.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type CompleteMultipartUploadCommandOutput,
  type CreateMultipartUploadCommandOutput,
  type UploadPartCommandOutput,
  type UploadPartCopyCommandOutput,
} from "@aws-sdk/client-s3";
import { ABORT_MARGIN_MS, LOG_MARGIN_MS } from "./retry";
import { nameOf } from "./aws-errors";
import type { S3Calls } from "./s3-call";
import { StoreProtocolError } from "./store-errors";

export const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024; // 5 GiB, S3's largest part

/** Byte ranges (inclusive) of at most MAX_PART_BYTES, each at least 5 MiB when there are several. */
export function copyRanges(size: number, maxPart = MAX_PART_BYTES): Array<[number, number]> {
  const count = Math.max(1, Math.ceil(size / maxPart));
  const step = Math.ceil(size / count);
  const ranges: Array<[number, number]> = [];
  for (let start = 0; start < size; start += step) ranges.push([start, Math.min(size, start + step) - 1]);
  return ranges;
}

export interface MultipartTarget {
  readonly bucket: string;
  readonly key: string;
  readonly contentType: string;
  /** The new version's user metadata (a multipart upload's is set when it is created). */
  readonly Metadata?: Record<string, string>;
  /** The account that must own the bucket (ExpectedBucketOwner, and ExpectedSourceBucketOwner on the copy). */
  readonly expectedOwner?: string;
  /** Counts the appendix's bytes once S3 took them. */
  readonly uploaded: (bytes: number) => void;
  /** Says that an upload is left behind. */
  readonly warn: (msg: string, fields: Readonly<Record<string, unknown>>) => void;
}

/** Appends `appendix` to the object of ETag `etag` and `size` bytes; returns the new ETag. */
export async function appendMultipart(calls: S3Calls, target: MultipartTarget, appendix: Buffer, etag: string, size: number): Promise<string> {
  const { bucket: Bucket, key: Key } = target;
  const owner = target.expectedOwner === undefined ? {} : { ExpectedBucketOwner: target.expectedOwner };
  const uploadId = await calls.send<CreateMultipartUploadCommandOutput, string>(
    "CreateMultipartUpload",
    new CreateMultipartUploadCommand({ Bucket, Key, ...owner, ContentType: target.contentType, ...(target.Metadata ? { Metadata: target.Metadata } : {}), ChecksumAlgorithm: "CRC32" }),
    (created) => {
      if (!created.UploadId) throw new StoreProtocolError(`CreateMultipartUpload on ${calls.location} returned no UploadId`);
      return created.UploadId;
    },
  );
  try {
    const copySource = `${Bucket}/${Key.split("/").map(encodeURIComponent).join("/")}`;
    const ranges = copyRanges(size);
    // The appendix goes up first and the copies right before the complete: the copy's own
    // condition (CopySourceIfMatch) and the complete's (If-Match) are then as close together as
    // they can be, and a race lost at the copy costs no copy.
    const PartNumber = ranges.length + 1;
    const uploaded = await calls.send<UploadPartCommandOutput, UploadPartCommandOutput>(
      "UploadPart",
      new UploadPartCommand({ Bucket, Key, ...owner, UploadId: uploadId, PartNumber, Body: appendix, ContentLength: appendix.length, ChecksumAlgorithm: "CRC32" }),
      (out) => out,
    );
    target.uploaded(appendix.length);
    if (!uploaded.ETag) throw new StoreProtocolError(`UploadPart on ${calls.location} returned no ETag`);
    const parts: CompletedPart[] = [];
    for (const [start, end] of ranges) {
      const copyPart = parts.length + 1;
      const copied = await calls.send<UploadPartCopyCommandOutput, UploadPartCopyCommandOutput>(
        "UploadPartCopy",
        new UploadPartCopyCommand({
          Bucket, Key, ...owner, UploadId: uploadId, PartNumber: copyPart, CopySource: copySource, CopySourceIfMatch: etag,
          ...(target.expectedOwner === undefined ? {} : { ExpectedSourceBucketOwner: target.expectedOwner }),
          // One part copies the whole version of that ETag, whatever `size` says.
          ...(ranges.length > 1 ? { CopySourceRange: `bytes=${start}-${end}` } : {}),
        }),
        (out) => out,
        { missingIsConflict: true },
      );
      const partEtag = copied.CopyPartResult?.ETag;
      if (!partEtag) throw new StoreProtocolError(`UploadPartCopy on ${calls.location} returned no ETag`);
      parts.push({ PartNumber: copyPart, ETag: partEtag, ChecksumCRC32: copied.CopyPartResult?.ChecksumCRC32 });
    }
    parts.push({ PartNumber, ETag: uploaded.ETag, ChecksumCRC32: uploaded.ChecksumCRC32 });
    return await calls.send<CompleteMultipartUploadCommandOutput, string>(
      "CompleteMultipartUpload",
      new CompleteMultipartUploadCommand({ Bucket, Key, ...owner, UploadId: uploadId, MultipartUpload: { Parts: parts }, IfMatch: etag }),
      (completed) => {
        if (!completed.ETag) throw new StoreProtocolError(`CompleteMultipartUpload on ${calls.location} returned no ETag`);
        return completed.ETag;
      },
      // 404 NoSuchKey: the object was deleted since the copy (404 NoSuchUpload is not a race).
      { missingIsConflict: true },
    );
  } catch (error) {
    await abort(calls, target, uploadId, error);
    throw error;
  }
}

/** Aborts the upload within the margin kept for it, never into the time kept to log. */
async function abort(calls: S3Calls, target: MultipartTarget, uploadId: string, reason: unknown): Promise<void> {
  try {
    const marginMs = Math.max(LOG_MARGIN_MS, calls.remainingMs() - ABORT_MARGIN_MS);
    await calls.send("AbortMultipartUpload", new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, ...(target.expectedOwner === undefined ? {} : { ExpectedBucketOwner: target.expectedOwner }), UploadId: uploadId }), () => undefined, { marginMs });
  } catch (abortError) {
    // Gone already: completed (a Complete whose answer was lost) or aborted. Nothing is left behind.
    if (nameOf(abortError) === "NoSuchUpload") return;
    // The run reports the original failure; the bucket's lifecycle rule removes the upload.
    target.warn("AbortMultipartUpload failed; the bucket's lifecycle rule removes the upload", {
      uploadId,
      error: (abortError as Error)?.message ?? String(abortError),
      after: (reason as Error)?.message ?? String(reason),
    });
  }
}
