/**
 * Handler Lambdas (StripeWebhooks.addHandler): after fetch-before-process, every registered handler whose event
 * types match is invoked with the contract's JSON (lambdas/handler-lambdas/contract.ts), concurrently. Each success
 * is recorded in the event's idempotency record at once, so a retry runs only the handlers that have not succeeded;
 * a permanent failure sends the event to the DLQ naming the handler, leaving the others' success in place.
 *
 * Per object, order holds because the processor runs one FIFO group's records one after another, and a record's
 * handlers all finish (or fail it, and the rest of its group) before the next record of the object starts.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { HANDLER_CONTRACT_VERSION, type HandlerInvocation } from '../handler-lambdas/contract';
import { describeError, PermanentError, RetryableError } from '../shared/errors';
import type { QueueMessage } from '../shared/queue-message';
import type { ObjectOrigin } from '../shared/sink';

/** One registered handler Lambda, as the processor's environment lists it (HANDLER_LAMBDAS). */
export interface HandlerTarget {
  /** The name it was registered under: in logs, metrics and DLQ reasons. */
  readonly name: string;
  /** Event types it receives: exact types, `prefix.*`, or `*`. */
  readonly eventTypes: readonly string[];
  /** Its function timeout: no invocation starts with less than this left in the processor's own. */
  readonly timeoutMs: number;
  /** What to invoke: the function ARN in AWS, the entry file's name locally. */
  readonly functionName: string;
}

/** What one invocation came to. */
export type HandlerOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly permanent: boolean; readonly reason: string };

/** Invokes one handler (the Lambda Invoke API in AWS, an in-process call locally). Throws on a transport failure. */
export type InvokeHandler = (target: HandlerTarget, payload: HandlerInvocation) => Promise<HandlerOutcome>;

/** The handler Lambdas of a processor. */
export interface HandlerLambdas {
  readonly targets: readonly HandlerTarget[];
  readonly invoke: InvokeHandler;
}

/** A handler's permanent failure: the processor dead-letters the event with the handler's name. */
export class HandlerFailedError extends PermanentError {
  override name = 'HandlerFailedError';
  constructor(
    readonly handler: string,
    reason: string,
  ) {
    super(`handler ${handler} failed permanently: ${reason}`, 'handler_failed');
  }
}

/** Whether `type` matches one of `patterns` (exact, `prefix.*`, or `*`). */
export function matchesEventType(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}

/** Reads HANDLER_LAMBDAS (a JSON array of HandlerTarget); a malformed value fails the cold start with the reason. */
export function parseHandlerTargets(json: string | undefined): HandlerTarget[] {
  if (json === undefined || json === '') return [];
  const value: unknown = JSON.parse(json);
  const ok = (t: unknown): t is HandlerTarget => {
    const v = t as Partial<HandlerTarget> | null;
    return (
      typeof v?.name === 'string' &&
      typeof v.functionName === 'string' &&
      typeof v.timeoutMs === 'number' &&
      Array.isArray(v.eventTypes) &&
      v.eventTypes.every((e) => typeof e === 'string')
    );
  };
  if (!Array.isArray(value) || !value.every(ok)) {
    throw new Error('HANDLER_LAMBDAS must be a JSON array of { name, functionName, eventTypes, timeoutMs }');
  }
  return value;
}

export interface RunHandlersArgs {
  readonly lambdas: HandlerLambdas;
  readonly msg: QueueMessage;
  readonly object: Record<string, unknown> | null;
  readonly objectOrigin: ObjectOrigin;
  readonly attempt: number;
  /** Handlers that already succeeded for this event (from the idempotency record). */
  readonly handlersDone: readonly string[];
  /** Records one handler's success (IdempotencyStore.markHandlerDone). */
  readonly markDone: (handler: string) => Promise<void>;
  /** Milliseconds left in the processor's invocation. @default - no limit (tests) */
  readonly remainingMs?: () => number;
  readonly log: Logger;
}

/**
 * Seconds a handler's timeout must leave of the processor's (checked at synth, lib/constructs/handler-lambdas.ts):
 * the claim, the Stripe fetch and the publish around the invocation.
 */
export const HANDLER_TIMEOUT_MARGIN_SECONDS = 10;

/** Margin kept between a handler's timeout and the processor's remaining time, for recording the outcome. */
export const HANDLER_INVOKE_MARGIN_MS = 2_000;

/**
 * Runs the matching handlers that have not succeeded yet. Returns the names it ran. Throws a HandlerFailedError
 * when one failed permanently, else a RetryableError when one failed otherwise.
 */
export async function runHandlerLambdas(args: RunHandlersArgs): Promise<string[]> {
  const { msg, log } = args;
  const due = args.lambdas.targets.filter(
    (t) => matchesEventType(t.eventTypes, msg.type) && !args.handlersDone.includes(t.name),
  );
  const skipped = args.lambdas.targets.filter((t) => args.handlersDone.includes(t.name)).map((t) => t.name);
  if (skipped.length > 0) log.info('handlers that already succeeded are not run again', { handlers: skipped });
  const payload = (handler: string): HandlerInvocation => ({
    version: HANDLER_CONTRACT_VERSION,
    handler,
    event: {
      id: msg.eventId,
      type: msg.type,
      ...(msg.account ? { account: msg.account } : {}),
      livemode: msg.livemode,
      created: msg.created,
      objectRef: msg.object ? { type: msg.object.type, id: msg.object.id } : null,
      source: msg.source,
    },
    object: args.object,
    objectOrigin: args.objectOrigin,
    idempotencyKey: msg.eventId,
    attempt: args.attempt,
  });
  const outcomes = await Promise.all(
    due.map(async (target): Promise<{ name: string; outcome: HandlerOutcome }> => {
      const left = args.remainingMs?.();
      // Stryker disable next-line ConditionalExpression: equivalent, undefined < n is false as well
      if (left !== undefined && left < target.timeoutMs + HANDLER_INVOKE_MARGIN_MS) {
        return {
          name: target.name,
          outcome: { ok: false, permanent: false, reason: 'not enough time left in this invocation' },
        };
      }
      let outcome: HandlerOutcome;
      try {
        outcome = await args.lambdas.invoke(target, payload(target.name));
      } catch (err) {
        outcome = { ok: false, permanent: false, reason: describeError(err) };
      }
      if (outcome.ok) {
        // Recorded at once: a failure of another handler must not make this one run again.
        await args.markDone(target.name);
        log.info('handler succeeded', { handler: target.name });
      } else {
        log.warn('handler failed', { handler: target.name, permanent: outcome.permanent, reason: outcome.reason });
      }
      return { name: target.name, outcome };
    }),
  );
  const failures = outcomes.flatMap(({ name, outcome }) => (outcome.ok ? [] : [{ name, ...outcome }]));
  const permanent = failures.find((f) => f.permanent);
  if (permanent) throw new HandlerFailedError(permanent.name, permanent.reason);
  const retryable = failures[0];
  if (retryable) {
    throw new RetryableError(`handler ${retryable.name} failed: ${retryable.reason}`, 'handler_retryable');
  }
  return due.map((t) => t.name);
}
