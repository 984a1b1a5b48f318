/**
 * Several accounts B from one list: one stack, one provider per target through that account's
 * bootstrap role, per target an access role with its boundary and a hardened bucket, the execution
 * role allowed to assume exactly the listed access roles, a bootstrap stack per target account. A
 * one-element list is the single pair: the same two providers, the same names, the same JSON.
 */
import { App, Testing } from "cdktf";
import { addStacks } from "../../stacks/app";
import { loadConfig } from "../../stacks/config";
import { policyOf, resources } from "../../test-support/synth";

const synthAll = (env: Record<string, string>) => {
  const app = Testing.app();
  const stacks = addStacks(app as App, loadConfig({ env }));
  return { tracker: JSON.parse(Testing.synth(stacks.tracker)), bootstraps: stacks.bootstraps.map((b) => ({ name: b.node.id, json: JSON.parse(Testing.synth(b)) })) };
};
const B = "222222222222";
const C = "333333333333";
const D = "444444444444";

describe("TARGETS with one entry", () => {
  it("synthesizes exactly the stacks of ACCOUNT_B_ID alone: the same two providers, the same names, the same JSON", () => {
    const single = synthAll({ ACCOUNT_B_ID: B });
    expect(synthAll({ TARGETS: B })).toEqual(single);
    expect(synthAll({ TARGETS: `[{"account":"${B}"}]` })).toEqual(single);
    expect(single.tracker.provider.aws.map((p: { alias?: string }) => p.alias)).toEqual([undefined, "account_b"]);
    expect(single.bootstraps.map((b) => b.name)).toEqual(["bootstrap"]);
  });
});

describe("TARGETS with three accounts", () => {
  const { tracker, bootstraps } = synthAll({ TARGETS: `${B},${C}:eu-west-1,${D}`, NAME_PREFIX: "iss-fleet" });
  const providerOf = (resource: { provider?: string }) => resource.provider;

  it("has one provider per target, each assuming that account's bootstrap role, pinned to the account: the first keeps the single pair's alias", () => {
    expect(tracker.provider.aws.map((p: { alias?: string; allowed_account_ids?: string[]; region: string; assume_role?: Array<{ role_arn: string }> }) =>
      [p.alias, p.allowed_account_ids, p.region, p.assume_role?.[0].role_arn])).toEqual([
      [undefined, undefined, "us-east-1", undefined],
      ["account_b", [B], "us-east-1", `arn:aws:iam::${B}:role/terraform`],
      [`account_${C}`, [C], "eu-west-1", `arn:aws:iam::${C}:role/terraform`],
      [`account_${D}`, [D], "us-east-1", `arn:aws:iam::${D}:role/terraform`],
    ]);
  });

  it("gives each target an access role with its own external id and boundary, in its account, and a bucket of its own", () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const byProvider = (list: any[]) => [...list].sort((a, b) => order(a) - order(b));
    const order = (r: { provider?: string }) => ["aws.account_b", `aws.account_${C}`, `aws.account_${D}`].indexOf(r.provider ?? "");
    const roles = byProvider(Object.values(resources(tracker, "aws_iam_role")).filter((r: { name: string }) => r.name === "iss-fleet-report-writer"));
    expect(roles.map((r: { provider?: string; permissions_boundary: string }) => [providerOf(r), r.permissions_boundary])).toEqual([
      ["aws.account_b", `arn:aws:iam::${B}:policy/iss-fleet-report-writer-boundary`],
      [`aws.account_${C}`, `arn:aws:iam::${C}:policy/iss-fleet-report-writer-boundary`],
      [`aws.account_${D}`, `arn:aws:iam::${D}:policy/iss-fleet-report-writer-boundary`],
    ]);
    const externalIds = roles.map((r: { assume_role_policy: string }) => JSON.parse(r.assume_role_policy).Statement[0].Condition.StringEquals["sts:ExternalId"]);
    expect(new Set(externalIds).size).toBe(3);
    expect(byProvider(Object.values(resources(tracker, "aws_s3_bucket"))).map((b: { bucket?: string; provider?: string }) => [b.bucket, providerOf(b)])).toEqual([
      [`iss-fleet-reports-${B}-us-east-1`, "aws.account_b"],
      [`iss-fleet-reports-${C}-eu-west-1`, `aws.account_${C}`],
      [`iss-fleet-reports-${D}-us-east-1`, `aws.account_${D}`],
    ]);
  });

  it("lets the execution role assume exactly the three access roles, and each access role touch exactly its own object", () => {
    const assume = Object.values(resources(tracker, "aws_iam_role_policy")).find((p: { name: string }) => p.name === "assume-report-access-role");
    expect(policyOf(assume).Statement).toEqual([expect.objectContaining({ Action: "sts:AssumeRole", Resource: [expect.stringMatching(/^\$\{aws_iam_role\.trust-chain_access-role_/), expect.stringMatching(/access-role-333333333333/), expect.stringMatching(/access-role-444444444444/)] })]);
    const grants = Object.values(resources(tracker, "aws_iam_role_policy")).filter((p: { name: string }) => p.name === "read-write-report-object")
      .sort((a: { provider?: string }, b: { provider?: string }) => String(a.provider).replace("account_b", "0").localeCompare(String(b.provider).replace("account_b", "0")));
    expect(grants.map((g) => [providerOf(g), policyOf(g).Statement[0].Resource])).toEqual([
      ["aws.account_b", expect.stringMatching(/^\$\{aws_s3_bucket\.report-bucket_\w+\.arn\}\/iss_position\.txt$/)],
      [`aws.account_${C}`, expect.stringMatching(/^\$\{aws_s3_bucket\.report-bucket-333333333333_bucket_\w+\.arn\}\/iss_position\.txt$/)],
      [`aws.account_${D}`, expect.stringMatching(/^\$\{aws_s3_bucket\.report-bucket-444444444444_bucket_\w+\.arn\}\/iss_position\.txt$/)],
    ]);
  });

  it("tells the function every target in TARGETS, compactly", () => {
    const fn = Object.values(resources(tracker, "aws_lambda_function"))[0] as { environment: { variables: Record<string, string> } };
    expect(JSON.parse(fn.environment.variables.TARGETS)).toEqual([{ account: B, region: "us-east-1" }, { account: C, region: "eu-west-1" }, { account: D, region: "us-east-1" }]);
    expect(fn.environment.variables).toMatchObject({ NAME_PREFIX: "iss-fleet", OBJECT_KEY: "iss_position.txt" });
    expect(fn.environment.variables.ACCESS_ROLE_ARN).toBeUndefined();
  });

  it("keeps the first target's resource ids, outputs and bootstrap stack the single pair's, and names the others' after their account", () => {
    expect(Object.keys(tracker.output)).toEqual(expect.arrayContaining(["access_role_arn", "bucket_name", `access_role_arn_${C}`, `bucket_name_${D}`, `log_bucket_destroy_procedure_${C}`]));
    expect(bootstraps.map((b) => b.name)).toEqual(["bootstrap", `bootstrap-${C}`, `bootstrap-${D}`]);
    expect(bootstraps.map((b) => b.json.provider.aws[0].allowed_account_ids)).toEqual([[B], [C], [D]]);
    expect(bootstraps[1].json.terraform.backend).toEqual({ local: { path: `../../../terraform.bootstrap-${C}.tfstate` } });
  });
});

describe("a retired target (\"retired\": true): removing an account without losing its log", () => {
  const list = (retired: boolean) => `[{"account":"${B}"},{"account":"${C}"${retired ? ',"retired":true' : ""}},{"account":"${D}"}]`;
  const before = synthAll({ TARGETS: list(false) });
  const after = synthAll({ TARGETS: list(true) });
  const ofAccount = (json: { resource: Record<string, Record<string, { provider?: string }>> }, account: string) =>
    Object.entries(json.resource).flatMap(([type, byId]) => Object.entries(byId).filter(([, r]) => r.provider === `aws.account_${account}`).map(([id]) => `${type}.${id}`)).sort();

  it("forgets its bucket's resources instead of destroying them: a removed block with destroy = false for each address they had", () => {
    const bucketAddresses = ofAccount(before.tracker, C).filter((a) => a.startsWith("aws_s3_"));
    expect(bucketAddresses.length).toBeGreaterThanOrEqual(6);
    expect(after.tracker.removed).toEqual(bucketAddresses.map((from) => ({ from, lifecycle: { destroy: false } })));
    expect(ofAccount(after.tracker, C)).toEqual([]);
  });

  it("keeps its provider (Terraform destroys its access role through it) and its bootstrap stack; the others' resources stay exactly as they were", () => {
    expect(after.tracker.provider.aws.map((p: { alias?: string }) => p.alias)).toEqual([undefined, "account_b", `account_${D}`, `account_${C}`]);
    expect(after.bootstraps.map((b) => b.name)).toEqual(["bootstrap", `bootstrap-${D}`, `bootstrap-${C}`]);
    for (const account of [D]) expect(ofAccount(after.tracker, account)).toEqual(ofAccount(before.tracker, account));
    for (const type of ["aws_s3_bucket", "aws_iam_role"]) {
      const firsts = (json: typeof before.tracker) => Object.entries(json.resource[type]).filter(([, r]) => (r as { provider?: string }).provider === "aws.account_b");
      expect(firsts(after.tracker)).toEqual(firsts(before.tracker));
    }
  });

  it("is no longer told to the function, assumed by the execution role or watched by an alarm", () => {
    const env = Object.values<{ environment: { variables: Record<string, string> } }>(after.tracker.resource.aws_lambda_function)[0].environment.variables;
    expect(JSON.parse(env.TARGETS).map((t: { account: string }) => t.account)).toEqual([B, D]);
    const assume = policyOf(Object.values<{ name: string; policy: string }>(after.tracker.resource.aws_iam_role_policy).find((p) => p.name === "assume-report-access-role")!);
    expect(JSON.stringify(assume)).not.toContain(C);
    expect(Object.keys(after.tracker.resource.aws_cloudwatch_metric_alarm).filter((id) => id.includes(C))).toEqual([]);
    expect(Object.keys(after.tracker.output).filter((name) => name.includes(C))).toEqual([]);
  });

  it("cannot be the first target (it holds the single pair's names), nor be anything but true or false", () => {
    expect(() => loadConfig({ env: { TARGETS: `[{"account":"${B}","retired":true},{"account":"${C}"}]` } })).toThrow(/TARGETS .*entry 1 .* is retired, but the first target holds the single pair's names.*Fix: retire only targets after the first/s);
    expect(() => loadConfig({ env: { TARGETS: `[{"account":"${B}"},{"account":"${C}","retired":"yes"}]` } })).toThrow(/has "retired" that is not true or false/);
  });
});

describe("TARGETS: each bucket policy guards its own target", () => {
  it("names that target's access role, root and bootstrap role", () => {
    const { tracker } = synthAll({ TARGETS: `[{"account":"${B}"},{"account":"${C}","bootstrapRoleName":"tf-c"}]` });
    const policies = Object.values(resources(tracker, "aws_s3_bucket_policy")).map((p) => policyOf(p).Statement);
    expect(policies.map((st) => [st[1].Condition.ArnNotEquals["aws:PrincipalArn"], st[2].Condition.ArnEquals["aws:PrincipalArn"]]).sort()).toEqual([
      [[`arn:aws:iam::${B}:role/iss-tracker-report-writer`, `arn:aws:iam::${B}:root`], `arn:aws:iam::${B}:role/terraform`],
      [[`arn:aws:iam::${C}:role/iss-tracker-report-writer`, `arn:aws:iam::${C}:root`], `arn:aws:iam::${C}:role/tf-c`],
    ]);
  });
});

describe("TARGETS: the alert topic admits exactly the deployment's alarms", () => {
  it("names every alarm the stack creates, and no other, in the topic policy", () => {
    const { tracker } = synthAll({ TARGETS: `${B},${C}` });
    const alarms = Object.values(resources(tracker, "aws_cloudwatch_metric_alarm")).map((a) => a.alarm_name).sort();
    const [statement] = policyOf(Object.values(resources(tracker, "aws_sns_topic_policy"))[0]).Statement;
    const admitted: string[] = statement.Condition.ArnEquals["aws:SourceArn"].map((arn: string) => arn.split(":alarm:")[1]);
    expect(admitted.sort()).toEqual(alarms);
    expect(alarms).toHaveLength(7);
  });
});
