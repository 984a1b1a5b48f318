import {
  DEFAULT_OBJECT_KEY,
  defaultBucketName,
  deriveExternalId,
  isBucketName,
  partitionOf,
  readTrackerEnvironment,
  trackerEnvironment,
  TRACKER_VARIABLES,
  type TargetEnvironment,
} from "../../function/contract";
import { loadConfig } from "../../stacks/config";

const SOURCES = ["http://api.open-notify.org/iss-now.json", "https://api.wheretheiss.at/v1/satellites/25544"];
const target = (account: string, region = "us-east-1", over: Partial<TargetEnvironment> = {}): TargetEnvironment => {
  const bucket = over.bucket ?? defaultBucketName("iss-tracker", account, region);
  const key = over.key ?? DEFAULT_OBJECT_KEY;
  return {
    account,
    accessRoleArn: `arn:${partitionOf(region)}:iam::${account}:role/iss-tracker-report-writer`,
    externalId: deriveExternalId(account, "iss-tracker", bucket, key),
    bucket,
    bucketRegion: region,
    key,
    ...over,
  };
};
const roundTrip = (env: Record<string, string>) => readTrackerEnvironment(env);

describe("the stack-to-function environment", () => {
  it("one target: the five variables and ISS_SOURCES, read back as the one target (its account names it)", () => {
    const env = trackerEnvironment("iss-tracker", DEFAULT_OBJECT_KEY, [target("222222222222")], SOURCES);
    expect(Object.keys(env)).toEqual(["ACCESS_ROLE_ARN", "EXTERNAL_ID", "BUCKET_NAME", "BUCKET_REGION", "OBJECT_KEY", "ISS_SOURCES"]);
    const { account, ...rest } = target("222222222222");
    expect(roundTrip(env)).toEqual({ problems: [], settings: { targets: [{ id: account, ...rest }], issSources: SOURCES } });
  });

  it("several targets: TARGETS carries only what differs from the defaults, and the function derives the rest as the stack does", () => {
    const targets = [target("222222222222"), target("333333333333", "eu-west-1", { bucket: "my-logs", key: "iss/log.txt" }), target("444444444444", "us-gov-west-1")];
    const env = trackerEnvironment("iss-tracker", DEFAULT_OBJECT_KEY, targets, SOURCES);
    expect(JSON.parse(env.TARGETS)).toEqual([
      { account: "222222222222", region: "us-east-1" },
      { account: "333333333333", region: "eu-west-1", bucket: "my-logs", key: "iss/log.txt" },
      { account: "444444444444", region: "us-gov-west-1" },
    ]);
    expect(roundTrip(env).settings?.targets).toEqual(targets.map(({ account, ...rest }) => ({ id: account, ...rest })));
    expect(roundTrip(env).settings?.targets[2].accessRoleArn).toBe("arn:aws-us-gov:iam::444444444444:role/iss-tracker-report-writer");
  });

  it("several targets with an external id that is not the derived one: the entry carries it", () => {
    const targets = [target("222222222222"), target("333333333333", "us-east-1", { externalId: "shared-id" })];
    const env = trackerEnvironment("iss-tracker", DEFAULT_OBJECT_KEY, targets, SOURCES);
    expect(JSON.parse(env.TARGETS)).toEqual([{ account: "222222222222", region: "us-east-1" }, { account: "333333333333", region: "us-east-1", externalId: "shared-id" }]);
    expect(roundTrip(env).settings?.targets.map((t) => t.externalId)).toEqual([targets[0].externalId, "shared-id"]);
  });

  it("keeps 30 targets well inside Lambda's 4 KB of environment", () => {
    const targets = Array.from({ length: 30 }, (_, i) => target(String(300000000000 + i), i % 2 ? "eu-west-1" : "us-east-1"));
    const env = trackerEnvironment("iss-tracker", DEFAULT_OBJECT_KEY, targets, SOURCES);
    const bytes = Object.entries(env).reduce((n, [k, v]) => n + k.length + v.length, 0);
    expect(bytes).toBeLessThan(2048);
    expect(roundTrip(env).settings?.targets).toHaveLength(30);
  });

  it("derives the defaults the stack's settings table uses (one implementation, shared)", () => {
    const config = loadConfig({ env: { ACCOUNT_B_ID: "222222222222", REGION_B: "eu-west-2" } });
    expect(config.bucketName).toBe(defaultBucketName(config.namePrefix, "222222222222", "eu-west-2"));
    expect(config.externalId).toBe(deriveExternalId("222222222222", config.namePrefix, config.bucketName, config.objectKey));
    expect(config.objectKey).toBe(DEFAULT_OBJECT_KEY);
  });

  it.each(["ACCESS_ROLE_ARN", "EXTERNAL_ID", "BUCKET_NAME", "BUCKET_REGION", "ISS_SOURCES"])("names %s when it is missing", (name) => {
    const env: Record<string, string | undefined> = { ...trackerEnvironment("iss-tracker", DEFAULT_OBJECT_KEY, [target("222222222222")], SOURCES), [name]: undefined };
    expect(roundTrip(env as Record<string, string>).problems).toEqual([expect.stringMatching(new RegExp(`^${name} is not set \\(`))]);
  });

  it("defaults OBJECT_KEY when it is unset", () => {
    const { OBJECT_KEY: _omit, ...env } = trackerEnvironment("iss-tracker", DEFAULT_OBJECT_KEY, [target("222222222222")], SOURCES);
    expect(roundTrip(env).settings?.targets[0].key).toBe(DEFAULT_OBJECT_KEY);
  });

  it.each([
    ["ACCESS_ROLE_ARN", "iss-tracker-access"],
    ["EXTERNAL_ID", "x"],
    ["BUCKET_NAME", "Bad_Bucket"],
    ["BUCKET_NAME", "192.168.1.1"],
    ["BUCKET_REGION", "mars"],
    ["OBJECT_KEY", "k".repeat(1025)],
    ["ISS_SOURCES", "ftp://example.com/iss"],
    ["ISS_SOURCES", " , "],
  ])("names %s when it is invalid (%s)", (name, value) => {
    const env = { ...trackerEnvironment("iss-tracker", DEFAULT_OBJECT_KEY, [target("222222222222")], SOURCES), [name]: value };
    expect(roundTrip(env).problems).toEqual([expect.stringMatching(new RegExp(`^${name} is invalid: `))]);
  });

  it.each([
    ["not JSON", "{", /^TARGETS is invalid: /],
    ["an empty list", "[]", /^TARGETS is invalid: /],
    ["an account of 11 digits", '[{"account":"22222222222","region":"us-east-1"}]', /^TARGETS entry 1 is invalid: /],
    ["a bad bucket", '[{"account":"222222222222","region":"us-east-1"},{"account":"333333333333","region":"us-east-1","bucket":"A"}]', /^TARGETS entry 2 is invalid: /],
    ["one account twice", '[{"account":"222222222222","region":"us-east-1"},{"account":"222222222222","region":"eu-west-1"}]', /^TARGETS names account 222222222222 twice/],
  ])("refuses TARGETS with %s, naming the entry", (_name, value, problem) => {
    expect(roundTrip({ TARGETS: value, NAME_PREFIX: "iss-tracker", ISS_SOURCES: SOURCES.join(",") }).problems).toEqual([expect.stringMatching(problem)]);
  });

  it("needs NAME_PREFIX with TARGETS (it names every target's role and default bucket)", () => {
    expect(roundTrip({ TARGETS: '[{"account":"222222222222","region":"us-east-1"}]', ISS_SOURCES: SOURCES[0] }).problems).toEqual([expect.stringMatching(/^NAME_PREFIX is not set/)]);
  });

  it("keeps every variable's hint naming what a valid value is", () => {
    for (const v of Object.values(TRACKER_VARIABLES)) expect(v.hint.length).toBeGreaterThan(10);
    expect(isBucketName("xn--bucket")).toBe(false);
    expect(isBucketName("my..bucket")).toBe(false);
  });
});
