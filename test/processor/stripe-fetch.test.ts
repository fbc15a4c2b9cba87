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

  it.each([
    ['capability', 'card_payments', { account: 'acct_1' }, '/v1/accounts/acct_1/capabilities/card_payments'],
    ['bank_account', 'ba_1', { customer: 'cus_1' }, '/v1/customers/cus_1/sources/ba_1'],
    ['card', 'card_1', { account: 'acct_1' }, '/v1/accounts/acct_1/external_accounts/card_1'],
    ['fee_refund', 'fr_1', { fee: 'fee_1' }, '/v1/application_fees/fee_1/refunds/fr_1'],
    ['transfer_reversal', 'trr_1', { transfer: 'tr_1' }, '/v1/transfers/tr_1/reversals/trr_1'],
    [
      'customer_balance_transaction',
      'cbtxn_1',
      { customer: 'cus_1' },
      '/v1/customers/cus_1/balance_transactions/cbtxn_1',
    ],
    [
      'customer_cash_balance_transaction',
      'ccsbtxn_1',
      { customer: 'cus_1' },
      '/v1/customers/cus_1/cash_balance_transactions/ccsbtxn_1',
    ],
  ])('retrieves a %s under the parent its payload names', (type, id, payload, path) => {
    expect(retrieveRoute(type, id, payload)).toEqual({ kind: 'path', path, guessed: false });
  });

  it('says why an object cannot be retrieved: no id, no parent (or an empty one), or no retrieve at all', () => {
    expect(retrieveRoute('payment_intent', undefined)).toEqual({
      kind: 'unretrievable',
      reason: 'a payment_intent has no id to retrieve it by',
    });
    expect(retrieveRoute('person', 'person_1', { account: '' })).toEqual({
      kind: 'unretrievable',
      reason: 'a person is retrievable only under its parent, absent from the payload',
    });
    expect(retrieveRoute('discount', 'di_1')).toEqual({
      kind: 'unretrievable',
      reason: 'Stripe has no retrieve for discount',
    });
    expect(retrieveRoute('deleted_external_account', 'ba_1')).toEqual({
      kind: 'unretrievable',
      reason: 'Stripe has no retrieve for deleted_external_account',
    });
  });

  it('pluralises a guessed collection the way Stripe names its paths', () => {
    const guess = (type: string) => retrieveRoute(type, 'x_1');
    expect(guess('issuing.token')).toEqual({ kind: 'path', path: '/v1/issuing/tokens/x_1', guessed: true });
    expect(guess('example.policy')).toMatchObject({ path: '/v1/example/policies/x_1' });
    expect(guess('example.day')).toMatchObject({ path: '/v1/example/days/x_1' });
    expect(guess('example.dryer')).toMatchObject({ path: '/v1/example/dryers/x_1' });
    expect(guess('example.address')).toMatchObject({ path: '/v1/example/addresses/x_1' });
    expect(guess('example.box')).toMatchObject({ path: '/v1/example/boxes/x_1' });
    expect(guess('example.batch')).toMatchObject({ path: '/v1/example/batches/x_1' });
    expect(guess('example.wish')).toMatchObject({ path: '/v1/example/wishes/x_1' });
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
    expect(() => registry.on('*invoice.*', async () => 2)).toThrow(
      '*invoice.*: only a trailing ".*" wildcard is supported',
    );
  });

  it('hands a type.* handler the subtypes of a type, not the type itself', async () => {
    const registry = createRegistry().on('invoice.paid.*', async () => 'a subtype of invoice.paid');
    expect(await registry.resolve('invoice.paid.late')({} as never)).toBe('a subtype of invoice.paid');
    expect(await registry.resolve('invoice.paid')({} as never)).toBeUndefined();
    expect(registry.types()).toEqual(['invoice.paid.*']);
  });
});
