/**
 * The alarms as CloudFormation will create them: the metric each one watches (exactly as the Lambdas emit it), the
 * threshold from the config, the comparison, the missing-data treatment, the runbook link, and the action: the
 * KMS-encrypted, TLS-only alarm topic.
 */
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Alarm, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE } from '../../lambdas/shared/metrics';
import { parseConfig } from '../../lib/config';
import { ALARM_RUNBOOK_ANCHORS, Alarms } from '../../lib/constructs/alarms';
import type { StripeSecrets } from '../../lib/constructs/stripe-secrets';
import { RegionalStack } from '../../lib/stacks/regional-stack';
import { logicalId, NO_BUNDLING, onlyResource, synthRegionalStack } from './helpers';

const { template, stack } = synthRegionalStack();
const topicId = logicalId(stack.alarms.topic);
const RUNBOOK = 'https://github.com/stripe-webhooks-aws/stripe-webhooks-aws/blob/main/docs/runbooks.md';

interface AlarmProps {
  AlarmName: string;
  AlarmDescription: string;
  MetricName?: string;
  Namespace?: string;
  Dimensions?: { Name: string; Value: unknown }[];
  Statistic?: string;
  ExtendedStatistic?: string;
  Period?: number;
  Threshold: number;
  ComparisonOperator: string;
  EvaluationPeriods: number;
  TreatMissingData: string;
  AlarmActions: unknown[];
  OKActions: unknown[];
  Metrics?: { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: unknown } } }[];
}

/** Every alarm of a template, by name. */
function alarmsOf(t: Template): Record<string, AlarmProps> {
  return Object.fromEntries(
    Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((r) => {
      const props = (r as { Properties: AlarmProps }).Properties;
      return [props.AlarmName, props];
    }),
  );
}

const alarms = alarmsOf(template);

function alarm(name: string, in_ = alarms): AlarmProps {
  const found = in_[`stripe-webhooks-${name}`];
  if (!found) throw new Error(`no alarm stripe-webhooks-${name}; have ${Object.keys(in_).join(', ')}`);
  return found;
}

function dims(a: AlarmProps): Record<string, unknown> {
  return Object.fromEntries((a.Dimensions ?? []).map((d) => [d.Name, d.Value]));
}

describe('the alarm topic', () => {
  it('is encrypted with its own rotating customer-managed key', () => {
    const { props } = onlyResource(template, 'AWS::SNS::Topic');
    expect(props.TopicName).toBe('stripe-webhooks-alarms');
    const keyId = logicalId(stack.alarms.key);
    expect(props.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(template.toJSON().Resources[keyId].Properties.EnableKeyRotation).toBe(true);
  });

  it('lets CloudWatch and EventBridge use the key to publish, and nothing else new', () => {
    const key = template.toJSON().Resources[logicalId(stack.alarms.key)].Properties.KeyPolicy.Statement as {
      Sid?: string;
      Principal: unknown;
      Action: string[];
    }[];
    const publishers = key.find((s) => s.Sid === 'AlarmPublishers');
    expect(publishers?.Principal).toEqual({ Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] });
    expect(publishers?.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
  });

  it('refuses publishing without TLS and accepts CloudWatch alarms of this account only', () => {
    const statements = onlyResource(template, 'AWS::SNS::TopicPolicy').props.PolicyDocument as {
      Statement: { Effect: string; Principal: unknown; Action: string; Condition: Record<string, unknown> }[];
    };
    expect(statements.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    const cloudwatch = statements.Statement.find((s) => JSON.stringify(s.Principal).includes('cloudwatch'));
    expect(cloudwatch).toMatchObject({ Effect: 'Allow', Action: 'sns:Publish' });
    expect(JSON.stringify(cloudwatch?.Condition)).toContain(':alarm:*');
    expect(cloudwatch?.Condition).toHaveProperty('StringEquals', { 'aws:SourceAccount': '123456789012' });
  });

  it('has an e-mail subscription only when the config names an address', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    synthRegionalStack({ alarms: { email: 'oncall@example.com' } }).template.hasResourceProperties(
      'AWS::SNS::Subscription',
      { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: { Ref: Match.anyValue() } },
    );
  });

  it('is an output, for on-call tooling to subscribe to', () => {
    template.hasOutput('AlarmTopicArn', { Value: { Ref: topicId } });
  });
});

describe('every alarm', () => {
  it('notifies the topic on ALARM and on OK', () => {
    expect(Object.keys(alarms).length).toBeGreaterThanOrEqual(13);
    for (const [name, a] of Object.entries(alarms)) {
      expect(a.AlarmActions, name).toEqual([{ Ref: topicId }]);
      expect(a.OKActions, name).toEqual([{ Ref: topicId }]);
    }
  });

  it('links its runbook section and says how it treats missing data', () => {
    for (const [name, a] of Object.entries(alarms)) {
      const anchor = name.replace(/^stripe-webhooks-/, '');
      expect(a.AlarmDescription, name).toMatch(new RegExp(`Runbook: ${RUNBOOK}#${anchor}$`));
      expect(ALARM_RUNBOOK_ANCHORS as readonly string[]).toContain(anchor);
      expect(a.AlarmDescription, name).toContain(`Missing data: ${a.TreatMissingData} (`);
      expect(a.AlarmDescription.length, name).toBeLessThanOrEqual(1024);
    }
  });

  it('follows a configured runbook URL', () => {
    const custom = alarmsOf(
      synthRegionalStack({ alarms: { runbookBaseUrl: 'https://wiki.example.com/pay/docs' } }).template,
    );
    expect(alarm('dlq-not-empty', custom).AlarmDescription).toMatch(
      /Runbook: https:\/\/wiki\.example\.com\/pay\/docs\/runbooks\.md#dlq-not-empty$/,
    );
  });

  it('is one of the default set: the core alarms, and the reconciler and rotation ones (both run in the primary)', () => {
    expect(Object.keys(alarms).sort()).toEqual(
      [
        'bad-signature-spike',
        'dlq-not-empty',
        'enqueue-failed',
        'ingress-5xx',
        'ingress-duration-near-timeout',
        'ingress-errors',
        'ingress-throttles',
        'lease-lost',
        'processor-duration-near-timeout',
        'processor-errors',
        'processor-throttles',
        'queue-age-high',
        'reconcile-missed-events',
        'reconcile-unrecoverable-span',
        'reconciler-errors',
        'rotation-failed-api-key',
        'rotation-failed-webhook-secret',
        'stripe-rate-limited',
      ].map((n) => `stripe-webhooks-${n}`),
    );
  });

  it('leaves out the reconciler alarm when reconciliation is off', () => {
    const off = alarmsOf(synthRegionalStack({ reconcile: { enabled: false } }).template);
    expect(Object.keys(off)).not.toContain('stripe-webhooks-reconcile-missed-events');
    expect(Object.keys(off)).toContain('stripe-webhooks-rotation-failed-api-key');
  });
});

describe('the queue alarms', () => {
  it('fire on one message visible on the DLQ', () => {
    const a = alarm('dlq-not-empty');
    expect(a).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(dims(a)).toEqual({
      QueueName: { 'Fn::GetAtt': [logicalId(stack.eventQueue.deadLetterQueue), 'QueueName'] },
    });
  });

  it('fire when the oldest event on the queue is 15 minutes old', () => {
    const a = alarm('queue-age-high');
    expect(a).toMatchObject({ MetricName: 'ApproximateAgeOfOldestMessage', Statistic: 'Maximum', Threshold: 900 });
    expect(dims(a)).toEqual({ QueueName: { 'Fn::GetAtt': [logicalId(stack.eventQueue.queue), 'QueueName'] } });
  });
});

describe('the ingress alarms', () => {
  it("watch the HTTP API's 5xx count", () => {
    const a = alarm('ingress-5xx');
    expect(a).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: '5xx', Statistic: 'Sum', Threshold: 5 });
    expect(dims(a)).toEqual({ ApiId: { Ref: logicalId(stack.ingress.api!) } });
  });

  it("watch the REST API's 5XXError count in the REST variant", () => {
    const rest = synthRegionalStack({ ingress: { apiType: 'rest' } });
    const a = alarm('ingress-5xx', alarmsOf(rest.template));
    expect(a).toMatchObject({ Namespace: 'AWS/ApiGateway', MetricName: '5XXError', Statistic: 'Sum' });
    expect(dims(a)).toEqual({ ApiName: 'stripe-webhooks-rest-api' });
  });

  it('watch EnqueueFailed and WebhookRejected{Reason=bad_signature} with the dimensions Powertools emits', () => {
    expect(alarm('enqueue-failed')).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: 'EnqueueFailed',
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
    });
    expect(dims(alarm('enqueue-failed'))).toEqual({ service: 'stripe-webhooks-ingress' });
    const badSignature = alarm('bad-signature-spike');
    expect(badSignature).toMatchObject({ MetricName: 'WebhookRejected', Threshold: 10, Period: 300 });
    expect(dims(badSignature)).toEqual({ service: 'stripe-webhooks-ingress', Reason: 'bad_signature' });
  });
});

describe('the Lambda alarms', () => {
  it.each([
    ['ingress', 'stripe-webhooks-ingress', 8000],
    ['processor', 'stripe-webhooks-processor', 24_000],
  ])('watch %s errors, throttles, and p99 duration at 80%% of its timeout', (which, fn, limitMs) => {
    const fnRef = { Ref: logicalId(which === 'ingress' ? stack.ingress.function : stack.processor.function) };
    expect(alarm(`${which}-errors`)).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Threshold: 1 });
    expect(dims(alarm(`${which}-errors`))).toEqual({ FunctionName: fnRef });
    expect(alarm(`${which}-throttles`)).toMatchObject({ MetricName: 'Throttles', Statistic: 'Sum', Threshold: 1 });
    const duration = alarm(`${which}-duration-near-timeout`);
    expect(duration).toMatchObject({ MetricName: 'Duration', ExtendedStatistic: 'p99', Threshold: limitMs });
    expect(duration.AlarmDescription).toContain(fn.endsWith('ingress') ? '10 s timeout' : '30 s timeout');
  });
});

describe('the processor alarms', () => {
  it("watch the processor's Stripe429 (alone without a reconciler) and LeaseLost", () => {
    const solo = alarmsOf(synthRegionalStack({ reconcile: { enabled: false } }).template);
    expect(alarm('stripe-rate-limited', solo)).toMatchObject({ MetricName: 'Stripe429', Threshold: 10 });
    expect(dims(alarm('stripe-rate-limited', solo))).toEqual({ service: 'stripe-webhooks-processor' });
    expect(dims(alarm('lease-lost'))).toEqual({ service: 'stripe-webhooks-processor' });
  });
});

describe('thresholds', () => {
  it('all come from the config', () => {
    const custom = alarmsOf(
      synthRegionalStack({
        processor: { timeoutSeconds: 60 },
        alarms: {
          thresholds: {
            dlqMessages: 3,
            queueAgeSeconds: 120,
            ingress5xxPer5Minutes: 50,
            enqueueFailuresPer5Minutes: 2,
            badSignaturesPer5Minutes: 100,
            lambdaErrorsPer5Minutes: 4,
            lambdaThrottlesPer5Minutes: 6,
            durationPercentOfTimeout: 50,
            stripe429sPer5Minutes: 25,
            leaseLostPer5Minutes: 2,
          },
        },
      }).template,
    );
    const got = Object.fromEntries(
      [
        'dlq-not-empty',
        'queue-age-high',
        'ingress-5xx',
        'enqueue-failed',
        'bad-signature-spike',
        'processor-errors',
        'ingress-throttles',
        'processor-duration-near-timeout',
        'stripe-rate-limited',
        'lease-lost',
      ].map((n) => [n, alarm(n, custom).Threshold]),
    );
    expect(got).toEqual({
      'dlq-not-empty': 3,
      'queue-age-high': 120,
      'ingress-5xx': 50,
      'enqueue-failed': 2,
      'bad-signature-spike': 100,
      'processor-errors': 4,
      'ingress-throttles': 6,
      'processor-duration-near-timeout': 30_000,
      'stripe-rate-limited': 25,
      'lease-lost': 2,
    });
  });
});

describe('optional alarms', () => {
  function stackWith(region: string, extra: Partial<ConstructorParameters<typeof RegionalStack>[2]>) {
    const app = new App({ context: NO_BUNDLING });
    const s = new RegionalStack(app, `S-${region}`, {
      env: { account: '123456789012', region },
      config: parseConfig({ primaryRegion: region }),
      ...extra,
    });
    return { stack: s, template: Template.fromStack(s) };
  }

  it('with the reconciler: ReconcileMissedEvents, and Stripe 429s of processor and reconciler summed', () => {
    const { template: t } = stackWith('us-east-1', {});
    const all = alarmsOf(t);
    expect(alarm('reconcile-missed-events', all)).toMatchObject({ MetricName: 'ReconcileMissedEvents', Threshold: 1 });
    expect(dims(alarm('reconcile-missed-events', all))).toEqual({ service: 'stripe-webhooks-reconciler' });
    // Any span beyond Stripe's retention pages; failed runs page once they repeat within the hour.
    expect(alarm('reconcile-unrecoverable-span', all)).toMatchObject({
      MetricName: 'ReconcileUnrecoverableSeconds',
      Statistic: 'Maximum',
      Threshold: 1,
    });
    expect(dims(alarm('reconcile-unrecoverable-span', all))).toEqual({ service: 'stripe-webhooks-reconciler' });
    expect(alarm('reconciler-errors', all)).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Period: 3600,
      Threshold: 2,
    });
    expect(dims(alarm('reconciler-errors', all))).toEqual({ FunctionName: 'stripe-webhooks-reconciler' });
    const limited = alarm('stripe-rate-limited', all);
    expect(limited.Metrics?.find((m) => m.Expression)?.Expression).toBe('SUM([processor, reconciler])');
    const services = limited.Metrics?.flatMap((m) =>
      m.MetricStat ? [JSON.stringify(m.MetricStat.Metric.Dimensions)] : [],
    );
    expect(services?.sort()).toEqual([
      JSON.stringify([{ Name: 'service', Value: 'stripe-webhooks-processor' }]),
      JSON.stringify([{ Name: 'service', Value: 'stripe-webhooks-reconciler' }]),
    ]);
  });

  it('with rotation: RotationFailed per secret, and Secrets Manager rotation failures routed to the topic', () => {
    const { template: t, stack: s } = stackWith('us-east-1', {});
    const all = alarmsOf(t);
    // The rotation Lambdas emit RotationFailed with Secret alone (they clear Powertools' service dimension).
    expect(dims(alarm('rotation-failed-webhook-secret', all))).toEqual({ Secret: 'webhook' });
    expect(dims(alarm('rotation-failed-api-key', all))).toEqual({ Secret: 'api-key' });
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.secretsmanager'],
        'detail-type': ['AWS Service Event via CloudTrail'],
        detail: {
          eventSource: ['secretsmanager.amazonaws.com'],
          eventName: ['RotationFailed'],
          // Only this app's two secrets, not every secret of the account.
          additionalEventData: {
            SecretId: [
              { Ref: logicalId((s.secrets as StripeSecrets).apiKey) },
              { Ref: logicalId((s.secrets as StripeSecrets).webhookSecret) },
            ],
          },
        },
      },
      Targets: [Match.objectLike({ Arn: { Ref: logicalId(s.alarms.topic) } })],
    });
  });

  it("wires other constructs' own alarms to the topic and the dashboard", () => {
    const app = new App({ context: NO_BUNDLING });
    const s = new RegionalStack(app, 'Extra', {
      env: { account: '123456789012', region: 'us-east-1' },
      config: parseConfig({}),
    });
    const theirs = new Alarm(s, 'TheirAlarm', {
      alarmName: 'their-alarm',
      metric: new Metric({ namespace: 'Other', metricName: 'Thing' }),
      threshold: 1,
      evaluationPeriods: 1,
    });
    const withExtra = new Alarms(s, 'MoreAlarms', {
      appName: 'other',
      ingress: s.ingress,
      processor: s.processor,
      eventQueue: s.eventQueue,
      config: parseConfig({}).alarms,
      extraAlarms: [theirs],
    });
    const props = Template.fromStack(s).toJSON().Resources[logicalId(theirs)].Properties;
    const topic = { Ref: logicalId(withExtra.topic) };
    expect(props.AlarmActions).toEqual([topic]);
    expect(props.OKActions).toEqual([topic]);
    expect(withExtra.alarms).toContain(theirs);
  });

  const checks = [
    { region: 'us-east-1', healthCheckId: '11111111-1111-1111-1111-111111111111' },
    { region: 'eu-west-1', healthCheckId: '22222222-2222-2222-2222-222222222222' },
  ];

  it('in the us-east-1 stack: one Route 53 HealthCheckStatus alarm per region, breaching when data stops', () => {
    const all = alarmsOf(stackWith('us-east-1', { healthChecks: checks }).template);
    for (const check of checks) {
      const a = alarm(`health-check-failing-${check.region}`, all);
      expect(a).toMatchObject({
        Namespace: 'AWS/Route53',
        MetricName: 'HealthCheckStatus',
        Statistic: 'Minimum',
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        EvaluationPeriods: 2,
        TreatMissingData: 'breaching',
      });
      expect(dims(a)).toEqual({ HealthCheckId: check.healthCheckId });
      expect(a.AlarmDescription).toMatch(/#health-check-failing$/);
    }
  });

  it('in any other region: none (the metric lives in us-east-1 only), with a synth warning saying where to put them', () => {
    const { stack: s, template: t } = stackWith('eu-west-1', { healthChecks: checks });
    expect(Object.keys(alarmsOf(t)).filter((n) => n.includes('health-check'))).toEqual([]);
    Annotations.fromStack(s).hasWarning('*', Match.stringLikeRegexp('only in us-east-1.*eu-west-1'));
  });
});
