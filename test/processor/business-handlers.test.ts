/**
 * The example in-process handlers (business-handlers.ts), called the way the processor calls them: what each returns
 * for the object as it is now, and when each sends the event to the DLQ.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it, vi } from 'vitest';
import { buildRegistry } from '../../lambdas/processor/business-handlers';
import type { HandlerContext } from '../../lambdas/processor/registry';
import { PermanentError } from '../../lambdas/shared/errors';
import type { QueueMessage } from '../../lambdas/shared/queue-message';
import type { ObjectOrigin } from '../../lambdas/shared/sink';

function run(
  type: string,
  object: Record<string, unknown> | null,
  objectOrigin: ObjectOrigin = 'fetched',
  ref: QueueMessage['object'] = { type: 'payment_intent', id: 'pi_1' },
) {
  const logger = new Logger({ logLevel: 'SILENT' });
  const warnings: unknown[][] = [];
  vi.spyOn(logger, 'warn').mockImplementation(((...a: unknown[]) => void warnings.push(a)) as never);
  const event: QueueMessage = {
    v: 1,
    source: 'webhook',
    kind: 'snapshot',
    eventId: 'evt_biz_1',
    type,
    livemode: false,
    created: 1_700_000_000,
    object: ref,
    receivedAt: '2026-01-01T00:00:00.000Z',
  };
  const ctx: HandlerContext = {
    event,
    object,
    objectOrigin,
    // The example handlers make no Stripe calls.
    stripe: undefined as never,
    logger,
    idempotencyKey: event.eventId,
    refetchNext: () => undefined,
  };
  return { result: buildRegistry().resolve(type)(ctx), warnings };
}

const intent = { id: 'pi_1', object: 'payment_intent', amount_received: 1200, currency: 'eur', status: 'succeeded' };

describe('the example handlers', () => {
  it('registers a handler for each example event type', () => {
    expect(buildRegistry().types()).toEqual([
      'payment_intent.succeeded',
      'checkout.session.completed',
      'customer.subscription.updated',
    ]);
  });

  it('summarises a succeeded payment intent', async () => {
    const { result, warnings } = run('payment_intent.succeeded', intent);
    expect(await result).toEqual({ amount_received: 1200, currency: 'eur', status: 'succeeded' });
    expect(warnings).toEqual([]);
  });

  it('reports the state a payment intent has moved on to since the event, with a warning', async () => {
    const { result, warnings } = run('payment_intent.succeeded', { ...intent, status: 'requires_action' });
    expect(await result).toMatchObject({ status: 'requires_action' });
    expect(warnings).toEqual([['payment intent is no longer succeeded', { status: 'requires_action' }]]);
  });

  it('does not warn about the state of a payload it could not fetch', async () => {
    const { result, warnings } = run('payment_intent.succeeded', { ...intent, status: 'processing' }, 'payload');
    expect(await result).toMatchObject({ status: 'processing' });
    expect(warnings).toEqual([]);
  });

  it('sends a payment intent Stripe no longer has to the DLQ, naming it', async () => {
    const gone = run('payment_intent.succeeded', { ...intent, deleted: true }, 'deleted').result;
    await expect(gone).rejects.toBeInstanceOf(PermanentError);
    await expect(gone).rejects.toMatchObject({
      code: 'object_gone',
      message: 'Stripe no longer has payment intent pi_1',
    });
    const unnamed = run('payment_intent.succeeded', { deleted: true }, 'deleted', null).result;
    await expect(unnamed).rejects.toMatchObject({ message: 'Stripe no longer has payment intent ?' });
  });

  it('summarises a completed checkout session and an updated subscription', async () => {
    const session = { id: 'cs_1', payment_status: 'paid', amount_total: 900, currency: 'usd', mode: 'payment' };
    const subscription = { id: 'sub_1', status: 'active', cancel_at_period_end: true, items: [] };
    expect(await run('checkout.session.completed', session).result).toEqual({
      payment_status: 'paid',
      amount_total: 900,
      currency: 'usd',
    });
    expect(await run('customer.subscription.updated', subscription).result).toEqual({
      status: 'active',
      cancel_at_period_end: true,
    });
  });

  it.each([
    ['payment_intent.succeeded', 'payment_intent.succeeded without a payment intent'],
    ['checkout.session.completed', 'checkout.session.completed without a session'],
    ['customer.subscription.updated', 'customer.subscription.updated without a subscription'],
  ])('sends a %s without its object to the DLQ', async (type, message) => {
    const { result } = run(type, null, 'none');
    await expect(result).rejects.toBeInstanceOf(PermanentError);
    await expect(result).rejects.toMatchObject({ code: 'no_object', message });
  });
});
