/**
 * Where the current state of a Stripe object is retrieved from: the API path of each object type (a table of the
 * common ones, nested paths for sub-resources, singletons, the types Stripe has no retrieve for, and Stripe's naming
 * rule for the rest). Used by the fetcher (stripe-fetch.ts).
 */

/** Collection paths of the object types processed most often (`GET {path}/{id}`). */
export const RETRIEVE_PATHS: Readonly<Record<string, string>> = {
  account: '/v1/accounts',
  application_fee: '/v1/application_fees',
  balance_transaction: '/v1/balance_transactions',
  charge: '/v1/charges',
  'checkout.session': '/v1/checkout/sessions',
  coupon: '/v1/coupons',
  credit_note: '/v1/credit_notes',
  customer: '/v1/customers',
  dispute: '/v1/disputes',
  file: '/v1/files',
  invoice: '/v1/invoices',
  invoiceitem: '/v1/invoiceitems',
  'issuing.authorization': '/v1/issuing/authorizations',
  'issuing.card': '/v1/issuing/cards',
  'issuing.cardholder': '/v1/issuing/cardholders',
  'issuing.dispute': '/v1/issuing/disputes',
  'issuing.transaction': '/v1/issuing/transactions',
  mandate: '/v1/mandates',
  payment_intent: '/v1/payment_intents',
  payment_link: '/v1/payment_links',
  payment_method: '/v1/payment_methods',
  payout: '/v1/payouts',
  plan: '/v1/plans',
  price: '/v1/prices',
  product: '/v1/products',
  promotion_code: '/v1/promotion_codes',
  quote: '/v1/quotes',
  'radar.early_fraud_warning': '/v1/radar/early_fraud_warnings',
  refund: '/v1/refunds',
  review: '/v1/reviews',
  // The one irregular name: the object is `scheduled_query_run`, the API lives under /v1/sigma.
  scheduled_query_run: '/v1/sigma/scheduled_query_runs',
  setup_intent: '/v1/setup_intents',
  subscription: '/v1/subscriptions',
  subscription_item: '/v1/subscription_items',
  subscription_schedule: '/v1/subscription_schedules',
  tax_id: '/v1/tax_ids',
  tax_rate: '/v1/tax_rates',
  'terminal.reader': '/v1/terminal/readers',
  'test_helpers.test_clock': '/v1/test_helpers/test_clocks',
  topup: '/v1/topups',
  transfer: '/v1/transfers',
};

/** Objects with no id of their own that live at one path per account. */
export const SINGLETON_PATHS: Readonly<Record<string, string>> = {
  balance: '/v1/balance',
  balance_settings: '/v1/balance_settings',
  'tax.settings': '/v1/tax/settings',
};

/**
 * Sub-resources: retrievable only under a parent whose id the payload carries. Without the parent (thin events,
 * odd payloads) they count as unretrievable.
 */
const NESTED_PATHS: Readonly<Record<string, (obj: Record<string, unknown>, id: string) => string | undefined>> = {
  person: (o, id) => under('/v1/accounts', o.account, 'persons', id),
  capability: (o, id) => under('/v1/accounts', o.account, 'capabilities', id),
  bank_account: (o, id) =>
    under('/v1/customers', o.customer, 'sources', id) ?? under('/v1/accounts', o.account, 'external_accounts', id),
  card: (o, id) =>
    under('/v1/customers', o.customer, 'sources', id) ?? under('/v1/accounts', o.account, 'external_accounts', id),
  fee_refund: (o, id) => under('/v1/application_fees', o.fee, 'refunds', id),
  transfer_reversal: (o, id) => under('/v1/transfers', o.transfer, 'reversals', id),
  customer_balance_transaction: (o, id) => under('/v1/customers', o.customer, 'balance_transactions', id),
  customer_cash_balance_transaction: (o, id) => under('/v1/customers', o.customer, 'cash_balance_transactions', id),
};

/** Object types Stripe offers no retrieve for (embedded-only, list-only, or one-time secrets). */
const UNRETRIEVABLE: ReadonlySet<string> = new Set([
  'account_link',
  'account_session',
  'apps.secret',
  'billing.alert_triggered',
  'billing.credit_balance_summary',
  'billing.meter_event',
  'billing.meter_event_adjustment',
  'billing.meter_event_summary',
  'billing_portal.session',
  'cash_balance',
  'credit_note_line_item',
  'customer_session',
  'discount',
  'entitlements.active_entitlement_summary',
  'ephemeral_key',
  'financial_connections.account_owner',
  'funding_instructions',
  'line_item',
  'login_link',
  'setup_attempt',
  'source_mandate_notification',
  'source_transaction',
  'tax.calculation_line_item',
  'tax.transaction_line_item',
  'terminal.connection_token',
]);

function under(collection: string, parent: unknown, sub: string, id: string): string | undefined {
  return typeof parent === 'string' && parent !== '' ? `${collection}/${seg(parent)}/${sub}/${seg(id)}` : undefined;
}

/** Ids come from remote data: encode them so they cannot add path or query segments. */
export function seg(s: string): string {
  return encodeURIComponent(s);
}

/** Stripe's naming rule for the rest: `a.b_c` lives at `/v1/a/b_cs`. */
function pluralise(word: string): string {
  if (/[^aeiou]y$/.test(word)) return `${word.slice(0, -1)}ies`;
  if (/(s|x|ch|sh)$/.test(word)) return `${word}es`;
  return `${word}s`;
}

export type RetrieveRoute =
  /** `guessed`: built from the naming rule, not known; a 404 "unrecognized URL" then falls back to the payload. */
  | { readonly kind: 'path'; readonly path: string; readonly guessed: boolean }
  | { readonly kind: 'unretrievable'; readonly reason: string };

/** Where to GET the current state of a classic object (`payload` supplies parent ids of sub-resources). */
export function retrieveRoute(type: string, id: string | undefined, payload?: Record<string, unknown>): RetrieveRoute {
  const singleton = SINGLETON_PATHS[type];
  if (singleton) return { kind: 'path', path: singleton, guessed: false };
  if (!id) return { kind: 'unretrievable', reason: `a ${type} has no id to retrieve it by` };
  const known = RETRIEVE_PATHS[type];
  if (known) return { kind: 'path', path: `${known}/${seg(id)}`, guessed: false };
  const nested = NESTED_PATHS[type];
  if (nested) {
    const path = payload ? nested(payload, id) : undefined;
    return path
      ? { kind: 'path', path, guessed: false }
      : { kind: 'unretrievable', reason: `a ${type} is retrievable only under its parent, absent from the payload` };
  }
  if (UNRETRIEVABLE.has(type) || type.startsWith('deleted_')) {
    return { kind: 'unretrievable', reason: `Stripe has no retrieve for ${type}` };
  }
  const parts = type.split('.');
  const last = parts.pop() ?? type;
  return { kind: 'path', path: `/v1/${[...parts, pluralise(last)].join('/')}/${seg(id)}`, guessed: true };
}
