/**
 * The logs gate's JSON filter patterns against the behaviour the CloudWatch Logs User Guide
 * documents ("Using filter patterns to match terms in JSON log events"), and over real sockets in
 * front of moto, which by itself returns every event for a JSON pattern.
 */
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, FilterLogEventsCommand, PutLogEventsCommand, TestMetricFilterCommand } from "@aws-sdk/client-cloudwatch-logs";
import { startGateway, type Gateway } from "../../../scripts/emulator/gateway";
import { compileJsonPattern, FilterPatternError, logsGate } from "../../../scripts/emulator/logs-gate";
import { startMoto, type MotoServer } from "../../../scripts/emulator/moto";

const event = JSON.stringify({
  eventType: "UpdateTrail", sourceIPAddress: "123.123.123.123", arrayKey: ["value", "another value"], objectList: [{ name: "a", id: 1 }, { name: "b", id: 2 }],
  latency: 50, hasError: false, nothing: null, user: { id: 1, email: "John.Doe@example.com" },
});

describe("compileJsonPattern, on the guide's examples", () => {
  it.each([
    ['{ $.eventType = "UpdateTrail" }', true],
    ['{ $.eventType = "DeleteTrail" }', false],
    ["{ $.sourceIPAddress != 123.123.* }", false],
    ["{ $.sourceIPAddress != 123.125.* }", true],
    ['{ $.arrayKey[0] = "value" }', true],
    ['{ $.objectList[1].id = 2 }', true],
    ["{ $.latency > 40 }", true],
    ["{ $.latency <= 40 }", false],
    ['{ ($.user.id = 1) && ($.user.email = "John.Doe@example.com") }', true],
    ['{ ($.user.id = 2) || ($.eventType = "UpdateTrail") }', true],
    ['{ $.user.email = "*@example.com" }', true],
    ["{ $.hasError IS FALSE }", true],
    ["{ $.nothing IS NULL }", true],
    ["{ $.missing NOT EXISTS }", true],
    ["{ $.latency NOT EXISTS }", false],
    ['{ $.missing = "x" }', false],
  ])("%s -> %s", (pattern, expected) => {
    expect(compileJsonPattern(pattern)(event)).toBe(expected);
  });

  it("matches only events that are JSON objects", () => {
    const test = compileJsonPattern('{ $.msg = "entry appended" }');
    expect(test('{"msg":"entry appended"}')).toBe(true);
    expect(test('2026-01-01T00:00:00Z\treq\tINFO\t{"msg":"entry appended"}')).toBe(false);
    expect(test('"entry appended"')).toBe(false);
  });

  it("selects a field, not words elsewhere in the line: an echoed answer in another field does not match", () => {
    const test = compileJsonPattern('{ ($.msg = "entry appended") && ($.target = "222222222222") }');
    expect(test(JSON.stringify({ msg: "entry appended", target: "222222222222" }))).toBe(true);
    expect(test(JSON.stringify({ msg: "target failed", target: "222222222222", message: 'response is not JSON (starts with "entry appended")' }))).toBe(false);
    expect(test(JSON.stringify({ msg: "entry appended", target: "333333333333" }))).toBe(false);
  });

  it.each(["$.a = 1", '{ $.a ~ "x" }', "{ $.a IS MAYBE }", "{ ($.a = 1 }", "{ a = 1 }", "{ $.a > x }"])("refuses %s rather than guess", (pattern) => {
    expect(() => compileJsonPattern(pattern)).toThrow(FilterPatternError);
  });
});

describe("logsGate in front of moto", () => {
  let moto: MotoServer;
  let gateway: Gateway;
  const client = () => new CloudWatchLogsClient({ region: "us-east-1", endpoint: gateway.endpoint, credentials: { accessKeyId: "a", secretAccessKey: "b" } });
  const messages = [
    JSON.stringify({ level: "info", msg: "entry appended", target: "222222222222" }),
    JSON.stringify({ level: "error", msg: "target failed", target: "222222222222", message: "entry appended" }),
    JSON.stringify({ level: "info", msg: "entry appended", target: "333333333333" }),
  ];
  beforeAll(async () => {
    moto = await startMoto();
    gateway = await startGateway(moto.endpoint, [logsGate()]);
    const logs = client();
    await logs.send(new CreateLogGroupCommand({ logGroupName: "g" }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: "g", logStreamName: "s" }));
    await logs.send(new PutLogEventsCommand({ logGroupName: "g", logStreamName: "s", logEvents: messages.map((message, i) => ({ timestamp: Date.now() + i, message })) }));
  }, 30_000);
  afterAll(async () => {
    await gateway?.stop();
    await moto?.stop();
  });

  it("FilterLogEvents with a JSON pattern returns only the matching events (moto alone returns all three)", async () => {
    const pattern = '{ ($.msg = "entry appended") && ($.target = "222222222222") }';
    const events = (await client().send(new FilterLogEventsCommand({ logGroupName: "g", filterPattern: pattern }))).events ?? [];
    expect(events.map((e) => e.message)).toEqual([messages[0]]);
    const bare = new CloudWatchLogsClient({ region: "us-east-1", endpoint: moto.endpoint, credentials: { accessKeyId: "a", secretAccessKey: "b" } });
    expect((await bare.send(new FilterLogEventsCommand({ logGroupName: "g", filterPattern: pattern }))).events).toHaveLength(3);
  });

  it("TestMetricFilter answers as the service does", async () => {
    const out = await client().send(new TestMetricFilterCommand({ filterPattern: '{ $.msg = "entry appended" }', logEventMessages: messages }));
    expect(out.matches?.map((m) => m.eventNumber)).toEqual([1, 3]);
  });

  it("refuses a JSON pattern it cannot evaluate with InvalidParameterException", async () => {
    await expect(client().send(new FilterLogEventsCommand({ logGroupName: "g", filterPattern: "{ $.a ~ 1 }" }))).rejects.toMatchObject({ name: "InvalidParameterException" });
  });
});
