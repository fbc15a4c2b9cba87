import { defineEnv } from '../shared/env';
import { sharedEnv } from '../shared/env-specs';

/**
 * How much longer than the processor's timeout an event claim is held by default: see leaseSecondsFor.
 */
export const LEASE_MARGIN_SECONDS = 60;

/**
 * The one rule for the lease's default, used by the config (`idempotency.leaseSeconds`), the Processor construct and
 * the local runtime: the processor's timeout plus LEASE_MARGIN_SECONDS, so a live invocation never loses its claim
 * and a crashed one blocks its event about a minute past its timeout. LEASE_SECONDS itself has no default: a
 * processor without it would not know its own timeout.
 */
export function leaseSecondsFor(timeoutSeconds: number): number {
  return timeoutSeconds + LEASE_MARGIN_SECONDS;
}

/** The event queue's visibility timeout is this many times the processor's timeout (AWS's advice for SQS sources). */
export const VISIBILITY_TIMEOUT_FACTOR = 6;

/** The processor Lambda's environment. The Processor construct types its `environment` from this schema. */
export const processorEnv = defineEnv({
  TABLE_NAME: { kind: 'string', doc: 'DynamoDB idempotency table' },
  STRIPE_API_KEY_SECRET_ID: { kind: 'string', doc: 'Secrets Manager id (ARN or name) of the Stripe API key' },
  EVENT_BUS_NAME: {
    kind: 'string',
    optional: true,
    doc: 'EventBridge bus processed events are published to; unset = published nowhere (eventSink.enabled: false)',
  },
  QUEUE_URL: { kind: 'string', doc: 'URL of the FIFO event queue (to delay a message after a Stripe 429)' },
  DLQ_URL: { kind: 'string', doc: 'URL of the FIFO dead-letter queue (permanent failures go straight there)' },
  LEASE_SECONDS: {
    kind: 'int',
    min: 10,
    doc: 'how long a claim on an event id is held; must exceed the function timeout (leaseSecondsFor)',
  },
  DONE_TTL_DAYS: {
    kind: 'int',
    default: 35,
    // Stripe retries for 3 days and keeps events 30 days: a replay of anything it still has is a duplicate.
    min: 30,
    max: 365,
    doc: 'how long a processed event id is remembered',
  },
  STRIPE_API_VERSION: { kind: 'string', optional: true, doc: 'pin the Stripe API version of fetched objects' },
  STRIPE_API_BASE: {
    kind: 'string',
    optional: true,
    doc: 'a Stripe-compatible server instead of api.stripe.com (local stand-ins and the cold-path bench; unset in AWS)',
  },
  STRIPE_MAX_REQUESTS_PER_SECOND: {
    kind: 'int',
    optional: true,
    min: 1,
    max: 10_000,
    doc: "the deployment's Stripe request budget (stripe.maxRequestsPerSecond); unset = 20 with a test key, 50 live",
  },
  STRIPE_RESERVED_REQUESTS_PER_SECOND: {
    kind: 'int',
    default: 0,
    min: 0,
    doc: 'the part of the Stripe budget the reconciler paces itself to (reconcile.maxRequestsPerSecond; 0 without it)',
  },
  STRIPE_BUDGET_SHARES: {
    kind: 'int',
    default: 1,
    min: 1,
    doc: 'processor containers that may run at once (its maximum concurrency): each takes this share of the rest',
  },
  SECRET_CACHE_SECONDS: sharedEnv.SECRET_CACHE_SECONDS,
  POWERTOOLS_SERVICE_NAME: { kind: 'string', default: 'stripe-processor', doc: 'service name in logs and metrics' },
  POWERTOOLS_TRACE_ENABLED: {
    kind: 'bool',
    default: false,
    doc: 'X-Ray tracing (observability.tracing; NodeFunction sets it): off, the tracer is not even loaded',
  },
  HANDLER_LAMBDAS: {
    kind: 'string',
    optional: true,
    doc: 'the handler Lambdas to invoke (StripeWebhooks.addHandler): a JSON array of { name, functionName, eventTypes, timeoutMs }',
  },
});
