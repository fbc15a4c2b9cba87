/**
 * The processor's failure paths against local stand-ins (processor-fixture.ts): the DLQ, retries and their delays,
 * a lost lease, the time margin, and what each logs.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { PermanentError, RetryableError } from '../../lambdas/shared/errors';
import { captureOutput } from '../support/capture-output';
import { classicEvent, enqueue, receiveRecords } from './harness';
import { failedIds, LEASE_SECONDS, useProcessorFixture, verbose } from './processor-fixture';

const t = useProcessorFixture();

describe('Stripe failures', () => {
  it('on a 429 reports the record failed and delays it by Retry-After instead of sleeping', async () => {
    const pi = t.paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    await enqueue(t.sqs.client, t.queueUrl, [event]);
    t.stripeServer.inject({ kind: 'rate_limit', retryAfterSeconds: 120 });

    const { res, records } = await t.runBatch();

    expect(failedIds(res)).toEqual([records[0]!.messageId]);
    expect(t.handled).toEqual([]);
    const wait = await t.visibleInMs(records[0]!.messageId);
    expect(wait).toBeGreaterThan(115_000);
    expect(wait).toBeLessThanOrEqual(120_000);
    expect(await t.store.get(String(event.id))).toMatchObject({
      status: 'FAILED',
      lastError: { code: 'stripe_rate_limited', permanent: false },
    });
    expect(t.metrics.total('Stripe429')).toBe(1);

    // The redelivery succeeds once Stripe answers again.
    const again = await t.runBatch(records);
    expect(again.res.batchItemFailures).toEqual([]);
    expect(t.handled).toEqual([event.id]);
  });

  it('on a 429 without Retry-After backs off exponentially in the receive count, with Stripe-Should-Retry honoured', async () => {
    const pi = t.paymentIntent();
    await enqueue(t.sqs.client, t.queueUrl, [classicEvent('payment_intent.succeeded', pi.stale)]);
    t.stripeServer.inject({ kind: 'rate_limit' });
    const [record] = await receiveRecords(t.sqs.client, t.queueUrl);
    // Fourth delivery: base 2 s * 2^3 = 16 s, equal jitter with random() = 0 -> 8 s.
    const fourth = { ...record!, attributes: { ...record!.attributes, ApproximateReceiveCount: '4' } };

    const { res } = await t.runBatch([fourth]);

    expect(failedIds(res)).toEqual([record!.messageId]);
    const wait = await t.visibleInMs(record!.messageId);
    expect(wait).toBeGreaterThan(6_000);
    expect(wait).toBeLessThanOrEqual(8_000);

    // Stripe-Should-Retry: false: no quick retry, whatever the receive count.
    t.stripeServer.inject({ kind: 'rate_limit', shouldRetry: false });
    await t.runBatch([fourth]);
    expect(await t.visibleInMs(record!.messageId)).toBeGreaterThan(290_000);
  });

  it('retries 5xx and connection failures (no DLQ)', async () => {
    const pi = t.paymentIntent();
    await enqueue(t.sqs.client, t.queueUrl, [classicEvent('payment_intent.succeeded', pi.stale)]);
    const records = await receiveRecords(t.sqs.client, t.queueUrl);

    t.stripeServer.inject({ kind: 'server_error', status: 503 });
    expect(failedIds((await t.runBatch(records)).res)).toHaveLength(1);
    // stripe-node retries a reset connection once by itself: two resets make the fetch fail.
    t.stripeServer.inject({ kind: 'reset', times: 2 });
    expect(failedIds((await t.runBatch(records)).res)).toHaveLength(1);

    expect((await t.sqs.inspect(t.dlqName)).messages.ready).toHaveLength(0);
    expect(t.sink.published).toEqual([]);
    expect((await t.runBatch(records)).res.batchItemFailures).toEqual([]);
    expect(t.sink.published).toHaveLength(1);
  });
});

describe('failures', () => {
  it('moves a permanent failure to the DLQ with its reason and the original body and group, and reports success', async () => {
    const pi = t.paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    t.onPaymentIntent = async () => {
      throw new PermanentError(`no order for ${pi.id}`, 'order_not_found');
    };
    await enqueue(t.sqs.client, t.queueUrl, [event]);

    const { res, records } = await t.runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(t.sink.published).toEqual([]);
    const dlq = await t.sqs.inspect(t.dlqName);
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
    expect(await t.store.get(String(event.id))).toMatchObject({
      status: 'FAILED',
      lastError: { code: 'order_not_found', permanent: true },
    });
    expect(t.metrics.total('ProcessingFailed', { Kind: 'permanent' })).toBe(1);
  });

  it('moves an event whose handler throws a PermanentError to the DLQ with the handler reason', async () => {
    const pi = t.paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    t.onPaymentIntent = async () => {
      throw new PermanentError('order for this payment does not exist', 'order_not_found');
    };
    await enqueue(t.sqs.client, t.queueUrl, [event]);

    const { res } = await t.runBatch();

    expect(res.batchItemFailures).toEqual([]);
    expect(t.sink.published).toEqual([]);
    const dead = (await t.sqs.inspect(t.dlqName)).messages.ready as unknown as Array<{
      messageAttributes: Record<string, { StringValue: string }>;
    }>;
    expect(dead).toHaveLength(1);
    expect(dead[0]!.messageAttributes.FailureCode?.StringValue).toBe('order_not_found');
    expect(dead[0]!.messageAttributes.FailureReason?.StringValue).toContain('order for this payment does not exist');
  });

  it('does not run or dead-letter again a message it already moved to the DLQ when that message comes back', async () => {
    const event = classicEvent('payment_intent.succeeded', t.paymentIntent().stale);
    t.onPaymentIntent = async () => {
      throw new PermanentError('order for this payment does not exist', 'order_not_found');
    };
    await enqueue(t.sqs.client, t.queueUrl, [event]);
    const records = await receiveRecords(t.sqs.client, t.queueUrl);
    await t.runBatch(records);
    // Its invocation timed out after the move, so SQS hands the same message out again, maybe after SQS's
    // 5-minute deduplication of the DLQ send has passed: only the processor can tell it is in the DLQ already.
    t.processor = t.makeProcessor({ logger: verbose() });
    const { res, log } = await t.runBatchLogged(records);

    expect(res.batchItemFailures).toEqual([]);
    expect(t.handled).toEqual([String(event.id)]);
    const failed = await t.store.get(String(event.id));
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(log.find((e) => e.message === 'message already moved to the DLQ: deleted, not run again')).toMatchObject({
      eventId: event.id,
      failedAt: failed?.lastError?.at,
    });
    expect(log.find((e) => e.message === 'batch processed')).toMatchObject({ duplicates: 1, permanent: 0 });
  });

  it('reports a permanent failure as failed when the DLQ cannot take it (nothing is dropped)', async () => {
    const event = classicEvent('payment_intent.succeeded', t.paymentIntent().stale);
    t.onPaymentIntent = async () => {
      throw new PermanentError('rejected (test)', 'rejected');
    };
    await enqueue(t.sqs.client, t.queueUrl, [event]);
    const [record] = await receiveRecords(t.sqs.client, t.queueUrl);
    // And an undecodable one, never claimed: nothing to release for it.
    const undecodable = {
      ...record!,
      messageId: `${record!.messageId}-undecodable`,
      body: 'not json',
      attributes: { ...record!.attributes, MessageGroupId: 'undecodable' },
    };
    const records = [record!, undecodable];
    t.dlqUrl = `${t.dlqUrl}-does-not-exist`;
    t.processor = t.makeProcessor({ logger: verbose() });

    const { res, log } = await t.runBatchLogged(records);

    expect(failedIds(res)).toEqual(records.map((r) => r.messageId));
    // The lease is released so the redelivery is not blocked.
    expect(await t.store.get(String(event.id))).toMatchObject({ status: 'FAILED', lastError: { permanent: false } });
    expect(t.metrics.total('ProcessingFailed', { Kind: 'retryable' })).toBe(2);
    expect(t.metrics.total('ProcessingFailed', { Kind: 'permanent' })).toBe(0);
    const dlqErrors = log.filter((e) => e.message === 'could not move the event to the DLQ: will be retried');
    expect(dlqErrors.map((e) => e.code).sort()).toEqual(['bad_message', 'rejected']);
    expect(dlqErrors[0]).toMatchObject({
      level: 'ERROR',
      dlqError: expect.stringContaining('QueueDoesNotExist'),
    });
    expect(log.find((e) => e.message === 'batch processed')).toMatchObject({ retryable: 2, permanent: 0 });
    expect(log.filter((e) => e.message.startsWith('could not record the failure'))).toEqual([]);
  });

  it('moves an undecodable message to the DLQ', async () => {
    const [record] = await (async () => {
      await enqueue(t.sqs.client, t.queueUrl, [classicEvent('payment_intent.succeeded', t.paymentIntent().stale)]);
      return receiveRecords(t.sqs.client, t.queueUrl);
    })();
    const { res } = await t.runBatch([{ ...record!, body: '{"not":"a queue message"}' }]);
    expect(res.batchItemFailures).toEqual([]);
    const dead = (await t.sqs.inspect(t.dlqName)).messages.ready as unknown as Array<{
      messageAttributes: Record<string, { StringValue: string }>;
    }>;
    expect(dead[0]!.messageAttributes.FailureCode?.StringValue).toBe('bad_message');
  });

  it('fails a handler that throws a value with no string form retryably, its lease released', async () => {
    const event = classicEvent('payment_intent.succeeded', t.paymentIntent().stale);
    // JavaScript lets a handler throw anything; String() of an object without a prototype throws in turn.
    t.onPaymentIntent = async () => {
      throw Object.assign(Object.create(null) as object, { detail: 'no prototype' });
    };
    await enqueue(t.sqs.client, t.queueUrl, [event]);

    const { res, records } = await t.runBatch();

    expect(failedIds(res)).toEqual([records[0]!.messageId]);
    expect(await t.store.get(String(event.id))).toMatchObject({
      status: 'FAILED',
      lastError: { code: 'unexpected_error', message: '[object Object]', permanent: false },
    });
  });

  it('does not mark an event done when the sink fails, and publishes it on the next delivery', async () => {
    const pi = t.paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    await enqueue(t.sqs.client, t.queueUrl, [event]);
    t.sink.failNext = 1;

    const first = await t.runBatch();
    expect(failedIds(first.res)).toEqual([first.records[0]!.messageId]);
    expect(t.sink.published).toEqual([]);
    expect(await t.store.get(String(event.id))).toMatchObject({
      status: 'FAILED',
      lastError: { code: 'sink_unavailable' },
    });

    const second = await t.runBatch(first.records);
    expect(second.res.batchItemFailures).toEqual([]);
    expect(t.sink.published.map((p) => p.eventId)).toEqual([event.id]);
    expect(await t.store.get(String(event.id))).toMatchObject({ status: 'DONE', attempts: 2 });
  });

  it('reports success when the lease was lost before markDone (the side effects happened), with LeaseLost', async () => {
    const pi = t.paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    await enqueue(t.sqs.client, t.queueUrl, [event]);
    const other = t.makeStore(() => t.clock);
    t.onPaymentIntent = async ({ event: msg }) => {
      // The handler overran the lease and another invocation claimed the event meanwhile.
      t.clock += LEASE_SECONDS * 1000 + 1;
      await other.claim(msg.eventId, { type: msg.type, messageId: 'other' });
      return 'slow';
    };

    t.processor = t.makeProcessor({ logger: verbose() });

    const { res, log } = await t.runBatchLogged();

    expect(res.batchItemFailures).toEqual([]);
    expect(t.sink.published).toHaveLength(1);
    expect(t.metrics.total('LeaseLost')).toBe(1);
    const lost = 'lease lost before the event was marked done: another invocation may process it too';
    expect(log.find((e) => e.message === lost)).toMatchObject({
      level: 'ERROR',
      eventId: event.id,
      error: expect.stringContaining('LeaseLostError'),
    });
    expect(log.find((e) => e.message === 'batch processed')).toMatchObject({ processed: 1, leaseLost: 1 });
  });

  it("records a thrown error's code only when it is a non-empty string, else unexpected_error", async () => {
    const thrown = new Map<string, unknown>();
    t.onPaymentIntent = async ({ event }) => {
      throw thrown.get(event.eventId);
    };
    const cases: Array<[unknown, string]> = [
      [new RetryableError('blank code', ''), 'RetryableError: blank code'],
      [Object.assign(new Error('numeric code'), { code: 42 }), 'Error: numeric code'],
      [null, 'null'],
    ];
    const events = cases.map(([error]) => {
      const event = classicEvent('payment_intent.succeeded', t.paymentIntent().stale);
      thrown.set(String(event.id), error);
      return event;
    });
    await enqueue(t.sqs.client, t.queueUrl, events);

    const { res } = await t.runBatch();

    expect(failedIds(res)).toHaveLength(3);
    for (const [i, [, message]] of cases.entries()) {
      expect(await t.store.get(String(events[i]!.id))).toMatchObject({
        status: 'FAILED',
        lastError: { code: 'unexpected_error', message, permanent: false },
      });
    }
  });

  it('starts no record when the invocation is nearly out of time, and reports them all for redelivery', async () => {
    await enqueue(t.sqs.client, t.queueUrl, [
      classicEvent('payment_intent.succeeded', t.paymentIntent().stale),
      classicEvent('payment_intent.succeeded', t.paymentIntent().stale),
    ]);
    const records = await receiveRecords(t.sqs.client, t.queueUrl);

    // The invocation started with 30 s; by the time records would start, 4 s are left (under the 5 s margin).
    const remaining = [30_000];
    const context = { getRemainingTimeInMillis: () => remaining.shift() ?? 4_000 };
    const res = await t.processor.handle({ Records: records }, context);

    expect(failedIds(res).sort()).toEqual(records.map((r) => r.messageId).sort());
    expect(t.handled).toEqual([]);
    expect(t.stripeServer.calls).toEqual([]);
  });

  it('still processes records with a timeout shorter than the margin (the margin shrinks to half the budget)', async () => {
    const events = [classicEvent('payment_intent.succeeded', t.paymentIntent().stale)];
    await enqueue(t.sqs.client, t.queueUrl, events);
    const records = await receiveRecords(t.sqs.client, t.queueUrl);
    const started = Date.now();
    // A 3 s function timeout: a fixed 5 s margin would start nothing, and every event would end in the DLQ.
    const res = await t.processor.handle(
      { Records: records },
      { getRemainingTimeInMillis: () => 3_000 - (Date.now() - started) },
    );
    expect(res.batchItemFailures).toEqual([]);
    expect(t.handled).toEqual(events.map((e) => e.id));
  });
});

describe('logs', () => {
  it('sums each batch up in one line: processed, duplicates, retried and dead-lettered events, and Stripe calls', async () => {
    const [processed, duplicate, busy, rejected] = [1, 2, 3, 4].map(() =>
      classicEvent('payment_intent.succeeded', t.paymentIntent().stale),
    );
    const done = await t.store.claim(String(duplicate!.id), { type: 'payment_intent.succeeded', messageId: 'earlier' });
    if (done.outcome !== 'claimed') throw new Error('the test could not claim its event');
    await t.store.markDone(String(duplicate!.id), done.token);
    await t.store.claim(String(busy!.id), { type: 'payment_intent.succeeded', messageId: 'other-invocation' });
    t.onPaymentIntent = async ({ event }) => {
      if (event.eventId === rejected!.id) throw new PermanentError('no such order (test)', 'order_not_found');
      return 'ok';
    };
    await enqueue(t.sqs.client, t.queueUrl, [processed!, duplicate!, busy!, rejected!]);
    t.processor = t.makeProcessor({ logger: verbose() });

    const { log } = await t.runBatchLogged();

    expect(log.map((e) => e.message).sort()).toEqual(
      [
        'batch processed',
        'event already processed: skipped',
        'event failed permanently: moved to the DLQ',
        'event failed: will be retried',
        'event processed',
      ].sort(),
    );
    const entry = (message: string) => log.find((e) => e.message === message);
    expect(entry('batch processed')).toMatchObject({
      records: 4,
      groups: 4,
      processed: 1,
      duplicates: 1,
      skipped: 0,
      retryable: 1,
      permanent: 1,
      notStarted: 0,
      leaseLost: 0,
      stripeCalls: 2,
      stripe429: 0,
    });
    expect(entry('event processed')).toMatchObject({ eventId: processed!.id, attempt: 1 });
    expect(entry('event processed')).not.toHaveProperty('account');
    expect(entry('event already processed: skipped')).toMatchObject({
      eventId: duplicate!.id,
      doneAt: expect.any(String),
    });
    expect(entry('event failed: will be retried')).toMatchObject({
      level: 'WARN',
      eventId: busy!.id,
      code: 'event_busy',
      reason: 'RetryableError(event_busy): another invocation holds the event',
    });
    expect(entry('event failed permanently: moved to the DLQ')).toMatchObject({
      level: 'ERROR',
      eventId: rejected!.id,
      code: 'order_not_found',
      reason: 'PermanentError(order_not_found): no such order (test)',
    });
  });

  it('carries eventId, eventType and messageId on every line of a record, and never the object', async () => {
    const pi = t.paymentIntent();
    t.stripeServer.setObject({ ...pi.current, client_secret: 'pi_secret_SHOULD_NOT_APPEAR' });
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    await enqueue(t.sqs.client, t.queueUrl, [event]);
    const records = await receiveRecords(t.sqs.client, t.queueUrl);
    t.stripeServer.inject({ kind: 'rate_limit', retryAfterSeconds: 1 });
    const logger = new Logger({ logLevel: 'DEBUG', serviceName: 'test' });
    t.processor = t.makeProcessor({ logger });

    const lines = await captureOutput(async () => {
      await t.runBatch(records); // a 429: warning lines
      await t.runBatch(records); // processed: info lines
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

describe('log volume', () => {
  it('writes one line per batch at INFO for events processed cleanly, none per event', async () => {
    const events = [1, 2, 3].map(() => classicEvent('payment_intent.succeeded', t.paymentIntent().stale));
    await enqueue(t.sqs.client, t.queueUrl, events);
    t.processor = t.makeProcessor({ logger: new Logger({ logLevel: 'INFO', serviceName: 'test' }) });

    const { log } = await t.runBatchLogged();

    expect(log.map((e) => e.message)).toEqual(['batch processed']);
    expect(log[0]).toMatchObject({ records: 3, processed: 3 });
  });
});

describe('delays', () => {
  it("honours a handler's RetryableError delay, for the failed record and the rest of its group", async () => {
    const pi = t.paymentIntent();
    const events = [1, 2].map(() => classicEvent('payment_intent.succeeded', pi.stale));
    await enqueue(t.sqs.client, t.queueUrl, events);
    t.onPaymentIntent = async () => {
      throw new RetryableError('ledger is locked', 'ledger_locked', 45);
    };

    const { res, records } = await t.runBatch();

    expect(failedIds(res)).toEqual(records.map((r) => r.messageId));
    // Both come back together after 45 s: FIFO would not redeliver the first while the second is in flight.
    for (const r of records) {
      const wait = await t.visibleInMs(r.messageId);
      expect(wait).toBeGreaterThan(40_000);
      expect(wait).toBeLessThanOrEqual(45_000);
    }
    expect(await t.store.get(String(events[0]!.id))).toMatchObject({ lastError: { code: 'ledger_locked' } });
  });
});
