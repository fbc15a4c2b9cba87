/** EventBridge has no local stand-in: aws-sdk-client-mock plays PutEvents. */

import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createEventBridgeSink,
  entrySize,
  MAX_ENTRY_BYTES,
  toDetail,
  toEntry,
} from '../../lambdas/processor/eventbridge-sink';
import { PermanentError, RetryableError } from '../../lambdas/shared/errors';
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

/**
 * The size AWS counts for an entry, written from its documentation independently of the sink ("Calculating
 * PutEvents event entry size": Time 14 bytes; Source, DetailType, Detail and each Resource in UTF-8 bytes).
 */
function awsEntrySize(e: PutEventsRequestEntry): number {
  const utf8 = (s: string | undefined) => new TextEncoder().encode(s ?? '').length;
  return (
    (e.Time ? 14 : 0) +
    utf8(e.Source) +
    utf8(e.DetailType) +
    utf8(e.Detail) +
    (e.Resources ?? []).reduce((n, r) => n + utf8(r), 0)
  );
}

/** PutEvents as AWS answers it: an entry over 256 KB fails the call. */
function putEventsLikeAws(): void {
  eventBridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
    const size = awsEntrySize(input.Entries[0]!);
    if (size > MAX_ENTRY_BYTES) {
      throw Object.assign(new Error(`Total size of the entries in the request is over the limit (${size})`), {
        name: 'ValidationException',
      });
    }
    return { FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] };
  });
}

function sentDetail(): Record<string, unknown> {
  return JSON.parse(eventBridge.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!.Detail!);
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

  it("counts Time's 14 bytes: an event that fits only without them is published without its object", async () => {
    putEventsLikeAws();
    const event = processed({ id: 'in_edge', object: 'invoice', lines: '' });
    const overhead = JSON.stringify(event).length + 'stripe.webhooks'.length + event.type.length;
    // Source + DetailType + Detail come to 5 bytes under the limit: Time's 14 take it over.
    const edge = processed({ id: 'in_edge', object: 'invoice', lines: 'x'.repeat(MAX_ENTRY_BYTES - 5 - overhead) });

    await sink.publish(edge);

    expect(sentDetail()).toMatchObject({ objectOmitted: true, object: null, result: { amount_received: 1000 } });
  });

  it('drops the handler result too when the event is still too large without its object', async () => {
    putEventsLikeAws();
    const event = {
      ...processed({ id: 'in_big', object: 'invoice' }),
      result: { report: 'r'.repeat(MAX_ENTRY_BYTES) },
    };

    await sink.publish(event);

    expect(sentDetail()).toMatchObject({ eventId: 'evt_sink_1', objectOmitted: true, resultOmitted: true });
    expect(sentDetail()).not.toHaveProperty('result');
  });

  it('fails permanently (DLQ with the reason, no retries) when even the smallest entry cannot fit', async () => {
    putEventsLikeAws();
    const event = { ...processed({ id: 'pi_1' }), account: `acct_${'a'.repeat(MAX_ENTRY_BYTES)}` };
    const err = await sink.publish(event).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: 'eventbridge_entry_too_large' });
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  it('fails permanently when EventBridge refuses the entry for what it is', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' }],
    });
    const err = await sink.publish(processed({ id: 'pi_1' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: 'MalformedDetail' });
  });

  it('says how large an entry is when even its smallest form cannot be published', () => {
    const event = { ...processed({ id: 'pi_1' }), account: 'a'.repeat(MAX_ENTRY_BYTES) };
    const smallest = { ...event, object: null, objectOmitted: true, resultOmitted: true, result: undefined };
    const size = 14 + 'stripe.webhooks'.length + event.type.length + JSON.stringify(smallest).length;

    expect(() => toEntry(event, 'bus')).toThrow(
      `the EventBridge entry is ${size} bytes even without the object and the handler result (limit ${MAX_ENTRY_BYTES})`,
    );
  });

  it('publishes an event of exactly 256 KB whole', () => {
    const event = processed({ id: 'in_edge', object: 'invoice', lines: '' });
    const base = entrySize(toEntry(event, 'bus'));
    const exact = processed({ id: 'in_edge', object: 'invoice', lines: 'x'.repeat(MAX_ENTRY_BYTES - base) });

    const entry = toEntry(exact, 'bus');

    expect(entrySize(entry)).toBe(MAX_ENTRY_BYTES);
    expect(JSON.parse(entry.Detail!)).toEqual(exact);
  });

  it('counts only the parts an entry has, each resource included', () => {
    expect(entrySize({})).toBe(0);
    expect(entrySize({ Source: 'abc' })).toBe(3);
    expect(entrySize({ DetailType: 'é' })).toBe(2);
    expect(entrySize({ Time: new Date(0), Resources: ['arn:1', 'arn:22'] })).toBe(14 + 5 + 6);
    expect(entrySize(toEntry(processed({ id: 'pi_1' }), 'bus'))).toBe(
      awsEntrySize(toEntry(processed({ id: 'pi_1' }), 'bus')),
    );
  });

  it('shows the detail an event is published with', () => {
    const event = processed({ id: 'pi_1', object: 'payment_intent' });
    expect(JSON.parse(toDetail(event))).toEqual(event);
  });

  it('fails permanently, keeping the cause, when the call is refused for what the entry is', async () => {
    const refused = Object.assign(new Error('Detail is not valid JSON'), { name: 'ValidationException' });
    eventBridge.on(PutEventsCommand).rejects(refused);

    const err = await sink.publish(processed({ id: 'pi_1' })).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({
      code: 'eventbridge_refused',
      message: 'EventBridge refused the entry: ValidationException: Detail is not valid JSON',
      cause: refused,
    });
  });

  it('retries a failed call, keeping the cause', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    eventBridge.on(PutEventsCommand).rejects(throttled);

    const err = await sink.publish(processed({ id: 'pi_1' })).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(RetryableError);
    expect(err).toMatchObject({
      code: 'eventbridge_unavailable',
      message: 'PutEvents failed: ThrottlingException: Rate exceeded',
      cause: throttled,
    });
  });

  it('retries a call that failed with something other than an error', async () => {
    eventBridge.on(PutEventsCommand).callsFake(() => Promise.reject(undefined));

    const err = await sink.publish(processed({ id: 'pi_1' })).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(RetryableError);
    expect(err).toMatchObject({ code: 'eventbridge_unavailable', message: 'PutEvents failed: undefined' });
  });

  it("retries an entry EventBridge rejected without saying why, or for a passing reason, with EventBridge's words", async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1 })
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
      });

    const silent = await sink.publish(processed({ id: 'pi_1' })).catch((e: unknown) => e);
    const throttled = await sink.publish(processed({ id: 'pi_1' })).catch((e: unknown) => e);

    expect(silent).toBeInstanceOf(RetryableError);
    expect(silent).toMatchObject({
      code: 'eventbridge_rejected',
      message: 'EventBridge rejected the event: no reason given',
    });
    expect(throttled).toMatchObject({
      code: 'ThrottlingException',
      message: 'EventBridge rejected the event: Rate exceeded',
    });
  });
});
