/**
 * An example handler Lambda: fulfils an order when a Checkout Session completes (`checkout.session.completed`).
 * The reference app deploys it with `StripeWebhooks.addHandler` (lib/app.ts) and `npm start` runs it in-process.
 *
 * It receives the session as it is now in Stripe (never the webhook's snapshot), so a session whose payment is not
 * (yet) `paid` (delayed payment methods) is left alone: `checkout.session.async_payment_succeeded` follows. A session
 * Stripe no longer has cannot be fulfilled: a PermanentHandlerError sends the event to the DLQ with the reason.
 * Fulfilment here is a log line; yours writes to your order system with `idempotencyKey`, so a retry never ships twice.
 */
import { PermanentHandlerError, stripeHandler } from '../../lib/runtime';

interface CheckoutSession {
  readonly id: string;
  readonly payment_status?: string;
  readonly amount_total?: number | null;
  readonly currency?: string | null;
  readonly client_reference_id?: string | null;
}

export const handler = stripeHandler<CheckoutSession>(async ({ event, object, objectOrigin, idempotencyKey }) => {
  if (!object || objectOrigin === 'deleted') {
    throw new PermanentHandlerError(`Stripe no longer has checkout session ${event.objectRef?.id ?? '?'}`);
  }
  if (object.payment_status !== 'paid' && object.payment_status !== 'no_payment_required') {
    return { fulfilled: false, reason: `payment_status ${object.payment_status ?? 'unknown'}` };
  }
  console.log(
    JSON.stringify({
      message: 'order fulfilled',
      session: object.id,
      order: object.client_reference_id ?? null,
      amount: object.amount_total ?? null,
      currency: object.currency ?? null,
      idempotencyKey,
    }),
  );
  return { fulfilled: true };
});
