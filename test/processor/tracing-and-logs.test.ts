/**
 * What the processor tells an operator about each record: a trace span around the Stripe fetch (annotated with the
 * event type, never the object), and log lines that each carry the event id, event type, SQS message id and the
 * Lambda request id, for processed, duplicate and failed records alike.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRegistry } from '../../lambdas/processor/business-handlers';
import { createProcessor, type TraceFn } from '../../lambdas/processor/core';
import { createIdempotencyStore } from '../../lambdas/shared/idempotency-store';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { captureOutput } from '../support/capture-output';
import { classicEvent, enqueue, MemorySink, receiveRecords, thinEvent, uid } from './harness';
import { createIdempotencyTable, type LocalDynamo, type LocalSqs, startDynamo, startSqs } from './local-aws';

let dynamo: LocalDynamo;
let sqs: LocalSqs;
let stripeServer: StripeServer;
let stripe: Stripe;

beforeAll(async () => {
  [dynamo, sqs, stripeServer] = await Promise.all([startDynamo(), startSqs(), startStripeServer()]);
  await createIdempotencyTable(dynamo.client, 'tracing-table');
  stripe = createStripeClient('sk_test_tracing', { apiBase: stripeServer.url });
});
afterAll(async () => {
  await Promise.all([dynamo.close(), sqs.close(), stripeServer.close()]);
});

const lambdaContext = {
  functionName: 'stripe-webhooks-processor',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:stripe-webhooks-processor',
  memoryLimitInMB: '512',
  awsRequestId: 'aws-request-1',
  logGroupName: '/aws/lambda/stripe-webhooks-processor',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

interface Span {
  name: string;
  annotations: Readonly<Record<string, string>>;
  outcome?: 'ok' | 'error';
}

async function setUp() {
  const queueUrl = await sqs.createQueue(`tracing-${uid()}`);
  const dlqUrl = await sqs.createQueue(`tracing-dlq-${uid()}.fifo`);
  const spans: Span[] = [];
  const trace: TraceFn = async (name, annotations, work) => {
    const span: Span = { name, annotations };
    spans.push(span);
    try {
      const result = await work();
      span.outcome = 'ok';
      return result;
    } catch (err) {
      span.outcome = 'error';
      throw err;
    }
  };
  // As injectLambdaContext does in the handler: the invocation's context on the logger.
  const logger = new Logger({ serviceName: 'stripe-webhooks-processor', logLevel: 'DEBUG' }); // DEBUG: the per-event success lines too
  logger.addContext(lambdaContext);
  const processor = createProcessor({
    store: createIdempotencyStore({
      client: dynamo.client,
      tableName: 'tracing-table',
      leaseSeconds: 60,
      doneTtlDays: 30,
    }),
    stripe: async () => stripe,
    sink: new MemorySink(),
    registry: buildRegistry(),
    sqs: sqs.client,
    queueUrl,
    dlqUrl,
    logger,
    trace,
    random: () => 0,
  });
  return { queueUrl, spans, processor };
}

/** Runs `act`, returning the JSON lines it wrote to stdout/stderr. */
async function captureLogs(act: () => Promise<void>): Promise<Record<string, unknown>[]> {
  return (await captureOutput(act)).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('tracing', () => {
  it('wraps each Stripe fetch in one span annotated with the event and object type, and none for a duplicate', async () => {
    const { queueUrl, spans, processor } = await setUp();
    const id = `pi_${uid()}`;
    stripeServer.setObject({ id, object: 'payment_intent', status: 'succeeded', amount: 100, currency: 'usd' });
    const event = classicEvent('payment_intent.succeeded', { id, object: 'payment_intent', status: 'processing' });
    await enqueue(sqs.client, queueUrl, [event, event]);
    await captureLogs(async () => {
      await processor.handle({ Records: await receiveRecords(sqs.client, queueUrl) }, lambdaContext);
    });
    expect(spans).toEqual([
      {
        name: 'Stripe fetch',
        annotations: { eventType: 'payment_intent.succeeded', objectType: 'payment_intent', messageKind: 'snapshot' },
        outcome: 'ok',
      },
    ]);
    // Annotations are indexed by X-Ray: ids and types only, never object fields.
    expect(JSON.stringify(spans)).not.toContain(id);
  });

  it('annotates the span of an event about no object with objectType none', async () => {
    const { queueUrl, spans, processor } = await setUp();
    await enqueue(sqs.client, queueUrl, [thinEvent('v2.core.event_destination.ping', null)]);
    await captureLogs(async () => {
      await processor.handle({ Records: await receiveRecords(sqs.client, queueUrl) }, lambdaContext);
    });
    expect(spans).toEqual([
      {
        name: 'Stripe fetch',
        annotations: { eventType: 'v2.core.event_destination.ping', objectType: 'none', messageKind: 'thin' },
        outcome: 'ok',
      },
    ]);
  });

  it('records a failed fetch in its span, and the record is retried', async () => {
    const { queueUrl, spans, processor } = await setUp();
    const id = `pi_${uid()}`;
    stripeServer.setObject({ id, object: 'payment_intent', status: 'succeeded', amount: 100, currency: 'usd' });
    stripeServer.inject({ kind: 'server_error', status: 503, match: { path: `/v1/payment_intents/${id}` } });
    await enqueue(sqs.client, queueUrl, [classicEvent('payment_intent.succeeded', { id, object: 'payment_intent' })]);
    let failures = 0;
    await captureLogs(async () => {
      const res = await processor.handle({ Records: await receiveRecords(sqs.client, queueUrl) }, lambdaContext);
      failures = res.batchItemFailures.length;
    });
    expect(failures).toBe(1);
    expect(spans.map((s) => s.outcome)).toEqual(['error']);
  });
});

describe('log lines of a record', () => {
  it('each carry eventId, eventType, the SQS message id and the Lambda request id: processed, duplicate, failed', async () => {
    const { queueUrl, processor } = await setUp();
    const ok = `pi_${uid()}`;
    const broken = `pi_${uid()}`;
    stripeServer.setObject({ id: ok, object: 'payment_intent', status: 'succeeded', amount: 100, currency: 'usd' });
    stripeServer.setObject({ id: broken, object: 'payment_intent', status: 'succeeded', amount: 1, currency: 'usd' });
    stripeServer.inject({ kind: 'server_error', status: 500, match: { path: `/v1/payment_intents/${broken}` } });
    const first = classicEvent('payment_intent.succeeded', { id: ok, object: 'payment_intent' });
    const failing = classicEvent('payment_intent.succeeded', { id: broken, object: 'payment_intent' });
    await enqueue(sqs.client, queueUrl, [first, failing]);
    const logs = await captureLogs(async () => {
      await processor.handle({ Records: await receiveRecords(sqs.client, queueUrl) }, lambdaContext);
      await enqueue(sqs.client, queueUrl, [first]); // a redelivery: a duplicate now
      await processor.handle({ Records: await receiveRecords(sqs.client, queueUrl) }, lambdaContext);
    });

    const perRecord = logs.filter((l) => l.message !== 'batch processed');
    const messages = perRecord.map((l) => l.message);
    expect(messages).toEqual(
      expect.arrayContaining(['event processed', 'event failed: will be retried', 'event already processed: skipped']),
    );
    for (const line of perRecord) {
      expect(line, JSON.stringify(line)).toMatchObject({
        eventId: expect.stringMatching(/^evt_/),
        eventType: 'payment_intent.succeeded',
        messageId: expect.any(String),
        function_request_id: 'aws-request-1',
        service: 'stripe-webhooks-processor',
      });
    }
    // The batch summary carries the request id too, so one query finds the whole invocation.
    expect(logs.filter((l) => l.message === 'batch processed').every((l) => l.function_request_id)).toBe(true);
  });
});
