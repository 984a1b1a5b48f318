/**
 * S3 lifecycle conformance gate (a gateway middleware, see ./gateway.ts): moto 5.2.1 accepts a
 * lifecycle rule's NoncurrentVersionExpiration.NewerNoncurrentVersions but drops it when it stores
 * the rule, so GetBucketLifecycleConfiguration answers without it. S3 returns it. hashicorp/aws
 * 5.100.0 waits after a PUT until the rules it reads back equal the ones it wrote, so on bare moto
 * it waits its full 3 minutes and fails ("creating S3 Bucket Lifecycle Configuration").
 *
 * The gate adds exactly that element back: it remembers, per bucket and rule ID, the
 * NewerNoncurrentVersions of the last configuration moto accepted, and puts it into moto's GET
 * answer where moto left it out. Everything else stays moto's.
 */
import type { Gate, GatewayReply } from "./gateway";

/** Rule ID -> NewerNoncurrentVersions, from a PutBucketLifecycleConfiguration body. */
export function newerNoncurrentVersionsByRule(xml: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const rule of xml.match(/<Rule>[\s\S]*?<\/Rule>/g) ?? []) {
    const id = /<ID>([^<]*)<\/ID>/.exec(rule)?.[1];
    const expiration = /<NoncurrentVersionExpiration>([\s\S]*?)<\/NoncurrentVersionExpiration>/.exec(rule)?.[1];
    const newer = expiration ? /<NewerNoncurrentVersions>(\d+)<\/NewerNoncurrentVersions>/.exec(expiration)?.[1] : undefined;
    if (id !== undefined && newer !== undefined) found.set(id, newer);
  }
  return found;
}

/** moto's GET answer with each remembered NewerNoncurrentVersions put back into its rule. */
export function withNewerNoncurrentVersions(xml: string, byRule: ReadonlyMap<string, string>): string {
  return xml.replace(/<Rule>[\s\S]*?<\/Rule>/g, (rule) => {
    const id = /<ID>([^<]*)<\/ID>/.exec(rule)?.[1];
    const newer = id === undefined ? undefined : byRule.get(id);
    if (newer === undefined || /<NewerNoncurrentVersions>/.test(rule.replace(/<NoncurrentVersionTransition>[\s\S]*?<\/NoncurrentVersionTransition>/g, ""))) return rule;
    return rule.replace("</NoncurrentVersionExpiration>", `<NewerNoncurrentVersions>${newer}</NewerNoncurrentVersions></NoncurrentVersionExpiration>`);
  });
}

export function lifecycleGate(): Gate {
  const remembered = new Map<string, Map<string, string>>();
  return async (req, next) => {
    if (req.service !== "s3") return next();
    const url = new URL(req.url, "http://h");
    const path = url.pathname.split("/").filter(Boolean);
    if (path.length !== 1) return next();
    const bucket = path[0];
    if (!url.searchParams.has("lifecycle")) {
      // A deleted bucket takes its configuration with it.
      if (req.method !== "DELETE" || [...url.searchParams.keys()].some((k) => k !== "x-id")) return next();
      const reply = await next();
      if (reply.status < 300) remembered.delete(bucket);
      return reply;
    }
    const reply: GatewayReply = await next();
    if (req.method === "PUT" && reply.status === 200) remembered.set(bucket, newerNoncurrentVersionsByRule(req.body.toString("utf8")));
    if (req.method === "DELETE" && reply.status < 300) remembered.delete(bucket);
    const byRule = remembered.get(bucket);
    if (req.method === "GET" && reply.status === 200 && byRule && byRule.size > 0) {
      return { ...reply, body: Buffer.from(withNewerNoncurrentVersions(reply.body.toString("utf8"), byRule)) };
    }
    return reply;
  };
}
