/**
 * The ingress core against a real SQS FIFO queue (fauxqs on 127.0.0.1): what lands on the queue, and what Stripe
 * (or EventBridge) is told, for accepted and refused deliveries.
 */
import type { Message } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { decodeMessage, type QueueMessage } from '../../lambdas/shared/queue-message';
import { type SecretSource, staticSecret } from '../../lambdas/shared/secrets';
import {
  closedPort,
  eventBridgeEvent,
  httpEvent,
  NOW_MS,
  NOW_S,
  paymentIntentEvent,
  queueClient,
  SECRET,
  signedWebhook,
  signHeader,
  thinEvent,
  useIngressQueue,
} from './helpers';

const queue = useIngressQueue();
const ingress = queue.ingress;

function bodyOf(res: APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  return JSON.parse(res.body ?? 'null') as Record<string, unknown>;
}

function attribute(m: Message, name: string): string | undefined {
  return m.MessageAttributes?.[name]?.StringValue;
}

function only(messages: Message[]): { raw: Message; msg: QueueMessage } {
  expect(messages).toHaveLength(1);
  const raw = messages[0]!;
  return { raw, msg: decodeMessage(raw.Body ?? '') };
}

/** A SecretSource that records how it was asked, and answers from a list (the last value repeats). */
function recordingSecret(values: string[]): SecretSource & { calls: Array<{ refresh?: boolean } | undefined> } {
  const calls: Array<{ refresh?: boolean } | undefined> = [];
  return {
    calls,
    async get(options) {
      calls.push(options);
      return values[Math.min(calls.length - 1, values.length - 1)]!;
    },
  };
}

describe('accepted webhooks', () => {
  it('enqueues a signed event once, grouped by object and deduplicated by event id, then answers 200', async () => {
    const event = paymentIntentEvent();
    const res = await ingress().handleHttp(signedWebhook(event));

    expect(res.statusCode).toBe(200);
    expect(bodyOf(res)).toEqual({ received: true, eventId: event.id });
    const { raw, msg } = only(await queue.drain());
    expect(raw.Attributes?.MessageGroupId).toBe('platform:pi_1PgafyB7WZ01zgkWSjxsAJo3');
    expect(raw.Attributes?.MessageDeduplicationId).toBe(event.id);
    expect(attribute(raw, 'eventId')).toBe(event.id);
    expect(attribute(raw, 'eventType')).toBe('payment_intent.succeeded');
    expect(attribute(raw, 'source')).toBe('webhook');
    expect(msg).toMatchObject({
      source: 'webhook',
      kind: 'snapshot',
      eventId: event.id,
      type: 'payment_intent.succeeded',
      object: { type: 'payment_intent', id: 'pi_1PgafyB7WZ01zgkWSjxsAJo3' },
      receivedAt: new Date(NOW_MS).toISOString(),
    });
    expect(msg.event).toEqual(event);
  });

  it('leaves one message when Stripe delivers the same event three times (retries are re-signed)', async () => {
    const event = paymentIntentEvent();
    const app = ingress();
    for (const t of [NOW_S - 20, NOW_S - 10, NOW_S]) {
      const res = await app.handleHttp(signedWebhook(event, { timestamp: t }));
      expect(res.statusCode).toBe(200);
    }
    expect(await queue.drain()).toHaveLength(1);
  });

  it('verifies and enqueues a body API Gateway delivered base64-encoded', async () => {
    const event = paymentIntentEvent({ extra: { description: 'Café ☕ order' } });
    const res = await ingress().handleHttp(signedWebhook(event, { base64: true }));
    expect(res.statusCode).toBe(200);
    expect(only(await queue.drain()).msg.event).toEqual(event);
  });

  it('groups a Connect event by connected account and object', async () => {
    const event = paymentIntentEvent({ account: 'acct_1Connected000001', objectId: 'pi_connected_1' });
    const res = await ingress().handleHttp(signedWebhook(event));
    expect(res.statusCode).toBe(200);
    const { raw, msg } = only(await queue.drain());
    expect(raw.Attributes?.MessageGroupId).toBe('acct_1Connected000001:pi_connected_1');
    expect(msg.account).toBe('acct_1Connected000001');
  });

  it('accepts a thin event and queues it as kind thin, grouped by its related object', async () => {
    const event = thinEvent();
    const res = await ingress().handleHttp(signedWebhook(event));
    expect(res.statusCode).toBe(200);
    const { raw, msg } = only(await queue.drain());
    expect(msg.kind).toBe('thin');
    expect(msg.object).toEqual({
      type: 'billing.meter',
      id: 'mtr_test_61R9Ijk8',
      url: '/v1/billing/meters/mtr_test_61R9Ijk8',
    });
    expect(raw.Attributes?.MessageGroupId).toBe('platform:mtr_test_61R9Ijk8');
  });

  it('queues an event too large for a message as a reference the processor resolves from Stripe', async () => {
    const event = paymentIntentEvent({ extra: { metadata: { notes: 'x'.repeat(8000) } } });
    const res = await ingress({ maxMessageBytes: 4096 }).handleHttp(signedWebhook(event));
    expect(res.statusCode).toBe(200);
    const { raw, msg } = only(await queue.drain());
    expect(msg.kind).toBe('reference');
    expect(msg.event).toBeUndefined();
    expect(msg.eventId).toBe(event.id);
    expect(Buffer.byteLength(raw.Body ?? '')).toBeLessThanOrEqual(4096);
  });

  it('queues a signed event nested too deeply to re-serialise as a reference instead of crashing', async () => {
    const depth = 20_000;
    const payload = JSON.stringify(paymentIntentEvent()).replace(
      '"metadata":{}',
      `"metadata":{"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    );
    const res = await ingress().handleHttp(signedWebhook(payload));
    expect(res.statusCode).toBe(200);
    expect(only(await queue.drain()).msg.kind).toBe('reference');
  });

  it('accepts header names in any case and a named stage prefix on the path', async () => {
    const payload = JSON.stringify(paymentIntentEvent());
    const res = await ingress().handleHttp(
      httpEvent({
        path: '/live/stripe/webhook',
        stage: 'live',
        body: payload,
        headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signHeader(payload) },
      }),
    );
    expect(res.statusCode).toBe(200);
    expect(await queue.drain()).toHaveLength(1);
  });
});

describe('refused webhooks: 4xx with an error code, nothing enqueued', () => {
  const payload = JSON.stringify(paymentIntentEvent());
  const json = { 'content-type': 'application/json' };
  const signed = (body: string, extra: { timestamp?: number; secret?: string } = {}) =>
    httpEvent({ body, headers: { ...json, 'stripe-signature': signHeader(body, extra) } });
  const deep = `${'['.repeat(30_000)}${']'.repeat(30_000)}`; // under maxBodyBytes, too deep for JSON.stringify

  const cases: Array<[string, ReturnType<typeof httpEvent>, number, string]> = [
    ['no Stripe-Signature header', httpEvent({ body: payload, headers: json }), 400, 'missing_signature'],
    [
      'a garbled header',
      httpEvent({ body: payload, headers: { ...json, 'stripe-signature': 'not-a-signature' } }),
      400,
      'malformed_signature',
    ],
    [
      'the header sent twice (API Gateway joins them with a comma)',
      httpEvent({
        body: payload,
        headers: { ...json, 'stripe-signature': `${signHeader(payload)},${signHeader(payload)}` },
      }),
      400,
      'malformed_signature',
    ],
    ['a signature made with another secret', signed(payload, { secret: 'whsec_forged' }), 400, 'bad_signature'],
    [
      'a body changed after signing',
      httpEvent({
        body: payload.replace('1099', '9999'),
        headers: { ...json, 'stripe-signature': signHeader(payload) },
      }),
      400,
      'bad_signature',
    ],
    ['a signature 301 s old', signed(payload, { timestamp: NOW_S - 301 }), 400, 'stale_timestamp'],
    ['a signature 301 s in the future', signed(payload, { timestamp: NOW_S + 301 }), 400, 'future_timestamp'],
    ['an empty body', httpEvent({ body: '', headers: json }), 400, 'empty_body'],
    ['no body at all', httpEvent({ headers: json }), 400, 'empty_body'],
    ['a signed body that is not JSON', signed('{"id": "evt_1",'), 400, 'invalid_json'],
    ['signed JSON that is not an event', signed('{"hello":"world"}'), 400, 'bad_event_id'],
    ['a signed JSON array', signed('[1,2,3]'), 400, 'not_an_object'],
    ['signed, very deeply nested JSON', signed(deep), 400, 'not_an_object'],
    [
      'a body over maxBodyBytes',
      signed(JSON.stringify(paymentIntentEvent({ extra: { pad: 'x'.repeat(70_000) } }))),
      400,
      'body_too_large',
    ],
    [
      'a base64 body that decodes to over maxBodyBytes',
      httpEvent({ body: Buffer.alloc(65 * 1024, 'x').toString('base64'), isBase64Encoded: true, headers: json }),
      400,
      'body_too_large',
    ],
    [
      'a Content-Type other than JSON',
      httpEvent({ body: payload, headers: { 'content-type': 'text/plain', 'stripe-signature': signHeader(payload) } }),
      415,
      'unsupported_media_type',
    ],
    ['an unknown path', httpEvent({ path: '/stripe/webhooks', body: payload }), 404, 'not_found'],
    ['GET on the webhook path', httpEvent({ method: 'GET', path: '/stripe/webhook' }), 405, 'method_not_allowed'],
    ['POST on the health path', httpEvent({ method: 'POST', path: '/health' }), 405, 'method_not_allowed'],
  ];

  it.each(cases)('refuses %s', async (_name, request, status, error) => {
    const res = await ingress().handleHttp(request);
    expect(res.statusCode).toBe(status);
    expect(res.headers?.['content-type']).toBe('application/json');
    const body = bodyOf(res);
    expect(body.error).toBe(error);
    expect(typeof body.message).toBe('string');
    expect(String(body.message).length).toBeGreaterThan(10);
    expect(await queue.drain()).toHaveLength(0);
  });

  it('names the allowed method on a 405', async () => {
    const res = await ingress().handleHttp(httpEvent({ method: 'PUT' }));
    expect(res.statusCode).toBe(405);
    expect(res.headers?.allow).toBe('POST');
  });

  it('accepts Content-Type parameters and a missing Content-Type', async () => {
    const a = paymentIntentEvent({ id: 'evt_ct_1', objectId: 'pi_a' });
    const b = paymentIntentEvent({ id: 'evt_ct_2', objectId: 'pi_b' });
    const withParams = signedWebhook(a, { headers: { 'content-type': 'Application/JSON ; charset=UTF-8' } });
    const withoutType = httpEvent({
      body: JSON.stringify(b),
      headers: { 'stripe-signature': signHeader(JSON.stringify(b)) },
    });
    expect((await ingress().handleHttp(withParams)).statusCode).toBe(200);
    expect((await ingress().handleHttp(withoutType)).statusCode).toBe(200);
    expect(await queue.drain()).toHaveLength(2);
  });

  it('refuses an oversized body before reading the signing secret or hashing it', async () => {
    const secret = recordingSecret([SECRET]);
    const big = JSON.stringify(paymentIntentEvent({ extra: { pad: 'x'.repeat(70_000) } }));
    const res = await ingress({ webhookSecrets: secret }).handleHttp(signedWebhook(big));
    expect(bodyOf(res).error).toBe('body_too_large');
    expect(secret.calls).toHaveLength(0);
  });

  it('refuses a signature made with a secret that has expired in the secret document', async () => {
    const doc = JSON.stringify({
      secrets: [
        { secret: 'whsec_old', expiresAt: new Date(NOW_MS - 1000).toISOString() },
        { secret: SECRET, endpointId: 'we_new' },
      ],
    });
    const app = ingress({ webhookSecrets: staticSecret(doc) });
    const old = await app.handleHttp(signedWebhook(paymentIntentEvent({ id: 'evt_old' }), { secret: 'whsec_old' }));
    expect(bodyOf(old).error).toBe('bad_signature');
    const current = await app.handleHttp(signedWebhook(paymentIntentEvent({ id: 'evt_new' })));
    expect(current.statusCode).toBe(200);
    expect(await queue.drain()).toHaveLength(1);
  });
});

describe('signing secret rotation and outages', () => {
  it('re-reads the secret once, bypassing the cache, when no signature matches the cached secret', async () => {
    const secret = recordingSecret(['whsec_before_rotation', SECRET]);
    const res = await ingress({ webhookSecrets: secret }).handleHttp(signedWebhook(paymentIntentEvent()));
    expect(res.statusCode).toBe(200);
    expect(secret.calls).toEqual([undefined, { refresh: true }]);
    expect(await queue.drain()).toHaveLength(1);
  });

  it('refreshes at most once per forged request, and not at all for other refusals', async () => {
    const secret = recordingSecret([SECRET]);
    const app = ingress({ webhookSecrets: secret });
    const forged = await app.handleHttp(signedWebhook(paymentIntentEvent(), { secret: 'whsec_forged' }));
    expect(bodyOf(forged).error).toBe('bad_signature');
    expect(secret.calls).toEqual([undefined, { refresh: true }]);
    const stale = await app.handleHttp(signedWebhook(paymentIntentEvent(), { timestamp: NOW_S - 3600 }));
    expect(bodyOf(stale).error).toBe('stale_timestamp');
    expect(secret.calls).toHaveLength(3);
    expect(await queue.drain()).toHaveLength(0);
  });

  it('answers 500 (so Stripe retries) when the signing secret cannot be read', async () => {
    const failing: SecretSource = {
      get: async () => {
        throw new Error('AccessDeniedException');
      },
    };
    const res = await ingress({ webhookSecrets: failing }).handleHttp(signedWebhook(paymentIntentEvent()));
    expect(res.statusCode).toBe(500);
    expect(bodyOf(res).error).toBe('secret_unavailable');
  });
});

describe('enqueue failures', () => {
  it('answers 500 enqueue_failed when SQS cannot be reached, so Stripe delivers again', async () => {
    const unreachable = queueClient(`http://127.0.0.1:${await closedPort()}`, { maxAttempts: 1 });
    const res = await ingress({ sqs: unreachable }).handleHttp(signedWebhook(paymentIntentEvent()));
    expect(res.statusCode).toBe(500);
    expect(bodyOf(res)).toMatchObject({ error: 'enqueue_failed' });
  });

  it('answers 500 when the queue does not exist', async () => {
    const res = await ingress({ queueUrl: `${queue.url.replace(/events-\d+/, 'missing')}` }).handleHttp(
      signedWebhook(paymentIntentEvent()),
    );
    expect(res.statusCode).toBe(500);
    expect(bodyOf(res).error).toBe('enqueue_failed');
  });
});

describe('health', () => {
  it('answers GET /health with 200 status ok', async () => {
    const res = await ingress().handleHttp(httpEvent({ method: 'GET', path: '/health' }));
    expect(res.statusCode).toBe(200);
    expect(bodyOf(res)).toEqual({ status: 'ok' });
  });
});

describe('EventBridge partner events', () => {
  it('enqueues the detail as an event with source eventbridge', async () => {
    const event = paymentIntentEvent({ id: 'evt_eb_1', account: 'acct_1EB' });
    await ingress().handleEventBridge(eventBridgeEvent(event));
    const { raw, msg } = only(await queue.drain());
    expect(msg).toMatchObject({ source: 'eventbridge', kind: 'snapshot', eventId: 'evt_eb_1', account: 'acct_1EB' });
    expect(attribute(raw, 'source')).toBe('eventbridge');
    expect(raw.Attributes?.MessageGroupId).toBe('acct_1EB:pi_1PgafyB7WZ01zgkWSjxsAJo3');
    expect(raw.Attributes?.MessageDeduplicationId).toBe('evt_eb_1');
  });

  it('enqueues a thin event from the partner bus', async () => {
    await ingress().handleEventBridge(eventBridgeEvent(thinEvent()));
    expect(only(await queue.drain()).msg.kind).toBe('thin');
  });

  it.each([
    ['a detail that is not a Stripe event', eventBridgeEvent({ type: 'x', hello: 'world' }), 'bad_event_id'],
    [
      'a detail-type that is not the event type',
      eventBridgeEvent(paymentIntentEvent(), { detailType: 'x' }),
      'bad_detail',
    ],
    [
      'a source other than Stripe partner source',
      eventBridgeEvent(paymentIntentEvent(), { source: 'my.app' }),
      'not_from_stripe_partner_source',
    ],
  ])('throws on %s, so EventBridge retries and dead-letters it', async (_name, event, code) => {
    await expect(ingress().handleEventBridge(event)).rejects.toMatchObject({ code });
    expect(await queue.drain()).toHaveLength(0);
  });

  it('throws when the event cannot be enqueued', async () => {
    const unreachable = queueClient(`http://127.0.0.1:${await closedPort()}`, { maxAttempts: 1 });
    await expect(
      ingress({ sqs: unreachable }).handleEventBridge(eventBridgeEvent(paymentIntentEvent())),
    ).rejects.toThrow();
  });
});

describe('handle dispatches on the event shape', () => {
  it('answers HTTP requests, enqueues EventBridge events, and throws on anything else', async () => {
    const app = ingress();
    const res = await app.handle(signedWebhook(paymentIntentEvent({ id: 'evt_http', objectId: 'pi_h' })));
    expect(res?.statusCode).toBe(200);
    expect(await app.handle(eventBridgeEvent(paymentIntentEvent({ id: 'evt_eb', objectId: 'pi_e' })))).toBeUndefined();
    const sources = (await queue.drain()).map((m) => attribute(m, 'source')).sort();
    expect(sources).toEqual(['eventbridge', 'webhook']);
    await expect(app.handle({ Records: [] })).rejects.toMatchObject({ code: 'unsupported_event' });
  });
});
