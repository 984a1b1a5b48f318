import { AssumeRoleCommand, STSClient, STSServiceException } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { AssumeRoleError, assumeRole, roleSessionName } from "../../function/credentials";

const ROLE = "arn:aws:iam::111111111111:role/iss-tracker-access";
const sts = mockClient(STSClient);
const T0 = Date.parse("2026-01-01T00:00:00Z");
const grant = (id = "ASIAFIRST") => ({ Credentials: { AccessKeyId: id, SecretAccessKey: "secret", SessionToken: "token", Expiration: new Date(T0 + 3600_000) } });
const stsError = (name: string, status: number, message = name) => new STSServiceException({ name, $fault: status >= 500 ? "server" : "client", $metadata: { httpStatusCode: status }, message });
const call = (extra: Partial<Parameters<typeof assumeRole>[1]> = {}) =>
  assumeRole(new STSClient({}), { roleArn: ROLE, externalId: "ext-123", sessionName: "fn-req1", sleep: async () => undefined, ...extra });

beforeEach(() => sts.reset());

describe("roleSessionName", () => {
  it("joins the function name and the request id", () => {
    expect(roleSessionName("iss-tracker-function", "6f1c3f0e-8d2a-4b7e-9d6f-0a1b2c3d4e5f")).toBe("iss-tracker-function-6f1c3f0e-8d2a-4b7e-9d6f-0a1b2c3d4e5f");
  });
  it("keeps only [\\w+=,.@-] and at most 64 characters, with the request id whole", () => {
    const name = roleSessionName("my function/with:odd*chars-and-a-very-long-name-indeed", "6f1c3f0e-8d2a-4b7e-9d6f-0a1b2c3d4e5f");
    expect(name).toMatch(/^[\w+=,.@-]{2,64}$/);
    expect(name.length).toBe(64);
    expect(name.endsWith("-6f1c3f0e-8d2a-4b7e-9d6f-0a1b2c3d4e5f")).toBe(true);
    expect(name.startsWith("my-function-with-odd-chars")).toBe(true);
  });
  it("falls back to a valid name when context fields are missing", () => {
    expect(roleSessionName(undefined, undefined)).toBe("iss-tracker");
    expect(roleSessionName("x", undefined)).toBe("x-");
    expect(roleSessionName(undefined, "r")).toBe("iss-tracker-r");
  });
});

describe("assumeRole", () => {
  it("assumes the role with the external id, the session name and the 1-hour chaining cap", async () => {
    sts.on(AssumeRoleCommand).resolves(grant());
    expect(await call()).toEqual({ accessKeyId: "ASIAFIRST", secretAccessKey: "secret", sessionToken: "token", expiration: new Date(T0 + 3600_000) });
    expect(sts.commandCalls(AssumeRoleCommand)[0].args[0].input).toEqual({ RoleArn: ROLE, ExternalId: "ext-123", RoleSessionName: "fn-req1", DurationSeconds: 3600 });
  });

  it("explains AccessDenied: the execution policy or the trust policy / external id", async () => {
    sts.on(AssumeRoleCommand).rejects(stsError("AccessDenied", 403, `User: arn:aws:sts::222222222222:assumed-role/exec/fn is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`));
    const error = await call().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssumeRoleError);
    const message = (error as Error).message;
    expect(message).toContain(`AccessDenied assuming ${ROLE}`);
    expect(message).toContain(`execution role policy lacks sts:AssumeRole on ${ROLE}`);
    expect(message).toMatch(/trust policy does not list the execution role as principal/);
    expect(message).toMatch(/sts:ExternalId condition differs from EXTERNAL_ID/);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(1); // a denial is not retried
  });

  it("reports other STS failures with the role and the error name", async () => {
    sts.on(AssumeRoleCommand).rejects(stsError("RegionDisabledException", 403, "STS is not activated"));
    await expect(call()).rejects.toThrow(`AssumeRole on ${ROLE} failed (RegionDisabledException): STS is not activated`);
  });

  it("retries throttling and 5xx with jitter while an attempt fits", async () => {
    const sleeps: number[] = [];
    sts.on(AssumeRoleCommand).rejectsOnce(stsError("Throttling", 400)).rejectsOnce(stsError("ServiceUnavailable", 503)).resolves(grant());
    await expect(call({ sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 })).resolves.toMatchObject({ accessKeyId: "ASIAFIRST" });
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  it("gives up throttled with the time left, naming STS's last answer", async () => {
    let remaining = 3000;
    sts.on(AssumeRoleCommand).rejects(stsError("Throttling", 400, "Rate exceeded"));
    const error = await call({ deadline: { remainingMs: () => remaining }, marginMs: 2000, sleep: async (ms) => void (remaining -= ms + 200) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssumeRoleError);
    expect((error as Error).message).toBe(`AssumeRole on ${ROLE} failed (Throttling): Rate exceeded`);
  });

  it("refuses a response without complete credentials", async () => {
    sts.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: "A", SecretAccessKey: "", SessionToken: "t", Expiration: new Date(T0) } });
    await expect(call()).rejects.toThrow(/no complete credentials/);
  });

  it("gives AssumeRole the time left minus the margin: a hung STS ends as AssumeRoleError, not a Lambda timeout", async () => {
    let signal: AbortSignal | undefined;
    const sender = { send: (_command: never, options?: { abortSignal?: AbortSignal }) => ((signal = options?.abortSignal), new Promise<never>(() => undefined)) };
    const error = await assumeRole(sender as never, { roleArn: ROLE, externalId: "ext", sessionName: "s", deadline: { remainingMs: () => 400 }, marginMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssumeRoleError);
    expect((error as Error).message).toBe(`AssumeRole on ${ROLE} failed (DeadlineError): AssumeRole on ${ROLE}: no answer within 200 ms (the time left in the run)`);
    expect(signal?.aborted).toBe(true);
  });

  it("rejects a session duration above the role-chaining cap", async () => {
    await expect(call({ durationSeconds: 7200 })).rejects.toThrow(/role chaining cap/);
  });
});
