/**
 * The two QueueClient implementations (the ingress's aws4 JSON one, the SDK one for everything else) against fauxqs
 * on 127.0.0.1: each sends a message that lands on the queue, and hands GetQueueAttributes the caller's abort signal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsJsonClient } from '../../lambdas/shared/aws-json';
import { jsonQueueClient, type QueueClient } from '../../lambdas/shared/queue-client';
import { sdkQueueClient } from '../../lambdas/shared/sdk-queue-client';
import { type LocalSqs, startLocalSqs } from '../ingress/helpers';

let local: LocalSqs;
beforeAll(async () => {
  local = await startLocalSqs();
});
afterAll(async () => {
  await local.close();
});

const clients: Array<[string, () => QueueClient]> = [
  [
    'the JSON client',
    () =>
      jsonQueueClient(
        awsJsonClient({
          service: 'sqs',
          region: 'us-east-1',
          endpoint: local.endpoint,
          credentials: () => ({ accessKeyId: 'test', secretAccessKey: 'test' }),
        }),
      ),
  ],
  ['the SDK client', () => sdkQueueClient(local.sqs)],
];

describe.each(clients)('%s', (_name, make) => {
  it('sends a message that lands on the queue, and answers its id', async () => {
    const queueUrl = await local.freshFifoQueue();
    const out = await make().sendMessage({
      QueueUrl: queueUrl,
      MessageBody: '{"v":1}',
      MessageGroupId: 'g',
      MessageDeduplicationId: 'd',
    });
    const received = await local.drain(queueUrl);
    expect(received.map((m) => [m.MessageId, m.Body])).toEqual([[out.MessageId, '{"v":1}']]);
  });

  it('reads queue attributes with or without an abort signal, and stops when the signal has fired', async () => {
    const queueUrl = await local.freshFifoQueue();
    const client = make();
    const input = { QueueUrl: queueUrl, AttributeNames: ['FifoQueue' as const] };
    await expect(client.getQueueAttributes(input)).resolves.toMatchObject({ Attributes: { FifoQueue: 'true' } });
    const live = new AbortController();
    await expect(client.getQueueAttributes(input, { abortSignal: live.signal })).resolves.toMatchObject({
      Attributes: { FifoQueue: 'true' },
    });
    const fired = new AbortController();
    fired.abort();
    await expect(client.getQueueAttributes(input, { abortSignal: fired.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});
