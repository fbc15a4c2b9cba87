/**
 * Getting Stripe events back into the pipeline: listing them from Stripe (paced, 429-aware) and enqueueing the ones
 * the idempotency table has not seen as DONE. One module for the two producers that do this: the scheduled
 * reconciler (source `reconcile`) and the operator's `replay` (source `replay`).
 *
 * Pacing matters because Stripe's rate limit is shared with the processor (about 100 requests/s live, 25 in test
 * mode): these callers take a small, fixed share of it through a token bucket, and on a 429 they wait what Stripe
 * asks (`Retry-After`) and try again a bounded number of times.
 */
import { randomUUID } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type Stripe from 'stripe';
import { enqueueMessage, parkMessage } from './enqueue';
import { describeError, RetryableError } from './errors';
import type { IdempotencyStatus, IdempotencyStore } from './idempotency-store';
import {
  InvalidEventError,
  MESSAGE_VERSION,
  type MessageSource,
  type QueueMessage,
  toQueueMessage,
} from './queue-message';
import { sdkQueueClient } from './sdk-queue-client';

/** Stripe's `types[]` filter on List Events accepts at most 20 types. */
export const MAX_EVENT_TYPES = 20;
/** The largest page List Events serves. */
export const EVENTS_PAGE_SIZE = 100;

/** Waits `ms` milliseconds (tests pass a recorder instead of sleeping). */
export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A token bucket: `take` resolves when a request may be sent. */
export interface Pacer {
  take(): Promise<void>;
}

/**
 * At most `requestsPerSecond` on average, with bursts of at most `burst` (default: one second's worth).
 * Hand-written: a dozen lines, and the rate-limit libraries on npm bring timers and queues a Lambda does not need.
 */
export function createPacer(opts: {
  requestsPerSecond: number;
  burst?: number;
  now?: () => number;
  sleep?: Sleep;
}): Pacer {
  const rate = opts.requestsPerSecond;
  if (!(rate > 0)) throw new Error(`requestsPerSecond must be positive, got ${rate}`);
  const capacity = Math.max(1, opts.burst ?? Math.floor(rate));
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? realSleep;
  let tokens = capacity;
  let last = now();
  return {
    async take() {
      for (;;) {
        const t = now();
        tokens = Math.min(capacity, tokens + ((t - last) / 1000) * rate);
        last = t;
        if (tokens >= 1) {
          tokens -= 1;
          return;
        }
        await sleep(Math.ceil(((1 - tokens) / rate) * 1000));
      }
    },
  };
}

/** Calls to Stripe made through `pacedCall`, for logs and metrics. */
export interface StripeCallCounters {
  calls: number;
  rateLimited: number;
}

export interface PacedCallOptions {
  readonly pacer: Pacer;
  readonly counters: StripeCallCounters;
  /** @default realSleep */
  readonly sleep?: Sleep;
  /** Retries after a 429 before giving up. @default 4 */
  readonly maxRetries?: number;
  /** A longer Retry-After than this gives up at once (the next run retries). @default 30 */
  readonly maxWaitSeconds?: number;
  /** Called before each wait after a 429 (for logs). */
  readonly onRateLimited?: (info: { what: string; waitSeconds: number; attempt: number }) => void;
}

interface StripeErrorLike {
  statusCode?: number;
  type?: string;
  headers?: Record<string, string | undefined>;
}

function rateLimitOf(err: unknown): { retryAfterSeconds?: number } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as StripeErrorLike;
  if (e.statusCode !== 429 && e.type !== 'StripeRateLimitError') return undefined;
  const header = Number(e.headers?.['retry-after']);
  return Number.isFinite(header) && header > 0 ? { retryAfterSeconds: header } : {};
}

/**
 * One Stripe request through the pacer. A 429 waits `Retry-After` (or 1, 2, 4... seconds without one) and retries,
 * at most `maxRetries` times; every other error is thrown as it is (the caller's run fails, the next one retries).
 */
export async function pacedCall<T>(opts: PacedCallOptions, what: string, fn: () => Promise<T>): Promise<T> {
  const sleep = opts.sleep ?? realSleep;
  const maxRetries = opts.maxRetries ?? 4;
  const maxWait = opts.maxWaitSeconds ?? 30;
  for (let attempt = 0; ; attempt++) {
    await opts.pacer.take();
    opts.counters.calls++;
    try {
      return await fn();
    } catch (err) {
      const limited = rateLimitOf(err);
      if (!limited) throw err;
      opts.counters.rateLimited++;
      const waitSeconds = limited.retryAfterSeconds ?? 2 ** attempt;
      if (attempt >= maxRetries || waitSeconds > maxWait) {
        throw new RetryableError(
          `Stripe kept rate-limiting ${what} (${attempt + 1} attempts): ${describeError(err)}`,
          'stripe_rate_limited',
          waitSeconds,
          { cause: err },
        );
      }
      opts.onRateLimited?.({ what, waitSeconds, attempt: attempt + 1 });
      await sleep(waitSeconds * 1000);
    }
  }
}

/** A range of `created` (Unix seconds, `gte` inclusive, `lt` exclusive), optionally only some event types. */
export interface EventListQuery {
  readonly createdGte: number;
  readonly createdLt: number;
  /** At most MAX_EVENT_TYPES; none = every type. */
  readonly types?: readonly string[];
  /** A connected account's events (`Stripe-Account`, or `Stripe-Context` for thin events). @default the platform's */
  readonly account?: string;
}

/**
 * The events of a range, page by page, newest first as Stripe serves them. Paginated by hand (not stripe-node's
 * autoPagingEach) so every page request goes through the pacer and the 429 handling.
 */
export async function* listEventPages(
  stripe: Stripe,
  query: EventListQuery,
  call: PacedCallOptions,
): AsyncGenerator<Stripe.Event[]> {
  const types = query.types && query.types.length > 0 ? [...query.types] : undefined;
  if (types && types.length > MAX_EVENT_TYPES) {
    throw new Error(`Stripe filters on at most ${MAX_EVENT_TYPES} event types, got ${types.length}`);
  }
  let startingAfter: string | undefined;
  for (;;) {
    const params: Stripe.EventListParams = {
      created: { gte: query.createdGte, lt: query.createdLt },
      limit: EVENTS_PAGE_SIZE,
      ...(types ? { types } : {}),
      ...(startingAfter ? { starting_after: startingAfter } : {}),
    };
    const page = await pacedCall(call, 'GET /v1/events', () =>
      stripe.events.list(params, query.account ? { stripeAccount: query.account } : undefined),
    );
    if (page.data.length > 0) yield page.data;
    const last = page.data.at(-1);
    if (!page.has_more || !last) return;
    startingAfter = last.id;
  }
}

/**
 * The thin (v2) events of a range, page by page, newest first: `GET /v2/core/events` with the `created_gte` /
 * `created_lt` filters (RFC 3339) the current SDKs send, following `next_page_url`. Through rawRequest rather than
 * `stripe.v2.core.events.list`, whose parameter shapes changed between SDK versions, so every page goes through the
 * pacer with a query written out here.
 */
export async function* listThinEventPages(
  stripe: Stripe,
  query: EventListQuery,
  call: PacedCallOptions,
): AsyncGenerator<Array<Record<string, unknown>>> {
  const params = new URLSearchParams({
    created_gte: new Date(query.createdGte * 1000).toISOString(),
    created_lt: new Date(query.createdLt * 1000).toISOString(),
    limit: String(EVENTS_PAGE_SIZE),
  });
  for (const t of query.types ?? []) params.append('types', t);
  let path: string | null = `/v2/core/events?${params.toString()}`;
  const options = query.account ? { stripeContext: query.account } : undefined;
  while (path) {
    const current: string = path;
    const page = (await pacedCall(call, 'GET /v2/core/events', () =>
      stripe.rawRequest('GET', current, undefined, options),
    )) as { data?: unknown; next_page_url?: unknown };
    const data = Array.isArray(page.data) ? (page.data as Array<Record<string, unknown>>) : [];
    if (data.length > 0) yield data;
    path = typeof page.next_page_url === 'string' && page.next_page_url.startsWith('/') ? page.next_page_url : null;
  }
}

/** The ids of the platform's connected accounts (`GET /v1/accounts`, every page, paced). */
export async function listConnectedAccounts(stripe: Stripe, call: PacedCallOptions): Promise<string[]> {
  const ids: string[] = [];
  let startingAfter: string | undefined;
  for (;;) {
    const page = await pacedCall(call, 'GET /v1/accounts', () =>
      stripe.accounts.list({ limit: EVENTS_PAGE_SIZE, ...(startingAfter ? { starting_after: startingAfter } : {}) }),
    );
    for (const account of page.data) ids.push(account.id);
    const last = page.data.at(-1);
    if (!page.has_more || !last) return ids;
    startingAfter = last.id;
  }
}

/** What `resendEvent` did with one event. */
export type ResendOutcome =
  /** Not in the table at all: never reached the processor. Enqueued. */
  | 'missed'
  /** In the table but not DONE (IN_PROGRESS or FAILED). Enqueued (FIFO dedup and the table keep it single). */
  | 'pending'
  /** DONE: nothing to do. */
  | 'skipped'
  /** DONE, but forced: the record was cleared and the event enqueued with a fresh deduplication id. */
  | 'forced'
  /**
   * FAILED permanently: the processor moved it to the DLQ with its reason already. Not enqueued (it would only end
   * in the DLQ a second time) unless `permanentFailures: 'resend'`; an operator redrives the DLQ, or replays the
   * event by id, once the cause is fixed.
   */
  | 'dead_lettered'
  /** Could never be enqueued (malformed, or refused by SQS for what it is): parked on the DLQ with the reason. */
  | 'parked';

export interface ResendResult {
  readonly eventId: string;
  readonly type: string;
  readonly outcome: ResendOutcome;
  /** The table's status before, if there was a record. */
  readonly previousStatus?: IdempotencyStatus;
  /** The SQS message id when enqueued (or parked). */
  readonly messageId?: string;
  /** Why it was parked, for `parked`. */
  readonly parked?: { readonly code: string; readonly reason: string };
}

export interface ResendDeps {
  readonly store: IdempotencyStore;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /**
   * The event queue's maximum message size; events too large for it (with the attribute headroom) are enqueued as a
   * `reference` the processor resolves from Stripe. @default 262144
   */
  readonly maxMessageBytes?: number;
  /**
   * Where an event that can never be enqueued is parked with its reason (see ResendOutcome `parked`).
   * @default - such an event throws (the caller's run fails)
   */
  readonly deadLetterQueueUrl?: string;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/**
 * Enqueues `event` unless the table has it as DONE. With `force`, a DONE event is processed again: its record is
 * cleared first (else the processor would skip it) and the message gets a fresh deduplication id (else SQS would
 * drop it as a copy of a send within the last 5 minutes).
 */
export async function resendEvent(
  deps: ResendDeps,
  event: Stripe.Event | Record<string, unknown>,
  source: Extract<MessageSource, 'reconcile' | 'replay'>,
  opts: {
    force?: boolean;
    /**
     * `event` (the reconciler): the event id, so a copy sent within 5 minutes of another is dropped by SQS.
     * `unique` (an operator's replay): a fresh id per send, so the replay is never silently dropped as a copy of an
     * earlier send (e.g. the delivery that just failed); the idempotency table still decides what runs.
     * @default 'event'
     */
    deduplication?: 'event' | 'unique';
    /**
     * What to do with an event the processor failed permanently (already in the DLQ with its reason).
     * `skip` (the reconciler, a range replay): report it as `dead_lettered`, so it is not dead-lettered a second
     * time. `resend` (an operator naming the event): enqueue it like a pending one, since the operator says the
     * cause is fixed; the idempotency table keeps a later redrive of the DLQ copy from applying it twice.
     * @default 'skip'
     */
    permanentFailures?: 'skip' | 'resend';
  } = {},
): Promise<ResendResult> {
  const now = deps.now ?? (() => new Date());
  let msg: QueueMessage;
  try {
    msg = toQueueMessage(event, source, now());
  } catch (err) {
    // Stripe listed something the pipeline cannot read as an event: retrying cannot change that.
    if (!(err instanceof InvalidEventError) || !deps.deadLetterQueueUrl) throw err;
    const ref = unreadableEventReference(event, source, now());
    const failure = { code: `bad_event_${err.code}`, reason: `Stripe listed an unreadable event: ${err.message}` };
    const parked = await parkMessage(sdkQueueClient(deps.sqs), deps.deadLetterQueueUrl, ref, failure, { now });
    return { eventId: ref.eventId, type: ref.type, outcome: 'parked', parked: failure, ...messageIdOf(parked) };
  }
  const record = await deps.store.get(msg.eventId);
  const base = {
    eventId: msg.eventId,
    type: msg.type,
    ...(record ? { previousStatus: record.status } : {}),
  };
  let outcome: ResendOutcome;
  let unique = opts.deduplication === 'unique';
  if (record?.status === 'DONE') {
    if (!opts.force) return { ...base, outcome: 'skipped' };
    await deps.store.forgetDone(msg.eventId);
    unique = true;
    outcome = 'forced';
  } else if (
    record?.status === 'FAILED' &&
    // Stryker disable next-line OptionalChaining: equivalent, a FAILED item always has lastError (one update writes both)
    record.lastError?.permanent === true &&
    !opts.force &&
    opts.permanentFailures !== 'resend'
  ) {
    return { ...base, outcome: 'dead_lettered' };
  } else {
    outcome = record ? 'pending' : 'missed';
  }
  // Unique per send and within SQS's 128 characters (event ids may have up to 124).
  const deduplicationIdOverride = unique ? `${msg.eventId.slice(0, 91)}:${randomUUID()}` : undefined;
  const sent = await enqueueMessage(sdkQueueClient(deps.sqs), deps.queueUrl, msg, {
    maxMessageBytes: deps.maxMessageBytes ?? 262_144,
    ...(deduplicationIdOverride ? { deduplicationIdOverride } : {}),
    ...(deps.deadLetterQueueUrl ? { deadLetterQueueUrl: deps.deadLetterQueueUrl } : {}),
    now,
  });
  if (sent.parked) return { ...base, outcome: 'parked', parked: sent.parked, ...messageIdOf(sent) };
  return { ...base, outcome, ...messageIdOf(sent) };
}

function messageIdOf(sent: { messageId?: string | undefined }): { messageId?: string } {
  return sent.messageId ? { messageId: sent.messageId } : {};
}

/** What can be read of an event toQueueMessage refused, as a `reference` message (the DLQ's readers decode it). */
function unreadableEventReference(event: unknown, source: MessageSource, receivedAt: Date): QueueMessage {
  const e = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  const created = typeof e.created === 'number' ? e.created : Math.floor(Date.parse(String(e.created)) / 1000);
  return {
    v: MESSAGE_VERSION,
    source,
    // Stryker disable next-line StringLiteral: equivalent, parkMessage sends every message as a reference (encodeMessage(msg, 0))
    kind: 'reference',
    // Kept within SQS's 128-character deduplication id.
    eventId: (typeof e.id === 'string' && e.id !== '' ? e.id : 'unknown').slice(0, 120),
    type: (typeof e.type === 'string' && e.type !== '' ? e.type : 'unknown').slice(0, 200),
    livemode: e.livemode === true,
    created: Number.isFinite(created) ? created : 0,
    object: null,
    receivedAt: receivedAt.toISOString(),
  };
}
