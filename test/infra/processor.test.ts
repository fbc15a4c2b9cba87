import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { processorEnv } from '../../lambdas/processor/env';
import { EventQueue } from '../../lib/constructs/event-queue';
import { EventSink } from '../../lib/constructs/event-sink';
import { IdempotencyTable } from '../../lib/constructs/idempotency-table';
import { Processor } from '../../lib/constructs/processor';
import { StripeSecrets } from '../../lib/constructs/stripe-secrets';
import { actionsOn, environmentOf, logicalId, NO_BUNDLING, statementsOfFunction, synthRegionalStack } from './helpers';

const { template, stack } = synthRegionalStack();

describe('Processor event source', () => {
  it('reads the FIFO queue in batches, reports failed records individually and caps concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.eventQueue.queue), 'Arn'] },
      FunctionName: { Ref: logicalId(stack.processor.function) },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('takes batch size and maximum concurrency from the config', () => {
    synthRegionalStack({ processor: { batchSize: 3, maxConcurrency: 12 } }).template.hasResourceProperties(
      'AWS::Lambda::EventSourceMapping',
      { BatchSize: 3, ScalingConfig: { MaximumConcurrency: 12 } },
    );
  });
});

describe('Processor Lambda', () => {
  it('gets the table, secret, bus and both queue URLs, and the lease derived from its timeout', () => {
    expect(environmentOf(template, 'stripe-webhooks-processor')).toMatchObject({
      TABLE_NAME: { Ref: logicalId(stack.idempotencyTable.table) },
      STRIPE_API_KEY_SECRET_ID: 'stripe-webhooks/stripe-api-key',
      EVENT_BUS_NAME: { Ref: logicalId(stack.eventSink!.bus) },
      DLQ_URL: { Ref: logicalId(stack.eventQueue.deadLetterQueue) },
      QUEUE_URL: { Ref: logicalId(stack.eventQueue.queue) },
      LEASE_SECONDS: '90',
      DONE_TTL_DAYS: '35',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'stripe-webhooks-processor',
      MemorySize: 512,
      Timeout: 30,
    });
  });

  it('sets every required variable of lambdas/processor/env.ts', () => {
    const names = Object.keys(environmentOf(template, 'stripe-webhooks-processor'));
    const required = Object.entries(processorEnv)
      .filter(([, spec]) => !('default' in spec) && !('optional' in spec && spec.optional))
      .map(([name]) => name);
    expect(required).toContain('QUEUE_URL');
    for (const name of required) expect(names).toContain(name);
  });

  it('pins the Stripe API version only when the config does', () => {
    expect(environmentOf(template, 'stripe-webhooks-processor')).not.toHaveProperty('STRIPE_API_VERSION');
    const pinned = synthRegionalStack({
      stripeApiVersion: '2025-09-30.clover',
      idempotency: { doneTtlDays: 60, leaseSeconds: 300 },
    }).template;
    expect(environmentOf(pinned, 'stripe-webhooks-processor')).toMatchObject({
      STRIPE_API_VERSION: '2025-09-30.clover',
      DONE_TTL_DAYS: '60',
      LEASE_SECONDS: '300',
    });
  });

  it("hands the processor its share of the Stripe budget: the reconciler's pace reserved, maxConcurrency shares", () => {
    expect(environmentOf(template, 'stripe-webhooks-processor')).toMatchObject({
      STRIPE_RESERVED_REQUESTS_PER_SECOND: '5',
      STRIPE_BUDGET_SHARES: '5',
    });
    expect(environmentOf(template, 'stripe-webhooks-processor')).not.toHaveProperty('STRIPE_MAX_REQUESTS_PER_SECOND');
    const set = synthRegionalStack({
      stripe: { maxRequestsPerSecond: 80 },
      processor: { maxConcurrency: 10 },
      reconcile: { enabled: false },
    }).template;
    expect(environmentOf(set, 'stripe-webhooks-processor')).toMatchObject({
      STRIPE_MAX_REQUESTS_PER_SECOND: '80',
      STRIPE_RESERVED_REQUESTS_PER_SECOND: '0',
      STRIPE_BUDGET_SHARES: '10',
    });
  });

  it('may only get, put and update items of the idempotency table (no scan, query or delete)', () => {
    const statements = statementsOfFunction(template, 'stripe-webhooks-processor');
    expect(actionsOn(statements, logicalId(stack.idempotencyTable.table))).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    const tableKey = statements.find((s) => JSON.stringify(s.Resource).includes(logicalId(stack.idempotencyTable.key)));
    expect(tableKey?.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'dynamodb.us-east-1.amazonaws.com' } });
  });

  it('may read the API key but not the webhook secret, publish to the bus, and write to the DLQ', () => {
    const statements = statementsOfFunction(template, 'stripe-webhooks-processor');
    expect(actionsOn(statements, logicalId(stack.secrets.apiKey))).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    expect(actionsOn(statements, logicalId(stack.secrets.webhookSecret))).toEqual([]);
    expect(actionsOn(statements, logicalId(stack.eventSink!.bus))).toEqual(['events:PutEvents']);
    expect(actionsOn(statements, logicalId(stack.eventQueue.deadLetterQueue))).toEqual(['sqs:SendMessage']);
  });

  it('may consume and delay messages of the event queue, but not send new ones to it', () => {
    const actions = actionsOn(
      statementsOfFunction(template, 'stripe-webhooks-processor'),
      logicalId(stack.eventQueue.queue),
    );
    expect(actions).toEqual(
      expect.arrayContaining(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage']),
    );
    expect(actions).not.toContain('sqs:SendMessage');
  });

  it('uses no wildcard action anywhere in its policy', () => {
    const actions = statementsOfFunction(template, 'stripe-webhooks-processor').flatMap((s) =>
      Array.isArray(s.Action) ? s.Action : [s.Action],
    );
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  });

  it('has an explicit log group with the configured retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/lambda/stripe-webhooks-processor',
      RetentionInDays: 30,
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'stripe-webhooks-processor',
      LoggingConfig: Match.objectLike({ LogGroup: { Ref: Match.anyValue() } }),
    });
  });
});

describe('Processor construct', () => {
  function parts() {
    const s = new Stack(new App({ context: NO_BUNDLING }), 'S');
    return {
      s,
      eventQueue: new EventQueue(s, 'Q', { namePrefix: 'x', processorTimeout: Duration.seconds(30) }),
      table: new IdempotencyTable(s, 'T', { tableName: 'x-idempotency', namePrefix: 'x' }),
      secrets: new StripeSecrets(s, 'Secrets', { appName: 'x' }),
      sink: new EventSink(s, 'Sink', { eventBusName: 'x-events' }),
    };
  }

  it('refuses a timeout the queue visibility timeout was not sized for', () => {
    const { s, ...rest } = parts();
    expect(() => new Processor(s, 'P', { appName: 'x', ...rest, timeout: Duration.seconds(60) })).toThrow(
      /visibility timeout \(180 s\) must be at least 6x the timeout \(60 s\)/,
    );
  });

  it('refuses a lease that does not outlive the timeout', () => {
    const { s, ...rest } = parts();
    expect(() => new Processor(s, 'P', { appName: 'x', ...rest, leaseSeconds: 30 })).toThrow(
      /leaseSeconds \(30\) must exceed the timeout \(30 s\)/,
    );
  });
});
