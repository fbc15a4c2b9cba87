/**
 * Handler Lambdas (StripeWebhooks.addHandler) run by the processor against the local stand-ins (dynalite, fauxqs,
 * the local Stripe server), through the in-process invoker `npm start` uses: per-object order, a retry that skips the
 * handlers that already succeeded, and a permanent failure that dead-letters the event naming the handler.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PermanentHandlerError } from '../../lambdas/handler-lambdas/contract';
import { createProcessor, type Processor } from '../../lambdas/processor/core';
import type { HandlerTarget } from '../../lambdas/processor/handler-lambdas';
import { createRegistry } from '../../lambdas/processor/registry';
import { createIdempotencyStore, type IdempotencyStore } from '../../lambdas/shared/idempotency-store';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { inProcessInvoker, loadHandlerEntries, type NodeHandler } from '../../local/handler-lambdas';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { classicEvent, enqueue, MemorySink, receiveRecords, uid } from './harness';
import { createIdempotencyTable, type LocalDynamo, type LocalSqs, startDynamo, startSqs } from './local-aws';

const TABLE = 'handler-lambdas-idempotency';
let dynamo: LocalDynamo;
let sqs: LocalSqs;
let stripeServer: StripeServer;
let stripe: Stripe;
let queueUrl: string;
let dlqName: string;
let dlqUrl: string;
let store: IdempotencyStore;

beforeAll(async () => {
  [dynamo, sqs, stripeServer] = await Promise.all([startDynamo(), startSqs(), startStripeServer()]);
  await createIdempotencyTable(dynamo.client, TABLE);
  stripe = createStripeClient('sk_test_handlers', { apiBase: stripeServer.url });
});
afterAll(async () => {
  await Promise.all([dynamo.close(), sqs.close(), stripeServer.close()]);
});
beforeEach(async () => {
  const id = uid();
  dlqName = `handlers-dlq-${id}.fifo`;
  [queueUrl, dlqUrl] = await Promise.all([sqs.createQueue(`handlers-${id}`), sqs.createQueue(dlqName)]);
  store = createIdempotencyStore({ client: dynamo.client, tableName: TABLE, leaseSeconds: 60, doneTtlDays: 30 });
});

/** What each handler was invoked with: its name, the event id, the object's `metadata.version` and the attempt. */
interface Seen {
  readonly handler: string;
  readonly eventId: string;
  readonly version: unknown;
  readonly attempt: number;
}

function processorWith(handlers: Record<string, NodeHandler>, seen: Seen[]): Processor {
  const targets: HandlerTarget[] = Object.keys(handlers).map((name) => ({
    name,
    functionName: name,
    eventTypes: ['payment_intent.*'],
    timeoutMs: 5_000,
  }));
  const recording = new Map(
    Object.entries(handlers).map(([name, fn]): [string, NodeHandler] => [
      name,
      async (input) => {
        const i = input as { event: { id: string }; object: { metadata?: { version?: unknown } }; attempt: number };
        seen.push({ handler: name, eventId: i.event.id, version: i.object.metadata?.version, attempt: i.attempt });
        return fn(input);
      },
    ]),
  );
  return createProcessor({
    store,
    stripe: async () => stripe,
    sink: new MemorySink(),
    registry: createRegistry(),
    handlerLambdas: { targets, invoke: inProcessInvoker(recording) },
    sqs: sqs.client,
    queueUrl,
    dlqUrl,
    logger: new Logger({ logLevel: 'SILENT' }),
  });
}

function paymentIntent(version: number) {
  const id = `pi_${uid()}`;
  const object = { id, object: 'payment_intent', status: 'succeeded', metadata: { version } };
  stripeServer.setObject(object);
  return object;
}

describe('handler Lambdas', () => {
  it('hands each handler the events of one object in order, each with the object as it is now', async () => {
    const pi = paymentIntent(1);
    const events = [1, 2, 3].map(() => classicEvent('payment_intent.succeeded', pi));
    await enqueue(sqs.client, queueUrl, events);
    const seen: Seen[] = [];
    let failFirst = true;
    const processor = processorWith(
      {
        fulfil: async (input) => {
          const { event } = input as { event: { id: string } };
          if (failFirst && event.id === events[0]!.id) {
            failFirst = false;
            throw new Error('order service unavailable');
          }
          return {};
        },
      },
      seen,
    );

    // The first event fails (retryable): its group's later events are left, in order, for the next delivery.
    const records = await receiveRecords(sqs.client, queueUrl);
    const first = await processor.handle({ Records: records });
    expect(first.batchItemFailures).toHaveLength(3);
    stripeServer.setObject({ ...pi, metadata: { version: 2 } });
    // SQS redelivers the three, in order.
    const second = await processor.handle({ Records: records });
    expect(second.batchItemFailures).toEqual([]);

    expect(seen.map((s) => s.eventId)).toEqual([events[0]!.id, events[0]!.id, events[1]!.id, events[2]!.id]);
    // Never an older object than one already seen.
    expect(seen.map((s) => s.version)).toEqual([1, 2, 2, 2]);
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 1, 1]);
  });

  it('runs on a retry only the handlers that have not succeeded for the event', async () => {
    const pi = paymentIntent(1);
    const event = classicEvent('payment_intent.succeeded', pi);
    await enqueue(sqs.client, queueUrl, [event]);
    const seen: Seen[] = [];
    let inventoryDown = true;
    const processor = processorWith(
      {
        fulfil: async () => ({}),
        inventory: async () => {
          if (inventoryDown) throw new Error('inventory service unavailable');
          return {};
        },
      },
      seen,
    );
    const records = await receiveRecords(sqs.client, queueUrl);

    expect((await processor.handle({ Records: records })).batchItemFailures).toHaveLength(1);
    expect(await store.get(String(event.id))).toMatchObject({ status: 'FAILED', handlersDone: ['fulfil'] });
    inventoryDown = false;
    expect((await processor.handle({ Records: records })).batchItemFailures).toEqual([]);

    expect(seen.map((s) => `${s.handler}#${s.attempt}`).sort()).toEqual(['fulfil#1', 'inventory#1', 'inventory#2']);
    expect(await store.get(String(event.id))).toMatchObject({ status: 'DONE', handlersDone: ['fulfil', 'inventory'] });
  });

  it("sends a handler's permanent failure to the DLQ naming the handler, keeping the others' success", async () => {
    const pi = paymentIntent(1);
    const event = classicEvent('payment_intent.succeeded', pi);
    await enqueue(sqs.client, queueUrl, [event]);
    const seen: Seen[] = [];
    const processor = processorWith(
      {
        fulfil: async () => ({}),
        ledger: async () => {
          throw new PermanentHandlerError('no ledger account for this customer');
        },
      },
      seen,
    );

    const res = await processor.handle({ Records: await receiveRecords(sqs.client, queueUrl) });

    expect(res.batchItemFailures).toEqual([]);
    const dlq = await sqs.inspect(dlqName);
    expect(dlq.messages.ready).toHaveLength(1);
    const dead = dlq.messages.ready[0] as unknown as {
      messageAttributes: Record<string, { StringValue?: string }>;
    };
    expect(dead.messageAttributes.FailedHandler?.StringValue).toBe('ledger');
    expect(dead.messageAttributes.FailureCode?.StringValue).toBe('handler_failed');
    expect(dead.messageAttributes.FailureReason?.StringValue).toContain(
      'handler ledger failed permanently: PermanentHandlerError: no ledger account for this customer',
    );
    expect(await store.get(String(event.id))).toMatchObject({ status: 'FAILED', handlersDone: ['fulfil'] });

    // Replayed from the DLQ once the account exists: only the failed handler runs.
    seen.length = 0;
    await enqueue(sqs.client, queueUrl, [event]);
    const replay = processorWith({ fulfil: async () => ({}), ledger: async () => ({}) }, seen);
    expect((await replay.handle({ Records: await receiveRecords(sqs.client, queueUrl) })).batchItemFailures).toEqual(
      [],
    );
    expect(seen.map((s) => s.handler)).toEqual(['ledger']);
  });

  it('does not invoke a handler Lambda the invocation has no time left for, and retries the event', async () => {
    const event = classicEvent('payment_intent.succeeded', paymentIntent(1));
    await enqueue(sqs.client, queueUrl, [event]);
    const seen: Seen[] = [];
    const processor = processorWith({ fulfil: async () => ({}) }, seen);
    // 6.5 s left all along: enough to start the record, not for a 5 s handler and the 2 s invoke margin.
    const context = { getRemainingTimeInMillis: () => 6_500 };

    const res = await processor.handle({ Records: await receiveRecords(sqs.client, queueUrl) }, context);

    expect(res.batchItemFailures).toHaveLength(1);
    expect(seen).toEqual([]);
    expect(await store.get(String(event.id))).toMatchObject({
      status: 'FAILED',
      lastError: {
        code: 'handler_retryable',
        message: 'RetryableError(handler_retryable): handler fulfil failed: not enough time left in this invocation',
      },
    });
  });

  it('runs the example fulfilment handler from its entry file through the same contract', async () => {
    const handlers = await loadHandlerEntries({ fulfilment: 'examples/fulfilment/handler.ts' });
    const invoke = inProcessInvoker(handlers);
    const target = {
      name: 'fulfilment',
      functionName: 'fulfilment',
      eventTypes: ['checkout.session.completed'],
      timeoutMs: 5_000,
    };
    const payload = (object: Record<string, unknown> | null, objectOrigin: 'fetched' | 'deleted') => ({
      version: 1 as const,
      handler: 'fulfilment',
      event: {
        id: 'evt_1',
        type: 'checkout.session.completed',
        livemode: false,
        created: 1,
        objectRef: { type: 'checkout.session', id: 'cs_1' },
        source: 'webhook',
      },
      object,
      objectOrigin,
      idempotencyKey: 'evt_1',
      attempt: 1,
    });
    const log = console.log;
    console.log = () => {};
    try {
      expect(await invoke(target, payload({ id: 'cs_1', payment_status: 'paid' }, 'fetched'))).toEqual({ ok: true });
      expect(await invoke(target, payload(null, 'deleted'))).toEqual({
        ok: false,
        permanent: true,
        reason: 'PermanentHandlerError: Stripe no longer has checkout session cs_1',
      });
    } finally {
      console.log = log;
    }
  });
});
