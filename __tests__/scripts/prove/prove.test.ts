/**
 * The access model proven with a real IAM evaluator (what `npm run prove` prints): the synthesized
 * policies with every reference resolved from the configuration, the allowed paths, the denied
 * ones, and mutations showing the proof fails when a policy is weakened.
 */
import { expectations, formatProof, prove, proveModel, type ProofRow } from "../../../scripts/prove/model";
import { accessModelFrom } from "../../../scripts/prove/access-model";
import { crossTargetExpectations } from "../../../scripts/prove/cross-target";
import { reviewConfig, synthesizeStacks, type Json, type SynthesizedStacks } from "../../../scripts/shared/synth";

const config = reviewConfig({});
let stacks: SynthesizedStacks;
beforeAll(() => {
  stacks = synthesizeStacks(config);
});

/** A deep copy of the synthesized stacks with `edit` applied. */
function altered(edit: (tracker: Json, bootstrap: Json) => void): SynthesizedStacks {
  const copy = JSON.parse(JSON.stringify(stacks));
  edit(copy.tracker, copy.bootstrap);
  return copy;
}
/** The resource of `type` whose attribute `key` equals `value`. */
function find(json: Json, type: string, key: string, value: string): Json {
  const found = Object.values<Json>(json.resource[type]).find((r) => r[key] === value);
  if (!found) throw new Error(`no ${type} with ${key}=${value}`);
  return found;
}
const row = (rows: readonly ProofRow[], description: string) => {
  const found = rows.find((r) => r.description === description);
  if (!found) throw new Error(`no row "${description}"`);
  return found;
};
async function decisionsOf(model: ReturnType<typeof accessModelFrom>, ...descriptions: string[]) {
  const rows = await proveModel(model, expectations(model).filter((e) => descriptions.includes(e.description)));
  return Object.fromEntries(rows.map((r) => [r.description, r.decision]));
}

describe("npm run prove: the synthesized policies under a real IAM evaluator", () => {
  it("allows exactly the 13 paths the system needs, denies every other path, and lists 4 residual allows with their reason (default configuration)", async () => {
    const { rows } = await prove({});
    expect(rows.filter((r) => !r.ok)).toEqual([]);
    expect(rows.filter((r) => r.expected === "allow" && !r.residual).map((r) => r.description)).toEqual([
      "execution role assumes the access role with the external id",
      "access role reads the object over TLS",
      "access role writes the object over TLS",
      "access role aborts its own multipart upload",
      "EventBridge invokes the function from the rule",
      "the rule parks undeliverable events in its DLQ",
      "execution role writes its own log stream",
      "the deployer assumes the bootstrap role in B",
      "Terraform's role creates the access role with its permissions boundary",
      "Terraform's role puts the access role's policy while the boundary is attached",
      "Terraform's role updates the access role's trust while the boundary is attached",
      "Terraform's role attaches the boundary to an access role without it (a deployment from before it)",
      "execution role sends a failed run's record to its on-failure queue",
    ]);
    expect(rows.filter((r) => r.residual).map((r) => [r.description, r.decision])).toEqual([
      ["Terraform's role writes the bucket policy before one exists (the first deploy)", "Allowed"],
      ["an administrator of B rewrites the bucket policy", "Allowed"],
      ["the deployer assumes the access role after Terraform's role made it trust the deployer", "Allowed"],
      ["access role given Action * writes the log (the boundary's own grant)", "Allowed"],
    ]);
    expect(rows.filter((r) => r.expected === "deny" && r.decision === "Allowed")).toEqual([]);
    expect(rows.filter((r) => r.expected === "deny")).toHaveLength(67);
    // Only the execution role may send to the on-failure queue: an explicit Deny for anyone else.
    expect(row(rows, "an administrator of A sends to the on-failure queue")).toMatchObject({ decision: "ExplicitlyDenied", resourceDenies: ["NoOtherSender"] });
  });

  it("answers the escalation questions: Terraform's role cannot create or change the access role without the boundary, remove or edit it, or reach the log", async () => {
    const { rows } = await prove({});
    const escalation = rows.filter((r) => r.group === "Terraform's bootstrap role (and its deployer) cannot escalate in B");
    expect(escalation.length).toBeGreaterThanOrEqual(18);
    expect(escalation.filter((r) => r.decision === "Allowed")).toEqual([]);
    // The boundary guards are explicit denies: they hold even if an allow is added later.
    for (const d of ["Terraform's role removes the access role's boundary", "Terraform's role replaces the boundary with AdministratorAccess",
      "Terraform's role writes a new version of the boundary policy", "Terraform's role deletes the boundary policy",
      "Terraform's role assumes the access role after making it trust itself", "Terraform's role reads the log, even through a bucket policy it wrote"]) {
      expect(row(rows, d)).toMatchObject({ identity: "ExplicitlyDenied", decision: "ExplicitlyDenied" });
    }
    // Whatever Terraform puts on the access role, the boundary caps it.
    const bounded = rows.filter((r) => r.group === "The access role under its permissions boundary, whatever policy it is given");
    expect(bounded.map((r) => [r.identity, r.boundary, r.decision])).toEqual(bounded.map(() => ["Allowed", "ImplicitlyDenied", "ImplicitlyDenied"]));
  });

  it("models the access role with the boundary the bootstrap stack creates, at the ARN both stacks derive", async () => {
    const { model } = await prove({});
    expect(model.accessBoundaryArn).toBe("arn:aws:iam::222222222222:policy/iss-tracker-report-writer-boundary");
    expect(model.accessRole.boundary).toEqual({
      name: model.accessBoundaryArn,
      policy: { Version: "2012-10-17", Statement: [{ Sid: "AtMostTheReportObject", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], Resource: model.objectArn }] },
    });
    expect(Object.keys(model.managedPolicies)).toEqual([model.accessBoundaryArn]);
  });

  it("models the chain across accounts: the assume is cross-account and needs both the identity and the trust side", async () => {
    const { rows } = await prove({});
    const assume = row(rows, "execution role assumes the access role with the external id");
    expect(assume).toMatchObject({ sameAccount: false, identity: "Allowed", resource: "Allowed", decision: "Allowed" });
    // Identity allows (administrator) but the trust does not name it: denied.
    expect(row(rows, "another principal in A (an administrator) assumes the access role"))
      .toMatchObject({ identity: "Allowed", resource: "ImplicitlyDenied", decision: "ImplicitlyDenied" });
    // The trust allows all of A but the execution role's identity policy does not: denied.
    expect(row(rows, "execution role assumes another role in B that trusts all of A"))
      .toMatchObject({ identity: "ImplicitlyDenied", resource: "AllowedForAccount", decision: "ImplicitlyDenied" });
    // Plain HTTP is stopped by the bucket policy's explicit Deny even though the role's policy allows.
    expect(row(rows, "access role reads the object over plain HTTP"))
      .toMatchObject({ identity: "Allowed", resource: "ExplicitlyDenied", decision: "ExplicitlyDenied" });
  });

  it("never lets the evaluator drop a context key the proof relies on (external id, s3:prefix, source ARN, TLS, permissions boundary)", async () => {
    const { rows } = await prove({});
    expect(rows.filter((r) => r.ignoredContextKeys.length > 0).map((r) => [r.description, r.ignoredContextKeys])).toEqual([]);
  });

  it("resolves every ARN from the configuration (pinned account A, other prefix, key and external id)", async () => {
    const { model, rows } = await prove({ ACCOUNT_A_ID: "444444444444", ACCOUNT_B_ID: "555555555555", OBJECT_KEY: "logs/iss.txt", EXTERNAL_ID: "my-ext-id", NAME_PREFIX: "iss-prod" });
    expect(model.executionRole.arn).toBe("arn:aws:iam::444444444444:role/iss-prod-function-exec");
    expect(model.accessRole.arn).toBe("arn:aws:iam::555555555555:role/iss-prod-report-writer");
    expect(model.objectArn).toBe("arn:aws:s3:::iss-prod-reports-555555555555-us-east-1/logs/iss.txt");
    expect(model.accessRole.trustPolicy.Statement[0]).toMatchObject({
      Principal: { AWS: "arn:aws:iam::444444444444:role/iss-prod-function-exec" },
      Condition: { StringEquals: { "sts:ExternalId": "my-ext-id" } },
    });
    expect(JSON.stringify(model)).not.toMatch(/\$\{/);
    expect(rows.filter((r) => !r.ok)).toEqual([]);
  });

  it("takes account A as 111111111111 when ACCOUNT_A_ID is unset", () => {
    const model = accessModelFrom(config, stacks);
    expect(model.accountA).toBe("111111111111");
    expect(model.functionArn).toBe("arn:aws:lambda:us-east-1:111111111111:function:iss-tracker-function");
  });

  it("refuses a policy with a reference it cannot resolve instead of evaluating a dangling ARN", () => {
    const broken = altered((tracker) => {
      const policy = find(tracker, "aws_iam_role_policy", "name", "assume-report-access-role");
      policy.policy = policy.policy.replace(/\$\{aws_iam_role\.[^}]+\.arn\}/, "${aws_iam_role.unknown.arn}");
    });
    expect(() => accessModelFrom(config, broken)).toThrow("unresolved reference ${aws_iam_role.unknown.arn}");
  });

  it("prints a table with every expectation and a closing count", async () => {
    const { model, rows } = await prove({});
    const text = formatProof(model, rows);
    expect(text).toContain("arn:aws:iam::111111111111:role/iss-tracker-function-exec");
    expect(text).toMatch(/^execution role assumes the access role with the external id\s+allow\s+Allowed\s+Allowed\s+Allowed\s+-\s+cross\s+ok$/m);
    expect(text).toMatch(/^anonymous reads the object\s+deny\s+ExplicitlyDenied\s+-\s+ExplicitlyDenied\s+-\s+cross\s+ok$/m);
    expect(text).toMatch(/^access role given Action \* deletes the log\s+deny\s+ImplicitlyDenied\s+Allowed\s+ImplicitlyDenied\s+ImplicitlyDenied\s+same\s+ok$/m);
    expect(text).toContain("# Terraform's bootstrap role (and its deployer) cannot escalate in B");
    expect(text).toMatch(/^ {2}- Terraform's role writes the bucket policy before one exists \(the first deploy\): .*Detected: npm run doctor/m);
    expect(text.trim().split("\n").pop()).toBe("84 passed, 0 failed");
  });
});

describe("the proof fails when a policy is weakened", () => {
  it("an execution role without the sts:AssumeRole policy cannot assume the access role, although the trust names it", async () => {
    const weakened = accessModelFrom(config, altered((tracker) => {
      const id = Object.entries<Json>(tracker.resource.aws_iam_role_policy).find(([, p]) => p.name === "assume-report-access-role")![0];
      delete tracker.resource.aws_iam_role_policy[id];
    }));
    const rows = await proveModel(weakened);
    expect(row(rows, "execution role assumes the access role with the external id"))
      .toMatchObject({ identity: "ImplicitlyDenied", resource: "Allowed", decision: "ImplicitlyDenied", ok: false });
  });

  it("a trust policy without the external id condition lets the role be assumed without it", async () => {
    const weakened = accessModelFrom(config, altered((tracker) => {
      const role = find(tracker, "aws_iam_role", "name", "iss-tracker-report-writer");
      const trust = JSON.parse(role.assume_role_policy);
      delete trust.Statement[0].Condition;
      role.assume_role_policy = JSON.stringify(trust);
    }));
    expect(await decisionsOf(weakened, "execution role assumes the access role without the external id"))
      .toEqual({ "execution role assumes the access role without the external id": "Allowed" });
  });

  it("a trust policy naming account A's root lets any administrator of A in (the broad trust of a whole account)", async () => {
    const weakened = accessModelFrom(config, altered((tracker) => {
      const role = find(tracker, "aws_iam_role", "name", "iss-tracker-report-writer");
      const trust = JSON.parse(role.assume_role_policy);
      trust.Statement[0].Principal = { AWS: "arn:aws:iam::111111111111:root" };
      role.assume_role_policy = JSON.stringify(trust);
    }));
    expect(await decisionsOf(weakened, "another principal in A (an administrator) assumes the access role"))
      .toEqual({ "another principal in A (an administrator) assumes the access role": "Allowed" });
  });

  it("a grant on bucket/* with delete is capped by the boundary; without the boundary it reads other keys and deletes the log", async () => {
    const widen = (dropBoundary: boolean) => accessModelFrom(config, altered((tracker) => {
      const policy = find(tracker, "aws_iam_role_policy", "name", "read-write-report-object");
      const doc = JSON.parse(policy.policy);
      doc.Statement[0].Action = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"];
      doc.Statement[0].Resource = doc.Statement[0].Resource.replace(/\/[^/]+$/, "/*");
      policy.policy = JSON.stringify(doc);
      if (dropBoundary) delete find(tracker, "aws_iam_role", "name", "iss-tracker-report-writer").permissions_boundary;
    }));
    const questions = ["access role reads another key", "access role deletes the object"];
    expect(await decisionsOf(widen(false), ...questions)).toEqual({ "access role reads another key": "ImplicitlyDenied", "access role deletes the object": "ImplicitlyDenied" });
    expect(await decisionsOf(widen(true), ...questions)).toEqual({ "access role reads another key": "Allowed", "access role deletes the object": "Allowed" });
  });

  it("a bucket without the TLS-only policy serves plain HTTP", async () => {
    const weakened = accessModelFrom(config, altered((tracker) => {
      delete tracker.resource.aws_s3_bucket_policy;
    }));
    expect(await decisionsOf(weakened, "access role reads the object over plain HTTP"))
      .toEqual({ "access role reads the object over plain HTTP": "Allowed" });
  });

  const bucketPolicyWithout = (sid: string, edit?: (st: Json) => void) => accessModelFrom(config, altered((tracker) => {
    const policy = Object.values<Json>(tracker.resource.aws_s3_bucket_policy)[0];
    const doc = JSON.parse(policy.policy);
    if (edit) edit(doc.Statement.find((st: Json) => st.Sid === sid));
    else doc.Statement = doc.Statement.filter((st: Json) => st.Sid !== sid);
    policy.policy = JSON.stringify(doc);
  }));
  const guardGroup = "The bucket policy: only the access role touches the log, Terraform's role cannot reconfigure the bucket";

  it("a bucket policy without TerraformSetsProtectionsOnce lets Terraform's role rewrite or drop the policy, versioning, lifecycle, public access block and the bucket", async () => {
    const rows = await proveModel(bucketPolicyWithout("TerraformSetsProtectionsOnce"));
    expect(rows.filter((r) => !r.ok).map((r) => [r.description, r.decision])).toEqual([
      "Terraform's role puts a bucket policy granting s3:* to another principal", "Terraform's role deletes the bucket policy", "Terraform's role suspends versioning",
      "Terraform's role adds a lifecycle rule expiring the log", "Terraform's role deletes the bucket", "Terraform's role removes the public access block",
      "Terraform's role re-enables ACLs (ownership controls)", "Terraform's role changes the default encryption",
    ].map((d) => [d, "Allowed"]));
  });

  it("a TerraformSetsProtectionsOnce naming another role leaves the bootstrap role free", async () => {
    const rows = await proveModel(bucketPolicyWithout("TerraformSetsProtectionsOnce", (st) => { st.Condition.ArnEquals["aws:PrincipalArn"] = "arn:aws:iam::222222222222:role/other"; }));
    expect(rows.filter((r) => r.group === guardGroup && !r.ok).map((r) => r.description)).toHaveLength(8);
  });

  it("a bucket policy without OnlyAccessRoleTouchesObjects lets another account, the public, the deployer and B's administrators at the log through a granting statement", async () => {
    const rows = await proveModel(bucketPolicyWithout("OnlyAccessRoleTouchesObjects"));
    expect(rows.filter((r) => !r.ok).map((r) => [r.description, r.decision])).toEqual([
      ["another account reads the object, even through a bucket policy granting it", "Allowed"],
      ["another account overwrites the object, even through a bucket policy granting it", "Allowed"],
      ["the public reads the object, even through a bucket policy granting everyone", "Allowed"],
      ["the deployer reads the object, even through a bucket policy granting it", "Allowed"],
      ["an administrator of B reads the object directly", "Allowed"],
      ["an administrator of B deletes a version of the log", "Allowed"],
    ]);
  });

  it("an OnlyAccessRoleTouchesObjects that also exempts an administrator of B lets that administrator read and delete the log", async () => {
    const rows = await proveModel(bucketPolicyWithout("OnlyAccessRoleTouchesObjects", (st) => { st.Condition.ArnNotEquals["aws:PrincipalArn"].push("arn:aws:iam::222222222222:role/admin"); }));
    expect(rows.filter((r) => !r.ok).map((r) => r.description)).toEqual(["an administrator of B reads the object directly", "an administrator of B deletes a version of the log"]);
  });

  it("a function permission without the rule's source ARN lets any rule invoke the function", async () => {
    const weakened = accessModelFrom(config, altered((tracker) => {
      delete Object.values<Json>(tracker.resource.aws_lambda_permission)[0].source_arn;
    }));
    expect(await decisionsOf(weakened, "EventBridge invokes the function from another rule"))
      .toEqual({ "EventBridge invokes the function from another rule": "Allowed" });
  });

  it("an access role without its permissions boundary can be given anything: the escalation rows fail", async () => {
    const weakened = accessModelFrom(config, altered((tracker) => {
      delete find(tracker, "aws_iam_role", "name", "iss-tracker-report-writer").permissions_boundary;
    }));
    const rows = await proveModel(weakened);
    expect(weakened.accessRole.boundary).toBeUndefined();
    expect(rows.filter((r) => !r.ok).map((r) => r.description)).toEqual([
      "access role given Action * deletes the log",
      "access role given Action * reads another key",
      "access role given Action * lists the bucket's versions",
      "access role given Action * replaces the bucket policy",
      "access role given Action * creates an IAM role",
      "access role given Action * assumes another role in B that trusts it",
    ]);
  });

  it("a bootstrap policy without the iam:PermissionsBoundary condition lets Terraform's role create or change the access role without the boundary", async () => {
    const weakened = accessModelFrom(config, altered((_tracker, bootstrap) => {
      const policy = find(bootstrap, "aws_iam_role_policy", "name", "manage-iss-tracker");
      const doc = JSON.parse(policy.policy);
      delete doc.Statement.find((st: Json) => st.Sid === "ChangeAccessRoleOnlyWithinBoundary").Condition;
      policy.policy = JSON.stringify(doc);
    }));
    const rows = await proveModel(weakened);
    expect(rows.filter((r) => !r.ok).map((r) => [r.description, r.decision])).toEqual([
      ["Terraform's role creates the access role without a boundary", "Allowed"],
      ["Terraform's role creates the access role with another boundary (AdministratorAccess)", "Allowed"],
      ["Terraform's role puts a policy on the access role once its boundary is gone", "Allowed"],
      ["Terraform's role rewrites the access role's trust once its boundary is gone", "Allowed"],
    ]);
  });

  it("a boundary widened to s3:* on the bucket lets an escalated access role delete the log", async () => {
    const weakened = accessModelFrom(config, altered((_tracker, bootstrap) => {
      const boundary = Object.values<Json>(bootstrap.resource.aws_iam_policy)[0];
      const doc = JSON.parse(boundary.policy);
      doc.Statement[0].Action = "s3:*";
      doc.Statement[0].Resource = doc.Statement[0].Resource.replace(/\/[^/]+$/, "/*");
      boundary.policy = JSON.stringify(doc);
    }));
    expect(await decisionsOf(weakened, "access role given Action * deletes the log", "access role given Action * reads another key")).toEqual({
      "access role given Action * deletes the log": "Allowed",
      "access role given Action * reads another key": "Allowed",
    });
  });

  it("the explicit denies hold against a broadened allow (iam:* on the access role), and without them the boundary could be removed", async () => {
    const broaden = (dropDenies: boolean) => altered((_tracker, bootstrap) => {
      const policy = find(bootstrap, "aws_iam_role_policy", "name", "manage-iss-tracker");
      const doc = JSON.parse(policy.policy);
      doc.Statement.push({ Sid: "Broadened", Effect: "Allow", Action: ["iam:*", "sts:AssumeRole"], Resource: "*" });
      if (dropDenies) doc.Statement = doc.Statement.filter((st: Json) => st.Effect !== "Deny");
      policy.policy = JSON.stringify(doc);
    });
    const questions = ["Terraform's role removes the access role's boundary", "Terraform's role deletes the boundary policy", "Terraform's role assumes the access role after making it trust itself"];
    expect(await decisionsOf(accessModelFrom(config, broaden(false)), ...questions)).toEqual(Object.fromEntries(questions.map((q) => [q, "ExplicitlyDenied"])));
    expect(await decisionsOf(accessModelFrom(config, broaden(true)), ...questions)).toEqual(Object.fromEntries(questions.map((q) => [q, "Allowed"])));
  });

  it("refuses a model whose access role names a boundary the bootstrap stack does not create", () => {
    const broken = altered((_tracker, bootstrap) => {
      delete bootstrap.resource.aws_iam_policy;
    });
    expect(() => accessModelFrom(config, broken)).toThrow(/carries the permissions boundary arn:aws:iam::222222222222:policy\/iss-tracker-report-writer-boundary, which neither stack creates/);
  });
});

describe("several targets: each reaches only its own log", () => {
  const TARGETS = "222222222222,333333333333,444444444444";
  const several = reviewConfig({ TARGETS });
  let fleet: SynthesizedStacks;
  beforeAll(() => {
    fleet = synthesizeStacks(several);
  });
  /** From target 222222222222 towards 333333333333, on stacks altered by `edit`. */
  async function across(edit: (tracker: Json) => void, ...descriptions: string[]) {
    const copy = JSON.parse(JSON.stringify(fleet));
    edit(copy.tracker);
    const [from, to] = [0, 1].map((i) => accessModelFrom(several, copy, i));
    const rows = await proveModel(from, crossTargetExpectations(from, to).filter((e) => descriptions.includes(e.description)));
    expect(rows.map((r) => r.description).sort()).toEqual([...descriptions].sort());
    return Object.fromEntries(rows.map((r) => [r.description, r.decision]));
  }
  const ofProvider = (tracker: Json, type: string, provider: string) => Object.values<Json>(tracker.resource[type]).find((r) => r.provider === provider);

  it("asks every question per target, each target's own, and 14 questions across every ordered pair: all hold", async () => {
    const { models, rows } = await prove({ TARGETS });
    expect(models.map((m) => [m.accountB, m.accessRole.arn, m.objectArn])).toEqual(["222222222222", "333333333333", "444444444444"].map((b) => [
      b, `arn:aws:iam::${b}:role/iss-tracker-report-writer`, `arn:aws:s3:::iss-tracker-reports-${b}-us-east-1/iss_position.txt`,
    ]));
    expect(rows.filter((r) => !r.ok)).toEqual([]);
    const single = (await prove({})).rows.length;
    const crossGroups = rows.filter((r) => r.group.startsWith("Target "));
    expect(crossGroups).toHaveLength(6 * 14);
    expect(rows).toHaveLength(3 * single + 6 * 14);
    expect(rows.filter((r) => r.group === "What the system needs (target 333333333333)").map((r) => r.request)).toContain(
      "arn:aws:sts::111111111111:assumed-role/iss-tracker-function-exec/iss-tracker-function sts:AssumeRole arn:aws:iam::333333333333:role/iss-tracker-report-writer",
    );
    const text = formatProof(models, rows);
    expect(text).toContain("B=222222222222, 333333333333, 444444444444");
    expect(text).toContain("# Target 444444444444 reaches nothing of target 222222222222");
    expect(text.trim().split("\n").pop()).toBe(`${rows.length} passed, 0 failed`);
  });

  it("a bucket policy of one member granting another member account fails the question once the guard is gone: that account's administrators read the log", async () => {
    const question = "an administrator of its account reads target 333333333333's log";
    const grant = (dropGuard: boolean) => (tracker: Json) => {
      const policy = ofProvider(tracker, "aws_s3_bucket_policy", "aws.account_333333333333");
      const doc = JSON.parse(policy.policy);
      if (dropGuard) doc.Statement = doc.Statement.filter((st: { Sid?: string }) => st.Sid !== "OnlyAccessRoleTouchesObjects");
      doc.Statement.push({ Sid: "MemberReads", Effect: "Allow", Principal: { AWS: "arn:aws:iam::222222222222:root" }, Action: "s3:GetObject", Resource: doc.Statement[0].Resource });
      policy.policy = JSON.stringify(doc);
    };
    expect(await across(() => undefined, question)).toEqual({ [question]: "ExplicitlyDenied" });
    // The guard (only the access role touches objects) holds even against the grant.
    expect(await across(grant(false), question)).toEqual({ [question]: "ExplicitlyDenied" });
    expect(await across(grant(true), question)).toEqual({ [question]: "Allowed" });
  });

  it("an access role trusting another member account fails the question: that account's administrators become it", async () => {
    const question = "an administrator of its account assumes target 333333333333's access role with its external id";
    const trustMember = (tracker: Json) => {
      const role = ofProvider(tracker, "aws_iam_role", "aws.account_333333333333");
      const trust = JSON.parse(role.assume_role_policy);
      trust.Statement[0].Principal = { AWS: "arn:aws:iam::222222222222:root" };
      role.assume_role_policy = JSON.stringify(trust);
    };
    expect(await across(trustMember, question)).toEqual({ [question]: "Allowed" });
  });

  it("one external id for every target would let the function's role hold one id for all: then that question is left out, not answered wrongly", async () => {
    const shared = reviewConfig({ TARGETS, EXTERNAL_ID: "one-id-for-all" });
    const stacksShared = synthesizeStacks(shared);
    const [from, to] = [0, 1].map((i) => accessModelFrom(shared, stacksShared, i));
    const descriptions = crossTargetExpectations(from, to).map((e) => e.description);
    expect(descriptions).toHaveLength(13);
    expect(descriptions.some((d) => d.startsWith("the execution role assumes"))).toBe(false);
    expect(crossTargetExpectations(accessModelFrom(several, fleet, 0), accessModelFrom(several, fleet, 1)).map((e) => e.description))
      .toContain("the execution role assumes target 333333333333's access role with target 222222222222's external id");
  });
});

describe("partitions", () => {
  it("builds every ARN in the regions' partition (GovCloud) and proves the same model there", async () => {
    const { model, rows } = await prove({ REGION_A: "us-gov-west-1", REGION_B: "us-gov-east-1" });
    expect(rows.filter((r) => !r.ok)).toEqual([]);
    const arns = [model.executionRole.arn, model.accessRole.arn, model.bootstrapRole.arn, model.accessBoundaryArn, model.bucketArn, model.objectArn, model.functionArn, model.queueArn, model.ruleArn, model.logGroupArn, model.deployerArn];
    expect(arns.filter((arn) => !arn.startsWith("arn:aws-us-gov:"))).toEqual([]);
    expect(JSON.stringify(model)).not.toMatch(/arn:aws:/);
  });
});
