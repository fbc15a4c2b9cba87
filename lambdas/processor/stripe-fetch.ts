/**
 * Fetch before process: the processor hands business handlers the object as it is now in Stripe, never the
 * webhook snapshot (which may be stale or out of order; thin events carry none at all).
 *
 * - classic events: GET the object's API path (a table for the common types, Stripe's naming rule for the rest,
 *   nested paths for sub-resources whose parent is in the payload), with `Stripe-Account` for Connect events;
 * - thin events: GET `related_object.url` with `Stripe-Context` when the event has a context; no object if none;
 * - `reference` messages: GET the event first (`/v1/events/{id}`, or `/v2/core/events/{id}` for thin events);
 * - `*.deleted` events and `deleted: true` answers: origin `deleted` (the payload, marked deleted);
 * - a 404 on the object (deleted since the event; most types answer 404 once deleted): origin `deleted` too, after
 *   one more look for an event younger than OBJECT_GONE_RECHECK_MS;
 * - objects that cannot be retrieved: the payload, origin `payload`, with a warning.
 *
 * Stripe failures become PermanentError (a 400, an event Stripe no longer keeps, an unknown v2 URL) or
 * RetryableError (429 with the delay to respect, 5xx, connection errors, timeouts), which decide what the processor
 * does with the message.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type Stripe from 'stripe';
import { describeError, PermanentError, RetryableError } from '../shared/errors';
import type { QueueMessage } from '../shared/queue-message';
import type { ObjectOrigin } from '../shared/sink';
import { retrieveRoute, seg } from './retrieve-routes';

/** Per-invocation counters (logged at the end of a batch and published as metrics). */
export interface StripeCallStats {
  calls: number;
  rateLimited: number;
}

export interface CurrentObject {
  readonly object: Record<string, unknown> | null;
  readonly origin: ObjectOrigin;
  /** Stripe answered 404 for the object: it was deleted after the event (handed over as deleted). */
  readonly gone?: true;
}

/**
 * An object Stripe answers 404 for is taken as deleted after the event (most types answer 404 once deleted;
 * customers answer `deleted: true`), except for an event younger than this on its first delivery: then the object
 * may not be readable yet (replication, a lagging connected account), and the message is looked at again once the
 * event is this old. A wrongly "deleted" live object would mislead a handler far more than a short wait costs.
 */
export const OBJECT_GONE_RECHECK_MS = 30_000;

/**
 * Fetches that one group run shares: the same account + path answered once serves every later record of the
 * group in this batch. Safe because FIFO hands a group's messages out in order and only once the previous ones are
 * deleted: this fetch is made after every earlier event of the object was handled (their fetches were sent before),
 * so it is at least as new as anything handed to them, and at least as new as each record's own event (enqueued
 * before the batch was received).
 *
 * Nothing is kept across invocations: a Lambda container only sees the batches that land on it, and another
 * container may meanwhile have handed a later event of the object a newer state (issue 10, F1). Every invocation
 * therefore fetches anew, which makes the guarantee hold across containers and regions without coordination: a
 * fetch sent later never returns an older state. The price is one Stripe call per object per batch; a backlog on one
 * object still costs less than one call per event, since SQS hands out up to 10 messages of a group per batch.
 */
export type FetchCache = Map<string, Promise<Record<string, unknown>>>;

export interface FetcherOptions {
  readonly stripe: Stripe;
  readonly stats: StripeCallStats;
  readonly logger: Logger;
  /** `ApproximateReceiveCount` of the message: the exponent of the backoff after a 429 without Retry-After. */
  readonly receiveCount: number;
  readonly cache?: FetchCache;
  /** Clock, Unix milliseconds (see OBJECT_GONE_RECHECK_MS). @default Date.now */
  readonly now?: () => number;
  /** @default Math.random */
  readonly random?: () => number;
}

/** Backoff after a 429 without Retry-After: exponential in the receive count, capped, with jitter. */
export function backoffSeconds(receiveCount: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** Math.max(0, receiveCount - 1));
  // "Equal jitter": at least half the delay, so many messages throttled together spread out without retrying at once.
  return Math.max(1, Math.ceil(base / 2 + (random() * base) / 2));
}

const BACKOFF_BASE_SECONDS = 2;
const BACKOFF_CAP_SECONDS = 300;
/** SQS's maximum visibility timeout. */
const MAX_DELAY_SECONDS = 43_200;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface StripeErrorLike {
  type?: string;
  statusCode?: number;
  code?: string;
  headers?: Record<string, string | undefined>;
  message?: string;
}

/** What a failed GET means for the message. `not_found` and `unrecognized_url` are the caller's to judge. */
type GetFailure = { kind: 'not_found' } | { kind: 'unrecognized_url' } | { kind: 'error'; error: Error };

function classify(err: unknown, what: string, receiveCount: number, random: () => number): GetFailure {
  const e = (isRecord(err) ? err : {}) as StripeErrorLike;
  const status = e.statusCode;
  const shouldRetry = e.headers?.['stripe-should-retry'];
  if (status === 404) return e.code === 'resource_missing' ? { kind: 'not_found' } : { kind: 'unrecognized_url' };
  if (status === 429 || e.type === 'StripeRateLimitError') {
    const header = Number(e.headers?.['retry-after']);
    let delay = Number.isFinite(header) && header > 0 ? Math.ceil(header) : backoffSeconds(receiveCount, random);
    // Stripe-Should-Retry: false says an immediate retry cannot succeed: wait at least the full backoff cap.
    if (shouldRetry === 'false') delay = Math.max(delay, BACKOFF_CAP_SECONDS);
    return {
      kind: 'error',
      error: new RetryableError(
        `Stripe rate-limited ${what}`,
        'stripe_rate_limited',
        Math.min(delay, MAX_DELAY_SECONDS),
      ),
    };
  }
  // Stryker disable next-line ConditionalExpression: equivalent, undefined >= 500 is false as well
  if (status !== undefined && status >= 500) {
    const delay = shouldRetry === 'false' ? backoffSeconds(receiveCount, random) : undefined;
    return {
      kind: 'error',
      error: new RetryableError(`Stripe answered ${status} for ${what}`, 'stripe_unavailable', delay),
    };
  }
  if (e.type === 'StripeConnectionError') {
    // Timeouts and resets (stripe-node has already retried a reset once by itself).
    return {
      kind: 'error',
      error: new RetryableError(`no answer from Stripe for ${what}: ${e.message ?? ''}`, 'stripe_connection'),
    };
  }
  if (status === undefined) {
    return {
      kind: 'error',
      error: new RetryableError(`calling Stripe for ${what} failed: ${describeError(err)}`, 'stripe_client_error'),
    };
  }
  if (status === 400) {
    return {
      kind: 'error',
      error: new PermanentError(`Stripe rejected ${what}: ${e.message ?? ''}`, 'stripe_invalid_request'),
    };
  }
  // 401/403 (a key being rotated, a revoked Connect authorization): retry; maxReceiveCount ends it in the DLQ.
  return {
    kind: 'error',
    error: new RetryableError(
      `Stripe answered ${status} for ${what}`,
      status === 401 || status === 403 ? 'stripe_auth' : 'stripe_error',
    ),
  };
}

/** Outcome of one GET: the JSON answer, or how it failed. */
type GetResult = { ok: true; body: Record<string, unknown> } | { ok: false; failure: GetFailure };

export interface StripeFetcher {
  /** The event of a `reference` message, retrieved from Stripe (classic or thin). */
  retrieveEvent(msg: QueueMessage): Promise<Record<string, unknown>>;
  /** The current state of the object `event` is about. */
  currentObject(msg: QueueMessage, event: Record<string, unknown> | undefined): Promise<CurrentObject>;
}

/** True for thin (v2) events, including `reference` messages of one (their type starts with `v1.`/`v2.`). */
export function isThin(msg: QueueMessage, event?: Record<string, unknown>): boolean {
  if (event) return event.object === 'v2.core.event';
  return msg.kind === 'thin' || msg.object?.url !== undefined || /^v\d+\./.test(msg.type);
}

export function createStripeFetcher(opts: FetcherOptions): StripeFetcher {
  const { stripe, stats, logger } = opts;
  const random = opts.random ?? Math.random;

  async function rawGet(path: string, account: string | undefined, thin: boolean): Promise<Record<string, unknown>> {
    stats.calls++;
    try {
      const options = account ? (thin ? { stripeContext: account } : { stripeAccount: account }) : undefined;
      const body: unknown = await stripe.rawRequest('GET', path, undefined, options);
      if (!isRecord(body)) throw new RetryableError(`Stripe answered ${path} with a non-object`, 'stripe_bad_answer');
      return body;
    } catch (err) {
      if ((err as StripeErrorLike | undefined)?.statusCode === 429) stats.rateLimited++;
      throw err;
    }
  }

  async function get(path: string, account: string | undefined, thin: boolean, what: string): Promise<GetResult> {
    // Stryker disable next-line StringLiteral: equivalent, any words keeping platform/account and Account/Context apart do
    const key = `${account ?? ''} ${thin ? 'ctx' : 'acct'} ${path}`;
    let pending = opts.cache?.get(key);
    if (!pending) {
      pending = rawGet(path, account, thin);
      opts.cache?.set(key, pending);
      // A failed fetch is not shared with later records: they try again (or stop, being in the same group).
      pending.catch(() => opts.cache?.delete(key));
    }
    try {
      return { ok: true, body: await pending };
    } catch (err) {
      if (err instanceof RetryableError || err instanceof PermanentError)
        return { ok: false, failure: { kind: 'error', error: err } };
      return { ok: false, failure: classify(err, what, opts.receiveCount, random) };
    }
  }

  function markedDeleted(object: Record<string, unknown>): CurrentObject {
    return { object: { ...object, deleted: true }, origin: 'deleted' };
  }

  function deletedFrom(payload: Record<string, unknown> | undefined, ref: { type: string; id: string }): CurrentObject {
    return markedDeleted(payload ?? { id: ref.id, object: ref.type });
  }

  function fromPayload(payload: Record<string, unknown> | undefined, why: string): CurrentObject {
    logger.warn('using the event payload: the object cannot be retrieved from Stripe', { reason: why });
    return { object: payload ?? null, origin: 'payload' };
  }

  return {
    async retrieveEvent(msg) {
      const thin = isThin(msg);
      const path = thin ? `/v2/core/events/${seg(msg.eventId)}` : `/v1/events/${seg(msg.eventId)}`;
      const res = await get(path, msg.account, thin, `event ${msg.eventId}`);
      if (res.ok) return res.body;
      if (res.failure.kind === 'error') throw res.failure.error;
      // Stripe keeps events 30 days; a reference to an older (or unknown) event cannot be resolved by retrying.
      throw new PermanentError(`Stripe has no event ${msg.eventId}`, 'stripe_event_not_found');
    },

    async currentObject(msg, event) {
      const thin = isThin(msg, event);
      const isDeleteEvent = msg.type.endsWith('.deleted');
      let payload: Record<string, unknown> | undefined;
      let ref: { type: string; id?: string; url?: string } | null;
      if (thin) {
        const related = event?.related_object;
        ref =
          isRecord(related) && typeof related.type === 'string' && typeof related.id === 'string'
            ? { type: related.type, id: related.id, ...(typeof related.url === 'string' ? { url: related.url } : {}) }
            : msg.object;
        if (!ref) return { object: null, origin: 'none' };
      } else {
        const data = event?.data;
        payload = isRecord(data) && isRecord(data.object) ? data.object : undefined;
        const payloadType = typeof payload?.object === 'string' ? payload.object : undefined;
        // An empty id counts as none (the spread below keeps only a non-empty one).
        const payloadId = typeof payload?.id === 'string' ? payload.id : undefined;
        ref = msg.object ?? (payloadType ? { type: payloadType, ...(payloadId ? { id: payloadId } : {}) } : null);
        if (!ref) return fromPayload(payload, 'the event names no object type');
      }
      const { type, id } = ref;

      if (isDeleteEvent && id) return deletedFrom(payload, { type, id });

      let path: string;
      let guessed = false;
      if (ref.url?.startsWith('/') && !ref.url.startsWith('//')) {
        path = ref.url;
      } else {
        const route = retrieveRoute(type, id, payload);
        if (route.kind === 'unretrievable') return fromPayload(payload, route.reason);
        path = route.path;
        guessed = route.guessed;
      }

      const what = `${type} ${id ?? ''}`.trim();
      // Paths under /v1/accounts/{id} name the connected account themselves: the platform calls them, without
      // acting as the account (Stripe-Account).
      const actingAs = !thin && path.startsWith('/v1/accounts/') ? undefined : msg.account;
      const res = await get(path, actingAs, thin, what);
      if (res.ok) {
        if (res.body.deleted === true) return markedDeleted(payload ?? res.body);
        return { object: res.body, origin: 'fetched' };
      }
      switch (res.failure.kind) {
        case 'error':
          throw res.failure.error;
        case 'not_found': {
          // Every event about an object was created while it existed (a delete event is handled above): the object
          // was deleted since. Unless the event is too young to be sure the object is readable at all.
          const ageMs = (opts.now ?? Date.now)() - msg.created * 1000;
          if (opts.receiveCount <= 1 && ageMs < OBJECT_GONE_RECHECK_MS) {
            throw new RetryableError(
              `Stripe has no ${what} yet: looking again once the event is ${OBJECT_GONE_RECHECK_MS / 1000} s old`,
              'stripe_object_not_found_yet',
              Math.max(1, Math.ceil((OBJECT_GONE_RECHECK_MS - ageMs) / 1000)),
            );
          }
          logger.warn('Stripe no longer has the object: handing it over as deleted', { object: what });
          return { ...deletedFrom(payload, { type, id: id ?? '' }), gone: true };
        }
        case 'unrecognized_url':
          // Real Stripe answers a path it has no route for with a 404 without `resource_missing`: our path table
          // (or the naming rule, when `guessed`) does not know this type. The payload is the best left.
          if (!thin)
            return fromPayload(payload, `Stripe does not recognise ${guessed ? 'the guessed path ' : ''}${path}`);
          throw new PermanentError(`Stripe does not recognise ${path}`, 'stripe_unknown_object_url');
      }
    },
  };
}
