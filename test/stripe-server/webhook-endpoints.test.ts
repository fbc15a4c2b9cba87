/**
 * The local Stripe server's webhook endpoint routes, driven through stripe-node (the client the custom resource and
 * the rotation use), so the requests are encoded exactly as they will be against Stripe.
 */
import Stripe from 'stripe';
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
  server.setApiKeys(undefined);
});

async function rejection(p: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
}

describe('webhook endpoints', () => {
  it('creates an endpoint from form-encoded params and shows its signing secret only in the create answer', async () => {
    const created = await stripe.webhookEndpoints.create({
      url: 'https://example.test/stripe/webhook',
      enabled_events: ['payment_intent.succeeded', 'charge.refunded'],
      metadata: { managed_by: 'stripe-webhooks-aws', app: 'demo' },
      description: 'demo endpoint',
      api_version: '2025-09-30.clover',
    });
    expect(created).toMatchObject({
      object: 'webhook_endpoint',
      url: 'https://example.test/stripe/webhook',
      enabled_events: ['payment_intent.succeeded', 'charge.refunded'],
      metadata: { managed_by: 'stripe-webhooks-aws', app: 'demo' },
      description: 'demo endpoint',
      api_version: '2025-09-30.clover',
      status: 'enabled',
      livemode: false,
    });
    expect(created.id).toMatch(/^we_/);
    expect(created.secret).toMatch(/^whsec_.{20,}/);

    const retrieved = await stripe.webhookEndpoints.retrieve(created.id);
    expect(retrieved.secret).toBeUndefined();
    expect(retrieved.url).toBe(created.url);

    const listed = await stripe.webhookEndpoints.list({ limit: 100 });
    expect(listed.data.find((e) => e.id === created.id)?.secret).toBeUndefined();
    // The test-side view keeps the secret, so a test can sign a delivery as Stripe would.
    expect(server.webhookEndpoint(created.id)?.secret).toBe(created.secret);
  });

  it('gives each endpoint its own secret, and a payload signed with it verifies under that secret only', async () => {
    const a = await stripe.webhookEndpoints.create({ url: 'https://a.test/hook', enabled_events: ['*'] });
    const b = await stripe.webhookEndpoints.create({ url: 'https://a.test/hook', enabled_events: ['*'] });
    expect(a.secret).not.toBe(b.secret);
    const payload = JSON.stringify({ id: 'evt_1', object: 'event' });
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: a.secret! });
    expect(() => Stripe.webhooks.constructEvent(payload, header, a.secret!)).not.toThrow();
    expect(() => Stripe.webhooks.constructEvent(payload, header, b.secret!)).toThrow(/signature/i);
  });

  it('refuses a create without url or enabled_events, an unknown parameter and a bad URL, like Stripe', async () => {
    expect(
      await rejection(stripe.webhookEndpoints.create({ enabled_events: ['*'] } as Stripe.WebhookEndpointCreateParams)),
    ).toMatchObject({ statusCode: 400, param: 'url', message: 'Missing required param: url.' });
    expect(
      await rejection(
        stripe.webhookEndpoints.create({ url: 'https://x.test/h' } as Stripe.WebhookEndpointCreateParams),
      ),
    ).toMatchObject({ statusCode: 400, param: 'enabled_events' });
    expect(
      await rejection(
        stripe.webhookEndpoints.create({
          url: 'https://x.test/h',
          enabled_events: ['*'],
          colour: 'blue',
        } as Stripe.WebhookEndpointCreateParams),
      ),
    ).toMatchObject({ statusCode: 400, param: 'colour', message: 'Received unknown parameter: colour' });
    expect(await rejection(stripe.webhookEndpoints.create({ url: 'not a url', enabled_events: ['*'] }))).toMatchObject({
      statusCode: 400,
      param: 'url',
    });
  });

  it('updates url, events, description and metadata (an empty value unsets a key), and disables', async () => {
    const e = await stripe.webhookEndpoints.create({
      url: 'https://u.test/hook',
      enabled_events: ['charge.refunded'],
      metadata: { keep: 'yes', drop: 'me' },
    });
    const updated = await stripe.webhookEndpoints.update(e.id, {
      url: 'https://u2.test/hook',
      enabled_events: ['invoice.paid', 'invoice.payment_failed'],
      description: 'now described',
      metadata: { drop: '', added: 'new' },
      disabled: true,
    });
    expect(updated).toMatchObject({
      id: e.id,
      url: 'https://u2.test/hook',
      enabled_events: ['invoice.paid', 'invoice.payment_failed'],
      description: 'now described',
      metadata: { keep: 'yes', added: 'new' },
      status: 'disabled',
    });
    expect(updated.metadata).not.toHaveProperty('drop');
    expect(updated.secret).toBeUndefined();
    // api_version is fixed at creation: Stripe has no update parameter for it.
    expect(
      await rejection(
        stripe.webhookEndpoints.update(e.id, {
          api_version: '2025-09-30.clover',
        } as Stripe.WebhookEndpointUpdateParams),
      ),
    ).toMatchObject({ statusCode: 400, param: 'api_version' });
  });

  it('deletes an endpoint: the answer says deleted, later reads are 404 resource_missing', async () => {
    const e = await stripe.webhookEndpoints.create({ url: 'https://d.test/hook', enabled_events: ['*'] });
    expect(await stripe.webhookEndpoints.del(e.id)).toEqual({ id: e.id, object: 'webhook_endpoint', deleted: true });
    expect(await rejection(stripe.webhookEndpoints.retrieve(e.id))).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
    });
    expect(await rejection(stripe.webhookEndpoints.del(e.id))).toMatchObject({ statusCode: 404 });
    expect(server.webhookEndpoint(e.id)).toBeUndefined();
  });

  it('lists newest first and pages with starting_after, which stripe-node auto-pagination follows', async () => {
    const before = new Set(server.webhookEndpoints().map((e) => e.id));
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      made.push((await stripe.webhookEndpoints.create({ url: `https://p${i}.test/hook`, enabled_events: ['*'] })).id);
    }
    const page = await stripe.webhookEndpoints.list({ limit: 2 });
    expect(page.data.map((e) => e.id)).toEqual([made[4], made[3]]);
    expect(page.has_more).toBe(true);
    const all: string[] = [];
    for await (const e of stripe.webhookEndpoints.list({ limit: 2 })) all.push(e.id);
    expect(all.filter((id) => !before.has(id))).toEqual([...made].reverse());
    expect(new Set(all).size).toBe(all.length);
  });

  it('replays a create with the same Idempotency-Key (same endpoint, same secret) and refuses other params', async () => {
    const count = server.webhookEndpoints().length;
    const params = {
      url: 'https://idem.test/hook',
      enabled_events: ['*'] as Stripe.WebhookEndpointCreateParams.EnabledEvent[],
    };
    const first = await stripe.webhookEndpoints.create(params, { idempotencyKey: 'rotate-token-1' });
    const again = await stripe.webhookEndpoints.create(params, { idempotencyKey: 'rotate-token-1' });
    expect(again.id).toBe(first.id);
    expect(again.secret).toBe(first.secret);
    expect(again.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(server.webhookEndpoints()).toHaveLength(count + 1);
    expect(
      await rejection(
        stripe.webhookEndpoints.create(
          { ...params, url: 'https://other.test/hook' },
          { idempotencyKey: 'rotate-token-1' },
        ),
      ),
    ).toMatchObject({ statusCode: 400, type: 'StripeIdempotencyError' });
  });
});

describe('API keys and accounts', () => {
  it('refuses keys outside the configured set with 401 and a redacted key, like a revoked key', async () => {
    server.setApiKeys(['sk_test_good']);
    const bad = createStripeClient('sk_test_bad_key_1234', { apiBase: server.url });
    const err = await rejection(bad.webhookEndpoints.list());
    expect(err).toMatchObject({ statusCode: 401, type: 'StripeAuthenticationError' });
    expect(String(err.message)).toContain('sk_test_********1234');
    expect(String(err.message)).not.toContain('bad_key');
    const good = createStripeClient('sk_test_good', { apiBase: server.url });
    await expect(good.webhookEndpoints.list()).resolves.toMatchObject({ object: 'list' });
  });

  it('answers GET /v1/account with the account the key belongs to', async () => {
    server.setAccountForKey('sk_test_other_account', 'acct_other');
    expect((await stripe.accounts.retrieveCurrent()).id).toBe('acct_local');
    const other = createStripeClient('sk_test_other_account', { apiBase: server.url });
    expect((await other.accounts.retrieveCurrent()).id).toBe('acct_other');
  });
});
