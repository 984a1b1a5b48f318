/**
 * The credential check against the emulator's real STS: the right account passes (and, for the
 * main stack, the bootstrap role is assumed as the account_b provider will); another account's
 * credentials, or an identity that may not assume the bootstrap role, fail in one line that says so.
 */
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { checkCredentials } from "../../../scripts/review/credentials";
import { startMoto, type MotoServer } from "../../../scripts/emulator/moto";
import { loadConfig } from "../../../stacks/config";

const MOTO_ACCOUNT = "123456789012"; // whom moto's default credentials belong to
let moto: MotoServer;
const keys = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" };
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^AWS_/.test(k)) clean[k] = v;
  return { ...clean, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", ...keys, ...extra };
};
const config = (settings: Record<string, string>) => loadConfig({ env: { ISS_TRACKER_LOCAL_ENDPOINT: moto.endpoint, ...settings } });

beforeAll(async () => {
  moto = await startMoto();
}, 60_000);
afterAll(() => moto?.stop());

describe("the credential check on the emulator", () => {
  it("passes account A's credentials for the main stack once the bootstrap role in B can be assumed", async () => {
    const report = await checkCredentials("iss-tracker", config({ ACCOUNT_B_ID: "222222222222", ACCOUNT_A_ID: MOTO_ACCOUNT }), { env: env() });
    expect(report).toEqual({
      ok: true,
      identity: { account: MOTO_ACCOUNT, arn: `arn:aws:sts::${MOTO_ACCOUNT}:user/moto` },
      bootstrapRole: "arn:aws:iam::222222222222:role/terraform",
      line: `iss-tracker: account A's credentials: arn:aws:sts::${MOTO_ACCOUNT}:user/moto; account B through arn:aws:iam::222222222222:role/terraform`,
    });
  });

  it("passes account B's credentials for the bootstrap stack, and refuses another account's for either stack", async () => {
    expect(await checkCredentials("bootstrap", config({ ACCOUNT_B_ID: MOTO_ACCOUNT }), { env: env() })).toMatchObject({ ok: true, line: `bootstrap: account B's credentials: arn:aws:sts::${MOTO_ACCOUNT}:user/moto` });
    expect(await checkCredentials("bootstrap", config({ ACCOUNT_B_ID: "222222222222" }), { env: env() })).toEqual({
      ok: false,
      line: expect.stringMatching(new RegExp(`^bootstrap needs account B's credentials \\(222222222222\\), and these are account ${MOTO_ACCOUNT}'s \\(arn:aws:sts::${MOTO_ACCOUNT}:user/moto\\): set AWS_PROFILE to a profile of account B`)),
    });
    expect(await checkCredentials("iss-tracker", config({ ACCOUNT_B_ID: "222222222222", ACCOUNT_A_ID: "999999999999" }), { env: env() })).toEqual({
      ok: false,
      line: expect.stringMatching(/^iss-tracker needs account A's credentials \(999999999999\), and these are account 123456789012's/),
    });
  });

  it("says which role account A's identity may not assume, and how to allow it, when STS denies it", async () => {
    const iam = new IAMClient({ region: "us-east-1", endpoint: moto.endpoint, credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    await iam.send(new CreateUserCommand({ UserName: "no-assume" }));
    await iam.send(new PutUserPolicyCommand({ UserName: "no-assume", PolicyName: "whoami", PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:GetCallerIdentity", Resource: "*" }] }) }));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "no-assume" }))).AccessKey!;
    await moto.enforceIam();
    try {
      const report = await checkCredentials("iss-tracker", config({ ACCOUNT_B_ID: "222222222222" }), { env: env({ AWS_ACCESS_KEY_ID: key.AccessKeyId!, AWS_SECRET_ACCESS_KEY: key.SecretAccessKey! }) });
      expect(report.ok).toBe(false);
      expect(report.line).toMatch(/^iss-tracker reaches account B through arn:aws:iam::222222222222:role\/terraform, which account A's arn:aws:iam::123456789012:user\/no-assume may not assume \(AccessDenied: .*\): deploy the bootstrap stack first with B's credentials and DEPLOYER_PRINCIPAL_ARN set to this identity's/);
    } finally {
      await moto.relaxIam();
    }
  });
});
