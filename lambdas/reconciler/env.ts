import { defineEnv } from '../shared/env';
import { sharedEnv } from '../shared/env-specs';

/** The reconciler Lambda's environment. The Reconciler construct types its `environment` from this schema. */
export const reconcilerEnv = defineEnv({
  TABLE_NAME: { kind: 'string', doc: 'DynamoDB idempotency table (also holds the reconciler lock and checkpoint)' },
  QUEUE_URL: { kind: 'string', doc: 'URL of the FIFO event queue missed events are enqueued to' },
  DLQ_URL: {
    kind: 'string',
    doc: "URL of the event queue's FIFO DLQ: events that can never be enqueued are parked there with their reason",
  },
  STRIPE_API_KEY_SECRET_ID: { kind: 'string', doc: 'Secrets Manager id (ARN or name) of the Stripe API key' },
  MAX_REQUESTS_PER_SECOND: {
    kind: 'int',
    default: 5,
    min: 1,
    max: 50,
    doc: "Stripe requests per second at most (leave Stripe's budget to the processor)",
  },
  GRACE_SECONDS: {
    kind: 'int',
    default: 300,
    min: 0,
    max: 86_400,
    doc: 'events younger than this are left to normal delivery',
  },
  OVERLAP_SECONDS: {
    kind: 'int',
    default: 300,
    min: 0,
    max: 86_400,
    doc: 'how far before the checkpoint each run starts (events can become listable a little late)',
  },
  INITIAL_LOOKBACK_HOURS: {
    kind: 'int',
    default: 24,
    min: 1,
    max: 719,
    doc: 'how far back the first run (no checkpoint yet) looks',
  },
  SLICE_SECONDS: {
    kind: 'int',
    default: 3600,
    min: 60,
    max: 86_400,
    doc: 'the checkpoint advances by slices of this much `created` time',
  },
  EVENT_TYPES: {
    kind: 'string',
    optional: true,
    doc: 'comma-separated event types to reconcile (exact names, as on the webhook endpoint); all when unset or *',
  },
  CONNECTED_ACCOUNTS: {
    kind: 'bool',
    default: true,
    doc: "also list every connected account's events (Stripe-Account), for the accounts GET /v1/accounts lists",
  },
  THIN_EVENTS: { kind: 'bool', default: true, doc: 'also list thin events (GET /v2/core/events)' },
  MAX_MESSAGE_BYTES: sharedEnv.MAX_MESSAGE_BYTES,
  LOCK_SECONDS: {
    kind: 'int',
    default: 900,
    min: 60,
    max: 3600,
    doc: "how long the run lock lasts without renewal (a crashed run's lock expires after this); >= the timeout",
  },
  STRIPE_API_VERSION: { kind: 'string', optional: true, doc: 'pin the Stripe API version of listed events' },
  SECRET_CACHE_SECONDS: sharedEnv.SECRET_CACHE_SECONDS,
  POWERTOOLS_SERVICE_NAME: { kind: 'string', default: 'stripe-reconciler', doc: 'service name in logs and metrics' },
});

/** The event types of EVENT_TYPES (trimmed, empty entries dropped). */
export function parseEventTypes(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}
