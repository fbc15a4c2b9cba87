/**
 * The Lambda entry point, wired as deployed (handler-fixture.ts), with X-Ray tracing off: the default. The tracer
 * module must not even be loaded then (handler-tracing.test.ts has tracing on).
 */
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { paymentIntent } from '../../bench/lib/stripe-events';
import { lambdaContext, sqsRecord, startProcessorHandler } from './handler-fixture';
import { classicEvent, thinEvent } from './harness';

const loaded = vi.hoisted(() => ({ tracing: false }));
vi.mock('../../lambdas/processor/tracing', async (importOriginal) => {
  loaded.tracing = true;
  return importOriginal();
});

let fixture: Awaited<ReturnType<typeof startProcessorHandler>>;

beforeAll(async () => {
  // As NodeFunction sets it by default (observability.tracing false).
  fixture = await startProcessorHandler({ POWERTOOLS_TRACE_ENABLED: 'false' });
});

afterAll(async () => {
  await fixture.close();
});

describe('processor Lambda handler', () => {
  it('reads the API key from Secrets Manager, processes against DynamoDB, publishes on EventBridge, and dedupes', async () => {
    // A thin event about no object: the whole path runs without a call to Stripe.
    const event = thinEvent('v2.core.event_destination.ping', null, { id: 'evt_handler_1' });

    const first = await fixture.handler({ Records: [sqsRecord(event, 'm-1')] }, lambdaContext);
    const again = await fixture.handler({ Records: [sqsRecord(event, 'm-2')] }, lambdaContext);

    expect(first.batchItemFailures).toEqual([]);
    expect(again.batchItemFailures).toEqual([]);
    const puts = fixture.eventBridge.commandCalls(PutEventsCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0]!.args[0].input.Entries![0]).toMatchObject({
      EventBusName: 'stripe-events',
      DetailType: 'v2.core.event_destination.ping',
    });
    expect(fixture.secrets.commandCalls(GetSecretValueCommand)[0]!.args[0].input.SecretId).toBe('stripe/api-key');
  });

  it('fetches the object from Stripe and runs the business handler, with tracing off', async () => {
    fixture.stripe.setObject(paymentIntent('pi_handler_off'));
    const event = classicEvent('payment_intent.succeeded', paymentIntent('pi_handler_off'), { id: 'evt_off_2' });

    const res = await fixture.handler({ Records: [sqsRecord(event, 'm-3')] }, lambdaContext);

    expect(res.batchItemFailures).toEqual([]);
    expect(fixture.stripe.calls.some((c) => c.path === '/v1/payment_intents/pi_handler_off')).toBe(true);
    const put = fixture.eventBridge.commandCalls(PutEventsCommand).at(-1)!;
    expect(put.args[0].input.Entries![0]!.DetailType).toBe('payment_intent.succeeded');
  });

  it('never loads the tracer module (Powertools Tracer, X-Ray SDK) with tracing off', () => {
    expect(loaded.tracing).toBe(false);
  });
});
