import { App, Testing } from "cdktf";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addStacks } from "../../stacks/app";
import { ConfigError, loadConfig } from "../../stacks/config";
import { PipelineStack } from "../../stacks/pipeline-stack";
import { only, policyOf, resources, synthBootstrap, testConfig } from "../../test-support/synth";

const PIPELINE = { ACCOUNT_A_ID: "111111111111", PIPELINE_REPOSITORY: "octo-org/iss-tracker" } as const;

function synthPipeline(env: Record<string, string> = {}) {
  const app = Testing.app();
  const stack = new PipelineStack(app, "pipeline", testConfig({ ...PIPELINE, ...env }));
  return JSON.parse(Testing.synth(stack));
}
const roleNamed = (json: ReturnType<typeof synthPipeline>, name: string) => {
  const found = Object.values<{ name: string }>(resources(json, "aws_iam_role")).find((r) => r.name === name);
  if (!found) throw new Error(`no role ${name}`);
  return found;
};
const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig({ env: { ACCOUNT_B_ID: "222222222222", ...env } });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe("pipeline stack (GitHub OIDC identity in account A)", () => {
  const json = synthPipeline();

  it("synthesizes to the reviewed Terraform (snapshot)", () => {
    expect(json).toMatchSnapshot();
  });

  it("creates GitHub's OIDC provider for the sts.amazonaws.com audience, in account A only", () => {
    expect(only(json, "aws_iam_openid_connect_provider")).toMatchObject({ url: "https://token.actions.githubusercontent.com", client_id_list: ["sts.amazonaws.com"] });
    expect(json.provider.aws).toEqual([expect.objectContaining({ allowed_account_ids: ["111111111111"] })]);
  });

  it("reuses an existing provider when PIPELINE_OIDC_PROVIDER_ARN is set", () => {
    const arn = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com";
    const reused = synthPipeline({ PIPELINE_OIDC_PROVIDER_ARN: arn });
    expect(resources(reused, "aws_iam_openid_connect_provider")).toEqual({});
    expect(policyOf(roleNamed(reused, "iss-tracker-ci-plan"), "assume_role_policy").Statement[0].Principal).toEqual({ Federated: arn });
  });

  it("trusts the pull requests for the plan role and only the environment for the deploy role, audience and subject matched exactly", () => {
    const trust = (name: string) => policyOf(roleNamed(json, name), "assume_role_policy").Statement;
    expect(trust("iss-tracker-ci-plan")).toEqual([expect.objectContaining({
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": "repo:octo-org/iss-tracker:pull_request" } },
    })]);
    expect(trust("iss-tracker-ci-deploy")).toEqual([expect.objectContaining({
      Condition: { StringEquals: { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com", "token.actions.githubusercontent.com:sub": "repo:octo-org/iss-tracker:environment:production" } },
    })]);
    expect(JSON.stringify(trust("iss-tracker-ci-deploy"))).not.toContain("StringLike");
    const staging = synthPipeline({ PIPELINE_ENVIRONMENT: "staging" });
    expect(policyOf(roleNamed(staging, "iss-tracker-ci-deploy"), "assume_role_policy").Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"]).toBe("repo:octo-org/iss-tracker:environment:staging");
  });

  it("gives the plan role reads only, the state read and its lock written, with STATE_BUCKET", () => {
    const withState = synthPipeline({ STATE_BUCKET: "my-state" });
    const plan = Object.values<{ name: string; policy: string }>(resources(withState, "aws_iam_role_policy")).find((p) => p.name === "plan-iss-tracker")!;
    const statements = policyOf(plan).Statement;
    const actions = statements.flatMap((s: { Action: string | string[] }) => [s.Action].flat());
    expect(actions.filter((a: string) => !/:(Get|List|Describe)/.test(a) && a !== "sts:AssumeRole")).toEqual(["s3:PutObject", "s3:DeleteObject"]);
    expect(statements.find((s: { Sid: string }) => s.Sid === "TakeStateLock").Resource).toBe("arn:aws:s3:::my-state/iss-tracker/*.tfstate.tflock");
    expect(statements.find((s: { Sid: string }) => s.Sid === "AssumePlanRolesInB").Resource).toEqual(["arn:aws:iam::222222222222:role/terraform-plan"]);
  });

  it("lets the bootstrap role in B trust the deploy role, and adds a read-only plan role there trusted by the plan role", () => {
    const { json: bootstrap } = synthBootstrap(PIPELINE);
    expect(bootstrap.variable.deployer_principal_arn.default).toBe("arn:aws:iam::111111111111:role/iss-tracker-ci-deploy");
    const planB = Object.values<{ name: string; assume_role_policy: string }>(resources(bootstrap, "aws_iam_role")).find((r) => r.name === "terraform-plan")!;
    expect(policyOf(planB, "assume_role_policy").Statement[0].Principal).toEqual({ AWS: "arn:aws:iam::111111111111:role/iss-tracker-ci-plan" });
    // A given DEPLOYER_PRINCIPAL_ARN wins over the derived deploy role.
    expect(synthBootstrap({ ...PIPELINE, DEPLOYER_PRINCIPAL_ARN: "arn:aws:iam::111111111111:user/alice" }).json.variable.deployer_principal_arn.default).toBe("arn:aws:iam::111111111111:user/alice");
  });

  it("is added to the app only when PIPELINE_REPOSITORY is set", () => {
    const stacksOf = (env: Record<string, string>) => {
      const dir = mkdtempSync(join(tmpdir(), "pipeline-app-"));
      try {
        const app = new App({ outdir: dir });
        addStacks(app, loadConfig({ env: { ACCOUNT_B_ID: "222222222222", ...env } }));
        app.synth();
        return readdirSync(join(dir, "stacks")).sort();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    expect(stacksOf({})).toEqual(["bootstrap", "iss-tracker"]);
    expect(stacksOf(PIPELINE)).toEqual(["bootstrap", "iss-tracker", "pipeline"]);
  });
});

describe("pipeline settings fail at synth, naming the setting and the fix", () => {
  it.each([
    ["octo-org", /PIPELINE_REPOSITORY .*"octo-org": is not a GitHub repository in owner\/repo form.*Fix: give the repository as shown in its URL/],
    ["octo-org/*", /PIPELINE_REPOSITORY .*is not a GitHub repository/],
    ["https://github.com/octo-org/iss-tracker", /PIPELINE_REPOSITORY .*is not a GitHub repository/],
  ])("PIPELINE_REPOSITORY=%s", (value, message) => {
    expect(problemsOf({ ACCOUNT_A_ID: "111111111111", PIPELINE_REPOSITORY: value })).toEqual([expect.stringMatching(message)]);
  });

  it("rejects an environment name with a wildcard or a colon", () => {
    for (const value of ["prod*", "prod:x", "a b"]) {
      expect(problemsOf({ ...PIPELINE, PIPELINE_ENVIRONMENT: value })).toEqual([expect.stringMatching(/PIPELINE_ENVIRONMENT .*is not a GitHub environment name.*Fix: use 1-255 letters/)]);
    }
  });

  it("needs ACCOUNT_A_ID, and its settings need PIPELINE_REPOSITORY", () => {
    expect(problemsOf({ PIPELINE_REPOSITORY: "octo-org/iss-tracker" })).toEqual([expect.stringMatching(/ACCOUNT_A_ID .*is required with PIPELINE_REPOSITORY.*Fix: set ACCOUNT_A_ID/)]);
    expect(problemsOf({ PIPELINE_ENVIRONMENT: "staging" })).toEqual([expect.stringMatching(/PIPELINE_ENVIRONMENT .*only applies to the pipeline stack.*Fix: set PIPELINE_REPOSITORY/)]);
  });

  it("rejects an OIDC provider ARN of another URL or another account", () => {
    expect(problemsOf({ ...PIPELINE, PIPELINE_OIDC_PROVIDER_ARN: "arn:aws:iam::111111111111:oidc-provider/example.com" })).toEqual([expect.stringMatching(/PIPELINE_OIDC_PROVIDER_ARN .*is not the ARN of GitHub's OIDC provider/)]);
    expect(problemsOf({ ...PIPELINE, PIPELINE_OIDC_PROVIDER_ARN: "arn:aws:iam::999999999999:oidc-provider/token.actions.githubusercontent.com" })).toEqual([expect.stringMatching(/PIPELINE_OIDC_PROVIDER_ARN .*is in account 999999999999, not account A/)]);
  });
});
