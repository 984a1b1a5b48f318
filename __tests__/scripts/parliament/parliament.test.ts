/**
 * parliament (pinned, in .venv-parliament, installed on first use) on every policy of every
 * target's access model, every Terraform reference resolved to an ARN: no high or critical
 * finding, every finding explained by an accepted entry in scripts/parliament/lint.ts (and every
 * entry still needed), and loosened copies of the bootstrap role's policy produce findings no entry
 * explains. One parliament run covers the real and the loosened policies.
 */
import { acceptedFindings, acceptedReason, explains, lintPolicies, policiesOf, type Finding, type LintedPolicy } from "../../../scripts/parliament/lint";
import { buildAccessModels, type AccessModel } from "../../../scripts/prove/access-model";
import type { PolicyDocument, Statement } from "../../../stacks/policy";

const show = (findings: readonly Finding[]) => findings.map((f) => `${f.policy}: ${f.severity} ${f.issue} ${f.detail}`);

describe("parliament on every synthesized policy", () => {
  let models: AccessModel[];
  let real: LintedPolicy[];
  let findings: Finding[];
  const loosened = (name: string, statement: Statement): LintedPolicy => {
    const base = models[0].bootstrapRole.policies[0].policy;
    const policy: PolicyDocument = { ...base, Statement: [...base.Statement, statement] };
    return { label: `loosened: ${name}`, role: models[0].bootstrapRole.name, kind: "identity", policy };
  };
  const ofPolicy = (label: string) => findings.filter((f) => f.policy === label);
  const realFindings = () => findings.filter((f) => !f.policy.startsWith("loosened: "));
  const explained = (f: Finding) => models.some((m) => acceptedReason(m, f) !== undefined);

  beforeAll(() => {
    models = buildAccessModels({});
    real = policiesOf(models);
    findings = lintPolicies([
      ...real,
      loosened("s3:PutBucketPolicy on *", { Sid: "AnyBucketPolicy", Effect: "Allow", Action: "s3:PutBucketPolicy", Resource: "*" }),
      loosened("iam:PassRole on *", { Sid: "PassAnyRole", Effect: "Allow", Action: "iam:PassRole", Resource: "*" }),
    ]);
  }, 300_000); // the first run on a machine installs the pinned parliament (~20 s); later runs take a few seconds

  it("lints every role's inline policies, boundary and trust policy, and the bucket, queue and function policies", () => {
    const m = models[0];
    const labels = real.map((p) => p.label);
    for (const role of [m.executionRole, m.accessRole, m.bootstrapRole]) {
      expect(labels).toContain(`target 0 role ${role.name}: trust policy (Resource: the role)`);
      for (const p of role.policies) expect(labels).toContain(`target 0 role ${role.name}: inline ${p.name}`);
    }
    expect(labels).toContain(`target 0 role ${m.accessRole.name}: boundary ${m.accessBoundaryArn}`);
    expect(labels).toEqual(expect.arrayContaining([
      `target 0 bucket policy ${m.bucketArn}`, `target 0 queue policy ${m.queueArn}`,
      `target 0 queue policy ${m.failureQueueArn}`, `target 0 function policy ${m.functionArn}`,
    ]));
    // Resolved: no Terraform reference is left for parliament to misread.
    expect(real.filter((p) => JSON.stringify(p.policy).includes("${")).map((p) => p.label)).toEqual([]);
  });

  it("reports no high or critical finding", () => {
    expect(show(realFindings().filter((f) => f.severity === "HIGH" || f.severity === "CRITICAL"))).toEqual([]);
  });

  it("leaves exactly these resource-policy privilege escalations on the bootstrap role's policy, each one accepted", () => {
    const m = models[0];
    const escalations = realFindings().filter((f) => f.issue === "RESOURCE_POLICY_PRIVILEGE_ESCALATION");
    expect(escalations.map((f) => `${f.role}: ${f.detail}`).sort()).toEqual([
      ...["DeleteObject", "GetObject", "PutObject"].map((o) => `${m.bootstrapRole.name}: Possible resource policy privilege escalation on ${m.bucketArn} due to s3:${o} not being allowed, but does allow s3:PutBucketPolicy`),
      `${m.bootstrapRole.name}: Possible resource policy privilege escalation on ${m.bucketArn} due to s3:DeleteObject not being allowed, but does allow s3:PutLifecycleConfiguration`,
    ].sort());
    expect(escalations.every(explained)).toBe(true);
  });

  it("finds nothing the accepted list does not explain, and every accepted entry still matches a finding", () => {
    expect(show(realFindings().filter((f) => !explained(f)))).toEqual([]);
    for (const m of models) {
      const stale = acceptedFindings(m).filter((a) => !realFindings().some((f) => explains(a, f)));
      expect(stale.map((a) => `${a.role ?? "any role"} ${a.issue} ${a.detail}`)).toEqual([]);
      expect(acceptedFindings(m).filter((a) => a.reason.length < 40)).toEqual([]);
    }
  });

  it.each([
    ["s3:PutBucketPolicy on *", "RESOURCE_POLICY_PRIVILEGE_ESCALATION Possible resource policy privilege escalation on * due to s3:GetObject not being allowed, but does allow s3:PutBucketPolicy"],
    ["s3:PutBucketPolicy on *", 'RESOURCE_STAR ["s3:PutBucketPolicy"]'],
    ["iam:PassRole on *", 'RESOURCE_STAR ["iam:PassRole"]'],
  ])("catches the bootstrap role's policy loosened with %s: %s, which no accepted entry explains", (name, finding) => {
    const unexplained = ofPolicy(`loosened: ${name}`).filter((f) => !explained(f)).map((f) => `${f.issue} ${f.detail}`);
    expect(unexplained).toContain(finding);
  });
});
