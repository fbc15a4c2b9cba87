/**
 * The Stripe webhook endpoint helpers the custom resource and the secret rotation share
 * (lambdas/shared/webhook-endpoints.ts), against the local Stripe: which endpoints count as the app's, how a missing
 * endpoint is told from any other error, listing, deleting and creating.
 */
import type Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import {
  createEndpoint,
  deleteEndpoint,
  isManagedBy,
  isResourceMissing,
  listEndpoints,
  managedMetadata,
  ROTATION_TOKEN_KEY,
  retrieveEndpoint,
  sameEvents,
  settingsOf,
} from '../../lambdas/shared/webhook-endpoints';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';

let server: StripeServer;
let stripe: Stripe;
beforeEach(async () => {
  server = await startStripeServer();
  stripe = createStripeClient('sk_test_endpoints', { apiBase: server.url });
});
afterEach(async () => {
  await server.close();
});

const settings = { url: 'https://hooks.example.com/stripe/webhook', enabledEvents: ['payment_intent.succeeded'] };

describe('which endpoints are the app’s', () => {
  it('writes the metadata keys and values endpoints created by earlier versions already carry', () => {
    expect(managedMetadata('shop', { [ROTATION_TOKEN_KEY]: 'tok-1' })).toEqual({
      managed_by: 'stripe-webhooks-aws',
      app: 'shop',
      rotation_token: 'tok-1',
    });
  });

  it('claims only endpoints marked as managed by this project for this app', () => {
    expect(isManagedBy({ metadata: managedMetadata('shop') }, 'shop')).toBe(true);
    expect(isManagedBy({ metadata: managedMetadata('other') }, 'shop')).toBe(false);
    expect(isManagedBy({ metadata: { managed_by: 'someone-else', app: 'shop' } }, 'shop')).toBe(false);
    expect(isManagedBy({ metadata: {} }, 'shop')).toBe(false);
    expect(isManagedBy({ metadata: undefined as never }, 'shop')).toBe(false);
  });
});

describe('isResourceMissing', () => {
  it('is true for a 404 resource_missing, or a 404 without a code', () => {
    expect(isResourceMissing({ statusCode: 404, code: 'resource_missing' })).toBe(true);
    expect(isResourceMissing({ statusCode: 404 })).toBe(true);
  });

  it('is false for any other error or thrown value', () => {
    expect(isResourceMissing({ statusCode: 404, code: 'url_invalid' })).toBe(false);
    expect(isResourceMissing({ statusCode: 400, code: 'resource_missing' })).toBe(false);
    expect(isResourceMissing({ code: 'resource_missing' })).toBe(false);
    expect(isResourceMissing(null)).toBe(false);
    expect(isResourceMissing(undefined)).toBe(false);
  });
});

describe('endpoint calls', () => {
  it('lists every endpoint of the account in one request of up to 100', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 11; i++) {
      ids.push((await createEndpoint(stripe, { ...settings, url: `${settings.url}/${i}` }, {}, `key-${i}`)).id);
    }
    server.resetCalls();
    const listed = await listEndpoints(stripe);
    expect(listed.map((e) => e.id).sort()).toEqual([...ids].sort());
    expect(server.calls.filter((c) => c.path === '/v1/webhook_endpoints')).toHaveLength(1);
  });

  it('retrieves an endpoint, answers undefined for one Stripe does not have, and throws any other error', async () => {
    const created = await createEndpoint(stripe, settings, managedMetadata('shop'), 'key-r');
    expect((await retrieveEndpoint(stripe, created.id))?.url).toBe(settings.url);
    expect(await retrieveEndpoint(stripe, 'we_missing')).toBeUndefined();
    server.setApiKeys(['sk_test_other']);
    await expect(retrieveEndpoint(stripe, created.id)).rejects.toMatchObject({ statusCode: 401 });
  });

  it('deletes an endpoint, counts one already gone as deleted, and throws any other error', async () => {
    const created = await createEndpoint(stripe, settings, {}, 'key-d');
    expect(await deleteEndpoint(stripe, created.id)).toBe('deleted');
    expect(server.webhookEndpoint(created.id)).toBeUndefined();
    expect(await deleteEndpoint(stripe, created.id)).toBe('already_gone');
    const other = await createEndpoint(stripe, settings, {}, 'key-d2');
    server.setApiKeys(['sk_test_other']);
    await expect(deleteEndpoint(stripe, other.id)).rejects.toMatchObject({ statusCode: 401 });
  });

  it('creates an endpoint with its settings and metadata and returns its signing secret', async () => {
    const created = await createEndpoint(
      stripe,
      { ...settings, apiVersion: '2025-09-30.clover', description: 'orders' },
      managedMetadata('shop'),
      'key-c',
    );
    expect(created.secret).toBe(server.webhookEndpoint(created.id)?.secret);
    expect(settingsOf(created)).toEqual({ ...settings, apiVersion: '2025-09-30.clover', description: 'orders' });
  });

  it('refuses an answer to a create that carries no signing secret', async () => {
    for (const secret of [undefined, '']) {
      const noSecret = {
        webhookEndpoints: { create: async () => ({ id: 'we_nosecret', url: settings.url, secret }) },
      } as unknown as Stripe;
      await expect(createEndpoint(noSecret, settings, {}, 'key-n')).rejects.toThrow(
        'Stripe created webhook endpoint we_nosecret without returning its signing secret',
      );
    }
  });
});

describe('sameEvents', () => {
  it('compares event type lists as sets', () => {
    expect(sameEvents(['a', 'b'], ['b', 'a', 'a'])).toBe(true);
    expect(sameEvents(['a', 'b'], ['a', 'c'])).toBe(false);
    expect(sameEvents(['a'], ['a', 'b'])).toBe(false);
  });
});
