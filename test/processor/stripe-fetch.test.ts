import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../lambdas/processor/registry';
import { retrieveRoute } from '../../lambdas/processor/retrieve-routes';
import { backoffSeconds } from '../../lambdas/processor/stripe-fetch';

describe('retrieveRoute', () => {
  it.each([
    ['payment_intent', 'pi_1', '/v1/payment_intents/pi_1'],
    ['checkout.session', 'cs_1', '/v1/checkout/sessions/cs_1'],
    ['scheduled_query_run', 'sqr_1', '/v1/sigma/scheduled_query_runs/sqr_1'],
    ['customer', 'cus_1', '/v1/customers/cus_1'],
  ])('knows where a %s lives', (type, id, path) => {
    expect(retrieveRoute(type, id)).toEqual({ kind: 'path', path, guessed: false });
  });

  it("follows Stripe's naming rule for types outside the table, and says it guessed", () => {
    expect(retrieveRoute('treasury.transaction_entry', 'trxne_1')).toEqual({
      kind: 'path',
      path: '/v1/treasury/transaction_entries/trxne_1',
      guessed: true,
    });
    expect(retrieveRoute('identity.verification_session', 'vs_1')).toMatchObject({
      path: '/v1/identity/verification_sessions/vs_1',
    });
  });

  it('retrieves sub-resources under the parent the payload names, and not at all without one', () => {
    expect(retrieveRoute('person', 'person_1', { account: 'acct_1' })).toMatchObject({
      path: '/v1/accounts/acct_1/persons/person_1',
    });
    expect(retrieveRoute('card', 'card_1', { customer: 'cus_1' })).toMatchObject({
      path: '/v1/customers/cus_1/sources/card_1',
    });
    expect(retrieveRoute('bank_account', 'ba_1', { account: 'acct_1' })).toMatchObject({
      path: '/v1/accounts/acct_1/external_accounts/ba_1',
    });
    expect(retrieveRoute('person', 'person_1')).toMatchObject({ kind: 'unretrievable' });
    expect(retrieveRoute('discount', 'di_1')).toMatchObject({ kind: 'unretrievable' });
    expect(retrieveRoute('balance', undefined)).toEqual({ kind: 'path', path: '/v1/balance', guessed: false });
  });

  it('keeps ids from remote data inside one path segment', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (id, account) => {
        for (const route of [retrieveRoute('payment_intent', id), retrieveRoute('person', id, { account })]) {
          if (route.kind !== 'path') return false;
          // Exactly the segments of the template: nothing an id contains can add a segment, a query or a fragment.
          const segments = route.path.split('/');
          if (segments.length !== (route.path.startsWith('/v1/accounts/') ? 6 : 4)) return false;
          if (/[?#]/.test(route.path)) return false;
        }
        return true;
      }),
    );
  });
});

describe('backoffSeconds', () => {
  it('grows with the receive count, is capped at 5 minutes, and never drops below half its step', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.double({ min: 0, max: 0.999_999, noNaN: true }), (n, r) => {
        const s = backoffSeconds(n, () => r);
        const step = Math.min(300, 2 * 2 ** (n - 1));
        return s >= Math.max(1, step / 2) && s <= step && s <= 300;
      }),
    );
    expect(backoffSeconds(1, () => 0)).toBe(1);
    expect(backoffSeconds(5, () => 0)).toBe(16);
    expect(backoffSeconds(30, () => 0.999)).toBe(300);
  });
});

describe('registry', () => {
  it('resolves an exact type first, then the longest prefix.*, then a default that publishes only', async () => {
    const registry = createRegistry()
      .on('customer.*', async () => 'any customer event')
      .on('customer.subscription.*', async () => 'any subscription event')
      .on('customer.subscription.updated', async () => 'updated');
    const run = (type: string) => registry.resolve(type)({} as never);

    expect(await run('customer.subscription.updated')).toBe('updated');
    expect(await run('customer.subscription.deleted')).toBe('any subscription event');
    expect(await run('customer.created')).toBe('any customer event');
    expect(await run('invoice.paid')).toBeUndefined();
  });

  it('refuses a second handler for one type and unsupported wildcards', () => {
    const registry = createRegistry().on('invoice.paid', async () => 1);
    expect(() => registry.on('invoice.paid', async () => 2)).toThrow(/already registered/);
    expect(() => registry.on('invoice.*.paid', async () => 2)).toThrow(/wildcard/);
  });
});
