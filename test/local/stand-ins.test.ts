import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdempotencyStore } from '../../lambdas/shared/idempotency-store';
import {
  createEventQueues,
  createIdempotencyTable,
  type LocalQueues,
  type RunningService,
  startDynamo,
  startSqs,
} from '../../local/stand-ins';

type Sqs = RunningService<import('@aws-sdk/client-sqs').SQSClient>;
let likeSqs: Sqs;
let plain: Sqs;
let n = 0;

beforeAll(async () => {
  // On a worker thread, as the soak runs it: the patch applies there too.
  likeSqs = await startSqs(0, { fifoBatchesLikeSqs: true, inWorker: true });
  plain = await startSqs();
});
afterAll(async () => {
  await likeSqs.close();
  await plain.close();
});

async function queues(sqs: Sqs, visibilityTimeoutSeconds = 30): Promise<LocalQueues> {
  n += 1;
  return createEventQueues(sqs.client, { name: `stand-ins-${n}`, visibilityTimeoutSeconds, maxReceiveCount: 5 });
}

async function send(sqs: Sqs, queueUrl: string, ids: string[]): Promise<void> {
  for (const id of ids) {
    await sqs.client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: id,
        MessageGroupId: id.slice(0, 1),
        MessageDeduplicationId: id,
      }),
    );
  }
}

async function receive(sqs: Sqs, queueUrl: string): Promise<Message[]> {
  const out = await sqs.client.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
  );
  return out.Messages ?? [];
}

const bodies = (messages: Message[]) => messages.map((m) => m.Body);

describe('the local SQS (fauxqs) with fifoBatchesLikeSqs', () => {
  it('hands out several messages of one group per receive, in order, and keeps the group closed while they are out', async () => {
    const q = await queues(likeSqs);
    await send(likeSqs, q.queueUrl, ['a1', 'a2', 'b1', 'a3', 'b2']);
    expect(bodies(await receive(likeSqs, q.queueUrl))).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
    await send(likeSqs, q.queueUrl, ['a4', 'c1']);
    expect(bodies(await receive(likeSqs, q.queueUrl))).toEqual(['c1']);
  });

  it('gives returned messages back to their group in their original order, ahead of newer ones', async () => {
    const q = await queues(likeSqs);
    await send(likeSqs, q.queueUrl, ['a1', 'a2', 'a3', 'a4']);
    const first = await receive(likeSqs, q.queueUrl);
    await send(likeSqs, q.queueUrl, ['a5']);
    // a1 succeeded; a2..a4 failed and are made visible again at once (what the processor does with a delay of 0).
    await likeSqs.client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: q.queueUrl,
        Entries: [{ Id: '0', ReceiptHandle: first[0]!.ReceiptHandle! }],
      }),
    );
    await likeSqs.client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: q.queueUrl,
        Entries: first
          .slice(1)
          .map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
      }),
    );
    expect(bodies(await receive(likeSqs, q.queueUrl))).toEqual(['a2', 'a3', 'a4', 'a5']);
  });

  it('brings messages back in order when their visibility timeout runs out', async () => {
    const q = await queues(likeSqs, 1);
    await send(likeSqs, q.queueUrl, ['a1', 'a2', 'a3']);
    expect(bodies(await receive(likeSqs, q.queueUrl))).toEqual(['a1', 'a2', 'a3']);
    const end = Date.now() + 5_000;
    let again: Message[] = [];
    while (again.length === 0 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      again = await receive(likeSqs, q.queueUrl);
    }
    expect(bodies(again)).toEqual(['a1', 'a2', 'a3']);
  });

  it('leaves fauxqs as it is by default: one message per group per receive', async () => {
    const q = await queues(plain);
    await send(plain, q.queueUrl, ['a1', 'a2', 'b1']);
    expect(bodies(await receive(plain, q.queueUrl))).toEqual(['a1', 'b1']);
  });
});

describe('dynalite on a worker thread', () => {
  it('serves the idempotency table like the in-process one, and closes cleanly', async () => {
    const dynamo = await startDynamo(0, { inWorker: true });
    try {
      await createIdempotencyTable(dynamo.client, 'stand-ins-table');
      const store = createIdempotencyStore({
        client: dynamo.client,
        tableName: 'stand-ins-table',
        leaseSeconds: 30,
        doneTtlDays: 35,
      });
      const first = await store.claim('evt_worker_1', { type: 'payment_intent.succeeded', messageId: 'm1' });
      expect(first.outcome).toBe('claimed');
      if (first.outcome === 'claimed') await store.markDone('evt_worker_1', first.token);
      expect(await store.claim('evt_worker_1', { type: 'payment_intent.succeeded', messageId: 'm2' })).toMatchObject({
        outcome: 'done',
      });
    } finally {
      await dynamo.close();
    }
  });
});
