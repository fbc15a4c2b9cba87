/**
 * Where processed events go: the EventBridge bus in AWS, a JSON-lines file locally. The processor publishes one
 * ProcessedEvent per event it has handled, after the business handler succeeded and before the event is marked DONE.
 */

/** How the processor got the object it handed to the business handler. */
export type ObjectOrigin =
  /** Retrieved from the Stripe API just now (fetch-before-process). */
  | 'fetched'
  /** The object no longer exists (a `*.deleted` event, or Stripe answered `deleted: true`). */
  | 'deleted'
  /** The event's own payload, because this object type cannot be retrieved from the API (logged as a warning). */
  | 'payload'
  /** The event is about no object (e.g. a thin event without `related_object`). */
  | 'none';

export interface ProcessedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly account?: string;
  readonly livemode: boolean;
  /** Event creation time, Unix seconds. */
  readonly created: number;
  /** The object as fetched from Stripe (null when origin is `none`). */
  readonly object: Record<string, unknown> | null;
  readonly objectOrigin: ObjectOrigin;
  /** What the business handler returned, if anything (must be JSON-serialisable). */
  readonly result?: unknown;
  /** Which path brought the event in (webhook, eventbridge, reconcile, replay). */
  readonly source: string;
  /** When processing finished, ISO 8601. */
  readonly processedAt: string;
}

export interface EventSink {
  /** Publishes one processed event; throws (a RetryableError) when it could not. */
  publish(event: ProcessedEvent): Promise<void>;
}

/** The sink of a deployment without an event bus (`eventSink.enabled: false`): the handlers were the consumers. */
export const NO_SINK: EventSink = { publish: async () => undefined };
