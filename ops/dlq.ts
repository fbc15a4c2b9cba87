/**
 * The dead-letter queue, for the operator: what is in it and why, one message in full, and moving messages back to
 * the event queue.
 *
 * A message reaches the DLQ one of two ways, and the reason lives in a different place for each:
 * - the processor sends a permanent failure there at once, with MessageAttributes FailureCode / FailureReason /
 *   EventId / OriginalMessageId / FailedAt;
 * - SQS itself moves a message after maxReceiveCount failed receives (transient failures that never cleared); it
 *   carries no reason, but the processor recorded the last error (`lastError`) in the idempotency table.
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import type { IdempotencyRecord, IdempotencyStore } from '../lambdas/shared/idempotency-store';
import { decodeMessage, messageGroupId, type QueueMessage } from '../lambdas/shared/queue-message';
import { type OpsTarget, storeOf } from './target';

/** Why a message is in the DLQ. */
export interface DlqReason {
  /**
   * - `processor`: a permanent failure the processor dead-lettered at once (the message's attributes say why);
   * - `table`: SQS moved it after maxReceiveCount; the reason is the last error recorded in the idempotency table;
   * - `unknown`: neither (e.g. the body is not a queue message and no attributes were set).
   */
  readonly origin: 'processor' | 'table' | 'unknown';
  readonly code: string;
  readonly message: string;
  /** ISO 8601, when known. */
  readonly at?: string;
}

/** One DLQ message, as `dlq list` shows it. */
export interface DlqEntry {
  readonly messageId: string;
  readonly eventId?: string;
  readonly type?: string;
  /** Which path brought the event in (webhook, eventbridge, reconcile, replay). */
  readonly source?: string;
  readonly group?: string;
  /**
   * How often the message had been received before this look (SQS's ApproximateReceiveCount less this peek). Each
   * look (`dlq list`, `dlq inspect`) receives a message once, so this rises by 1 per look; the DLQ has no redrive
   * policy, so that moves it toward no limit, and a redrive gives it a new message with a count of 0.
   */
  readonly receiveCount: number;
  /** When the message was sent to the DLQ (ISO 8601). */
  readonly sentAt?: string;
  readonly reason: DlqReason;
}

/** One DLQ message in full, as `dlq inspect` shows it. */
export interface DlqDetail extends DlqEntry {
  readonly body: QueueMessage | string;
  readonly attributes: Record<string, string>;
  readonly record?: IdempotencyRecord;
}

export interface DlqListing {
  readonly entries: DlqEntry[];
  /** SQS's ApproximateNumberOfMessages (visible) before the peek. */
  readonly approximateVisible: number;
  readonly approximateInFlight: number;
}

/** Receives at most 10 at a time; SQS's batch limit. */
const BATCH = 10;
/** How long peeked messages stay hidden before they are made visible again (a crash mid-peek hides them this long). */
const PEEK_VISIBILITY_SECONDS = 30;
/** How long a redrive run hides the DLQ messages it received (it makes the ones it leaves visible at its end). */
const REDRIVE_VISIBILITY_SECONDS = 120;
/** Processor-set attributes that describe a failed attempt, not the event: not carried back to the queue. */
const FAILURE_ATTRIBUTES = new Set(['FailureCode', 'FailureReason', 'FailedAt', 'OriginalMessageId']);

function attributeValues(m: Message): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m.MessageAttributes ?? {}))
    if (v.StringValue !== undefined) out[k] = v.StringValue;
  return out;
}

function decode(m: Message): QueueMessage | undefined {
  try {
    return decodeMessage(m.Body ?? '');
  } catch {
    return undefined;
  }
}

/**
 * Looks at up to `limit` DLQ messages without consuming them: they are received with a short visibility timeout
 * (so one peek sees each message once) and made visible again at the end. On a FIFO DLQ, messages queued behind
 * a peeked message of the same group stay hidden until it is visible again: compare with `approximateVisible`.
 */
export async function peekDlq(
  target: OpsTarget,
  limit: number,
): Promise<{ messages: Message[]; listing: Omit<DlqListing, 'entries'> }> {
  const attrs = await target.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: target.dlqUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const messages: Message[] = [];
  const seen = new Set<string>();
  try {
    while (messages.length < limit) {
      const out = await target.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: target.dlqUrl,
          MaxNumberOfMessages: Math.min(BATCH, limit - messages.length),
          VisibilityTimeout: PEEK_VISIBILITY_SECONDS,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      const fresh = (out.Messages ?? []).filter((m) => m.MessageId && !seen.has(m.MessageId));
      if (fresh.length === 0) break;
      for (const m of fresh) {
        seen.add(m.MessageId!);
        messages.push(m);
      }
    }
  } finally {
    await release(target, messages);
  }
  return {
    messages,
    listing: {
      approximateVisible: Number(attrs.Attributes?.ApproximateNumberOfMessages ?? 0),
      approximateInFlight: Number(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
    },
  };
}

/** Makes peeked messages visible again at once. */
async function release(target: OpsTarget, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += BATCH) {
    const chunk = messages.slice(i, i + BATCH);
    await target.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: target.dlqUrl,
        Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
      }),
    );
  }
}

/** The entry for one message, with its reason (attributes first, else the table's lastError). */
async function describe(m: Message, store: IdempotencyStore): Promise<DlqDetail> {
  const attributes = attributeValues(m);
  const decoded = decode(m);
  const eventId = decoded?.eventId ?? (attributes.EventId !== 'unknown' ? attributes.EventId : undefined);
  const record = eventId ? await store.get(eventId) : undefined;
  let reason: DlqReason;
  if (attributes.FailureCode) {
    reason = {
      origin: 'processor',
      code: attributes.FailureCode,
      message: attributes.FailureReason ?? '',
      ...(attributes.FailedAt ? { at: attributes.FailedAt } : {}),
    };
  } else if (record?.lastError) {
    reason = {
      origin: 'table',
      code: record.lastError.code,
      message: record.lastError.message,
      at: record.lastError.at,
    };
  } else {
    reason = {
      origin: 'unknown',
      code: decoded ? 'no_recorded_error' : 'undecodable_body',
      message: decoded
        ? `no failure recorded${record ? ` (table status ${record.status})` : ' (no table record)'}`
        : 'the body is not a queue message',
    };
  }
  const sent = m.Attributes?.SentTimestamp;
  const type = decoded?.type ?? attributes.eventType;
  const source = decoded?.source ?? attributes.source;
  return {
    messageId: m.MessageId!,
    ...(eventId ? { eventId } : {}),
    ...(type ? { type } : {}),
    ...(source ? { source } : {}),
    ...(m.Attributes?.MessageGroupId ? { group: m.Attributes.MessageGroupId } : {}),
    receiveCount: Math.max(0, Number(m.Attributes?.ApproximateReceiveCount ?? 1) - 1),
    ...(sent ? { sentAt: new Date(Number(sent)).toISOString() } : {}),
    reason,
    body: decoded ?? m.Body ?? '',
    attributes,
    ...(record ? { record } : {}),
  };
}

/** `dlq list`: up to `limit` messages with their reasons, without consuming them. */
export async function listDlq(target: OpsTarget, limit: number): Promise<DlqListing> {
  const { messages, listing } = await peekDlq(target, limit);
  const store = storeOf(target);
  const entries: DlqEntry[] = [];
  for (const m of messages) {
    const { body: _body, attributes: _attributes, record: _record, ...entry } = await describe(m, store);
    entries.push(entry);
  }
  return { entries, ...listing };
}

/** `dlq inspect`: one message (by SQS message id, original message id or event id), in full. */
export async function inspectDlq(target: OpsTarget, id: string, limit = 1000): Promise<DlqDetail | undefined> {
  const { messages } = await peekDlq(target, limit);
  const found = messages.find(
    (m) =>
      m.MessageId === id ||
      m.MessageAttributes?.OriginalMessageId?.StringValue === id ||
      m.MessageAttributes?.EventId?.StringValue === id ||
      decode(m)?.eventId === id,
  );
  return found ? describe(found, storeOf(target)) : undefined;
}

/** What one `dlq redrive` run did. */
export interface RedriveReport {
  readonly moved: MovedMessage[];
  /** Messages this run left in the DLQ: they failed again after this run moved them (or their event was moved). */
  readonly skipped: Array<{ readonly messageId: string; readonly eventId?: string }>;
}

export interface MovedMessage {
  readonly messageId: string;
  readonly eventId?: string;
  /** The message id on the event queue. */
  readonly newMessageId?: string;
}

/**
 * Moves up to `max` messages from the DLQ back to the event queue by hand: receive, send with the same group and a
 * NEW deduplication id (FIFO would drop a re-send of the original id within 5 minutes), then delete from the DLQ.
 * A message is deleted only once the send succeeded. The processor dedupes a redriven event like any other (a
 * FAILED claim is claimable again; a DONE one is skipped).
 *
 * A run moves each message at most once: a message that fails again while the run goes on comes back to the DLQ as
 * a new message (the processor's copy names the redriven message in OriginalMessageId; SQS's own move keeps its
 * message id), and moving it again would loop. Such a message is left in the DLQ (hidden until the run ends, then
 * visible again) and reported in `skipped`.
 *
 * Used locally (fauxqs has no StartMessageMoveTask) and in AWS when `--max` asks for only some messages.
 */
export async function redriveByHand(target: OpsTarget, max: number): Promise<RedriveReport> {
  const moved: MovedMessage[] = [];
  const skipped: Message[] = [];
  /** Event-queue message ids this run created. */
  const sentIds = new Set<string>();
  try {
    while (moved.length < max) {
      const out = await target.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: target.dlqUrl,
          MaxNumberOfMessages: Math.min(BATCH, max - moved.length),
          // Held for the whole run: a skipped message must not be received again before the run ends.
          VisibilityTimeout: REDRIVE_VISIBILITY_SECONDS,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) break;
      for (const [i, m] of messages.entries()) {
        const decoded = decode(m);
        const eventId = decoded?.eventId ?? m.MessageAttributes?.EventId?.StringValue;
        const original = m.MessageAttributes?.OriginalMessageId?.StringValue;
        if (sentIds.has(m.MessageId!) || (original && sentIds.has(original))) {
          skipped.push(m);
          continue;
        }
        let newMessageId: string | undefined;
        try {
          newMessageId = await sendBack(target, m, decoded, eventId);
        } catch (err) {
          // Not moved: make it (and the rest of this batch) visible in the DLQ again, then report.
          await release(target, messages.slice(i)).catch(() => undefined);
          throw err;
        }
        await target.sqs.send(new DeleteMessageCommand({ QueueUrl: target.dlqUrl, ReceiptHandle: m.ReceiptHandle! }));
        if (newMessageId) sentIds.add(newMessageId);
        moved.push({
          messageId: m.MessageId!,
          ...(eventId ? { eventId } : {}),
          ...(newMessageId ? { newMessageId } : {}),
        });
      }
    }
  } finally {
    await release(target, skipped).catch(() => undefined);
  }
  return {
    moved,
    skipped: skipped.map((m) => {
      const eventId = decode(m)?.eventId ?? m.MessageAttributes?.EventId?.StringValue;
      return { messageId: m.MessageId!, ...(eventId ? { eventId } : {}) };
    }),
  };
}

/** Sends one DLQ message back to the event queue (without the failure attributes); returns the new message id. */
async function sendBack(
  target: OpsTarget,
  m: Message,
  decoded: QueueMessage | undefined,
  eventId: string | undefined,
): Promise<string | undefined> {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [k, v] of Object.entries(m.MessageAttributes ?? {})) {
    if (!FAILURE_ATTRIBUTES.has(k) && k !== 'EventId') attributes[k] = v;
  }
  if (decoded) {
    attributes.eventId ??= { DataType: 'String', StringValue: decoded.eventId };
    attributes.eventType ??= { DataType: 'String', StringValue: decoded.type };
    attributes.source ??= { DataType: 'String', StringValue: decoded.source };
  }
  const sent = await target.sqs.send(
    new SendMessageCommand({
      QueueUrl: target.queueUrl,
      MessageBody: m.Body ?? '',
      MessageGroupId: m.Attributes?.MessageGroupId ?? (decoded ? messageGroupId(decoded) : 'undecodable'),
      MessageDeduplicationId: `${(eventId ?? m.MessageId ?? 'message').slice(0, 91)}:${randomUUID()}`,
      MessageAttributes: attributes,
    }),
  );
  return sent.MessageId;
}

async function queueArn(target: OpsTarget, url: string): Promise<string> {
  const out = await target.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`SQS returned no QueueArn for ${url}`);
  return arn;
}

export interface MoveTaskStarted {
  readonly taskHandle: string;
  readonly sourceArn: string;
  readonly destinationArn: string;
}

/** AWS: starts an SQS message move task from the DLQ to the event queue (the whole DLQ, at `ratePerSecond`). */
export async function startMoveTask(target: OpsTarget, ratePerSecond?: number): Promise<MoveTaskStarted> {
  const [sourceArn, destinationArn] = await Promise.all([
    queueArn(target, target.dlqUrl),
    queueArn(target, target.queueUrl),
  ]);
  const out = await target.sqs.send(
    new StartMessageMoveTaskCommand({
      SourceArn: sourceArn,
      DestinationArn: destinationArn,
      ...(ratePerSecond ? { MaxNumberOfMessagesPerSecond: ratePerSecond } : {}),
    }),
  );
  if (!out.TaskHandle) throw new Error('SQS started no message move task');
  return { taskHandle: out.TaskHandle, sourceArn, destinationArn };
}

export interface MoveTaskStatus {
  readonly status: string;
  readonly moved?: number;
  readonly toMove?: number;
  readonly startedAt?: string;
  readonly failureReason?: string;
  readonly taskHandle?: string;
}

/** AWS: the DLQ's recent message move tasks (newest first), as ListMessageMoveTasks reports them. */
export async function moveTaskStatus(target: OpsTarget): Promise<MoveTaskStatus[]> {
  const sourceArn = await queueArn(target, target.dlqUrl);
  const out = await target.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 }));
  return (out.Results ?? []).map((r) => ({
    status: r.Status ?? 'UNKNOWN',
    ...(r.ApproximateNumberOfMessagesMoved !== undefined ? { moved: r.ApproximateNumberOfMessagesMoved } : {}),
    ...(r.ApproximateNumberOfMessagesToMove !== undefined ? { toMove: r.ApproximateNumberOfMessagesToMove } : {}),
    ...(r.StartedTimestamp !== undefined ? { startedAt: new Date(r.StartedTimestamp).toISOString() } : {}),
    ...(r.FailureReason ? { failureReason: r.FailureReason } : {}),
    ...(r.TaskHandle ? { taskHandle: r.TaskHandle } : {}),
  }));
}
