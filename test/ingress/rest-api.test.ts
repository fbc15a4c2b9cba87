/**
 * The REST API variant (`ingress.apiType: 'rest'`): API Gateway hands the same Lambda payload format 1.0 events, and
 * the ingress must treat them exactly like the HTTP API's: same routes, same checks, same answers, same queue message.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../lambdas/shared/queue-message';
import { paymentIntentEvent, restEvent, signHeader, useIngressQueue } from './helpers';

const queue = useIngressQueue();
const ingress = queue.ingress;

/** A signed delivery through the REST API, with Stripe's header names as Stripe spells them. */
function signedRest(event: Record<string, unknown>, opts: { base64?: boolean; secret?: string } = {}) {
  const payload = JSON.stringify(event);
  return restEvent({
    body: opts.base64 ? Buffer.from(payload).toString('base64') : payload,
    isBase64Encoded: opts.base64 ?? false,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'Stripe-Signature': signHeader(payload, opts.secret ? { secret: opts.secret } : {}),
    },
  });
}

describe('REST API (payload 1.0) requests', () => {
  it('verify, enqueue and answer 200 like the HTTP API, whatever the header case', async () => {
    const res = await ingress().handle(signedRest(paymentIntentEvent({ id: 'evt_rest_1', objectId: 'pi_rest_1' })));
    expect(res).toMatchObject({ statusCode: 200, headers: { 'content-type': 'application/json' } });
    expect(JSON.parse(res!.body)).toEqual({ received: true, eventId: 'evt_rest_1' });
    const queued = (await queue.drain()).map((m) => decodeMessage(m.Body ?? ''));
    expect(queued.map((m) => [m.eventId, m.source])).toEqual([['evt_rest_1', 'webhook']]);
  });

  it('verify a base64-encoded body on its decoded bytes', async () => {
    const res = await ingress().handleRest(signedRest(paymentIntentEvent({ id: 'evt_rest_b64' }), { base64: true }));
    expect(res.statusCode).toBe(200);
  });

  it('refuse a forged delivery with 400 bad_signature and enqueue nothing', async () => {
    const forged = signedRest(paymentIntentEvent({ id: 'evt_rest_forged' }), { secret: 'whsec_not_ours' });
    const res = await ingress().handleRest(forged);
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'bad_signature' });
    expect(await queue.drain()).toEqual([]);
  });

  it('join a repeated header from multiValueHeaders with commas, as the HTTP API does', async () => {
    // The signature split over two header lines: `headers` keeps only the last line (no timestamp), so only the
    // joined value (`t=...,v1=...`, what the HTTP API would hand over) verifies.
    const payload = JSON.stringify(paymentIntentEvent({ id: 'evt_rest_multi' }));
    const [timestamp, signature] = signHeader(payload).split(',') as [string, string];
    const event = restEvent({
      body: payload,
      headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signature },
      multiValueHeaders: { 'Content-Type': ['application/json'], 'Stripe-Signature': [timestamp, signature] },
    });
    expect((await ingress().handleRest(event)).statusCode).toBe(200);
  });

  it('route by resource: health answers, other methods get 405 with Allow, nothing else is a webhook', async () => {
    const app = ingress();
    expect((await app.handleRest(restEvent({ method: 'GET', path: '/health' }))).statusCode).toBe(200);
    const wrongMethod = await app.handleRest(restEvent({ method: 'GET', path: '/stripe/webhook' }));
    expect(wrongMethod).toMatchObject({ statusCode: 405, headers: { allow: 'POST' } });
    expect((await app.handleRest(restEvent({ method: 'POST', path: '/other' }))).statusCode).toBe(404);
  });
});
