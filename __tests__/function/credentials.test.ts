import { AssumeRoleCommand, STSClient, STSServiceException } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { AssumeRoleError, AssumeRoleProvider, REFRESH_MARGIN_MS, roleSessionName, type AssumedCredentials } from "../../function/credentials";

const ROLE = "arn:aws:iam::111111111111:role/iss-tracker-access";
const sts = mockClient(STSClient);
const T0 = Date.parse("2026-01-01T00:00:00Z");

function grant(expiresAt: number, id = "ASIAFIRST") {
  return { Credentials: { AccessKeyId: id, SecretAccessKey: "secret", SessionToken: "token", Expiration: new Date(expiresAt) } };
}

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

describe("AssumeRoleProvider", () => {
  it("assumes the role with the external id, the session name and the 1-hour chaining cap", async () => {
    sts.on(AssumeRoleCommand).resolves(grant(T0 + 3600_000));
    const provider = new AssumeRoleProvider({ sts: new STSClient({}), roleArn: ROLE, externalId: "ext-123", cache: new Map(), now: () => T0 });
    const result = await provider.get("fn-req1");
    expect(result.cached).toBe(false);
    expect(result.credentials).toEqual({ accessKeyId: "ASIAFIRST", secretAccessKey: "secret", sessionToken: "token", expiration: new Date(T0 + 3600_000) });
    expect(sts.commandCalls(AssumeRoleCommand)[0].args[0].input).toEqual({
      RoleArn: ROLE,
      ExternalId: "ext-123",
      RoleSessionName: "fn-req1",
      DurationSeconds: 3600,
    });
  });

  it("reuses cached credentials across invocations until the refresh margin, then renews", async () => {
    sts.on(AssumeRoleCommand).resolvesOnce(grant(T0 + 3600_000, "ASIAFIRST")).resolvesOnce(grant(T0 + 7200_000, "ASIASECOND"));
    let now = T0;
    const cache = new Map<string, AssumedCredentials>();
    const make = () => new AssumeRoleProvider({ sts: new STSClient({}), roleArn: ROLE, externalId: "ext-123", cache, now: () => now });
    expect((await make().get("a")).credentials.accessKeyId).toBe("ASIAFIRST");
    now = T0 + 3600_000 - REFRESH_MARGIN_MS - 1; // still just outside the margin
    const warm = await make().get("b");
    expect(warm).toMatchObject({ cached: true, credentials: { accessKeyId: "ASIAFIRST" } });
    now = T0 + 3600_000 - REFRESH_MARGIN_MS + 1; // inside the margin: renew before expiry
    expect(await make().get("c")).toMatchObject({ cached: false, credentials: { accessKeyId: "ASIASECOND" } });
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it("keys the cache by role ARN and external id", async () => {
    sts.on(AssumeRoleCommand, { ExternalId: "one" }).resolves(grant(T0 + 3600_000, "ASIAONE"));
    sts.on(AssumeRoleCommand, { ExternalId: "two" }).resolves(grant(T0 + 3600_000, "ASIATWO"));
    const cache = new Map<string, AssumedCredentials>();
    const get = (externalId: string) => new AssumeRoleProvider({ sts: new STSClient({}), roleArn: ROLE, externalId, cache, now: () => T0 }).get("s1");
    expect((await get("one")).credentials.accessKeyId).toBe("ASIAONE");
    expect((await get("two")).credentials.accessKeyId).toBe("ASIATWO");
    expect((await get("one")).cached).toBe(true);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it("explains AccessDenied: the execution policy or the trust policy / external id", async () => {
    sts.on(AssumeRoleCommand).rejects(
      new STSServiceException({
        name: "AccessDenied",
        $fault: "client",
        $metadata: { httpStatusCode: 403 },
        message: `User: arn:aws:sts::222222222222:assumed-role/exec/fn is not authorized to perform: sts:AssumeRole on resource: ${ROLE}`,
      }),
    );
    const provider = new AssumeRoleProvider({ sts: new STSClient({}), roleArn: ROLE, externalId: "ext", cache: new Map() });
    const error = await provider.get("s1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssumeRoleError);
    const message = (error as Error).message;
    expect(message).toContain(`AccessDenied assuming ${ROLE}`);
    expect(message).toContain(`execution role policy lacks sts:AssumeRole on ${ROLE}`);
    expect(message).toMatch(/trust policy does not list the execution role as principal/);
    expect(message).toMatch(/sts:ExternalId condition differs from EXTERNAL_ID/);
  });

  it("reports other STS failures with the role and the error name", async () => {
    sts.on(AssumeRoleCommand).rejects(new STSServiceException({ name: "RegionDisabledException", $fault: "client", $metadata: {}, message: "STS is not activated" }));
    const provider = new AssumeRoleProvider({ sts: new STSClient({}), roleArn: ROLE, externalId: "ext", cache: new Map() });
    await expect(provider.get("s1")).rejects.toThrow(`AssumeRole on ${ROLE} failed (RegionDisabledException): STS is not activated`);
  });

  it("refuses a response without complete credentials and caches nothing", async () => {
    sts.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: "A", SecretAccessKey: "", SessionToken: "t", Expiration: new Date(T0) } });
    const cache = new Map<string, AssumedCredentials>();
    const provider = new AssumeRoleProvider({ sts: new STSClient({}), roleArn: ROLE, externalId: "ext", cache });
    await expect(provider.get("s1")).rejects.toThrow(/no complete credentials/);
    expect(cache.size).toBe(0);
  });

  it("drops a session S3 refused, so the next get assumes the role again; a newer session stays (issue 8 #8)", async () => {
    sts.on(AssumeRoleCommand).resolvesOnce(grant(T0 + 3600_000, "ASIAFIRST")).resolvesOnce(grant(T0 + 3600_000, "ASIASECOND"));
    const provider = new AssumeRoleProvider({ sts: new STSClient({}), roleArn: ROLE, externalId: "ext", cache: new Map(), now: () => T0 });
    const first = await provider.get("a");
    expect((await provider.get("b")).cached).toBe(true);
    expect(provider.invalidate(first.credentials)).toBe(true);
    const second = await provider.get("c");
    expect(second).toMatchObject({ cached: false, credentials: { accessKeyId: "ASIASECOND" } });
    // A run still holding the first session must not drop the second one.
    expect(provider.invalidate(first.credentials)).toBe(false);
    expect(await provider.get("d")).toMatchObject({ cached: true, credentials: { accessKeyId: "ASIASECOND" } });
  });

  it("gives AssumeRole the time left minus the margin: a hung STS ends as AssumeRoleError, not a Lambda timeout (issue 8 #7)", async () => {
    let signal: AbortSignal | undefined;
    const sender = { send: (_command: never, options?: { abortSignal?: AbortSignal }) => ((signal = options?.abortSignal), new Promise<never>(() => undefined)) };
    const provider = new AssumeRoleProvider({ sts: sender as never, roleArn: ROLE, externalId: "ext", cache: new Map() });
    const error = await provider.get("s", { remainingMs: () => 400 }, 200).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AssumeRoleError);
    expect((error as Error).message).toBe(`AssumeRole on ${ROLE} failed (DeadlineError): AssumeRole on ${ROLE}: no answer within 200 ms (the time left in the run)`);
    expect(signal?.aborted).toBe(true);
  });

  it("rejects a session duration above the role-chaining cap", () => {
    expect(() => new AssumeRoleProvider({ sts: new STSClient({}), roleArn: ROLE, externalId: "ext", durationSeconds: 7200 })).toThrow(/role chaining cap/);
  });
});
