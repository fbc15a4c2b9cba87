/**
 * The per-region dashboard: it exists, shows the alarm states, and graphs what an on-call engineer looks at, with
 * the metric names and dimensions the Lambdas really emit.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config';
import { RegionalStack } from '../../lib/stacks/regional-stack';
import { NO_BUNDLING, onlyResource, synthRegionalStack } from './helpers';

interface Widget {
  type: string;
  properties: { title?: string; metrics?: unknown[][]; alarms?: unknown[]; markdown?: string; region?: string };
}

/** The dashboard's widgets, with CloudFormation tokens left as `<token>`. */
function widgetsOf(template: Template): Widget[] {
  const body = onlyResource(template, 'AWS::CloudWatch::Dashboard').props.DashboardBody as {
    'Fn::Join': [string, unknown[]];
  };
  const text = body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : '<token>')).join('');
  // Tokens sit inside JSON strings ("...<token>...") or stand alone; either way the result parses.
  return (JSON.parse(text.replace(/(?<!")<token>(?!")/g, '"<token>"')) as { widgets: Widget[] }).widgets;
}

function byTitle(widgets: Widget[], title: RegExp): Widget {
  const found = widgets.find((w) => title.test(w.properties.title ?? ''));
  if (!found) throw new Error(`no widget titled ${title}; have ${widgets.map((w) => w.properties.title).join(' | ')}`);
  return found;
}

/** The metric names a graph draws (`[namespace, name, dim, value, ...]` rows). */
function metricNames(w: Widget): string[] {
  return (w.properties.metrics ?? []).map((row) =>
    typeof row[0] === 'object' ? 'expression' : `${String(row[0])}/${String(row[1])}`,
  );
}

// The reconciler off: its graphs and its share of the Stripe 429s are checked where it is switched on.
const { template, stack } = synthRegionalStack({ reconcile: { enabled: false } });
const widgets = widgetsOf(template);

describe('the dashboard', () => {
  it('is named after the app and the region', () => {
    expect(onlyResource(template, 'AWS::CloudWatch::Dashboard').props.DashboardName).toBe('stripe-webhooks-us-east-1');
    expect(JSON.stringify(template.findOutputs('DashboardUrl'))).toContain(
      'dashboards/dashboard/stripe-webhooks-us-east-1',
    );
  });

  it('shows the state of every alarm', () => {
    const status = widgets.find((w) => w.type === 'alarm');
    expect(status?.properties.alarms).toHaveLength(stack.alarms.alarms.length);
  });

  it("graphs webhooks received and accepted from the API's route metrics, enqueue failures from the ingress's", () => {
    const w = byTitle(widgets, /^Webhooks received/);
    const names = metricNames(w);
    // Received: the webhook route's Count; accepted: Count - 4xx - 5xx of that route (no EMF line per webhook).
    expect(names).toEqual(
      expect.arrayContaining([
        'expression',
        'AWS/ApiGateway/Count',
        'AWS/ApiGateway/4xx',
        'AWS/ApiGateway/5xx',
        'StripeWebhooks/EventBridgeAccepted',
        'StripeWebhooks/EnqueueFailed',
      ]),
    );
    const json = JSON.stringify(w.properties.metrics);
    expect(json).toContain('received - clientErrors - serverErrors');
    expect(json).toContain('"Resource","/stripe/webhook"');
    expect(json).toContain('"Method","POST"');
    const enqueueFailed = w.properties.metrics?.find((row) => row[1] === 'EnqueueFailed');
    expect(enqueueFailed).toEqual(expect.arrayContaining(['service', 'stripe-webhooks-ingress']));
  });

  it('graphs rejections by reason with a SEARCH, so a new reason appears without a deploy', () => {
    const w = byTitle(widgets, /rejected, by reason/);
    const expression = JSON.stringify(w.properties.metrics);
    expect(expression).toContain('SEARCH(');
    expect(expression).toContain('MetricName=\\"WebhookRejected\\"');
    expect(expression).toContain('service=\\"stripe-webhooks-ingress\\"');
  });

  it('graphs queue depth and age, and the DLQ', () => {
    expect(metricNames(byTitle(widgets, /^Event queue depth/))).toEqual([
      'AWS/SQS/ApproximateNumberOfMessagesVisible',
      'AWS/SQS/ApproximateNumberOfMessagesNotVisible',
    ]);
    expect(metricNames(byTitle(widgets, /oldest event/))).toEqual(['AWS/SQS/ApproximateAgeOfOldestMessage']);
    expect(metricNames(byTitle(widgets, /^Dead-letter queue/))).toEqual(['AWS/SQS/ApproximateNumberOfMessagesVisible']);
  });

  it('graphs processed per minute, duplicates, failures by kind, Stripe calls and 429s', () => {
    expect(metricNames(byTitle(widgets, /^Events processed/))).toEqual([
      'StripeWebhooks/EventsProcessed',
      'StripeWebhooks/DuplicateSkipped',
    ]);
    const failures = JSON.stringify(byTitle(widgets, /^Processing failures/).properties.metrics);
    expect(failures).toContain('"Kind","retryable"');
    expect(failures).toContain('"Kind","permanent"');
    expect(metricNames(byTitle(widgets, /^Stripe API calls/))).toEqual([
      'StripeWebhooks/StripeCalls',
      'StripeWebhooks/Stripe429',
    ]);
  });

  it('graphs processing latency at p50, p90 and p99', () => {
    const rows = byTitle(widgets, /processed \(ms\)/).properties.metrics ?? [];
    expect(rows.map((r) => (r.at(-1) as { stat?: string }).stat)).toEqual(['p50', 'p90', 'p99']);
    expect(rows.every((r) => r[1] === 'ProcessingLatency')).toBe(true);
  });

  it("graphs both Lambdas' errors, throttles and duration", () => {
    expect(metricNames(byTitle(widgets, /^Lambda errors and throttles/))).toEqual([
      'AWS/Lambda/Errors',
      'AWS/Lambda/Errors',
      'AWS/Lambda/Throttles',
      'AWS/Lambda/Throttles',
    ]);
    for (const name of [/^Ingress Lambda duration/, /^Processor Lambda duration/]) {
      expect(metricNames(byTitle(widgets, name))).toEqual([
        'AWS/Lambda/Duration',
        'AWS/Lambda/Duration',
        'AWS/Lambda/Duration',
      ]);
    }
  });

  it('adds reconciliation and cross-region health check graphs when they are switched on, rotation in the primary', () => {
    const app = new App({ context: NO_BUNDLING });
    const s = new RegionalStack(app, 'Full', {
      env: { account: '123456789012', region: 'eu-west-1' },
      config: parseConfig({ primaryRegion: 'eu-west-1' }),
      healthChecks: [{ region: 'eu-west-1', healthCheckId: '33333333-3333-3333-3333-333333333333' }],
    });
    const full = widgetsOf(Template.fromStack(s));
    expect(metricNames(byTitle(full, /^Reconciliation/))).toEqual([
      'StripeWebhooks/ReconcileEventsListed',
      'StripeWebhooks/ReconcileMissedEvents',
    ]);
    expect(metricNames(byTitle(full, /^Secret rotation/))).toEqual([
      'StripeWebhooks/RotationFailed',
      'StripeWebhooks/RotationFailed',
    ]);
    const health = byTitle(full, /^Route 53 health checks/);
    expect(metricNames(health)).toEqual(['AWS/Route53/HealthCheckStatus']);
    // A dashboard in eu-west-1 reads the metric from us-east-1, where Route 53 publishes it.
    expect(JSON.stringify(health.properties.metrics)).toContain('"region":"us-east-1"');
    expect(widgets.some((w) => /Reconciliation|Route 53/.test(w.properties.title ?? ''))).toBe(false);
    // The primary owns the secrets and rotates them, so its dashboard always graphs rotation failures.
    expect(metricNames(byTitle(widgets, /^Secret rotation/))).toEqual([
      'StripeWebhooks/RotationFailed',
      'StripeWebhooks/RotationFailed',
    ]);
  });
});
