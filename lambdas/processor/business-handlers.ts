/**
 * The in-process business handlers (what runs inside the processor; the Lambda entry is handler.ts, handler Lambdas
 * of your own are added with StripeWebhooks.addHandler): the file a product engineer edits.
 *
 * Each handler gets the object as it is now in Stripe (typed from the event type), returns a small summary that is
 * published with the event, and passes `idempotencyKey` on any Stripe write. Event types without a handler are
 * still published to the sink unchanged.
 */
import { PermanentError } from '../shared/errors';
import { createRegistry, type HandlerRegistry } from './registry';

/** Builds the registry the processor Lambda (and `npm start`) uses. */
export function buildRegistry(): HandlerRegistry {
  return createRegistry()
    .on('payment_intent.succeeded', async ({ event, object, objectOrigin, logger }) => {
      if (!object) throw new PermanentError('payment_intent.succeeded without a payment intent', 'no_object');
      if (objectOrigin === 'deleted') {
        // Stripe does not delete payment intents: one it no longer has (a wrong account or mode, a test clock
        // removed) needs a person, not a booking. The DLQ keeps the event with this reason.
        throw new PermanentError(`Stripe no longer has payment intent ${event.object?.id ?? '?'}`, 'object_gone');
      }
      if (objectOrigin === 'fetched' && object.status !== 'succeeded') {
        // A late or replayed event can describe a state the intent has since left: report what is true now.
        logger.warn('payment intent is no longer succeeded', { status: object.status });
      }
      return { amount_received: object.amount_received, currency: object.currency, status: object.status };
    })
    .on('checkout.session.completed', async ({ object }) => {
      if (!object) throw new PermanentError('checkout.session.completed without a session', 'no_object');
      return { payment_status: object.payment_status, amount_total: object.amount_total, currency: object.currency };
    })
    .on('customer.subscription.updated', async ({ object }) => {
      if (!object) throw new PermanentError('customer.subscription.updated without a subscription', 'no_object');
      return { status: object.status, cancel_at_period_end: object.cancel_at_period_end };
    });
}
