/**
 * `replay`: fetch events from Stripe (by id, or every event of a time range) and enqueue them with source `replay`,
 * through the reconciler's own listing and enqueue code (lambdas/shared/stripe-events.ts). Every replay is sent with
 * a fresh deduplication id, so SQS never drops it as a copy of a delivery from the last 5 minutes (which would leave
 * "enqueued" printed and nothing processed); the idempotency table decides what runs: events it has as DONE are
 * skipped unless `force`, which clears the DONE record first.
 */
import type Stripe from 'stripe';
import { describeError } from '../lambdas/shared/errors';
import type { IdempotencyRecord } from '../lambdas/shared/idempotency-store';
import {
  createPacer,
  listEventPages,
  type PacedCallOptions,
  pacedCall,
  type ResendResult,
  resendEvent,
  type StripeCallCounters,
} from '../lambdas/shared/stripe-events';
import { type OpsTarget, storeOf } from './target';

export interface ReplayOptions {
  /** Re-process events already DONE. @default false */
  readonly force?: boolean;
  /** Stripe requests per second at most. @default 5 */
  readonly maxRequestsPerSecond?: number;
}

export type ReplayItem =
  | ResendResult
  | { readonly eventId: string; readonly outcome: 'not_found'; readonly error: string };

export interface ReplayReport {
  readonly items: ReplayItem[];
  readonly enqueued: number;
  readonly skipped: number;
  readonly notFound: number;
  /** Failed permanently and already in the DLQ: left there (a range replay only; see ResendOutcome). */
  readonly deadLettered: number;
  readonly stripeCalls: number;
}

function pacing(opts: ReplayOptions): PacedCallOptions & { counters: StripeCallCounters } {
  return {
    pacer: createPacer({ requestsPerSecond: opts.maxRequestsPerSecond ?? 5 }),
    counters: { calls: 0, rateLimited: 0 },
  };
}

function report(items: ReplayItem[], counters: StripeCallCounters): ReplayReport {
  return {
    items,
    enqueued: items.filter((i) => i.outcome === 'missed' || i.outcome === 'pending' || i.outcome === 'forced').length,
    skipped: items.filter((i) => i.outcome === 'skipped').length,
    notFound: items.filter((i) => i.outcome === 'not_found').length,
    deadLettered: items.filter((i) => i.outcome === 'dead_lettered').length,
    stripeCalls: counters.calls,
  };
}

/** `replay --id ...`: each event retrieved from Stripe by id, then enqueued unless DONE. */
export async function replayIds(
  target: OpsTarget,
  ids: readonly string[],
  opts: ReplayOptions = {},
): Promise<ReplayReport> {
  const call = pacing(opts);
  const stripe = await target.stripe();
  const deps = { store: storeOf(target), sqs: target.sqs, queueUrl: target.queueUrl };
  const items: ReplayItem[] = [];
  for (const id of ids) {
    let event: Stripe.Event;
    try {
      event = await pacedCall(call, `GET /v1/events/${id}`, () => stripe.events.retrieve(id));
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      items.push({ eventId: id, outcome: 'not_found', error: describeError(err) });
      continue;
    }
    // Named by the operator: a permanent failure is sent again too (they replay it because its cause is fixed).
    items.push(
      await resendEvent(deps, event, 'replay', {
        force: opts.force ?? false,
        deduplication: 'unique',
        permanentFailures: 'resend',
      }),
    );
  }
  return report(items, call.counters);
}

/** `replay --since ... [--until ...] [--type ...]`: every event of the range, enqueued unless DONE. */
export async function replayRange(
  target: OpsTarget,
  range: { since: number; until: number; types?: readonly string[] },
  opts: ReplayOptions = {},
): Promise<ReplayReport> {
  if (range.until <= range.since) throw new Error('--until must be after --since');
  const call = pacing(opts);
  const stripe = await target.stripe();
  const deps = { store: storeOf(target), sqs: target.sqs, queueUrl: target.queueUrl };
  const items: ReplayItem[] = [];
  const pages = listEventPages(
    stripe,
    { createdGte: range.since, createdLt: range.until, ...(range.types ? { types: range.types } : {}) },
    call,
  );
  for await (const page of pages) {
    // In Stripe's (newest-first) order: the processor fetches each object's current state, so order does not matter.
    for (const event of page)
      items.push(await resendEvent(deps, event, 'replay', { force: opts.force ?? false, deduplication: 'unique' }));
  }
  return report(items, call.counters);
}

/** `event <id>`: the idempotency record of one event (undefined when the table has none). */
export async function eventRecord(target: OpsTarget, eventId: string): Promise<IdempotencyRecord | undefined> {
  return storeOf(target).get(eventId);
}
