/**
 * One record, start to end: decode it, claim the event id, fetch the current object from Stripe, run the business
 * handler (and the handler Lambdas), publish the result, mark the event done. How a record that is not processed
 * ends (skipped, retried, dead-lettered) is in outcomes.ts; the batch around it in core.ts.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import type Stripe from 'stripe';
import { describeError, PermanentError, RetryableError } from '../shared/errors';
import { type IdempotencyStore, LeaseLostError } from '../shared/idempotency-store';
import { decodeMessage, type QueueMessage } from '../shared/queue-message';
import type { ProcessedEvent } from '../shared/sink';
import { stripeKeyMode } from '../shared/stripe-client';
import type { Invocation, ProcessorScope, RecordOutcome } from './deps';
import { runHandlerLambdas } from './handler-lambdas';
import { asPermanent, permanentFailure, retryableFailure, skip } from './outcomes';
import { createStripeFetcher, type FetchCache } from './stripe-fetch';

export async function processRecord(
  scope: ProcessorScope,
  record: SQSRecord,
  cache: FetchCache,
  inv: Invocation,
): Promise<RecordOutcome> {
  const { deps, now, count } = scope;
  const log = scope.logger.createChild({ persistentKeys: { messageId: record.messageId } });
  let msg: QueueMessage;
  try {
    msg = decodeMessage(record.body);
  } catch (err) {
    return permanentFailure(scope, record, undefined, asPermanent(err), log, inv);
  }
  // An undefined account (a platform event) is left out of the JSON log line.
  log.appendPersistentKeys({ eventId: msg.eventId, eventType: msg.type, account: msg.account });

  let claim: Awaited<ReturnType<IdempotencyStore['claim']>>;
  try {
    claim = await deps.store.claim(msg.eventId, { type: msg.type, messageId: record.messageId });
  } catch (err) {
    return retryableFailure(scope, record, msg, undefined, err, log, inv);
  }
  if (claim.outcome === 'done') {
    inv.counts.duplicates++;
    count('DuplicateSkipped');
    log.info('event already processed: skipped', { doneAt: claim.doneAt });
    return undefined;
  }
  if (claim.outcome === 'dead_lettered') {
    inv.counts.duplicates++;
    log.info('message already moved to the DLQ: deleted, not run again', { failedAt: claim.failedAt });
    return undefined;
  }
  if (claim.outcome === 'busy') {
    const busy = new RetryableError('another invocation holds the event', 'event_busy', claim.retryAfterSeconds);
    return retryableFailure(scope, record, msg, undefined, busy, log, inv);
  }
  const { token } = claim;
  log.appendPersistentKeys({ attempt: claim.attempt });

  let stripe: Stripe;
  try {
    stripe = await inv.getStripe();
  } catch (err) {
    return retryableFailure(scope, record, msg, token, err, log, inv);
  }
  const keyMode = stripeKeyMode(stripe);
  if (keyMode !== undefined && msg.livemode !== (keyMode === 'live')) {
    return skip(scope, msg, token, 'livemode_mismatch', log, inv, {
      eventLivemode: msg.livemode,
      apiKeyMode: keyMode,
    });
  }

  try {
    const fetcher = createStripeFetcher({
      stripe,
      stats: inv.stats,
      logger: log,
      receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
      cache,
      now,
      random: deps.random,
    });
    const current = await scope.trace(
      'Stripe fetch',
      { eventType: msg.type, objectType: msg.object?.type ?? 'none', messageKind: msg.kind },
      async () => {
        const stripeEvent = msg.kind === 'reference' ? await fetcher.retrieveEvent(msg) : msg.event;
        return fetcher.currentObject(msg, stripeEvent);
      },
    );
    if (current.gone) count('ObjectGone');
    const handler = deps.registry.resolve(msg.type);
    const result = await handler({
      event: msg,
      object: current.object,
      objectOrigin: current.origin,
      stripe,
      logger: log,
      idempotencyKey: msg.eventId,
      // The cache is this group's, and a group is one object (account:object id): dropping all of it drops the
      // object's fetch (and nothing another record needs: a reference message's event fetch is its own).
      refetchNext: () => cache.clear(),
    });
    if (deps.handlerLambdas) {
      const { context } = inv;
      await runHandlerLambdas({
        lambdas: deps.handlerLambdas,
        msg,
        object: current.object,
        objectOrigin: current.origin,
        attempt: claim.attempt,
        handlersDone: claim.handlersDone,
        markDone: (name) => deps.store.markHandlerDone(msg.eventId, token, name),
        ...(context ? { remainingMs: () => context.getRemainingTimeInMillis() } : {}),
        log,
      });
    }
    // Every sink publishes JSON, which leaves out an undefined account (a platform event) or result.
    const processed: ProcessedEvent = {
      eventId: msg.eventId,
      type: msg.type,
      account: msg.account,
      livemode: msg.livemode,
      created: msg.created,
      object: current.object,
      objectOrigin: current.origin,
      result,
      source: msg.source,
      processedAt: new Date(now()).toISOString(),
    };
    await deps.sink.publish(processed);
  } catch (err) {
    if (err instanceof PermanentError) return permanentFailure(scope, record, { msg, token }, err, log, inv);
    return retryableFailure(scope, record, msg, token, err, log, inv);
  }

  await markDone(scope, msg, token, log, inv);
  inv.counts.processed++;
  count('EventsProcessed');
  scope.metrics?.addMetric('ProcessingLatency', MetricUnit.Milliseconds, Math.max(0, now() - msg.created * 1000));
  // DEBUG, not INFO: one success line per event was most of the processor's log bytes. The batch line counts the
  // processed events, the EventsProcessed metric too, and the event's idempotency record (`npm run ops -- event
  // <evt_id>`: status, attempts, doneAt) is the per-event trace; failures keep their WARN/ERROR lines with every id.
  log.debug('event processed');
  return undefined;
}

/**
 * Marks a processed event done. The handler ran and the result is published: reporting a failure would run them
 * again, so a failure here is logged (and a lost lease counted), never thrown; at worst a later copy of the event
 * (after the lease) is processed once more, which handlers' idempotency keys absorb.
 */
async function markDone(
  scope: ProcessorScope,
  msg: QueueMessage,
  token: string,
  log: Logger,
  inv: Invocation,
): Promise<void> {
  try {
    await scope.deps.store.markDone(msg.eventId, token);
  } catch (err) {
    if (err instanceof LeaseLostError) {
      inv.counts.leaseLost++;
      scope.count('LeaseLost');
      log.error('lease lost before the event was marked done: another invocation may process it too', {
        error: describeError(err),
      });
    } else {
      log.error('could not mark the event done', { error: describeError(err) });
    }
  }
}
