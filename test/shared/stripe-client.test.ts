/**
 * How createStripeClient sets stripe-node up (lambdas/shared/stripe-client.ts): where it sends requests, its
 * timeout, API version and telemetry, and which keys count as live or test.
 */
import { describe, expect, it } from 'vitest';
import type { RequestBudget } from '../../lambdas/shared/request-budget';
import { createStripeClient, keyMode, stripeConnection, stripeKeyMode } from '../../lambdas/shared/stripe-client';
import { startStripeServer } from '../../local/stripe-server';

describe('stripeConnection', () => {
  it("uses the scheme's default port when the URL names none", () => {
    expect(stripeConnection('http://stripe.local')).toEqual({ host: 'stripe.local', port: 80, protocol: 'http' });
    expect(stripeConnection('https://stripe.local')).toEqual({ host: 'stripe.local', port: 443, protocol: 'https' });
  });
});

describe('createStripeClient', () => {
  it('times out after 10 s by default and sends no telemetry', () => {
    const stripe = createStripeClient('sk_test_1');
    expect(stripe.getApiField('timeout')).toBe(10_000);
    expect((stripe as unknown as { getTelemetryEnabled(): boolean }).getTelemetryEnabled()).toBe(false);
  });

  it('takes the timeout and API version it is given', () => {
    const stripe = createStripeClient('sk_test_1', { timeoutMs: 2_500, apiVersion: '2024-06-20' });
    expect(stripe.getApiField('timeout')).toBe(2_500);
    expect(stripe.getApiField('version')).toBe('2024-06-20');
  });

  it('knows the mode of secret and restricted keys, and of no other key', () => {
    expect(stripeKeyMode(createStripeClient('rk_live_1'))).toBe('live');
    expect(keyMode('sk_test_1')).toBe('test');
    expect(keyMode('pk_live_sk_live_1')).toBeUndefined();
    expect(stripeKeyMode(createStripeClient('whsec_1'))).toBeUndefined();
  });
});

describe('a request budget chosen by the key’s mode', () => {
  it('asks for the budget of the key’s mode and waits for it before each request', async () => {
    const server = await startStripeServer();
    try {
      server.setObject({ id: 'balance', object: 'balance', available: [], pending: [], livemode: false });
      const modes: unknown[] = [];
      let taken = 0;
      const budget = (mode: 'live' | 'test' | undefined): RequestBudget => {
        modes.push(mode);
        return {
          ratePerSecond: 10,
          take: async () => {
            taken++;
          },
        };
      };
      const stripe = createStripeClient('rk_test_1', { apiBase: server.url, budget });
      await stripe.balance.retrieve();
      await stripe.balance.retrieve();
      expect(modes).toEqual(['test']);
      expect(taken).toBe(2);
    } finally {
      await server.close();
    }
  });
});
