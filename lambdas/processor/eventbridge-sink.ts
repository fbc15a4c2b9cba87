/**
 * The sink in AWS: one EventBridge event per processed Stripe event, on the project's bus, so consumers subscribe
 * with rules on `source` and `detail-type` (= the Stripe event type) instead of reading a queue.
 */
import { type EventBridgeClient, PutEventsCommand, type PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { describeError, RetryableError } from '../shared/errors';
import type { EventSink, ProcessedEvent } from '../shared/sink';

/** `source` of every published event. */
export const EVENT_SOURCE = 'stripe.webhooks';

/** EventBridge's limit on one entry (Source + DetailType + Detail + Resources), bytes. */
export const MAX_ENTRY_BYTES = 256 * 1024;

/** The published `detail`: the ProcessedEvent, with `objectOmitted` when the object was too large to include. */
export type PublishedDetail = ProcessedEvent & { readonly objectOmitted?: true };

export interface EventBridgeSinkOptions {
  readonly client: EventBridgeClient;
  readonly eventBusName: string;
}

/** The detail to publish: the whole ProcessedEvent, or without its object when the entry would exceed 256 KB. */
export function toDetail(event: ProcessedEvent): string {
  const full = JSON.stringify(event);
  const overhead = Buffer.byteLength(EVENT_SOURCE) + Buffer.byteLength(event.type);
  if (Buffer.byteLength(full) + overhead <= MAX_ENTRY_BYTES) return full;
  // Consumers can fetch the object themselves (eventId, type and objectOrigin are still there); the business
  // handler's result is kept, since it is what consumers usually want.
  const slim: PublishedDetail = { ...event, object: null, objectOmitted: true };
  return JSON.stringify(slim);
}

export function createEventBridgeSink(opts: EventBridgeSinkOptions): EventSink {
  return {
    async publish(event) {
      let res: PutEventsCommandOutput;
      try {
        res = await opts.client.send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: opts.eventBusName,
                Source: EVENT_SOURCE,
                DetailType: event.type,
                Detail: toDetail(event),
                Time: new Date(event.created * 1000),
              },
            ],
          }),
        );
      } catch (err) {
        throw new RetryableError(`PutEvents failed: ${describeError(err)}`, 'eventbridge_unavailable', undefined, {
          cause: err,
        });
      }
      if ((res.FailedEntryCount ?? 0) > 0) {
        const entry = res.Entries?.[0];
        throw new RetryableError(
          `EventBridge rejected the event: ${entry?.ErrorMessage ?? 'no reason given'}`,
          entry?.ErrorCode ?? 'eventbridge_rejected',
        );
      }
    },
  };
}
