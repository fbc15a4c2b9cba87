/**
 * One CloudWatch dashboard per region (`<appName>-<region>`), read top to bottom the way an event travels:
 * alarm status; webhooks in (received, accepted, rejected by reason, API answers); the queue (depth, age, DLQ);
 * processing (processed per minute, duplicates skipped, failures by kind, lost leases); Stripe (calls, 429s);
 * latency from event creation to processed (p50/p90/p99); the two Lambdas (errors, throttles, duration against the
 * timeout); then, when switched on, reconciliation, rotation and the Route 53 health checks.
 *
 * Custom metrics are read with the `service` dimension the functions emit (NodeFunction.serviceName).
 * WebhookRejected is graphed with a SEARCH expression, so a new rejection reason shows up without a deploy.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IWidget,
  MathExpression,
  Metric,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lambdas/shared/metrics';
import { type Alarms, type RegionHealthCheck, ROUTE53_METRICS_REGION } from './alarms';
import type { EventQueue } from './event-queue';
import type { Ingress, IngressApiType } from './ingress';
import type { Processor } from './processor';

/** Props of StripeWebhooksDashboard. */
export interface StripeWebhooksDashboardProps {
  /** Prefix of the dashboard name. */
  readonly appName: string;
  readonly ingress: Ingress;
  readonly processor: Processor;
  readonly eventQueue: EventQueue;
  /** Their states are shown at the top. */
  readonly alarms: Alarms;
  /** Graph the reconciler's metrics. @default false */
  readonly reconcilerEnabled?: boolean;
  /** The reconciler's Powertools service name. @default `${appName}-reconciler` */
  readonly reconcilerServiceName?: string;
  /** Graph the rotation's metrics. @default false */
  readonly rotationEnabled?: boolean;
  /** Graph these Route 53 health checks (read from us-east-1, where their metrics live). @default - none */
  readonly healthChecks?: readonly RegionHealthCheck[];
}

/** How the dashboard names what fronts the ingress. */
const FRONT_TITLES: Readonly<Record<IngressApiType, string>> = {
  http: 'HTTP API',
  rest: 'REST API',
  'function-url': 'function URL',
};
const MINUTE = Duration.minutes(1);
const FULL = 24;
const HALF = 12;
const THIRD = 8;

/** The region's operations dashboard. */
export class StripeWebhooksDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: StripeWebhooksDashboardProps) {
    super(scope, id);
    const { appName, ingress, processor, eventQueue } = props;
    const region = Stack.of(this).region;
    const custom = (metricName: string, service: string, label: string, dimensions: Record<string, string> = {}) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service, ...dimensions },
        statistic: 'Sum',
        period: MINUTE,
        label,
      });
    const ingressMetric = (name: string, label: string) => custom(name, ingress.serviceName, label);
    const processorMetric = (name: string, label: string) => custom(name, processor.serviceName, label);
    const reconcilerService = props.reconcilerServiceName ?? `${appName}-reconciler`;

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${appName}-${region}`,
      defaultInterval: Duration.hours(3),
    });

    const rows: IWidget[][] = [];
    rows.push([
      new TextWidget({
        markdown:
          `# ${appName} (${region})\n` +
          'Stripe webhooks: ingress -> FIFO queue -> processor -> EventBridge. Each alarm links its runbook ' +
          `([all runbooks](${props.alarms.runbookUrl('dlq-not-empty').replace(/#.*$/, '')})).`,
        width: FULL,
        height: 2,
      }),
    ]);
    rows.push([new AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms.alarms, width: FULL, height: 4 })]);

    // --- Webhooks in -------------------------------------------------------------------------------------------
    rows.push([
      new GraphWidget({
        title: 'Webhooks received / accepted / rejected (per minute)',
        left: [
          ingress.metricWebhooksReceived({ period: MINUTE, label: 'received' }),
          ingress.metricWebhooksAccepted({ period: MINUTE, label: 'accepted' }),
          ingressMetric('EventBridgeAccepted', 'accepted (EventBridge)'),
          ingressMetric('EnqueueFailed', 'enqueue failed'),
        ],
        width: THIRD,
      }),
      new GraphWidget({
        title: 'Webhooks rejected, by reason (per minute)',
        left: [
          new MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},Reason,service} MetricName="WebhookRejected" service="${ingress.serviceName}"', 'Sum', 60)`,
            usingMetrics: {},
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudWatch dynamic label, not a JS placeholder.
            label: "${PROP('Dim.Reason')}",
            period: MINUTE,
          }),
        ],
        width: THIRD,
      }),
      new GraphWidget({
        title: `API requests and errors (${FRONT_TITLES[ingress.apiType]}, per minute)`,
        left: [ingress.metricRequests({ period: MINUTE, label: 'requests' })],
        right: [
          ingress.metricClientErrors({ period: MINUTE, label: '4xx' }),
          ingress.metricServerErrors({ period: MINUTE, label: '5xx' }),
        ],
        width: THIRD,
      }),
    ]);

    // --- The queue ---------------------------------------------------------------------------------------------
    rows.push([
      new GraphWidget({
        title: 'Event queue depth',
        left: [
          eventQueue.queue.metricApproximateNumberOfMessagesVisible({ period: MINUTE, label: 'waiting' }),
          eventQueue.queue.metricApproximateNumberOfMessagesNotVisible({ period: MINUTE, label: 'in flight' }),
        ],
        width: THIRD,
      }),
      new GraphWidget({
        title: 'Age of the oldest event on the queue (s)',
        left: [eventQueue.queue.metricApproximateAgeOfOldestMessage({ period: MINUTE, label: 'oldest' })],
        leftAnnotations: [{ value: props.alarms.thresholds.queueAgeSeconds, label: 'alarm threshold' }],
        width: THIRD,
      }),
      new GraphWidget({
        title: 'Dead-letter queue depth',
        left: [
          eventQueue.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: MINUTE,
            statistic: 'Maximum',
            label: 'failed events',
          }),
        ],
        width: THIRD,
      }),
    ]);

    // --- Processing --------------------------------------------------------------------------------------------
    rows.push([
      new GraphWidget({
        title: 'Events processed / duplicates skipped (per minute)',
        left: [processorMetric('EventsProcessed', 'processed'), processorMetric('DuplicateSkipped', 'duplicates')],
        width: THIRD,
      }),
      new GraphWidget({
        title: 'Processing failures (per minute)',
        left: [
          custom('ProcessingFailed', processor.serviceName, 'retryable', { Kind: 'retryable' }),
          custom('ProcessingFailed', processor.serviceName, 'permanent (to DLQ)', { Kind: 'permanent' }),
          processorMetric('LeaseLost', 'lease lost'),
        ],
        width: THIRD,
      }),
      new GraphWidget({
        title: 'Stripe API calls and 429s (per minute)',
        left: [processorMetric('StripeCalls', 'calls (processor)')],
        right: [
          processorMetric('Stripe429', '429 (processor)'),
          ...(props.reconcilerEnabled ? [custom('Stripe429', reconcilerService, '429 (reconciler)')] : []),
        ],
        width: THIRD,
      }),
    ]);

    // --- Latency and the Lambdas -------------------------------------------------------------------------------
    const latency = (statistic: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'ProcessingLatency',
        dimensionsMap: { service: processor.serviceName },
        statistic,
        period: MINUTE,
        label: statistic,
      });
    const fnDuration = (fn: Ingress['function'], name: string) =>
      new GraphWidget({
        title: `${name} Lambda duration (ms)`,
        left: ['p50', 'p99', 'Maximum'].map((statistic) =>
          fn.metricDuration({ statistic, period: MINUTE, label: statistic }),
        ),
        leftAnnotations: [{ value: (fn.timeout ?? Duration.seconds(3)).toMilliseconds(), label: 'timeout' }],
        width: THIRD,
      });
    rows.push([
      new GraphWidget({
        title: 'Event created -> processed (ms): p50 / p90 / p99',
        left: ['p50', 'p90', 'p99'].map(latency),
        width: THIRD,
      }),
      fnDuration(ingress.function, 'Ingress'),
      fnDuration(processor.function, 'Processor'),
    ]);
    rows.push([
      new GraphWidget({
        title: 'Lambda errors and throttles (per minute)',
        left: [
          ingress.function.metricErrors({ period: MINUTE, label: 'ingress errors' }),
          processor.function.metricErrors({ period: MINUTE, label: 'processor errors' }),
        ],
        right: [
          ingress.function.metricThrottles({ period: MINUTE, label: 'ingress throttles' }),
          processor.function.metricThrottles({ period: MINUTE, label: 'processor throttles' }),
        ],
        width: HALF,
      }),
      new GraphWidget({
        title: 'Lambda invocations and concurrency',
        left: [
          ingress.function.metricInvocations({ period: MINUTE, label: 'ingress invocations' }),
          processor.function.metricInvocations({ period: MINUTE, label: 'processor invocations' }),
        ],
        right: [
          processor.function.metric('ConcurrentExecutions', {
            statistic: 'Maximum',
            period: MINUTE,
            label: 'processor concurrency',
          }),
        ],
        width: HALF,
      }),
    ]);

    // --- Optional parts ----------------------------------------------------------------------------------------
    const optional: IWidget[] = [];
    if (props.reconcilerEnabled) {
      optional.push(
        new GraphWidget({
          title: 'Reconciliation: events listed / missed (enqueued by the reconciler)',
          left: [custom('ReconcileEventsListed', reconcilerService, 'listed')],
          right: [custom('ReconcileMissedEvents', reconcilerService, 'missed')],
          width: THIRD,
        }),
      );
    }
    if (props.rotationEnabled) {
      optional.push(
        new GraphWidget({
          title: 'Secret rotation failures',
          // The rotation Lambdas emit RotationFailed with the Secret dimension only (no service).
          left: ['webhook', 'api-key'].map(
            (secret) =>
              new Metric({
                namespace: METRICS_NAMESPACE,
                metricName: 'RotationFailed',
                dimensionsMap: { Secret: secret },
                statistic: 'Sum',
                period: MINUTE,
                label: secret,
              }),
          ),
          width: THIRD,
        }),
      );
    }
    if (props.healthChecks && props.healthChecks.length > 0) {
      optional.push(
        new GraphWidget({
          title: 'Route 53 health checks (1 = healthy; metrics from us-east-1)',
          left: props.healthChecks.map(
            (check) =>
              new Metric({
                namespace: 'AWS/Route53',
                metricName: 'HealthCheckStatus',
                dimensionsMap: { HealthCheckId: check.healthCheckId },
                statistic: 'Minimum',
                period: MINUTE,
                // Dashboards may show other regions' metrics (alarms may not): see Alarms.
                region: ROUTE53_METRICS_REGION,
                label: check.region,
              }),
          ),
          leftYAxis: { min: 0, max: 1 },
          width: THIRD,
        }),
      );
    }
    if (optional.length > 0) rows.push(optional);

    for (const row of rows) this.dashboard.addWidgets(...row);
  }
}
