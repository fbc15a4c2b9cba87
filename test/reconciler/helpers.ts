/**
 * What the reconciler and ops tests share: a fresh "world" per test (its own idempotency table, FIFO queue + DLQ and
 * Stripe server on shared dynalite/fauxqs), Stripe events shaped like the real ones, and a drain of the queue.
 */
import { type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { decodeMessage, type QueueMessage } from '../../lambdas/shared/queue-message';

let counter = 0;
/** A unique suffix, so tests sharing servers never see each other's data. */
export function uid(): string {
  counter += 1;
  return `${Date.now().toString(36)}x${counter}`;
}

/** A classic event about a payment intent, created at `created` (Unix seconds). */
export function paymentEvent(
  created: number,
  opts: { id?: string; type?: string; intent?: string } = {},
): Record<string, unknown> & { id: string; created: number } {
  const intent = opts.intent ?? `pi_${uid()}`;
  return {
    id: opts.id ?? `evt_${uid()}`,
    object: 'event',
    api_version: '2025-09-30.clover',
    created,
    livemode: false,
    pending_webhooks: 0,
    type: opts.type ?? 'payment_intent.succeeded',
    data: { object: { id: intent, object: 'payment_intent', amount: 1000, currency: 'eur', status: 'succeeded' } },
  };
}

export interface QueuedMessage {
  readonly message: Message;
  readonly body: QueueMessage;
}

/**
 * Receives every message on a queue (each test event is about its own object, so its own FIFO group), leaving
 * them in flight for `visibilitySeconds` so none is seen twice.
 */
export async function drain(sqs: SQSClient, queueUrl: string, visibilitySeconds = 120): Promise<QueuedMessage[]> {
  const out: QueuedMessage[] = [];
  for (;;) {
    const res = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: visibilitySeconds,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const messages = res.Messages ?? [];
    if (messages.length === 0) return out;
    for (const m of messages) out.push({ message: m, body: decodeMessage(m.Body ?? '') });
  }
}

/** How many times each event id appears. */
export function countByEvent(messages: readonly QueuedMessage[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) counts.set(m.body.eventId, (counts.get(m.body.eventId) ?? 0) + 1);
  return counts;
}
