/**
 * What the processor tests share: Stripe events and queue messages as the ingress builds them, SQS records as
 * Lambda hands them over (received from fauxqs, so receipt handles are real), an in-memory sink, and a Metrics
 * that records what was emitted.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricUnit } from '@aws-lambda-powertools/metrics/types';
import { type Message, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { RetryableError } from '../../lambdas/shared/errors';
import { encodeMessage, messageGroupId, toQueueMessage } from '../../lambdas/shared/queue-message';
import type { EventSink, ProcessedEvent } from '../../lambdas/shared/sink';

let counter = 0;
/** A unique suffix for ids, so tests sharing the servers never see each other's data. */
export function uid(): string {
  counter += 1;
  return `${Date.now().toString(36)}${counter}`;
}

/** A classic Stripe event about `object`, as Stripe would send it. */
export function classicEvent(
  type: string,
  object: Record<string, unknown>,
  opts: { id?: string; account?: string; created?: number } = {},
): Record<string, unknown> {
  return {
    id: opts.id ?? `evt_${uid()}`,
    object: 'event',
    api_version: '2025-01-27.acacia',
    created: opts.created ?? Math.floor(Date.now() / 1000) - 5,
    livemode: false,
    pending_webhooks: 1,
    type,
    ...(opts.account ? { account: opts.account } : {}),
    data: { object },
  };
}

/** A thin (v2) event. */
export function thinEvent(
  type: string,
  related: { id: string; type: string; url: string } | null,
  opts: { id?: string; context?: string } = {},
): Record<string, unknown> {
  return {
    id: opts.id ?? `evt_${uid()}`,
    object: 'v2.core.event',
    type,
    created: new Date(Date.now() - 5_000).toISOString(),
    livemode: false,
    ...(opts.context ? { context: opts.context } : {}),
    ...(related ? { related_object: related } : {}),
  };
}

/**
 * The FIFO group of each message sent by `enqueue`. The tests' event queue is a standard fauxqs queue: fauxqs's
 * FIFO hands out one message per group per receive (real SQS hands out several), and the processor's per-group
 * rules need batches with several records of one group. Records get their MessageGroupId from here, as Lambda's
 * would from a FIFO queue.
 */
const groupOfMessage = new Map<string, string>();

/**
 * Enqueues events the way the ingress does: group = account:object, reference messages above `maxBytes`.
 * (No dedup ids: the tests' queue is standard; the processor's own dedup is what is under test.)
 */
export async function enqueue(
  sqs: SQSClient,
  queueUrl: string,
  events: ReadonlyArray<Record<string, unknown>>,
  opts: { maxBytes?: number } = {},
): Promise<void> {
  for (const event of events) {
    const msg = toQueueMessage(event, 'webhook', new Date());
    const { body } = encodeMessage(msg, opts.maxBytes ?? 262_144);
    const res = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    groupOfMessage.set(res.MessageId!, messageGroupId(msg));
  }
}

/** Receives up to 10 messages and shapes them as Lambda's SQS event records from a FIFO queue. */
export async function receiveRecords(sqs: SQSClient, queueUrl: string, max = 10): Promise<SQSRecord[]> {
  const res = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: max,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return (res.Messages ?? []).map((m) => toRecord(m, queueUrl));
}

function toRecord(m: Message, queueUrl: string): SQSRecord {
  const a = m.Attributes ?? {};
  return {
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body!,
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? String(Date.now()),
      SenderId: a.SenderId ?? 'test',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      MessageGroupId: groupOfMessage.get(m.MessageId!) ?? 'unknown',
      MessageDeduplicationId: m.MessageId!,
    },
    messageAttributes: {},
    md5OfBody: m.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${queueUrl.split('/').pop()}`,
    awsRegion: 'us-east-1',
  };
}

/** The sink of the tests: keeps what was published; `failNext` makes the next publishes throw. */
export class MemorySink implements EventSink {
  readonly published: ProcessedEvent[] = [];
  failNext = 0;
  async publish(event: ProcessedEvent): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new RetryableError('bus unavailable (test)', 'sink_unavailable');
    }
    // Through JSON, like every real sink: a result that does not serialise would show here.
    this.published.push(JSON.parse(JSON.stringify(event)) as ProcessedEvent);
  }
}

export interface EmittedMetric {
  name: string;
  value: number;
  dimensions: Record<string, string>;
}

/** Powertools Metrics that records every metric instead of printing EMF. */
export class RecordingMetrics extends Metrics {
  readonly emitted: EmittedMetric[];
  readonly #dims: Record<string, string> = {};
  constructor(emitted: EmittedMetric[] = []) {
    super({ namespace: 'StripeWebhooks' });
    this.emitted = emitted;
  }
  override addDimension(name: string, value: string): this {
    this.#dims[name] = value;
    return this;
  }
  override addMetric(name: string, _unit: MetricUnit, value: number): this {
    this.emitted.push({ name, value, dimensions: { ...this.#dims } });
    return this;
  }
  override singleMetric(): Metrics {
    return new RecordingMetrics(this.emitted);
  }
  /** Sum of a metric's values (optionally only those with the given dimension value). */
  total(name: string, dimensions: Record<string, string> = {}): number {
    return this.emitted
      .filter((m) => m.name === name && Object.entries(dimensions).every(([k, v]) => m.dimensions[k] === v))
      .reduce((sum, m) => sum + m.value, 0);
  }
}
