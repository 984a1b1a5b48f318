import { BOOTSTRAP_GRANTS, bootstrapGrantedActions } from "../../stacks/bootstrap-stack";
import { policyOf, only, synthBootstrap } from "../../test-support/synth";

describe("bootstrap stack (account B, deployed once with B's credentials)", () => {
  const { json } = synthBootstrap({ DEPLOYER_PRINCIPAL_ARN: "arn:aws:iam::111111111111:user/alice" });
  const role = only(json, "aws_iam_role");
  const permissions = policyOf(only(json, "aws_iam_role_policy"));
  const statement = (sid: string) => {
    const found = permissions.Statement.find((s: { Sid: string }) => s.Sid === sid);
    if (!found) throw new Error(`no statement ${sid}`);
    return found;
  };
  const ACCESS_ROLE = "arn:aws:iam::222222222222:role/iss-tracker-report-writer";
  const BOUNDARY = "arn:aws:iam::222222222222:policy/iss-tracker-report-writer-boundary";
  const BUCKET = "arn:aws:s3:::iss-tracker-reports-222222222222-us-east-1";

  it("synthesizes to the reviewed Terraform (snapshot)", () => {
    expect(json).toMatchSnapshot();
  });

  it("runs with B's own credentials and refuses any other account", () => {
    expect(json.provider.aws).toEqual([expect.objectContaining({ region: "us-east-1", allowed_account_ids: ["222222222222"] })]);
    expect(json.provider.aws[0].assume_role).toBeUndefined();
  });

  it("creates the role the account_b provider assumes, trusting exactly the deployer, without session tags", () => {
    expect(role).toMatchObject({ name: "terraform", max_session_duration: 3600 });
    expect(json.variable.deployer_principal_arn.default).toBe("arn:aws:iam::111111111111:user/alice");
    expect(policyOf(role, "assume_role_policy")).toEqual({
      Version: "2012-10-17",
      Statement: [{
        Sid: "DeployerAssumesRole",
        Effect: "Allow",
        Principal: { AWS: "${var.deployer_principal_arn}" },
        Action: "sts:AssumeRole",
      }],
    });
  });

  it("asks for the deployer at deploy time when DEPLOYER_PRINCIPAL_ARN is unset, and validates it", () => {
    const variable = synthBootstrap().json.variable.deployer_principal_arn;
    expect(variable.default).toBeUndefined();
    expect(variable.validation[0].error_message).toMatch(/deployer_principal_arn must be an IAM user or role ARN in account A \(partition aws; not the account root, not an sts assumed-role session\)/);
    expect(variable.validation[0].condition).toContain('regex("^arn:aws:iam::[0-9]{12}:(user/.+|role/.+)$", var.deployer_principal_arn)');
  });

  it("creates the access role's permissions boundary: at most the tracker's object actions on the one object", () => {
    const boundary = only(json, "aws_iam_policy");
    expect(boundary.name).toBe("iss-tracker-report-writer-boundary");
    expect(boundary.path).toBeUndefined();
    expect(policyOf(boundary)).toEqual({
      Version: "2012-10-17",
      Statement: [{ Sid: "AtMostTheReportObject", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], Resource: `${BUCKET}/iss_position.txt` }],
    });
    expect(json.output.access_role_boundary_arn.value).toBe("${aws_iam_policy.access-role-boundary.arn}");
  });

  it("may create and change the access role only with that boundary attached", () => {
    expect(statement("ChangeAccessRoleOnlyWithinBoundary")).toEqual({
      Sid: "ChangeAccessRoleOnlyWithinBoundary",
      Effect: "Allow",
      Action: ["iam:CreateRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:DeleteRole", "iam:PutRolePermissionsBoundary"],
      Resource: ACCESS_ROLE,
      Condition: { StringEquals: { "iam:PermissionsBoundary": BOUNDARY } },
    });
    expect(statement("ReadAndTagAccessRole")).toEqual({
      Sid: "ReadAndTagAccessRole",
      Effect: "Allow",
      Action: ["iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:GetRolePolicy", "iam:ListInstanceProfilesForRole", "iam:TagRole"],
      Resource: ACCESS_ROLE,
    });
  });

  it("may never remove, replace or edit the boundary, touch the log's objects, or assume the access role", () => {
    const denies = permissions.Statement.filter((s: { Effect: string }) => s.Effect === "Deny");
    expect(denies).toEqual([
      { Sid: "NeverRemoveBoundary", Effect: "Deny", Action: "iam:DeleteRolePermissionsBoundary", Resource: "*" },
      { Sid: "NeverReplaceBoundary", Effect: "Deny", Action: "iam:PutRolePermissionsBoundary", Resource: "*", Condition: { StringNotEquals: { "iam:PermissionsBoundary": BOUNDARY } } },
      { Sid: "NeverEditBoundaryPolicy", Effect: "Deny", Action: ["iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy", "iam:TagPolicy", "iam:UntagPolicy"], Resource: BOUNDARY },
      { Sid: "NeverTouchTheLog", Effect: "Deny", Action: "s3:*", Resource: `${BUCKET}/*` },
      { Sid: "NeverAssumeAccessRole", Effect: "Deny", Action: "sts:AssumeRole", Resource: ACCESS_ROLE },
    ]);
  });

  it("grants exactly the listed actions, each on its one resource: no wildcard, no object action, no PassRole, nothing unlisted", () => {
    const allows = permissions.Statement.filter((s: { Effect: string }) => s.Effect === "Allow");
    const granted: string[] = allows.flatMap((s: { Action: string[] }) => s.Action);
    expect(granted).toEqual(bootstrapGrantedActions());
    expect(new Set(granted).size).toBe(granted.length);
    const forbidden = /\*|^s3:(Get|Put|Delete|Restore)Object|PassRole|DeleteRolePermissionsBoundary|PolicyVersion|^s3:Put(BucketAcl|BucketObjectLockConfiguration|BucketWebsite|BucketNotification|BucketCORS|ReplicationConfiguration|AccelerateConfiguration|BucketLogging|BucketRequestPayment)$/;
    expect(granted.filter((a) => forbidden.test(a))).toEqual([]);
    expect(allows.map((s: { Resource: string }) => s.Resource)).toEqual([ACCESS_ROLE, ACCESS_ROLE, BUCKET]);
    // Every grant says which provider call needs it.
    for (const group of Object.values(BOOTSTRAP_GRANTS)) {
      for (const [action, reason] of Object.entries(group)) expect([action, reason.length > 10]).toEqual([action, true]);
    }
  });

  it("follows a custom bootstrap role name, prefix, bucket and key", () => {
    const custom = synthBootstrap({ BOOTSTRAP_ROLE_NAME: "deployer", NAME_PREFIX: "iss-prod", BUCKET_NAME: "my-iss-logs", OBJECT_KEY: "logs/iss.txt" }).json;
    expect(only(custom, "aws_iam_role").name).toBe("deployer");
    const doc = policyOf(only(custom, "aws_iam_role_policy"));
    expect(doc.Statement.filter((s: { Effect: string }) => s.Effect === "Allow").map((s: { Resource: string }) => s.Resource)).toEqual([
      "arn:aws:iam::222222222222:role/iss-prod-report-writer", "arn:aws:iam::222222222222:role/iss-prod-report-writer", "arn:aws:s3:::my-iss-logs",
    ]);
    expect(doc.Statement[0].Condition).toEqual({ StringEquals: { "iam:PermissionsBoundary": "arn:aws:iam::222222222222:policy/iss-prod-report-writer-boundary" } });
    expect(policyOf(only(custom, "aws_iam_policy")).Statement[0].Resource).toBe("arn:aws:s3:::my-iss-logs/logs/iss.txt");
  });

  it("builds every ARN in the region's partition (China)", () => {
    const china = synthBootstrap({ REGION_A: "cn-north-1", REGION_B: "cn-northwest-1" }).json;
    const text = JSON.stringify({ policy: only(china, "aws_iam_role_policy").policy, boundary: only(china, "aws_iam_policy").policy });
    expect(text).not.toMatch(/arn:aws:/);
    expect(text).toContain("arn:aws-cn:iam::222222222222:policy/iss-tracker-report-writer-boundary");
    expect(text).toContain("arn:aws-cn:s3:::iss-tracker-reports-222222222222-cn-northwest-1");
    expect(china.variable.deployer_principal_arn.validation[0].condition).toContain("^arn:aws-cn:iam::");
  });
});
