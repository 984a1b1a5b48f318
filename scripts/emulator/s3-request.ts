/**
 * The one reader of S3 requests as they arrive at the emulator gateway (./gateway.ts): which
 * bucket and key a request addresses (path style `/bucket/key`, what the SDK sends to an IP
 * endpoint, and virtual-host style `bucket.host/key`, with moto's rules for telling them apart),
 * its sub-resources, its copy source, and which object write it is. The conformance gates
 * (./s3-gate.ts), the fault gate (./s3-faults.ts) and the IAM action table (./aws-actions.ts) all
 * read requests through it, so they never disagree about what a request is.
 */
import type { GatewayRequest } from "./gateway";

/** The object a request addresses, in path or virtual-host style (moto's rules). */
export interface S3Target {
  readonly bucket: string;
  /** Decoded key; "" for a bucket-level request. */
  readonly key: string;
  readonly query: URLSearchParams;
}

/** The writes and copies the gates understand; everything else is "other". */
export type S3WriteOperation =
  | "PutObject"
  | "CopyObject"
  | "CompleteMultipartUpload"
  | "UploadPartCopy"
  | "DeleteObject"
  | "DeleteObjects"
  | "other";

const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

/** Like moto's `subdomain_based_buckets`: a dotted host name that is not an IP or localhost. */
function virtualHostBucket(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  const host = hostHeader.startsWith("[") ? hostHeader : hostHeader.replace(/:\d+$/, "");
  if (host.startsWith("[") || IPV4.test(host) || !host.includes(".")) return undefined;
  if (/^(localhost|localstack|host\.docker\.internal)/.test(host) || /\.svc\.cluster\.local$/.test(host)) return undefined;
  const name = host.startsWith("www.") ? host.slice(4) : host;
  if (name.includes("amazonaws.com")) {
    const m = /^(.+?)\.s3[.-]/.exec(name);
    return m ? m[1] : undefined;
  }
  return name.split(".")[0];
}

/** Bucket, decoded key and query of a request URL; undefined when it names no bucket or is not valid percent-encoding. */
export function parseS3Target(url: string, hostHeader: string | undefined): S3Target | undefined {
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
  const vhost = virtualHostBucket(hostHeader);
  try {
    if (vhost) return { bucket: vhost, key: decodeURIComponent(path.replace(/^\//, "")), query };
    const m = /^\/([^/]+)(?:\/(.*))?$/.exec(path);
    if (!m) return undefined;
    return { bucket: decodeURIComponent(m[1]), key: decodeURIComponent(m[2] ?? ""), query };
  } catch {
    return undefined; // not valid percent-encoding: let moto answer it
  }
}

/** `x-amz-copy-source: [/]bucket/key[?versionId=v]`, URL-encoded. */
export function parseCopySource(value: string): { bucket: string; key: string; versionId?: string } | undefined {
  const q = value.indexOf("?");
  const path = (q < 0 ? value : value.slice(0, q)).replace(/^\//, "");
  const versionId = q < 0 ? undefined : new URLSearchParams(value.slice(q + 1)).get("versionId") ?? undefined;
  const slash = path.indexOf("/");
  if (slash <= 0) return undefined;
  try {
    return { bucket: decodeURIComponent(path.slice(0, slash)), key: decodeURIComponent(path.slice(slash + 1)), versionId };
  } catch {
    return undefined;
  }
}

/** Query parameters that are not sub-resources (pagination, SDK markers, a version id). */
const PLAIN_PARAMS = new Set(["x-id", "list-type", "prefix", "delimiter", "max-keys", "marker", "continuation-token", "start-after",
  "encoding-type", "fetch-owner", "key-marker", "version-id-marker", "max-uploads", "upload-id-marker", "versionId"]);

/** The sub-resources a request names (`?lifecycle`, `?uploads`, `?uploadId=`...), in the order sent. */
export function subresourcesOf(target: S3Target): string[] {
  return [...target.query.keys()].filter((k) => !PLAIN_PARAMS.has(k));
}

/** Sub-resources that do not change an object's bytes (or are not object calls at all). */
const NON_WRITE_SUBRESOURCES = ["acl", "tagging", "retention", "legal-hold", "restore", "select", "torrent", "attributes", "uploads"];

/** Which object write or copy a request is ("other" for reads, bucket calls, parts, bookkeeping, sub-resources). */
export function classify(req: Pick<GatewayRequest, "method" | "headers">, target: S3Target): S3WriteOperation {
  const { query } = target;
  const has = (name: string) => query.has(name);
  if (!target.key) return req.method === "POST" && has("delete") ? "DeleteObjects" : "other";
  if (NON_WRITE_SUBRESOURCES.some(has)) return "other";
  const copy = req.headers["x-amz-copy-source"] !== undefined;
  switch (req.method) {
    case "PUT":
      if (has("uploadId") || has("partNumber")) return copy ? "UploadPartCopy" : "other";
      return copy ? "CopyObject" : "PutObject";
    case "POST":
      return has("uploadId") ? "CompleteMultipartUpload" : "other";
    case "DELETE":
      return has("uploadId") ? "other" : "DeleteObject";
    default:
      return "other";
  }
}

/** A GetObject: a GET of an object key with no sub-resource (a version id allowed). */
export function isGetObject(req: Pick<GatewayRequest, "method">, target: S3Target): boolean {
  return req.method === "GET" && target.key !== "" && subresourcesOf(target).length === 0;
}

/** One header's value (repeated headers joined by commas). */
export function header(req: Pick<GatewayRequest, "headers">, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** Signed for S3 (the SigV4 header's scope, or a presigned URL's X-Amz-Credential). */
export function isS3(req: Pick<GatewayRequest, "service" | "url">): boolean {
  return req.service === "s3" || (req.service === undefined && /[?&]X-Amz-Credential=[^&]*(%2F|\/)s3(%2F|\/)aws4_request/i.test(req.url));
}

/** Keys named in a DeleteObjects body (`<Object><Key>k</Key>...`). */
export function deleteObjectsKeys(body: Buffer): string[] {
  return [...body.toString("utf8").matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) =>
    m[1].replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&"));
}
