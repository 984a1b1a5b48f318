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
 * subscription to are WARN: they do not break the tracker, but nobody would be told.
 */
import { DescribeAlarmsCommand, type MetricAlarm } from "@aws-sdk/client-cloudwatch";
import { DescribeMetricFiltersCommand } from "@aws-sdk/client-cloudwatch-logs";
import { GetKeyPolicyCommand } from "@aws-sdk/client-kms";
import { GetFunctionEventInvokeConfigCommand } from "@aws-sdk/client-lambda";
import { GetTopicAttributesCommand, ListSubscriptionsByTopicCommand, type Subscription } from "@aws-sdk/client-sns";
import { GetQueueAttributesCommand, GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import type { AppConfig } from "../../stacks/config";
import { appendedPattern, monitoringNames } from "../../stacks/constructs/alarms";
import { CLOUDWATCH_SERVICE } from "../../stacks/constructs/alert-topic";
import { formatDuration } from "../../stacks/schedule-period";
import { errorText, isNotFound, parsePolicy } from "../shared/aws";
import { evaluate, sessionOf, type NamedPolicy } from "../shared/iam";
import type { AccountClients } from "./aws";

export const MONITORING_CHECK_IDS = [
  "failure-destination", "failed-invocations", "undeliverable-events", "alert-topic", "alert-subscription",
  "alarm-function-errors", "alarm-failed-invocations", "alarm-undeliverable-events", "alarm-log-stalled",
] as const;
export type MonitoringCheckId = (typeof MONITORING_CHECK_IDS)[number];

export interface MonitoringContext {
  readonly config: AppConfig;
  /** Account A's read-only clients. */
  readonly a: AccountClients;
  readonly accountA: string;
  readonly emulator: boolean;
  readonly functionName: string;
  readonly executionRoleArn: string;
  /** The execution role's policies, when they could be read. */
  readonly executionPolicies?: readonly NamedPolicy[];
  readonly logGroupName: string;
  readonly redeploy: string;
}

export type RecordCheck = (id: MonitoringCheckId, status: "pass" | "fail" | "warn" | "skip", detail: string, fix?: string) => void;

/** Queue names as the stack makes them (see constructs/failure-destination.ts and schedule.ts). */
export const queueNames = (namePrefix: string) => ({ failure: `${namePrefix}-failed-invocations`, deadLetter: `${namePrefix}-schedule-dlq` });

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

export async function monitoringChecks(ctx: MonitoringContext, record: RecordCheck): Promise<void> {
  const { config, a, accountA } = ctx;
  const region = config.regionA;
  const names = monitoringNames(config.namePrefix);
  const queues = queueNames(config.namePrefix);
  const queueArn = (name: string) => `arn:${config.partition}:sqs:${region}:${accountA}:${name}`;

  const readQueue = async (name: string): Promise<QueueState | string> => {
    try {
      const url = (await a.sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
      const attributes = (await a.sqs.send(new GetQueueAttributesCommand({
        QueueUrl: url, AttributeNames: ["QueueArn", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "Policy"],
      }))).Attributes ?? {};
      return {
        url,
        arn: attributes.QueueArn ?? queueArn(name),
        visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
        inFlight: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
        policy: attributes.Policy ? parsePolicy(attributes.Policy) : undefined,
      };
    } catch (error) {
      return errorText(error);
    }
  };
  const [failureQueue, deadLetterQueue] = await Promise.all([readQueue(queues.failure), readQueue(queues.deadLetter)]);

  // 1. The on-failure destination: configured, there, and usable by the execution role.
  let destination: string | undefined;
  let configError: string | undefined;
  try {
    const invoke = await a.lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: ctx.functionName }));
    destination = invoke.DestinationConfig?.OnFailure?.Destination ?? undefined;
  } catch (error) {
    configError = isNotFound(error) ? "no asynchronous invocation config" : errorText(error);
  }
  const expectedArn = typeof failureQueue === "string" ? queueArn(queues.failure) : failureQueue.arn;
  const dropped = "an event whose runs all fail is dropped without a trace";
  if (destination === undefined) {
    record("failure-destination", "fail", `${ctx.functionName}: ${configError ?? "no on-failure destination"}`,
      `${dropped}: ${ctx.redeploy} sets the on-failure destination ${expectedArn}`);
  } else if (destination !== expectedArn) {
    record("failure-destination", "fail", `${ctx.functionName} sends failed events to ${destination}, not ${expectedArn}`,
      `the destination was changed outside Terraform: ${ctx.redeploy}`);
  } else if (typeof failureQueue === "string") {
    record("failure-destination", "fail", `${destination}: ${failureQueue}`, `the queue is gone, so ${dropped}: ${ctx.redeploy} re-creates it`);
  } else if (!ctx.executionPolicies) {
    record("failure-destination", "pass", `${ctx.functionName} -> ${destination} (the execution role's permission to send was not checked: its policies could not be read)`);
  } else {
    // Lambda sends the record with the execution role's own permissions.
    const send = await evaluate({
      principal: sessionOf(ctx.executionRoleArn, ctx.functionName), identityPolicies: ctx.executionPolicies, action: "sqs:SendMessage",
      resource: destination, resourceAccount: accountA, resourcePolicy: failureQueue.policy, context: { "aws:PrincipalArn": ctx.executionRoleArn },
    });
    const execName = ctx.executionRoleArn.split("/").pop();
    const detail = `${ctx.functionName} -> ${destination}; ${execName} sqs:SendMessage: ${send.decision}`;
    if (send.decision !== "Allowed") {
      record("failure-destination", "fail", `${detail} (its policies: ${send.identity}; the queue policy: ${send.resource})`,
        `Lambda delivers failed-event records with the execution role's permissions, and ${execName} may not sqs:SendMessage to ${destination}, so they are lost (as DestinationDeliveryFailures): ` +
        (send.resourceDenies.length ? `the queue policy's ${send.resourceDenies.join(", ")} refuses it` : `${execName} has no send-failed-invocations policy`) + `: ${ctx.redeploy}`);
    } else if (send.identity !== "Allowed") {
      // Same account: the queue policy naming the role is enough for AWS, but not what the stack deploys.
      record("failure-destination", "warn", `${detail}, by the queue policy alone: ${execName} lost its send-failed-invocations policy`,
        `Lambda's documentation asks for sqs:SendMessage in the execution role, and PutFunctionEventInvokeConfig checks it: ${ctx.redeploy} puts it back`);
    } else {
      record("failure-destination", "pass", detail);
    }
  }

  // 2. What waits in the queues.
  const waiting = (id: "failed-invocations" | "undeliverable-events", state: QueueState | string, what: string, cause: string) => {
    if (typeof state === "string") {
      record(id, "fail", `${what}: ${state}`, `${ctx.redeploy} re-creates the queue`);
      return;
    }
    const count = state.visible + state.inFlight;
    const receive = `aws sqs receive-message --queue-url ${state.url} --max-number-of-messages 10 --attribute-names All --message-attribute-names All`;
    record(id, count === 0 ? "pass" : "fail",
      `${state.url}: ${state.visible} message(s) waiting${state.inFlight ? `, ${state.inFlight} being read` : ""}`,
      `${count} ${what} wait in the queue: read them (${receive}), ${cause}, then delete them (aws sqs purge-queue --queue-url ${state.url}) so its alarm returns to OK`);
  };
  waiting("failed-invocations", failureQueue, "failed-invocation record(s)",
    "fix what they show (each record holds the event, the error and the attempts; npm run doctor's checks above find a broken chain)");
  waiting("undeliverable-events", deadLetterQueue, "undeliverable scheduled event(s)",
    "fix why EventBridge could not invoke the function (the message's ERROR_CODE/ERROR_MESSAGE attributes: a missing function or invoke permission, throttling)");

  // 3. The alert topic: encrypted with a key CloudWatch may use, open to this deployment's alarms.
  const topicArn = `arn:${config.partition}:sns:${region}:${accountA}:${config.namePrefix}-alerts`;
  const alarmArn = (name: string) => `arn:${config.partition}:cloudwatch:${region}:${accountA}:alarm:${name}`;
  let topicOk = false;
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
        const keyArn = keyId.startsWith("arn:") ? keyId : `arn:${config.partition}:kms:${region}:${accountA}:key/${keyId}`;
        const denied: string[] = [];
        for (const action of ["kms:GenerateDataKey", "kms:Decrypt"]) {
          const decision = await evaluate({ principal: CLOUDWATCH_SERVICE, action, resource: keyArn, resourceAccount: accountA, resourcePolicy: keyPolicy });
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
      context: { "aws:SourceArn": alarmArn(names.alarms.logStalled), "aws:SourceAccount": accountA },
    });
    if (publish.decision !== "Allowed") problems.push(`its policy does not let this deployment's alarms publish (${publish.decision})`);
    else notes.push("this deployment's alarms may publish");
    topicOk = problems.length === 0;
    record("alert-topic", topicOk ? "pass" : "fail", `${topicArn}: ${[...problems, ...notes].join("; ")}`,
      `${problems.join("; ")}: ${ctx.redeploy} (the stack encrypts the topic with its own key, whose policy admits ${CLOUDWATCH_SERVICE})`);
  } catch (error) {
    record("alert-topic", "fail", `${topicArn}: ${errorText(error)}`, `the alarms have nowhere to send: ${ctx.redeploy}`);
  }

  // 4. Does anyone receive them?
  if (!topicOk && !(await topicExists(a, topicArn))) {
    record("alert-subscription", "skip", "not checked: the topic could not be read");
  } else {
    const { confirmed, pending } = subscriptionState((await a.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }))).Subscriptions ?? []);
    const subscribe = `set ALERT_EMAIL=you@example.com and ${ctx.redeploy}, or subscribe any endpoint: aws sns subscribe --topic-arn ${topicArn} --protocol email --notification-endpoint you@example.com`;
    const configured = config.alertEmail && ![...confirmed, ...pending].includes(`email:${config.alertEmail}`)
      ? ` (ALERT_EMAIL=${config.alertEmail} is configured but not subscribed: ${ctx.redeploy})` : "";
    if (confirmed.length > 0) {
      record("alert-subscription", configured ? "warn" : "pass", `confirmed: ${confirmed.join(", ")}${pending.length ? `; waiting for confirmation: ${pending.join(", ")}` : ""}${configured}`,
        configured ? `redeploy so ALERT_EMAIL is subscribed: ${ctx.redeploy}` : undefined);
    } else if (pending.length > 0) {
      record("alert-subscription", "warn", `waiting for confirmation: ${pending.join(", ")}; nobody receives the alarms yet`,
        `open the "AWS Notification - Subscription Confirmation" email sent to ${pending.map((p) => p.replace(/^email:/, "")).join(", ")} and confirm (the link expires after 3 days; ${ctx.redeploy} sends a new one)`);
    } else {
      record("alert-subscription", "warn", `${topicArn} has no subscription: the alarms reach nobody${configured}`, subscribe);
    }
  }

  // 5. The alarms: there, notifying the topic, and their state.
  let alarms: MetricAlarm[] = [];
  let alarmsError: string | undefined;
  try {
    alarms = (await a.cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: Object.values(names.alarms) }))).MetricAlarms ?? [];
  } catch (error) {
    alarmsError = errorText(error);
  }
  let filterProblem: string | undefined;
  try {
    const filters = (await a.logs.send(new DescribeMetricFiltersCommand({ logGroupName: ctx.logGroupName, filterNamePrefix: names.metricFilter }))).metricFilters ?? [];
    const filter = filters.find((f) => f.filterName === names.metricFilter);
    const transform = filter?.metricTransformations?.[0];
    if (!filter) filterProblem = `the metric filter ${names.metricFilter} on ${ctx.logGroupName} is missing: nothing counts the appended entries, so the alarm can only fire`;
    else if (filter.filterPattern !== appendedPattern(config.accountBId)) filterProblem = `the metric filter's pattern is ${JSON.stringify(filter.filterPattern)}, not ${JSON.stringify(appendedPattern(config.accountBId))}`;
    else if (transform?.metricNamespace !== names.metricNamespace || transform?.metricName !== names.metricName) {
      filterProblem = `the metric filter publishes ${transform?.metricNamespace}/${transform?.metricName}, not ${names.metricNamespace}/${names.metricName}`;
    }
  } catch (error) {
    filterProblem = `the metric filters of ${ctx.logGroupName} could not be read: ${errorText(error)}`;
  }
  type AlarmCheckId = "alarm-function-errors" | "alarm-failed-invocations" | "alarm-undeliverable-events" | "alarm-log-stalled";
  const inAlarm: { readonly [id in AlarmCheckId]: string } = {
    "alarm-function-errors": `the function failed in the last 5 minutes: its 'run failed' lines say why (aws logs filter-log-events --log-group-name ${ctx.logGroupName} --filter-pattern '"run failed"'); the checks above find a broken chain`,
    "alarm-failed-invocations": "a scheduled run spent all its retries: see failed-invocations above",
    "alarm-undeliverable-events": "EventBridge could not deliver a scheduled event: see undeliverable-events above",
    "alarm-log-stalled": `no entry was appended in ${formatDuration(config.alarmMissedRuns * config.schedulePeriodSeconds)}: npm run log shows the last one; if runs fail, see alarm-function-errors; if nothing runs, check the schedule rule ${config.namePrefix}-schedule is ENABLED (aws events describe-rule --name ${config.namePrefix}-schedule)`,
  };
  const checks: Array<[AlarmCheckId, string]> = [
    ["alarm-function-errors", names.alarms.functionErrors],
    ["alarm-failed-invocations", names.alarms.failedInvocations],
    ["alarm-undeliverable-events", names.alarms.undeliverableEvents],
    ["alarm-log-stalled", names.alarms.logStalled],
  ];
  for (const [id, name] of checks) {
    const alarm = alarms.find((m) => m.AlarmName === name);
    if (!alarm) {
      record(id, "fail", `${name}: ${alarmsError ?? "no such alarm"}`, `${ctx.redeploy} creates it`);
      continue;
    }
    const rule = `${alarm.Namespace}/${alarm.MetricName} ${alarm.Statistic} ${alarm.ComparisonOperator} ${alarm.Threshold} per ${formatDuration(alarm.Period ?? 0)}, missing data ${alarm.TreatMissingData ?? "missing"}`;
    const since = alarm.StateUpdatedTimestamp ? ` since ${alarm.StateUpdatedTimestamp.toISOString()}` : "";
    // moto creates alarms in OK ("Unchecked: Initial alarm creation") and never evaluates them.
    const unevaluated = ctx.emulator && /^Unchecked: Initial alarm creation/.test(alarm.StateReason ?? "")
      ? " [the emulator never evaluates alarms: this is its initial state, not a verdict]" : "";
    const detail = `${name}: ${alarm.StateValue}${since} (${rule})${alarm.StateReason ? `: ${alarm.StateReason}` : ""}${unevaluated}`;
    if (!(alarm.AlarmActions ?? []).includes(topicArn)) {
      record(id, "fail", `${detail}; it notifies ${(alarm.AlarmActions ?? []).join(", ") || "nobody"}`, `it must notify ${topicArn}: ${ctx.redeploy}`);
    } else if (id === "alarm-log-stalled" && filterProblem) {
      record(id, "fail", `${detail}; ${filterProblem}`, `${ctx.redeploy} puts the metric filter back`);
    } else if (alarm.StateValue === "ALARM") {
      record(id, "fail", detail, inAlarm[id]);
    } else if (alarm.StateValue === "INSUFFICIENT_DATA") {
      record(id, "warn", detail, ctx.emulator
        ? "the emulator never evaluates alarms; on AWS this state lasts only the first minutes after a deploy"
        : `CloudWatch has had no data to evaluate yet: normal for the first minutes after a deploy; if it stays, ${alarm.Namespace}/${alarm.MetricName} is not being published`);
    } else {
      record(id, "pass", detail);
    }
  }
}

async function topicExists(a: AccountClients, topicArn: string): Promise<boolean> {
  try {
    await a.sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }));
    return true;
  } catch {
    return false;
  }
}
