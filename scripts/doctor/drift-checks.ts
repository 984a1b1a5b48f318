/**
 * Doctor's drift checks: what protects the log, as it stands in B, against what the stack
 * synthesizes for this configuration (the expected documents come from the stack's own policy and
 * bucket declarations, ./expectations.ts): the access role's trust, the bucket policy, the public
 * access block, versioning and the lifecycle rules. A hand-made change that still "works" (an extra
 * trust statement, a bucket policy statement added, versioning suspended, an Expiration rule) fails
 * here, naming what drifted and who can put it back.
 */
import type { LifecycleRule as S3LifecycleRule } from "@aws-sdk/client-s3";
import type { LifecycleRule } from "../../stacks/constructs/report-bucket";
import type { PolicyDocument, Statement } from "../../stacks/policy";
import type { Check, Outcome } from "./checks";
import { REDEPLOY, Skip, type BucketProtections, type DoctorContext } from "./context";

const pass = (detail: string): Outcome => ({ status: "pass", detail });
const fail = (detail: string, fix: string): Outcome => ({ status: "fail", detail, fix });

/** The statement the bucket policy writes last, denying the bootstrap role any change of the bucket's protections. */
const SET_ONCE_SID = "TerraformSetsProtectionsOnce";

/** A policy value in one canonical form: one-or-many as a sorted list, keys sorted (AWS may reorder or unwrap them). */
function canonical(value: unknown): unknown {
  const element = (v: unknown) => (typeof v === "string" ? v : canonical(v));
  if (Array.isArray(value)) return value.map(element).map((v) => JSON.stringify(v)).sort().map((v) => JSON.parse(v) as unknown);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return typeof value === "string" ? [value] : value;
}
const canonicalStatement = (s: Statement) => JSON.stringify(canonical({ ...s, Sid: s.Sid ?? "" }));

export interface PolicyDrift {
  /** Statements the stack writes that are not there (by Sid). */
  readonly missing: string[];
  /** Statements there under the stack's Sid but not as the stack writes them. */
  readonly changed: string[];
  /** Statements the stack does not write. */
  readonly extra: string[];
}

/** How a deployed policy differs from the expected one, statement by statement (by Sid; order and one-or-many forms aside). */
export function policyDrift(expected: PolicyDocument, deployed: PolicyDocument): PolicyDrift {
  const sidOf = (s: Statement, i: number) => s.Sid || `(statement ${i + 1}, no Sid)`;
  const live = new Map(deployed.Statement.map((s, i) => [sidOf(s, i), s]));
  const wanted = new Set(expected.Statement.map((s) => s.Sid));
  return {
    missing: expected.Statement.filter((s) => !live.has(s.Sid)).map((s) => s.Sid),
    changed: expected.Statement.filter((s) => live.has(s.Sid) && canonicalStatement(live.get(s.Sid)!) !== canonicalStatement(s)).map((s) => s.Sid),
    extra: [...live.keys()].filter((sid) => !wanted.has(sid)),
  };
}

const isClean = (d: PolicyDrift) => d.missing.length + d.changed.length + d.extra.length === 0;
function describeDrift(d: PolicyDrift): string {
  return [
    d.missing.length ? `missing ${d.missing.join(", ")}` : "",
    d.changed.length ? `changed ${d.changed.join(", ")}` : "",
    d.extra.length ? `not the stack's: ${d.extra.join(", ")}` : "",
  ].filter(Boolean).join("; ");
}

/** A lifecycle rule in the form the stack declares it, from S3's answer (other actions kept, so they show as drift). */
function ruleAsDeclared(rule: S3LifecycleRule): Record<string, unknown> {
  const filter = rule.Filter ?? (rule.Prefix !== undefined ? { Prefix: rule.Prefix } : {});
  const everyObject = Object.values(filter).every((v) => v === undefined || v === "");
  const n = rule.NoncurrentVersionExpiration;
  return JSON.parse(JSON.stringify({
    id: rule.ID ?? "",
    ...(rule.Status !== "Enabled" ? { status: rule.Status } : {}),
    ...(everyObject ? {} : { filter }),
    ...(n ? { noncurrentVersionExpiration: { noncurrentDays: n.NoncurrentDays, ...(n.NewerNoncurrentVersions ? { newerNoncurrentVersions: n.NewerNoncurrentVersions } : {}) } } : {}),
    ...(rule.AbortIncompleteMultipartUpload ? { abortIncompleteMultipartUpload: { daysAfterInitiation: rule.AbortIncompleteMultipartUpload.DaysAfterInitiation } } : {}),
    ...(rule.Expiration ? { expiration: rule.Expiration } : {}),
    ...(rule.Transitions?.length ? { transitions: rule.Transitions } : {}),
    ...(rule.NoncurrentVersionTransitions?.length ? { noncurrentVersionTransitions: rule.NoncurrentVersionTransitions } : {}),
  })) as Record<string, unknown>;
}

/** How the bucket's lifecycle rules differ from the stack's: each difference in words (empty: none). */
export function lifecycleDrift(expected: readonly LifecycleRule[], deployed: readonly S3LifecycleRule[]): string[] {
  const live = deployed.map(ruleAsDeclared);
  const byId = new Map(live.map((r) => [r.id as string, r]));
  const wanted = new Set(expected.map((r) => r.id));
  const problems: string[] = [];
  const expiring = new Set<unknown>();
  for (const r of live) {
    const e = r.expiration as { Days?: number; Date?: Date } | undefined;
    if (e && (e.Days !== undefined || e.Date !== undefined) && r.status === undefined) {
      expiring.add(r.id);
      problems.push(`rule ${r.id || "(no id)"} expires the current version (Expiration ${e.Days !== undefined ? `${e.Days} days` : `on ${String(e.Date)}`}): the log itself would be deleted`);
    }
  }
  for (const rule of expected) {
    const found = byId.get(rule.id);
    if (!found) problems.push(`rule ${rule.id} is missing (expected ${JSON.stringify(rule)})`);
    else if (JSON.stringify(canonical(found)) !== JSON.stringify(canonical(rule))) problems.push(`rule ${rule.id} is ${JSON.stringify(found)}, the stack's is ${JSON.stringify(rule)}`);
  }
  for (const r of live) {
    if (!wanted.has(r.id as string) && !expiring.has(r.id)) problems.push(`rule ${r.id || "(no id)"} is not the stack's (${JSON.stringify(r)})`);
  }
  return problems;
}

/** The rules without NewerNoncurrentVersions (what the emulator keeps of them). */
const withoutNewerVersions = (rules: readonly LifecycleRule[]): LifecycleRule[] =>
  rules.map((r) => (r.noncurrentVersionExpiration ? { ...r, noncurrentVersionExpiration: { noncurrentDays: r.noncurrentVersionExpiration.noncurrentDays } } : r));

/** The public access block settings that are not on. */
export function publicAccessOff(deployed: BucketProtections["publicAccessBlock"], expected: Readonly<Record<string, boolean>>): string[] {
  const s3Name = (k: string) => k[0].toUpperCase() + k.slice(1);
  return Object.keys(expected).map(s3Name).filter((k) => (deployed as Record<string, boolean | undefined>)[k] !== true);
}

async function protections(ctx: DoctorContext): Promise<BucketProtections> {
  const read = await ctx.protections();
  if (!read.ok) throw new Skip(`the bucket's configuration could not be read (${read.error})`);
  return read.value;
}

/**
 * The fix of a bucket protection that drifted: a redeploy puts it back, unless the bucket policy's
 * set-once statement stands, which denies the bootstrap role that change (docs/security.md).
 */
async function protectionFix(ctx: DoctorContext, what: string, command: string): Promise<string> {
  const { policy } = await ctx.bucket();
  const bucket = ctx.expected.bucketName;
  if (!policy?.Statement.some((s) => s.Sid === SET_ONCE_SID)) return `${what}: ${REDEPLOY} puts it back`;
  return `${what}: the bucket policy's ${SET_ONCE_SID} denies the bootstrap role this change, so a redeploy fails with AccessDenied; ` +
    `an administrator of B (or B's root) puts it back: ${command} (or deletes the bucket policy, aws s3api delete-bucket-policy --bucket ${bucket}, ` +
    `and then runs ${REDEPLOY}, which writes both again; see docs/security.md)`;
}

export const DRIFT_CHECKS: readonly Check[] = [
  {
    id: "access-trust-drift",
    title: () => "access role's trust policy is exactly the stack's (no statement or principal added by hand)",
    run: async (ctx) => {
      const access = await ctx.accessRole();
      const execArn = await ctx.executionRoleArn();
      const drift = policyDrift(ctx.expected.accessTrust(execArn), access.trust);
      const detail = `${access.role.RoleName}'s trust: ${isClean(drift) ? `the stack's one statement (${execArn}, with the external id)` : describeDrift(drift)}`;
      return isClean(drift) ? pass(detail) : fail(detail,
        `someone edited the access role's trust policy (anything it admits besides the execution role with the external id may write the log): ${REDEPLOY} writes the stack's again`);
    },
  },
  {
    id: "bucket-policy-drift",
    title: () => "bucket policy is exactly the stack's (every statement present and unchanged, none added)",
    run: async (ctx) => {
      const { policy } = await ctx.bucket();
      const x = ctx.expected;
      if (!policy && ctx.emulator) {
        throw new Skip("the emulator's deployment has no bucket policy (npm start's local mode deploys none: moto applies a bucket policy's Deny to every caller), so there is nothing to compare; on AWS a missing policy fails");
      }
      if (!policy) return fail(`${x.bucketName} has no bucket policy`, `the bucket lost its policy (TLS only, only the access role touches the objects, the protections set once): ${REDEPLOY} writes it again`);
      const drift = policyDrift(x.bucketPolicy, policy);
      const detail = isClean(drift) ? `${x.bucketName}: ${policy.Statement.map((s) => s.Sid).join(", ")}, as the stack writes them` : `${x.bucketName}: ${describeDrift(drift)}`;
      if (isClean(drift)) return pass(detail);
      // Without its set-once statement the policy no longer stops the bootstrap role: a redeploy restores it.
      if (!policy.Statement.some((s) => s.Sid === SET_ONCE_SID)) return fail(detail, `the bucket policy was changed by hand (its ${SET_ONCE_SID} is gone too): ${REDEPLOY} writes the stack's again`);
      return fail(detail,
        `the bucket policy was changed by hand; the bootstrap role cannot restore it (the policy's ${SET_ONCE_SID} denies it any change of the policy), so only B's administrators or B's root can: ` +
        `delete it (aws s3api delete-bucket-policy --bucket ${x.bucketName}) and run ${REDEPLOY}, which writes the stack's again (docs/security.md)`);
    },
  },
  {
    id: "bucket-public-access-block",
    title: () => "bucket blocks all public access (all four settings on)",
    run: async (ctx) => {
      const { publicAccessBlock } = await protections(ctx);
      const off = publicAccessOff(publicAccessBlock, ctx.expected.publicAccessBlock);
      const bucket = ctx.expected.bucketName;
      const detail = off.length ? `${bucket}: ${off.join(", ")} off` : `${bucket}: BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets on`;
      if (!off.length) return pass(detail);
      return fail(detail, await protectionFix(ctx, `${off.join(", ")} was turned off`,
        `aws s3api put-public-access-block --bucket ${bucket} --public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true`));
    },
  },
  {
    id: "bucket-versioning",
    title: (ctx) => `bucket versioning is ${ctx.expected.versioningStatus} (every append keeps the version it replaced)`,
    run: async (ctx) => {
      const { versioning } = await protections(ctx);
      const x = ctx.expected;
      const detail = `${x.bucketName}: versioning ${versioning ?? "never enabled"}`;
      if (versioning === x.versioningStatus) return pass(detail);
      return fail(detail, await protectionFix(ctx, `versioning is ${versioning ?? "off"}, so an append overwrites the log with no way back`,
        `aws s3api put-bucket-versioning --bucket ${x.bucketName} --versioning-configuration Status=${x.versioningStatus}`));
    },
  },
  {
    id: "bucket-lifecycle",
    title: (ctx) => {
      const n = ctx.expected.lifecycleRules.find((r) => r.noncurrentVersionExpiration)?.noncurrentVersionExpiration;
      return `bucket lifecycle keeps noncurrent versions ${n?.noncurrentDays} days${n?.newerNoncurrentVersions ? ` (and the newest ${n.newerNoncurrentVersions})` : ""}, and never expires the log`;
    },
    run: async (ctx) => {
      const { lifecycleRules } = await protections(ctx);
      const x = ctx.expected;
      const problems = lifecycleDrift(x.lifecycleRules, lifecycleRules);
      // The emulator drops a rule's NewerNoncurrentVersions: compare the rest there, and say so.
      const dropped = ctx.emulator && lifecycleRules.every((r) => r.NoncurrentVersionExpiration?.NewerNoncurrentVersions === undefined);
      const comparable = dropped ? lifecycleDrift(withoutNewerVersions(x.lifecycleRules), lifecycleRules) : problems;
      if (problems.length && comparable.length === 0) {
        throw new Skip("the emulator does not keep a rule's NewerNoncurrentVersions (moto drops it), so the noncurrent-version rule cannot be compared; " +
          `the rest matches the stack's (${lifecycleRules.map((r) => r.ID).join(", ")}, no Expiration)`);
      }
      if (!problems.length) return pass(`${x.bucketName}: ${lifecycleRules.map((r) => r.ID).join(", ")}, as the stack declares them`);
      return fail(`${x.bucketName}: ${comparable.join("; ")}${comparable === problems ? "" : " (NewerNoncurrentVersions not compared: the emulator drops it)"}`, await protectionFix(ctx, "the lifecycle rules were changed",
        `aws s3api put-bucket-lifecycle-configuration --bucket ${x.bucketName} --lifecycle-configuration file://rules.json, with the stack's rules (npx cdktf synth shows them)`));
    },
  },
];
