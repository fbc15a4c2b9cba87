/**
 * Putting one Stripe event on the FIFO event queue: the single way the ingress (webhook and EventBridge), the
 * reconciler and the operator's replay enqueue, so every path groups, deduplicates, sizes and labels messages alike.
 *
 * Size: `queueMaxMessageBytes` is the queue's own limit, which SQS applies to the body and the message attributes
 * together; the body may take that less MESSAGE_ATTRIBUTE_HEADROOM_BYTES, and a larger event travels as a
 * `reference` the processor resolves from Stripe.
 *
 * Content: bodies and attribute values never hold a character SQS refuses (see sqsSafeJson, sqsSafeText). A send
 * SQS still refuses for what the message is would be refused again on every retry: such a message is sent once more
 * as a `reference` (no payload left to refuse); if SQS refuses that too and the caller gave a dead-letter queue, the
 * reference is parked there with the reason (parkMessage), so the caller can go on instead of retrying for ever.
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { describeError } from './errors';
import type { QueueClient } from './queue-client';
import {
  deduplicationId,
  encodeMessage,
  type MessageKind,
  maxBodyBytes,
  messageGroupId,
  type QueueMessage,
  sqsSafeText,
} from './queue-message';

export interface EnqueueOptions {
  /** The event queue's maximum message size (body and attributes), bytes. */
  readonly maxMessageBytes: number;
  /**
   * A deduplication id other than the event id. Only an operator's `replay --force` sets it: SQS would otherwise
   * drop a second send of the same event within its 5-minute deduplication window.
   */
  readonly deduplicationIdOverride?: string;
  /** Where a message SQS refuses for what it is goes (see the module comment). @default - refused sends throw */
  readonly deadLetterQueueUrl?: string;
  /** The time written on a parked message. @default () => new Date() */
  readonly now?: () => Date;
}

export interface EnqueueResult {
  readonly kind: MessageKind;
  readonly messageId: string | undefined;
  /** Set when SQS refused the message for what it is and it was parked on the dead-letter queue instead. */
  readonly parked?: { readonly code: string; readonly reason: string };
}

/** SQS errors that say the message itself is unacceptable: a retry of the same message fails the same way. */
const REFUSED_FOR_CONTENT = new Set([
  'InvalidMessageContents',
  'InvalidParameterValue',
  'InvalidAttributeValue',
  'InvalidAttributeName',
]);

/** True when SQS refused a send because of the message itself (see REFUSED_FOR_CONTENT). */
export function refusedForContent(err: unknown): boolean {
  const e = err as { name?: unknown; Code?: unknown } | undefined;
  const names = [e?.name, e?.Code].filter((n): n is string => typeof n === 'string');
  // The JSON protocol names errors `AWS.SimpleQueueService.<Code>` in some places and `<Code>` in others.
  return names.some((n) => REFUSED_FOR_CONTENT.has(n.replace(/^AWS\.SimpleQueueService\./, '')));
}

/** Sends the message; throws whatever SQS throws unless it was parked (callers answer 5xx / retry). */
export async function enqueueMessage(
  sqs: QueueClient,
  queueUrl: string,
  msg: QueueMessage,
  opts: EnqueueOptions,
): Promise<EnqueueResult> {
  const attributes: Record<string, MessageAttributeValue> = {
    eventId: text(msg.eventId),
    eventType: text(msg.type),
    source: text(msg.source),
  };
  const send = async (body: string) =>
    sqs.sendMessage({
      QueueUrl: queueUrl,
      MessageBody: body,
      MessageGroupId: messageGroupId(msg),
      MessageDeduplicationId: opts.deduplicationIdOverride ?? deduplicationId(msg),
      MessageAttributes: attributes,
    });

  const encoded = encodeMessage(msg, maxBodyBytes(opts.maxMessageBytes));
  let refusal: unknown;
  try {
    const out = await send(encoded.body);
    return { kind: encoded.kind, messageId: out.MessageId };
  } catch (err) {
    if (!refusedForContent(err)) throw err;
    refusal = err;
  }
  if (encoded.kind !== 'reference') {
    try {
      const out = await send(encodeMessage(msg, 0).body);
      return { kind: 'reference', messageId: out.MessageId };
    } catch (err) {
      if (!refusedForContent(err)) throw err;
      refusal = err;
    }
  }
  if (!opts.deadLetterQueueUrl) throw refusal;
  const failure = { code: 'enqueue_refused', reason: `SQS refused the message: ${describeError(refusal)}` };
  const parked = await parkMessage(sqs, opts.deadLetterQueueUrl, msg, failure, {
    ...(opts.deduplicationIdOverride ? { deduplicationId: opts.deduplicationIdOverride } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { kind: 'reference', messageId: parked.messageId, parked: failure };
}

/** SQS keeps message attribute values short here: no bodies, no secrets. */
const MAX_REASON_CHARS = 256;

/**
 * Puts `msg` on the dead-letter queue as a `reference` (the processor retrieves the event from Stripe if an operator
 * redrives it), with the attributes the processor sets on its own permanent failures: FailureCode, FailureReason,
 * EventId, FailedAt. For events that cannot be enqueued at all, so they are visible and counted instead of retried.
 */
export async function parkMessage(
  sqs: QueueClient,
  dlqUrl: string,
  msg: QueueMessage,
  failure: { readonly code: string; readonly reason: string },
  opts: { deduplicationId?: string; now?: () => Date } = {},
): Promise<{ messageId: string | undefined }> {
  const reason =
    failure.reason.length > MAX_REASON_CHARS ? `${failure.reason.slice(0, MAX_REASON_CHARS - 1)}…` : failure.reason;
  const out = await sqs.sendMessage({
    QueueUrl: dlqUrl,
    MessageBody: encodeMessage(msg, 0).body,
    MessageGroupId: messageGroupId(msg),
    MessageDeduplicationId: opts.deduplicationId ?? deduplicationId(msg),
    MessageAttributes: {
      FailureCode: text(failure.code),
      FailureReason: text(reason),
      EventId: text(msg.eventId),
      FailedAt: text((opts.now ?? (() => new Date()))().toISOString()),
    },
  });
  return { messageId: out.MessageId };
}

function text(value: string): MessageAttributeValue {
  // SQS refuses an empty string value.
  return { DataType: 'String', StringValue: value === '' ? '-' : sqsSafeText(value) };
}
