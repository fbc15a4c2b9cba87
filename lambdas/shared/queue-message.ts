/**
 * The message on the event queue: the one contract between everything that enqueues (the ingress Lambda for
 * webhooks and EventBridge, the reconciler, the operator's replay) and the processor.
 *
 * It carries what the processor needs to dedupe, order and fetch (event id, type, account, the object the event is
 * about) and, when it fits, the event as Stripe sent it. Ordering and deduplication on the FIFO queue come from
 * `messageGroupId` (one group per `account:objectId`, so two events for one object never run concurrently) and
 * `deduplicationId` (the Stripe event id: SQS drops a second copy within 5 minutes for free; the idempotency table
 * does the rest).
 */
import { PermanentError } from './errors';

export const MESSAGE_VERSION = 1 as const;

/** Where a message came from. */
export type MessageSource = 'webhook' | 'eventbridge' | 'reconcile' | 'replay';

/**
 * - `snapshot`: a classic (v1) event; `event` holds it as Stripe sent it.
 * - `thin`: a thin (v2, `object: "v2.core.event"`) event; `event` holds it; it has no object payload.
 * - `reference`: the event was too large for the queue; the processor retrieves it from Stripe by id.
 */
export type MessageKind = 'snapshot' | 'thin' | 'reference';

/** The Stripe object an event is about. */
export interface ObjectRef {
  /** Stripe's `object` value, e.g. `payment_intent`, `checkout.session`. */
  readonly type: string;
  readonly id: string;
  /** For thin events: the API path Stripe gives in `related_object.url`. */
  readonly url?: string;
}

export interface QueueMessage {
  readonly v: typeof MESSAGE_VERSION;
  readonly source: MessageSource;
  readonly kind: MessageKind;
  readonly eventId: string;
  readonly type: string;
  /** The connected account for Connect events (`event.account`, or `context` on thin events). */
  readonly account?: string;
  readonly livemode: boolean;
  /** Event creation time, Unix seconds. */
  readonly created: number;
  readonly apiVersion?: string;
  readonly object: ObjectRef | null;
  /** The event as received, for `snapshot` and `thin`. */
  readonly event?: Record<string, unknown>;
  /** When this pipeline accepted the event, ISO 8601. */
  readonly receivedAt: string;
}

export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A number JSON can carry (not NaN, not ±Infinity). */
function isFiniteNumber(v: unknown): v is number {
  return Number.isFinite(v);
}

const EVENT_ID = /^evt_[A-Za-z0-9_]{1,120}$/;

/**
 * Builds the queue message for a parsed Stripe event (classic or thin). Throws InvalidEventError when the value is
 * not shaped like a Stripe event, so the caller can answer 400 and enqueue nothing.
 */
export function toQueueMessage(event: unknown, source: MessageSource, receivedAt: Date): QueueMessage {
  if (!isRecord(event)) throw new InvalidEventError('event must be a JSON object', 'not_an_object');
  const { id, type, livemode } = event;
  if (typeof id !== 'string' || !EVENT_ID.test(id)) {
    throw new InvalidEventError('event.id must be a Stripe event id (evt_...)', 'bad_event_id');
  }
  if (typeof type !== 'string' || type === '' || type.length > 200) {
    throw new InvalidEventError('event.type must be a non-empty string of at most 200 characters', 'bad_event_type');
  }
  if (typeof livemode !== 'boolean') throw new InvalidEventError('event.livemode must be a boolean', 'bad_livemode');

  if (event.object === 'v2.core.event') {
    const created = typeof event.created === 'string' ? Date.parse(event.created) : Number.NaN;
    if (Number.isNaN(created)) throw new InvalidEventError('thin event.created must be an ISO date', 'bad_created');
    const related = event.related_object;
    let object: ObjectRef | null = null;
    if (related !== undefined && related !== null) {
      if (!isRecord(related) || typeof related.id !== 'string' || typeof related.type !== 'string') {
        throw new InvalidEventError('thin event.related_object must have id and type', 'bad_related_object');
      }
      object = {
        type: related.type,
        id: related.id,
        ...(typeof related.url === 'string' ? { url: related.url } : {}),
      };
    }
    const context = typeof event.context === 'string' && event.context !== '' ? event.context : undefined;
    return {
      v: MESSAGE_VERSION,
      source,
      kind: 'thin',
      eventId: id,
      type,
      ...(context !== undefined ? { account: context } : {}),
      livemode,
      created: Math.floor(created / 1000),
      object,
      event,
      receivedAt: receivedAt.toISOString(),
    };
  }

  if (event.object !== 'event') throw new InvalidEventError('event.object must be "event"', 'not_an_event');
  if (!isFiniteNumber(event.created)) {
    throw new InvalidEventError('event.created must be a number', 'bad_created');
  }
  const data = event.data;
  if (!isRecord(data) || !isRecord(data.object)) {
    throw new InvalidEventError('event.data.object must be an object', 'bad_data');
  }
  const obj = data.object;
  const object: ObjectRef | null =
    typeof obj.object === 'string' && typeof obj.id === 'string' && obj.id !== ''
      ? { type: obj.object, id: obj.id }
      : null;
  const account = typeof event.account === 'string' && event.account !== '' ? event.account : undefined;
  const apiVersion = typeof event.api_version === 'string' && event.api_version !== '' ? event.api_version : undefined;
  return {
    v: MESSAGE_VERSION,
    source,
    kind: 'snapshot',
    eventId: id,
    type,
    ...(account !== undefined ? { account } : {}),
    livemode,
    created: event.created,
    ...(apiVersion !== undefined ? { apiVersion } : {}),
    object,
    event,
    receivedAt: receivedAt.toISOString(),
  };
}

/** FIFO message group: one per `account:objectId` (account = the connected account, or `platform`). */
export function messageGroupId(msg: Pick<QueueMessage, 'account' | 'object' | 'eventId'>): string {
  // SQS allows 128 characters of [A-Za-z0-9 and punctuation]; Stripe ids are well inside that.
  return `${msg.account ?? 'platform'}:${msg.object?.id ?? msg.eventId}`.slice(0, 128);
}

/** FIFO deduplication id: the Stripe event id (retries of one event are re-signed, so never the signature). */
export function deduplicationId(msg: Pick<QueueMessage, 'eventId'>): string {
  return msg.eventId;
}

/**
 * SQS counts message attributes (name, type and value of each) in its message size limit. Every producer keeps this
 * much of the queue's limit free for them when it decides whether an event fits or must travel as a reference: the
 * one headroom of the project (the ingress, the reconciler, replay and the DLQ moves all enqueue through
 * lambdas/shared/enqueue.ts, which applies it). The attributes the pipeline sets stay far below it (event id and
 * type, source; a failure code and a reason of at most 256 characters on the DLQ).
 */
export const MESSAGE_ATTRIBUTE_HEADROOM_BYTES = 4096;

/** The largest body that fits a queue whose maximum message size is `queueMaxMessageBytes`. */
export function maxBodyBytes(queueMaxMessageBytes: number): number {
  return queueMaxMessageBytes - MESSAGE_ATTRIBUTE_HEADROOM_BYTES;
}

/**
 * Serialises a message for SQS. When it is larger than `maxBytes`, the event payload is dropped and the message
 * becomes a `reference` that the processor resolves by retrieving the event from Stripe. An event nested too deeply
 * for JSON.stringify's recursion (a RangeError: JSON.parse copes, stringify does not) becomes a reference too,
 * rather than crashing the caller.
 */
export function encodeMessage(msg: QueueMessage, maxBytes: number): { body: string; kind: MessageKind } {
  let body: string | undefined;
  try {
    body = sqsSafeJson(JSON.stringify(msg));
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
  }
  // Buffer.byteLength counts a string's UTF-8 bytes (its default encoding).
  if (body !== undefined && Buffer.byteLength(body) <= maxBytes) return { body, kind: msg.kind };
  const { event: _dropped, ...rest } = msg;
  const ref: QueueMessage = { ...rest, kind: 'reference' };
  return { body: sqsSafeJson(JSON.stringify(ref)), kind: 'reference' };
}

/**
 * Characters SQS refuses in a message body (it accepts #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD and
 * #x10000-#x10FFFF). Astral characters are matched as their surrogate halves, because some SQS stand-ins (fauxqs)
 * refuse those too: escaping them costs a few bytes and is accepted everywhere.
 */
const SQS_UNSAFE = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd]/g;

/**
 * JSON text SQS accepts: every character it would refuse (U+FFFE, U+FFFF, and astral characters for the stand-ins)
 * written as a `\uXXXX` escape. Outside strings JSON text is ASCII, so this changes no value: the parsed message is
 * the same. Without it, a customer name holding such a character would make the event impossible to enqueue.
 */
export function sqsSafeJson(json: string): string {
  return json.replace(SQS_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** An attribute value SQS accepts (attributes are labels; the body holds the truth): refused characters become U+FFFD. */
export function sqsSafeText(value: string): string {
  return value.replace(/[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd');
}

/** Parses a queue message body; a body that is not one is a PermanentError (retrying cannot fix it). */
export function decodeMessage(body: string): QueueMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new PermanentError('message body is not JSON', 'bad_message');
  }
  if (!isRecord(parsed) || parsed.v !== MESSAGE_VERSION) {
    throw new PermanentError(`message is not a v${MESSAGE_VERSION} queue message`, 'bad_message');
  }
  const { eventId, type, kind, created } = parsed;
  if (typeof eventId !== 'string' || typeof type !== 'string' || typeof created !== 'number') {
    throw new PermanentError('message lacks eventId, type or created', 'bad_message');
  }
  if (kind !== 'snapshot' && kind !== 'thin' && kind !== 'reference') {
    throw new PermanentError(`unknown message kind ${String(kind)}`, 'bad_message');
  }
  return parsed as unknown as QueueMessage;
}
