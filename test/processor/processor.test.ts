/**
 * The processor against local stand-ins (processor-fixture.ts): processing, fetch sharing, and Stripe's specifics.
 * Failures, delays and logs are in processor-failures.test.ts.
 */
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../lambdas/processor/registry';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { classicEvent, enqueue, receiveRecords, thinEvent, uid } from './harness';
import { failedIds, LEASE_SECONDS, useProcessorFixture } from './processor-fixture';

const t = useProcessorFixture();

describe('processing', () => {
  it('hands the handler the object as it is now in Stripe, not the stale payload, and publishes the result', async () => {
    const pi = t.paymentIntent();
    // Created a minute ago: ProcessingLatency is measured from here, with a margin no clock step can eat (an exact
    // 5 s boundary once read 4,999 ms on a loaded machine).
    const created = Math.floor(Date.now() / 1000) - 60;
    const event = classicEvent('payment_intent.succeeded', pi.stale, { created });
    await enqueue(t.sqs.client, t.queueUrl, [event]);

    const { res } = await t.runBatch();
    const latencyBound = Date.now() - created * 1000;

    expect(res.batchItemFailures).toEqual([]);
    expect(t.sink.published).toHaveLength(1);
    expect(t.sink.published[0]).toMatchObject({
      eventId: event.id,
      type: 'payment_intent.succeeded',
      objectOrigin: 'fetched',
      object: { id: pi.id, status: 'succeeded', amount_received: 5000 },
      result: { amount_received: 5000, currency: 'eur', status: 'succeeded' },
      source: 'webhook',
      livemode: false,
    });
    expect(t.stripeServer.calls).toEqual([
      { method: 'GET', path: `/v1/payment_intents/${pi.id}`, query: '', status: 200 },
    ]);
    expect(await t.store.get(String(event.id))).toMatchObject({ status: 'DONE', attempts: 1 });
    expect(t.metrics.total('EventsProcessed')).toBe(1);
    expect(t.metrics.total('StripeCalls')).toBe(1);
    expect(t.metrics.total('ObjectGone')).toBe(0);
    const latency = t.metrics.emitted.find((m) => m.name === 'ProcessingLatency')?.value;
    expect(latency).toBeGreaterThanOrEqual(59_000);
    expect(latency).toBeLessThanOrEqual(latencyBound);
  });

  it('processes an event delivered three times once, and counts the copies as duplicates', async () => {
    const pi = t.paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    // Stripe's retries arrive outside SQS's 5-minute dedup window: three messages for one event.
    await enqueue(t.sqs.client, t.queueUrl, [event, event, event]);

    const first = await t.runBatch();
    expect(first.records).toHaveLength(3);
    expect(first.res.batchItemFailures).toEqual([]);

    // And once more in a later batch (e.g. replayed by the reconciler).
    await enqueue(t.sqs.client, t.queueUrl, [event]);
    const later = await t.runBatch();
    expect(later.res.batchItemFailures).toEqual([]);

    expect(t.handled).toEqual([event.id]);
    expect(t.sink.published).toHaveLength(1);
    expect(t.stripeServer.calls).toHaveLength(1);
    expect(t.metrics.total('DuplicateSkipped')).toBe(3);
  });

  it('leaves an event another invocation holds a live lease on for later, delayed until the lease ends', async () => {
    const pi = t.paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    await t.store.claim(String(event.id), { type: 'payment_intent.succeeded', messageId: 'other-invocation' });
    t.clock += 20_000;
    await enqueue(t.sqs.client, t.queueUrl, [event]);

    const { res, records } = await t.runBatch();

    expect(failedIds(res)).toEqual([records[0]!.messageId]);
    expect(t.handled).toEqual([]);
    expect(t.stripeServer.calls).toEqual([]);
    // Comes back when the other invocation's lease has run out (40 s left), not after the queue's default 30 s.
    expect(await t.visibleInMs(records[0]!.messageId)).toBeGreaterThan(38_000);
    expect(await t.store.get(String(event.id))).toMatchObject({ status: 'IN_PROGRESS', messageId: 'other-invocation' });
  });

  it('takes over an event whose previous invocation crashed (expired lease)', async () => {
    const pi = t.paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    await t.store.claim(String(event.id), { type: 'payment_intent.succeeded', messageId: 'crashed-invocation' });
    t.clock += LEASE_SECONDS * 1000 + 1;
    await enqueue(t.sqs.client, t.queueUrl, [event]);

    const { res } = await t.runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(t.handled).toEqual([event.id]);
    expect(await t.store.get(String(event.id))).toMatchObject({ status: 'DONE', attempts: 2 });
  });

  it('reports a failed record and the later records of its group, and leaves other groups alone', async () => {
    const a = t.paymentIntent();
    const b = t.paymentIntent();
    const aEvents = [1, 2, 3].map((n) =>
      classicEvent('payment_intent.succeeded', a.stale, { id: `evt_a${n}_${uid()}` }),
    );
    const bEvents = [1, 2, 3].map((n) =>
      classicEvent('payment_intent.succeeded', b.stale, { id: `evt_b${n}_${uid()}` }),
    );
    await enqueue(t.sqs.client, t.queueUrl, [
      aEvents[0]!,
      bEvents[0]!,
      aEvents[1]!,
      bEvents[1]!,
      aEvents[2]!,
      bEvents[2]!,
    ]);
    const failOn = String(aEvents[1]!.id);
    t.onPaymentIntent = async ({ event }) => {
      if (event.eventId === failOn) throw new Error('downstream database unavailable');
      return 'ok';
    };

    const { res, records } = await t.runBatch();
    expect(records).toHaveLength(6);

    const idOf = (r: SQSRecord) => (JSON.parse(r.body) as { eventId: string }).eventId;
    const failedEvents = records.filter((r) => failedIds(res).includes(r.messageId)).map(idOf);
    expect(failedEvents).toEqual([aEvents[1]!.id, aEvents[2]!.id]);
    // a3 was never started: processing it before a2 would break the object's order.
    expect(t.handled).not.toContain(aEvents[2]!.id);
    expect(t.handled.filter((id) => id.startsWith('evt_b'))).toEqual(bEvents.map((e) => e.id));
    expect(t.sink.published.map((p) => p.eventId).sort()).toEqual([aEvents[0]!.id, ...bEvents.map((e) => e.id)].sort());
    expect(await t.store.get(failOn)).toMatchObject({
      status: 'FAILED',
      lastError: { code: 'unexpected_error', permanent: false },
    });
    expect(t.metrics.total('ProcessingFailed', { Kind: 'retryable' })).toBe(1);
    // No delay asked for: they come back after the queue's own visibility timeout (30 s).
    for (const r of records.filter((r) => failedIds(res).includes(r.messageId))) {
      const wait = await t.visibleInMs(r.messageId);
      expect(wait).toBeGreaterThan(20_000);
      expect(wait).toBeLessThanOrEqual(30_000);
    }
  });

  it('fetches each object once per group in a batch (later events of the object reuse the fetch)', async () => {
    const pi = t.paymentIntent();
    const events = [1, 2, 3].map(() => classicEvent('payment_intent.succeeded', pi.stale));
    await enqueue(t.sqs.client, t.queueUrl, events);

    const { res } = await t.runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(t.handled).toEqual(events.map((e) => e.id));
    expect(t.stripeServer.calls).toHaveLength(1);
    expect(t.sink.published.every((p) => p.objectOrigin === 'fetched' && p.object?.status === 'succeeded')).toBe(true);
  });
});

describe('fetches are shared within an invocation only', () => {
  it('fetches again in every invocation, even for a backlog created long before the first fetch', async () => {
    const pi = t.paymentIntent();
    const created = Math.floor(t.clock / 1000) - 30;
    const backlog = [1, 2].map(() => classicEvent('payment_intent.succeeded', pi.stale, { created }));
    await enqueue(t.sqs.client, t.queueUrl, [backlog[0]!]);
    await t.runBatch();
    // Another container may have handed a newer state to an event in between: nothing is kept across invocations.
    t.stripeServer.setObject({ ...pi.current, status: 'requires_action' });
    await enqueue(t.sqs.client, t.queueUrl, [backlog[1]!]);
    await t.runBatch();
    expect(t.stripeServer.calls).toHaveLength(2);
    expect(t.sink.published.map((p) => p.object?.status)).toEqual(['succeeded', 'requires_action']);
  });

  it('fetches again for the next record of the group after a handler asked for it (refetchNext)', async () => {
    const pi = t.paymentIntent();
    t.onPaymentIntent = async ({ refetchNext }) => {
      refetchNext();
      return null;
    };
    await enqueue(
      t.sqs.client,
      t.queueUrl,
      [1, 2].map(() => classicEvent('payment_intent.succeeded', pi.stale)),
    );
    await t.runBatch();
    expect(t.handled).toHaveLength(2);
    expect(t.stripeServer.calls).toHaveLength(2);
  });
});

describe('Stripe specifics', () => {
  it('fetches a Connect event object on the connected account (Stripe-Account header)', async () => {
    const pi = t.paymentIntent({ account: 'acct_connect1' });
    const event = classicEvent('payment_intent.succeeded', pi.stale, { account: 'acct_connect1' });
    await enqueue(t.sqs.client, t.queueUrl, [event]);

    const { res } = await t.runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(t.stripeServer.calls).toEqual([
      { method: 'GET', path: `/v1/payment_intents/${pi.id}`, query: '', account: 'acct_connect1', status: 200 },
    ]);
    expect(t.sink.published[0]).toMatchObject({ account: 'acct_connect1', objectOrigin: 'fetched' });
  });

  it('retrieves a connected account itself as the platform (its path names the account)', async () => {
    const account = `acct_${uid()}`;
    t.stripeServer.setObject({ id: account, object: 'account', charges_enabled: true });
    const event = classicEvent(
      'account.updated',
      { id: account, object: 'account', charges_enabled: false },
      { account },
    );
    await enqueue(t.sqs.client, t.queueUrl, [event]);

    const { res } = await t.runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(t.stripeServer.calls).toEqual([{ method: 'GET', path: `/v1/accounts/${account}`, query: '', status: 200 }]);
    expect(t.sink.published[0]).toMatchObject({ account, object: { charges_enabled: true } });
  });

  it('hands deleted objects over as deleted: *.deleted events without a fetch, deleted: true answers marked', async () => {
    const gone = `cus_${uid()}`;
    const deletedEvent = classicEvent('customer.deleted', { id: gone, object: 'customer', email: 'a@example.com' });
    const later = `cus_${uid()}`;
    t.stripeServer.setObject({ id: later, object: 'customer', email: 'b@example.com' });
    t.stripeServer.deleteObject(later);
    // An update processed after the customer was deleted: Stripe answers { deleted: true }.
    const updateEvent = classicEvent('customer.updated', { id: later, object: 'customer', email: 'b@example.com' });
    await enqueue(t.sqs.client, t.queueUrl, [deletedEvent, updateEvent]);

    const { res } = await t.runBatch();

    expect(res.batchItemFailures).toEqual([]);
    const byId = new Map(t.sink.published.map((p) => [p.eventId, p]));
    expect(byId.get(String(deletedEvent.id))).toMatchObject({
      objectOrigin: 'deleted',
      object: { id: gone, deleted: true, email: 'a@example.com' },
      result: { deleted: true },
    });
    expect(byId.get(String(updateEvent.id))).toMatchObject({
      objectOrigin: 'deleted',
      object: { id: later, deleted: true },
    });
    expect(t.stripeServer.calls.map((c) => c.path)).toEqual([`/v1/customers/${later}`]);
  });

  it('hands an object Stripe no longer has (404) over as deleted, after looking once more for a recent event', async () => {
    const gone = `pi_${uid()}`;
    const snapshot = { id: gone, object: 'payment_intent', status: 'requires_payment_method' };
    // Created 5 s ago: too recent to rule out an object not readable yet, so it is looked up once more later.
    const event = classicEvent('payment_intent.succeeded', snapshot, { created: Math.floor(t.clock / 1000) - 5 });
    await enqueue(t.sqs.client, t.queueUrl, [event]);

    const first = await t.runBatch();

    expect(failedIds(first.res)).toEqual([first.records[0]!.messageId]);
    expect(t.handled).toEqual([]);
    const wait = await t.visibleInMs(first.records[0]!.messageId);
    expect(wait).toBeGreaterThan(20_000);
    expect(wait).toBeLessThanOrEqual(26_000);

    const again = first.records.map((r) => ({ ...r, attributes: { ...r.attributes, ApproximateReceiveCount: '2' } }));
    const second = await t.runBatch(again);

    expect(second.res.batchItemFailures).toEqual([]);
    expect(t.handled).toEqual([event.id]);
    expect(t.sink.published[0]).toMatchObject({ objectOrigin: 'deleted', object: { ...snapshot, deleted: true } });
    expect((await t.sqs.inspect(t.dlqName)).messages.ready).toHaveLength(0);
    expect(t.metrics.total('ObjectGone')).toBe(1);
  });

  it('hands an object Stripe no longer has over as deleted at once for an older event', async () => {
    const gone = `pi_${uid()}`;
    const event = classicEvent(
      'payment_intent.processing',
      { id: gone, object: 'payment_intent' },
      { created: Math.floor(t.clock / 1000) - 3600 },
    );
    await enqueue(t.sqs.client, t.queueUrl, [event]);

    const { res } = await t.runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(t.sink.published[0]).toMatchObject({ objectOrigin: 'deleted', object: { id: gone, deleted: true } });
  });

  it('skips an event whose livemode differs from the API key: no Stripe call, no DLQ, counted', async () => {
    const live = createStripeClient('sk_live_processor', { apiBase: t.stripeServer.url });
    t.processor = t.makeProcessor({
      stripe: async () => live,
      registry: createRegistry()
        .on('payment_intent.*', async (ctx) => void t.handled.push(ctx.event.eventId))
        .on('balance.*', async (ctx) => void t.handled.push(ctx.event.eventId)),
    });
    const account = `acct_${uid()}`;
    // A connected account's test-mode event reaches a live endpoint; and the singleton balance, whose live value
    // must never be published under a test event.
    const events = [
      classicEvent('payment_intent.succeeded', { id: `pi_${uid()}`, object: 'payment_intent' }, { account }),
      classicEvent('balance.available', { object: 'balance', available: [] }),
    ];
    await enqueue(t.sqs.client, t.queueUrl, events);

    const { res } = await t.runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(t.handled).toEqual([]);
    expect(t.sink.published).toEqual([]);
    expect(t.stripeServer.calls).toEqual([]);
    expect((await t.sqs.inspect(t.dlqName)).messages.ready).toHaveLength(0);
    for (const e of events) expect(await t.store.get(String(e.id))).toMatchObject({ status: 'DONE' });
    expect(t.metrics.total('EventSkipped', { Reason: 'livemode_mismatch' })).toBe(2);
  });

  it('skips a livemode mismatch without a metrics object too (metrics are optional)', async () => {
    const live = createStripeClient('sk_live_processor', { apiBase: t.stripeServer.url });
    t.processor = t.makeProcessor({ stripe: async () => live, metrics: undefined });
    const event = classicEvent('payment_intent.succeeded', t.paymentIntent().stale);
    await enqueue(t.sqs.client, t.queueUrl, [event]);

    const { res } = await t.runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(t.handled).toEqual([]);
    expect(await t.store.get(String(event.id))).toMatchObject({ status: 'DONE' });
  });

  it("processes events of either mode when the API key's mode is unknown", async () => {
    // A key of no known shape (not sk_/rk_ live/test): nothing to compare an event's livemode with.
    const unknown = createStripeClient('key_of_unknown_shape', { apiBase: t.stripeServer.url });
    t.processor = t.makeProcessor({ stripe: async () => unknown });
    const pi = t.paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    event.livemode = true;
    await enqueue(t.sqs.client, t.queueUrl, [event]);

    const { res } = await t.runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(t.handled).toEqual([event.id]);
    expect(t.metrics.total('EventSkipped')).toBe(0);
  });

  it('fetches a thin event object through related_object.url with Stripe-Context, and none without one', async () => {
    const meter = `mtr_${uid()}`;
    t.stripeServer.setObject({ id: meter, object: 'billing.meter', status: 'active' }, { account: 'acct_thin1' });
    const withObject = thinEvent(
      'v1.billing.meter.no_meter_found',
      { id: meter, type: 'billing.meter', url: `/v1/billing/meters/${meter}` },
      { context: 'acct_thin1' },
    );
    const withoutObject = thinEvent('v2.core.event_destination.ping', null);
    await enqueue(t.sqs.client, t.queueUrl, [withObject, withoutObject]);

    const { res } = await t.runBatch();

    expect(res.batchItemFailures).toEqual([]);
    const byId = new Map(t.sink.published.map((p) => [p.eventId, p]));
    expect(byId.get(String(withObject.id))).toMatchObject({
      objectOrigin: 'fetched',
      object: { id: meter, status: 'active' },
      account: 'acct_thin1',
    });
    expect(byId.get(String(withoutObject.id))).toMatchObject({ objectOrigin: 'none', object: null });
    expect(t.stripeServer.calls).toEqual([
      { method: 'GET', path: `/v1/billing/meters/${meter}`, query: '', account: 'acct_thin1', status: 200 },
    ]);
  });

  it('resolves a reference message (event too large for the queue) by retrieving the event, then the object', async () => {
    const pi = t.paymentIntent({ account: 'acct_ref' });
    const event = classicEvent('payment_intent.succeeded', pi.stale, { account: 'acct_ref' });
    t.stripeServer.addEvent(event);
    await enqueue(t.sqs.client, t.queueUrl, [event], { maxBytes: 200 });
    const records = await receiveRecords(t.sqs.client, t.queueUrl);
    expect(JSON.parse(records[0]!.body)).toMatchObject({ kind: 'reference' });

    const { res } = await t.runBatch(records);

    expect(res.batchItemFailures).toEqual([]);
    expect(t.stripeServer.calls.map((c) => [c.path, c.account])).toEqual([
      [`/v1/events/${event.id}`, 'acct_ref'],
      [`/v1/payment_intents/${pi.id}`, 'acct_ref'],
    ]);
    expect(t.sink.published[0]).toMatchObject({
      eventId: event.id,
      objectOrigin: 'fetched',
      object: { amount_received: 5000 },
    });
  });

  it('uses the payload, with origin payload, for objects Stripe cannot retrieve', async () => {
    const event = classicEvent('payment_intent.succeeded', { id: `li_${uid()}`, object: 'line_item', amount: 1 });
    const unknownType = classicEvent('payment_intent.succeeded', { id: `fz_${uid()}`, object: 'frobnicator', size: 3 });
    t.onPaymentIntent = async ({ objectOrigin }) => objectOrigin;
    await enqueue(t.sqs.client, t.queueUrl, [event, unknownType]);

    const { res } = await t.runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(t.sink.published.map((p) => [p.objectOrigin, p.result])).toEqual([
      ['payload', 'payload'],
      ['payload', 'payload'],
    ]);
    // The line item was not even tried; the unknown type was (guessed path), and Stripe did not recognise it.
    expect(t.stripeServer.calls.map((c) => [c.path, c.status])).toEqual([
      [expect.stringMatching(/^\/v1\/frobnicators\//), 404],
    ]);
  });
});
