/**
 * How a record that is not processed ends:
 * - skipped on purpose: marked DONE, so no copy of it is tried again (`skip`);
 * - retried: the failure recorded on the event and its lease released, the record reported failed
 *   (`retryableFailure`);
 * - dead-lettered: sent to the DLQ with its reason and counted as handled, or retried when the DLQ cannot take it
 *   (`permanentFailure`).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { describeError, PermanentError, RetryableError } from '../shared/errors';
import { messageGroupId, type QueueMessage } from '../shared/queue-message';
import type { Invocation, ProcessorScope, RecordOutcome } from './deps';
import { HandlerFailedError } from './handler-lambdas';

/** SQS message attribute values are short here: no bodies, no secrets. */
export const MAX_REASON_CHARS = 256;

/**
 * Leaves an event unprocessed on purpose, marked DONE so no copy of it is tried again, with a metric per reason.
 * `livemode_mismatch`: a live Connect endpoint also receives its connected accounts' test-mode events (and the
 * reverse for a test key); the API key cannot read their objects (a 404 would dead-letter them), and for
 * singletons (`/v1/balance`) it would read the other mode's object and publish it under this event.
 */
export async function skip(
  scope: ProcessorScope,
  msg: QueueMessage,
  token: string,
  reason: 'livemode_mismatch',
  log: Logger,
  inv: Invocation,
  details: Record<string, unknown>,
): Promise<RecordOutcome> {
  try {
    await scope.deps.store.markDone(msg.eventId, token);
  } catch (err) {
    log.warn('could not mark the skipped event done (a copy will be skipped again)', { error: describeError(err) });
  }
  inv.counts.skipped++;
  scope.metrics?.singleMetric().addDimension('Reason', reason).addMetric('EventSkipped', MetricUnit.Count, 1);
  log.warn('event skipped', { reason, ...details });
  return undefined;
}

export async function retryableFailure(
  scope: ProcessorScope,
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
  if (token)
    await release(scope, { msg, token }, { code, message: reason, messageId: record.messageId, permanent: false }, log);
  inv.counts.retryable++;
  scope.countFailure('retryable');
  log.warn('event failed: will be retried', { code, reason, retryAfterSeconds });
  return { retryAfterSeconds };
}

/** The event a record holds and the lease on it: undefined when the record could not even be decoded. */
export interface Claimed {
  readonly msg: QueueMessage;
  readonly token: string;
}

export async function permanentFailure(
  scope: ProcessorScope,
  record: SQSRecord,
  claimed: Claimed | undefined,
  err: PermanentError,
  log: Logger,
  inv: Invocation,
): Promise<RecordOutcome> {
  const reason = short(describeError(err));
  const failure = { code: err.code, message: reason, messageId: record.messageId };
  try {
    await scope.deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: scope.deps.dlqUrl,
        MessageBody: record.body,
        MessageGroupId: record.attributes.MessageGroupId ?? (claimed ? messageGroupId(claimed.msg) : 'undecodable'),
        // The original message id: a second attempt to dead-letter the same message is dropped by SQS.
        MessageDeduplicationId: record.messageId,
        MessageAttributes: {
          FailureCode: str(err.code),
          FailureReason: str(reason),
          EventId: str(claimed?.msg.eventId ?? 'unknown'),
          OriginalMessageId: str(record.messageId),
          FailedAt: str(new Date(scope.now()).toISOString()),
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
    if (claimed) await release(scope, claimed, { ...failure, permanent: false }, log);
    inv.counts.retryable++;
    scope.countFailure('retryable');
    return {};
  }
  if (claimed) await release(scope, claimed, { ...failure, permanent: true }, log);
  inv.counts.permanent++;
  scope.countFailure('permanent');
  log.error('event failed permanently: moved to the DLQ', { code: err.code, reason });
  return undefined;
}

/** Records the failure and releases the lease; a failure to do so is logged, never thrown (the lease expires). */
async function release(
  scope: ProcessorScope,
  { msg, token }: Claimed,
  failure: { code: string; message: string; messageId: string; permanent: boolean },
  log: Logger,
): Promise<void> {
  try {
    await scope.deps.store.recordFailure(msg.eventId, token, failure);
  } catch (err) {
    log.warn('could not record the failure (the lease will expire on its own)', { error: describeError(err) });
  }
}

export function asPermanent(err: unknown): PermanentError {
  return err instanceof PermanentError ? err : new PermanentError(describeError(err), 'bad_message');
}

function errorCode(err: unknown, fallback: string): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code !== '' ? code : fallback;
}

function short(s: string): string {
  return s.length > MAX_REASON_CHARS ? `${s.slice(0, MAX_REASON_CHARS - 1)}…` : s;
}

/** A String message attribute; SQS rejects an empty value, so an empty string is sent as `-`. */
function str(value: string) {
  return { DataType: 'String', StringValue: value === '' ? '-' : value };
}
