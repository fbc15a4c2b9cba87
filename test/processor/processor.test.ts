/**
 * The processor against local stand-ins: dynalite (idempotency table), the local Stripe server, fauxqs (the event
 * queue and its DLQ) and an in-memory sink.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createProcessor, type Processor } from '../../lambdas/processor/core';
import { createRegistry, type HandlerContext } from '../../lambdas/processor/registry';
import { PermanentError, RetryableError } from '../../lambdas/shared/errors';
import { createIdempotencyStore, type IdempotencyStore } from '../../lambdas/shared/idempotency-store';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { captureOutput } from '../support/capture-output';
import { classicEvent, enqueue, MemorySink, RecordingMetrics, receiveRecords, thinEvent, uid } from './harness';
import { createIdempotencyTable, type LocalDynamo, type LocalSqs, startDynamo, startSqs } from './local-aws';

const TABLE = 'processor-idempotency';
const LEASE_SECONDS = 60;

let dynamo: LocalDynamo;
let sqs: LocalSqs;
let stripeServer: StripeServer;
let stripe: Stripe;

/** Per test: fresh queues, sink, metrics, clock and processor. */
let queueName: string;
let queueUrl: string;
let dlqName: string;
let dlqUrl: string;
let sink: MemorySink;
let metrics: RecordingMetrics;
let clock: number;
let store: IdempotencyStore;
let processor: Processor;
/** What the test's payment_intent.succeeded handler does (default: the summary business-handlers.ts returns). */
let onPaymentIntent: (ctx: HandlerContext<Stripe.PaymentIntent>) => Promise<unknown>;
const handled: string[] = [];

const silent = new Logger({ logLevel: 'SILENT' });

beforeAll(async () => {
  [dynamo, sqs, stripeServer] = await Promise.all([startDynamo(), startSqs(), startStripeServer()]);
  await createIdempotencyTable(dynamo.client, TABLE);
  stripe = createStripeClient('sk_test_processor', { apiBase: stripeServer.url });
});

afterAll(async () => {
  await Promise.all([dynamo.close(), sqs.close(), stripeServer.close()]);
});

function makeStore(now: () => number): IdempotencyStore {
  return createIdempotencyStore({
    client: dynamo.client,
    tableName: TABLE,
    leaseSeconds: LEASE_SECONDS,
    doneTtlDays: 30,
    now,
  });
}

function makeProcessor(logger: Logger = silent): Processor {
  const registry = createRegistry()
    .on('payment_intent.succeeded', async (ctx) => {
      handled.push(ctx.event.eventId);
      return onPaymentIntent(ctx);
    })
    .on('customer.*', async (ctx) => {
      handled.push(ctx.event.eventId);
      return { deleted: ctx.object?.deleted === true };
    });
  return createProcessor({
    store,
    stripe: async () => stripe,
    sink,
    registry,
    sqs: sqs.client,
    queueUrl,
    dlqUrl,
    logger,
    metrics,
    now: () => clock,
    random: () => 0,
  });
}

beforeEach(async () => {
  const id = uid();
  queueName = `events-${id}`;
  dlqName = `events-dlq-${id}.fifo`;
  [queueUrl, dlqUrl] = await Promise.all([sqs.createQueue(queueName), sqs.createQueue(dlqName)]);
  sink = new MemorySink();
  metrics = new RecordingMetrics();
  clock = Date.now();
  store = makeStore(() => clock);
  handled.length = 0;
  onPaymentIntent = async ({ object }) => ({
    amount_received: object?.amount_received,
    currency: object?.currency,
    status: object?.status,
  });
  processor = makeProcessor();
  stripeServer.resetCalls();
  stripeServer.clearFaults();
});

/** A payment intent in its current (newer) state on the server, and the stale snapshot a webhook carried. */
function paymentIntent(opts: { account?: string } = {}) {
  const id = `pi_${uid()}`;
  const current = {
    id,
    object: 'payment_intent',
    amount: 5000,
    amount_received: 5000,
    currency: 'eur',
    status: 'succeeded',
  };
  stripeServer.setObject(current, opts.account ? { account: opts.account } : undefined);
  const stale = { ...current, amount_received: 0, status: 'processing' };
  return { id, current, stale };
}

async function runBatch(records?: SQSRecord[]): Promise<{ res: SQSBatchResponse; records: SQSRecord[] }> {
  const batch = records ?? (await receiveRecords(sqs.client, queueUrl));
  return { res: await processor.handle({ Records: batch }), records: batch };
}

const failedIds = (res: SQSBatchResponse) => res.batchItemFailures.map((f) => f.itemIdentifier);

/** Where fauxqs will next show an in-flight message, in ms from now (its visibility deadline). */
async function visibleInMs(messageId: string): Promise<number | undefined> {
  const q = await sqs.inspect(queueName);
  const inflight = q.messages.inflight.find((m) => (m.message as { messageId?: string }).messageId === messageId);
  return inflight ? inflight.visibilityDeadline - Date.now() : undefined;
}

describe('processing', () => {
  it('hands the handler the object as it is now in Stripe, not the stale payload, and publishes the result', async () => {
    const pi = paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    await enqueue(sqs.client, queueUrl, [event]);

    const { res } = await runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(sink.published).toHaveLength(1);
    expect(sink.published[0]).toMatchObject({
      eventId: event.id,
      type: 'payment_intent.succeeded',
      objectOrigin: 'fetched',
      object: { id: pi.id, status: 'succeeded', amount_received: 5000 },
      result: { amount_received: 5000, currency: 'eur', status: 'succeeded' },
      source: 'webhook',
      livemode: false,
    });
    expect(stripeServer.calls).toEqual([
      { method: 'GET', path: `/v1/payment_intents/${pi.id}`, query: '', status: 200 },
    ]);
    expect(await store.get(String(event.id))).toMatchObject({ status: 'DONE', attempts: 1 });
    expect(metrics.total('EventsProcessed')).toBe(1);
    expect(metrics.total('StripeCalls')).toBe(1);
    expect(metrics.emitted.find((m) => m.name === 'ProcessingLatency')?.value).toBeGreaterThanOrEqual(5_000);
  });

  it('processes an event delivered three times once, and counts the copies as duplicates', async () => {
    const pi = paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    // Stripe's retries arrive outside SQS's 5-minute dedup window: three messages for one event.
    await enqueue(sqs.client, queueUrl, [event, event, event]);

    const first = await runBatch();
    expect(first.records).toHaveLength(3);
    expect(first.res.batchItemFailures).toEqual([]);

    // And once more in a later batch (e.g. replayed by the reconciler).
    await enqueue(sqs.client, queueUrl, [event]);
    const later = await runBatch();
    expect(later.res.batchItemFailures).toEqual([]);

    expect(handled).toEqual([event.id]);
    expect(sink.published).toHaveLength(1);
    expect(stripeServer.calls).toHaveLength(1);
    expect(metrics.total('DuplicateSkipped')).toBe(3);
  });

  it('leaves an event another invocation holds a live lease on for later, delayed until the lease ends', async () => {
    const pi = paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    await store.claim(String(event.id), { type: 'payment_intent.succeeded', messageId: 'other-invocation' });
    clock += 20_000;
    await enqueue(sqs.client, queueUrl, [event]);

    const { res, records } = await runBatch();

    expect(failedIds(res)).toEqual([records[0]!.messageId]);
    expect(handled).toEqual([]);
    expect(stripeServer.calls).toEqual([]);
    // Comes back when the other invocation's lease has run out (40 s left), not after the queue's default 30 s.
    expect(await visibleInMs(records[0]!.messageId)).toBeGreaterThan(38_000);
    expect(await store.get(String(event.id))).toMatchObject({ status: 'IN_PROGRESS', messageId: 'other-invocation' });
  });

  it('takes over an event whose previous invocation crashed (expired lease)', async () => {
    const pi = paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    await store.claim(String(event.id), { type: 'payment_intent.succeeded', messageId: 'crashed-invocation' });
    clock += LEASE_SECONDS * 1000 + 1;
    await enqueue(sqs.client, queueUrl, [event]);

    const { res } = await runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(handled).toEqual([event.id]);
    expect(await store.get(String(event.id))).toMatchObject({ status: 'DONE', attempts: 2 });
  });

  it('reports a failed record and the later records of its group, and leaves other groups alone', async () => {
    const a = paymentIntent();
    const b = paymentIntent();
    const aEvents = [1, 2, 3].map((n) =>
      classicEvent('payment_intent.succeeded', a.stale, { id: `evt_a${n}_${uid()}` }),
    );
    const bEvents = [1, 2, 3].map((n) =>
      classicEvent('payment_intent.succeeded', b.stale, { id: `evt_b${n}_${uid()}` }),
    );
    await enqueue(sqs.client, queueUrl, [aEvents[0]!, bEvents[0]!, aEvents[1]!, bEvents[1]!, aEvents[2]!, bEvents[2]!]);
    const failOn = String(aEvents[1]!.id);
    onPaymentIntent = async ({ event }) => {
      if (event.eventId === failOn) throw new Error('downstream database unavailable');
      return 'ok';
    };

    const { res, records } = await runBatch();
    expect(records).toHaveLength(6);

    const idOf = (r: SQSRecord) => (JSON.parse(r.body) as { eventId: string }).eventId;
    const failedEvents = records.filter((r) => failedIds(res).includes(r.messageId)).map(idOf);
    expect(failedEvents).toEqual([aEvents[1]!.id, aEvents[2]!.id]);
    // a3 was never started: processing it before a2 would break the object's order.
    expect(handled).not.toContain(aEvents[2]!.id);
    expect(handled.filter((id) => id.startsWith('evt_b'))).toEqual(bEvents.map((e) => e.id));
    expect(sink.published.map((p) => p.eventId).sort()).toEqual([aEvents[0]!.id, ...bEvents.map((e) => e.id)].sort());
    expect(await store.get(failOn)).toMatchObject({
      status: 'FAILED',
      lastError: { code: 'unexpected_error', permanent: false },
    });
    expect(metrics.total('ProcessingFailed', { Kind: 'retryable' })).toBe(1);
  });

  it('fetches each object once per group in a batch (later events of the object reuse the fetch)', async () => {
    const pi = paymentIntent();
    const events = [1, 2, 3].map(() => classicEvent('payment_intent.succeeded', pi.stale));
    await enqueue(sqs.client, queueUrl, events);

    const { res } = await runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(handled).toEqual(events.map((e) => e.id));
    expect(stripeServer.calls).toHaveLength(1);
    expect(sink.published.every((p) => p.objectOrigin === 'fetched' && p.object?.status === 'succeeded')).toBe(true);
  });
});

describe('fetches are shared within an invocation only', () => {
  it('fetches again in every invocation, even for a backlog created long before the first fetch', async () => {
    const pi = paymentIntent();
    const created = Math.floor(clock / 1000) - 30;
    const backlog = [1, 2].map(() => classicEvent('payment_intent.succeeded', pi.stale, { created }));
    await enqueue(sqs.client, queueUrl, [backlog[0]!]);
    await runBatch();
    // Another container may have handed a newer state to an event in between: nothing is kept across invocations.
    stripeServer.setObject({ ...pi.current, status: 'requires_action' });
    await enqueue(sqs.client, queueUrl, [backlog[1]!]);
    await runBatch();
    expect(stripeServer.calls).toHaveLength(2);
    expect(sink.published.map((p) => p.object?.status)).toEqual(['succeeded', 'requires_action']);
  });

  it('fetches again for the next record of the group after a handler asked for it (refetchNext)', async () => {
    const pi = paymentIntent();
    onPaymentIntent = async ({ refetchNext }) => {
      refetchNext();
      return null;
    };
    await enqueue(
      sqs.client,
      queueUrl,
      [1, 2].map(() => classicEvent('payment_intent.succeeded', pi.stale)),
    );
    await runBatch();
    expect(handled).toHaveLength(2);
    expect(stripeServer.calls).toHaveLength(2);
  });
});

describe('Stripe specifics', () => {
  it('fetches a Connect event object on the connected account (Stripe-Account header)', async () => {
    const pi = paymentIntent({ account: 'acct_connect1' });
    const event = classicEvent('payment_intent.succeeded', pi.stale, { account: 'acct_connect1' });
    await enqueue(sqs.client, queueUrl, [event]);

    const { res } = await runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(stripeServer.calls).toEqual([
      { method: 'GET', path: `/v1/payment_intents/${pi.id}`, query: '', account: 'acct_connect1', status: 200 },
    ]);
    expect(sink.published[0]).toMatchObject({ account: 'acct_connect1', objectOrigin: 'fetched' });
  });

  it('retrieves a connected account itself as the platform (its path names the account)', async () => {
    const account = `acct_${uid()}`;
    stripeServer.setObject({ id: account, object: 'account', charges_enabled: true });
    const event = classicEvent(
      'account.updated',
      { id: account, object: 'account', charges_enabled: false },
      { account },
    );
    await enqueue(sqs.client, queueUrl, [event]);

    const { res } = await runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(stripeServer.calls).toEqual([{ method: 'GET', path: `/v1/accounts/${account}`, query: '', status: 200 }]);
    expect(sink.published[0]).toMatchObject({ account, object: { charges_enabled: true } });
  });

  it('hands deleted objects over as deleted: *.deleted events without a fetch, deleted: true answers marked', async () => {
    const gone = `cus_${uid()}`;
    const deletedEvent = classicEvent('customer.deleted', { id: gone, object: 'customer', email: 'a@example.com' });
    const later = `cus_${uid()}`;
    stripeServer.setObject({ id: later, object: 'customer', email: 'b@example.com' });
    stripeServer.deleteObject(later);
    // An update processed after the customer was deleted: Stripe answers { deleted: true }.
    const updateEvent = classicEvent('customer.updated', { id: later, object: 'customer', email: 'b@example.com' });
    await enqueue(sqs.client, queueUrl, [deletedEvent, updateEvent]);

    const { res } = await runBatch();

    expect(res.batchItemFailures).toEqual([]);
    const byId = new Map(sink.published.map((p) => [p.eventId, p]));
    expect(byId.get(String(deletedEvent.id))).toMatchObject({
      objectOrigin: 'deleted',
      object: { id: gone, deleted: true, email: 'a@example.com' },
      result: { deleted: true },
    });
    expect(byId.get(String(updateEvent.id))).toMatchObject({
      objectOrigin: 'deleted',
      object: { id: later, deleted: true },
    });
    expect(stripeServer.calls.map((c) => c.path)).toEqual([`/v1/customers/${later}`]);
  });

  it('moves a permanent failure to the DLQ with its reason and the original body and group, and reports success', async () => {
    const pi = paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    onPaymentIntent = async () => {
      throw new PermanentError(`no order for ${pi.id}`, 'order_not_found');
    };
    await enqueue(sqs.client, queueUrl, [event]);

    const { res, records } = await runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(sink.published).toEqual([]);
    const dlq = await sqs.inspect(dlqName);
    expect(dlq.messages.ready).toHaveLength(1);
    const dead = dlq.messages.ready[0] as unknown as {
      body: string;
      messageGroupId: string;
      messageAttributes: Record<string, { StringValue: string }>;
    };
    expect(dead.body).toBe(records[0]!.body);
    expect(dead.messageGroupId).toBe(records[0]!.attributes.MessageGroupId);
    expect(dead.messageAttributes.FailureCode?.StringValue).toBe('order_not_found');
    expect(dead.messageAttributes.EventId?.StringValue).toBe(event.id);
    expect(dead.messageAttributes.OriginalMessageId?.StringValue).toBe(records[0]!.messageId);
    expect(dead.messageAttributes.FailureReason?.StringValue).toContain(pi.id);
    expect(await store.get(String(event.id))).toMatchObject({
      status: 'FAILED',
      lastError: { code: 'order_not_found', permanent: true },
    });
    expect(metrics.total('ProcessingFailed', { Kind: 'permanent' })).toBe(1);
  });

  it('hands an object Stripe no longer has (404) over as deleted, after looking once more for a recent event', async () => {
    const gone = `pi_${uid()}`;
    const snapshot = { id: gone, object: 'payment_intent', status: 'requires_payment_method' };
    // Created 5 s ago: too recent to rule out an object not readable yet, so it is looked up once more later.
    const event = classicEvent('payment_intent.succeeded', snapshot, { created: Math.floor(clock / 1000) - 5 });
    await enqueue(sqs.client, queueUrl, [event]);

    const first = await runBatch();

    expect(failedIds(first.res)).toEqual([first.records[0]!.messageId]);
    expect(handled).toEqual([]);
    const wait = await visibleInMs(first.records[0]!.messageId);
    expect(wait).toBeGreaterThan(20_000);
    expect(wait).toBeLessThanOrEqual(26_000);

    const again = first.records.map((r) => ({ ...r, attributes: { ...r.attributes, ApproximateReceiveCount: '2' } }));
    const second = await runBatch(again);

    expect(second.res.batchItemFailures).toEqual([]);
    expect(handled).toEqual([event.id]);
    expect(sink.published[0]).toMatchObject({ objectOrigin: 'deleted', object: { ...snapshot, deleted: true } });
    expect((await sqs.inspect(dlqName)).messages.ready).toHaveLength(0);
    expect(metrics.total('ObjectGone')).toBe(1);
  });

  it('hands an object Stripe no longer has over as deleted at once for an older event', async () => {
    const gone = `pi_${uid()}`;
    const event = classicEvent(
      'payment_intent.processing',
      { id: gone, object: 'payment_intent' },
      { created: Math.floor(clock / 1000) - 3600 },
    );
    await enqueue(sqs.client, queueUrl, [event]);

    const { res } = await runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(sink.published[0]).toMatchObject({ objectOrigin: 'deleted', object: { id: gone, deleted: true } });
  });

  it('skips an event whose livemode differs from the API key: no Stripe call, no DLQ, counted', async () => {
    const live = createStripeClient('sk_live_processor', { apiBase: stripeServer.url });
    processor = createProcessor({
      store,
      stripe: async () => live,
      sink,
      registry: createRegistry()
        .on('payment_intent.*', async (ctx) => void handled.push(ctx.event.eventId))
        .on('balance.*', async (ctx) => void handled.push(ctx.event.eventId)),
      sqs: sqs.client,
      queueUrl,
      dlqUrl,
      logger: silent,
      metrics,
      now: () => clock,
    });
    const account = `acct_${uid()}`;
    // A connected account's test-mode event reaches a live endpoint; and the singleton balance, whose live value
    // must never be published under a test event.
    const events = [
      classicEvent('payment_intent.succeeded', { id: `pi_${uid()}`, object: 'payment_intent' }, { account }),
      classicEvent('balance.available', { object: 'balance', available: [] }),
    ];
    await enqueue(sqs.client, queueUrl, events);

    const { res } = await runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(handled).toEqual([]);
    expect(sink.published).toEqual([]);
    expect(stripeServer.calls).toEqual([]);
    expect((await sqs.inspect(dlqName)).messages.ready).toHaveLength(0);
    for (const e of events) expect(await store.get(String(e.id))).toMatchObject({ status: 'DONE' });
    expect(metrics.total('EventSkipped', { Reason: 'livemode_mismatch' })).toBe(2);
  });

  it('on a 429 reports the record failed and delays it by Retry-After instead of sleeping', async () => {
    const pi = paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    await enqueue(sqs.client, queueUrl, [event]);
    stripeServer.inject({ kind: 'rate_limit', retryAfterSeconds: 120 });

    const { res, records } = await runBatch();

    expect(failedIds(res)).toEqual([records[0]!.messageId]);
    expect(handled).toEqual([]);
    const wait = await visibleInMs(records[0]!.messageId);
    expect(wait).toBeGreaterThan(115_000);
    expect(wait).toBeLessThanOrEqual(120_000);
    expect(await store.get(String(event.id))).toMatchObject({
      status: 'FAILED',
      lastError: { code: 'stripe_rate_limited', permanent: false },
    });
    expect(metrics.total('Stripe429')).toBe(1);

    // The redelivery succeeds once Stripe answers again.
    const again = await runBatch(records);
    expect(again.res.batchItemFailures).toEqual([]);
    expect(handled).toEqual([event.id]);
  });

  it('on a 429 without Retry-After backs off exponentially in the receive count, with Stripe-Should-Retry honoured', async () => {
    const pi = paymentIntent();
    await enqueue(sqs.client, queueUrl, [classicEvent('payment_intent.succeeded', pi.stale)]);
    stripeServer.inject({ kind: 'rate_limit' });
    const [record] = await receiveRecords(sqs.client, queueUrl);
    // Fourth delivery: base 2 s * 2^3 = 16 s, equal jitter with random() = 0 -> 8 s.
    const fourth = { ...record!, attributes: { ...record!.attributes, ApproximateReceiveCount: '4' } };

    const { res } = await runBatch([fourth]);

    expect(failedIds(res)).toEqual([record!.messageId]);
    const wait = await visibleInMs(record!.messageId);
    expect(wait).toBeGreaterThan(6_000);
    expect(wait).toBeLessThanOrEqual(8_000);

    // Stripe-Should-Retry: false: no quick retry, whatever the receive count.
    stripeServer.inject({ kind: 'rate_limit', shouldRetry: false });
    await runBatch([fourth]);
    expect(await visibleInMs(record!.messageId)).toBeGreaterThan(290_000);
  });

  it('retries 5xx and connection failures (no DLQ)', async () => {
    const pi = paymentIntent();
    await enqueue(sqs.client, queueUrl, [classicEvent('payment_intent.succeeded', pi.stale)]);
    const records = await receiveRecords(sqs.client, queueUrl);

    stripeServer.inject({ kind: 'server_error', status: 503 });
    expect(failedIds((await runBatch(records)).res)).toHaveLength(1);
    // stripe-node retries a reset connection once by itself: two resets make the fetch fail.
    stripeServer.inject({ kind: 'reset', times: 2 });
    expect(failedIds((await runBatch(records)).res)).toHaveLength(1);

    expect((await sqs.inspect(dlqName)).messages.ready).toHaveLength(0);
    expect(sink.published).toEqual([]);
    expect((await runBatch(records)).res.batchItemFailures).toEqual([]);
    expect(sink.published).toHaveLength(1);
  });

  it('fetches a thin event object through related_object.url with Stripe-Context, and none without one', async () => {
    const meter = `mtr_${uid()}`;
    stripeServer.setObject({ id: meter, object: 'billing.meter', status: 'active' }, { account: 'acct_thin1' });
    const withObject = thinEvent(
      'v1.billing.meter.no_meter_found',
      { id: meter, type: 'billing.meter', url: `/v1/billing/meters/${meter}` },
      { context: 'acct_thin1' },
    );
    const withoutObject = thinEvent('v2.core.event_destination.ping', null);
    await enqueue(sqs.client, queueUrl, [withObject, withoutObject]);

    const { res } = await runBatch();

    expect(res.batchItemFailures).toEqual([]);
    const byId = new Map(sink.published.map((p) => [p.eventId, p]));
    expect(byId.get(String(withObject.id))).toMatchObject({
      objectOrigin: 'fetched',
      object: { id: meter, status: 'active' },
      account: 'acct_thin1',
    });
    expect(byId.get(String(withoutObject.id))).toMatchObject({ objectOrigin: 'none', object: null });
    expect(stripeServer.calls).toEqual([
      { method: 'GET', path: `/v1/billing/meters/${meter}`, query: '', account: 'acct_thin1', status: 200 },
    ]);
  });

  it('resolves a reference message (event too large for the queue) by retrieving the event, then the object', async () => {
    const pi = paymentIntent({ account: 'acct_ref' });
    const event = classicEvent('payment_intent.succeeded', pi.stale, { account: 'acct_ref' });
    stripeServer.addEvent(event);
    await enqueue(sqs.client, queueUrl, [event], { maxBytes: 200 });
    const records = await receiveRecords(sqs.client, queueUrl);
    expect(JSON.parse(records[0]!.body)).toMatchObject({ kind: 'reference' });

    const { res } = await runBatch(records);

    expect(res.batchItemFailures).toEqual([]);
    expect(stripeServer.calls.map((c) => [c.path, c.account])).toEqual([
      [`/v1/events/${event.id}`, 'acct_ref'],
      [`/v1/payment_intents/${pi.id}`, 'acct_ref'],
    ]);
    expect(sink.published[0]).toMatchObject({
      eventId: event.id,
      objectOrigin: 'fetched',
      object: { amount_received: 5000 },
    });
  });

  it('uses the payload, with origin payload, for objects Stripe cannot retrieve', async () => {
    const event = classicEvent('payment_intent.succeeded', { id: `li_${uid()}`, object: 'line_item', amount: 1 });
    const unknownType = classicEvent('payment_intent.succeeded', { id: `fz_${uid()}`, object: 'frobnicator', size: 3 });
    onPaymentIntent = async ({ objectOrigin }) => objectOrigin;
    await enqueue(sqs.client, queueUrl, [event, unknownType]);

    const { res } = await runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(sink.published.map((p) => [p.objectOrigin, p.result])).toEqual([
      ['payload', 'payload'],
      ['payload', 'payload'],
    ]);
    // The line item was not even tried; the unknown type was (guessed path), and Stripe did not recognise it.
    expect(stripeServer.calls.map((c) => [c.path, c.status])).toEqual([
      [expect.stringMatching(/^\/v1\/frobnicators\//), 404],
    ]);
  });
});

describe('failures', () => {
  it('moves an event whose handler throws a PermanentError to the DLQ with the handler reason', async () => {
    const pi = paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    onPaymentIntent = async () => {
      throw new PermanentError('order for this payment does not exist', 'order_not_found');
    };
    await enqueue(sqs.client, queueUrl, [event]);

    const { res } = await runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(sink.published).toEqual([]);
    const dead = (await sqs.inspect(dlqName)).messages.ready as unknown as Array<{
      messageAttributes: Record<string, { StringValue: string }>;
    }>;
    expect(dead).toHaveLength(1);
    expect(dead[0]!.messageAttributes.FailureCode?.StringValue).toBe('order_not_found');
    expect(dead[0]!.messageAttributes.FailureReason?.StringValue).toContain('order for this payment does not exist');
  });

  it('does not run or dead-letter again a message it already moved to the DLQ when that message comes back', async () => {
    const event = classicEvent('payment_intent.succeeded', paymentIntent().stale);
    onPaymentIntent = async () => {
      throw new PermanentError('order for this payment does not exist', 'order_not_found');
    };
    await enqueue(sqs.client, queueUrl, [event]);
    const records = await receiveRecords(sqs.client, queueUrl);
    await runBatch(records);
    // Its invocation timed out after the move, so SQS hands the same message out again, maybe after SQS's
    // 5-minute deduplication of the DLQ send has passed: only the processor can tell it is in the DLQ already.
    const { res } = await runBatch(records);

    expect(res.batchItemFailures).toEqual([]);
    expect(handled).toEqual([String(event.id)]);
    expect(await store.get(String(event.id))).toMatchObject({ status: 'FAILED', attempts: 1 });
  });

  it('reports a permanent failure as failed when the DLQ cannot take it (nothing is dropped)', async () => {
    const event = classicEvent('payment_intent.succeeded', paymentIntent().stale);
    onPaymentIntent = async () => {
      throw new PermanentError('rejected (test)', 'rejected');
    };
    await enqueue(sqs.client, queueUrl, [event]);
    const records = await receiveRecords(sqs.client, queueUrl);
    dlqUrl = `${dlqUrl}-does-not-exist`;
    processor = makeProcessor();

    const { res } = await runBatch(records);

    expect(failedIds(res)).toEqual([records[0]!.messageId]);
    // The lease is released so the redelivery is not blocked.
    expect(await store.get(String(event.id))).toMatchObject({ status: 'FAILED', lastError: { permanent: false } });
  });

  it('moves an undecodable message to the DLQ', async () => {
    const [record] = await (async () => {
      await enqueue(sqs.client, queueUrl, [classicEvent('payment_intent.succeeded', paymentIntent().stale)]);
      return receiveRecords(sqs.client, queueUrl);
    })();
    const { res } = await runBatch([{ ...record!, body: '{"not":"a queue message"}' }]);
    expect(res.batchItemFailures).toEqual([]);
    const dead = (await sqs.inspect(dlqName)).messages.ready as unknown as Array<{
      messageAttributes: Record<string, { StringValue: string }>;
    }>;
    expect(dead[0]!.messageAttributes.FailureCode?.StringValue).toBe('bad_message');
  });

  it('does not mark an event done when the sink fails, and publishes it on the next delivery', async () => {
    const pi = paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    await enqueue(sqs.client, queueUrl, [event]);
    sink.failNext = 1;

    const first = await runBatch();
    expect(failedIds(first.res)).toEqual([first.records[0]!.messageId]);
    expect(sink.published).toEqual([]);
    expect(await store.get(String(event.id))).toMatchObject({
      status: 'FAILED',
      lastError: { code: 'sink_unavailable' },
    });

    const second = await runBatch(first.records);
    expect(second.res.batchItemFailures).toEqual([]);
    expect(sink.published.map((p) => p.eventId)).toEqual([event.id]);
    expect(await store.get(String(event.id))).toMatchObject({ status: 'DONE', attempts: 2 });
  });

  it('reports success when the lease was lost before markDone (the side effects happened), with LeaseLost', async () => {
    const pi = paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    await enqueue(sqs.client, queueUrl, [event]);
    const other = makeStore(() => clock);
    onPaymentIntent = async ({ event: msg }) => {
      // The handler overran the lease and another invocation claimed the event meanwhile.
      clock += LEASE_SECONDS * 1000 + 1;
      await other.claim(msg.eventId, { type: msg.type, messageId: 'other' });
      return 'slow';
    };

    const { res } = await runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(sink.published).toHaveLength(1);
    expect(metrics.total('LeaseLost')).toBe(1);
  });

  it('starts no record when the invocation is nearly out of time, and reports them all for redelivery', async () => {
    await enqueue(sqs.client, queueUrl, [
      classicEvent('payment_intent.succeeded', paymentIntent().stale),
      classicEvent('payment_intent.succeeded', paymentIntent().stale),
    ]);
    const records = await receiveRecords(sqs.client, queueUrl);

    // The invocation started with 30 s; by the time records would start, 4 s are left (under the 5 s margin).
    const remaining = [30_000];
    const context = { getRemainingTimeInMillis: () => remaining.shift() ?? 4_000 };
    const res = await processor.handle({ Records: records }, context);

    expect(failedIds(res).sort()).toEqual(records.map((r) => r.messageId).sort());
    expect(handled).toEqual([]);
    expect(stripeServer.calls).toEqual([]);
  });

  it('still processes records with a timeout shorter than the margin (the margin shrinks to half the budget)', async () => {
    const events = [classicEvent('payment_intent.succeeded', paymentIntent().stale)];
    await enqueue(sqs.client, queueUrl, events);
    const records = await receiveRecords(sqs.client, queueUrl);
    const started = Date.now();
    // A 3 s function timeout: a fixed 5 s margin would start nothing, and every event would end in the DLQ.
    const res = await processor.handle(
      { Records: records },
      { getRemainingTimeInMillis: () => 3_000 - (Date.now() - started) },
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(handled).toEqual(events.map((e) => e.id));
  });
});

describe('logs', () => {
  it('carries eventId, eventType and messageId on every line of a record, and never the object', async () => {
    const pi = paymentIntent();
    stripeServer.setObject({ ...pi.current, client_secret: 'pi_secret_SHOULD_NOT_APPEAR' });
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    await enqueue(sqs.client, queueUrl, [event]);
    const records = await receiveRecords(sqs.client, queueUrl);
    stripeServer.inject({ kind: 'rate_limit', retryAfterSeconds: 1 });
    const logger = new Logger({ logLevel: 'DEBUG', serviceName: 'test' });
    processor = makeProcessor(logger);

    const lines = await captureOutput(async () => {
      await runBatch(records); // a 429: warning lines
      await runBatch(records); // processed: info lines
    });

    const entries = lines
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    const perRecord = entries.filter((e) => e.message !== 'batch processed');
    expect(perRecord.map((e) => e.message)).toEqual(['event failed: will be retried', 'event processed']);
    for (const e of perRecord) {
      expect(e).toMatchObject({
        eventId: event.id,
        eventType: 'payment_intent.succeeded',
        messageId: records[0]!.messageId,
      });
    }
    expect(entries.some((e) => e.message === 'batch processed' && e.stripeCalls === 1)).toBe(true);
    expect(lines.join('')).not.toContain('pi_secret_SHOULD_NOT_APPEAR');
  });
});

describe('delays', () => {
  it("honours a handler's RetryableError delay, for the failed record and the rest of its group", async () => {
    const pi = paymentIntent();
    const events = [1, 2].map(() => classicEvent('payment_intent.succeeded', pi.stale));
    await enqueue(sqs.client, queueUrl, events);
    onPaymentIntent = async () => {
      throw new RetryableError('ledger is locked', 'ledger_locked', 45);
    };

    const { res, records } = await runBatch();

    expect(failedIds(res)).toEqual(records.map((r) => r.messageId));
    // Both come back together after 45 s: FIFO would not redeliver the first while the second is in flight.
    for (const r of records) {
      const wait = await visibleInMs(r.messageId);
      expect(wait).toBeGreaterThan(40_000);
      expect(wait).toBeLessThanOrEqual(45_000);
    }
    expect(await store.get(String(events[0]!.id))).toMatchObject({ lastError: { code: 'ledger_locked' } });
  });
});
