/**
 * The alarms an on-call engineer needs for one region's pipeline, all notifying one SNS topic (KMS-encrypted with a
 * customer-managed key, TLS-only, optional e-mail subscription). ALARM and OK both notify, so a page also says when
 * it is over.
 *
 * Every alarm's description starts with what it means and ends with its runbook link,
 * `<runbookBaseUrl>/runbooks.md#<anchor>`; `ALARM_RUNBOOK_ANCHORS` lists the anchors, and a test checks that
 * docs/runbooks.md has a section for each. Every alarm states how it treats missing data, and why (`missingData`).
 *
 * Custom metrics are matched exactly as Powertools emits them: namespace StripeWebhooks, dimension `service` (the
 * function's POWERTOOLS_SERVICE_NAME, see NodeFunction.serviceName), plus `Reason`/`Secret` where the metric has it.
 * Metrics of parts built elsewhere light up when those parts are switched on here:
 * - `reconcilerEnabled`: `ReconcileMissedEvents`, `ReconcileUnrecoverableSeconds` and the reconciler's `Stripe429`
 *   (service `<appName>-reconciler`), and the failed runs of the `<appName>-reconciler` function;
 * - `rotationEnabled`: `RotationFailed` per `Secret` (`webhook`, `api-key`), emitted with the `Secret` dimension only
 *   (the rotation Lambdas clear Powertools' `service` dimension), and Secrets Manager's own rotation failures, which
 *   are no metric but a CloudTrail event (`RotationFailed`), routed to the topic by an EventBridge rule;
 * - `extraAlarms`: alarms other constructs created themselves get this topic as their action and appear on the
 *   dashboard;
 * - `healthChecks`: Route 53 `HealthCheckStatus`, which exists only in us-east-1 whatever the health check probes.
 *   CloudWatch cannot alarm on another region's metric, so these alarms are created only by an Alarms construct in a
 *   us-east-1 stack: pass every region's health check to that one (elsewhere they are skipped with a warning).
 */
import { Annotations, Duration, type RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { type Alarm, MathExpression, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Rule } from 'aws-cdk-lib/aws-events';
import type { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambdas/shared/metrics';
import type { AlarmsConfig } from '../config';
import { createAlarmTopic } from './alarm-topic';
import type { EventQueue } from './event-queue';
import { healthCheckAlarmSpec, type RegionHealthCheck, ROUTE53_METRICS_REGION } from './health-check-alarms';
import type { Ingress } from './ingress';
import type { Processor } from './processor';
import { secretsManagerRotationFailedRule } from './rotation-failed-rule';
import { type RunbookAlarmSpec, type RunbookAnchor, runbookAlarm } from './runbook-alarm';
import { rotationFailedMetric } from './secret-rotation';

export { type RegionHealthCheck, ROUTE53_METRICS_REGION } from './health-check-alarms';
export { ALARM_RUNBOOK_ANCHORS, type RunbookAnchor } from './runbook-alarm';

/** Props of Alarms. */
export interface AlarmsProps {
  /** Prefix of the alarm, topic and key names. */
  readonly appName: string;
  readonly ingress: Ingress;
  readonly processor: Processor;
  readonly eventQueue: EventQueue;
  /** Thresholds, e-mail and runbook URL (lib/config/alarms.ts). */
  readonly config: AlarmsConfig;
  /** Alarm on the reconciler's metrics (it runs in this region). @default false */
  readonly reconcilerEnabled?: boolean;
  /** The reconciler's Powertools service name. @default `${appName}-reconciler` */
  readonly reconcilerServiceName?: string;
  /**
   * Alarm on failed Stripe secret rotations (the rotation runs in this region), and route Secrets Manager's own
   * RotationFailed events to the topic.
   * @default false
   */
  readonly rotationEnabled?: boolean;
  /**
   * With `rotationEnabled`: the ARNs of the secrets this app rotates. The Secrets Manager rule forwards only their
   * RotationFailed events, not those of every other secret in the account and region.
   * @default - none (required with rotationEnabled)
   */
  readonly rotatedSecretArns?: readonly string[];
  /**
   * The service name of the secret replication check (SecretReplicationCheck), when the secrets have replicas: alarm
   * on `SecretReplicasNotInSync`.
   * @default - no replication alarm
   */
  readonly replicationCheckServiceName?: string;
  /**
   * Alarms built by other constructs (e.g. a rotation or failover construct's own): they notify this topic too, on
   * ALARM and OK, and show on the dashboard.
   * @default - none
   */
  readonly extraAlarms?: readonly Alarm[];
  /**
   * Route 53 health checks to alarm on (only in a us-east-1 stack, see the module comment).
   * @default - none
   */
  readonly healthChecks?: readonly RegionHealthCheck[];
  /** Applies to the topic's key. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly removalPolicy?: RemovalPolicy;
}

/** One alarm with the decisions behind it, for tests and docs. */
export interface AlarmEntry {
  readonly anchor: RunbookAnchor;
  readonly alarm: Alarm;
  /** What missing data counts as, and why. */
  readonly missingData: { readonly treatment: TreatMissingData; readonly why: string };
}

const FIVE_MINUTES = Duration.minutes(5);

// Why each alarm treats missing data as it does (quoted in the alarm entries and the runbook).
const NO_DATA_IS_QUIET =
  'the metric is only published when something happens (requests, invocations, failures), so no data means none';
const NO_DATA_IS_EMPTY_QUEUE = 'SQS stops publishing for a queue idle for hours; an idle queue holds nothing';
/** The CloudWatch alarms of one region, their SNS topic, and its key. */
export class Alarms extends Construct {
  /** Where every alarm notifies (`<appName>-alarms`). */
  readonly topic: Topic;
  /** The key the topic is encrypted with. */
  readonly key: Key;
  /** Every alarm, with its runbook anchor and missing-data decision. */
  readonly entries: AlarmEntry[] = [];
  /** The EventBridge rule sending Secrets Manager RotationFailed events to the topic, with `rotationEnabled`. */
  readonly secretsManagerRotationRule?: Rule;

  private readonly props: AlarmsProps;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.props = props;
    const { appName, ingress, processor, eventQueue } = props;
    const t = props.config.thresholds;

    ({ topic: this.topic, key: this.key } = createAlarmTopic(this, {
      topicName: `${appName}-alarms`,
      keyAlias: `${appName}/alarms`,
      ...(props.config.email ? { email: props.config.email } : {}),
      ...(props.removalPolicy ? { removalPolicy: props.removalPolicy } : {}),
    }));

    // --- The queue -------------------------------------------------------------------------------------------
    this.add('dlq-not-empty', {
      name: 'dlq-not-empty',
      what: 'Failed Stripe events are waiting on the dead-letter queue: they were not processed',
      metric: eventQueue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: FIVE_MINUTES,
      }),
      threshold: t.dlqMessages,
      missingData: { treatment: TreatMissingData.NOT_BREACHING, why: NO_DATA_IS_EMPTY_QUEUE },
    });
    this.add('queue-age-high', {
      name: 'queue-age-high',
      what: `The oldest event on the queue has waited ${t.queueAgeSeconds} s or more: processing is stuck or too slow`,
      metric: eventQueue.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: FIVE_MINUTES }),
      threshold: t.queueAgeSeconds,
      missingData: { treatment: TreatMissingData.NOT_BREACHING, why: NO_DATA_IS_EMPTY_QUEUE },
    });

    // --- The ingress -----------------------------------------------------------------------------------------
    this.add('ingress-5xx', {
      name: 'ingress-5xx',
      what: 'The webhook API answered 5xx: Stripe will retry these deliveries, but events are not getting in',
      metric: ingress.metricServerErrors({ period: FIVE_MINUTES }),
      threshold: t.ingress5xxPer5Minutes,
      missingData: { treatment: TreatMissingData.NOT_BREACHING, why: NO_DATA_IS_QUIET },
    });
    this.add('enqueue-failed', {
      name: 'enqueue-failed',
      what: 'Verified Stripe events could not be put on the queue (the webhook answered 500, EventBridge retries)',
      metric: this.custom('EnqueueFailed', ingress.serviceName),
      threshold: t.enqueueFailuresPer5Minutes,
      missingData: { treatment: TreatMissingData.NOT_BREACHING, why: NO_DATA_IS_QUIET },
    });
    this.add('bad-signature-spike', {
      name: 'bad-signature-spike',
      what:
        'Webhooks refused for a bad signature: forged requests, or Stripe signing with a secret the ingress does not ' +
        'have (after a rotation or a new endpoint)',
      metric: this.custom('WebhookRejected', ingress.serviceName, { Reason: 'bad_signature' }),
      threshold: t.badSignaturesPer5Minutes,
      missingData: { treatment: TreatMissingData.NOT_BREACHING, why: NO_DATA_IS_QUIET },
    });
    this.addFunctionAlarms('ingress', ingress.function);
    if (ingress.webAcl) {
      this.add('waf-body-rule-matched', {
        name: 'waf-body-rule-matched',
        what:
          'WAF body rules in count mode (XSS, LFI, RFI, SSRF, Log4j) matched webhook requests: a probe (its ' +
          'signature fails in the Lambda) or a genuine Stripe event carrying such text, which blocking would lose',
        metric: ingress.webAcl.metricBodyRuleMatches(),
        threshold: t.wafBodyRuleMatchesPer5Minutes,
        missingData: { treatment: TreatMissingData.NOT_BREACHING, why: NO_DATA_IS_QUIET },
      });
    }

    // --- The processor ---------------------------------------------------------------------------------------
    this.addFunctionAlarms('processor', processor.function);
    const reconcilerService = props.reconcilerServiceName ?? `${appName}-reconciler`;
    const processor429 = this.custom('Stripe429', processor.serviceName);
    this.add('stripe-rate-limited', {
      name: 'stripe-rate-limited',
      what: 'Stripe answered 429 (rate limited): events are delayed and retried; sustained, the backlog grows',
      metric: props.reconcilerEnabled
        ? new MathExpression({
            expression: 'SUM([processor, reconciler])',
            usingMetrics: { processor: processor429, reconciler: this.custom('Stripe429', reconcilerService) },
            label: 'Stripe429 (processor + reconciler)',
            period: FIVE_MINUTES,
          })
        : processor429,
      threshold: t.stripe429sPer5Minutes,
      missingData: { treatment: TreatMissingData.NOT_BREACHING, why: NO_DATA_IS_QUIET },
    });
    this.add('lease-lost', {
      name: 'lease-lost',
      what:
        'An event was processed but its claim had expired before it was marked done: another invocation may have ' +
        'processed it too (check the business side effects)',
      metric: this.custom('LeaseLost', processor.serviceName),
      threshold: t.leaseLostPer5Minutes,
      missingData: { treatment: TreatMissingData.NOT_BREACHING, why: NO_DATA_IS_QUIET },
    });

    // --- Parts built by other constructs ---------------------------------------------------------------------
    if (props.reconcilerEnabled) {
      this.add('reconcile-missed-events', {
        name: 'reconcile-missed-events',
        what: 'The reconciler found Stripe events that no webhook delivery brought in (it has enqueued them)',
        metric: this.custom('ReconcileMissedEvents', reconcilerService),
        threshold: t.reconcileMissedEvents,
        missingData: { treatment: TreatMissingData.NOT_BREACHING, why: 'the reconciler publishes only when it runs' },
      });
      // Any span at all: events in it that no delivery brought in are lost for good (Stripe no longer lists them).
      this.add('reconcile-unrecoverable-span', {
        name: 'reconcile-unrecoverable-span',
        what:
          "The reconciler's checkpoint was older than Stripe's 30-day event retention: events created in that span " +
          'and never delivered can no longer be listed, and the checkpoint moved past it',
        metric: this.custom('ReconcileUnrecoverableSeconds', reconcilerService).with({ statistic: 'Maximum' }),
        threshold: 1,
        missingData: { treatment: TreatMissingData.NOT_BREACHING, why: 'the reconciler publishes only when it runs' },
      });
      // One failed run is the next run's work (it starts from the same checkpoint); two within the hour are a
      // pattern (a bad key, Stripe down, a bug) that lets the checkpoint age towards Stripe's retention.
      this.add('reconciler-errors', {
        name: 'reconciler-errors',
        what: 'Reconciler runs failed (threw or timed out) twice or more within an hour: the checkpoint is not moving',
        metric: new Metric({
          namespace: 'AWS/Lambda',
          metricName: 'Errors',
          // The Reconciler construct's function name (lib/constructs/reconciler.ts).
          dimensionsMap: { FunctionName: `${appName}-reconciler` },
          statistic: 'Sum',
          period: Duration.hours(1),
        }),
        threshold: 2,
        missingData: { treatment: TreatMissingData.NOT_BREACHING, why: NO_DATA_IS_QUIET },
      });
    }
    if (props.rotationEnabled) {
      for (const [anchor, secret, label] of [
        ['rotation-failed-webhook-secret', 'webhook', 'webhook signing secret'],
        ['rotation-failed-api-key', 'api-key', 'API key'],
      ] as const) {
        this.add(anchor, {
          name: anchor,
          what: `A rotation of the Stripe ${label} failed; the current value stays in use`,
          // Exactly the dimensions the rotation Lambdas emit (lambdas/rotation/run-step.ts): Secret, no service.
          metric: rotationFailedMetric(secret),
          threshold: t.rotationFailures,
          missingData: { treatment: TreatMissingData.NOT_BREACHING, why: 'the rotation publishes only when it runs' },
        });
      }
      // Secrets Manager publishes no rotation metric; a failed managed rotation is a CloudTrail event.
      const rotatedSecretArns = props.rotatedSecretArns ?? [];
      if (rotatedSecretArns.length === 0) {
        throw new Error(
          "Alarms: rotationEnabled needs rotatedSecretArns (the rule must match only this app's secrets)",
        );
      }
      this.secretsManagerRotationRule = secretsManagerRotationFailedRule(this, {
        appName,
        topic: this.topic,
        secretArns: rotatedSecretArns,
        runbookUrl: this.runbookUrl('secrets-manager-rotation-failed'),
      });
    }
    if (props.replicationCheckServiceName) {
      this.add('secret-replica-out-of-sync', {
        name: 'secret-replica-out-of-sync',
        what:
          'A replica of a Stripe secret is not InSync (a rotation could not encrypt for that region): after a ' +
          'failover the standby would verify webhooks with an old signing secret, or fetch with an old API key',
        metric: this.custom('SecretReplicasNotInSync', props.replicationCheckServiceName),
        threshold: 1,
        // Two checks in a row: a replica is briefly InProgress right after every write.
        evaluationPeriods: 2,
        missingData: {
          treatment: TreatMissingData.NOT_BREACHING,
          why: 'the check publishes every 5 minutes; a check that could not describe a secret counts it out of sync',
        },
      });
    }
    this.addHealthCheckAlarms(props.healthChecks ?? []);

    const action = new SnsAction(this.topic);
    for (const alarm of props.extraAlarms ?? []) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }

  /** The error alarm of a handler Lambda (StripeWebhooks.addHandler), `<appName>-handler-<name>-errors`. */
  addHandlerErrorsAlarm(handlerName: string, fn: IFunction): void {
    this.add('handler-errors', {
      name: `handler-${handlerName}-errors`,
      what: `The handler Lambda ${handlerName} failed invocations (threw, permanent failures included, or timed out)`,
      metric: fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }),
      threshold: this.props.config.thresholds.lambdaErrorsPer5Minutes,
      missingData: { treatment: TreatMissingData.NOT_BREACHING, why: NO_DATA_IS_QUIET },
    });
  }

  /** The runbook link of an anchor. */
  runbookUrl(anchor: RunbookAnchor): string {
    return `${this.props.config.runbookBaseUrl}/runbooks.md#${anchor}`;
  }

  /** The thresholds the alarms were built with (the dashboard draws some of them). */
  get thresholds(): AlarmsConfig['thresholds'] {
    return this.props.config.thresholds;
  }

  /** Every alarm notifying the topic (this construct's and `extraAlarms`), for the dashboard's status widget. */
  get alarms(): Alarm[] {
    return [...this.entries.map((e) => e.alarm), ...(this.props.extraAlarms ?? [])];
  }

  /** The alarm of one runbook anchor (the first, for per-region health checks); undefined when not created. */
  alarmFor(anchor: RunbookAnchor): Alarm | undefined {
    return this.entries.find((e) => e.anchor === anchor)?.alarm;
  }

  /** A custom metric as Powertools emits it: namespace StripeWebhooks, `service` plus any extra dimension. */
  private custom(metricName: string, service: string, extra: Record<string, string> = {}): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service, ...extra },
      statistic: 'Sum',
      period: FIVE_MINUTES,
    });
  }

  private addFunctionAlarms(which: 'ingress' | 'processor', fn: IFunction & { timeout?: Duration }): void {
    const t = this.props.config.thresholds;
    const timeoutMs = (fn.timeout ?? Duration.seconds(3)).toMilliseconds();
    const limitMs = Math.round((timeoutMs * t.durationPercentOfTimeout) / 100);
    this.add(`${which}-errors`, {
      name: `${which}-errors`,
      what: `The ${which} Lambda failed invocations (threw or timed out)`,
      metric: fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }),
      threshold: t.lambdaErrorsPer5Minutes,
      missingData: { treatment: TreatMissingData.NOT_BREACHING, why: NO_DATA_IS_QUIET },
    });
    this.add(`${which}-throttles`, {
      name: `${which}-throttles`,
      what: `The ${which} Lambda was throttled (account or reserved concurrency exhausted)`,
      metric: fn.metricThrottles({ statistic: 'Sum', period: FIVE_MINUTES }),
      threshold: t.lambdaThrottlesPer5Minutes,
      missingData: { treatment: TreatMissingData.NOT_BREACHING, why: NO_DATA_IS_QUIET },
    });
    this.add(`${which}-duration-near-timeout`, {
      name: `${which}-duration-near-timeout`,
      what: `The ${which} Lambda's p99 duration reached ${t.durationPercentOfTimeout}% of its ${timeoutMs / 1000} s timeout`,
      metric: fn.metricDuration({ statistic: 'p99', period: FIVE_MINUTES }),
      threshold: limitMs,
      missingData: { treatment: TreatMissingData.NOT_BREACHING, why: NO_DATA_IS_QUIET },
    });
  }

  private addHealthCheckAlarms(healthChecks: readonly RegionHealthCheck[]): void {
    if (healthChecks.length === 0) return;
    const region = Stack.of(this).region;
    if (Token.isUnresolved(region) || region !== ROUTE53_METRICS_REGION) {
      Annotations.of(this).addWarningV2(
        'stripe-webhooks:healthCheckAlarmRegion',
        `Route 53 health check metrics exist only in ${ROUTE53_METRICS_REGION}; the health check alarms of ` +
          `${healthChecks.map((h) => h.region).join(', ')} are not created in this stack (${region}). Pass them to ` +
          `the Alarms of the ${ROUTE53_METRICS_REGION} stack.`,
      );
      return;
    }
    for (const check of healthChecks) this.add('health-check-failing', healthCheckAlarmSpec(check));
  }

  private add(anchor: RunbookAnchor, spec: RunbookAlarmSpec & { missingData: AlarmEntry['missingData'] }): void {
    const alarm = runbookAlarm(
      this,
      { appName: this.props.appName, runbookUrl: this.runbookUrl(anchor), topic: this.topic },
      spec,
    );
    this.entries.push({ anchor, alarm, missingData: spec.missingData });
  }
}
