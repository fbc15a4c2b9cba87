/**
 * The reconciler: the safety net under webhook delivery. Stripe keeps every event for 30 days; this lists the
 * events created since the last checkpoint and enqueues each one the idempotency table has not seen as DONE, so an
 * event whose deliveries all failed (an outage, a misconfigured endpoint, a lost message) is still processed.
 *
 * - Window: from `checkpoint - overlapSeconds` (events can become listable a little late), never older than
 *   30 days - 1 hour (Stripe's retention, with a margin), to `now - graceSeconds` (normal delivery goes first).
 *   Without a checkpoint: the last `initialLookbackHours`. When the retention edge cuts the window (an outage longer
 *   than Stripe keeps events), the span between the checkpoint and the edge is lost for good: it is reported
 *   (`unrecoverable`, metric ReconcileUnrecoverableSeconds, an alarm) and the checkpoint moves on, else every later
 *   run would restart at the edge and never get further.
 * - Slices of `sliceSeconds` of `created` time, oldest first; each slice is listed in full from every source (the
 *   platform's events, each connected account's, thin events: sources.ts) and every event not DONE is enqueued; the checkpoint moves to the slice's end only after that, so a crash
 *   re-does at most one slice (FIFO deduplication and the table make the re-sends harmless).
 * - One run at a time: a lock item with an owner token and an expiry, renewed before every slice. A second run
 *   finds it held and returns `locked` without doing anything.
 * - Stops when the Lambda's remaining time is low (`out_of_time`), before a slice or between pages; the next run
 *   continues from the checkpoint. A slice cut short makes the next runs use smaller slices (see `slice`).
 * - Stripe requests are paced (`maxRequestsPerSecond`) and a 429 waits `Retry-After` and retries (bounded). Any
 *   other error fails the run; the next run starts again from the checkpoint.
 * - An event that can never be enqueued (unreadable, or refused by SQS for what it is) is parked on the DLQ with its
 *   reason (`dlqUrl`) instead of failing the run, which would retry the slice for ever; an event the processor
 *   already dead-lettered as a permanent failure is not enqueued again.
 */
import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { describeError } from '../shared/errors';
import {
  createPacer,
  type PacedCallOptions,
  realSleep,
  resendEvent,
  type StripeCallCounters,
} from '../shared/stripe-events';
import { reconcilerEnv } from './env';
import type { ReconcileResult, Reconciler, ReconcilerDeps, ReconcilerSettings, RunOptions, RunStatus } from './types';

export type { ReconcileResult, Reconciler, ReconcilerDeps, ReconcilerSettings, RunOptions, RunStatus } from './types';

import { eventSources } from './sources';

/** Stripe keeps events this long. */
export const STRIPE_EVENT_RETENTION_SECONDS = 30 * 86_400;
/** The window never starts closer than this to Stripe's retention edge (events there may vanish mid-listing). */
const RETENTION_MARGIN_SECONDS = 3_600;
/** Events of a page checked and enqueued at once. */
const ENQUEUE_CONCURRENCY = 8;
/** The smallest slice a busy window is cut into. */
const MIN_SLICE_SECONDS = 60;
/** How many missed event ids the result carries (the count is always exact). */
const MAX_LISTED_IDS = 50;

export function createReconciler(deps: ReconcilerDeps, settings: ReconcilerSettings = {}): Reconciler {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? realSleep;
  // A setting left out takes its environment variable's default: one place for both (lambdas/reconciler/env.ts).
  const grace = settings.graceSeconds ?? reconcilerEnv.GRACE_SECONDS.default;
  const overlap = settings.overlapSeconds ?? reconcilerEnv.OVERLAP_SECONDS.default;
  const lookbackSeconds = (settings.initialLookbackHours ?? reconcilerEnv.INITIAL_LOOKBACK_HOURS.default) * 3_600;
  const sliceSeconds = settings.sliceSeconds ?? reconcilerEnv.SLICE_SECONDS.default;
  const lockMs = settings.lockMs ?? reconcilerEnv.LOCK_SECONDS.default * 1000;
  const margin = settings.timeMarginMs ?? 30_000;
  // `*` (or nothing) = every type. Stripe filters on up to 20 types; beyond that, list everything and filter here.
  if (sliceSeconds < 1) throw new Error('sliceSeconds must be at least 1');
  const { logger, metrics } = deps;

  return {
    async run(options = {}) {
      const owner = randomUUID();
      const lock = await deps.state.acquireLock(owner, lockMs);
      if (!lock.acquired) {
        logger.info('another reconciler run holds the lock: nothing to do', {
          heldBy: lock.heldBy,
          ...(lock.expiresAtMs !== undefined ? { lockExpiresAt: new Date(lock.expiresAtMs).toISOString() } : {}),
        });
        metrics?.addMetric('ReconcileLocked', MetricUnit.Count, 1);
        return { ...emptyResult('locked'), ...(lock.heldBy ? { lockHeldBy: lock.heldBy } : {}) };
      }
      try {
        return await reconcile(owner, options);
      } finally {
        try {
          await deps.state.releaseLock(owner);
        } catch (err) {
          logger.warn('could not release the lock (it expires on its own)', { error: describeError(err) });
        }
      }
    },
  };

  async function reconcile(owner: string, options: RunOptions): Promise<ReconcileResult> {
    const nowSeconds = Math.floor(now() / 1000);
    const checkpointBefore = await deps.state.getCheckpoint();
    const oldest = nowSeconds - STRIPE_EVENT_RETENTION_SECONDS + RETENTION_MARGIN_SECONDS;
    const requested =
      options.since ?? (checkpointBefore !== undefined ? checkpointBefore - overlap : nowSeconds - lookbackSeconds);
    const from = Math.max(requested, oldest);
    const to = nowSeconds - grace;
    // A start after the checkpoint leaves a gap the checkpoint must not jump over. A start moved later only by the
    // retention edge leaves nothing that a later run could still list: the checkpoint must move past it.
    const movesCheckpoint = checkpointBefore === undefined || requested <= checkpointBefore;
    const lostFrom = Math.max(requested, checkpointBefore ?? requested);
    const unrecoverable = lostFrom < oldest ? { from: lostFrom, to: oldest } : undefined;
    if (unrecoverable) {
      logger.error("events after the checkpoint are beyond Stripe's 30-day retention: any never delivered are lost", {
        unrecoverableFrom: iso(unrecoverable.from),
        unrecoverableTo: iso(unrecoverable.to),
        unrecoverableSeconds: unrecoverable.to - unrecoverable.from,
      });
    } else if (requested < oldest) {
      logger.warn("the window starts beyond Stripe's 30-day retention: events older than that cannot be listed", {
        requestedFrom: iso(requested),
        from: iso(from),
      });
    }

    // A slice too busy to list and enqueue in one invocation would be retried, and time out, for ever: after such a
    // run the next ones use smaller slices (down to a minute), and grow back once runs complete again.
    const hint = await deps.state.getSliceHint();
    const slice = Math.min(sliceSeconds, hint ?? sliceSeconds);
    const timeLow = () => options.remainingTimeMs !== undefined && options.remainingTimeMs() < margin;
    let interruptedSlice = false;

    const counters: StripeCallCounters = { calls: 0, rateLimited: 0 };
    const totals = zeroTotals();
    const missedEventIds: string[] = [];
    let status: RunStatus = from >= to ? 'up_to_date' : 'completed';
    let reconciledUpTo: number | undefined;
    let checkpointAfter = checkpointBefore;
    let connectedAccounts = 0;

    const call: PacedCallOptions = {
      pacer: createPacer({
        requestsPerSecond: settings.maxRequestsPerSecond ?? reconcilerEnv.MAX_REQUESTS_PER_SECOND.default,
        now,
        sleep,
      }),
      counters,
      sleep,
      ...(settings.maxRateLimitRetries !== undefined ? { maxRetries: settings.maxRateLimitRetries } : {}),
      onRateLimited: (info) => logger.warn('Stripe rate-limited the reconciler: waiting', info),
    };

    /** Enqueues one listed event unless the table says it needs nothing, and counts what happened. */
    const handle = async (event: Record<string, unknown>): Promise<void> => {
      const sent = await resendEvent(
        {
          store: deps.store,
          sqs: deps.sqs,
          queueUrl: deps.queueUrl,
          ...(settings.maxMessageBytes !== undefined ? { maxMessageBytes: settings.maxMessageBytes } : {}),
          ...(deps.dlqUrl ? { deadLetterQueueUrl: deps.dlqUrl } : {}),
        },
        event,
        'reconcile',
      );
      if (sent.outcome === 'skipped') {
        totals.alreadyDone++;
        return;
      }
      if (sent.outcome === 'dead_lettered') {
        totals.deadLettered++;
        logger.info('event already dead-lettered as a permanent failure: not enqueued again', {
          eventId: sent.eventId,
          eventType: sent.type,
        });
        return;
      }
      if (sent.outcome === 'parked') {
        totals.parked++;
        logger.error('event can never be enqueued: parked on the DLQ with its reason', {
          eventId: sent.eventId,
          eventType: sent.type,
          ...sent.parked,
        });
        return;
      }
      totals.enqueued++;
      if (sent.outcome === 'missed') {
        totals.missed++;
        if (missedEventIds.length < MAX_LISTED_IDS) missedEventIds.push(sent.eventId);
        logger.warn('missed event enqueued', {
          eventId: sent.eventId,
          eventType: sent.type,
          created: event.created,
          messageId: sent.messageId,
        });
      } else {
        totals.pending++;
        logger.info('unfinished event enqueued again', {
          eventId: sent.eventId,
          eventType: sent.type,
          status: sent.previousStatus,
          messageId: sent.messageId,
        });
      }
      deps.afterEnqueue?.(sent.eventId);
    };
    try {
      const stripe = from < to ? await deps.stripe() : undefined;
      const sources = stripe ? await eventSources(stripe, call, settings) : [];
      connectedAccounts = sources.filter((x) => x.name.startsWith('account ')).length;
      for (let sliceStart = from; stripe && sliceStart < to; sliceStart += slice) {
        const sliceEnd = Math.min(sliceStart + slice, to);
        if (timeLow()) {
          status = 'out_of_time';
          logger.warn('running out of time: the next run continues from the checkpoint', {
            next: iso(sliceStart),
            to: iso(to),
          });
          break;
        }
        if (!(await deps.state.renewLock(owner, lockMs))) {
          status = 'lock_lost';
          logger.error('the reconciler lock lapsed mid-run: stopping (another run may have taken over)', {
            next: iso(sliceStart),
          });
          break;
        }

        for (const source of sources) {
          for await (const page of source.pages({ createdGte: sliceStart, createdLt: sliceEnd })) {
            if (timeLow()) {
              interruptedSlice = true;
              break;
            }
            totals.listed += page.length;
            // A few events at a time: each is a table read and a queue send (the round trips, not Stripe, bound
            // the pace here); the checkpoint waits for the whole slice, so the order within a page does not matter.
            for (let i = 0; i < page.length; i += ENQUEUE_CONCURRENCY) {
              await Promise.all(page.slice(i, i + ENQUEUE_CONCURRENCY).map(handle));
            }
          }
          if (interruptedSlice) break;
        }

        if (interruptedSlice) {
          status = 'out_of_time';
          const smaller = Math.max(MIN_SLICE_SECONDS, Math.floor(slice / 4));
          if (smaller < slice) await deps.state.setSliceHint(smaller);
          logger.warn('running out of time inside a slice: the next runs use smaller slices', {
            slice: { from: iso(sliceStart), to: iso(sliceEnd) },
            sliceSeconds: slice,
            nextSliceSeconds: smaller,
          });
          break;
        }
        totals.slices++;
        reconciledUpTo = sliceEnd;
        if (movesCheckpoint && (await deps.state.advanceCheckpoint(sliceEnd))) checkpointAfter = sliceEnd;
      }
      if (status === 'completed' && hint !== undefined) {
        const larger = slice * 2;
        await deps.state.setSliceHint(larger < sliceSeconds ? larger : undefined);
      }
    } finally {
      metrics?.addMetric('ReconcileEventsListed', MetricUnit.Count, totals.listed);
      metrics?.addMetric('ReconcileMissedEvents', MetricUnit.Count, totals.missed);
      metrics?.addMetric('ReconcileEnqueued', MetricUnit.Count, totals.enqueued);
      metrics?.addMetric('ReconcileEventsParked', MetricUnit.Count, totals.parked);
      metrics?.addMetric(
        'ReconcileUnrecoverableSeconds',
        MetricUnit.Seconds,
        unrecoverable ? unrecoverable.to - unrecoverable.from : 0,
      );
      metrics?.addMetric('StripeCalls', MetricUnit.Count, counters.calls);
      metrics?.addMetric('Stripe429', MetricUnit.Count, counters.rateLimited);
    }

    const result: ReconcileResult = {
      status,
      window: { from, to },
      ...(reconciledUpTo !== undefined ? { reconciledUpTo } : {}),
      ...(checkpointBefore !== undefined ? { checkpointBefore } : {}),
      ...(checkpointAfter !== undefined ? { checkpointAfter } : {}),
      ...totals,
      connectedAccounts,
      stripeCalls: counters.calls,
      stripe429: counters.rateLimited,
      missedEventIds,
      ...(unrecoverable ? { unrecoverable } : {}),
    };
    const summary = {
      ...result,
      window: { from: iso(from), to: iso(to) },
      missedEventIds: missedEventIds.slice(0, 10),
    };
    if (totals.missed > 0) logger.warn('reconciliation found missed events', summary);
    else logger.info('reconciliation finished', summary);
    return result;
  }
}

/** The counts of a run that has not listed anything yet. */
function zeroTotals() {
  return { slices: 0, listed: 0, missed: 0, pending: 0, alreadyDone: 0, deadLettered: 0, parked: 0, enqueued: 0 };
}

function emptyResult(status: RunStatus): ReconcileResult {
  return {
    status,
    ...zeroTotals(),
    connectedAccounts: 0,
    stripeCalls: 0,
    stripe429: 0,
    missedEventIds: [],
  };
}

function iso(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString();
}
