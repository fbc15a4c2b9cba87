/**
 * The processor: for each SQS record, claim the event id, fetch the current object from Stripe, run the business
 * handler, publish the result, mark the event done. It takes every client as an argument, so the Lambda
 * (handler.ts), the local runtime and the tests run the same code against AWS, stand-ins or stubs.
 *
 * This file is the batch; one record's steps are in process-record.ts, how a record that is not processed ends in
 * outcomes.ts, and what they share in deps.ts.
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
import { ChangeMessageVisibilityBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type Stripe from 'stripe';
import { describeError } from '../shared/errors';
import {
  type Invocation,
  type InvocationCounts,
  type ProcessorDeps,
  type ProcessorScope,
  type RecordOutcome,
  resolveScope,
} from './deps';
import { processRecord } from './process-record';
import type { FetchCache, StripeCallStats } from './stripe-fetch';

export type { ProcessorDeps, TraceFn } from './deps';

export interface Processor {
  handle(event: SQSEvent, context?: { getRemainingTimeInMillis(): number }): Promise<SQSBatchResponse>;
}

/** SQS ChangeMessageVisibility accepts 0 to 43200 seconds. */
const MAX_VISIBILITY_SECONDS = 43_200;

export function createProcessor(deps: ProcessorDeps): Processor {
  const scope = resolveScope(deps);
  const { logger, margin, count } = scope;

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
      const budget = context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY;
      const invocationMargin = Math.min(margin, budget / 2);
      const groups = groupRecords(event.Records);
      await Promise.all(
        [...groups.values()].map((records) =>
          runGroup(scope, records, { stats, counts, getStripe, failed, context, margin: invocationMargin }),
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
}

/** Runs one message group's records in order, stopping at the first failure or when time runs short. */
async function runGroup(scope: ProcessorScope, records: SQSRecord[], inv: Invocation): Promise<void> {
  const { logger } = scope;
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
    let failure: RecordOutcome;
    try {
      failure = await processRecord(scope, record, cache, inv);
    } catch (err) {
      // A bug or an unexpected throw on the failure path: fail this record (and the rest of its group) rather
      // than the whole invocation, which would send every group's records back, processed ones included.
      logger.error('unexpected error processing a record', {
        messageId: record.messageId,
        // From the message attributes every producer sets (lambdas/shared/enqueue.ts): the body may be unreadable.
        eventId: record.messageAttributes.eventId?.stringValue,
        eventType: record.messageAttributes.eventType?.stringValue,
        error: describeError(err),
      });
      failure = {};
    }
    if (failure) {
      const rest = records.slice(i);
      for (const r of rest) inv.failed.add(r.messageId);
      if (rest.length > 1) {
        logger.info('later records of the group left for redelivery, in order', {
          messageIds: rest.slice(1).map((r) => r.messageId),
        });
      }
      // Delay the whole rest of the group: FIFO redelivers none of a group while any of it is in flight, so
      // delaying only the failed record would still leave the group blocked for the full visibility timeout.
      if (failure.retryAfterSeconds !== undefined) await delay(scope, rest, failure.retryAfterSeconds);
      return;
    }
  }
}

/** Makes the messages visible again after `seconds` (bounded to what SQS accepts); a failure is logged only. */
async function delay(scope: ProcessorScope, records: SQSRecord[], seconds: number): Promise<void> {
  const { logger, deps } = scope;
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
