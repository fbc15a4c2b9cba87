/** EventBridge has no local stand-in: aws-sdk-client-mock plays PutEvents. */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBridgeSink, MAX_ENTRY_BYTES } from '../../lambdas/processor/eventbridge-sink';
import { RetryableError } from '../../lambdas/shared/errors';
import type { ProcessedEvent } from '../../lambdas/shared/sink';

const eventBridge = mockClient(EventBridgeClient);
afterEach(() => eventBridge.reset());

const sink = createEventBridgeSink({ client: new EventBridgeClient({}), eventBusName: 'stripe-events' });

function processed(object: Record<string, unknown>): ProcessedEvent {
  return {
    eventId: 'evt_sink_1',
    type: 'payment_intent.succeeded',
    livemode: true,
    created: 1_767_225_600,
    object,
    objectOrigin: 'fetched',
    result: { amount_received: 1000 },
    source: 'webhook',
    processedAt: '2026-01-01T00:00:05.000Z',
  };
}

describe('EventBridge sink', () => {
  it('publishes one entry on the bus: source stripe.webhooks, detail-type = event type, detail = the processed event', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const event = processed({ id: 'pi_1', object: 'payment_intent' });

    await sink.publish(event);

    const [call] = eventBridge.commandCalls(PutEventsCommand);
    const entry = call!.args[0].input.Entries![0]!;
    expect(entry).toMatchObject({
      EventBusName: 'stripe-events',
      Source: 'stripe.webhooks',
      DetailType: 'payment_intent.succeeded',
    });
    expect(JSON.parse(entry.Detail!)).toEqual(event);
    expect(entry.Time).toEqual(new Date(1_767_225_600_000));
  });

  it('throws a RetryableError with the entry error code when EventBridge rejects the entry', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
    });
    const err = await sink.publish(processed({ id: 'pi_1' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect(err).toMatchObject({ code: 'ThrottlingException' });
  });

  it('throws a RetryableError when the call itself fails', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('socket hang up'));
    await expect(sink.publish(processed({ id: 'pi_1' }))).rejects.toMatchObject({ code: 'eventbridge_unavailable' });
  });

  it('publishes an event over 256 KB without its object, flagged objectOmitted, keeping the handler result', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const big = processed({ id: 'in_big', object: 'invoice', lines: 'x'.repeat(MAX_ENTRY_BYTES) });

    await sink.publish(big);

    const detail = JSON.parse(eventBridge.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!.Detail!);
    expect(detail).toMatchObject({
      eventId: 'evt_sink_1',
      object: null,
      objectOmitted: true,
      result: { amount_received: 1000 },
    });
  });
});
