/**
 * The processor when a dependency fails: the idempotency table (its own dynalite, stopped mid-test), SQS answering
 * an error, the Stripe API key unreadable, and an unexpected throw. Each catch that records a failure, delays
 * messages or marks a lease lost runs here against a dependency that really fails.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { RetryableError } from '../../lambdas/shared/errors';
import type { IdempotencyStore } from '../../lambdas/shared/idempotency-store';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { classicEvent, enqueue, RecordingMetrics, receiveRecords } from './harness';
import { createIdempotencyTable, startDynamo } from './local-aws';
import { failedIds, TABLE, useProcessorFixture, verbose } from './processor-fixture';

const t = useProcessorFixture();

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/**
 * An idempotency store on a dynalite of its own, and `stop()`, which shuts that dynalite down: every later call
 * fails as against an unreachable table (one attempt, no SDK retries, so the test is quick).
 */
async function storeThatCanFail(): Promise<{ store: IdempotencyStore; stop: () => Promise<void> }> {
  const dynamo = await startDynamo();
  await createIdempotencyTable(dynamo.client, TABLE);
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await dynamo.close();
  };
  cleanups.push(async () => {
    await stop();
    client.destroy();
  });
  return { store: t.makeStore(() => t.clock, client), stop };
}

/**
 * A metrics library that throws once, at the first EventsProcessed (Powertools throws a RangeError on an invalid
 * value): not a failure the processor handles on purpose, so it must not take the whole batch down.
 */
class ThrowingMetrics extends RecordingMetrics {
  throwOn: string | undefined = 'EventsProcessed';
  override addMetric(...args: Parameters<RecordingMetrics['addMetric']>): this {
    if (args[0] === this.throwOn) {
      this.throwOn = undefined;
      throw new RangeError('NaN is not a valid number');
    }
    return super.addMetric(...args);
  }
}

/** What the SDK reports for a request to a stopped dynalite. */
const unreachable = expect.stringMatching(/ECONNREFUSED|ECONNRESET|socket hang up/);

describe('the idempotency table unreachable', () => {
  it('leaves the records of a group for redelivery when the event cannot be claimed', async () => {
    const { store, stop } = await storeThatCanFail();
    t.processor = t.makeProcessor({ store });
    const pi = t.paymentIntent();
    await enqueue(
      t.sqs.client,
      t.queueUrl,
      [1, 2].map(() => classicEvent('payment_intent.succeeded', pi.stale)),
    );
    await stop();

    const { res, records } = await t.runBatch();

    expect(failedIds(res)).toEqual(records.map((r) => r.messageId));
    expect(t.handled).toEqual([]);
    expect(t.stripeServer.calls).toEqual([]);
    // Counted as a retryable failure of the event, once: the second record was never started.
    expect(t.metrics.total('ProcessingFailed', { Kind: 'retryable' })).toBe(1);
    expect(await t.deadLetters()).toEqual([]);
  });

  it('reports a processed event done when it cannot be marked done, without calling it a lost lease', async () => {
    const { store, stop } = await storeThatCanFail();
    t.processor = t.makeProcessor({ store, logger: verbose() });
    t.onPaymentIntent = async () => {
      await stop();
      return 'ok';
    };
    await enqueue(t.sqs.client, t.queueUrl, [classicEvent('payment_intent.succeeded', t.paymentIntent().stale)]);

    const { res, log } = await t.runBatchLogged();

    // The handler ran and the result is published: reporting a failure would run them again.
    expect(res.batchItemFailures).toEqual([]);
    expect(t.sink.published).toHaveLength(1);
    expect(t.metrics.total('EventsProcessed')).toBe(1);
    expect(t.metrics.total('LeaseLost')).toBe(0);
    expect(log.find((e) => e.message === 'could not mark the event done')).toMatchObject({ error: unreachable });
    expect(log.find((e) => e.message === 'batch processed')).toMatchObject({ processed: 1, leaseLost: 0 });
  });

  it('still reports a retryable failure, with its delay, when the failure cannot be recorded', async () => {
    const { store, stop } = await storeThatCanFail();
    t.processor = t.makeProcessor({ store, logger: verbose() });
    t.onPaymentIntent = async () => {
      await stop();
      throw new RetryableError('ledger is locked', 'ledger_locked', 45);
    };
    await enqueue(t.sqs.client, t.queueUrl, [classicEvent('payment_intent.succeeded', t.paymentIntent().stale)]);

    const { res, records, log } = await t.runBatchLogged();

    const record = records[0]!;
    expect(failedIds(res)).toEqual([record.messageId]);
    expect(await t.visibleInMs(record.messageId)).toBeGreaterThan(40_000);
    expect(t.metrics.total('ProcessingFailed', { Kind: 'retryable' })).toBe(1);
    expect(
      log.find((e) => e.message === 'could not record the failure (the lease will expire on its own)'),
    ).toMatchObject({ error: unreachable });
  });

  it('skips a livemode mismatch even when the skip cannot be marked done', async () => {
    const { store, stop } = await storeThatCanFail();
    const live = createStripeClient('sk_live_processor', { apiBase: t.stripeServer.url });
    // The table goes away after the claim, when the processor asks for the Stripe client.
    t.processor = t.makeProcessor({
      store,
      logger: verbose(),
      stripe: async () => {
        await stop();
        return live;
      },
    });
    await enqueue(t.sqs.client, t.queueUrl, [classicEvent('payment_intent.succeeded', t.paymentIntent().stale)]);

    const { res, log } = await t.runBatchLogged();

    expect(res.batchItemFailures).toEqual([]);
    expect(t.handled).toEqual([]);
    expect(t.metrics.total('EventSkipped', { Reason: 'livemode_mismatch' })).toBe(1);
    expect(
      log.find((e) => e.message === 'could not mark the skipped event done (a copy will be skipped again)'),
    ).toMatchObject({ error: unreachable });
    expect(log.find((e) => e.message === 'event skipped')).toMatchObject({
      level: 'WARN',
      reason: 'livemode_mismatch',
      eventLivemode: false,
      apiKeyMode: 'live',
    });
    expect(log.find((e) => e.message === 'batch processed')).toMatchObject({ skipped: 1, processed: 0 });
  });
});

describe('other dependencies failing', () => {
  it('leaves the record for redelivery, its lease released, when the Stripe API key cannot be read', async () => {
    // Secrets Manager has no local stand-in: the client factory fails as stripeFromSecret does when it cannot read.
    t.processor = t.makeProcessor({
      stripe: () =>
        Promise.reject(new RetryableError('AccessDeniedException: secret unreadable', 'secret_unavailable')),
    });
    const event = classicEvent('payment_intent.succeeded', t.paymentIntent().stale);
    await enqueue(t.sqs.client, t.queueUrl, [event]);

    const { res, records } = await t.runBatch();

    expect(failedIds(res)).toEqual([records[0]!.messageId]);
    expect(t.handled).toEqual([]);
    expect(await t.store.get(String(event.id))).toMatchObject({
      status: 'FAILED',
      lastError: { code: 'secret_unavailable', permanent: false },
    });
  });

  it('leaves the records failed, returning after the visibility timeout, when SQS refuses to delay them', async () => {
    t.processor = t.makeProcessor({ queueUrl: `${t.queueUrl}-gone`, logger: verbose() });
    t.onPaymentIntent = async () => {
      throw new RetryableError('ledger is locked', 'ledger_locked', 600);
    };
    await enqueue(t.sqs.client, t.queueUrl, [classicEvent('payment_intent.succeeded', t.paymentIntent().stale)]);

    const { res, records, log } = await t.runBatchLogged();

    const record = records[0]!;
    expect(failedIds(res)).toEqual([record.messageId]);
    // The queue's own 30 s visibility timeout, not the 600 s asked for.
    expect(await t.visibleInMs(record.messageId)).toBeLessThanOrEqual(30_000);
    expect(log.find((e) => e.message.startsWith('could not delay the messages'))).toMatchObject({
      level: 'WARN',
      error: expect.stringContaining('QueueDoesNotExist'),
    });
  });

  it('logs the messages SQS could not delay, by their error code, and delays the others', async () => {
    t.processor = t.makeProcessor({ logger: verbose() });
    const pi = t.paymentIntent();
    t.onPaymentIntent = async () => {
      throw new RetryableError('ledger is locked', 'ledger_locked', 600);
    };
    await enqueue(
      t.sqs.client,
      t.queueUrl,
      [1, 2].map(() => classicEvent('payment_intent.succeeded', pi.stale)),
    );
    const records = await receiveRecords(t.sqs.client, t.queueUrl);
    // The second record's receipt handle is no longer valid (e.g. its message was received again meanwhile).
    const batch = [records[0]!, { ...records[1]!, receiptHandle: 'expired-receipt-handle' }];

    const { res, log } = await t.runBatchLogged(batch);

    expect(failedIds(res)).toEqual(batch.map((r) => r.messageId));
    expect(await t.visibleInMs(records[0]!.messageId)).toBeGreaterThan(590_000);
    expect(log.find((e) => e.message.startsWith('could not delay some messages'))).toMatchObject({
      failed: ['ReceiptHandleIsInvalid'],
    });
  });

  it('fails a record that throws unexpectedly with the rest of its group, and carries on with the other groups', async () => {
    t.processor = t.makeProcessor({ metrics: new ThrowingMetrics(t.metrics.emitted), logger: verbose() });
    const a = t.paymentIntent();
    const b = t.paymentIntent();
    const aEvents = [1, 2].map(() => classicEvent('payment_intent.succeeded', a.stale));
    await enqueue(t.sqs.client, t.queueUrl, aEvents);
    const aRecords = await receiveRecords(t.sqs.client, t.queueUrl);
    const bEvent = classicEvent('payment_intent.succeeded', b.stale);
    await enqueue(t.sqs.client, t.queueUrl, [bEvent]);
    const bRecords = await receiveRecords(t.sqs.client, t.queueUrl);
    // The attributes every producer sets (lambdas/shared/enqueue.ts): the log names the event from them.
    const first = {
      ...aRecords[0]!,
      messageAttributes: {
        eventId: { stringValue: String(aEvents[0]!.id), dataType: 'String' },
        eventType: { stringValue: 'payment_intent.succeeded', dataType: 'String' },
      },
    };

    const { res, log } = await t.runBatchLogged([first, aRecords[1]!, ...bRecords]);

    expect(failedIds(res)).toEqual(aRecords.map((r) => r.messageId));
    // The first record of group a ran (and threw after publishing); the second never started; group b ran.
    expect([...t.handled].sort()).toEqual([aEvents[0]!.id, bEvent.id].sort());
    expect(t.sink.published.map((p) => p.eventId).sort()).toEqual([aEvents[0]!.id, bEvent.id].sort());
    expect(log.find((e) => e.message === 'unexpected error processing a record')).toMatchObject({
      level: 'ERROR',
      messageId: first.messageId,
      eventId: aEvents[0]!.id,
      eventType: 'payment_intent.succeeded',
      error: 'RangeError: NaN is not a valid number',
    });
    expect(log.filter((e) => e.message === 'later records of the group left for redelivery, in order')).toEqual([
      expect.objectContaining({ messageIds: [aRecords[1]!.messageId] }),
    ]);
  });

  it('logs an unexpected throw of a record that lacks the producer attributes by its message id', async () => {
    t.processor = t.makeProcessor({ metrics: new ThrowingMetrics(t.metrics.emitted), logger: verbose() });
    await enqueue(t.sqs.client, t.queueUrl, [classicEvent('payment_intent.succeeded', t.paymentIntent().stale)]);

    const { res, records, log } = await t.runBatchLogged();

    expect(failedIds(res)).toEqual([records[0]!.messageId]);
    const entry = log.find((e) => e.message === 'unexpected error processing a record');
    expect(entry).toMatchObject({ messageId: records[0]!.messageId, error: 'RangeError: NaN is not a valid number' });
    expect(entry).not.toHaveProperty('eventId');
  });
});
