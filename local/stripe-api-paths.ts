/**
 * The fake Stripe's own knowledge of where Stripe serves each object (from Stripe's API reference), kept apart from
 * the processor's route table (lambdas/processor/retrieve-routes.ts) on purpose: a fake that shared the code under
 * test would agree with any mistake in it. test/stripe-server/api-paths.test.ts checks the two agree.
 */

/** API collection path -> the `object` value Stripe serves under `GET {path}/{id}`. */
export const OBJECT_TYPE_BY_COLLECTION: ReadonlyMap<string, string> = new Map([
  ['/v1/accounts', 'account'],
  ['/v1/application_fees', 'application_fee'],
  ['/v1/balance_transactions', 'balance_transaction'],
  ['/v1/charges', 'charge'],
  ['/v1/checkout/sessions', 'checkout.session'],
  ['/v1/coupons', 'coupon'],
  ['/v1/credit_notes', 'credit_note'],
  ['/v1/customers', 'customer'],
  ['/v1/disputes', 'dispute'],
  ['/v1/files', 'file'],
  ['/v1/invoices', 'invoice'],
  ['/v1/invoiceitems', 'invoiceitem'],
  ['/v1/issuing/authorizations', 'issuing.authorization'],
  ['/v1/issuing/cards', 'issuing.card'],
  ['/v1/issuing/cardholders', 'issuing.cardholder'],
  ['/v1/issuing/disputes', 'issuing.dispute'],
  ['/v1/issuing/transactions', 'issuing.transaction'],
  ['/v1/mandates', 'mandate'],
  ['/v1/payment_intents', 'payment_intent'],
  ['/v1/payment_links', 'payment_link'],
  ['/v1/payment_methods', 'payment_method'],
  ['/v1/payouts', 'payout'],
  ['/v1/plans', 'plan'],
  ['/v1/prices', 'price'],
  ['/v1/products', 'product'],
  ['/v1/promotion_codes', 'promotion_code'],
  ['/v1/quotes', 'quote'],
  ['/v1/radar/early_fraud_warnings', 'radar.early_fraud_warning'],
  ['/v1/refunds', 'refund'],
  ['/v1/reviews', 'review'],
  ['/v1/sigma/scheduled_query_runs', 'scheduled_query_run'],
  ['/v1/setup_intents', 'setup_intent'],
  ['/v1/subscriptions', 'subscription'],
  ['/v1/subscription_items', 'subscription_item'],
  ['/v1/subscription_schedules', 'subscription_schedule'],
  ['/v1/tax_ids', 'tax_id'],
  ['/v1/tax_rates', 'tax_rate'],
  ['/v1/terminal/readers', 'terminal.reader'],
  ['/v1/test_helpers/test_clocks', 'test_helpers.test_clock'],
  ['/v1/topups', 'topup'],
  ['/v1/transfers', 'transfer'],
]);

/** Objects Stripe serves at one path per account, without an id. */
export const SINGLETON_TYPE_BY_PATH: ReadonlyMap<string, string> = new Map([
  ['/v1/balance', 'balance'],
  ['/v1/balance_settings', 'balance_settings'],
  ['/v1/tax/settings', 'tax.settings'],
]);

const COLLECTION_BY_TYPE = new Map([...OBJECT_TYPE_BY_COLLECTION].map(([path, type]) => [type, path]));
const SINGLETON_BY_TYPE = new Map([...SINGLETON_TYPE_BY_PATH].map(([path, type]) => [type, path]));

/** The path Stripe serves a stored object at, when the fake knows it (else undefined: any path is accepted). */
export function servedPath(obj: { readonly id: string; readonly object: string }): string | undefined {
  const singleton = SINGLETON_BY_TYPE.get(obj.object);
  if (singleton) return singleton;
  const collection = COLLECTION_BY_TYPE.get(obj.object);
  return collection ? `${collection}/${encodeURIComponent(obj.id)}` : undefined;
}

/** Whether Stripe serves objects of this type once per account (the fake stores them under their type). */
export function isSingleton(type: string): boolean {
  return SINGLETON_BY_TYPE.has(type);
}
