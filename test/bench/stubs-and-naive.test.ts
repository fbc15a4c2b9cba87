import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it, vi } from 'vitest';
import { stubbedSecretsManager, stubbedSqs } from '../../bench/lib/aws-stubs';
import { eventBodyOfSize, signatureHeader, webhookRequest } from '../../bench/lib/stripe-events';
import { createNaiveIngress } from '../../bench/naive/ingress-core';

const SECRET = 'whsec_naive_test_0000000000000000';

describe('stubbedSqs', () => {
  it('answers SendMessage so that the SDK, MD5 check included, accepts it, and counts what was sent', async () => {
    const { client, sent } = stubbedSqs();
    const out = await client.send(
      new SendMessageCommand({
        QueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/q.fifo',
        MessageBody: 'héllo',
        MessageGroupId: 'g',
        MessageDeduplicationId: 'd',
      }),
    );
    expect(out.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent).toEqual({ messages: 1, bodyBytes: 6 });
  });
});

describe('eventBodyOfSize', () => {
  it('builds a Stripe event of the asked size', () => {
    for (const size of [2048, 51_200]) {
      const body = eventBodyOfSize(size);
      expect(Math.abs(Buffer.byteLength(body) - size)).toBeLessThanOrEqual(64);
      expect(JSON.parse(body)).toMatchObject({ object: 'event', type: 'payment_intent.succeeded' });
    }
  });
});

describe('the naive ingress twin', () => {
  function naive() {
    const sqs = stubbedSqs();
    const sm = stubbedSecretsManager(SECRET);
    const handler = createNaiveIngress({
      sqs: sqs.client,
      secretsManager: sm.client,
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/q.fifo',
      webhookSecretId: 'secret-id',
    });
    return { handler, sqs, sm };
  }

  it('accepts a Stripe-signed event and queues it, reading the secret on every request', async () => {
    const { handler, sqs, sm } = naive();
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const body = eventBodyOfSize(2048);
    for (let i = 0; i < 2; i++) {
      expect((await handler(webhookRequest(body, signatureHeader(body, SECRET)))).statusCode).toBe(200);
    }
    expect(sqs.sent.messages).toBe(2);
    expect(sm.calls.getSecretValue).toBe(2);
    // One line per webhook with the event id, never the body.
    expect(log).toHaveBeenCalledTimes(2);
    expect(String(log.mock.calls[0]?.[0])).toContain('evt_bench_size');
    expect(String(log.mock.calls[0]?.[0])).not.toContain('order_notes');
    log.mockRestore();
  });

  it('refuses a forged signature with 400 and queues nothing', async () => {
    const { handler, sqs } = naive();
    const body = eventBodyOfSize(2048);
    const res = await handler(webhookRequest(body, signatureHeader(body, 'whsec_someone_else')));
    expect(res.statusCode).toBe(400);
    expect(sqs.sent.messages).toBe(0);
  });
});
