/**
 * "Nothing more will happen" as the pipeline reports it: its event queue holds no message (visible, in flight or
 * delayed). The ingress answers 2xx only once a message is on the queue and the poller deletes a message only after
 * its invocation finished, so once the queue is empty every accepted event has been processed (or dead-lettered) and
 * no copy of one can still turn up. Tests wait for this instead of sleeping and hoping.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { LocalPipeline } from '../../local/pipeline';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/stand-ins';
import { queueDepth as depthOf } from '../../ops/queues';

type QueueOf = Pick<LocalPipeline, 'sqsEndpoint' | 'queues'>;

/** Messages on the pipeline's event queue: visible, in flight or delayed. */
export async function queueDepth(pipeline: QueueOf): Promise<number> {
  const sqs = new SQSClient({ endpoint: pipeline.sqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    return await depthOf(sqs, pipeline.queues.queueUrl);
  } finally {
    sqs.destroy();
  }
}

/** Resolves once the pipeline's event queue is empty; throws after `timeoutMs`. */
export async function untilQueueDrained(pipeline: QueueOf, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while ((await queueDepth(pipeline)) > 0) {
    if (Date.now() > end) throw new Error(`the event queue still held messages after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
