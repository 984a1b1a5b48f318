/**
 * Day two in `npm run doctor`: is anyone told when the tracker stops, and is anything waiting?
 * Read-only, in account A: the function's on-failure destination (and whether the execution role
 * may really send to it: Lambda delivers with that role's permissions), what waits in the
 * failure queue and in the schedule's dead-letter queue, the alert topic (a customer managed key
 * CloudWatch may use, a policy that admits this deployment's alarms, a confirmed subscription),
 * and each alarm: there, notifying the topic, and its state.
 *
 * Statuses: an alarm in ALARM, a queue holding messages, a missing or unusable destination, topic
 * or alarm FAIL; an alarm without data yet (INSUFFICIENT_DATA) and a topic nobody confirmed a
 * subscription to are WARN: they do not break the tracker, but nobody would be told. An alarm still
 * in its initial state ("Unchecked: Initial alarm creation": the emulator never evaluates alarms,
 * AWS has not yet) is SKIP: its state is no verdict.
 *
 * Each is a check `{ id, title, run }` (see ./checks.ts); what several need (the queues, the
 * destination, the topic, the alarms, the metric filter) is read once per run (monitoringFacts).
 */
import { DescribeAlarmsCommand, type MetricAlarm } from "@aws-sdk/client-cloudwatch";
import { DescribeMetricFiltersCommand } from "@aws-sdk/client-cloudwatch-logs";
import { GetKeyPolicyCommand } from "@aws-sdk/client-kms";
import { GetFunctionEventInvokeConfigCommand } from "@aws-sdk/client-lambda";
import { GetTopicAttributesCommand, ListSubscriptionsByTopicCommand, type Subscription } from "@aws-sdk/client-sns";
import { GetQueueAttributesCommand, GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import { CLOUDWATCH_SERVICE } from "../../stacks/constructs/alert-topic";
import { formatDuration } from "../../stacks/schedule-period";
import { errorText, isNotFound, parsePolicy } from "../shared/aws";
import { evaluate, sessionOf } from "../shared/iam";
import type { Check, CheckStatus, Outcome } from "./checks";
import { REDEPLOY, Skip, type DoctorContext } from "./context";


/** A topic's subscriptions as a person reads them: confirmed ones, and ones waiting for a click. */
export function subscriptionState(subscriptions: readonly Subscription[]): { confirmed: string[]; pending: string[] } {
  const label = (s: Subscription) => `${s.Protocol ?? "?"}:${s.Endpoint ?? "?"}`;
  return {
    confirmed: subscriptions.filter((s) => s.SubscriptionArn?.startsWith("arn:")).map(label),
    pending: subscriptions.filter((s) => s.SubscriptionArn === "PendingConfirmation").map(label),
  };
}

interface QueueState {
  readonly url: string;
  readonly arn: string;
  readonly visible: number;
  readonly inFlight: number;
  readonly policy?: ReturnType<typeof parsePolicy>;
}

const outcome = (status: CheckStatus, detail: string, fix?: string): Outcome => ({ status, detail, fix });

/** What the day-two checks read, once per doctor run. */
class MonitoringFacts {
  private readonly memo = new Map<string, Promise<unknown>>();

  constructor(private readonly ctx: DoctorContext) {}

  private once<T>(name: string, read: () => Promise<T>): Promise<T> {
    if (!this.memo.has(name)) this.memo.set(name, read());
    return this.memo.get(name) as Promise<T>;
  }

  get accountA(): Promise<string> {
    return this.ctx.callerA().then((c) => c.account);
  }

  async arn(service: string, resource: string): Promise<string> {
    return `arn:${this.ctx.expected.partition}:${service}:${this.ctx.expected.regionA}:${await this.accountA}:${resource}`;
  }

  queue(name: string): Promise<QueueState | string> {
    return this.once(`queue ${name}`, async () => {
      const a = this.ctx.a;
      try {
        const url = (await a.sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
        const attributes = (await a.sqs.send(new GetQueueAttributesCommand({
          QueueUrl: url, AttributeNames: ["QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "Policy"],
        }))).Attributes ?? {};
        return {
          url,
          arn: attributes.QueueArn ?? (await this.arn("sqs", name)),
          visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
          inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
          policy: attributes.Policy ? parsePolicy(attributes.Policy) : undefined,
        };
      } catch (error) {
        return errorText(error);
      }
    });
  }

  get topicArn(): Promise<string> {
    return this.arn("sns", `${this.ctx.expected.namePrefix}-alerts`);
  }

  /** Whether the alert-topic check passed (alert-subscription reads the topic only then, or when it exists). */
  topicOk = false;

  alarms(): Promise<{ alarms: MetricAlarm[]; error?: string }> {
    return this.once("alarms", async () => {
      try {
        return { alarms: (await this.ctx.a.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: Object.values(this.ctx.expected.monitoring.alarms) }))).MetricAlarms ?? [] };
      } catch (error) {
        return { alarms: [], error: errorText(error) };
      }
    });
  }

  /** What is wrong with the log-stalled alarm's metric filter, if anything. */
  filterProblem(): Promise<string | undefined> {
    return this.once("filter", async () => {
      const names = this.ctx.expected.monitoring;
      const logGroupName = (await this.ctx.function()).logGroupName;
      try {
        const filters = (await this.ctx.a.logs.send(new DescribeMetricFiltersCommand({ logGroupName, filterNamePrefix: names.metricFilter }))).metricFilters ?? [];
        const filter = filters.find((f) => f.filterName === names.metricFilter);
        const transform = filter?.metricTransformations?.[0];
        if (!filter) return `the metric filter ${names.metricFilter} on ${logGroupName} is missing: nothing counts the appended entries, so the alarm can only fire`;
        if (filter.filterPattern !== this.ctx.expected.appendedPattern) return `the metric filter's pattern is ${JSON.stringify(filter.filterPattern)}, not ${JSON.stringify(this.ctx.expected.appendedPattern)}`;
        if (transform?.metricNamespace !== names.metricNamespace || transform?.metricName !== names.metricName) {
          return `the metric filter publishes ${transform?.metricNamespace}/${transform?.metricName}, not ${names.metricNamespace}/${names.metricName}`;
        }
        return undefined;
      } catch (error) {
        return `the metric filters of ${logGroupName} could not be read: ${errorText(error)}`;
      }
    });
  }
}

const facts = new WeakMap<DoctorContext, MonitoringFacts>();
/** The day-two facts of this doctor run (after the function: nothing to check without it). */
async function monitoringFacts(ctx: DoctorContext): Promise<MonitoringFacts> {
  await ctx.function();
  let f = facts.get(ctx);
  if (!f) facts.set(ctx, (f = new MonitoringFacts(ctx)));
  return f;
}

async function failureDestination(ctx: DoctorContext): Promise<Outcome> {
  const f = await monitoringFacts(ctx);
  const x = ctx.expected;
  const failureQueue = await f.queue(x.failureQueueName);
  let destination: string | undefined;
  let configError: string | undefined;
  try {
    const invoke = await ctx.a.lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: x.functionName }));
    destination = invoke.DestinationConfig?.OnFailure?.Destination ?? undefined;
  } catch (error) {
    configError = isNotFound(error) ? "no asynchronous invocation config" : errorText(error);
  }
  const expectedArn = typeof failureQueue === "string" ? await f.arn("sqs", x.failureQueueName) : failureQueue.arn;
  const dropped = "an event whose runs all fail is dropped without a trace";
  if (destination === undefined) {
    return outcome("fail", `${x.functionName}: ${configError ?? "no on-failure destination"}`, `${dropped}: ${REDEPLOY} sets the on-failure destination ${expectedArn}`);
  }
  if (destination !== expectedArn) {
    return outcome("fail", `${x.functionName} sends failed events to ${destination}, not ${expectedArn}`, `the destination was changed outside Terraform: ${REDEPLOY}`);
  }
  if (typeof failureQueue === "string") {
    return outcome("fail", `${destination}: ${failureQueue}`, `the queue is gone, so ${dropped}: ${REDEPLOY} re-creates it`);
  }
  const exec = await ctx.executionRole();
  if (!exec.ok) {
    throw new Skip(`${x.functionName} -> ${destination}, but the execution role's permission to send could not be checked: its policies could not be read`);
  }
  const executionRoleArn = await ctx.executionRoleArn();
  // Lambda sends the record with the execution role's own permissions.
  const send = await evaluate({
    principal: sessionOf(executionRoleArn, x.functionName), identityPolicies: exec.value.policies, action: "sqs:SendMessage",
    resource: destination, resourceAccount: await f.accountA, resourcePolicy: failureQueue.policy, context: { "aws:PrincipalArn": executionRoleArn },
  });
  const execName = executionRoleArn.split("/").pop();
  const detail = `${x.functionName} -> ${destination}; ${execName} sqs:SendMessage: ${send.decision}`;
  if (send.decision !== "Allowed") {
    return outcome("fail", `${detail} (its policies: ${send.identity}; the queue policy: ${send.resource})`,
      `Lambda delivers failed-event records with the execution role's permissions, and ${execName} may not sqs:SendMessage to ${destination}, so they are lost (as DestinationDeliveryFailures): ` +
      (send.resourceDenies.length ? `the queue policy's ${send.resourceDenies.join(", ")} refuses it` : `${execName} has no send-failed-invocations policy`) + `: ${REDEPLOY}`);
  }
  if (send.identity !== "Allowed") {
    // Same account: the queue policy naming the role is enough for AWS, but not what the stack deploys.
    return outcome("warn", `${detail}, by the queue policy alone: ${execName} lost its send-failed-invocations policy`,
      `Lambda's documentation asks for sqs:SendMessage in the execution role, and PutFunctionEventInvokeConfig checks it: ${REDEPLOY} puts it back`);
  }
  return outcome("pass", detail);
}

/** What waits in a queue. */
function waiting(queueName: (ctx: DoctorContext) => string, what: string, cause: string) {
  return async (ctx: DoctorContext): Promise<Outcome> => {
    const state = await (await monitoringFacts(ctx)).queue(queueName(ctx));
    if (typeof state === "string") return outcome("fail", `${what}: ${state}`, `${REDEPLOY} re-creates the queue`);
    const count = state.visible + state.inFlight;
    const receive = `aws sqs receive-message --queue-url ${state.url} --max-number-of-messages 10 --attribute-names All --message-attribute-names All`;
    return outcome(count === 0 ? "pass" : "fail",
      `${state.url}: ${state.visible} message(s) waiting${state.inFlight ? `, ${state.inFlight} being read` : ""}`,
      `${count} ${what} wait in the queue: read them (${receive}), ${cause}, then delete them (aws sqs purge-queue --queue-url ${state.url}) so its alarm returns to OK`);
  };
}

async function alertTopic(ctx: DoctorContext): Promise<Outcome> {
  const f = await monitoringFacts(ctx);
  const x = ctx.expected;
  const a = ctx.a;
  const topicArn = await f.topicArn;
  const accountA = await f.accountA;
  try {
    const attributes = (await a.sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }))).Attributes ?? {};
    const keyId = attributes.KmsMasterKeyId;
    const problems: string[] = [];
    const notes: string[] = [];
    if (!keyId) {
      problems.push("it is not encrypted");
    } else if (/alias\/aws\/sns$/.test(keyId)) {
      problems.push(`it is encrypted with the AWS managed key ${keyId}, whose policy cannot let CloudWatch use it: alarms cannot publish to it`);
    } else {
      try {
        const keyPolicy = parsePolicy((await a.kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: "default" }))).Policy);
        const keyArn = keyId.startsWith("arn:") ? keyId : `arn:${x.partition}:kms:${x.regionA}:${accountA}:key/${keyId}`;
        const denied: string[] = [];
        for (const action of ["kms:GenerateDataKey", "kms:Decrypt"]) {
          const decision = await evaluate({ principal: CLOUDWATCH_SERVICE, action, resource: keyArn, resourceAccount: accountA, resourcePolicy: keyPolicy, context: { "aws:SourceAccount": accountA } });
          if (decision.decision !== "Allowed") denied.push(action);
        }
        if (denied.length) problems.push(`its key's policy does not let ${CLOUDWATCH_SERVICE} ${denied.join(" and ")}: alarms cannot publish to it`);
        else notes.push(`key ${keyId} usable by CloudWatch`);
      } catch (error) {
        notes.push(`key ${keyId} (its policy could not be read: ${errorText(error)})`);
      }
    }
    const topicPolicy = attributes.Policy ? parsePolicy(attributes.Policy) : undefined;
    const publish = await evaluate({
      principal: CLOUDWATCH_SERVICE, action: "sns:Publish", resource: topicArn, resourceAccount: accountA, resourcePolicy: topicPolicy,
      context: { "aws:SourceArn": await f.arn("cloudwatch", `alarm:${x.monitoring.alarms.logStalled}`), "aws:SourceAccount": accountA },
    });
    if (publish.decision !== "Allowed") problems.push(`its policy does not let this deployment's alarms publish (${publish.decision})`);
    else notes.push("this deployment's alarms may publish");
    f.topicOk = problems.length === 0;
    return outcome(f.topicOk ? "pass" : "fail", `${topicArn}: ${[...problems, ...notes].join("; ")}`,
      `${problems.join("; ")}: ${REDEPLOY} (the stack encrypts the topic with its own key, whose policy admits ${CLOUDWATCH_SERVICE})`);
  } catch (error) {
    return outcome("fail", `${topicArn}: ${errorText(error)}`, `the alarms have nowhere to send: ${REDEPLOY}`);
  }
}

async function alertSubscription(ctx: DoctorContext): Promise<Outcome> {
  const f = await monitoringFacts(ctx);
  const x = ctx.expected;
  const topicArn = await f.topicArn;
  if (!f.topicOk && !(await topicExists(ctx, topicArn))) throw new Skip("the topic could not be read");
  const { confirmed, pending } = subscriptionState((await ctx.a.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }))).Subscriptions ?? []);
  const subscribe = `set ALERT_EMAIL=you@example.com and ${REDEPLOY}, or subscribe any endpoint: aws sns subscribe --topic-arn ${topicArn} --protocol email --notification-endpoint you@example.com`;
  const configured = x.alertEmail && ![...confirmed, ...pending].includes(`email:${x.alertEmail}`)
    ? ` (ALERT_EMAIL=${x.alertEmail} is configured but not subscribed: ${REDEPLOY})` : "";
  if (confirmed.length > 0) {
    return outcome(configured ? "warn" : "pass", `confirmed: ${confirmed.join(", ")}${pending.length ? `; waiting for confirmation: ${pending.join(", ")}` : ""}${configured}`,
      configured ? `redeploy so ALERT_EMAIL is subscribed: ${REDEPLOY}` : undefined);
  }
  if (pending.length > 0) {
    return outcome("warn", `waiting for confirmation: ${pending.join(", ")}; nobody receives the alarms yet`,
      `open the "AWS Notification - Subscription Confirmation" email sent to ${pending.map((p) => p.replace(/^email:/, "")).join(", ")} and confirm (the link expires after 3 days; ${REDEPLOY} sends a new one)`);
  }
  return outcome("warn", `${topicArn} has no subscription: the alarms reach nobody${configured}`, subscribe);
}

async function topicExists(ctx: DoctorContext, topicArn: string): Promise<boolean> {
  try {
    await ctx.a.sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }));
    return true;
  } catch {
    return false;
  }
}

type AlarmKey = keyof DoctorContext["expected"]["monitoring"]["alarms"];

/** One alarm: there, notifying the topic, and its state. */
function alarmCheck(id: string, key: AlarmKey, title: (ctx: DoctorContext) => string, inAlarm: (ctx: DoctorContext, logGroupName: string) => string): Check {
  return {
    id,
    title,
    run: async (ctx) => {
      const f = await monitoringFacts(ctx);
      const name = ctx.expected.monitoring.alarms[key];
      const topicArn = await f.topicArn;
      const { alarms, error } = await f.alarms();
      const alarm = alarms.find((m) => m.AlarmName === name);
      if (!alarm) return outcome("fail", `${name}: ${error ?? "no such alarm"}`, `${REDEPLOY} creates it`);
      const rule = `${alarm.Namespace}/${alarm.MetricName} ${alarm.Statistic} ${alarm.ComparisonOperator} ${alarm.Threshold} per ${formatDuration(alarm.Period ?? 0)}, missing data ${alarm.TreatMissingData ?? "missing"}`;
      const since = alarm.StateUpdatedTimestamp ? ` since ${alarm.StateUpdatedTimestamp.toISOString()}` : "";
      const detail = `${name}: ${alarm.StateValue}${since} (${rule})${alarm.StateReason ? `: ${alarm.StateReason}` : ""}`;
      if (!(alarm.AlarmActions ?? []).includes(topicArn)) {
        return outcome("fail", `${detail}; it notifies ${(alarm.AlarmActions ?? []).join(", ") || "nobody"}`, `it must notify ${topicArn}: ${REDEPLOY}`);
      }
      const filterProblem = key === "logStalled" ? await f.filterProblem() : undefined;
      if (filterProblem) return outcome("fail", `${detail}; ${filterProblem}`, `${REDEPLOY} puts the metric filter back`);
      if (/^Unchecked: Initial alarm creation/.test(alarm.StateReason ?? "")) {
        // moto creates alarms in OK with this reason and never evaluates them; AWS starts them so
        // until their first evaluation. Either way the state is no verdict.
        throw new Skip(`${detail} [${ctx.emulator ? "the emulator never evaluates alarms" : "CloudWatch has not evaluated it yet"}: this is its initial state, not a verdict; it is there and notifies the topic]`);
      }
      if (alarm.StateValue === "ALARM") return outcome("fail", detail, inAlarm(ctx, (await ctx.function()).logGroupName));
      if (alarm.StateValue === "INSUFFICIENT_DATA") {
        return outcome("warn", detail, ctx.emulator
          ? "the emulator never evaluates alarms; on AWS this state lasts only the first minutes after a deploy"
          : `CloudWatch has had no data to evaluate yet: normal for the first minutes after a deploy; if it stays, ${alarm.Namespace}/${alarm.MetricName} is not being published`);
      }
      return outcome("pass", detail);
    },
  };
}

export const MONITORING_CHECKS: readonly Check[] = [
  { id: "failure-destination", title: () => "failed scheduled runs go to the on-failure queue, which the execution role may send to", run: failureDestination },
  {
    id: "failed-invocations",
    title: () => "no failed-invocation record waits in the on-failure queue",
    run: waiting((ctx) => ctx.expected.failureQueueName, "failed-invocation record(s)",
      "fix what they show (each record holds the event, the error and the attempts; npm run doctor's checks above find a broken chain)"),
  },
  {
    id: "undeliverable-events",
    title: () => "no undeliverable event waits in the schedule's dead-letter queue",
    run: waiting((ctx) => ctx.expected.deadLetterQueueName, "undeliverable scheduled event(s)",
      "fix why EventBridge could not invoke the function (the message's ERROR_CODE/ERROR_MESSAGE attributes: a missing function or invoke permission, throttling)"),
  },
  { id: "alert-topic", title: () => "the alarms' topic is encrypted with a key CloudWatch may use and admits this deployment's alarms", run: alertTopic },
  { id: "alert-subscription", title: () => "someone receives the alarms (a confirmed subscription)", run: alertSubscription },
  alarmCheck("alarm-function-errors", "functionErrors", () => "alarm on function errors", (_, logGroupName) =>
    `the function failed in the last 5 minutes: its 'run failed' lines say why (aws logs filter-log-events --log-group-name ${logGroupName} --filter-pattern '"run failed"'); the checks above find a broken chain`),
  alarmCheck("alarm-failed-invocations", "failedInvocations", () => "alarm on the on-failure queue holding records", () => "a scheduled run spent all its retries: see failed-invocations above"),
  alarmCheck("alarm-undeliverable-events", "undeliverableEvents", () => "alarm on the dead-letter queue holding events", () => "EventBridge could not deliver a scheduled event: see undeliverable-events above"),
  alarmCheck("alarm-log-stalled", "logStalled", (ctx) => `alarm on the log not growing (fewer than 1 entry in ${ctx.expected.alarmMissedRuns} schedule periods)`, (ctx) =>
    `no entry was appended in ${ctx.expected.stalledAfter}: npm run log shows the last one; if runs fail, see alarm-function-errors; if nothing runs, check the schedule rule ${ctx.expected.namePrefix}-schedule is ENABLED (aws events describe-rule --name ${ctx.expected.namePrefix}-schedule)`),
];
