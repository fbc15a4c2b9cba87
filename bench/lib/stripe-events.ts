/**
 * Stripe-shaped events for the benchmarks, built from Stripe's own example objects (local/fixtures) and signed with
 * stripe-node's test signer, the reference the ingress is checked against.
 */
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import Stripe from 'stripe';
import type { StripeObject } from '../../local/stripe-server';

const FIXTURES = JSON.parse(
  readFileSync(new URL('../../local/fixtures/stripe-objects.json', import.meta.url), 'utf8'),
) as { resources: Record<string, Record<string, unknown>> };

/** Stripe's example payment intent, as the processor would fetch it. */
export function paymentIntent(id: string, extra: Record<string, unknown> = {}): StripeObject {
  const fixture = FIXTURES.resources.payment_intent;
  if (!fixture) throw new Error('local/fixtures has no payment_intent');
  return {
    ...structuredClone(fixture),
    object: 'payment_intent',
    id,
    status: 'succeeded',
    amount_received: 2000,
    ...extra,
  };
}

/** A classic `payment_intent.succeeded` event (snapshot payload) about `intentId`. */
export function paymentSucceededEvent(
  eventId: string,
  intentId: string,
  opts: { createdSeconds?: number; paddingBytes?: number } = {},
): Record<string, unknown> {
  const metadata = opts.paddingBytes ? { order_notes: 'x'.repeat(opts.paddingBytes) } : {};
  return {
    id: eventId,
    object: 'event',
    api_version: '2025-09-30.clover',
    created: opts.createdSeconds ?? Math.floor(Date.now() / 1000),
    data: { object: paymentIntent(intentId, { metadata }) },
    livemode: false,
    pending_webhooks: 1,
    request: { id: `req_${eventId.slice(4)}`, idempotency_key: `ik_${eventId.slice(4)}` },
    type: 'payment_intent.succeeded',
  };
}

/** The JSON body of a `payment_intent.succeeded` event padded to `bytes` bytes (within a few bytes). */
export function eventBodyOfSize(bytes: number, eventId = 'evt_bench_size', intentId = 'pi_bench_size'): string {
  const bare = JSON.stringify(paymentSucceededEvent(eventId, intentId, { paddingBytes: 1 }));
  const padding = Math.max(1, bytes - Buffer.byteLength(bare) + 1);
  const body = JSON.stringify(paymentSucceededEvent(eventId, intentId, { paddingBytes: padding }));
  if (Math.abs(Buffer.byteLength(body) - bytes) > 64) throw new Error(`could not build a ${bytes}-byte event`);
  return body;
}

/** A `Stripe-Signature` header for `body`, signed now (or at `timestamp`) by stripe-node's test signer. */
export function signatureHeader(body: string, secret: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({
    payload: body,
    secret,
    ...(timestamp !== undefined ? { timestamp } : {}),
  });
}

/** An API Gateway HTTP API (payload 2.0) request for POST /stripe/webhook, shaped as API Gateway sends it. */
export function webhookRequest(body: string, signature: string): APIGatewayProxyEventV2 {
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: 'POST /stripe/webhook',
    rawPath: '/stripe/webhook',
    rawQueryString: '',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'stripe-signature': signature,
      'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      host: 'abc123.execute-api.us-east-1.amazonaws.com',
    },
    requestContext: {
      accountId: '000000000000',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: 'POST',
        path: '/stripe/webhook',
        protocol: 'HTTP/1.1',
        sourceIp: '54.187.174.169',
        userAgent: 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      },
      requestId: 'JrNXLiF5IAMEVfA=',
      routeKey: 'POST /stripe/webhook',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    body,
    isBase64Encoded: false,
  };
}
