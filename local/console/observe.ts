/**
 * Feeds the console's journal from what the local pipeline does, without touching the code the Lambdas run: the
 * ingress's answers, and the processor's dependencies (the idempotency table, the sink, the DLQ and the Stripe client)
 * seen from outside, the way an operator in AWS would read them from the table, the bus and the DLQ.
 *
 * Per record: `processing` when an invocation picks it up; then the first of: the table says DONE (a duplicate,
 * skipped), the sink receives it (done, with the object as fetched and the handler's result), a SendMessage to the
 * DLQ (dead-lettered, with FailureCode and FailureReason), or the invocation reports it failed (retried, with the
 * failure it recorded in the table). A record that ended without any of those was skipped on purpose and marked DONE
 * (e.g. a livemode that is not the API key's): it shows as done.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type Stripe from 'stripe';
import type { IdempotencyStore } from '../../lambdas/shared/idempotency-store';
import { decodeMessage, toQueueMessage } from '../../lambdas/shared/queue-message';
import type { EventSink } from '../../lambdas/shared/sink';
import type { HttpHandler } from '../http-adapter';
import type { InvocationContext } from '../poller';
import type { EventJournal } from './journal';

type BatchFunction = (event: SQSEvent, ctx: InvocationContext) => Promise<SQSBatchResponse>;

interface RecordKey {
  readonly eventId: string;
  readonly type: string;
  readonly objectId?: string;
  readonly messageId: string;
}

/** Ties the wrapped dependencies of one processor container to the records its current invocation holds. */
export class ProcessorObserver {
  /** eventId -> the record of the running invocation that holds it (cleared when its attempt is finished). */
  private readonly open = new Map<string, RecordKey>();
  /** eventId -> the failure the processor recorded in the table during this attempt. */
  private readonly failures = new Map<string, string>();

  constructor(private readonly journal: EventJournal) {}

  /** Wraps the processor's batch function: `processing` for each record, `retried` for the ones it reports failed. */
  batch(handle: BatchFunction): BatchFunction {
    return async (event, ctx) => {
      const keys = event.Records.map((r) => this.start(r, ctx));
      let answer: SQSBatchResponse;
      try {
        answer = await handle(event, ctx);
      } catch (err) {
        // The whole invocation failed: SQS sends every record of the batch back.
        for (const key of keys) if (key) this.finish(key, 'retried', `invocation failed: ${(err as Error).message}`);
        throw err;
      }
      const failed = new Set(answer.batchItemFailures.map((f) => f.itemIdentifier));
      for (const key of keys) {
        if (!key || this.open.get(key.eventId) !== key) continue;
        if (failed.has(key.messageId)) {
          this.finish(key, 'retried', this.failures.get(key.eventId) ?? 'left for redelivery (its group failed)');
        } else this.finish(key, 'done');
      }
      return answer;
    };
  }

  /** The idempotency table: a claim that finds DONE is a duplicate; a recorded failure is the reason of a retry. */
  store(store: IdempotencyStore): IdempotencyStore {
    return {
      ...store,
      claim: async (eventId, meta) => {
        const claim = await store.claim(eventId, meta);
        const key = this.open.get(eventId);
        if (claim.outcome === 'done' && key) this.finish(key, 'duplicate');
        return claim;
      },
      recordFailure: async (eventId, token, failure) => {
        if (!failure.permanent) this.failures.set(eventId, `${failure.code}: ${failure.message}`);
        return store.recordFailure(eventId, token, failure);
      },
    };
  }

  /** The sink (EventBridge): what it receives was processed, with the object as fetched and the handler's result. */
  sink(sink: EventSink): EventSink {
    return {
      publish: async (event) => {
        await sink.publish(event);
        const key = this.open.get(event.eventId);
        if (key) this.finish(key, 'done', undefined, event.object, event.result);
      },
    };
  }

  /** The processor's SQS client: a SendMessage to the DLQ is a dead-lettered record, with the reason it gives. */
  sqs(client: SQSClient, dlqUrl: string): SQSClient {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const input = args.input as {
          QueueUrl?: string;
          MessageAttributes?: Record<string, { StringValue?: string }>;
        };
        if (context.commandName === 'SendMessageCommand' && input.QueueUrl === dlqUrl) {
          const attrs = input.MessageAttributes ?? {};
          const key = this.open.get(attrs.EventId?.StringValue ?? '');
          const code = attrs.FailureCode?.StringValue ?? 'unknown';
          if (key) this.finish(key, 'dlq', `${code}: ${attrs.FailureReason?.StringValue ?? ''}`);
        }
        return result;
      },
      { step: 'initialize', name: 'consoleDlqObserver' },
    );
    return client;
  }

  /** The container's Stripe client: every request it makes counts toward "Stripe calls per event". */
  stripe(client: Stripe): Stripe {
    client.on('request', () => this.journal.stripeCalls(1));
    return client;
  }

  private start(record: SQSRecord, ctx: InvocationContext): RecordKey | undefined {
    let key: RecordKey;
    try {
      const msg = decodeMessage(record.body);
      key = {
        eventId: msg.eventId,
        type: msg.type,
        ...(msg.object?.id ? { objectId: msg.object.id } : {}),
        messageId: record.messageId,
      };
    } catch {
      return undefined; // Unreadable: the processor dead-letters it; the console has no event to show it under.
    }
    this.open.set(key.eventId, key);
    this.failures.delete(key.eventId);
    this.journal.processing({
      ...key,
      receiveCount: Number(record.attributes.ApproximateReceiveCount) || 1,
      container: ctx.logStreamName,
    });
    return key;
  }

  private finish(
    key: RecordKey,
    outcome: 'done' | 'duplicate' | 'retried' | 'dlq',
    reason?: string,
    object?: unknown,
    result?: unknown,
  ): void {
    if (this.open.get(key.eventId) !== key) return;
    this.open.delete(key.eventId);
    this.journal.finished({
      ...key,
      outcome,
      ...(reason !== undefined ? { reason } : {}),
      ...(object !== undefined ? { object } : {}),
      ...(result !== undefined ? { result } : {}),
    });
  }
}

/** Wraps the ingress: a 2xx to a webhook POST is an accepted delivery; a 4xx is a rejection, by its `error` code. */
export function observeIngress(journal: EventJournal, handle: HttpHandler): HttpHandler {
  return async (event: APIGatewayProxyEventV2) => {
    const answer = await handle(event);
    if (event.requestContext.http.method !== 'POST') return answer;
    const status = answer.statusCode ?? 200;
    if (status >= 200 && status < 300) {
      const payload = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : event.body;
      try {
        const msg = toQueueMessage(JSON.parse(payload ?? ''), 'webhook', new Date());
        journal.accepted({
          eventId: msg.eventId,
          type: msg.type,
          ...(msg.object?.id ? { objectId: msg.object.id } : {}),
          ...(msg.account ? { account: msg.account } : {}),
          payload: payload ?? '',
        });
      } catch {
        // Accepted but not an event the journal can key (cannot happen: the ingress parsed it the same way).
      }
    } else if (status >= 400 && status < 500) {
      let reason = `http_${status}`;
      try {
        const body = JSON.parse(String(answer.body ?? '')) as { error?: unknown };
        if (typeof body.error === 'string') reason = body.error;
      } catch {
        // Not JSON: keep the status.
      }
      journal.rejected(reason);
    }
    return answer;
  };
}
