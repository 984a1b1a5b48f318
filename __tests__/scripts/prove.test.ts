/** The access model proven with a real IAM evaluator (what `npm run prove` prints). */
import { buildAccessModel, evaluate, expectations, prove, type AccessModel } from "../../scripts/lib/prove-model";

describe("the synthesized access model under a real IAM evaluator", () => {
  it("allows exactly what the function needs and denies every other path (default configuration)", async () => {
    const { rows } = await prove({});
    expect(rows.filter((r) => !r.ok)).toEqual([]);
    expect(rows.filter((r) => r.expected === "allow")).toHaveLength(9);
    expect(rows.filter((r) => r.expected === "deny").length).toBeGreaterThanOrEqual(20);
    // Plain HTTP is stopped by the bucket policy's explicit Deny, not just by a missing Allow.
    expect(rows.find((r) => r.description.includes("reads the object over plain HTTP"))?.decision).toBe("ExplicitlyDenied");
  });

  it("holds for another configuration (pinned account A, other key, external id and prefix)", async () => {
    const { model, rows } = await prove({ ACCOUNT_A_ID: "444444444444", OBJECT_KEY: "logs/iss.txt", EXTERNAL_ID: "my-ext-id", NAME_PREFIX: "iss-prod" });
    expect(model.objectArn).toBe("arn:aws:s3:::iss-prod-reports-222222222222-us-east-1/logs/iss.txt");
    expect(model.roles["iss-prod-function-exec"].arn).toBe("arn:aws:iam::444444444444:role/iss-prod-function-exec");
    expect(rows.filter((r) => !r.ok)).toEqual([]);
  });

  describe("catches a weakened policy (the proof can fail)", () => {
    let model: AccessModel;
    beforeAll(() => {
      model = buildAccessModel({});
    });
    const find = (m: AccessModel, text: string) => {
      const e = expectations(m).find((x) => x.description.includes(text));
      if (!e) throw new Error(`no expectation ${text}`);
      return e;
    };

    it("a trust policy without the external id condition lets the role be assumed without it", async () => {
      const access = model.roles["iss-tracker-report-writer"];
      const { Condition: _dropped, ...statement } = access.trustPolicy.Statement[0];
      const weakened: AccessModel = {
        ...model,
        roles: { ...model.roles, "iss-tracker-report-writer": { ...access, trustPolicy: { ...access.trustPolicy, Statement: [statement] } } },
      };
      expect(await evaluate(model, find(model, "without the external id"))).toBe("ImplicitlyDenied");
      expect(await evaluate(weakened, find(weakened, "without the external id"))).toBe("Allowed");
    });

    it("a grant on bucket/* (seed 003's) lets the access role read other keys", async () => {
      const access = model.roles["iss-tracker-report-writer"];
      const wide = { Version: "2012-10-17" as const, Statement: [{ Sid: "Wide", Effect: "Allow" as const, Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: `${model.bucketArn}/*` }] };
      const weakened: AccessModel = {
        ...model,
        roles: { ...model.roles, "iss-tracker-report-writer": { ...access, policies: [{ name: "wide", policy: wide }] } },
      };
      expect(await evaluate(weakened, find(weakened, "reads another key"))).toBe("Allowed");
      expect(await evaluate(weakened, find(weakened, "deletes the object"))).toBe("Allowed");
    });

    it("a trust policy naming account A's root lets any administrator of A in", async () => {
      const access = model.roles["iss-tracker-report-writer"];
      const statement = { ...access.trustPolicy.Statement[0], Principal: { AWS: `arn:aws:iam::${model.accountA}:root` } };
      const weakened: AccessModel = {
        ...model,
        roles: { ...model.roles, "iss-tracker-report-writer": { ...access, trustPolicy: { ...access.trustPolicy, Statement: [statement] } } },
      };
      expect(await evaluate(weakened, find(weakened, "another principal in A (even an administrator)"))).toBe("Allowed");
    });
  });
});
