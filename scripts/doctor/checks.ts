/**
 * `npm run doctor`: checks a deployed trust chain step by step, read-only, and says for each of
 * the known cross-account pitfalls whether it is there and how to fix it:
 *
 *   Terraform cannot reach B                           -> bootstrap-role
 *   not authorized to perform sts:AssumeRole           -> execution-policy
 *   Invalid principal ... /service-role/               -> access-trust-principal
 *   a missing or wrong ExternalId                      -> access-trust-external-id
 *   the trust does not name A's execution role         -> access-trust-principal
 *   the role in B has no S3 permissions                -> access-permissions, object-read
 *   a restrictive bucket policy                        -> bucket-policy, object-read
 *   (and: wrong credentials/accounts, missing function or roles, an environment that points elsewhere)
 *
 * Drift (./drift-checks.ts): the access role's trust, the bucket policy, the public access block,
 * versioning and the lifecycle rules, each against what the stack synthesizes for the configuration.
 *
 * Day two (./monitoring.ts): the on-failure destination, what waits in the failure queue and the
 * schedule's dead-letter queue, the alert topic and its subscription, and each alarm's state.
 *
 * Doctor is a list of checks, each `{ id, title, run }`, run in order. What several checks need
 * (who the caller is, the function, the roles, the bucket) is read once by the context (./context.ts)
 * and shared; a check whose prerequisite could not be read says SKIP with the reason, and so does a
 * check that could not check (never PASS): the live read when only B's own credentials could read
 * (the chain refused doctor, as designed), the read on the emulator where its bucket policy's Deny
 * blocks every caller, an alarm the emulator never evaluated. Expectations come from the
 * configuration in one place (./expectations.ts).
 *
 * What doctor reads: STS GetCallerIdentity and AssumeRole, IAM Get/List on the roles, Lambda
 * GetFunctionConfiguration and GetFunctionEventInvokeConfig, S3 HeadBucket/GetBucketLocation/
 * GetBucketPolicy/GetBucketVersioning/GetPublicAccessBlock/GetBucketLifecycleConfiguration, SQS GetQueueUrl/GetQueueAttributes, SNS
 * GetTopicAttributes/ListSubscriptionsByTopic, KMS GetKeyPolicy, CloudWatch DescribeAlarms and
 * CloudWatch Logs DescribeMetricFilters, S3 GetObject of the log (see ./aws.ts: its clients refuse
 * anything else). Whether a deployed policy allows an action is decided by the IAM evaluator
 * `npm run prove` uses, on the policies actually deployed; the one live data-plane check is the
 * read in object-read.
 */
import type { AppConfig } from "../../stacks/config";
import type { Credentials } from "../shared/aws";
import { alignColumns } from "../shared/cli";
import { DoctorContext, Skip } from "./context";
import { DRIFT_CHECKS } from "./drift-checks";
import { IDENTITY_CHECKS } from "./identity-checks";
import { MONITORING_CHECKS } from "./monitoring";

export interface DoctorOptions {
  readonly config: AppConfig;
  /** Which target to check (its index in config.targets; default: the first). */
  readonly targetIndex?: number;
  /** Emulator endpoint (e.g. the one `npm start -- --keep` prints); unset for real AWS. */
  readonly endpoint?: string;
  /** Profile for account A (default: the SDK's default chain, e.g. AWS_PROFILE). */
  readonly profileA?: string;
  /** Profile for account B (default: assume the bootstrap role from A, as Terraform does). */
  readonly profileB?: string;
  /** Static credentials for A / B (tests). They win over the profiles. */
  readonly credentialsA?: Credentials;
  readonly credentialsB?: Credentials;
}

/**
 * "warn": nothing is broken, but something needs a person (an alarm without data, nobody subscribed).
 * "skip": not checked, and the detail says why (never a PASS without a check behind it).
 */
export type CheckStatus = "pass" | "fail" | "warn" | "skip";

/** What a check found: its status, what it saw, and what to do when it failed or warned. */
export interface Outcome {
  readonly status: CheckStatus;
  readonly detail: string;
  readonly fix?: string;
}

export interface Check {
  readonly id: string;
  /** The check's title, from what doctor expects. */
  readonly title: (ctx: DoctorContext) => string;
  /** Throws Skip when a prerequisite could not be read. */
  readonly run: (ctx: DoctorContext) => Promise<Outcome>;
}

/** Every check, in the order doctor runs them. */
export const CHECKS: readonly Check[] = [...IDENTITY_CHECKS, ...DRIFT_CHECKS, ...MONITORING_CHECKS];
export const CHECK_IDS = CHECKS.map((c) => c.id);
export type CheckId = string;

export interface CheckResult {
  readonly id: CheckId;
  readonly title: string;
  readonly status: CheckStatus;
  /** What was found. */
  readonly detail: string;
  /** What to do, when it failed (or warned). */
  readonly fix?: string;
}

export async function runDoctor(options: DoctorOptions): Promise<CheckResult[]> {
  const ctx = new DoctorContext(options);
  const results: CheckResult[] = [];
  for (const check of CHECKS) {
    const title = check.title(ctx);
    try {
      const outcome = await check.run(ctx);
      const keepsFix = outcome.status === "fail" || outcome.status === "warn";
      results.push({ id: check.id, title, status: outcome.status, detail: outcome.detail, ...(keepsFix && outcome.fix ? { fix: outcome.fix } : {}) });
    } catch (error) {
      if (!(error instanceof Skip)) throw error;
      results.push({ id: check.id, title, status: "skip", detail: `not checked: ${error.message}` });
    }
  }
  return results;
}

/** The report `npm run doctor` prints. */
export function formatReport(results: readonly CheckResult[]): string {
  const mark: Record<CheckStatus, string> = { pass: "PASS", fail: "FAIL", warn: "WARN", skip: "SKIP" };
  const lines = results.flatMap((r) => [
    `${mark[r.status]}  ${r.id}: ${r.title}`,
    `      ${r.detail}`,
    ...(r.fix ? [`      fix: ${r.fix}`] : []),
  ]);
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const warned = count("warn");
  const skipped = count("skip");
  return [...lines, "", `doctor: ${count("pass")} passed, ${count("fail")} failed, ${skipped} skipped${warned ? `, ${warned} warning${warned === 1 ? "" : "s"}` : ""}` +
    (skipped ? " (SKIP: not checked, for the reason shown; never a pass)" : "")].join("\n");
}

/** With several targets: one row per target checked (its counts and the checks that failed). */
export function formatTargetTable(reports: ReadonlyArray<{ readonly target: string; readonly results: readonly CheckResult[] }>): string {
  const count = (results: readonly CheckResult[], s: CheckStatus) => String(results.filter((r) => r.status === s).length);
  const rows = [["target", "pass", "fail", "skip", "warn", "failed checks"], ...reports.map(({ target, results }) => [
    target, count(results, "pass"), count(results, "fail"), count(results, "skip"), count(results, "warn"),
    results.filter((r) => r.status === "fail").map((r) => r.id).join(", ") || "-",
  ])];
  return alignColumns(rows);
}
