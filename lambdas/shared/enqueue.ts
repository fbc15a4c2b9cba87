/**
 * Putting one Stripe event on the FIFO event queue: the single way the ingress (webhook and EventBridge), the
 * reconciler and the operator's replay enqueue, so every path groups, deduplicates and labels messages alike.
 */
import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { deduplicationId, encodeMessage, type MessageKind, messageGroupId, type QueueMessage } from './queue-message';

export interface EnqueueOptions {
  /** Larger events are sent as a `reference` the processor resolves from Stripe. */
  readonly maxMessageBytes: number;
  /**
   * A deduplication id other than the event id. Only an operator's `replay --force` sets it: SQS would otherwise
   * drop a second send of the same event within its 5-minute deduplication window.
   */
  readonly deduplicationIdOverride?: string;
}

export interface EnqueueResult {
  readonly kind: MessageKind;
  readonly messageId: string | undefined;
}

/** Sends the message; throws whatever SQS throws (callers answer 5xx / retry). */
export async function enqueueMessage(
  sqs: SQSClient,
  queueUrl: string,
  msg: QueueMessage,
  opts: EnqueueOptions,
): Promise<EnqueueResult> {
  const { body, kind } = encodeMessage(msg, opts.maxMessageBytes);
  const attributes: Record<string, MessageAttributeValue> = {
    eventId: { DataType: 'String', StringValue: msg.eventId },
    eventType: { DataType: 'String', StringValue: msg.type },
    source: { DataType: 'String', StringValue: msg.source },
  };
  const out = await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: body,
      MessageGroupId: messageGroupId(msg),
      MessageDeduplicationId: opts.deduplicationIdOverride ?? deduplicationId(msg),
      MessageAttributes: attributes,
    }),
  );
  return { kind, messageId: out.MessageId };
}
