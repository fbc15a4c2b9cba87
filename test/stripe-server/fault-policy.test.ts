import { afterAll, beforeAll, expect, it } from 'vitest';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { type StripeFault, type StripeServer, startStripeServer } from '../../local/stripe-server';

let server: StripeServer;
const asked: Array<{ method: string; path: string; account?: string }> = [];
let next: StripeFault | undefined;

beforeAll(async () => {
  server = await startStripeServer({
    faultPolicy: (request) => {
      asked.push(request);
      const fault = next;
      next = undefined;
      return fault;
    },
  });
});
afterAll(async () => {
  await server.close();
});

it('asks the fault policy about every request no injected fault matched, and answers with what it decides', async () => {
  const stripe = createStripeClient('sk_test_local', { apiBase: server.url });
  server.setObject({ id: 'pi_policy', object: 'payment_intent', status: 'processing' }, { account: 'acct_policy' });

  next = { kind: 'rate_limit', retryAfterSeconds: 2 };
  const err = (await stripe.paymentIntents
    .retrieve('pi_policy', {}, { stripeAccount: 'acct_policy' })
    .catch((e: unknown) => e)) as { statusCode?: number; headers?: Record<string, string> };
  expect(err.statusCode).toBe(429);
  expect(err.headers?.['retry-after']).toBe('2');

  // An injected fault takes precedence: the policy is not asked for that request.
  server.inject({ kind: 'server_error', status: 502 });
  const injected = (await stripe.paymentIntents
    .retrieve('pi_policy', {}, { stripeAccount: 'acct_policy' })
    .catch((e: unknown) => e)) as { statusCode?: number };
  expect(injected.statusCode).toBe(502);

  const pi = await stripe.paymentIntents.retrieve('pi_policy', {}, { stripeAccount: 'acct_policy' });
  expect(pi.status).toBe('processing');
  expect(asked).toEqual([
    { method: 'GET', path: '/v1/payment_intents/pi_policy', account: 'acct_policy' },
    { method: 'GET', path: '/v1/payment_intents/pi_policy', account: 'acct_policy' },
  ]);
  expect(server.calls.map((c) => c.status)).toEqual([429, 502, 200]);
});
