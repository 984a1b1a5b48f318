/**
 * npm start end to end on the moto emulator, driven through `Rehearsal` (the phases the command
 * runs): the real `cdktf deploy` of both stacks (real Terraform, real hashicorp/aws 5.100.0), the
 * deployed bundle run as the execution role in fresh Node processes with IAM enforcement on and
 * the emulator's conformance gates in the path, then `cdktf destroy`.
 * Deployed ONCE (beforeAll: bootstrap, deploy, npm start's 3 runs and its map); each case then
 * sets up on that deployment what it needs and puts back what it changed, so none depends on
 * another's order; the teardown and what only it can show are checked in afterAll.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient, CreateLogStreamCommand, DescribeMetricFiltersCommand, FilterLogEventsCommand, PutLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DeleteRolePolicyCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient, PutRolePolicyCommand, UpdateAssumeRolePolicyCommand } from "@aws-sdk/client-iam";
import { DescribeKeyCommand, GetKeyPolicyCommand, GetKeyRotationStatusCommand, KMSClient, ListAliasesCommand } from "@aws-sdk/client-kms";
import { GetFunctionEventInvokeConfigCommand, LambdaClient } from "@aws-sdk/client-lambda";
import {
  GetBucketEncryptionCommand, GetBucketLifecycleConfigurationCommand, GetBucketOwnershipControlsCommand, GetBucketPolicyCommand,
  GetBucketTaggingCommand, GetBucketVersioningCommand, GetPublicAccessBlockCommand, S3Client,
} from "@aws-sdk/client-s3";
import { GetTopicAttributesCommand, ListSubscriptionsByTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { GetQueueAttributesCommand, PurgeQueueCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { Testing } from "cdktf";
import { unzipSync } from "fflate";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import { parseLog } from "../../../function/core";
import { bootstrapGrantedActions } from "../../../stacks/bootstrap-stack";
import { loadConfig } from "../../../stacks/config";
import { alertKeyPolicy, alertTopicPolicy } from "../../../stacks/constructs/alert-topic";
import { alarmNames, APPENDED_PATTERN } from "../../../stacks/constructs/alarms";
import { failureQueuePolicy, sendFailedInvocationsPolicy } from "../../../stacks/constructs/failure-destination";
import { IssTrackerStack } from "../../../stacks/iss-tracker-stack";
import { runDoctor } from "../../../scripts/doctor/checks";
import { runLogCommand } from "../../../scripts/log/cli";
import { mapOfLog } from "../../../scripts/log/map-of-log";
import { REHEARSAL_MAP } from "../../../scripts/rehearsal/cli";
import type { InvocationResult } from "../../../scripts/rehearsal/deployed-function";
import { countEntries, describeCalls as describeCallsOf, EXPECTED_DENIALS, Rehearsal, stackQueueUrls } from "../../../scripts/rehearsal/rehearsal";
import { isAccessDenied, parsePolicy, type Credentials } from "../../../scripts/shared/aws";

jest.setTimeout(200_000);

const progress: string[] = [];
let rehearsal: Rehearsal;
/** npm start's own 3 runs, and the log right after them. */
let commandRuns: readonly InvocationResult[];
let logAfterCommandRuns: string;
let drawn: Awaited<ReturnType<typeof mapOfLog>>;

beforeAll(async () => {
  rehearsal = await Rehearsal.start({ log: (line) => progress.push(line) });
  await rehearsal.bootstrap();
  await rehearsal.deploy();
  commandRuns = await rehearsal.phase("run: 3 invocation(s) of the deployed bundle, 1 at once, as the execution role, IAM enforced", () => rehearsal.invoke(3, 1));
  logAfterCommandRuns = (await rehearsal.readLog())?.toString("utf8") ?? "";
  const fn = rehearsal.function;
  // As npm start draws it: read as the execution role (the function's chain, behind the STS gate).
  drawn = await mapOfLog({
    bucket: fn.bucket, key: fn.key, regionB: fn.environment.BUCKET_REGION, accessRoleArn: fn.environment.ACCESS_ROLE_ARN, externalId: fn.environment.EXTERNAL_ID,
  }, { regionA: "us-east-1", endpoint: rehearsal.endpoint, credentialsA: await rehearsal.executionCredentials() },
  REHEARSAL_MAP, loadConfig({ env: { ACCOUNT_B_ID: rehearsal.accountB } }).schedulePeriodSeconds);
}, 420_000);


const logText = async () => (await rehearsal.readLog())?.toString("utf8") ?? "";
const utc = (timestamp: number) => new Date(timestamp * 1000).toISOString().slice(0, 19).replace("T", " ");

const iamB = () => new IAMClient({ region: "us-east-1", endpoint: rehearsal.moto.endpoint, credentials: rehearsal.adminB });

/**
 * The report bucket's configuration and the access role, as B's administrator reads them through
 * the gateway (its S3 lifecycle gate answers NewerNoncurrentVersions as S3 does).
 */
async function bucketConfiguration(): Promise<Record<string, unknown>> {
  const s3 = new S3Client({ region: "us-east-1", endpoint: rehearsal.endpoint, forcePathStyle: true, credentials: rehearsal.adminB });
  const Bucket = rehearsal.function.bucket;
  const strip = <T extends { $metadata?: unknown }>(out: T) => ({ ...out, $metadata: undefined });
  const role = await iamB().send(new GetRoleCommand({ RoleName: "iss-tracker-report-writer" }));
  return {
    versioning: strip(await s3.send(new GetBucketVersioningCommand({ Bucket }))),
    encryption: strip(await s3.send(new GetBucketEncryptionCommand({ Bucket }))),
    publicAccessBlock: strip(await s3.send(new GetPublicAccessBlockCommand({ Bucket }))),
    ownership: strip(await s3.send(new GetBucketOwnershipControlsCommand({ Bucket }))),
    lifecycle: strip(await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))),
    tags: strip(await s3.send(new GetBucketTaggingCommand({ Bucket }))),
    accessRole: { boundary: role.Role?.PermissionsBoundary, trust: role.Role?.AssumeRolePolicyDocument },
    accessPolicy: (await iamB().send(new GetRolePolicyCommand({ RoleName: "iss-tracker-report-writer", PolicyName: "read-write-report-object" }))).PolicyDocument,
  };
}

/** Runs `body` without one inline policy of a role, then restores it. */
async function withoutRolePolicy(credentials: Credentials, roleName: string, policyName: string, body: () => Promise<void>): Promise<void> {
  const iam = new IAMClient({ region: "us-east-1", endpoint: rehearsal.moto.endpoint, credentials });
  const saved = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
  await iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
  try {
    await body();
  } finally {
    await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: decodeURIComponent(saved.PolicyDocument!) }));
  }
}

describe("npm start on the emulator (deployed once)", () => {
  it("deploys the function as configured: its role, the access role and bucket in B, the simulated ISS source, the zip Lambda holds", () => {
    const fn = rehearsal.function;
    expect(fn.roleArn).toBe("arn:aws:iam::123456789012:role/iss-tracker-function-exec");
    expect(fn.roleArn).toBe(fn.outputs.execution_role_arn);
    expect(fn.environment).toMatchObject({
      ACCESS_ROLE_ARN: "arn:aws:iam::222222222222:role/iss-tracker-report-writer",
      EXTERNAL_ID: fn.outputs.external_id,
      BUCKET_NAME: "iss-tracker-reports-222222222222-us-east-1",
      BUCKET_REGION: "us-east-1",
      OBJECT_KEY: "iss_position.txt",
      ISS_SOURCES: rehearsal.simulator!.url,
    });
    expect(Object.keys(unzipSync(rehearsal.deployedPackage()))).toEqual(["index.js"]);
    expect(progress.some((l) => l.startsWith("▸ bootstrap B: cdktf deploy bootstrap"))).toBe(true);
  });

  it("emulator settings exist only in local mode: the local synth points both providers at the emulator, the normal synth carries none of it", async () => {
    const local = JSON.parse(readFileSync(join(rehearsal.outDir, "stacks", "iss-tracker", "cdk.tf.json"), "utf8"));
    for (const provider of local.provider.aws) {
      expect(provider.endpoints[0].s3).toBe(rehearsal.endpoint);
      expect(provider.s3_use_path_style).toBe(true);
    }
    expect(local.resource.aws_s3_bucket_policy).toBeUndefined();
    await expect(rehearsal.s3B().send(new GetBucketPolicyCommand({ Bucket: rehearsal.function.bucket }))).rejects.toMatchObject({ name: "NoSuchBucketPolicy" });

    const normal = Testing.synth(new IssTrackerStack(Testing.app(), "iss-tracker", loadConfig({ env: { ACCOUNT_B_ID: "222222222222" } })));
    expect(normal).not.toMatch(/endpoints|s3_use_path_style|skip_credentials_validation|skip_metadata_api_check|127\.0\.0\.1|\.local/);
    expect(JSON.parse(normal).resource.aws_s3_bucket_policy).toBeDefined();
  });

  it("npm start's 3 runs created the log and appended 3 entries in the log's format, one per simulated ISS position", async () => {
    expect(commandRuns.map((r) => r.error)).toEqual([undefined, undefined, undefined]);
    expect(commandRuns.map((r) => r.summary!.targets[0].path)).toEqual(["created", "read-modify-write", "read-modify-write"]);
    const text = logAfterCommandRuns;
    expect(countEntries(text)).toBe(3);
    expect(text.startsWith("ISS Location Logs\n===================\n\n")).toBe(true);
    expect(text).toMatch(/^ISS Location Logs\n=+\n\n(Time: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\nLatitude: -?\d+\.\d{4}\nLongitude: -?\d+\.\d{4}\n\n){3}$/);
    for (const { summary } of commandRuns) {
      expect(summary!.targets).toEqual([expect.objectContaining({ target: rehearsal.accountB, source: rehearsal.simulator!.url, bucket: rehearsal.function.bucket, key: "iss_position.txt" })]);
      expect(text).toContain(`Time: ${utc(summary!.targets[0].issTimestamp!)}\nLatitude: `);
    }
    // What came after only appended: the log still begins with these bytes.
    expect((await logText()).startsWith(text)).toBe(true);
  });

  it("10 parallel runs: every entry lands once, the earlier bytes are unchanged, and at least one run lost a race and retried", async () => {
    const before = await logText();
    const results = await rehearsal.invoke(10, 10);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const text = await logText();
    expect(text.startsWith(before)).toBe(true);
    expect(countEntries(text) - countEntries(before)).toBe(10);
    const timestamps = results.map((r) => r.summary!.targets[0].issTimestamp!);
    expect(new Set(timestamps).size).toBe(10);
    for (const t of timestamps) expect(text.split(`Time: ${utc(t)}\n`).length - 1).toBe(1);
    // Otherwise this did not test concurrency.
    expect(Math.max(...results.map((r) => r.summary!.targets[0].attempts!))).toBeGreaterThan(1);
  });

  it("without the execution role's sts:AssumeRole grant the run fails with the likely cause and the log is byte-identical", async () => {
    const before = await rehearsal.readLog();
    await withoutRolePolicy(rehearsal.adminA, "iss-tracker-function-exec", "assume-report-access-role", async () => {
      const [result] = await rehearsal.invoke(1);
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/AccessDenied assuming arn:aws:iam::222222222222:role\/iss-tracker-report-writer/);
      expect(result.error).toMatch(/execution role policy lacks sts:AssumeRole/);
    });
    expect((await rehearsal.readLog())!.equals(before!)).toBe(true);
  });

  it("with a wrong external id the access role's trust policy refuses (emulator STS gate) and the log is byte-identical", async () => {
    const before = await rehearsal.readLog();
    const [result] = await rehearsal.invoke(1, 1, { EXTERNAL_ID: "not-the-external-id" });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/AccessDenied/);
    expect(result.error).toMatch(/with this external id/);
    expect((await rehearsal.readLog())!.equals(before!)).toBe(true);
    expect(rehearsal.stsGate.decisions.at(-1)).toMatchObject({
      allowed: false,
      roleArn: rehearsal.function.environment.ACCESS_ROLE_ARN,
      caller: "arn:aws:sts::123456789012:assumed-role/iss-tracker-function-exec/iss-tracker-function",
    });
  });

  it("without the access role's S3 grant the run fails with AccessDenied and the log is byte-identical", async () => {
    const before = await rehearsal.readLog();
    await withoutRolePolicy(rehearsal.adminB, "iss-tracker-report-writer", "read-write-report-object", async () => {
      const [result] = await rehearsal.invoke(1);
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/AccessDenied|Access Denied|not authorized/i);
    });
    expect((await rehearsal.readLog())!.equals(before!)).toBe(true);
  });

  it("with no ISS source answering the run fails clearly, naming the source, and the log is byte-identical", async () => {
    const before = await rehearsal.readLog();
    const [result] = await rehearsal.invoke(1, 1, { ISS_SOURCES: "http://127.0.0.1:9/iss-now.json" });
    expect(result.ok).toBe(false);
    expect(result.error).toMatch(/127\.0\.0\.1:9/);
    expect((await rehearsal.readLog())!.equals(before!)).toBe(true);
  });

  it("works again once the permissions are restored (the chain, not the data, was broken)", async () => {
    const before = countEntries(await logText());
    const [result] = await rehearsal.invoke(1);
    expect(result.error).toBeUndefined();
    expect(countEntries(await logText())).toBe(before + 1);
  });

  // Day two: the monitoring resources as AWS's own APIs return them, and the tools that read them.
  // The emulator cannot run Lambda's asynchronous retries nor evaluate or fire alarms: these cases
  // check what is deployed and what the execution role may do, never a retry or an alarm firing.
  it("deploys the on-failure destination, the alert topic, the metric filter and the alarms with the right settings (read back through the AWS APIs)", async () => {
    const fn = rehearsal.function;
    const a = { region: "us-east-1", endpoint: rehearsal.moto.endpoint, credentials: rehearsal.adminA };
    const A = rehearsal.accountA;
    const queueArn = `arn:aws:sqs:us-east-1:${A}:iss-tracker-failed-invocations`;
    expect(stackQueueUrls(fn.outputs)).toEqual([fn.outputs.dlq_url, fn.outputs.failure_queue_url].sort());

    const invoke = await new LambdaClient(a).send(new GetFunctionEventInvokeConfigCommand({ FunctionName: fn.name }));
    expect(invoke).toMatchObject({ MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 600, DestinationConfig: { OnFailure: { Destination: queueArn } } });

    const sqs = new SQSClient(a);
    const queue = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: fn.outputs.failure_queue_url, AttributeNames: ["All"] }))).Attributes!;
    expect(queue).toMatchObject({ QueueArn: queueArn, SqsManagedSseEnabled: "true", MessageRetentionPeriod: "1209600" });
    expect(parsePolicy(queue.Policy)).toEqual(failureQueuePolicy(queueArn, fn.roleArn));
    const iam = new IAMClient(a);
    const grant = await iam.send(new GetRolePolicyCommand({ RoleName: "iss-tracker-function-exec", PolicyName: "send-failed-invocations" }));
    expect(parsePolicy(grant.PolicyDocument)).toEqual(sendFailedInvocationsPolicy(queueArn));

    const topicArn = fn.outputs.alert_topic_arn;
    expect(topicArn).toBe(`arn:aws:sns:us-east-1:${A}:iss-tracker-alerts`);
    const sns = new SNSClient(a);
    const topic = (await sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }))).Attributes!;
    expect(parsePolicy(topic.Policy)).toEqual(alertTopicPolicy(topicArn, alarmNames("iss-tracker", [""]).map((n) => `arn:aws:cloudwatch:us-east-1:${A}:alarm:${n}`), A));
    const kms = new KMSClient(a);
    const key = (await kms.send(new DescribeKeyCommand({ KeyId: topic.KmsMasterKeyId }))).KeyMetadata!;
    expect(key).toMatchObject({ Arn: topic.KmsMasterKeyId, KeyManager: "CUSTOMER", KeyState: "Enabled" });
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }))).KeyRotationEnabled).toBe(true);
    expect(parsePolicy((await kms.send(new GetKeyPolicyCommand({ KeyId: key.KeyId, PolicyName: "default" }))).Policy)).toEqual(alertKeyPolicy(`arn:aws:iam::${A}:root`, A));
    expect((await kms.send(new ListAliasesCommand({ KeyId: key.KeyId }))).Aliases?.map((x) => x.AliasName)).toEqual(["alias/iss-tracker-alerts"]);
    // npm start sets no ALERT_EMAIL.
    expect((await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }))).Subscriptions).toEqual([]);

    const filters = (await new CloudWatchLogsClient(a).send(new DescribeMetricFiltersCommand({ logGroupName: fn.outputs.log_group_name }))).metricFilters!;
    expect(filters).toMatchObject([{
      filterName: "iss-tracker-entries-appended", filterPattern: APPENDED_PATTERN,
      metricTransformations: [{ metricNamespace: "ISSTracker/iss-tracker", metricName: "EntriesAppended", metricValue: "1" }],
    }]);

    const alarms = (await new CloudWatchClient(a).send(new DescribeAlarmsCommand({ AlarmNamePrefix: "iss-tracker-" }))).MetricAlarms!;
    const byName = Object.fromEntries(alarms.map((m) => [m.AlarmName, m]));
    expect(Object.keys(byName).sort()).toEqual(["iss-tracker-failed-invocations", "iss-tracker-function-errors", "iss-tracker-log-stalled", "iss-tracker-undeliverable-events"]);
    for (const alarm of alarms) expect(alarm).toMatchObject({ AlarmActions: [topicArn], OKActions: [topicArn], EvaluationPeriods: 1, Threshold: 1 });
    expect(byName["iss-tracker-function-errors"]).toMatchObject({
      Namespace: "AWS/Lambda", MetricName: "Errors", Dimensions: [{ Name: "FunctionName", Value: fn.name }], Statistic: "Sum", Period: 300,
      ComparisonOperator: "GreaterThanOrEqualToThreshold", TreatMissingData: "notBreaching",
    });
    for (const [name, queueName] of [["iss-tracker-failed-invocations", "iss-tracker-failed-invocations"], ["iss-tracker-undeliverable-events", "iss-tracker-schedule-dlq"]]) {
      expect(byName[name]).toMatchObject({
        Namespace: "AWS/SQS", MetricName: "ApproximateNumberOfMessagesVisible", Dimensions: [{ Name: "QueueName", Value: queueName }], Statistic: "Maximum",
        Period: 300, ComparisonOperator: "GreaterThanOrEqualToThreshold", TreatMissingData: "notBreaching",
      });
    }
    expect(byName["iss-tracker-log-stalled"]).toMatchObject({
      Namespace: "ISSTracker/iss-tracker", MetricName: "EntriesAppended", Statistic: "Sum", Period: 900,
      ComparisonOperator: "LessThanThreshold", TreatMissingData: "breaching",
    });
  });

  it("the deployed metric filter selects exactly the function's 'entry appended' lines among everything it logged (each line a JSON event, as CloudWatch stores stdout)", async () => {
    const fn = rehearsal.function;
    // Through the gateway: its logs gate evaluates JSON filter patterns, which moto does not.
    const a = { region: "us-east-1", endpoint: rehearsal.endpoint, credentials: rehearsal.adminA };
    const logs = new CloudWatchLogsClient(a);
    const [filter] = (await logs.send(new DescribeMetricFiltersCommand({ logGroupName: fn.outputs.log_group_name }))).metricFilters!;
    // A run that fails (no ISS source answers) beside the successful ones of npm start's runs.
    const [failed] = await rehearsal.invoke(1, 1, { ISS_SOURCES: "http://127.0.0.1:9/iss-now.json" });
    expect(failed.ok).toBe(false);
    // What the function printed in every batch so far: one JSON object per line, written straight to stdout.
    const logFiles = (readdirSync(join(rehearsal.workDir, "invocations"), { recursive: true }) as string[]).filter((f) => f.endsWith("function.log"));
    expect(logFiles.length).toBeGreaterThanOrEqual(2);
    const lines = logFiles.flatMap((f) => readFileSync(join(rehearsal.workDir, "invocations", f), "utf8").split("\n").filter((l) => l.startsWith("{")));
    const messages = lines.map((l) => JSON.parse(l).msg as string);
    expect(messages.filter((m) => m === "run failed").length).toBeGreaterThan(0);
    const stream = `2026/01/01/[$LATEST]rehearsal-${Date.now()}`;
    await logs.send(new CreateLogStreamCommand({ logGroupName: fn.outputs.log_group_name, logStreamName: stream }));
    const t = Date.now();
    await logs.send(new PutLogEventsCommand({
      logGroupName: fn.outputs.log_group_name, logStreamName: stream,
      logEvents: lines.map((line, i) => ({ timestamp: t + i, message: line })),
    }));
    const matched = (await logs.send(new FilterLogEventsCommand({ logGroupName: fn.outputs.log_group_name, filterPattern: filter.filterPattern }))).events ?? [];
    // One match per entry in the log: every append counted, nothing else (failed runs, duplicates).
    expect(matched.length).toBe(countEntries(await logText()));
    expect(matched.map((e) => JSON.parse(e.message!).msg)).toEqual(matched.map(() => "entry appended"));
  });

  it("the execution role may send to the on-failure queue and to no other queue (IAM enforced), as Lambda does with its permissions; doctor reports the record and its fix", async () => {
    const fn = rehearsal.function;
    const credentials = await rehearsal.executionCredentials();
    const asExec = new SQSClient({ region: "us-east-1", endpoint: rehearsal.endpoint, credentials });
    await rehearsal.moto.enforceIam();
    try {
      await asExec.send(new SendMessageCommand({ QueueUrl: fn.outputs.failure_queue_url, MessageBody: JSON.stringify({ requestContext: { condition: "RetriesExhausted" } }) }));
      // (moto answers its IAM denial in XML even to SQS's JSON protocol: the SDK reports the 403 as a parse error.)
      const refused = await asExec.send(new SendMessageCommand({ QueueUrl: fn.outputs.dlq_url, MessageBody: "{}" })).then(() => undefined, (error: unknown) => error);
      expect(refused).toMatchObject({ $metadata: { httpStatusCode: 403 } });
      expect(isAccessDenied(refused)).toBe(true);
    } finally {
      await rehearsal.moto.relaxIam();
    }
    const doctor = () => runDoctor({ config: loadConfig({ env: { ACCOUNT_B_ID: rehearsal.accountB } }), endpoint: rehearsal.endpoint, credentialsA: rehearsal.adminA });
    const before = await doctor();
    expect(before.filter((r) => r.status === "fail").map((r) => r.id)).toEqual(["failed-invocations"]);
    expect(before.find((r) => r.id === "failed-invocations")!.fix).toMatch(/^1 failed-invocation record\(s\) wait in the queue: read them \(aws sqs receive-message --queue-url /);
    // The emulator has no subscriber and never evaluates alarms: doctor says both.
    expect(before.filter((r) => r.status === "warn").map((r) => r.id)).toEqual(["alert-subscription"]);
    expect(before.find((r) => r.id === "alarm-log-stalled")).toMatchObject({ status: "skip", detail: expect.stringMatching(/the emulator never evaluates alarms/) });
    // What doctor could not check is SKIP, never PASS: the read through the chain (the access role admits
    // only the execution role; the bootstrap role may not touch the log), and a PASS carries no denial.
    expect(before.find((r) => r.id === "object-read")).toMatchObject({ status: "skip", detail: expect.stringMatching(/only the execution role may, as designed/) });
    expect(before.find((r) => r.id === "bootstrap-role")).toMatchObject({ status: "pass", detail: expect.not.stringMatching(/AccessDenied/) });
    await new SQSClient({ region: "us-east-1", endpoint: rehearsal.moto.endpoint, credentials: rehearsal.adminA }).send(new PurgeQueueCommand({ QueueUrl: fn.outputs.failure_queue_url }));
    expect((await doctor()).filter((r) => r.status === "fail")).toEqual([]);
  });

  it("npm start draws the log's ground track (a PNG whose points sit where the coordinates say), and npm run log reads the log through the function's chain", async () => {
    expect(drawn).toMatchObject({ entries: 3, map: { path: REHEARSAL_MAP, width: 1024, height: 571 } });
    const png = PNG.sync.read(readFileSync(REHEARSAL_MAP));
    expect([png.width, png.height]).toEqual([1024, 571]);
    const positions = parseLog(logAfterCommandRuns).entries;
    const color = (lon: number, lat: number) => {
      const i = (Math.round(571 - 512 + ((90 - lat) / 180) * 512) * 1024 + Math.round(((lon + 180) / 360) * 1024)) * 4;
      return `#${[0, 1, 2].map((k) => png.data[i + k].toString(16).padStart(2, "0")).join("")}`;
    };
    // The runs are a second or two apart (a few pixels at most): the last dot (blue) covers the others.
    expect(color(positions[2].longitude, positions[2].latitude)).toBe("#1f3fbf");
    // Open ocean far from the track stays ocean.
    const oceans = [[-105, -55], [-45, 35], [75, -25], [-145, 15]]; // off the 10° graticule
    const [farLon, farLat] = oceans.find(([lon, lat]) => positions.every((p) => Math.abs(p.longitude - lon) > 40 || Math.abs(p.latitude - lat) > 40))!;
    expect(color(farLon, farLat)).toBe("#d7e7f6");

    const lines: string[] = [];
    const config = loadConfig({ env: { ACCOUNT_B_ID: rehearsal.accountB } });
    const asFunction = await runLogCommand({ config, flags: { tail: 2, endpoint: rehearsal.endpoint, maxAgeSeconds: 3600 }, credentialsA: await rehearsal.executionCredentials(), print: (l) => lines.push(l) });
    expect(asFunction.code).toBe(0);
    expect(asFunction.entries).toBe(countEntries(await logText()));
    expect(lines.join("\n")).toMatch(/read through the access role arn:aws:iam::222222222222:role\/iss-tracker-report-writer \(assumed with the function's external id\)/);
    expect(lines.join("\n")).toMatch(/^schedule: rate\(5 minutes\) \(every 5 minutes\); gaps longer than 10 minutes: 0$/m);
    expect(lines.join("\n")).toMatch(/^fresh: the last entry is within --max-age 1 hour$/m);
    // A person's credentials are refused by the access role's trust (the emulator's STS gate), as on AWS.
    const asAdmin = await runLogCommand({ config, flags: { tail: 0, endpoint: rehearsal.endpoint }, credentialsA: rehearsal.adminA, print: () => undefined });
    expect(asAdmin.code).toBe(2);
  });

  // Terraform's calls in B, recorded by the gateway's IAM gate (they ran under the bootstrap role's
  // policy with the real action names: a missing grant fails the deploy), per phase.
  const callsIn = (phase: RegExp) => rehearsal.iamGate.calls.filter((c) => phase.test(c.phase));
  /**
   * The two read-only Terraform runs of a destroy with the log present (refused ones start with
   * "(refused)"), run once for the two cases that read them, and the state, bucket configuration
   * and log just before them.
   */
  let refusedDestroys: Promise<{ refused: string; deliberate: string; snapshot: { state: Buffer; bucket: unknown; log: Buffer } }> | undefined;
  const destroysWithTheLogPresent = () => (refusedDestroys ??= runRefusedDestroys());
  it("created the access role only with its permissions boundary, through the bootstrap role, under the IAM gate", async () => {
    const created = callsIn(/^deploy: cdktf deploy iss-tracker/);
    expect(created.filter((c) => c.operation === "CreateRole").map((c) => [c.actions, c.params.PermissionsBoundary, c.allowed])).toEqual([
      [["iam:CreateRole", "iam:TagRole"], `arn:aws:iam::${rehearsal.accountB}:policy/iss-tracker-report-writer-boundary`, true],
    ]);
    const role = await iamB().send(new GetRoleCommand({ RoleName: "iss-tracker-report-writer" }));
    expect(role.Role?.PermissionsBoundary?.PermissionsBoundaryArn).toBe(`arn:aws:iam::${rehearsal.accountB}:policy/iss-tracker-report-writer-boundary`);
    // The storage default, read back through the S3 API: replaced versions kept 1 day, the 5 newest always.
    expect(((await bucketConfiguration()).lifecycle as { Rules: Array<{ NoncurrentVersionExpiration?: object }> }).Rules[0].NoncurrentVersionExpiration)
      .toEqual({ NoncurrentDays: 1, NewerNoncurrentVersions: 5 });
    // The provider assumes the bootstrap role without session tags: the trust needs no sts:TagSession.
    expect(rehearsal.iamGate.assumptions.length).toBeGreaterThan(0);
    expect(rehearsal.iamGate.assumptions.filter((a) => Object.keys(a).some((k) => /^(Tags\.|TransitiveTagKeys)/.test(k)))).toEqual([]);
  });

  /** Someone opens the access role to all of account A by hand; a re-deploy repairs it (run once; afterAll makes sure it ran). */
  let repairedTrust: Promise<void> | undefined;
  const repairHandWidenedTrust = () => (repairedTrust ??= (async () => {
      // Someone opens the access role to all of account A by hand (the broad trust of a whole account).
      const iam = iamB();
      const deployed = (await iam.send(new GetRoleCommand({ RoleName: "iss-tracker-report-writer" }))).Role!.AssumeRolePolicyDocument!;
      await iam.send(new UpdateAssumeRolePolicyCommand({
        RoleName: "iss-tracker-report-writer",
        PolicyDocument: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: `arn:aws:iam::${rehearsal.accountA}:root` }, Action: "sts:AssumeRole" }] }),
      }));
      // Re-deploying (same configuration, no new synth) puts the trust back.
      const before = rehearsal.iamGate.calls.length;
      await rehearsal.deploy();
      const updated = rehearsal.iamGate.calls.slice(before);
      expect(updated.filter((c) => !/^(Get|List|Head)/.test(c.operation) && c.allowed).map((c) => [c.operation, c.actions, c.resource])).toEqual([
        ["UpdateAssumeRolePolicy", ["iam:UpdateAssumeRolePolicy"], `arn:aws:iam::${rehearsal.accountB}:role/iss-tracker-report-writer`],
      ]);
      expect((await iam.send(new GetRoleCommand({ RoleName: "iss-tracker-report-writer" }))).Role!.AssumeRolePolicyDocument).toBe(deployed);
  })());

  it("an update that touches B (repairing a hand-widened trust) applies exactly that change, through the bootstrap role under the boundary", async () => {
    await repairHandWidenedTrust();
  });

  /** Two read-only Terraform runs on this deployment, at once: the two destroys that must be refused while the log exists. */
  async function runRefusedDestroys() {
    // Read-only Terraform runs on this deployment, at once (-lock=false: neither writes state;
    // each names its phase in its User-Agent, so the IAM gate files its calls apart): the two
    // destroys that must be refused while the log exists. The first refreshes every resource before
    // its plan is refused: the refresh phase of the least-privilege recording.
    const snapshot = { state: readFileSync(join(rehearsal.workDir, "iss-tracker.tfstate")), bucket: await bucketConfiguration(), log: (await rehearsal.readLog())! };
    const deliberateDir = rehearsal.deliberateDestroyOutDir;
    await rehearsal.terraform("iss-tracker", rehearsal.adminA, []);
    await rehearsal.cdktf("synth", "iss-tracker", rehearsal.adminA, { settings: { ALLOW_BUCKET_DESTROY: "true" }, outDir: deliberateDir });
    await rehearsal.terraform("iss-tracker", rehearsal.adminA, [], { outDir: deliberateDir });
    const outputOf = (run: Promise<string>) => run.then((out) => out, (e: Error & { output?: string }) => `(refused) ${e.output ?? e.message}`);
    const [refused, deliberate] = await Promise.all([
      // The destroy `cdktf destroy iss-tracker` runs (terraform destroy -auto-approve in the stack's
      // folder), run directly: cdktf's relay can drop Terraform's last lines, the error among them.
      rehearsal.phase("destroy with the log present (refused; refresh, then plan)", () =>
        outputOf(rehearsal.terraform("iss-tracker", rehearsal.adminA, ["destroy", "-auto-approve", "-lock=false"], { init: false }))),
      rehearsal.phase("deliberate destroy with the log present (refused)", () =>
        outputOf(rehearsal.terraform("iss-tracker", rehearsal.adminA, ["destroy", "-auto-approve", "-lock=false"], { outDir: deliberateDir, init: false }))),
    ]);
    return { refused, deliberate, snapshot };
  }

  it("a refresh through the bootstrap role reads every resource in B, and only reads", async () => {
    const { refused } = await destroysWithTheLogPresent();
    expect(refused).toMatch(/Refreshing state\.\.\./);
    const refreshed = callsIn(/^destroy with the log present/).filter((c) => c.allowed);
    expect(refreshed.length).toBeGreaterThan(10);
    expect(refreshed.map((c) => c.operation)).toEqual(expect.arrayContaining(["GetRole", "GetRolePolicy", "HeadBucket", "GetBucketLifecycleConfiguration", "GetBucketVersioning"]));
    expect(refreshed.filter((c) => !/^Get|^List|^Head/.test(c.operation))).toEqual([]);
  });

  it("a destroy with the log present is refused before it touches anything: state and bucket configuration unchanged, the procedure printed", async () => {
    const { refused, snapshot } = await destroysWithTheLogPresent();
    const text = refused.replace(/\s+/g, " ");
    expect(text).toMatch(/^\(refused\)/);
    expect(text).toMatch(/Error: Instance cannot be destroyed/);
    expect(text).toMatch(/Resource aws_s3_bucket\.report-bucket_\w+ has lifecycle\.prevent_destroy set/);
    expect(text).toMatch(/log_bucket_destroy_procedure = "s3:\/\/iss-tracker-reports-222222222222-us-east-1\/iss_position\.txt holds the log, so a destroy stops before it touches anything/);
    expect(text).toMatch(/ALLOW_BUCKET_DESTROY=true npx cdktf destroy iss-tracker/);
    expect(text).not.toMatch(/Destroying\.\.\.|Destruction complete/);
    expect(readFileSync(join(rehearsal.workDir, "iss-tracker.tfstate")).equals(snapshot.state)).toBe(true);
    expect(await bucketConfiguration()).toEqual(snapshot.bucket);
    expect((await rehearsal.readLog())!.equals(snapshot.log)).toBe(true);
    expect(callsIn(/^destroy with the log present/).length).toBeGreaterThan(0);
    expect(callsIn(/^destroy with the log present/).filter((c) => !/^Get|^List|^Head/.test(c.operation))).toEqual([]);
  });

  it("the deliberate path (ALLOW_BUCKET_DESTROY=true) refuses too while the log exists, in the destroy's refresh, saying how to archive and empty it", async () => {
    const { deliberate, snapshot } = await destroysWithTheLogPresent();
    expect(deliberate).toMatch(/^\(refused\)/);
    expect(deliberate.replace(/\s+/g, " ")).toMatch(
      /ALLOW_BUCKET_DESTROY=true, but s3:\/\/iss-tracker-reports-222222222222-us-east-1\/iss_position\.txt still holds the log, so nothing was destroyed\. To keep it, archive it first/);
    expect(deliberate).not.toMatch(/Destroying\.\.\.|Destruction complete/);
    expect(readFileSync(join(rehearsal.workDir, "iss-tracker.tfstate")).equals(snapshot.state)).toBe(true);
    expect(await bucketConfiguration()).toEqual(snapshot.bucket);
    expect(callsIn(/^deliberate destroy/).length).toBeGreaterThan(0);
    expect(callsIn(/^deliberate destroy/).filter((c) => !/^Get|^List|^Head/.test(c.operation))).toEqual([]);
  });

  afterAll(async () => {
    if (!rehearsal) return;
    try {
      // What the recording of Terraform's calls below must contain, whichever cases ran.
      await repairHandWidenedTrust();
      await destroysWithTheLogPresent();
      await rehearsal.teardown();
      checkTeardown();
    } finally {
      await rehearsal.stop();
    }
  }, 200_000);
});

/**
 * After the teardown (afterAll): the bucket emptied and both stacks destroyed (state empty); and
 * Terraform's calls in B through create, update, refresh, refused destroys and destroy, as the IAM
 * gate recorded them: every call granted, every grant used.
 */
function checkTeardown(): void {
    expect(progress.some((l) => l.startsWith("▸ empty the report bucket"))).toBe(true);
    expect(progress.some((l) => l.startsWith("▸ destroy: ALLOW_BUCKET_DESTROY=true cdktf destroy iss-tracker"))).toBe(true);
    expect(progress.some((l) => l.startsWith("▸ destroy: cdktf destroy bootstrap"))).toBe(true);
    for (const stack of ["iss-tracker", "bootstrap"]) {
      expect(JSON.parse(readFileSync(join(rehearsal.workDir, `${stack}.tfstate`), "utf8")).resources).toEqual([]);
    }

    // Terraform's sessions (the account_b provider's session name); npm run doctor uses the same role.
    const all = rehearsal.iamGate.calls;
    const calls = all.filter((c) => c.session.endsWith("/iss-tracker-terraform"));
    expect(calls.length).toBeGreaterThan(100);
    // doctor's reads through the bootstrap role: all granted, except reading the role itself (doctor
    // then says it cannot see the bootstrap role's trust with these credentials).
    expect(all.filter((c) => !calls.includes(c) && !c.allowed).map((c) => `${c.actions.join("+")} ${c.resource}`))
      .toEqual(all.filter((c) => !calls.includes(c) && !c.allowed).map(() => `iam:GetRole arn:aws:iam::${rehearsal.accountB}:role/terraform`));
    const granted = new Set(bootstrapGrantedActions());
    // Local mode only: with skip_credentials_validation the provider looks its account up with
    // iam:GetUser first (denied for a role, as in AWS); the rehearsal's own table says why.
    // Granted, and used outside this rehearsal only: local mode leaves the TLS-only bucket policy out
    // (moto applies a bucket policy's Deny to every caller), and a fresh deployment never lacks the boundary.
    const NOT_EXERCISED_ON_EMULATOR: Record<string, string> = {
      "iam:PutRolePermissionsBoundary": "attaching the boundary to an access role without it (deployed before the boundary, or stripped by hand): see the IAM gate's test",
      "s3:PutBucketPolicy": "aws_s3_bucket_policy create (no bucket policy in local mode)",
      "s3:DeleteBucketPolicy": "aws_s3_bucket_policy destroy (no bucket policy in local mode)",
    };
    expect(calls.filter((c) => !c.allowed && !c.actions.every((a) => a in EXPECTED_DENIALS)).map((c) => `${c.phase}: ${c.reason}`)).toEqual([]);
    const used = new Set(calls.filter((c) => c.allowed && !c.actions.includes("sts:GetCallerIdentity")).flatMap((c) => c.actions));
    expect([...used].filter((a) => !granted.has(a))).toEqual([]);
    expect([...granted].filter((a) => !used.has(a) && !(a in NOT_EXERCISED_ON_EMULATOR))).toEqual([]);
    expect(Object.keys(NOT_EXERCISED_ON_EMULATOR).filter((a) => used.has(a) || !granted.has(a))).toEqual([]);
    // Every phase is in the recording.
    const phases = [/^deploy: cdktf deploy/, /^destroy: ALLOW_BUCKET_DESTROY=true cdktf destroy iss-tracker/];
    expect(phases.map((p) => calls.some((c) => p.test(c.phase)))).toEqual(phases.map(() => true));
    const operations = (phase: RegExp) => calls.filter((c) => phase.test(c.phase) && c.allowed).map((c) => c.operation);
    expect(operations(/^deploy:/)).toEqual(expect.arrayContaining(["CreateRole", "PutRolePolicy", "CreateBucket", "PutBucketLifecycleConfiguration", "UpdateAssumeRolePolicy"]));
    expect(operations(/^destroy: ALLOW/)).toEqual(expect.arrayContaining(["DeleteRolePolicy", "DeleteRole", "DeleteBucketLifecycle", "DeleteBucket"]));
  expect(describeCallsOf(calls)).toMatch(/denied: iam:GetUser \(expected: local mode's skip_credentials_validation/);
}
