import { policyOf, only, synthBootstrap } from "../../test-support/synth";

describe("bootstrap stack (account B, deployed once with B's credentials)", () => {
  const { json } = synthBootstrap({ DEPLOYER_PRINCIPAL_ARN: "arn:aws:iam::111111111111:user/alice" });
  const role = only(json, "aws_iam_role");

  it("synthesizes to the reviewed Terraform (snapshot)", () => {
    expect(json).toMatchSnapshot();
  });

  it("runs with B's own credentials and refuses any other account", () => {
    expect(json.provider.aws).toEqual([expect.objectContaining({ region: "us-east-1", allowed_account_ids: ["222222222222"] })]);
    expect(json.provider.aws[0].assume_role).toBeUndefined();
  });

  it("creates the role the account_b provider assumes, trusting exactly the deployer", () => {
    expect(role).toMatchObject({ name: "terraform", max_session_duration: 3600 });
    expect(json.variable.deployer_principal_arn.default).toBe("arn:aws:iam::111111111111:user/alice");
    expect(policyOf(role, "assume_role_policy")).toEqual({
      Version: "2012-10-17",
      Statement: [{
        Sid: "DeployerAssumesRole",
        Effect: "Allow",
        Principal: { AWS: "${var.deployer_principal_arn}" },
        Action: ["sts:AssumeRole", "sts:TagSession"],
      }],
    });
  });

  it("asks for the deployer at deploy time when DEPLOYER_PRINCIPAL_ARN is unset, and validates it", () => {
    const variable = synthBootstrap().json.variable.deployer_principal_arn;
    expect(variable.default).toBeUndefined();
    expect(variable.validation[0].error_message).toMatch(/deployer_principal_arn must be an IAM user, role or root ARN/);
  });

  it("may manage only the tracker's access role and the report bucket's configuration, never the log object", () => {
    const permissions = policyOf(only(json, "aws_iam_role_policy"));
    expect(permissions.Statement.map((s: { Resource: string }) => s.Resource)).toEqual([
      "arn:aws:iam::222222222222:role/iss-tracker-report-writer",
      "arn:aws:s3:::iss-tracker-reports-222222222222-us-east-1",
    ]);
    const actions: string[] = permissions.Statement.flatMap((s: { Action: string[] }) => s.Action);
    expect(actions.filter((a) => /Object|^s3:\*$|^iam:\*$|PassRole/.test(a))).toEqual([]);
  });

  it("follows a custom bootstrap role name, prefix and bucket", () => {
    const custom = synthBootstrap({ BOOTSTRAP_ROLE_NAME: "deployer", NAME_PREFIX: "iss-prod", BUCKET_NAME: "my-iss-logs" }).json;
    expect(only(custom, "aws_iam_role").name).toBe("deployer");
    expect(policyOf(only(custom, "aws_iam_role_policy")).Statement.map((s: { Resource: string }) => s.Resource)).toEqual([
      "arn:aws:iam::222222222222:role/iss-prod-report-writer",
      "arn:aws:s3:::my-iss-logs",
    ]);
  });
});
