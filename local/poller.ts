/**
 * Plays Lambda's SQS event source mapping against the local queue (fauxqs), so the processor runs locally exactly as
 * it is invoked in AWS:
 * - up to `concurrency` invocations at once (the mapping's maximum concurrency), each with a batch of up to
 *   `batchSize` messages received with their system attributes;
 * - each invocation runs in a container (containers.ts): one per concurrent slot, each with its own module state
 *   built by `createContainer`, batches going to the free slot idle longest, containers retired now and then (cold
 *   starts) and after a timed-out or crashed invocation;
 * - ReportBatchItemFailures: records named in `batchItemFailures` stay on the queue (they reappear after the
 *   visibility timeout, or sooner if the processor changed their visibility); every other record is deleted;
 * - a handler that throws, times out, or names a record that was not in the batch fails the whole batch, as Lambda
 *   does; nothing of it is deleted;
 * - redrive to the DLQ after maxReceiveCount is the queue's own (fauxqs implements the RedrivePolicy).
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { type ContainerFactory, createContainerPool, type InvocationContext } from './containers';

export type { BatchHandler, ContainerFactory, InvocationContext } from './containers';

export interface PollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  /** Builds one container (the function's module scope): called on every cold start. */
  readonly createContainer: ContainerFactory;
  /** Invocations a container serves before it is retired. @default DEFAULT_MAX_INVOCATIONS (containers.ts) */
  readonly maxInvocationsPerContainer?: number;
  /** @default 10 (the FIFO maximum) */
  readonly batchSize?: number;
  /** Invocations running at once. @default 2 */
  readonly concurrency?: number;
  /** The function timeout. @default 30000 */
  readonly timeoutMs?: number;
  /** Long-poll wait per receive; also bounds how long stop() waits. @default 1 */
  readonly waitTimeSeconds?: number;
  readonly region?: string;
  readonly functionName?: string;
  /** Called after every invocation (for logs and tests). */
  readonly onInvocation?: (outcome: InvocationOutcome) => void;
}

export interface InvocationOutcome {
  readonly requestId: string;
  readonly received: number;
  readonly deleted: number;
  readonly failed: number;
  /** The container that ran it (its log stream name) and whether it was built for this invocation. */
  readonly container: string;
  readonly coldStart: boolean;
  /** Why the whole batch failed, if it did. */
  readonly batchError?: string;
  readonly durationMs: number;
}

export interface PollerStats {
  /** Receive calls that came back (empty or not): a round of polling completed. */
  polls: number;
  invocations: number;
  received: number;
  deleted: number;
  failedRecords: number;
  failedBatches: number;
  timeouts: number;
  /** Containers built (first invocations of a slot, and after every retirement). */
  coldStarts: number;
}

export interface Poller {
  readonly stats: Readonly<PollerStats>;
  /**
   * Stops receiving, waits for running invocations to finish (bounded by the timeout), and resolves.
   *
   * By default it also lets each worker's open long poll come back (within `waitTimeSeconds`) and puts whatever
   * that poll received straight back on the queue. Cutting the poll instead would strand a message: fauxqs does not
   * notice that the client went away and hands a message arriving meanwhile to that poll, so it stays invisible
   * until its visibility timeout. `abortPolls` cuts them anyway, for a shutdown that takes the queue away too.
   */
  stop(opts?: { abortPolls?: boolean }): Promise<void>;
}

class InvocationTimeout extends Error {
  override name = 'InvocationTimeout';
}

export function startPoller(opts: PollerOptions): Poller {
  const batchSize = opts.batchSize ?? 10;
  const concurrency = opts.concurrency ?? 2;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const waitTimeSeconds = opts.waitTimeSeconds ?? 1;
  const region = opts.region ?? 'us-east-1';
  const functionName = opts.functionName ?? 'local-processor';
  const stats: PollerStats = {
    polls: 0,
    invocations: 0,
    received: 0,
    deleted: 0,
    failedRecords: 0,
    failedBatches: 0,
    timeouts: 0,
    coldStarts: 0,
  };
  const pool = createContainerPool({
    slots: concurrency,
    create: opts.createContainer,
    ...(opts.maxInvocationsPerContainer !== undefined ? { maxInvocations: opts.maxInvocationsPerContainer } : {}),
  });
  let running = true;
  const abort = new AbortController();

  async function invoke(messages: Message[]): Promise<void> {
    const started = Date.now();
    const requestId = randomUUID();
    const records = messages.map((m) => toRecord(m, opts.queueArn, region));
    const event: SQSEvent = { Records: records };
    const deadline = started + timeoutMs;
    // Every receive loop holds at most one slot, and there are as many slots as loops: one is always free.
    const container = pool.acquire();
    stats.coldStarts = pool.stats.coldStarts;
    const context: InvocationContext = {
      awsRequestId: requestId,
      functionName,
      logStreamName: container.info.id,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    stats.invocations += 1;
    stats.received += records.length;

    let failedIds: Set<string>;
    let batchError: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    let work: Promise<unknown> = Promise.resolve();
    let healthy = true;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new InvocationTimeout(`timed out after ${timeoutMs} ms`)), timeoutMs);
      });
      // A timed-out invocation is abandoned, as Lambda abandons it: its late result is ignored and none of its
      // messages are deleted (they come back after the visibility timeout). Unlike Lambda, its promise is not
      // killed: work already under way may still finish in the background, in its retired container.
      const handled = Promise.resolve().then(() => container.handle(event, context));
      work = handled;
      const response = await Promise.race([handled, timeout]);
      const verdict = failuresOf(response, records);
      failedIds = verdict.failed;
      batchError = verdict.error;
    } catch (err) {
      if (err instanceof InvocationTimeout) stats.timeouts += 1;
      healthy = false;
      batchError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      failedIds = new Set(records.map((r) => r.messageId));
    } finally {
      clearTimeout(timer);
      container.release(healthy, work);
    }
    if (batchError !== undefined) stats.failedBatches += 1;

    const toDelete = records.filter((r) => !failedIds.has(r.messageId));
    for (let i = 0; i < toDelete.length; i += 10) {
      const chunk = toDelete.slice(i, i + 10);
      const out = await opts.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: opts.queueUrl,
          Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
        }),
      );
      stats.deleted += out.Successful?.length ?? 0;
    }
    stats.failedRecords += failedIds.size;
    opts.onInvocation?.({
      requestId,
      received: records.length,
      deleted: toDelete.length,
      failed: failedIds.size,
      container: container.info.id,
      coldStart: container.coldStart,
      ...(batchError !== undefined ? { batchError } : {}),
      durationMs: Date.now() - started,
    });
  }

  async function worker(): Promise<void> {
    while (running) {
      let messages: Message[];
      try {
        const out = await opts.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: opts.queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: waitTimeSeconds,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        messages = out.Messages ?? [];
        stats.polls += 1;
      } catch {
        if (!running) return;
        // The queue went away or hiccupped: back off briefly, as the event source mapping does.
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      if (!running) {
        await putBack(messages);
        return;
      }
      if (messages.length > 0) await invoke(messages);
    }
  }

  /** Makes messages received after stop() visible again at once, for the next consumer. */
  async function putBack(messages: Message[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      await opts.sqs
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: opts.queueUrl,
            Entries: messages
              .slice(i, i + 10)
              .map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
          }),
        )
        // The queue is gone or failing: the messages come back after their visibility timeout, as in SQS.
        .catch(() => undefined);
    }
  }

  const workers = Array.from({ length: concurrency }, () => worker());

  return {
    stats,
    async stop(stopOpts = {}) {
      running = false;
      if (stopOpts.abortPolls) abort.abort();
      await Promise.allSettled(workers);
      await pool.close();
    },
  };
}

/** Which records to keep on the queue, by Lambda's rules for a ReportBatchItemFailures response. */
function failuresOf(
  response: SQSBatchResponse | undefined,
  records: SQSRecord[],
): { failed: Set<string>; error?: string } {
  const ids = new Set(records.map((r) => r.messageId));
  const failed = new Set<string>();
  for (const item of response?.batchItemFailures ?? []) {
    // Lambda fails the whole batch when an identifier is empty or not in the batch.
    if (!item.itemIdentifier || !ids.has(item.itemIdentifier)) {
      return { failed: ids, error: `invalid batchItemFailures identifier "${item.itemIdentifier}"` };
    }
    failed.add(item.itemIdentifier);
  }
  return { failed };
}

/** An SQS message as Lambda hands it to a function. */
function toRecord(m: Message, queueArn: string, region: string): SQSRecord {
  const a = m.Attributes ?? {};
  const attributes = {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
    SentTimestamp: a.SentTimestamp ?? String(Date.now()),
    SenderId: a.SenderId ?? 'local',
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    ...(a.SequenceNumber ? { SequenceNumber: a.SequenceNumber } : {}),
    ...(a.MessageGroupId ? { MessageGroupId: a.MessageGroupId } : {}),
    ...(a.MessageDeduplicationId ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
  };
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body ?? '',
    attributes,
    messageAttributes: toRecordAttributes(m.MessageAttributes),
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

function toRecordAttributes(attrs: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, v] of Object.entries(attrs ?? {})) {
    out[name] = {
      dataType: v.DataType ?? 'String',
      ...(v.StringValue !== undefined ? { stringValue: v.StringValue } : {}),
      ...(v.BinaryValue !== undefined ? { binaryValue: Buffer.from(v.BinaryValue).toString('base64') } : {}),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  return out;
}
