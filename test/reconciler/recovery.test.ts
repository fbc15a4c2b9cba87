/**
 * The reconciler after long outages and against events it cannot enqueue as they are (issue 10: F2, F3, F11), on
 * dynalite, fauxqs (queues sized as the EventQueue construct sizes them: 256 KB, attributes included) and the local
 * Stripe server.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { encodeMessage, toQueueMessage } from '../../lambdas/shared/queue-message';
import { countByEvent, drain, paymentEvent } from './helpers';
import { useReconcilerWorld } from './world';

const world = useReconcilerWorld();
const HOUR = 3600;
const DAY = 86_400;

async function deadLetters(queueUrl: string) {
  const w = world();
  const out = await w.sqs.client.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
  );
  return (out.Messages ?? []).map((m) => ({
    eventId: m.MessageAttributes?.EventId?.StringValue,
    code: m.MessageAttributes?.FailureCode?.StringValue,
    reason: m.MessageAttributes?.FailureReason?.StringValue ?? '',
    body: JSON.parse(m.Body ?? '{}') as { kind?: string; eventId?: string },
  }));
}

describe('after an outage longer than Stripe keeps events (F2)', () => {
  it('moves the checkpoint past the retention edge, reports the span lost, and reaches recent events', async () => {
    const w = world();
    const start = w.nowS;
    const recent = paymentEvent(start - 2 * DAY);
    w.stripe.addEvent(recent);
    await w.state.advanceCheckpoint(start - 40 * DAY);

    // Each run has time for about ten one-day slices, then stops (as a Lambda near its timeout does).
    const results = [];
    for (let run = 0; run < 6; run++) {
      let checks = 0;
      results.push(
        await w.reconciler({ sliceSeconds: DAY }).run({ remainingTimeMs: () => (++checks > 10 ? 1_000 : 60_000) }),
      );
      w.nowS += 15 * 60;
    }

    const edge = start - 30 * DAY + HOUR;
    expect(results[0]).toMatchObject({ status: 'out_of_time', unrecoverable: { from: start - 40 * DAY, to: edge } });
    expect(results[0]!.checkpointAfter).toBeGreaterThan(edge);
    expect(results.slice(1).every((r) => r.unrecoverable === undefined)).toBe(true);
    expect(w.metrics.total('ReconcileUnrecoverableSeconds')).toBe(10 * DAY + HOUR);
    expect(results.at(-1)?.status).toBe('completed');
    expect([...countByEvent(await drain(w.sqs.client, w.queues.queueUrl)).entries()]).toEqual([[recent.id, 1]]);
  });

  it('still leaves the checkpoint alone after a --since later than it', async () => {
    const w = world();
    await w.state.advanceCheckpoint(w.nowS - 40 * DAY);
    const result = await w.reconciler({ sliceSeconds: DAY }).run({ since: w.nowS - 20 * DAY });
    expect(result.status).toBe('completed');
    expect(result.unrecoverable).toBeUndefined();
    expect(await w.state.getCheckpoint()).toBe(w.nowS - 40 * DAY);
  });
});

describe('events that cannot be enqueued as they are (F3)', () => {
  it('keeps room for the message attributes: a body that fits 256 KB only without them goes as a reference', async () => {
    const w = world();
    // A body SQS would take alone but not with its attributes (eventId, eventType, source).
    const event = paymentEvent(w.nowS - HOUR);
    const pad = (n: number) => {
      (event.data as { object: Record<string, unknown> }).object.description = 'x'.repeat(n);
      return Buffer.byteLength(encodeMessage(toQueueMessage(event, 'reconcile', new Date()), 10_000_000).body);
    };
    expect(pad(262_100 - pad(0))).toBe(262_100);
    w.stripe.addEvent(event);

    const result = await w.reconciler().run();

    expect(result).toMatchObject({ status: 'completed', enqueued: 1, parked: 0 });
    const [queued] = await drain(w.sqs.client, w.queues.queueUrl);
    expect(queued?.body).toMatchObject({ eventId: event.id, kind: 'reference' });
  });

  it('enqueues an event holding characters SQS refuses in a body (escaped, the same JSON value)', async () => {
    const w = world();
    const event = paymentEvent(w.nowS - HOUR);
    (event.data as { object: Record<string, unknown> }).object.description = 'odd \uffff name 🙂';
    w.stripe.addEvent(event);

    const result = await w.reconciler().run();

    expect(result).toMatchObject({ status: 'completed', enqueued: 1 });
    const [queued] = await drain(w.sqs.client, w.queues.queueUrl);
    expect(queued?.body.kind).toBe('snapshot');
    expect(queued?.body.event).toEqual(event);
  });

  it('parks an event it cannot read on the DLQ with the reason, and goes on with the rest and the checkpoint', async () => {
    const w = world();
    const unreadable = { ...paymentEvent(w.nowS - 2 * HOUR), data: { object: 'not an object' } };
    const good = paymentEvent(w.nowS - HOUR);
    w.stripe.addEvent(unreadable);
    w.stripe.addEvent(good);

    const result = await w.reconciler().run();

    expect(result).toMatchObject({ status: 'completed', parked: 1, enqueued: 1, checkpointAfter: w.nowS - 300 });
    expect([...countByEvent(await drain(w.sqs.client, w.queues.queueUrl)).keys()]).toEqual([good.id]);
    const parked = await deadLetters(w.queues.dlqUrl);
    expect(parked).toEqual([
      {
        eventId: unreadable.id,
        code: 'bad_event_bad_data',
        reason: expect.stringContaining('event.data.object must be an object'),
        body: expect.objectContaining({ eventId: unreadable.id, kind: 'reference' }),
      },
    ]);
    expect(w.metrics.total('ReconcileEventsParked')).toBe(1);
  });
});

describe('failed events (F11)', () => {
  it('enqueues transient failures again, and leaves permanent ones (already in the DLQ) alone', async () => {
    const w = world();
    const permanent = paymentEvent(w.nowS - 2 * HOUR);
    const transient = paymentEvent(w.nowS - HOUR);
    w.stripe.addEvent(permanent);
    w.stripe.addEvent(transient);
    await w.markFailed(permanent.id, true);
    await w.markFailed(transient.id, false);

    const result = await w.reconciler().run();

    expect(result).toMatchObject({ status: 'completed', listed: 2, pending: 1, deadLettered: 1, enqueued: 1 });
    expect([...countByEvent(await drain(w.sqs.client, w.queues.queueUrl)).keys()]).toEqual([transient.id]);
  });
});
