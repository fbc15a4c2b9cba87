/**
 * The business handlers, one per Stripe event type: what a product engineer writes (see business-handlers.ts).
 *
 * A handler receives the freshly fetched object, never the webhook snapshot. It may call Stripe (pass
 * `idempotencyKey` on every write so a redelivered event cannot apply it twice), and returns a small
 * JSON-serialisable result that is published with the event. Throw a PermanentError to send the event to the
 * DLQ with its reason; anything else thrown is retried.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type Stripe from 'stripe';
import type { QueueMessage } from '../shared/queue-message';
import type { ObjectOrigin } from '../shared/sink';

/** Every classic event type stripe-node knows, e.g. `payment_intent.succeeded`. */
export type StripeEventType = Stripe.Event['type'];

/** The object an event type is about, from stripe-node's own event union (`Stripe.PaymentIntent` for `payment_intent.*`). */
export type ObjectOf<T extends string> = T extends StripeEventType
  ? Extract<Stripe.Event, { type: T }>['data']['object']
  : Record<string, unknown>;

export interface HandlerContext<O = Record<string, unknown>> {
  /** The queue message (event id, type, account, created, source...). */
  readonly event: QueueMessage;
  /**
   * The object as it is now in Stripe (`objectOrigin: 'fetched'`); the payload marked `deleted: true` for a deleted
   * object; the payload for types Stripe cannot retrieve; null when the event is about no object.
   */
  readonly object: O | null;
  readonly objectOrigin: ObjectOrigin;
  /** A Stripe client (use `stripeAccount: event.account` for calls on a connected account). */
  readonly stripe: Stripe;
  /** Carries eventId, eventType and messageId on every line. Never log card data or whole objects. */
  readonly logger: Logger;
  /** = event id: pass it as Stripe `idempotencyKey` on any write you make. */
  readonly idempotencyKey: string;
  /**
   * Later events about the same object in the same batch are handed the object fetched for the first of them (one
   * fetch serves a backlog, to stay within Stripe's rate limit; see FetchCache). If your handler changes the object in
   * Stripe, call this so the next event of the object in this batch fetches it afresh (and read it back with
   * `stripe` when you need your own write reflected now). Another batch always fetches afresh.
   */
  readonly refetchNext: () => void;
}

export type EventHandler<O = Record<string, unknown>> = (ctx: HandlerContext<O>) => Promise<unknown>;

export interface HandlerRegistry {
  /** Registers the handler of one event type; its object is typed from stripe-node's event union. */
  on<T extends StripeEventType>(type: T, handler: EventHandler<ObjectOf<T>>): HandlerRegistry;
  /** Registers the handler of any event type (thin events, types newer than stripe-node), or `prefix.*`. */
  on(type: string, handler: EventHandler): HandlerRegistry;
  /** The handler for a type: exact match, else the longest matching `prefix.*`, else the default (does nothing). */
  resolve(type: string): EventHandler;
  /** The registered types and patterns (for logs and docs). */
  types(): string[];
}

/** The default handler: nothing to do; the processed event is still published to the sink. */
const publishOnly: EventHandler = async () => undefined;

export function createRegistry(): HandlerRegistry {
  const handlers = new Map<string, EventHandler>();
  const registry: HandlerRegistry = {
    on(type: string, handler: EventHandler<never>) {
      if (handlers.has(type)) throw new Error(`a handler for ${type} is already registered`);
      if (type.includes('*') && !/^[^*]+\.\*$/.test(type)) {
        throw new Error(`${type}: only a trailing ".*" wildcard is supported`);
      }
      handlers.set(type, handler as EventHandler);
      return registry;
    },
    resolve(type) {
      const exact = handlers.get(type);
      if (exact) return exact;
      const parts = type.split('.');
      // Stryker disable next-line EqualityOperator: equivalent, n = 0 would look up ".*", which on() never registers
      for (let n = parts.length - 1; n > 0; n--) {
        const wildcard = handlers.get(`${parts.slice(0, n).join('.')}.*`);
        if (wildcard) return wildcard;
      }
      return publishOnly;
    },
    types: () => [...handlers.keys()],
  };
  return registry;
}
