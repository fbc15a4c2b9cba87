/**
 * The processor: for each SQS record, claim the event id, fetch the current object from Stripe, run the business
 * handler, publish the result, mark the event done. It takes every client as an argument, so the Lambda
 * (handler.ts), the local runtime and the tests run the same code against AWS, stand-ins or stubs.
 *
 * Batch rules (SQS FIFO with ReportBatchItemFailures):
 * - message groups (one per Stripe object) run concurrently; the records of one group run in order;
 * - when a record fails (retryably), it and every later record of its group are reported failed and not
 *   processed, so SQS redelivers them in order; other groups are unaffected;
 * - a permanent failure goes to the DLQ at once with its reason and counts as handled (it is safe there);
 * - a retryable failure with a delay (a Stripe 429, a live lease) changes the messages' visibility instead of
 *   sleeping in the Lambda;
 * - no new record starts when less than `timeMarginMs` of the invocation remains.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { ChangeMessageVisibilityBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type Stripe from 'stripe';
import { describeError, PermanentError, RetryableError } from '../shared/errors';
import { type IdempotencyStore, LeaseLostError } from '../shared/idempotency-store';
import { decodeMessage, messageGroupId, type QueueMessage } from '../shared/queue-message';
import type { EventSink, ProcessedEvent } from '../shared/sink';
import { stripeKeyMode } from '../shared/stripe-client';
import { HandlerFailedError, type HandlerLambdas, runHandlerLambdas } from './handler-lambdas';
import type { HandlerRegistry } from './registry';
import { createStripeFetcher, type FetchCache, type StripeCallStats } from './stripe-fetch';

export interface ProcessorDeps {
  readonly store: IdempotencyStore;
  /** The Stripe client; called once per invocation (the handler rebuilds it only when the API key changes). */
  readonly stripe: () => Promise<Stripe>;
  readonly sink: EventSink;
  readonly registry: HandlerRegistry;
  /** Handler Lambdas (StripeWebhooks.addHandler), run after the registry's handler. @default - none */
  readonly handlerLambdas?: HandlerLambdas;
  readonly sqs: SQSClient;
  /** The event queue (to delay a message after a Stripe 429). */
  readonly queueUrl: string;
  /** The FIFO DLQ permanent failures are sent to. */
  readonly dlqUrl: string;
  readonly logger: Logger;
  /** Namespace StripeWebhooks (set by the caller). */
  readonly metrics?: Metrics;
  /** Clock, Unix milliseconds. @default Date.now */
  readonly now?: () => number;
  /** No new record starts when less than this remains of the invocation. @default 5000 */
  readonly timeMarginMs?: number;
  /** Jitter source for backoffs. @default Math.random */
  readonly random?: () => number;
  /**
   * Runs a unit of work in a trace span (an X-Ray subsegment in the Lambda, through Powertools Tracer), with
   * low-cardinality annotations. Used around the Stripe fetch, the step whose latency Stripe decides.
   * @default - no tracing
   */
  readonly trace?: TraceFn;
}

/** See ProcessorDeps.trace. Annotations must hold no secret and no payload (ids and types only). */
export type TraceFn = <T>(
  name: string,
  annotations: Readonly<Record<string, string>>,
  work: () => Promise<T>,
) => Promise<T>;

const untraced: TraceFn = (_name, _annotations, work) => work();

export interface Processor {
  handle(event: SQSEvent, context?: { getRemainingTimeInMillis(): number }): Promise<SQSBatchResponse>;
}

/** What happened to one record. `failed` = report it in batchItemFailures (SQS redelivers it). */
type RecordOutcome = { readonly status: 'done' } | { readonly status: 'failed'; readonly retryAfterSeconds?: number };

/** SQS ChangeMessageVisibility accepts 0 to 43200 seconds. */
const MAX_VISIBILITY_SECONDS = 43_200;
/** SQS message attribute values are short here: no bodies, no secrets. */
const MAX_REASON_CHARS = 256;

interface InvocationCounts {
  processed: number;
  duplicates: number;
  /** Not processed on purpose (a livemode different from the API key's). */
  skipped: number;
  retryable: number;
  permanent: number;
  notStarted: number;
  leaseLost: number;
}

/** The state one `handle` call shares between its groups. */
interface Invocation {
  readonly stats: StripeCallStats;
  readonly counts: InvocationCounts;
  readonly getStripe: () => Promise<Stripe>;
  readonly failed: Set<string>;
  readonly context: { getRemainingTimeInMillis(): number } | undefined;
  /** No new record starts when less than this remains (see ProcessorDeps.timeMarginMs). */
  readonly margin: number;
}

export function createProcessor(deps: ProcessorDeps): Processor {
  const now = deps.now ?? Date.now;
  const margin = deps.timeMarginMs ?? 5_000;
  const { logger, metrics } = deps;
  const trace = deps.trace ?? untraced;

  function count(name: string, value = 1): void {
    metrics?.addMetric(name, MetricUnit.Count, value);
  }

  function countFailure(kind: 'permanent' | 'retryable'): void {
    // A dimension on the shared Metrics object would apply to every metric of the invocation: a single metric
    // carries its own.
    metrics?.singleMetric().addDimension('Kind', kind).addMetric('ProcessingFailed', MetricUnit.Count, 1);
  }

  return {
    async handle(event, context) {
      const stats: StripeCallStats = { calls: 0, rateLimited: 0 };
      const counts: InvocationCounts = {
        processed: 0,
        duplicates: 0,
        skipped: 0,
        retryable: 0,
        permanent: 0,
        notStarted: 0,
        leaseLost: 0,
      };
      let stripeClient: Promise<Stripe> | undefined;
      const getStripe = () => {
        stripeClient ??= deps.stripe();
        return stripeClient;
      };

      const failed = new Set<string>();
      // The margin never exceeds half of what the invocation had at its start: a 5 s margin on a short timeout
      // would otherwise leave every record unstarted, and every event would end in the DLQ unprocessed.
      const budget = context?.getRemainingTimeInMillis();
      const invocationMargin = budget === undefined ? margin : Math.min(margin, budget / 2);
      const groups = groupRecords(event.Records);
      await Promise.all(
        [...groups.values()].map((records) =>
          runGroup(records, { stats, counts, getStripe, failed, context, margin: invocationMargin }),
        ),
      );

      count('StripeCalls', stats.calls);
      count('Stripe429', stats.rateLimited);
      logger.info('batch processed', {
        records: event.Records.length,
        groups: groups.size,
        ...counts,
        stripeCalls: stats.calls,
        stripe429: stats.rateLimited,
      });
      return {
        batchItemFailures: event.Records.filter((r) => failed.has(r.messageId)).map((r) => ({
          itemIdentifier: r.messageId,
        })),
      };
    },
  };

  async function runGroup(records: SQSRecord[], inv: Invocation): Promise<void> {
    // One fetch per object per group run: later events of the same object reuse it (see FetchCache).
    const cache: FetchCache = new Map();
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      if (inv.context && inv.context.getRemainingTimeInMillis() < inv.margin) {
        const rest = records.slice(i);
        for (const r of rest) inv.failed.add(r.messageId);
        inv.counts.notStarted += rest.length;
        logger.warn('invocation nearly out of time: leaving records for redelivery', {
          messageIds: rest.map((r) => r.messageId),
        });
        return;
      }
      let outcome: RecordOutcome;
      try {
        outcome = await processRecord(record, cache, inv);
      } catch (err) {
        // A bug or an unexpected throw on the failure path: fail this record (and the rest of its group) rather
        // than the whole invocation, which would send every group's records back, processed ones included.
        logger.error('unexpected error processing a record', {
          messageId: record.messageId,
          // From the message attributes every producer sets (lambdas/shared/enqueue.ts): the body may be unreadable.
          eventId: record.messageAttributes?.eventId?.stringValue,
          eventType: record.messageAttributes?.eventType?.stringValue,
          error: describeError(err),
        });
        outcome = { status: 'failed' };
      }
      if (outcome.status === 'failed') {
        const rest = records.slice(i);
        for (const r of rest) inv.failed.add(r.messageId);
        if (rest.length > 1) {
          logger.info('later records of the group left for redelivery, in order', {
            messageIds: rest.slice(1).map((r) => r.messageId),
          });
        }
        // Delay the whole rest of the group: FIFO redelivers none of a group while any of it is in flight, so
        // delaying only the failed record would still leave the group blocked for the full visibility timeout.
        if (outcome.retryAfterSeconds !== undefined) await delay(rest, outcome.retryAfterSeconds);
        return;
      }
    }
  }

  async function processRecord(record: SQSRecord, cache: FetchCache, inv: Invocation): Promise<RecordOutcome> {
    const log = logger.createChild({ persistentKeys: { messageId: record.messageId } });
    let msg: QueueMessage;
    try {
      msg = decodeMessage(record.body);
    } catch (err) {
      return permanentFailure(record, undefined, undefined, asPermanent(err), log, inv);
    }
    log.appendPersistentKeys({
      eventId: msg.eventId,
      eventType: msg.type,
      ...(msg.account ? { account: msg.account } : {}),
    });

    let claim: Awaited<ReturnType<IdempotencyStore['claim']>>;
    try {
      claim = await deps.store.claim(msg.eventId, { type: msg.type, messageId: record.messageId });
    } catch (err) {
      return retryableFailure(record, msg, undefined, err, log, inv);
    }
    if (claim.outcome === 'done') {
      inv.counts.duplicates++;
      count('DuplicateSkipped');
      log.info('event already processed: skipped', { doneAt: claim.doneAt });
      return { status: 'done' };
    }
    if (claim.outcome === 'dead_lettered') {
      inv.counts.duplicates++;
      log.info('message already moved to the DLQ: deleted, not run again', { failedAt: claim.failedAt });
      return { status: 'done' };
    }
    if (claim.outcome === 'busy') {
      const busy = new RetryableError('another invocation holds the event', 'event_busy', claim.retryAfterSeconds);
      return retryableFailure(record, msg, undefined, busy, log, inv);
    }
    const { token } = claim;
    log.appendPersistentKeys({ attempt: claim.attempt });

    let stripe: Stripe;
    try {
      stripe = await inv.getStripe();
    } catch (err) {
      return retryableFailure(record, msg, token, err, log, inv);
    }
    const keyMode = stripeKeyMode(stripe);
    if (keyMode !== undefined && msg.livemode !== (keyMode === 'live')) {
      return skip(msg, token, 'livemode_mismatch', log, inv, {
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
        ...(deps.random ? { random: deps.random } : {}),
      });
      const current = await trace(
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
        refetchNext: () => {
          const id = msg.object?.id;
          if (!id) return;
          for (const key of cache.keys()) if (key.includes(id)) cache.delete(key);
        },
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
      const processed: ProcessedEvent = {
        eventId: msg.eventId,
        type: msg.type,
        ...(msg.account ? { account: msg.account } : {}),
        livemode: msg.livemode,
        created: msg.created,
        object: current.object,
        objectOrigin: current.origin,
        ...(result !== undefined ? { result } : {}),
        source: msg.source,
        processedAt: new Date(now()).toISOString(),
      };
      await deps.sink.publish(processed);
    } catch (err) {
      if (err instanceof PermanentError) return permanentFailure(record, msg, token, err, log, inv);
      return retryableFailure(record, msg, token, err, log, inv);
    }

    try {
      await deps.store.markDone(msg.eventId, token);
    } catch (err) {
      // The handler ran and the result is published: reporting a failure would run them again. Report success;
      // at worst a later copy of the event (after the lease) is processed once more, which handlers' idempotency
      // keys absorb.
      if (err instanceof LeaseLostError) {
        inv.counts.leaseLost++;
        count('LeaseLost');
        log.error('lease lost before the event was marked done: another invocation may process it too', {
          error: describeError(err),
        });
      } else {
        log.error('could not mark the event done', { error: describeError(err) });
      }
    }
    inv.counts.processed++;
    count('EventsProcessed');
    metrics?.addMetric('ProcessingLatency', MetricUnit.Milliseconds, Math.max(0, now() - msg.created * 1000));
    log.info('event processed');
    return { status: 'done' };
  }

  /**
   * Leaves an event unprocessed on purpose, marked DONE so no copy of it is tried again, with a metric per reason.
   * `livemode_mismatch`: a live Connect endpoint also receives its connected accounts' test-mode events (and the
   * reverse for a test key); the API key cannot read their objects (a 404 would dead-letter them), and for
   * singletons (`/v1/balance`) it would read the other mode's object and publish it under this event.
   */
  async function skip(
    msg: QueueMessage,
    token: string,
    reason: 'livemode_mismatch',
    log: Logger,
    inv: Invocation,
    details: Record<string, unknown>,
  ): Promise<RecordOutcome> {
    try {
      await deps.store.markDone(msg.eventId, token);
    } catch (err) {
      log.warn('could not mark the skipped event done (a copy will be skipped again)', { error: describeError(err) });
    }
    inv.counts.skipped++;
    metrics?.singleMetric().addDimension('Reason', reason).addMetric('EventSkipped', MetricUnit.Count, 1);
    log.warn('event skipped', { reason, ...details });
    return { status: 'done' };
  }

  async function retryableFailure(
    record: SQSRecord,
    msg: QueueMessage,
    token: string | undefined,
    err: unknown,
    log: Logger,
    inv: Invocation,
  ): Promise<RecordOutcome> {
    const code = errorCode(err, 'unexpected_error');
    const reason = short(describeError(err));
    const retryAfterSeconds = err instanceof RetryableError ? err.retryAfterSeconds : undefined;
    if (token) await release(msg, token, { code, message: reason, messageId: record.messageId, permanent: false }, log);
    inv.counts.retryable++;
    countFailure('retryable');
    log.warn('event failed: will be retried', { code, reason, retryAfterSeconds });
    return retryAfterSeconds === undefined ? { status: 'failed' } : { status: 'failed', retryAfterSeconds };
  }

  async function permanentFailure(
    record: SQSRecord,
    msg: QueueMessage | undefined,
    token: string | undefined,
    err: PermanentError,
    log: Logger,
    inv: Invocation,
  ): Promise<RecordOutcome> {
    const reason = short(describeError(err));
    try {
      await deps.sqs.send(
        new SendMessageCommand({
          QueueUrl: deps.dlqUrl,
          MessageBody: record.body,
          MessageGroupId: record.attributes.MessageGroupId ?? (msg ? messageGroupId(msg) : 'undecodable'),
          // The original message id: a second attempt to dead-letter the same message is dropped by SQS.
          MessageDeduplicationId: record.messageId,
          MessageAttributes: {
            FailureCode: str(err.code),
            FailureReason: str(reason),
            EventId: str(msg?.eventId ?? 'unknown'),
            OriginalMessageId: str(record.messageId),
            FailedAt: str(new Date(now()).toISOString()),
            ...(err instanceof HandlerFailedError ? { FailedHandler: str(err.handler) } : {}),
          },
        }),
      );
    } catch (sendErr) {
      // Not safely anywhere yet: leave it on the queue (SQS's own redrive ends it in the DLQ after maxReceiveCount).
      log.error('could not move the event to the DLQ: will be retried', {
        code: err.code,
        reason,
        dlqError: describeError(sendErr),
      });
      if (msg && token) {
        await release(
          msg,
          token,
          { code: err.code, message: reason, messageId: record.messageId, permanent: false },
          log,
        );
      }
      inv.counts.retryable++;
      countFailure('retryable');
      return { status: 'failed' };
    }
    if (msg && token) {
      await release(msg, token, { code: err.code, message: reason, messageId: record.messageId, permanent: true }, log);
    }
    inv.counts.permanent++;
    countFailure('permanent');
    log.error('event failed permanently: moved to the DLQ', { code: err.code, reason });
    return { status: 'done' };
  }

  /** Records the failure and releases the lease; a failure to do so is logged, never thrown (the lease expires). */
  async function release(
    msg: QueueMessage,
    token: string,
    failure: { code: string; message: string; messageId: string; permanent: boolean },
    log: Logger,
  ): Promise<void> {
    try {
      await deps.store.recordFailure(msg.eventId, token, failure);
    } catch (err) {
      log.warn('could not record the failure (the lease will expire on its own)', { error: describeError(err) });
    }
  }

  async function delay(records: SQSRecord[], seconds: number): Promise<void> {
    const timeout = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(seconds)));
    try {
      const res = await deps.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: deps.queueUrl,
          Entries: records.map((r, i) => ({
            Id: String(i),
            ReceiptHandle: r.receiptHandle,
            VisibilityTimeout: timeout,
          })),
        }),
      );
      if (res.Failed && res.Failed.length > 0) {
        logger.warn('could not delay some messages: they return after the visibility timeout', {
          failed: res.Failed.map((f) => f.Code),
        });
      }
    } catch (err) {
      logger.warn('could not delay the messages: they return after the visibility timeout', {
        error: describeError(err),
      });
    }
  }
}

/** Groups records by FIFO message group, keeping each group's records in arrival order. */
function groupRecords(records: readonly SQSRecord[]): Map<string, SQSRecord[]> {
  const groups = new Map<string, SQSRecord[]>();
  for (const r of records) {
    // A standard queue has no groups: each record stands alone.
    const key = r.attributes.MessageGroupId ?? `message:${r.messageId}`;
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  return groups;
}

function asPermanent(err: unknown): PermanentError {
  return err instanceof PermanentError ? err : new PermanentError(describeError(err), 'bad_message');
}

function errorCode(err: unknown, fallback: string): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code !== '' ? code : fallback;
}

function short(s: string): string {
  return s.length > MAX_REASON_CHARS ? `${s.slice(0, MAX_REASON_CHARS - 1)}…` : s;
}

function str(value: string) {
  return { DataType: 'String', StringValue: value === '' ? '-' : value };
}
