/**
 * What the queues hold, from GetQueueAttributes: no receive, so no message's receive count moves (SQS's figures are
 * approximate). Used by the CLI (`status`, `dlq`), the demo, the local /health and console, and the tests.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface QueueFigures {
  /** Event-queue messages waiting: visible or delayed. */
  readonly queueDepth: number;
  /** Event-queue messages received and not yet deleted (being processed, or waiting out a visibility timeout). */
  readonly inFlight: number;
  /** Messages in the DLQ, in flight or not. */
  readonly dlqDepth: number;
}

const ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
] as const;

async function attributes(sqs: SQSClient, queueUrl: string): Promise<Record<(typeof ATTRIBUTES)[number], number>> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...ATTRIBUTES] }));
  const a = out.Attributes ?? {};
  return Object.fromEntries(ATTRIBUTES.map((k) => [k, Number(a[k] ?? 0)])) as Record<
    (typeof ATTRIBUTES)[number],
    number
  >;
}

/** Messages on a queue: visible, in flight and delayed (0 = nothing left to do). */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const a = await attributes(sqs, queueUrl);
  return a.ApproximateNumberOfMessages + a.ApproximateNumberOfMessagesNotVisible + a.ApproximateNumberOfMessagesDelayed;
}

export async function queueFigures(
  sqs: SQSClient,
  queues: { readonly queueUrl: string; readonly dlqUrl: string },
): Promise<QueueFigures> {
  const [queue, dlq] = await Promise.all([attributes(sqs, queues.queueUrl), attributes(sqs, queues.dlqUrl)]);
  return {
    queueDepth: queue.ApproximateNumberOfMessages + queue.ApproximateNumberOfMessagesDelayed,
    inFlight: queue.ApproximateNumberOfMessagesNotVisible,
    dlqDepth: dlq.ApproximateNumberOfMessages + dlq.ApproximateNumberOfMessagesNotVisible,
  };
}
