/**
 * The processor's and the reconciler's Stripe client (lambdas/shared/stripe-client.ts, stripeFromSecret): after
 * Stripe refuses the key (401, or 403 for a restricted key lacking a permission), the next call reads the secret past
 * its cache instead of using the dead key until the cache expires (issue 10, F8). Other failures do not.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SecretSource } from '../../lambdas/shared/secrets';
import { stripeFromSecret } from '../../lambdas/shared/stripe-client';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';

const OLD_KEY = 'sk_test_revokedByTheRotation0001';
const NEW_KEY = 'sk_test_promotedByTheRotation0002';

let server: StripeServer;
/** A secret behind a cache: `stored` is Secrets Manager's value, the cache serves `cached` until a refresh. */
let stored: string;
let cached: string;
let refreshes: number;
const source: SecretSource = {
  async get(options) {
    if (options?.refresh) {
      refreshes++;
      cached = stored;
    }
    return cached;
  },
};

beforeEach(async () => {
  server = await startStripeServer({ apiKeys: [NEW_KEY] });
  server.setObject({ id: 'balance', object: 'balance', available: [], pending: [], livemode: false });
  stored = NEW_KEY; // the rotation promoted the new key and revoked the old one...
  cached = OLD_KEY; // ...which this container's cache still holds
  refreshes = 0;
});

afterEach(async () => {
  await server.close();
});

describe('stripeFromSecret after Stripe refuses the key', () => {
  it('reads the secret past its cache on the next call, and the new key works', async () => {
    const getStripe = stripeFromSecret(source, { apiBase: server.url });
    await expect((await getStripe()).balance.retrieve()).rejects.toMatchObject({ statusCode: 401 });
    const next = await getStripe();
    await expect(next.balance.retrieve()).resolves.toMatchObject({ object: 'balance' });
    expect(refreshes).toBe(1);
    // Once: later calls use the cache again.
    await getStripe();
    expect(refreshes).toBe(1);
  });

  it('does not refresh for answers that say nothing about the key (a 404, a 5xx)', async () => {
    cached = NEW_KEY;
    const getStripe = stripeFromSecret(source, { apiBase: server.url });
    await expect((await getStripe()).paymentIntents.retrieve('pi_missing')).rejects.toMatchObject({ statusCode: 404 });
    server.inject({ kind: 'server_error', status: 500 });
    await expect((await getStripe()).balance.retrieve()).rejects.toMatchObject({ statusCode: 500 });
    await getStripe();
    expect(refreshes).toBe(0);
  });

  it('ignores a refusal answered to a client of a key already replaced', async () => {
    const getStripe = stripeFromSecret(source, { apiBase: server.url });
    const old = await getStripe();
    cached = NEW_KEY; // the cache expired and the container read the promoted key
    const current = await getStripe();
    expect(current).not.toBe(old);
    await expect(old.balance.retrieve()).rejects.toMatchObject({ statusCode: 401 });
    expect(await getStripe()).toBe(current);
    expect(refreshes).toBe(0);
  });
});
