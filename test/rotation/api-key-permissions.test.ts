/**
 * F8 (issue 10): the API key rotation must not promote a key that cannot read what the pipeline fetches. A restricted
 * key (`rk_...`) can call `GET /v1/balance` and still lack Read on subscriptions; promoted, it would send every
 * subscription event to the DLQ. testSecret now reads every object type the configured event types touch.
 *
 * Stripe's permission model is played by a small server written here (the local Stripe server does not model
 * restricted keys): each key has a set of readable collections; anything else answers 403 as Stripe does.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiKeyRotation } from '../../lambdas/rotation/api-key/core';
import { parseApiKeyDocument, serializeApiKeyDocument } from '../../lambdas/rotation/api-key/document';
import { objectTypeOfEvent, readChecksFor } from '../../lambdas/rotation/api-key/permissions';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { DEFAULT_EVENT_TYPES } from '../../lib/config';
import { FakeSecretsManager } from './fake-secrets-manager';
import { API_KEY, APP, testLogger } from './helpers';

const SECRET_ID = `${APP}/stripe-api-key`;
const FULL_READ = 'rk_test_readsEverythingNeeded0001';
const NO_SUBSCRIPTIONS = 'rk_test_cannotReadSubscriptions02';

const NEEDED = ['payment_intents', 'charges', 'disputes', 'checkout/sessions', 'invoices', 'subscriptions'];
/** The collections (under /v1/) each key may read; the secret key reads all. */
const READABLE: Record<string, readonly string[] | 'all'> = {
  [API_KEY]: 'all',
  [FULL_READ]: NEEDED,
  [NO_SUBSCRIPTIONS]: NEEDED.filter((c) => c !== 'subscriptions'),
};

let server: Server;
let apiBase: string;
let fake: FakeSecretsManager;

beforeAll(async () => {
  server = createServer((req, res) => {
    const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Request-Id': 'req_test' }).end(JSON.stringify(body));
    };
    const readable = READABLE[key];
    if (!readable) return send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
    if (url.pathname === '/v1/balance') return send(200, { object: 'balance', available: [], pending: [] });
    const collection = url.pathname.replace(/^\/v1\//, '');
    const allowed = readable === 'all' || (readable.includes(collection) && url.pathname !== '/v1/account');
    if (!allowed) {
      return send(403, {
        error: {
          type: 'invalid_request_error',
          message: `The provided key '${key.slice(0, 8)}...' does not have the required permissions for this endpoint.`,
        },
      });
    }
    if (url.pathname === '/v1/account') return send(200, { id: 'acct_test', object: 'account' });
    send(200, { object: 'list', data: [], has_more: false, url: url.pathname });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  fake = new FakeSecretsManager();
});

function stage(key: string): void {
  fake.createSecret(
    SECRET_ID,
    serializeApiKeyDocument({ apiKey: API_KEY, staged: { apiKey: key, stagedAt: new Date().toISOString() } }),
  );
}

const rotation = () =>
  createApiKeyRotation({
    sm: fake.client,
    stripeFor: (key) => createStripeClient(key, { apiBase }),
    logger: testLogger(true),
    eventTypes: DEFAULT_EVENT_TYPES,
  });

describe('rotating to a restricted key', () => {
  it('refuses a key that cannot read an object type the pipeline fetches, naming it, and promotes nothing', async () => {
    stage(NO_SUBSCRIPTIONS);
    const run = await fake.rotate(SECRET_ID, (e) => rotation().handle(e));
    expect(run.failedStep).toBe('testSecret');
    expect(String(run.error)).toMatch(/may not read .*subscription \(GET \/v1\/subscriptions\)/);
    expect(parseApiKeyDocument(fake.valueAt(SECRET_ID)!).apiKey).toBe(API_KEY);
  });

  it('promotes a key that can read every one of them', async () => {
    stage(FULL_READ);
    const run = await fake.rotate(SECRET_ID, (e) => rotation().handle(e));
    expect(run.error).toBeUndefined();
    expect(parseApiKeyDocument(fake.valueAt(SECRET_ID)!).apiKey).toBe(FULL_READ);
  });
});

describe('readChecksFor', () => {
  it("reads the object of each default event type once, from the processor's own paths", () => {
    expect(readChecksFor(DEFAULT_EVENT_TYPES).map((c) => `${c.objectType} ${c.path}`)).toEqual([
      'payment_intent /v1/payment_intents',
      'charge /v1/charges',
      'dispute /v1/disputes',
      'checkout.session /v1/checkout/sessions',
      'invoice /v1/invoices',
      'subscription /v1/subscriptions',
    ]);
  });

  it('knows the event types whose object is not named by their prefix', () => {
    expect(
      [
        'charge.dispute.funds_withdrawn',
        'customer.subscription.trial_will_end',
        'issuing_card.created',
        'balance.available',
      ].map(objectTypeOfEvent),
    ).toEqual(['dispute', 'subscription', 'issuing.card', 'balance']);
    expect(readChecksFor(['balance.available'])).toEqual([{ objectType: 'balance', path: '/v1/balance', list: false }]);
    expect(readChecksFor(['*']).length).toBeGreaterThan(30);
  });
});
