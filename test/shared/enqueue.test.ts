/**
 * The one enqueue path (lambdas/shared/enqueue.ts) on fauxqs: which SQS errors count as "refused for what the message
 * is", the second try as a `reference`, parking on the dead-letter queue with the reason, and what a parked message
 * carries. fauxqs never refuses a well-formed send for its content, so the refusals come from a QueueClient that
 * answers the planned errors first and passes every other send on to fauxqs.
 */
import type { SendMessageRequest, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueMessage, parkMessage, refusedForContent } from '../../lambdas/shared/enqueue';
import type { QueueClient } from '../../lambdas/shared/queue-client';
import { type QueueMessage, toQueueMessage } from '../../lambdas/shared/queue-message';
import { sdkQueueClient } from '../../lambdas/shared/sdk-queue-client';
import { createEventQueues, type LocalQueues, type RunningService, startSqs } from '../../local/stand-ins';
import { drain, paymentEvent, uid } from '../reconciler/helpers';

let sqs: RunningService<SQSClient>;
beforeAll(async () => {
  sqs = await startSqs();
});
afterAll(async () => {
  await sqs.close();
});

async function freshQueues(): Promise<LocalQueues> {
  return createEventQueues(sqs.client, { name: `enq-${uid()}`, visibilityTimeoutSeconds: 60, maxReceiveCount: 3 });
}

/** An SQS error as the SDK throws it: named after the service's error code. */
function sqsError(name: string): Error {
  return Object.assign(new Error(`SQS answered ${name}`), { name });
}

/** Answers the planned errors to the first sends (one per send, `undefined` = pass on), then passes every send on. */
function refusing(plan: Array<Error | undefined>): QueueClient & { sent: SendMessageRequest[] } {
  const inner = sdkQueueClient(sqs.client);
  const sent: SendMessageRequest[] = [];
  return {
    sent,
    async sendMessage(input) {
      sent.push(input);
      const err = plan.shift();
      if (err) throw err;
      return inner.sendMessage(input);
    },
    getQueueAttributes: (input, options) => inner.getQueueAttributes(input, options),
  };
}

function eventMessage(): QueueMessage {
  return toQueueMessage(paymentEvent(1_790_000_000), 'reconcile', new Date('2026-11-26T00:00:00Z'));
}

const at = new Date('2026-11-27T10:00:00Z');

describe('refusedForContent', () => {
  it('recognises the codes SQS gives a message it refuses for its content, with or without the service prefix', () => {
    expect(refusedForContent(sqsError('InvalidMessageContents'))).toBe(true);
    expect(refusedForContent({ Code: 'InvalidParameterValue' })).toBe(true);
    expect(
      refusedForContent({ name: 'SQSServiceException', Code: 'AWS.SimpleQueueService.InvalidAttributeValue' }),
    ).toBe(true);
    expect(refusedForContent({ name: 'AWS.SimpleQueueService.InvalidAttributeName', Code: 400 })).toBe(true);
  });

  it('does not count throttling, outages or odd thrown values as refused for content', () => {
    expect(refusedForContent(sqsError('ThrottlingException'))).toBe(false);
    expect(refusedForContent({ name: 'ServiceUnavailable', Code: 'AWS.SimpleQueueService.ServiceUnavailable' })).toBe(
      false,
    );
    expect(refusedForContent({ name: 'Error', Code: 'Xs.InvalidMessageContents' })).toBe(false);
    // Only a leading service prefix is dropped before the code is compared.
    expect(refusedForContent({ Code: 'InvalidAWS.SimpleQueueService.MessageContents' })).toBe(false);
    expect(refusedForContent(undefined)).toBe(false);
    expect(refusedForContent({ name: 7, Code: null })).toBe(false);
  });
});

describe('enqueueMessage when SQS refuses a send', () => {
  it('throws an error that is not about the message itself without trying again', async () => {
    const q = await freshQueues();
    const client = refusing([sqsError('ThrottlingException')]);
    await expect(
      enqueueMessage(client, q.queueUrl, eventMessage(), { maxMessageBytes: 262_144, deadLetterQueueUrl: q.dlqUrl }),
    ).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(client.sent).toHaveLength(1);
    expect(await drain(sqs.client, q.dlqUrl)).toEqual([]);
  });

  it('sends a snapshot SQS refused for its content once more as a reference', async () => {
    const q = await freshQueues();
    const msg = eventMessage();
    const client = refusing([sqsError('InvalidMessageContents')]);
    const out = await enqueueMessage(client, q.queueUrl, msg, { maxMessageBytes: 262_144 });
    expect(out.kind).toBe('reference');
    expect(out.parked).toBeUndefined();
    expect(client.sent).toHaveLength(2);
    const [queued] = await drain(sqs.client, q.queueUrl);
    expect(out.messageId).toBe(queued?.message.MessageId);
    expect(queued?.body).toMatchObject({ kind: 'reference', eventId: msg.eventId, type: msg.type });
    expect(queued?.body.event).toBeUndefined();
    expect(queued?.message.MessageAttributes).toEqual({
      eventId: { DataType: 'String', StringValue: msg.eventId },
      eventType: { DataType: 'String', StringValue: msg.type },
      source: { DataType: 'String', StringValue: 'reconcile' },
    });
  });

  it('throws what SQS answered to the reference when that is not about the message', async () => {
    const q = await freshQueues();
    const client = refusing([sqsError('InvalidMessageContents'), sqsError('ServiceUnavailable')]);
    await expect(
      enqueueMessage(client, q.queueUrl, eventMessage(), { maxMessageBytes: 262_144, deadLetterQueueUrl: q.dlqUrl }),
    ).rejects.toMatchObject({ name: 'ServiceUnavailable' });
    expect(await drain(sqs.client, q.dlqUrl)).toEqual([]);
  });

  it('without a dead-letter queue, throws the refusal of the reference', async () => {
    const q = await freshQueues();
    const second = sqsError('InvalidParameterValue');
    const client = refusing([sqsError('InvalidMessageContents'), second]);
    await expect(enqueueMessage(client, q.queueUrl, eventMessage(), { maxMessageBytes: 262_144 })).rejects.toBe(second);
    expect(client.sent).toHaveLength(2);
  });

  it('does not send a message that already travels as a reference a second time before parking it', async () => {
    const q = await freshQueues();
    const msg = eventMessage();
    const client = refusing([sqsError('InvalidMessageContents')]);
    // Too small a queue for the event: it travels as a reference from the first send.
    const out = await enqueueMessage(client, q.queueUrl, msg, {
      maxMessageBytes: 4_200,
      deadLetterQueueUrl: q.dlqUrl,
      now: () => at,
    });
    expect(client.sent).toHaveLength(2);
    expect(client.sent[1]?.QueueUrl).toBe(q.dlqUrl);
    expect(out).toMatchObject({ kind: 'reference', parked: { code: 'enqueue_refused' } });
  });

  it('parks a message SQS refuses as a reference too on the dead-letter queue, with the reason and time', async () => {
    const q = await freshQueues();
    const msg = eventMessage();
    const client = refusing([sqsError('InvalidMessageContents'), sqsError('InvalidAttributeValue')]);
    const out = await enqueueMessage(client, q.queueUrl, msg, {
      maxMessageBytes: 262_144,
      deadLetterQueueUrl: q.dlqUrl,
      deduplicationIdOverride: `${msg.eventId}:replay-1`,
      now: () => at,
    });
    const reason = 'SQS refused the message: InvalidAttributeValue: SQS answered InvalidAttributeValue';
    expect(out).toEqual({
      kind: 'reference',
      messageId: expect.any(String),
      parked: { code: 'enqueue_refused', reason },
    });
    expect(await drain(sqs.client, q.queueUrl)).toEqual([]);
    const [parked] = await drain(sqs.client, q.dlqUrl);
    expect(parked?.message.MessageId).toBe(out.messageId);
    expect(parked?.body).toMatchObject({ kind: 'reference', eventId: msg.eventId });
    expect(client.sent[2]?.MessageDeduplicationId).toBe(`${msg.eventId}:replay-1`);
    const attrs = parked?.message.MessageAttributes ?? {};
    expect(attrs.FailureCode?.StringValue).toBe('enqueue_refused');
    expect(attrs.FailureReason?.StringValue).toBe(reason);
    expect(attrs.EventId?.StringValue).toBe(msg.eventId);
    expect(attrs.FailedAt?.StringValue).toBe(at.toISOString());
  });

  it('parks under the event id when no other deduplication id was given', async () => {
    const q = await freshQueues();
    const msg = eventMessage();
    const client = refusing([sqsError('InvalidMessageContents'), sqsError('InvalidMessageContents')]);
    await enqueueMessage(client, q.queueUrl, msg, { maxMessageBytes: 262_144, deadLetterQueueUrl: q.dlqUrl });
    expect(client.sent[2]?.MessageDeduplicationId).toBe(msg.eventId);
    const [parked] = await drain(sqs.client, q.dlqUrl);
    const failedAt = Date.parse(parked?.message.MessageAttributes?.FailedAt?.StringValue ?? '');
    expect(Math.abs(failedAt - Date.now())).toBeLessThan(60_000);
  });
});

describe('parkMessage', () => {
  async function parkedReason(reason: string): Promise<string | undefined> {
    const q = await freshQueues();
    const out = await parkMessage(sdkQueueClient(sqs.client), q.dlqUrl, eventMessage(), { code: 'x', reason });
    const [parked] = await drain(sqs.client, q.dlqUrl);
    expect(out.messageId).toBe(parked?.message.MessageId);
    return parked?.message.MessageAttributes?.FailureReason?.StringValue;
  }

  it('keeps a reason of up to 256 characters whole and cuts a longer one to 256 with an ellipsis', async () => {
    expect(await parkedReason('r'.repeat(256))).toBe('r'.repeat(256));
    expect(await parkedReason(`${'r'.repeat(256)}s`)).toBe(`${'r'.repeat(255)}…`);
  });

  it('writes the time of parking when the caller gives no clock', async () => {
    const q = await freshQueues();
    const before = Date.now();
    await parkMessage(sdkQueueClient(sqs.client), q.dlqUrl, eventMessage(), { code: 'x', reason: 'y' });
    const [parked] = await drain(sqs.client, q.dlqUrl);
    const failedAt = Date.parse(parked?.message.MessageAttributes?.FailedAt?.StringValue ?? '');
    expect(failedAt).toBeGreaterThanOrEqual(before - 1);
    expect(failedAt).toBeLessThanOrEqual(Date.now());
  });

  it('labels an empty reason with a dash, since SQS refuses an empty attribute value', async () => {
    expect(await parkedReason('')).toBe('-');
  });
});
