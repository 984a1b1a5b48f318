import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import type { AssumedCredentials } from "../../function/credentials";
import { NO_DEADLINE } from "../../function/retry";
import { REFRESH_MARGIN_MS, Sessions } from "../../function/sessions";

const sts = mockClient(STSClient);
const T0 = Date.parse("2026-01-01T00:00:00Z");
const target = (over: Partial<{ accessRoleArn: string; externalId: string; bucketRegion: string }> = {}) =>
  ({ accessRoleArn: "arn:aws:iam::222222222222:role/iss-tracker-report-writer", externalId: "ext-1", bucketRegion: "eu-west-1", ...over });
const grant = (id: string, expiresAt = T0 + 3600_000) => ({ Credentials: { AccessKeyId: id, SecretAccessKey: "s", SessionToken: "t", Expiration: new Date(expiresAt) } });

let now: number;
let clients: Array<{ region: string; credentials: AssumedCredentials }>;
const sessions = () => new Sessions({
  sts: new STSClient({}),
  s3Client: (region, credentials) => {
    const client = { region, credentials, send: jest.fn() };
    clients.push(client);
    return client;
  },
  now: () => now,
});

beforeEach(() => {
  sts.reset();
  now = T0;
  clients = [];
});

describe("Sessions", () => {
  it("assumes a target's role once and reuses the session, and the S3 client that signs with it, until the renewal margin", async () => {
    sts.on(AssumeRoleCommand).resolvesOnce(grant("ASIAFIRST")).resolvesOnce(grant("ASIASECOND", T0 + 7200_000));
    const all = sessions();
    const first = await all.get(target(), "a", NO_DEADLINE);
    expect(first).toMatchObject({ cached: false, credentials: { accessKeyId: "ASIAFIRST" } });
    now = T0 + 3600_000 - REFRESH_MARGIN_MS - 1;
    const warm = await all.get(target(), "b", NO_DEADLINE);
    expect(warm).toMatchObject({ cached: true, credentials: { accessKeyId: "ASIAFIRST" } });
    expect(warm.s3).toBe(first.s3);
    now = T0 + 3600_000 - REFRESH_MARGIN_MS + 1; // inside the margin: renew before expiry
    const renewed = await all.get(target(), "c", NO_DEADLINE);
    expect(renewed).toMatchObject({ cached: false, credentials: { accessKeyId: "ASIASECOND" } });
    // A new session, a new client: every call of a run signs with the session it names.
    expect(clients.map((c) => [c.region, c.credentials.accessKeyId])).toEqual([["eu-west-1", "ASIAFIRST"], ["eu-west-1", "ASIASECOND"]]);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it("keeps one session per target: role, external id and region", async () => {
    sts.on(AssumeRoleCommand, { ExternalId: "ext-1" }).resolves(grant("ASIAONE"));
    sts.on(AssumeRoleCommand, { ExternalId: "ext-2" }).resolves(grant("ASIATWO"));
    const all = sessions();
    expect((await all.get(target(), "s", NO_DEADLINE)).credentials.accessKeyId).toBe("ASIAONE");
    expect((await all.get(target({ externalId: "ext-2" }), "s", NO_DEADLINE)).credentials.accessKeyId).toBe("ASIATWO");
    expect((await all.get(target(), "s", NO_DEADLINE)).cached).toBe(true);
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(2);
  });

  it("drops a session S3 refused, so the next run assumes the role again; a newer session stays", async () => {
    sts.on(AssumeRoleCommand).resolvesOnce(grant("ASIAFIRST")).resolvesOnce(grant("ASIASECOND"));
    const all = sessions();
    const first = await all.get(target(), "a", NO_DEADLINE);
    expect(all.drop(target(), first.credentials)).toBe(true);
    expect(await all.get(target(), "b", NO_DEADLINE)).toMatchObject({ cached: false, credentials: { accessKeyId: "ASIASECOND" } });
    // A run still holding the first session must not drop the second one.
    expect(all.drop(target(), first.credentials)).toBe(false);
    expect(await all.get(target(), "c", NO_DEADLINE)).toMatchObject({ cached: true, credentials: { accessKeyId: "ASIASECOND" } });
  });

  it("caches nothing when AssumeRole fails", async () => {
    sts.on(AssumeRoleCommand).rejectsOnce(Object.assign(new Error("denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } })).resolves(grant("ASIALATER"));
    const all = sessions();
    await expect(all.get(target(), "a", NO_DEADLINE)).rejects.toThrow(/AccessDenied/);
    expect(await all.get(target(), "b", NO_DEADLINE)).toMatchObject({ cached: false, credentials: { accessKeyId: "ASIALATER" } });
  });
});
