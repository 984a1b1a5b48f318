import { planDifferences, planSummary, policyDiff, readOnlyOverride } from "../../../scripts/deploy/plan";
import { loadConfig } from "../../../stacks/config";

const policy = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const READ = { Sid: "Read", Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k" };
const WRITE = { Sid: "Write", Effect: "Allow", Action: "s3:PutObject", Resource: "arn:aws:s3:::b/k" };
const PLAN = {
  resource_changes: [
    { address: "aws_iam_role_policy.p", change: { actions: ["update"], before: { policy: policy(READ), name: "p" }, after: { policy: policy(READ, WRITE), name: "p" }, after_unknown: {} } },
    { address: "aws_iam_role.r", change: { actions: ["create"], before: null, after: { name: "r" }, after_unknown: { assume_role_policy: false, arn: true } } },
    { address: "aws_s3_bucket.old", change: { actions: ["delete"], before: { bucket: "old" }, after: null } },
    { address: "aws_iam_policy.same", change: { actions: ["no-op"], before: {}, after: {} } },
  ],
};

describe("npm run plan's summary", () => {
  it("counts what is added, changed and destroyed, and lists every change", () => {
    const summary = planSummary("iss-tracker", PLAN);
    expect(summary).toContain("**1 to add, 1 to change, 1 to destroy.**");
    expect(summary).toContain("### `aws_iam_role_policy.p`: update");
    expect(summary).toContain("### `aws_s3_bucket.old`: delete");
    expect(summary).not.toContain("aws_iam_policy.same");
  });

  it("shows a policy diff one statement per block: what was added, removed or changed", () => {
    expect(policyDiff(policy(READ), policy(READ, WRITE))).toEqual(["+ added `Write`:", "```json", JSON.stringify(WRITE, null, 2), "```"]);
    expect(policyDiff(policy(READ, WRITE), policy(WRITE)).join("\n")).toContain("- removed `Read`:");
    const changed = policyDiff(policy(READ), policy({ ...READ, Resource: "*" })).join("\n");
    expect(changed).toMatch(/- before `Read`:[\s\S]*"Resource": "arn:aws:s3:::b\/k"[\s\S]*\+ after `Read`:[\s\S]*"Resource": "\*"/);
  });
});

describe("npm run apply's check against the reviewed plan", () => {
  it("finds nothing when the plans agree, and names each address that differs", () => {
    expect(planDifferences(PLAN, JSON.parse(JSON.stringify(PLAN)))).toEqual([]);
    const drifted = JSON.parse(JSON.stringify(PLAN));
    drifted.resource_changes[0].change.after.policy = policy({ ...WRITE, Resource: "*" });
    drifted.resource_changes.push({ address: "aws_iam_role.extra", change: { actions: ["create"], after: {} } });
    drifted.resource_changes.splice(2, 1);
    expect(planDifferences(PLAN, drifted)).toEqual([
      "aws_iam_role_policy.p: differs from the reviewed plan",
      "aws_iam_role.extra: not in the reviewed plan",
      "aws_s3_bucket.old: in the reviewed plan, not in this one",
    ]);
  });
});

describe("npm run plan --read-only-b", () => {
  it("points each account B provider at that account's read-only plan role", () => {
    const config = loadConfig({ env: { TARGETS: "222222222222,333333333333" } });
    expect(readOnlyOverride(config).provider.aws).toEqual([
      { alias: "account_b", assume_role: [{ role_arn: "arn:aws:iam::222222222222:role/terraform-plan", session_name: "iss-tracker-plan" }] },
      { alias: "account_333333333333", assume_role: [{ role_arn: "arn:aws:iam::333333333333:role/terraform-plan", session_name: "iss-tracker-plan" }] },
    ]);
  });
});
