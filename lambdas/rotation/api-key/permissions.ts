/**
 * What a staged API key must be able to read before the rotation promotes it: every object type the configured
 * event types touch, because the processor fetches each event's object with the key (a restricted `rk_` key without
 * the permission gets 403 on every fetch, and every such event would go to the DLQ after the promotion).
 *
 * One read per object type: a list with `limit=1` on the collection the processor retrieves from (the same paths,
 * lambdas/processor/retrieve-routes.ts), or the object itself for one-per-account objects (balance). A restricted key
 * needs the same Read permission for both. `*` means every type the processor knows a path for.
 */
import { RETRIEVE_PATHS, SINGLETON_PATHS } from '../../processor/retrieve-routes';

/** One read the staged key must be allowed. */
export interface ReadCheck {
  /** The Stripe object type, e.g. `payment_intent`. */
  readonly objectType: string;
  /** `GET` this path (with `limit=1` when `list`). */
  readonly path: string;
  readonly list: boolean;
}

/**
 * The object type of an event type's `data.object`, where its name does not say it: the event's resource prefix
 * (the type without its last segment) and the object Stripe puts in it.
 */
const OBJECT_OF_PREFIX: Readonly<Record<string, string>> = {
  'charge.dispute': 'dispute',
  'charge.refund': 'refund',
  'customer.subscription': 'subscription',
  'customer.tax_id': 'tax_id',
  'customer.discount': 'discount',
  issuing_authorization: 'issuing.authorization',
  issuing_card: 'issuing.card',
  issuing_cardholder: 'issuing.cardholder',
  issuing_dispute: 'issuing.dispute',
  issuing_transaction: 'issuing.transaction',
  'application_fee.refund': 'fee_refund',
};

/** The object type an event type carries (`payment_intent.succeeded` -> `payment_intent`). */
export function objectTypeOfEvent(eventType: string): string {
  const prefix = eventType.split('.').slice(0, -1).join('.');
  return OBJECT_OF_PREFIX[prefix] ?? prefix;
}

/** The reads to try for `eventTypes` (config `eventTypes`, `*` = all); types without a known path are skipped. */
export function readChecksFor(eventTypes: readonly string[]): ReadCheck[] {
  const types = eventTypes.includes('*')
    ? [...Object.keys(SINGLETON_PATHS), ...Object.keys(RETRIEVE_PATHS)]
    : eventTypes.map(objectTypeOfEvent);
  const checks = new Map<string, ReadCheck>();
  for (const objectType of types) {
    const singleton = SINGLETON_PATHS[objectType];
    const collection = RETRIEVE_PATHS[objectType];
    if (singleton) checks.set(singleton, { objectType, path: singleton, list: false });
    else if (collection) checks.set(collection, { objectType, path: collection, list: true });
  }
  return [...checks.values()];
}

/** Whether a Stripe error says the key may not make the call (revoked, or a restricted key lacking a permission). */
export function isKeyRefused(err: unknown): boolean {
  const e = err as { statusCode?: unknown; type?: unknown } | null;
  return (
    e?.statusCode === 401 ||
    e?.statusCode === 403 ||
    e?.type === 'StripePermissionError' ||
    e?.type === 'StripeAuthenticationError'
  );
}
