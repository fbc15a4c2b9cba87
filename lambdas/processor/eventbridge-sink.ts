/**
 * The sink in AWS: one EventBridge event per processed Stripe event, on the project's bus, so consumers subscribe
 * with rules on `source` and `detail-type` (= the Stripe event type) instead of reading a queue.
 *
 * Size: EventBridge refuses an entry over 256 KB, counted as AWS documents it ("Calculating PutEvents event entry
 * size": 14 bytes for `Time`, the UTF-8 bytes of `Source`, `DetailType`, `Detail` and each of `Resources`). An event
 * too large is degraded step by step until it fits: first without the object (consumers can fetch it: eventId,
 * type and objectOrigin stay), then also without the handler's result. One that does not fit even then, and an
 * entry EventBridge refuses for what it is, can never be published: a PermanentError, which sends the message to
 * the DLQ with its reason instead of retrying it until maxReceiveCount.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { describeError, PermanentError, RetryableError } from '../shared/errors';
import type { EventSink, ProcessedEvent } from '../shared/sink';

/** `source` of every published event. */
export const EVENT_SOURCE = 'stripe.webhooks';

/** EventBridge's limit on one entry (see entrySize), bytes. */
export const MAX_ENTRY_BYTES = 256 * 1024;

/** What EventBridge counts for `Time`, whatever the time. */
const TIME_BYTES = 14;

/**
 * The published `detail`: the ProcessedEvent, with `objectOmitted` (object null) and then `resultOmitted` (no result)
 * when the entry would otherwise exceed 256 KB.
 */
export type PublishedDetail = ProcessedEvent & { readonly objectOmitted?: true; readonly resultOmitted?: true };

/** EventBridge refuses these entries for what they are: retrying the same entry cannot succeed. */
const REFUSED_FOR_CONTENT: ReadonlySet<unknown> = new Set([
  'MalformedDetail',
  'InvalidArgument',
  'ValidationException',
]);

export interface EventBridgeSinkOptions {
  readonly client: EventBridgeClient;
  readonly eventBusName: string;
}

/** The size EventBridge counts for an entry (its "Calculating PutEvents event entry size" page). */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time !== undefined ? TIME_BYTES : 0;
  size += Buffer.byteLength(entry.Source ?? '') + Buffer.byteLength(entry.DetailType ?? '');
  if (entry.Detail !== undefined) size += Buffer.byteLength(entry.Detail);
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource);
  return size;
}

/**
 * The entry to put for `event`: the whole event when it fits, else degraded (see the module comment). Throws a
 * PermanentError (`eventbridge_entry_too_large`) when even the smallest form does not fit.
 */
export function toEntry(event: ProcessedEvent, eventBusName: string): PutEventsRequestEntry {
  const { result: _result, ...withoutResult } = event;
  const forms: PublishedDetail[] = [
    event,
    { ...event, object: null, objectOmitted: true },
    { ...withoutResult, object: null, objectOmitted: true, resultOmitted: true },
  ];
  let size = 0;
  for (const detail of forms) {
    const entry: PutEventsRequestEntry = {
      EventBusName: eventBusName,
      Source: EVENT_SOURCE,
      DetailType: event.type,
      Detail: JSON.stringify(detail),
      Time: new Date(event.created * 1000),
    };
    size = entrySize(entry);
    if (size <= MAX_ENTRY_BYTES) return entry;
  }
  throw new PermanentError(
    `the EventBridge entry is ${size} bytes even without the object and the handler result (limit ${MAX_ENTRY_BYTES})`,
    'eventbridge_entry_too_large',
  );
}

/** The detail that would be published for `event` (what toEntry puts). */
export function toDetail(event: ProcessedEvent): string {
  // Stryker disable next-line StringLiteral: equivalent, the bus name is not in Detail, and toEntry always sets Detail
  return toEntry(event, 'bus').Detail ?? '';
}

export function createEventBridgeSink(opts: EventBridgeSinkOptions): EventSink {
  return {
    async publish(event) {
      const entry = toEntry(event, opts.eventBusName);
      let res: PutEventsCommandOutput;
      try {
        res = await opts.client.send(new PutEventsCommand({ Entries: [entry] }));
      } catch (err) {
        const name = (err as { name?: unknown } | undefined)?.name;
        if (REFUSED_FOR_CONTENT.has(name)) {
          throw new PermanentError(`EventBridge refused the entry: ${describeError(err)}`, 'eventbridge_refused', {
            cause: err,
          });
        }
        throw new RetryableError(`PutEvents failed: ${describeError(err)}`, 'eventbridge_unavailable', undefined, {
          cause: err,
        });
      }
      if ((res.FailedEntryCount ?? 0) > 0) {
        const failed = res.Entries?.[0];
        const code = failed?.ErrorCode ?? 'eventbridge_rejected';
        const message = `EventBridge rejected the event: ${failed?.ErrorMessage ?? 'no reason given'}`;
        if (REFUSED_FOR_CONTENT.has(code)) throw new PermanentError(message, code);
        throw new RetryableError(message, code);
      }
    },
  };
}
