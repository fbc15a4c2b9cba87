/**
 * Locally, GET /health also reports the queues (issue 12): the event queue's visible messages, the ones in flight
 * (received, not yet deleted) and the DLQ's depth, read with GetQueueAttributes (nothing is received). On AWS the
 * route stays as the ingress answers it: a health check must not cost a queue read per call beyond its own.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { HEALTH_PATH } from '../lambdas/ingress/core';
import type { QueueFigures } from './console/render';
import type { HttpHandler } from './http-adapter';
import type { LocalQueues } from './stand-ins';

export async function localFigures(
  sqs: SQSClient,
  queues: Pick<LocalQueues, 'queueUrl' | 'dlqUrl'>,
): Promise<QueueFigures> {
  const read = async (url: string) =>
    (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      )
    ).Attributes ?? {};
  const [queue, dlq] = await Promise.all([read(queues.queueUrl), read(queues.dlqUrl)]);
  const n = (v: string | undefined) => Number(v ?? 0);
  return {
    queueDepth: n(queue.ApproximateNumberOfMessages) + n(queue.ApproximateNumberOfMessagesDelayed),
    inFlight: n(queue.ApproximateNumberOfMessagesNotVisible),
    dlqDepth: n(dlq.ApproximateNumberOfMessages) + n(dlq.ApproximateNumberOfMessagesNotVisible),
  };
}

/** Adds `{ local: { queueDepth, inFlight, dlqDepth } }` to the ingress's GET /health answer (its status unchanged). */
export function withLocalHealth(handle: HttpHandler, figures: () => Promise<QueueFigures>): HttpHandler {
  return async (event) => {
    const answer = await handle(event);
    if (event.requestContext.http.method !== 'GET' || event.rawPath !== HEALTH_PATH) return answer;
    try {
      const body = JSON.parse(String(answer.body ?? '{}')) as Record<string, unknown>;
      return { ...answer, body: JSON.stringify({ ...body, local: await figures() }) };
    } catch {
      return answer; // The queues could not be read: the ingress's own answer still says whether it is healthy.
    }
  };
}
