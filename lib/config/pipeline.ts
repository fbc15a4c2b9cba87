/**
 * The configuration of the pipeline's parts, one zod schema per section. The JSDoc on each field is what users see
 * on hover (lib/config/schema.ts says how it reaches the types); defaults and limits are the schema's own, or the
 * Lambda env.ts schema's for a setting that travels as an environment variable.
 */
import { z } from 'zod';
import { ingressEnv } from '../../lambdas/ingress/env';
import { processorEnv } from '../../lambdas/processor/env';
import { reconcilerEnv } from '../../lambdas/reconciler/env';
import { sharedEnv } from '../../lambdas/shared/env-specs';
import { isIpOrCidr } from '../stripe-ips';
import { apiVersion, envInt, flag, int, SQS_MAX_RETENTION_DAYS, type Strict } from './limits';

/** The processor Lambda and its SQS event source. */
export const processorShape = {
  /**
   * Most concurrent processor invocations (the SQS event source's maximum concurrency, 2..1000).
   * Stripe's rate limit is the bottleneck, not AWS: about 25 requests/s per endpoint, 100/s per account live.
   * @default 5
   */
  maxConcurrency: int(2, 1000, "Lambda's range for an SQS event source's maximum concurrency").default(5),
  /** Messages per invocation (1..10: SQS FIFO event sources deliver at most 10). @default 10 */
  batchSize: int(1, 10, 'SQS FIFO event sources deliver at most 10 messages').default(10),
  /** Function timeout. The queue's visibility timeout is 6x this value. @default 30 */
  timeoutSeconds: int(3, 900, "Lambda's maximum timeout is 900 s").default(30),
  /** @default 512 */
  memoryMb: int(128, 10240, "Lambda's memory range").default(512),
};
export const processorSchema: Strict<typeof processorShape> = z.strictObject(processorShape);

/** The ingress Lambda and the HTTP API in front of it. */
export const ingressShape = {
  /** @default 256 */
  memoryMb: int(128, 10240, "Lambda's memory range").default(256),
  /** Function timeout (at most 29: API Gateway gives up on an integration after 30 s). @default 10 */
  timeoutSeconds: int(1, 29, 'API Gateway gives up on an integration after 30 s').default(10),
  /** Steady-state request rate the API stage accepts before answering 429 (Stripe then retries). @default 200 */
  throttleRatePerSecond: int(1, 10000, "API Gateway's default account limit is 10000 requests/s").default(200),
  /** Burst the API stage accepts above the steady rate. @default 400 */
  throttleBurst: int(1, 5000, "API Gateway's default account burst is 5000").default(400),
  /**
   * Larger request bodies are rejected with 400 (at most 6 MiB, Lambda's synchronous payload limit).
   * @default - MAX_BODY_BYTES's default in lambdas/ingress/env.ts (1 MiB)
   */
  maxBodyBytes: envInt(ingressEnv.MAX_BODY_BYTES, "Lambda's synchronous payload limit is 6 MiB"),
  /**
   * Oldest accepted `Stripe-Signature` timestamp, in seconds (Stripe's own default is 300).
   * @default - SIGNATURE_TOLERANCE_SECONDS's default in lambdas/ingress/env.ts (300)
   */
  signatureToleranceSeconds: envInt(
    ingressEnv.SIGNATURE_TOLERANCE_SECONDS,
    'Stripe signs with a timestamp; 300 s is its default',
  ),
  /**
   * `http`: API Gateway HTTP API ($1.00/M requests, no X-Ray, no WAF). `rest`: API Gateway REST API ($3.50/M),
   * traced with X-Ray (with `observability.tracing`) and able to carry a WAF web ACL (`waf`). `function-url`: the ingress Lambda's own function URL
   * (no charge of its own, no access log, no custom domain), public (auth NONE: the Stripe signature is the guard,
   * checked before anything is enqueued) and throttled by `functionUrlReservedConcurrency`; one region only.
   * @default 'http'
   */
  apiType: z.enum(['http', 'rest', 'function-url'], "must be 'http', 'rest' or 'function-url'").default('http'),
  /**
   * With `apiType: 'function-url'`: the ingress Lambda's reserved concurrency, its only throttle (a function URL has no
   * stage throttling): requests beyond it get 429 and Stripe retries them. 10 handles a few hundred webhooks a second
   * at the ingress's tens of milliseconds per request. 1..900: Lambda keeps 100 of the default account limit of 1000
   * unreserved.
   * @default 10
   */
  functionUrlReservedConcurrency: int(
    1,
    900,
    'Lambda keeps 100 of the default 1000 account concurrency unreserved',
  ).default(10),
  /**
   * Put an AWS WAF web ACL in front of the REST API (AWS managed rule groups: common, known bad inputs, IP
   * reputation; a per-IP rate limit; a body size limit). Needs `apiType: 'rest'`: WAF cannot attach to HTTP APIs.
   * @default false
   */
  waf: flag().default(false),
  /** With `waf`: requests one source IP may send per 5 minutes before WAF blocks it (10..2000000000). @default 12000 */
  wafRateLimitPer5Minutes: int(10, 2_000_000_000, "AWS WAF's range for a rate-based rule").default(12_000),
  /**
   * With `apiType: 'rest'`: set the account's API Gateway CloudWatch Logs role (`AWS::ApiGateway::Account`, one per
   * account and region), without which API Gateway refuses the stage's access logs ("CloudWatch Logs role ARN must be
   * set in account settings"). The role is kept when the stack is deleted: every REST API of the account and region
   * logs through it. Set false when the account already has one, e.g. managed centrally (`npm run preflight` checks).
   * @default true
   */
  apiGatewayAccountRole: flag().default(true),
  /**
   * Accept webhooks only from Stripe's published webhook IPs (lib/stripe-webhook-ips.json, a dated copy of
   * https://stripe.com/files/ips/ips_webhooks.json; refresh with `npm run refresh-stripe-ips`). Others get 403 and
   * are never enqueued. The signature check stays: this only narrows who may try.
   * @default false
   */
  stripeIpAllowlist: flag().default(false),
  /**
   * More source IPs or CIDR blocks accepted on the webhook route (IPv4 or IPv6). With `stripeIpAllowlist` they are
   * added to Stripe's list; alone, they are the whole list. Empty and `stripeIpAllowlist: false` = no IP check.
   * @default []
   */
  allowedSourceIps: z
    .array(z.string().refine(isIpOrCidr, 'must be an IPv4 or IPv6 address or CIDR block such as 203.0.113.0/24'))
    .default([]),
};
export const ingressSchema: Strict<typeof ingressShape> = z.strictObject(ingressShape);

/** The FIFO event queue and its dead-letter queue. */
export const queueShape = {
  /**
   * Deliveries before a message moves to the DLQ (at least 5, AWS's advice for Lambda event sources). The default is
   * higher because a FIFO group's later messages are handed back each time an earlier one fails (they are received
   * without being processed): in the soak test good events reached 5 to 7 receives during Stripe 429/5xx bursts.
   * @default 10
   */
  maxReceiveCount: int(5, 1000, 'AWS advises at least 5 for Lambda event sources; SQS allows 1000').default(10),
  /** How long the event queue keeps a message (1..14 days). @default 4 */
  retentionDays: int(1, SQS_MAX_RETENTION_DAYS, 'SQS keeps messages 1 to 14 days').default(4),
  /**
   * How long the DLQ keeps a failed event: always 14 days, the SQS maximum, so an on-call engineer has two weeks to
   * redrive a failed payments event before it is lost.
   * @default 14
   */
  dlqRetentionDays: int(
    SQS_MAX_RETENTION_DAYS,
    SQS_MAX_RETENTION_DAYS,
    'the DLQ keeps failed payments events as long as SQS allows, 14 days',
  ).default(SQS_MAX_RETENTION_DAYS),
};
export const queueSchema: Strict<typeof queueShape> = z.strictObject(queueShape);

/** The idempotency table. */
export const idempotencyShape = {
  /**
   * How long a processed event id is remembered (at least 30 days: Stripe retries for 3 days and keeps events for 30,
   * so a replay of anything Stripe still has is recognised as a duplicate).
   * @default - DONE_TTL_DAYS's default in lambdas/processor/env.ts (35)
   */
  doneTtlDays: envInt(processorEnv.DONE_TTL_DAYS, 'Stripe retries for 3 days and keeps events 30 days'),
  /**
   * How long a claim on an event id blocks other invocations; must exceed the processor timeout so a live invocation
   * never loses its claim, and bounds how long a crashed one blocks the event.
   * @default - leaseSecondsFor(processor.timeoutSeconds) in lambdas/processor/env.ts (90)
   */
  leaseSeconds: int(10, 43_200, 'a claim must outlive one processor invocation').optional(),
};
export const idempotencySchema: Strict<typeof idempotencyShape> = z.strictObject(idempotencyShape);

/** Where processed events go. */
export const eventSinkShape = {
  /**
   * Publish every processed event to the `<appName>-events` EventBridge bus ($1.00 per million events). False leaves
   * the bus out: business handlers (`StripeWebhooks.addHandler`) then receive events straight from the processor.
   * @default true
   */
  enabled: flag().default(true),
  /** Keep an EventBridge archive of the bus for this many days so consumers can replay; 0 = no archive. @default 0 */
  archiveRetentionDays: int(0, 3650, '0 means no archive').default(0),
};
export const eventSinkSchema: Strict<typeof eventSinkShape> = z.strictObject(eventSinkShape);

/** How the deployment uses Stripe's API. */
export const stripeShape = {
  /**
   * The deployment's Stripe request budget, requests/s: every processor container and the reconciler together stay
   * under it (the reconciler takes `reconcile.maxRequestsPerSecond`, each of the processor's `maxConcurrency`
   * containers an equal share of the rest), leaving the remainder of Stripe's limit (about 25/s in test mode, 100/s
   * live) to the merchant's own API traffic. 429s are still handled when the merchant's traffic takes more.
   * @default - 20 with a test-mode API key, 50 with a live one (DEFAULT_STRIPE_BUDGET, lambdas/shared/request-budget.ts)
   */
  maxRequestsPerSecond: int(2, 10_000, "Stripe's limits are about 25 (test) and 100 (live) requests/s").optional(),
};
export const stripeSchema: Strict<typeof stripeShape> = z.strictObject(stripeShape);

/** The scheduled reconciler: lists Stripe's events since its checkpoint and enqueues any never processed. */
export const reconcileShape = {
  /** Deploy the reconciler and its schedule. @default true */
  enabled: z.boolean().default(true),
  /** Minutes between runs (EventBridge Scheduler `rate(N minutes)`). @default 15 */
  intervalMinutes: int(1, 1440, 'EventBridge Scheduler rate in minutes, up to a day').default(15),
  /**
   * Stripe requests per second at most (leave Stripe's rate limit to the processor).
   * @default - MAX_REQUESTS_PER_SECOND's default in lambdas/reconciler/env.ts (5)
   */
  maxRequestsPerSecond: envInt(
    reconcilerEnv.MAX_REQUESTS_PER_SECOND,
    "a share of Stripe's 25 (test) to 100 (live) requests/s",
  ),
  /** Events younger than this are left to normal delivery. @default - GRACE_SECONDS's default in lambdas/reconciler/env.ts (300) */
  graceSeconds: envInt(reconcilerEnv.GRACE_SECONDS, 'up to a day'),
  /**
   * Each run starts this much before the checkpoint (events can become listable a little late).
   * @default - OVERLAP_SECONDS's default in lambdas/reconciler/env.ts (300)
   */
  overlapSeconds: envInt(reconcilerEnv.OVERLAP_SECONDS, 'up to a day'),
};
export const reconcileSchema: Strict<typeof reconcileShape> = z.strictObject(reconcileShape);

/**
 * The Stripe webhook endpoint as code: a custom resource creates (and updates, and on stack deletion deletes) the
 * endpoint for the stack's webhook URL and `eventTypes`, and stores its signing secret. Needs the API key in place
 * before the deploy that turns it on (docs/rotation.md).
 */
export const stripeEndpointShape = {
  /** Create and manage the endpoint from the stack; false leaves it to the operator (Dashboard). @default false */
  manage: z.boolean().default(false),
  /** API version of the events Stripe sends to the endpoint (fixed at creation). @default - the account's default */
  apiVersion: apiVersion.optional(),
  /** Description shown in the Stripe Dashboard. @default - 'Stripe webhooks on AWS (<appName>)' */
  description: z.string().min(1).max(5000, 'Stripe allows at most 5000 characters').optional(),
};
export const stripeEndpointSchema: Strict<typeof stripeEndpointShape> = z.strictObject(stripeEndpointShape);

/** Rotation of the two Stripe secrets (in the primary region; the secrets replicate). */
export const rotationShape = {
  /**
   * Rotate the webhook signing secret (a new endpoint, then the old one deleted after the overlap) every this many
   * days; 0 turns the schedule off (`aws secretsmanager rotate-secret` still rotates on demand).
   * @default 90
   */
  webhookSecretDays: int(0, 1000, "0 turns the schedule off; Secrets Manager's maximum is 1000 days").default(90),
  /**
   * Rotate the API key every this many days; 0 (the default) means on demand only: Stripe cannot create keys, so an
   * operator stages a new key and then runs `aws secretsmanager rotate-secret`. A schedule fails (and alarms) when no
   * key has been staged.
   * @default 0
   */
  apiKeyDays: int(0, 1000, "0 means on demand; Secrets Manager's maximum is 1000 days").default(0),
  /**
   * How long the old signing secret stays valid after a rotation (both endpoints deliver meanwhile). Deliveries of
   * the old endpoint still being retried by Stripe when it is deleted stop there: keep at least 72 (Stripe's live
   * retry window) unless the reconciler runs.
   * @default - OVERLAP_HOURS's default in lambdas/shared/env-specs.ts (24)
   */
  webhookOverlapHours: envInt(sharedEnv.OVERLAP_HOURS, 'how long the old signing secret stays valid after a rotation'),
};
export const rotationSchema: Strict<typeof rotationShape> = z.strictObject(rotationShape);
