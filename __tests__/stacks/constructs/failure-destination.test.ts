import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { ADMINISTRATOR, evaluate, sessionOf } from "../../../scripts/shared/iam";
import { failureQueuePolicy, sendFailedInvocationsPolicy } from "../../../stacks/constructs/failure-destination";
import { only, policyOf, resources, synthTracker, type Json } from "../../../test-support/synth";

const { synthesized, json } = synthTracker();
const queues = Object.entries(resources(json, "aws_sqs_queue"));
const [queueId] = queues.find(([, q]) => q.name === "iss-tracker-failed-invocations")!;
const execId = Object.entries(resources(json, "aws_iam_role")).find(([, r]) => r.name === "iss-tracker-function-exec")![0];
const QUEUE_ARN = `\${aws_sqs_queue.${queueId}.arn}`;
const EXEC_ARN = `\${aws_iam_role.${execId}.arn}`;

describe("failure destination (account A)", () => {
  it("is an encrypted queue in A that keeps failed-invocation records for 14 days", () => {
    expect(synthesized).toHaveResourceWithProperties(SqsQueue, {
      name: "iss-tracker-failed-invocations",
      sqs_managed_sse_enabled: true,
      message_retention_seconds: 1209600,
      provider: "aws",
    });
  });

  it("is the on-failure destination of the function's asynchronous invocations, set after the execution role may send to it", () => {
    const invokeConfig = only(json, "aws_lambda_function_event_invoke_config");
    expect(invokeConfig.destination_config).toEqual({ on_failure: { destination: QUEUE_ARN } });
    const grantId = Object.entries(resources(json, "aws_iam_role_policy")).find(([, p]) => p.name === "send-failed-invocations")![0];
    expect(invokeConfig.depends_on).toEqual([`aws_iam_role_policy.${grantId}`]);
    // Still bounded as before: two retries, ten minutes.
    expect(invokeConfig).toMatchObject({ maximum_retry_attempts: 2, maximum_event_age_in_seconds: 600 });
  });

  it("grants the execution role sqs:SendMessage on exactly this queue (Lambda delivers with the execution role's permissions)", () => {
    const grant = Object.values(resources(json, "aws_iam_role_policy")).find((p: Json) => p.name === "send-failed-invocations");
    expect(grant.role).toBe(`\${aws_iam_role.${execId}.name}`);
    expect(grant.provider).toBe("aws");
    expect(policyOf(grant)).toEqual({
      Version: "2012-10-17",
      Statement: [{ Sid: "SendFailedInvocationRecords", Effect: "Allow", Action: "sqs:SendMessage", Resource: QUEUE_ARN }],
    });
  });

  it("has a queue policy that admits the execution role as the only sender", () => {
    const queuePolicy = Object.values(resources(json, "aws_sqs_queue_policy")).find((p: Json) => p.queue_url === `\${aws_sqs_queue.${queueId}.url}`);
    expect(policyOf(queuePolicy)).toEqual({
      Version: "2012-10-17",
      Statement: [
        { Sid: "ExecutionRoleSendsFailedInvocations", Effect: "Allow", Principal: { AWS: EXEC_ARN }, Action: "sqs:SendMessage", Resource: QUEUE_ARN },
        {
          Sid: "NoOtherSender", Effect: "Deny", Principal: "*", Action: "sqs:SendMessage", Resource: QUEUE_ARN,
          Condition: { ArnNotEquals: { "aws:PrincipalArn": EXEC_ARN } },
        },
      ],
    });
  });
});

describe("the failure queue's policies, evaluated (the IAM evaluator prove and doctor use)", () => {
  const A = "123456789012";
  const queueArn = `arn:aws:sqs:us-east-1:${A}:iss-tracker-failed-invocations`;
  const execArn = `arn:aws:iam::${A}:role/iss-tracker-function-exec`;
  const resourcePolicy = failureQueuePolicy(queueArn, execArn);
  const send = (principal: string, identityPolicies = ADMINISTRATOR, principalArn?: string) => evaluate({
    principal, identityPolicies, action: "sqs:SendMessage", resource: queueArn, resourceAccount: A, resourcePolicy,
    context: principalArn ? { "aws:PrincipalArn": principalArn } : {},
  });

  it("lets the function's session send with the execution role's one grant", async () => {
    const grant = [{ name: "send-failed-invocations", policy: sendFailedInvocationsPolicy(queueArn) }];
    const result = await send(sessionOf(execArn, "iss-tracker-function"), grant, execArn);
    expect(result.decision).toBe("Allowed");
    expect(result.identity).toBe("Allowed");
  });

  it("refuses anyone else in A, even an administrator, and any service", async () => {
    const admin = await send(`arn:aws:iam::${A}:user/admin`, ADMINISTRATOR, `arn:aws:iam::${A}:user/admin`);
    expect(admin.decision).toBe("ExplicitlyDenied");
    expect(admin.resourceDenies).toEqual(["NoOtherSender"]);
    const otherRole = `arn:aws:iam::${A}:role/other`;
    expect((await send(sessionOf(otherRole, "x"), ADMINISTRATOR, otherRole)).decision).toBe("ExplicitlyDenied");
    expect((await send("events.amazonaws.com", [])).decision).toBe("ExplicitlyDenied");
  });

  it("grants the execution role nothing on other queues", async () => {
    const grant = [{ name: "send-failed-invocations", policy: sendFailedInvocationsPolicy(queueArn) }];
    const other = await evaluate({
      principal: sessionOf(execArn, "iss-tracker-function"), identityPolicies: grant, action: "sqs:SendMessage",
      resource: `arn:aws:sqs:us-east-1:${A}:iss-tracker-schedule-dlq`, resourceAccount: A,
    });
    expect(other.decision).toBe("ImplicitlyDenied");
  });
});
