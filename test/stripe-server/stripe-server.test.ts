import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';

let server: StripeServer;
let stripe: Stripe;

beforeAll(async () => {
  server = await startStripeServer();
  stripe = createStripeClient('sk_test_local', { apiBase: server.url });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  server.resetCalls();
  server.clearFaults();
});

/** The Stripe error a call rejects with (fails the test if it resolves). */
async function stripeError(p: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
}

describe('objects', () => {
  it('serves a stored object through stripe-node, and answers an unknown id like Stripe (404 resource_missing)', async () => {
    server.setObject({ id: 'pi_obj_1', object: 'payment_intent', amount: 1000, status: 'processing' });
    const pi = await stripe.paymentIntents.retrieve('pi_obj_1');
    expect(pi).toMatchObject({ id: 'pi_obj_1', amount: 1000, status: 'processing' });
    expect(pi.lastResponse.requestId).toMatch(/^req_/);

    const err = await stripeError(stripe.paymentIntents.retrieve('pi_missing'));
    expect(err).toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 404,
      code: 'resource_missing',
      param: 'id',
      message: "No such payment_intent: 'pi_missing'",
    });
    expect(server.calls.map((c) => [c.method, c.path, c.status])).toEqual([
      ['GET', '/v1/payment_intents/pi_obj_1', 200],
      ['GET', '/v1/payment_intents/pi_missing', 404],
    ]);
  });

  it('keeps objects per account: the Stripe-Account header selects the connected account', async () => {
    server.setObject({ id: 'cus_acct', object: 'customer', name: 'platform copy' });
    server.setObject({ id: 'cus_acct', object: 'customer', name: 'connected copy' }, { account: 'acct_1' });

    expect((await stripe.customers.retrieve('cus_acct')) as Stripe.Customer).toMatchObject({ name: 'platform copy' });
    expect(
      (await stripe.customers.retrieve('cus_acct', {}, { stripeAccount: 'acct_1' })) as Stripe.Customer,
    ).toMatchObject({ name: 'connected copy' });
    const err = await stripeError(stripe.customers.retrieve('cus_acct', {}, { stripeAccount: 'acct_2' }));
    expect(err).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    expect(server.calls.map((c) => c.account)).toEqual([undefined, 'acct_1', 'acct_2']);
  });

  it('answers deleted customers with deleted: true and other deleted objects with 404', async () => {
    server.setObject({ id: 'cus_del', object: 'customer' });
    server.setObject({ id: 'prod_del', object: 'product', name: 'Gone' });
    server.deleteObject('cus_del');
    server.deleteObject('prod_del');

    expect(await stripe.customers.retrieve('cus_del')).toEqual({ id: 'cus_del', object: 'customer', deleted: true });
    expect(await stripeError(stripe.products.retrieve('prod_del'))).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
    });
  });

  it('answers a path Stripe has no route for with a 404 without a code, and the wrong collection with 404', async () => {
    const unknown = await stripeError(stripe.rawRequest('GET', '/v1/frobnicators/fz_1'));
    expect(unknown).toMatchObject({ statusCode: 404, code: undefined });
    expect(String(unknown.message)).toContain('Unrecognized request URL');

    server.setObject({ id: 'ch_wrong', object: 'charge' });
    expect(await stripeError(stripe.rawRequest('GET', '/v1/payment_intents/ch_wrong'))).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
    });
  });

  it('requires an API key like Stripe does', async () => {
    const res = await fetch(`${server.url}/v1/payment_intents/pi_x`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });
});

describe('events', () => {
  let events: Array<Record<string, unknown>>;
  beforeAll(() => {
    // 12 events, two per second, alternating types; one event on a connected account.
    events = Array.from({ length: 12 }, (_, i) => ({
      id: `evt_list_${String(i).padStart(2, '0')}`,
      object: 'event',
      type: i % 2 === 0 ? 'payment_intent.succeeded' : 'charge.refunded',
      created: 1_700_000_000 + Math.floor(i / 2),
      livemode: false,
      data: { object: { id: `pi_${i}`, object: 'payment_intent' } },
    }));
    for (const e of events) server.addEvent(e);
    server.addEvent({ ...events[0], id: 'evt_connect_1', account: 'acct_9' });
  });

  it('lists newest first and pages with starting_after / has_more, like stripe-node auto-pagination expects', async () => {
    const first = await stripe.events.list({ limit: 5 });
    expect(first.data.map((e) => e.id)).toEqual([
      'evt_list_11',
      'evt_list_10',
      'evt_list_09',
      'evt_list_08',
      'evt_list_07',
    ]);
    expect(first.has_more).toBe(true);
    expect(first.url).toBe('/v1/events');

    const all = await stripe.events.list({ limit: 5 }).autoPagingToArray({ limit: 100 });
    expect(all.map((e) => e.id)).toEqual(events.map((e) => e.id).reverse());

    const last = await stripe.events.list({ limit: 5, starting_after: 'evt_list_02' });
    expect(last.data.map((e) => e.id)).toEqual(['evt_list_01', 'evt_list_00']);
    expect(last.has_more).toBe(false);

    const newer = await stripe.events.list({ limit: 2, ending_before: 'evt_list_05' });
    expect(newer.data.map((e) => e.id)).toEqual(['evt_list_07', 'evt_list_06']);
    expect(newer.has_more).toBe(true);
  });

  it('filters by created range and type (with a wildcard)', async () => {
    const range = await stripe.events.list({ created: { gte: 1_700_000_002, lte: 1_700_000_003 }, limit: 100 });
    expect(range.data.map((e) => e.id)).toEqual(['evt_list_07', 'evt_list_06', 'evt_list_05', 'evt_list_04']);

    const refunds = await stripe.events.list({ type: 'charge.*', limit: 100 });
    expect(refunds.data).toHaveLength(6);
    expect(refunds.data.every((e) => e.type === 'charge.refunded')).toBe(true);
  });

  it('keeps Connect events on their account and retrieves one by id', async () => {
    expect((await stripe.events.list({ limit: 100 })).data.map((e) => e.id)).not.toContain('evt_connect_1');
    const connected = await stripe.events.list({ limit: 100 }, { stripeAccount: 'acct_9' });
    expect(connected.data.map((e) => e.id)).toEqual(['evt_connect_1']);
    expect((await stripe.events.retrieve('evt_connect_1', {}, { stripeAccount: 'acct_9' })).id).toBe('evt_connect_1');
    expect((await stripe.events.retrieve('evt_list_03')).type).toBe('charge.refunded');
  });

  it('serves thin events under /v2/core/events/:id, with Stripe-Context for the account', async () => {
    server.addEvent({
      id: 'evt_thin_1',
      object: 'v2.core.event',
      type: 'v1.billing.meter.error_report_triggered',
      created: '2026-01-01T00:00:00.000Z',
      context: 'acct_thin',
      related_object: { id: 'mtr_1', type: 'billing.meter', url: '/v1/billing/meters/mtr_1' },
    });
    const got = await stripe.rawRequest('GET', '/v2/core/events/evt_thin_1', undefined, { stripeContext: 'acct_thin' });
    expect(got).toMatchObject({ id: 'evt_thin_1', related_object: { id: 'mtr_1' } });
    expect(await stripeError(stripe.rawRequest('GET', '/v2/core/events/evt_thin_1'))).toMatchObject({
      statusCode: 404,
    });
  });
});

describe('faults', () => {
  it('answers the next N matching requests with 429 and the Retry-After / Stripe-Should-Retry headers, then recovers', async () => {
    server.setObject({ id: 'pi_fault', object: 'payment_intent' });
    server.setObject({ id: 'ch_fault', object: 'charge' });
    server.inject({
      kind: 'rate_limit',
      retryAfterSeconds: 7,
      shouldRetry: false,
      times: 2,
      match: { path: /payment_intents/ },
    });

    const charge = await stripe.charges.retrieve('ch_fault'); // does not match: unaffected
    expect(charge.id).toBe('ch_fault');
    for (let i = 0; i < 2; i++) {
      const err = await stripeError(stripe.paymentIntents.retrieve('pi_fault'));
      expect(err).toMatchObject({ type: 'StripeRateLimitError', statusCode: 429, code: 'rate_limit' });
      expect((err.headers as Record<string, string>)['retry-after']).toBe('7');
      expect((err.headers as Record<string, string>)['stripe-should-retry']).toBe('false');
    }
    expect((await stripe.paymentIntents.retrieve('pi_fault')).id).toBe('pi_fault');
    expect(server.calls.map((c) => c.status)).toEqual([200, 429, 429, 200]);
  });

  it('injects 5xx, latency and connection resets', async () => {
    server.setObject({ id: 'pi_faults', object: 'payment_intent' });
    server.inject({ kind: 'server_error', status: 503 });
    expect(await stripeError(stripe.paymentIntents.retrieve('pi_faults'))).toMatchObject({
      type: 'StripeAPIError',
      statusCode: 503,
    });

    server.inject({ kind: 'latency', ms: 300 });
    const slow = createStripeClient('sk_test_local', { apiBase: server.url, timeoutMs: 100 });
    expect(await stripeError(slow.paymentIntents.retrieve('pi_faults'))).toMatchObject({
      type: 'StripeConnectionError',
    });

    // stripe-node retries a reset connection once even with retries off: two resets make the call fail.
    server.inject({ kind: 'reset', times: 2 });
    expect(await stripeError(stripe.paymentIntents.retrieve('pi_faults'))).toMatchObject({
      type: 'StripeConnectionError',
    });
    expect(server.calls.filter((c) => c.status === 0)).toHaveLength(2);
  });
});

describe('offline mode', () => {
  it('answers 404 resource_missing for an id it does not have, and serves singletons from Stripe fixtures', async () => {
    const offline = await startStripeServer({ singletonsFromFixtures: true });
    try {
      const client = createStripeClient('sk_test_local', { apiBase: offline.url });
      expect(await stripeError(client.paymentIntents.retrieve('pi_offline_1'))).toMatchObject({
        statusCode: 404,
        code: 'resource_missing',
      });
      expect(await stripeError(client.checkout.sessions.retrieve('cs_offline_1'))).toMatchObject({ statusCode: 404 });
      expect(await client.balance.retrieve()).toMatchObject({ object: 'balance' });

      offline.setObject({ id: 'pi_offline_2', object: 'payment_intent', status: 'succeeded' });
      expect(await client.paymentIntents.retrieve('pi_offline_2')).toMatchObject({ status: 'succeeded' });
      offline.deleteObject('pi_offline_2');
      expect(await stripeError(client.paymentIntents.retrieve('pi_offline_2'))).toMatchObject({ statusCode: 404 });
      expect(await stripeError(client.rawRequest('GET', '/v1/frobnicators/fz_1'))).toMatchObject({ statusCode: 404 });
    } finally {
      await offline.close();
    }
  });
});
