/**
 * The local Stripe's objects (local/stripe-server.ts): stored per account, answered the way Stripe answers a
 * retrieve (`404 resource_missing` for an unknown id of a known type, `deleted: true` for a deleted customer, "Unrecognized
 * request URL" for a path Stripe has no route for), singletons optionally from Stripe's example objects.
 */
import { readFileSync } from 'node:fs';
import { isSingleton, OBJECT_TYPE_BY_COLLECTION, SINGLETON_TYPE_BY_PATH, servedPath } from './stripe-api-paths';
import { type Answer, noSuch, PLATFORM, unrecognized } from './stripe-lists';

/** A Stripe object as stored: at least `id` and `object`. */
export interface StripeObject {
  id: string;
  object: string;
  [k: string]: unknown;
}

/** Object types whose retrieve answers `{ id, object, deleted: true }` once deleted (the rest answer 404). */
const RETRIEVABLE_WHEN_DELETED: ReadonlySet<string> = new Set(['customer']);

/** Nested collections (sub-resources under a parent): known routes, so an unknown id there is `resource_missing`. */
const NESTED_COLLECTION =
  /^\/v1\/(customers|accounts|application_fees|transfers)\/[^/]+\/(sources|external_accounts|persons|capabilities|refunds|reversals|balance_transactions|cash_balance_transactions)$/;

let fixtures: Record<string, StripeObject> | undefined;
/** Stripe's example object of `type` (local/fixtures), a fresh copy. */
export function fixture(type: string): StripeObject | undefined {
  fixtures ??= (
    JSON.parse(readFileSync(new URL('./fixtures/stripe-objects.json', import.meta.url), 'utf8')) as {
      resources: Record<string, StripeObject>;
    }
  ).resources;
  const found = fixtures[type];
  return found ? structuredClone(found) : undefined;
}

export interface ObjectStore {
  /** Stores (or replaces) an object of an account (the platform's when none). */
  set(obj: StripeObject, account: string | undefined): void;
  /** Marks an object deleted; throws when there is none. */
  delete(id: string, account: string | undefined): void;
  /** The answer to `GET <path>` for an account. */
  retrieve(path: string, account: string | undefined): Answer;
  /** Connected accounts: the platform's objects of type `account`, in the order they were first stored. */
  connectedAccounts(): StripeObject[];
}

export function createObjectStore(opts: { readonly singletonsFromFixtures?: boolean } = {}): ObjectStore {
  const objects = new Map<string, Map<string, { obj: StripeObject; deleted: boolean }>>();
  const of = (account: string | undefined) => {
    const key = account ?? PLATFORM;
    let m = objects.get(key);
    if (!m) {
      m = new Map();
      objects.set(key, m);
    }
    return m;
  };

  return {
    set(obj, account) {
      if (typeof obj.id !== 'string' || obj.id === '' || typeof obj.object !== 'string') {
        throw new Error('setObject needs an object with a string id and object');
      }
      // Singletons (balance...) are stored under their type: they have no id of their own to be asked by.
      const key = isSingleton(obj.object) ? obj.object : obj.id;
      of(account).set(key, { obj: structuredClone(obj), deleted: false });
    },
    delete(id, account) {
      const stored = of(account).get(id);
      if (!stored) throw new Error(`deleteObject: no object ${id}${account ? ` on ${account}` : ''}`);
      stored.deleted = true;
    },
    connectedAccounts() {
      return [...of(undefined).values()].filter((o) => o.obj.object === 'account' && !o.deleted).map((o) => o.obj);
    },
    retrieve(path, account) {
      const singletonType = SINGLETON_TYPE_BY_PATH.get(path);
      if (singletonType) {
        const fromStore = of(account).get(singletonType)?.obj;
        if (fromStore) return { status: 200, body: fromStore };
        const fx = opts.singletonsFromFixtures ? fixture(singletonType) : undefined;
        return fx ? { status: 200, body: fx } : unrecognized('GET', path);
      }
      const cut = path.lastIndexOf('/');
      const collection = path.slice(0, cut);
      let id: string;
      try {
        id = decodeURIComponent(path.slice(cut + 1));
      } catch {
        return unrecognized('GET', path);
      }
      if (collection.split('/').length < 3 || id === '') return unrecognized('GET', path);

      const stored = of(account).get(id);
      if (stored) {
        // The right object behind the wrong collection is a client bug Stripe answers with 404: surface it here too.
        const served = servedPath(stored.obj);
        if (served !== undefined && served !== path) return noSuch(stored.obj.object, id);
        if (!stored.deleted) return { status: 200, body: stored.obj };
        if (RETRIEVABLE_WHEN_DELETED.has(stored.obj.object)) {
          return { status: 200, body: { id, object: stored.obj.object, deleted: true } };
        }
        return noSuch(stored.obj.object, id);
      }

      const type = OBJECT_TYPE_BY_COLLECTION.get(collection);
      if (type) return noSuch(type, id);
      if (collection.startsWith('/v2/') || NESTED_COLLECTION.test(collection)) {
        return noSuch(collection.split('/').pop() ?? 'object', id);
      }
      return unrecognized('GET', path);
    },
  };
}
