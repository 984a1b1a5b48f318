/**
 * npm run prove's pipeline questions: GitHub's tokens against the synthesized roles' trust, the
 * roles' sessions against their policies, and mutations showing each question fails when the trust
 * is loosened (a wildcard subject, the environment dropped, the audience removed).
 */
import { buildPipelineModel, pipelineConfig, pipelineModelFrom, provePipeline } from "../../../scripts/prove/pipeline-model";
import { synthesizeStacks, type Json, type SynthesizedStacks } from "../../../scripts/shared/synth";

const config = pipelineConfig({});
let stacks: SynthesizedStacks;
beforeAll(() => {
  stacks = synthesizeStacks(config);
});

/** The stacks with the named pipeline role's trust condition edited. */
function withTrust(roleName: string, edit: (condition: Json) => void): SynthesizedStacks {
  const copy = JSON.parse(JSON.stringify(stacks));
  const role = Object.values<Json>(copy.pipeline.resource.aws_iam_role).find((r) => r.name === roleName);
  const trust = JSON.parse(role.assume_role_policy);
  edit(trust.Statement[0].Condition);
  role.assume_role_policy = JSON.stringify(trust);
  return copy;
}
const wrongOf = async (altered: SynthesizedStacks) => (await provePipeline(pipelineModelFrom(config, altered))).filter((r) => !r.ok).map((r) => r.description);
const SUB = "token.actions.githubusercontent.com:sub";
const AUD = "token.actions.githubusercontent.com:aud";

describe("npm run prove: the pipeline's OIDC identity", () => {
  it("lets the repository's pull requests plan and its environment deploy, and denies every other token and every change by the plan path", async () => {
    const rows = await provePipeline(buildPipelineModel({}));
    expect(rows.filter((r) => !r.ok)).toEqual([]);
    expect(rows.filter((r) => r.expected === "allow")).toHaveLength(6);
    expect(rows.filter((r) => r.expected === "deny").map((r) => r.description)).toEqual(expect.arrayContaining([
      "a fork's pull request token assumes the deploy role",
      "another repository's environment job assumes the deploy role",
      "a push to another branch (no environment) assumes the deploy role",
      "a job of another environment assumes the deploy role",
      "a token without the audience assumes the deploy role",
      "the plan role puts a policy on the execution role",
      "the read-only role in B writes the log",
      "the plan role updates the function's code",
    ]));
  });

  it("follows the configured repository and environment", async () => {
    const model = buildPipelineModel({ PIPELINE_REPOSITORY: "octo-org/tracker", PIPELINE_ENVIRONMENT: "prod-eu", ACCOUNT_A_ID: "444444444444" });
    expect(model.deployRole.trustPolicy.Statement[0].Condition?.StringEquals?.[SUB]).toBe("repo:octo-org/tracker:environment:prod-eu");
    expect((await provePipeline(model)).filter((r) => !r.ok)).toEqual([]);
  });

  it("fails when the deploy role's subject is a StringLike wildcard over the repository", async () => {
    const wrong = await wrongOf(withTrust("iss-tracker-ci-deploy", (c) => {
      c.StringLike = { [SUB]: `repo:${config.pipelineRepository}:*` };
      delete c.StringEquals[SUB];
    }));
    expect(wrong).toEqual(expect.arrayContaining([
      "the repository's pull request token assumes the deploy role",
      "a push to another branch (no environment) assumes the deploy role",
      "a job of another environment assumes the deploy role",
    ]));
  });

  it("fails when the deploy role's environment is dropped (any environment of the repository)", async () => {
    const wrong = await wrongOf(withTrust("iss-tracker-ci-deploy", (c) => {
      c.StringLike = { [SUB]: `repo:${config.pipelineRepository}:environment:*` };
      delete c.StringEquals[SUB];
    }));
    expect(wrong).toEqual(["a job of another environment assumes the deploy role"]);
  });

  it("fails when the subject condition is removed, or the owner is a wildcard", async () => {
    expect(await wrongOf(withTrust("iss-tracker-ci-deploy", (c) => delete c.StringEquals[SUB]))).toEqual(expect.arrayContaining([
      "a fork's pull request token assumes the deploy role", "another repository's environment job assumes the deploy role",
    ]));
    expect(await wrongOf(withTrust("iss-tracker-ci-plan", (c) => {
      c.StringLike = { [SUB]: "repo:*/iss-tracker:pull_request" };
      delete c.StringEquals[SUB];
    }))).toEqual(["a fork's pull request token assumes the plan role"]);
  });

  it("fails when the audience condition is removed", async () => {
    expect(await wrongOf(withTrust("iss-tracker-ci-deploy", (c) => delete c.StringEquals[AUD]))).toEqual([
      "a token without the audience assumes the deploy role", "a token for another audience assumes the deploy role",
    ]);
    expect(await wrongOf(withTrust("iss-tracker-ci-plan", (c) => delete c.StringEquals[AUD]))).toEqual(["a token without the audience assumes the plan role"]);
  });

  it("fails when the plan role is given a write", async () => {
    const copy = JSON.parse(JSON.stringify(stacks));
    const plan = Object.values<Json>(copy.pipeline.resource.aws_iam_role_policy).find((p) => p.name === "plan-iss-tracker");
    const doc = JSON.parse(plan.policy);
    doc.Statement.push({ Sid: "Widened", Effect: "Allow", Action: ["iam:PutRolePolicy", "lambda:UpdateFunctionCode"], Resource: "*" });
    plan.policy = JSON.stringify(doc);
    expect(await wrongOf(copy)).toEqual(["the plan role puts a policy on the execution role", "the plan role puts a policy on itself", "the plan role updates the function's code"]);
  });
});
