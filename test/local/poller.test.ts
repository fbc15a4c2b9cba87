import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BatchHandler, type ContainerFactory, type InvocationOutcome, startPoller } from '../../local/poller';
import { createEventQueues, type LocalQueues, startSqs } from '../../local/stand-ins';

let sqs: Awaited<ReturnType<typeof startSqs>>;
let n = 0;

beforeAll(async () => {
  sqs = await startSqs();
});
afterAll(async () => {
  await sqs.close();
});

async function freshQueues(maxReceiveCount = 5): Promise<LocalQueues> {
  n += 1;
  return createEventQueues(sqs.client, { name: `poller-${n}`, visibilityTimeoutSeconds: 1, maxReceiveCount });
}

async function send(queueUrl: string, group: string, id: string) {
  await sqs.client.send(
    new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: id, MessageGroupId: group, MessageDeduplicationId: id }),
  );
}

async function visibility(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const out = await sqs.client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

async function depth(queueUrl: string): Promise<number> {
  const { visible, inFlight } = await visibility(queueUrl);
  return visible + inFlight;
}

/** Every container runs the same handler (tests of the event source mapping itself, not of module state). */
function one(handle: BatchHandler): ContainerFactory {
  return () => ({ handle });
}

async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('local poller (the event source mapping)', () => {
  it('hands Lambda-shaped records to the handler and deletes what succeeded', async () => {
    const q = await freshQueues();
    for (const id of ['a1', 'b1', 'c1']) await send(q.queueUrl, id[0]!, id);
    const seen: SQSEvent['Records'] = [];
    const poller = startPoller({
      sqs: sqs.client,
      queueUrl: q.queueUrl,
      queueArn: q.queueArn,
      createContainer: one(async (event) => {
        seen.push(...event.Records);
        return { batchItemFailures: [] };
      }),
    });
    await until(() => seen.length === 3);
    await until(async () => (await depth(q.queueUrl)) === 0);
    await poller.stop();
    const rec = seen.find((r) => r.body === 'a1')!;
    expect(rec.eventSource).toBe('aws:sqs');
    expect(rec.eventSourceARN).toBe(q.queueArn);
    expect(rec.attributes.MessageGroupId).toBe('a');
    expect(rec.attributes.MessageDeduplicationId).toBe('a1');
    expect(rec.attributes.ApproximateReceiveCount).toBe('1');
    expect(poller.stats.deleted).toBe(3);
  });

  it('keeps only the reported failures, which come back after the visibility timeout', async () => {
    const q = await freshQueues();
    await send(q.queueUrl, 'a', 'a1');
    await send(q.queueUrl, 'b', 'b1');
    const receipts: Array<{ body: string; count: string }> = [];
    const handler: BatchHandler = async (event) => {
      for (const r of event.Records) receipts.push({ body: r.body, count: r.attributes.ApproximateReceiveCount });
      const failures = event.Records.filter((r) => r.body === 'b1' && r.attributes.ApproximateReceiveCount === '1');
      return { batchItemFailures: failures.map((r) => ({ itemIdentifier: r.messageId })) };
    };
    const poller = startPoller({
      sqs: sqs.client,
      queueUrl: q.queueUrl,
      queueArn: q.queueArn,
      createContainer: one(handler),
    });
    await until(() => receipts.some((r) => r.body === 'b1' && r.count === '2'));
    await until(async () => (await depth(q.queueUrl)) === 0);
    await poller.stop();
    expect(receipts.filter((r) => r.body === 'a1')).toEqual([{ body: 'a1', count: '1' }]);
    expect(receipts.filter((r) => r.body === 'b1').map((r) => r.count)).toEqual(['1', '2']);
  });

  it.each<[string, (event: SQSEvent) => Promise<SQSBatchResponse>]>([
    [
      'throws',
      async () => {
        throw new Error('boom');
      },
    ],
    ['names a record not in the batch', async () => ({ batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] })],
    ['times out', () => new Promise<SQSBatchResponse>((r) => setTimeout(() => r({ batchItemFailures: [] }), 2_000))],
  ])('fails the whole batch when the handler %s', async (_name, behaviour) => {
    const q = await freshQueues();
    await send(q.queueUrl, 'a', 'a1');
    const outcomes: InvocationOutcome[] = [];
    const poller = startPoller({
      sqs: sqs.client,
      queueUrl: q.queueUrl,
      queueArn: q.queueArn,
      createContainer: one(behaviour),
      timeoutMs: 300,
      concurrency: 1,
      onInvocation: (o) => outcomes.push(o),
    });
    await until(() => outcomes.length >= 1);
    await poller.stop();
    expect(outcomes[0]).toMatchObject({ received: 1, deleted: 0, failed: 1 });
    expect(outcomes[0]!.batchError).toBeDefined();
    // Still on the queue: it reappears once the visibility timeout has passed.
    await until(async () => {
      const out = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: q.queueUrl, WaitTimeSeconds: 1 }));
      return out.Messages?.[0]?.Body === 'a1';
    });
  });

  it('stop() strands nothing: a message sent while the last long poll is open is back on the queue at once', async () => {
    // A 60 s visibility timeout: a message handed to a poll nobody reads would stay hidden that long.
    const q = await createEventQueues(sqs.client, {
      name: `poller-stop-${++n}`,
      visibilityTimeoutSeconds: 60,
      maxReceiveCount: 5,
    });
    const handled: string[] = [];
    const poller = startPoller({
      sqs: sqs.client,
      queueUrl: q.queueUrl,
      queueArn: q.queueArn,
      createContainer: one(async (event) => {
        handled.push(...event.Records.map((r) => r.body));
        return { batchItemFailures: [] };
      }),
    });
    // Once a round of empty polls has come back, each worker has its next long poll open.
    await until(() => poller.stats.polls >= 2);
    const stopping = poller.stop();
    await send(q.queueUrl, 'a', 'late');
    await stopping;

    expect(handled).toEqual([]);
    expect(await visibility(q.queueUrl)).toEqual({ visible: 1, inFlight: 0 });
  });

  it('lets the queue redrive a message that keeps failing to the DLQ after maxReceiveCount', async () => {
    const q = await freshQueues(2);
    await send(q.queueUrl, 'a', 'poison');
    let attempts = 0;
    const poller = startPoller({
      sqs: sqs.client,
      queueUrl: q.queueUrl,
      queueArn: q.queueArn,
      createContainer: one(async (event) => {
        attempts += event.Records.length;
        return { batchItemFailures: event.Records.map((r) => ({ itemIdentifier: r.messageId })) };
      }),
    });
    await until(async () => (await depth(q.dlqUrl)) === 1, 15_000);
    await poller.stop();
    expect(attempts).toBe(2);
    expect(await depth(q.queueUrl)).toBe(0);
  });
});
