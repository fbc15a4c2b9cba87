/**
 * The processor at its limits: the invocation running out of time in the middle of a group, the range of delays
 * SQS accepts, what the DLQ's message attributes may hold, records without a group, and the latency it reports.
 */
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { MAX_REASON_CHARS } from '../../lambdas/processor/outcomes';
import { PermanentError, RetryableError } from '../../lambdas/shared/errors';
import { classicEvent, enqueue, receiveRecords } from './harness';
import { captureLog, failedIds, useProcessorFixture, verbose } from './processor-fixture';

const t = useProcessorFixture();

/** The records of `events`, received from the test's queue. */
async function recordsOf(events: Array<Record<string, unknown>>): Promise<SQSRecord[]> {
  await enqueue(t.sqs.client, t.queueUrl, events);
  return receiveRecords(t.sqs.client, t.queueUrl);
}

/** The record as a standard queue delivers it: without a MessageGroupId. */
function withoutGroup({ attributes: { MessageGroupId: _group, ...attributes }, ...record }: SQSRecord): SQSRecord {
  return { ...record, attributes };
}

describe('time', () => {
  it('reports only the records not yet started when time runs out in the middle of a group', async () => {
    const pi = t.paymentIntent();
    const events = [1, 2, 3].map(() => classicEvent('payment_intent.succeeded', pi.stale));
    const records = await recordsOf(events);
    t.processor = t.makeProcessor({ logger: verbose() });
    // 30 s at the start; exactly the 5 s margin before the first record (it starts), 1 ms less before the second.
    const remaining = [30_000, 5_000];
    const context = { getRemainingTimeInMillis: () => remaining.shift() ?? 4_999 };

    let res: Awaited<ReturnType<typeof t.processor.handle>> | undefined;
    const log = await captureLog(async () => {
      res = await t.processor.handle({ Records: records }, context);
    });

    // The first record is done: reporting it failed would process it again.
    expect(failedIds(res!)).toEqual(records.slice(1).map((r) => r.messageId));
    expect(t.handled).toEqual([events[0]!.id]);
    expect(log.find((e) => e.message.startsWith('invocation nearly out of time'))).toMatchObject({
      messageIds: records.slice(1).map((r) => r.messageId),
    });
    expect(log.find((e) => e.message === 'batch processed')).toMatchObject({ processed: 1, notStarted: 2 });
  });

  it('reports ProcessingLatency as the time from the event to its processing, never below 0', async () => {
    const created = Math.floor(t.clock / 1000) - 60;
    const late = classicEvent('payment_intent.succeeded', t.paymentIntent().stale, { created });
    // An event Stripe dated ahead of this clock (clock skew): no negative latency.
    const ahead = classicEvent('payment_intent.succeeded', t.paymentIntent().stale, { created: created + 3600 });
    const records = await recordsOf([late, ahead]);
    t.clock = created * 1000 + 7_250;

    const { res } = await t.runBatch(records);

    expect(res.batchItemFailures).toEqual([]);
    const latencies = t.metrics.emitted.filter((m) => m.name === 'ProcessingLatency').map((m) => m.value);
    expect(latencies.sort((x, y) => x - y)).toEqual([0, 7_250]);
    expect(t.sink.published.map((p) => p.processedAt)).toEqual([1, 2].map(() => new Date(t.clock).toISOString()));
  });
});

describe('records without a group', () => {
  it('runs each record of a standard queue on its own: a failure holds back no other record', async () => {
    const pi = t.paymentIntent();
    const events = [1, 2].map(() => classicEvent('payment_intent.succeeded', pi.stale));
    t.onPaymentIntent = async ({ event }) => {
      if (event.eventId === events[0]!.id) throw new RetryableError('not yet (test)', 'not_yet');
      return 'ok';
    };
    // From a standard queue: no MessageGroupId.
    const records = (await recordsOf(events)).map(withoutGroup);

    const { res } = await t.runBatch(records);

    expect(failedIds(res)).toEqual([records[0]!.messageId]);
    expect(t.sink.published.map((p) => p.eventId)).toEqual([events[1]!.id]);
  });
});

describe('delays SQS accepts', () => {
  it('rounds a delay up to whole seconds, caps it at 12 hours and never makes it negative', async () => {
    const delays = new Map<string, number>();
    t.onPaymentIntent = async ({ event }) => {
      throw new RetryableError('not yet (test)', 'not_yet', delays.get(event.eventId));
    };
    const events = [0.2, 50_000, -5].map((seconds) => {
      const event = classicEvent('payment_intent.succeeded', t.paymentIntent().stale);
      delays.set(String(event.id), seconds);
      return event;
    });
    const records = await recordsOf(events);
    t.processor = t.makeProcessor({ logger: verbose() });

    const { res, log } = await t.runBatchLogged(records);

    expect(failedIds(res)).toHaveLength(3);
    expect(log.filter((e) => e.message.startsWith('could not delay'))).toEqual([]);
    const [short, long, negative] = records.map((r) => r.messageId);
    const shortWait = await t.visibleInMs(short!);
    expect(shortWait).toBeGreaterThan(0);
    expect(shortWait).toBeLessThanOrEqual(1_000);
    const longWait = await t.visibleInMs(long!);
    expect(longWait).toBeGreaterThan(43_190_000);
    expect(longWait).toBeLessThanOrEqual(43_200_000);
    // Visible again at once: no longer in flight.
    expect(await t.visibleInMs(negative!)).toBeUndefined();
  });
});

describe('dead letters', () => {
  it(`cuts a failure reason to ${MAX_REASON_CHARS} characters, ending in an ellipsis, and keeps one that fits`, async () => {
    // describeError writes `PermanentError(too_long): <message>`: 26 characters before the message.
    const prefix = 'PermanentError(too_long): ';
    const reasons = new Map<string, string>();
    t.onPaymentIntent = async ({ event }) => {
      throw new PermanentError(reasons.get(event.eventId)!, 'too_long');
    };
    const fits = classicEvent('payment_intent.succeeded', t.paymentIntent().stale);
    const over = classicEvent('payment_intent.succeeded', t.paymentIntent().stale);
    reasons.set(String(fits.id), 'f'.repeat(MAX_REASON_CHARS - prefix.length));
    reasons.set(String(over.id), `${'o'.repeat(MAX_REASON_CHARS - prefix.length - 1)}XY`);

    const { res } = await t.runBatch(await recordsOf([fits, over]));

    expect(res.batchItemFailures).toEqual([]);
    const byEvent = new Map(
      (await t.deadLetters()).map((m) => [m.messageAttributes.EventId?.StringValue, m.messageAttributes]),
    );
    const kept = `${prefix}${reasons.get(String(fits.id))}`;
    const cut = `${prefix}${'o'.repeat(MAX_REASON_CHARS - prefix.length - 1)}…`;
    expect(kept).toHaveLength(MAX_REASON_CHARS);
    expect(cut).toHaveLength(MAX_REASON_CHARS);
    expect(byEvent.get(String(fits.id))?.FailureReason?.StringValue).toBe(kept);
    expect(byEvent.get(String(over.id))?.FailureReason?.StringValue).toBe(cut);
    // The failure the table records for an operator is cut the same way.
    expect(await t.store.get(String(over.id))).toMatchObject({ lastError: { message: cut, permanent: true } });
  });

  it('sends an empty failure code as "-" (SQS refuses an empty attribute value)', async () => {
    t.onPaymentIntent = async () => {
      throw new PermanentError('rejected without a code (test)', '');
    };

    const { res } = await t.runBatch(
      await recordsOf([classicEvent('payment_intent.succeeded', t.paymentIntent().stale)]),
    );

    expect(res.batchItemFailures).toEqual([]);
    const [dead] = await t.deadLetters();
    expect(dead?.messageAttributes.FailureCode).toMatchObject({ DataType: 'String', StringValue: '-' });
    // No FailedHandler: that one names a handler Lambda's failure only.
    expect(Object.keys(dead?.messageAttributes ?? {}).sort()).toEqual([
      'EventId',
      'FailedAt',
      'FailureCode',
      'FailureReason',
      'OriginalMessageId',
    ]);
    expect(dead?.messageAttributes.FailedAt?.StringValue).toBe(new Date(t.clock).toISOString());
    expect(dead?.messageAttributes.FailureReason).toMatchObject({
      DataType: 'String',
      StringValue: 'PermanentError: rejected without a code (test)',
    });
  });

  it("dead-letters a record without a MessageGroupId under its object's group, or 'undecodable'", async () => {
    t.onPaymentIntent = async () => {
      throw new PermanentError('rejected (test)', 'rejected');
    };
    const pi = t.paymentIntent();
    const event = classicEvent('payment_intent.succeeded', pi.stale);
    // From a standard queue: no message groups.
    const [record, other] = (await recordsOf([event, classicEvent('payment_intent.succeeded', pi.stale)])).map(
      withoutGroup,
    );
    const undecodable = { ...other!, body: '{"not":"a queue message"}' };

    t.processor = t.makeProcessor({ logger: verbose() });

    const { res, log } = await t.runBatchLogged([record!, undecodable]);

    expect(res.batchItemFailures).toEqual([]);
    // Nothing to release for the undecodable one: it was never claimed.
    expect(log.filter((e) => e.level === 'WARN')).toEqual([]);
    const groups = new Map((await t.deadLetters()).map((m) => [m.messageAttributes.EventId?.StringValue, m]));
    expect(groups.get(String(event.id))?.messageGroupId).toBe(`platform:${pi.id}`);
    expect(groups.get('unknown')?.messageGroupId).toBe('undecodable');
    // The decoder's own reason, as it gave it.
    expect(groups.get('unknown')?.messageAttributes.FailureReason?.StringValue).toBe(
      'PermanentError(bad_message): message is not a v1 queue message',
    );
  });
});
