/**
 * `npm run ops -- stripe create <type> ...` and `stripe delete <id>`: objects on the local pipeline's embedded
 * offline Stripe, which (like Stripe) answers 404 for an id it does not have. A new object starts from Stripe's
 * example object of that type (local/fixtures) with a fresh id; a payment intent starts `succeeded` with its amount
 * received, matching the `payment_intent.succeeded` events the demo sends.
 */
import { randomBytes } from 'node:crypto';
import { fixture, type StripeObject } from '../local/stripe-server';
import { CliError, UsageError } from '../scripts/cli';
import type { OpsTarget } from './target';

/** Overrides that make a type's sample match the events people send first for it. */
const SAMPLE_STATE: Record<string, (o: StripeObject) => Record<string, unknown>> = {
  payment_intent: (o) => ({ status: 'succeeded', amount_received: o.amount ?? 0 }),
  'checkout.session': () => ({ status: 'complete', payment_status: 'paid' }),
  invoice: () => ({ status: 'paid' }),
  subscription: () => ({ status: 'active' }),
};

/** `key=value` (dotted keys reach into nested objects; a value that parses as JSON is taken as JSON). */
function applySet(obj: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UsageError(`--set needs key=value, got "${assignment}"`);
  const path = assignment.slice(0, eq).split('.');
  const raw = assignment.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // A plain string.
  }
  let at = obj;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (next === null || typeof next !== 'object') at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  at[path.at(-1)!] = value;
}

/** The object `stripe create` would store: the type's sample, a fresh (or given) id, then each `--set`. */
export function sampleObject(type: string, opts: { id?: string; set?: readonly string[] } = {}): StripeObject {
  const base = fixture(type);
  if (!base) {
    throw new CliError(`the offline Stripe has no sample ${type}`, 'use a Stripe object type, e.g. payment_intent');
  }
  const prefix = /^([a-z]+)_/.exec(String(base.id))?.[1] ?? 'obj';
  const obj: StripeObject = {
    ...base,
    ...(SAMPLE_STATE[type]?.(base) ?? {}),
    id: opts.id ?? `${prefix}_local_${randomBytes(6).toString('hex')}`,
  };
  for (const assignment of opts.set ?? []) applySet(obj, assignment);
  return obj;
}

function adminUrl(target: OpsTarget): string {
  if (!target.offlineStripe) {
    throw new CliError(
      'stripe create/delete works only on the local pipeline’s embedded offline Stripe',
      'start it with plain `npm start` (no STRIPE_SECRET_KEY or STRIPE_API_BASE), then run this again',
    );
  }
  return target.offlineStripe;
}

async function post(target: OpsTarget, path: string, body: unknown): Promise<void> {
  const res = await fetch(`${adminUrl(target)}/_local/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new CliError(`the offline Stripe refused ${path}: ${res.status} ${await res.text()}`);
}

/** Stores `obj` on the offline Stripe (for `account`, a connected account, when given). */
export async function createObject(target: OpsTarget, obj: StripeObject, account?: string): Promise<void> {
  await post(target, 'objects', { object: obj, ...(account ? { account } : {}) });
}

/** Deletes an object: later reads answer 404 (or `deleted: true` for customers), as in Stripe. */
export async function deleteObject(target: OpsTarget, id: string, account?: string): Promise<void> {
  await post(target, `objects/${encodeURIComponent(id)}/delete`, account ? { account } : {});
}
