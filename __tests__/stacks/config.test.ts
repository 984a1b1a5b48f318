import { ConfigError, DEFAULT_ISS_SOURCES, deriveExternalId, loadConfig, partitionOf } from "../../stacks/config";

const B = { ACCOUNT_B_ID: "222222222222" };

function problemsOf(env: Record<string, string>, context: Record<string, unknown> = {}): string[] {
  try {
    loadConfig({ env, context });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  throw new Error("expected the configuration to be rejected");
}

describe("ISS_SOURCES default", () => {
  it("asks the HTTPS source first, the plain-HTTP one only as the fallback", () => {
    expect(DEFAULT_ISS_SOURCES[0]).toMatch(/^https:\/\//);
    expect(DEFAULT_ISS_SOURCES.findIndex((u) => u.startsWith("http:"))).toBeGreaterThan(DEFAULT_ISS_SOURCES.findIndex((u) => u.startsWith("https:")));
  });
});

describe("loadConfig defaults", () => {
  it("needs only ACCOUNT_B_ID and fills documented defaults", () => {
    const config = loadConfig({ env: B });
    expect(config).toEqual({
      accountBId: "222222222222",
      accountAId: undefined,
      pipelineEnvironment: "production",
      regionA: "us-east-1",
      regionB: "us-east-1",
      bootstrapRoleName: "terraform",
      deployerPrincipalArn: undefined,
      namePrefix: "iss-tracker",
      bucketName: "iss-tracker-reports-222222222222-us-east-1",
      objectKey: "iss_position.txt",
      schedule: "rate(5 minutes)",
      schedulePeriodSeconds: 300,
      externalId: deriveExternalId("222222222222", "iss-tracker", "iss-tracker-reports-222222222222-us-east-1", "iss_position.txt"),
      issSources: [...DEFAULT_ISS_SOURCES],
      logRetentionDays: 365,
      noncurrentVersionDays: 1,
      newerNoncurrentVersions: 5,
      allowBucketDestroy: false,
      partition: "aws",
      alertEmail: undefined,
      alarmMissedRuns: 3,
      stateBackend: undefined,
      localEndpoint: undefined,
      targets: [{
        accountId: "222222222222", region: "us-east-1", bucketName: "iss-tracker-reports-222222222222-us-east-1", objectKey: "iss_position.txt", bootstrapRoleName: "terraform",
        externalId: deriveExternalId("222222222222", "iss-tracker", "iss-tracker-reports-222222222222-us-east-1", "iss_position.txt"),
      }],
      retiredTargets: [],
    });
  });

  it("derives a stable external id that changes with the deployment's identity", () => {
    const a = loadConfig({ env: B }).externalId;
    expect(loadConfig({ env: B }).externalId).toBe(a);
    expect(a).toMatch(/^iss-tracker-[0-9a-f]{32}$/);
    expect(loadConfig({ env: { ...B, OBJECT_KEY: "other.txt" } }).externalId).not.toBe(a);
    expect(loadConfig({ env: { ACCOUNT_B_ID: "333333333333" } }).externalId).not.toBe(a);
  });

  it("reads cdktf.json context and lets an environment variable win over it", () => {
    const fromContext = loadConfig({ context: { accountBId: "222222222222", regionB: "eu-west-2", logRetentionDays: 30 } });
    expect(fromContext.regionB).toBe("eu-west-2");
    expect(fromContext.logRetentionDays).toBe(30);
    expect(fromContext.bucketName).toBe("iss-tracker-reports-222222222222-eu-west-2");
    const both = loadConfig({ env: { REGION_B: "ap-south-1" }, context: { accountBId: "222222222222", regionB: "eu-west-2" } });
    expect(both.regionB).toBe("ap-south-1");
  });

  it("accepts every override in its valid form", () => {
    const config = loadConfig({
      env: {
        ...B,
        ACCOUNT_A_ID: "111111111111",
        REGION_A: "eu-central-1",
        BOOTSTRAP_ROLE_NAME: "deployer",
        DEPLOYER_PRINCIPAL_ARN: "arn:aws:iam::111111111111:user/alice",
        NAME_PREFIX: "iss-prod",
        BUCKET_NAME: "my-iss-logs",
        OBJECT_KEY: "logs/iss.txt",
        SCHEDULE: "cron(0/10 * * * ? *)",
        EXTERNAL_ID: "my-external-id",
        ISS_SOURCES: "https://example.com/iss.json, http://127.0.0.1:8080/iss-now.json",
        LOG_RETENTION_DAYS: "14",
        NONCURRENT_VERSION_DAYS: "7",
        NEWER_NONCURRENT_VERSIONS: "0",
        ALLOW_BUCKET_DESTROY: "true",
        STATE_BUCKET: "my-tf-state",
        STATE_LOCK_TABLE: "tf-locks",
        ALERT_EMAIL: "ops+iss@example.co.uk",
        ALARM_MISSED_RUNS: "6",
      },
    });
    expect(config).toMatchObject({
      accountAId: "111111111111",
      regionA: "eu-central-1",
      bootstrapRoleName: "deployer",
      bucketName: "my-iss-logs",
      objectKey: "logs/iss.txt",
      externalId: "my-external-id",
      issSources: ["https://example.com/iss.json", "http://127.0.0.1:8080/iss-now.json"],
      logRetentionDays: 14,
      noncurrentVersionDays: 7,
      newerNoncurrentVersions: 0,
      allowBucketDestroy: true,
      schedulePeriodSeconds: 600,
      alertEmail: "ops+iss@example.co.uk",
      alarmMissedRuns: 6,
      stateBackend: { bucket: "my-tf-state", keyPrefix: "iss-prod", region: "eu-central-1", lockTable: "tf-locks" },
    });
  });

  it("keeps the default bucket name valid for the longest prefix and region", () => {
    const config = loadConfig({ env: { ...B, NAME_PREFIX: "a-very-long-prefix-name1", REGION_B: "ap-southeast-2" } });
    expect(config.bucketName).toBe("a-very-long-prefix-name1-reports-222222222222-ap-southeast-2");
    expect(config.bucketName.length).toBeLessThanOrEqual(63);
  });

  it.each([
    ["us-east-1", "aws"], ["eu-central-2", "aws"], ["cn-north-1", "aws-cn"], ["cn-northwest-1", "aws-cn"],
    ["us-gov-west-1", "aws-us-gov"], ["us-iso-east-1", "aws-iso"], ["us-isob-east-1", "aws-iso-b"], ["eu-isoe-west-1", "aws-iso-e"], ["us-isof-south-1", "aws-iso-f"],
  ])("derives the partition of region %s: %s", (region, partition) => {
    expect(partitionOf(region)).toBe(partition);
    expect(loadConfig({ env: { ...B, REGION_A: region, REGION_B: region } }).partition).toBe(partition);
  });

  it("takes ALLOW_BUCKET_DESTROY=false as the default it is", () => {
    expect(loadConfig({ env: { ...B, ALLOW_BUCKET_DESTROY: "false" } }).allowBucketDestroy).toBe(false);
  });

  it("derives the schedule's period, for a cron its longest interval between runs", () => {
    expect(loadConfig({ env: { ...B, SCHEDULE: "rate(2 hours)" } }).schedulePeriodSeconds).toBe(7200);
    expect(loadConfig({ env: { ...B, SCHEDULE: "cron(0 * ? * MON-FRI *)" } }).schedulePeriodSeconds).toBe(49 * 3600);
  });

  it("accepts an alarm window up to CloudWatch's 7 days", () => {
    expect(loadConfig({ env: { ...B, SCHEDULE: "rate(1 day)", ALARM_MISSED_RUNS: "7" } }).alarmMissedRuns).toBe(7);
    expect(loadConfig({ env: { ...B, SCHEDULE: "rate(1 minute)", ALARM_MISSED_RUNS: "100" } }).alarmMissedRuns).toBe(100);
  });

  it("accepts rate(1 minute) and rate(2 hours)", () => {
    expect(loadConfig({ env: { ...B, SCHEDULE: "rate(1 minute)" } }).schedule).toBe("rate(1 minute)");
    expect(loadConfig({ env: { ...B, SCHEDULE: "rate(2 hours)" } }).schedule).toBe("rate(2 hours)");
  });
});

describe("loadConfig with several accounts B (TARGETS)", () => {
  const T = (text: string, env: Record<string, string> = {}) => loadConfig({ env: { TARGETS: text, ...env } });

  it("a one-element list is the single pair of ACCOUNT_B_ID alone, and so are the same settings from cdktf.json", () => {
    const single = loadConfig({ env: B });
    expect(T("222222222222")).toEqual(single);
    expect(T('[{"account":"222222222222"}]')).toEqual(single);
    expect(loadConfig({ context: { targets: [{ account: "222222222222" }] } })).toEqual(single);
  });

  it("fills each entry from the single-account settings, and derives each one's bucket and external id", () => {
    const config = T("222222222222,333333333333:eu-west-1", { REGION_B: "eu-west-2", OBJECT_KEY: "logs/iss.txt" });
    expect(config.targets.map((t) => [t.accountId, t.region, t.bucketName, t.objectKey])).toEqual([
      ["222222222222", "eu-west-2", "iss-tracker-reports-222222222222-eu-west-2", "logs/iss.txt"],
      ["333333333333", "eu-west-1", "iss-tracker-reports-333333333333-eu-west-1", "logs/iss.txt"],
    ]);
    expect(config.targets[1].externalId).toBe(deriveExternalId("333333333333", "iss-tracker", "iss-tracker-reports-333333333333-eu-west-1", "logs/iss.txt"));
    expect(new Set(config.targets.map((t) => t.externalId)).size).toBe(2);
    expect(config).toMatchObject({ accountBId: "222222222222", bucketName: "iss-tracker-reports-222222222222-eu-west-2" });
  });

  it("takes a JSON list with each entry's bucket, key and bootstrap role, and one EXTERNAL_ID for all", () => {
    const config = T('[{"account":"222222222222","bucket":"b-logs","key":"k.txt","bootstrapRoleName":"deployer"},{"account":"333333333333"}]', { EXTERNAL_ID: "shared-id" });
    expect(config.targets).toEqual([
      { accountId: "222222222222", region: "us-east-1", bucketName: "b-logs", objectKey: "k.txt", bootstrapRoleName: "deployer", externalId: "shared-id" },
      { accountId: "333333333333", region: "us-east-1", bucketName: "iss-tracker-reports-333333333333-us-east-1", objectKey: "iss_position.txt", bootstrapRoleName: "terraform", externalId: "shared-id" },
    ]);
  });

  it.each([
    ["an account twice", "222222222222,222222222222:eu-west-1", /^TARGETS .*: names account 222222222222 twice\. Fix: list each account once/],
    ["an 11-digit account", "22222222222", /^TARGETS .*entry 1 .* has no 12-digit account id/],
    ["a bad region", "222222222222:mars", /^TARGETS .*entry 1 .* has a region that is not an AWS region code/],
    ["a key with a wildcard", '[{"account":"222222222222","key":"logs/*"}]', /^TARGETS .*entry 1 .* has a key that is not a safe object key/],
    ["an unknown field", '[{"account":"222222222222","acount":"1"}]', /^TARGETS .*has unknown fields acount\. Fix: use only account, region, bucket, key, bootstrapRoleName/],
    ["not JSON", "[{", /^TARGETS .*is not a JSON list/],
    ["two targets on one bucket", '[{"account":"222222222222","bucket":"same"},{"account":"333333333333","bucket":"same"}]', /^TARGETS .*gives two targets the bucket same\. Fix: give each target its own bucket/],
    ["a target in another partition", "222222222222,333333333333:cn-north-1", /^TARGETS .*puts account 333333333333 in cn-north-1, partition aws-cn, but REGION_A us-east-1 is in aws/],
  ])("refuses %s, naming the entry and the fix", (_name, text, expected) => {
    const problems = problemsOf({ TARGETS: text });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });

  it("refuses ACCOUNT_B_ID or BUCKET_NAME beside TARGETS", () => {
    expect(problemsOf({ TARGETS: "333333333333", ...B, BUCKET_NAME: "x-logs" }).map((p) => p.split(" ")[0])).toEqual(["ACCOUNT_B_ID", "BUCKET_NAME"]);
  });

  it("refuses account A as a target", () => {
    expect(problemsOf({ TARGETS: "222222222222,111111111111", ACCOUNT_A_ID: "111111111111" })).toEqual([expect.stringMatching(/names account A \(111111111111\) as a target/)]);
  });

  it("still needs an account B: ACCOUNT_B_ID or TARGETS", () => {
    expect(problemsOf({})).toEqual([expect.stringMatching(/^ACCOUNT_B_ID \(cdktf\.json context "accountBId"\): is required\. Fix: .*or list several accounts in TARGETS/)]);
  });
});

describe("loadConfig rejects bad input with the setting's name and the fix", () => {
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ["missing account B", {}, /^ACCOUNT_B_ID \(cdktf\.json context "accountBId"\): is required\. Fix: set ACCOUNT_B_ID/],
    ["account B of 11 digits", { ACCOUNT_B_ID: "22222222222" }, /^ACCOUNT_B_ID .*"22222222222": is not a 12-digit AWS account id\. Fix: /],
    ["account B with letters", { ACCOUNT_B_ID: "22222222222x" }, /^ACCOUNT_B_ID .*not a 12-digit/],
    ["account A equal to B", { ...B, ACCOUNT_A_ID: "222222222222" }, /^ACCOUNT_A_ID .*equals ACCOUNT_B_ID.*Fix: /],
    ["bad region", { ...B, REGION_B: "us-east" }, /^REGION_B .*"us-east": is not an AWS region code\. Fix: use a region code/],
    ["role name with a space", { ...B, BOOTSTRAP_ROLE_NAME: "my role" }, /^BOOTSTRAP_ROLE_NAME .*not a valid IAM role name/],
    ["upper-case prefix", { ...B, NAME_PREFIX: "ISS" }, /^NAME_PREFIX .*"ISS": is not a valid name prefix\. Fix: use 3-24 characters/],
    ["bucket name over 63 characters", { ...B, BUCKET_NAME: "b".repeat(64) }, /^BUCKET_NAME .*is not a valid S3 bucket name\. Fix: use 3-63 characters/],
    ["bucket name with underscores", { ...B, BUCKET_NAME: "my_bucket" }, /^BUCKET_NAME .*"my_bucket": is not a valid S3 bucket name/],
    ["object key with a wildcard", { ...B, OBJECT_KEY: "logs/*" }, /^OBJECT_KEY .*"logs\/\*": is not a safe object key.*IAM wildcards/],
    ["object key with a policy variable", { ...B, OBJECT_KEY: "${aws:username}.txt" }, /^OBJECT_KEY .*not a safe object key/],
    ["object key with a leading slash", { ...B, OBJECT_KEY: "/iss.txt" }, /^OBJECT_KEY .*leading '\/'/],
    ["object key with '..'", { ...B, OBJECT_KEY: "a/../b.txt" }, /^OBJECT_KEY /],
    ["schedule in minutes but singular", { ...B, SCHEDULE: "rate(5 minute)" }, /^SCHEDULE .*not a valid rate expression/],
    ["schedule rate of 1 but plural", { ...B, SCHEDULE: "rate(1 minutes)" }, /^SCHEDULE .*not a valid rate expression/],
    ["schedule that is neither rate nor cron", { ...B, SCHEDULE: "every 5 minutes" }, /^SCHEDULE .*not an EventBridge schedule expression\. Fix: use rate\(5 minutes\)/],
    ["cron with five fields", { ...B, SCHEDULE: "cron(0 * * * *)" }, /^SCHEDULE .*not an EventBridge schedule expression/],
    ["cron with both day fields set", { ...B, SCHEDULE: "cron(0 * * * * *)" }, /^SCHEDULE .*"cron\(0 \* \* \* \* \*\)": is not a schedule EventBridge accepts \(exactly one of day-of-month and day-of-week must be '\?'.*\)\. Fix: use rate\(5 minutes\)/],
    ["cron with an hour of 24", { ...B, SCHEDULE: "cron(0 24 * * ? *)" }, /^SCHEDULE .*hours value "24" is not in 0-23/],
    ["schedule longer than an alarm can watch", { ...B, SCHEDULE: "rate(8 days)" }, /^SCHEDULE .*leaves 8 days between runs, longer than the 7 days a CloudWatch alarm can look back.*Fix: run the tracker at least once a week/],
    ["alarm window over 7 days", { ...B, SCHEDULE: "rate(1 day)", ALARM_MISSED_RUNS: "8" }, /^ALARM_MISSED_RUNS \(cdktf\.json context "alarmMissedRuns"\) = "8": times the schedule's period \(1 day, from SCHEDULE="rate\(1 day\)"\) is 8 days, longer than the 7 days a CloudWatch alarm can look back\. Fix: lower ALARM_MISSED_RUNS to 7 or less/],
    ["alarm missed runs of zero", { ...B, ALARM_MISSED_RUNS: "0" }, /^ALARM_MISSED_RUNS .*from 1 to 100/],
    ["alarm missed runs that is not a number", { ...B, ALARM_MISSED_RUNS: "three" }, /^ALARM_MISSED_RUNS /],
    ["alert email without a domain", { ...B, ALERT_EMAIL: "ops@localhost" }, /^ALERT_EMAIL .*"ops@localhost": is not one email address\. Fix: give one address such as ops@example\.com/],
    ["two alert emails", { ...B, ALERT_EMAIL: "a@example.com,b@example.com" }, /^ALERT_EMAIL .*is not one email address/],
    ["alert email with a space", { ...B, ALERT_EMAIL: "ops team@example.com" }, /^ALERT_EMAIL /],
    ["external id of one character", { ...B, EXTERNAL_ID: "x" }, /^EXTERNAL_ID .*not a valid STS external id\. Fix: use 2-1224/],
    ["external id with a space", { ...B, EXTERNAL_ID: "my id" }, /^EXTERNAL_ID /],
    ["ISS source that is not a URL", { ...B, ISS_SOURCES: "api.open-notify.org/iss-now.json" }, /^ISS_SOURCES .*has invalid URLs: api\.open-notify\.org\/iss-now\.json\. Fix: give one or more http\(s\) URLs/],
    ["ISS source with ftp", { ...B, ISS_SOURCES: "ftp://example.com/iss" }, /^ISS_SOURCES .*invalid URLs/],
    ["ISS sources empty list", { ...B, ISS_SOURCES: " , " }, /^ISS_SOURCES .*lists no URL/],
    ["retention CloudWatch does not offer", { ...B, LOG_RETENTION_DAYS: "10" }, /^LOG_RETENTION_DAYS .*"10": is not a retention CloudWatch Logs accepts\. Fix: use one of 1, 3, 5/],
    ["retention that is not a number", { ...B, LOG_RETENTION_DAYS: "a week" }, /^LOG_RETENTION_DAYS /],
    ["noncurrent days of zero", { ...B, NONCURRENT_VERSION_DAYS: "0" }, /^NONCURRENT_VERSION_DAYS .*from 1 to 3650/],
    ["noncurrent days negative", { ...B, NONCURRENT_VERSION_DAYS: "-5" }, /^NONCURRENT_VERSION_DAYS /],
    ["noncurrent days over 3650", { ...B, NONCURRENT_VERSION_DAYS: "3651" }, /^NONCURRENT_VERSION_DAYS .*from 1 to 3650.*Fix: set it to how many days a replaced version of the log stays recoverable/],
    ["newer noncurrent versions over S3's 100", { ...B, NEWER_NONCURRENT_VERSIONS: "101" }, /^NEWER_NONCURRENT_VERSIONS \(cdktf\.json context "newerNoncurrentVersions"\) = "101": is not a whole number from 0 to 100.*Fix: /],
    ["newer noncurrent versions not a number", { ...B, NEWER_NONCURRENT_VERSIONS: "five" }, /^NEWER_NONCURRENT_VERSIONS /],
    ["ALLOW_BUCKET_DESTROY that is not a boolean", { ...B, ALLOW_BUCKET_DESTROY: "yes" }, /^ALLOW_BUCKET_DESTROY .*"yes": is neither true nor false\. Fix: leave it unset .* after archiving and emptying the log/],
    ["regions in two partitions", { ...B, REGION_A: "us-east-1", REGION_B: "cn-north-1" }, /^REGION_A .*"us-east-1": is in partition aws but REGION_B cn-north-1 is in aws-cn, and AssumeRole does not cross partitions\. Fix: /],
    ["deployer in another partition than the regions", { ...B, DEPLOYER_PRINCIPAL_ARN: "arn:aws:iam::111111111111:user/alice", REGION_A: "us-gov-west-1", REGION_B: "us-gov-west-1" }, /^DEPLOYER_PRINCIPAL_ARN .*is in partition aws, but the regions are in aws-us-gov\. Fix: use the deployer's ARN in aws-us-gov/],
    ["deployer that is not an ARN", { ...B, DEPLOYER_PRINCIPAL_ARN: "alice" }, /^DEPLOYER_PRINCIPAL_ARN .*Fix: use the Arn printed by `aws sts get-caller-identity`/],
    ["deployer that is account A's root", { ...B, DEPLOYER_PRINCIPAL_ARN: "arn:aws:iam::111111111111:root" }, /^DEPLOYER_PRINCIPAL_ARN .*is account A's root, .*Fix: name the one IAM user or role that deploys/],
    ["deployer that is an STS session", { ...B, DEPLOYER_PRINCIPAL_ARN: "arn:aws:sts::111111111111:assumed-role/deploy/ci-run-42" }, /^DEPLOYER_PRINCIPAL_ARN .*is an STS session .*Fix: use its role ARN arn:aws:iam::111111111111:role\/deploy /],
    ["deployer in another account than ACCOUNT_A_ID", { ...B, ACCOUNT_A_ID: "111111111111", DEPLOYER_PRINCIPAL_ARN: "arn:aws:iam::999999999999:role/deploy" }, /^DEPLOYER_PRINCIPAL_ARN .*is in account 999999999999, but ACCOUNT_A_ID is 111111111111\. Fix: name the deploying user or role of account A/],
    ["state key prefix without a state bucket", { ...B, STATE_KEY_PREFIX: "x" }, /^STATE_KEY_PREFIX .*only applies to the S3 state backend.*Fix: set STATE_BUCKET too/],
    ["state bucket with a bad name", { ...B, STATE_BUCKET: "Bad_Bucket" }, /^STATE_BUCKET .*not a valid S3 bucket name/],
    ["state lock table with a bad name", { ...B, STATE_BUCKET: "tf-state", STATE_LOCK_TABLE: "a b" }, /^STATE_LOCK_TABLE /],
    ["local endpoint that is not loopback", { ...B, ISS_TRACKER_LOCAL_ENDPOINT: "http://10.0.0.5:5000" }, /^ISS_TRACKER_LOCAL_ENDPOINT .*must be a loopback URL.*Fix: unset ISS_TRACKER_LOCAL_ENDPOINT/],
  ];

  it.each(cases)("%s", (_name, env, expected) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(expected);
  });

  it("reports every problem at once", () => {
    const problems = problemsOf({ ACCOUNT_B_ID: "1", REGION_A: "mars-1", SCHEDULE: "often" });
    expect(problems.map((p) => p.split(" ")[0])).toEqual(["ACCOUNT_B_ID", "REGION_A", "SCHEDULE"]);
  });

  it("puts the problems in the error message, one per line", () => {
    expect(() => loadConfig({ env: { ACCOUNT_B_ID: "1" } })).toThrow(
      /^Invalid iss-tracker configuration \(1 problem\):\n {2}- ACCOUNT_B_ID \(cdktf\.json context "accountBId"\) = "1": is not a 12-digit AWS account id\. Fix: /,
    );
  });

  it("names the context key when the bad value came from cdktf.json", () => {
    const problems = problemsOf({}, { accountBId: "222222222222", logRetentionDays: 8 });
    expect(problems[0]).toMatch(/^LOG_RETENTION_DAYS \(cdktf\.json context "logRetentionDays"\) = "8"/);
  });
});
