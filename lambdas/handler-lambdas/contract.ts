/**
 * The contract between the processor and a handler Lambda (`StripeWebhooks.addHandler`): the JSON the processor
 * invokes it with, and the one error shape that means "never retry". Any runtime can implement it; Node handlers
 * can use `stripeHandler` from `<package>/runtime`. docs/handler-lambdas.md documents it for other languages.
 *
 * No imports: this file is the package's `./runtime` entry and must stay free of the processor's dependencies.
 */

/** The version of the invocation payload; a handler refuses one it does not know. */
export const HANDLER_CONTRACT_VERSION = 1 as const;

/** How the processor got `object`: see the processor's ObjectOrigin. */
export type HandlerObjectOrigin = 'fetched' | 'deleted' | 'payload' | 'none';

/** The event a handler Lambda is invoked for (the queue message, without the raw payload). */
export interface HandlerEvent {
  /** The Stripe event id (`evt_...`). */
  readonly id: string;
  /** The event type, e.g. `checkout.session.completed`. */
  readonly type: string;
  /** The connected account, for Connect events. */
  readonly account?: string;
  readonly livemode: boolean;
  /** Event creation time, Unix seconds. */
  readonly created: number;
  /** The Stripe object the event is about (`type` is Stripe's `object` value), or null. */
  readonly objectRef: { readonly type: string; readonly id: string } | null;
  /** How the event reached the pipeline: webhook, eventbridge, reconcile or replay. */
  readonly source: string;
}

/** The JSON payload a handler Lambda receives (synchronous `Invoke`, `RequestResponse`). */
export interface HandlerInvocation<O = Record<string, unknown>> {
  readonly version: typeof HANDLER_CONTRACT_VERSION;
  /** The name the handler was registered under (`addHandler({ name })`). */
  readonly handler: string;
  readonly event: HandlerEvent;
  /**
   * The object as it is now in Stripe (`objectOrigin: 'fetched'`), fetched after any event about it that this
   * handler already saw: never older than one the handler was given before. Null when the event is about no object.
   */
  readonly object: O | null;
  readonly objectOrigin: HandlerObjectOrigin;
  /** Pass it as Stripe's `idempotencyKey` (suffixed per write if you make several) on any write you make. */
  readonly idempotencyKey: string;
  /** 1 on the first delivery of the event to this pipeline; higher on each retry. */
  readonly attempt: number;
}

/**
 * The error type (Lambda's `errorType`: the class name of what the handler threw, in any runtime) that marks a
 * permanent failure: the event goes to the DLQ at once, naming the handler and `errorMessage`. Anything else thrown
 * (or a timeout) is retried, and the retry runs only the handlers that have not succeeded yet.
 */
export const PERMANENT_HANDLER_ERROR = 'PermanentHandlerError';

/** Throw it from a Node handler Lambda to send the event to the DLQ with `message` as the reason. */
export class PermanentHandlerError extends Error {
  override name = PERMANENT_HANDLER_ERROR;
}

/** Whether a value is a HandlerInvocation of this version (a light check: the processor is the only caller). */
export function isHandlerInvocation(value: unknown): value is HandlerInvocation {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<HandlerInvocation>;
  return (
    v.version === HANDLER_CONTRACT_VERSION &&
    typeof v.handler === 'string' &&
    typeof v.idempotencyKey === 'string' &&
    typeof v.attempt === 'number' &&
    typeof v.event === 'object' &&
    v.event !== null
  );
}

/**
 * Wraps the business function of a Node handler Lambda: checks the payload's version (a payload it does not
 * understand is a permanent failure: a retry would not help) and returns what the function returns (it must be
 * JSON; it is logged by the processor, not published). Export the result as the Lambda's `handler`.
 */
export function stripeHandler<O = Record<string, unknown>, R = unknown>(
  fn: (input: HandlerInvocation<O>) => Promise<R>,
): (input: unknown) => Promise<R> {
  return async (input) => {
    if (!isHandlerInvocation(input)) {
      throw new PermanentHandlerError(
        `not a Stripe handler invocation of version ${HANDLER_CONTRACT_VERSION}: check the library versions`,
      );
    }
    return fn(input as HandlerInvocation<O>);
  };
}
