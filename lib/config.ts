/**
 * The deployment configuration: typed, validated with zod, every field documented with its default.
 *
 * Sources, later ones winning (objects are merged key by key, arrays and values are replaced):
 * 1. the defaults below (`DEFAULT_CONFIG`),
 * 2. the cdk.json context key `stripeWebhooks` (an object, or the same object as a JSON string from `-c`),
 * 3. the JSON file named by the context key `configFile` (`npx cdk synth -c configFile=config/prod.json`).
 *
 * Unknown keys are rejected, so a typo (`maxConcurency`) fails the synth instead of silently keeping a default.
 * Every error names the field and the value it was given.
 *
 * Infra only: zod stays out of the Lambda bundles (the Lambdas validate their environment with lambdas/shared/env.ts).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Construct } from 'constructs';
import { z } from 'zod';
import { ingressEnv } from '../lambdas/ingress/env';
import { LEASE_MARGIN_SECONDS, processorEnv } from '../lambdas/processor/env';
import { isIpOrCidr } from './stripe-ips';

/**
 * Every field optional, at every depth: what a user writes (cdk.json, a config file, StripeWebhooks props); the
 * schema fills in the rest. Arrays and values are given whole.
 */
export type DeepPartial<T> = {
  readonly [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

/** The processor Lambda and its SQS event source. */
export interface ProcessorConfig {
  /**
   * Most concurrent processor invocations (the SQS event source's maximum concurrency, 2..1000).
   * Stripe's rate limit is the bottleneck, not AWS: about 25 requests/s per endpoint, 100/s per account live.
   * @default 5
   */
  readonly maxConcurrency: number;
  /** Messages per invocation (1..10: SQS FIFO event sources deliver at most 10). @default 10 */
  readonly batchSize: number;
  /** Function timeout. The queue's visibility timeout is 6x this value. @default 30 */
  readonly timeoutSeconds: number;
  /** @default 512 */
  readonly memoryMb: number;
}

/** The ingress Lambda and the HTTP API in front of it. */
export interface IngressConfig {
  /** @default 256 */
  readonly memoryMb: number;
  /** Function timeout (at most 29: API Gateway gives up on an integration after 30 s). @default 10 */
  readonly timeoutSeconds: number;
  /** Steady-state request rate the API stage accepts before answering 429 (Stripe then retries). @default 200 */
  readonly throttleRatePerSecond: number;
  /** Burst the API stage accepts above the steady rate. @default 400 */
  readonly throttleBurst: number;
  /**
   * Larger request bodies are rejected with 400 (at most 6 MiB, Lambda's synchronous payload limit).
   * @default - MAX_BODY_BYTES's default in lambdas/ingress/env.ts (1 MiB)
   */
  readonly maxBodyBytes: number;
  /** Oldest accepted `Stripe-Signature` timestamp, in seconds (Stripe's own default is 300). @default 300 */
  readonly signatureToleranceSeconds: number;
  /**
   * `http`: API Gateway HTTP API ($1.00/M requests, no X-Ray, no WAF). `rest`: API Gateway REST API ($3.50/M),
   * traced with X-Ray and able to carry a WAF web ACL (`waf`).
   * @default 'http'
   */
  readonly apiType: 'http' | 'rest';
  /**
   * Put an AWS WAF web ACL in front of the REST API (AWS managed rule groups: common, known bad inputs, IP
   * reputation; a per-IP rate limit; a body size limit). Needs `apiType: 'rest'`: WAF cannot attach to HTTP APIs.
   * @default false
   */
  readonly waf: boolean;
  /** With `waf`: requests one source IP may send per 5 minutes before WAF blocks it (10..2000000000). @default 12000 */
  readonly wafRateLimitPer5Minutes: number;
  /**
   * With `apiType: 'rest'`: set the account's API Gateway CloudWatch Logs role (`AWS::ApiGateway::Account`, one per
   * account and region), without which API Gateway refuses the stage's access logs ("CloudWatch Logs role ARN must be
   * set in account settings"). The role is kept when the stack is deleted: every REST API of the account and region
   * logs through it. Set false when the account already has one, e.g. managed centrally (`npm run preflight` checks).
   * @default true
   */
  readonly apiGatewayAccountRole: boolean;
  /**
   * Accept webhooks only from Stripe's published webhook IPs (lib/stripe-webhook-ips.json, a dated copy of
   * https://stripe.com/files/ips/ips_webhooks.json; refresh with `npm run refresh-stripe-ips`). Others get 403 and
   * are never enqueued. The signature check stays: this only narrows who may try.
   * @default false
   */
  readonly stripeIpAllowlist: boolean;
  /**
   * More source IPs or CIDR blocks accepted on the webhook route (IPv4 or IPv6). With `stripeIpAllowlist` they are
   * added to Stripe's list; alone, they are the whole list. Empty and `stripeIpAllowlist: false` = no IP check.
   * @default []
   */
  readonly allowedSourceIps: readonly string[];
}

/** The FIFO event queue and its dead-letter queue. */
export interface QueueConfig {
  /**
   * Deliveries before a message moves to the DLQ (at least 5, AWS's advice for Lambda event sources). The default is
   * higher because a FIFO group's later messages are handed back each time an earlier one fails (they are received
   * without being processed): in the soak test good events reached 5 to 7 receives during Stripe 429/5xx bursts.
   * @default 10
   */
  readonly maxReceiveCount: number;
  /** How long the event queue keeps a message (1..14 days). @default 4 */
  readonly retentionDays: number;
  /**
   * How long the DLQ keeps a failed event: always 14 days, the SQS maximum, so an on-call engineer has two weeks to
   * redrive a failed payments event before it is lost.
   * @default 14
   */
  readonly dlqRetentionDays: number;
}

/** The idempotency table. */
export interface IdempotencyConfig {
  /**
   * How long a processed event id is remembered (at least 30 days: Stripe retries for 3 days and keeps events for 30,
   * so a replay of anything Stripe still has is recognised as a duplicate).
   * @default 35
   */
  readonly doneTtlDays: number;
  /**
   * How long a claim on an event id blocks other invocations; must exceed the processor timeout so a live invocation
   * never loses its claim, and bounds how long a crashed one blocks the event.
   * @default processor.timeoutSeconds + 60
   */
  readonly leaseSeconds: number;
}

/** Where processed events go. */
export interface EventSinkConfig {
  /** Keep an EventBridge archive of the bus for this many days so consumers can replay; 0 = no archive. @default 0 */
  readonly archiveRetentionDays: number;
}

/** The scheduled reconciler: lists Stripe's events since its checkpoint and enqueues any never processed. */
export interface ReconcileConfig {
  /** Deploy the reconciler and its schedule. @default true */
  readonly enabled: boolean;
  /** Minutes between runs (EventBridge Scheduler `rate(N minutes)`). @default 15 */
  readonly intervalMinutes: number;
  /** Stripe requests per second at most (leave Stripe's rate limit to the processor). @default 5 */
  readonly maxRequestsPerSecond: number;
  /** Events younger than this are left to normal delivery. @default 300 */
  readonly graceSeconds: number;
  /** Each run starts this much before the checkpoint (events can become listable a little late). @default 300 */
  readonly overlapSeconds: number;
}

/**
 * The Stripe webhook endpoint as code: a custom resource creates (and updates, and on stack deletion deletes) the
 * endpoint for the stack's webhook URL and `eventTypes`, and stores its signing secret. Needs the API key in place
 * before the deploy that turns it on (docs/rotation.md).
 */
export interface StripeEndpointConfig {
  /** Create and manage the endpoint from the stack; false leaves it to the operator (Dashboard). @default false */
  readonly manage: boolean;
  /** API version of the events Stripe sends to the endpoint (fixed at creation). @default - the account's default */
  readonly apiVersion?: string;
  /** Description shown in the Stripe Dashboard. @default 'Stripe webhooks on AWS (<appName>)' */
  readonly description?: string;
}

/** Rotation of the two Stripe secrets (in the primary region; the secrets replicate). */
export interface RotationConfig {
  /**
   * Rotate the webhook signing secret (a new endpoint, then the old one deleted after the overlap) every this many
   * days; 0 turns the schedule off (`aws secretsmanager rotate-secret` still rotates on demand).
   * @default 90
   */
  readonly webhookSecretDays: number;
  /**
   * Rotate the API key every this many days; 0 (the default) means on demand only: Stripe cannot create keys, so an
   * operator stages a new key and then runs `aws secretsmanager rotate-secret`. A schedule fails (and alarms) when no
   * key has been staged.
   * @default 0
   */
  readonly apiKeyDays: number;
  /**
   * How long the old signing secret stays valid after a rotation (both endpoints deliver meanwhile). Deliveries of
   * the old endpoint still being retried by Stripe when it is deleted stop there: keep at least 72 (Stripe's live
   * retry window) unless the reconciler runs.
   * @default 24
   */
  readonly webhookOverlapHours: number;
}

/** The Route 53 health check of each region's `GET /health` (the failover trigger). */
export interface HealthCheckConfig {
  /** Seconds between checks from each Route 53 checker: 10 (fast, costs more) or 30. @default 30 */
  readonly intervalSeconds: 10 | 30;
  /**
   * Consecutive failed checks before a region counts as unhealthy (1..10). Time to fail over is about
   * intervalSeconds x failureThreshold, plus the record's TTL (60 s for alias records).
   * @default 3
   */
  readonly failureThreshold: number;
}

/**
 * One public webhook URL in front of every region, with Route 53 failover between them. Without `domainName` there is
 * no failover: each region outputs its own execute-api URL and the operator points Stripe at the primary's.
 */
export interface FailoverConfig {
  /**
   * The name Stripe posts to, e.g. `webhooks.example.com`. Each regional HTTP API gets it as a custom domain, and
   * Route 53 failover records send it to the primary while the primary's health check passes, else to the secondary.
   * @default - no custom domain, no failover records
   */
  readonly domainName?: string;
  /** The Route 53 public hosted zone that holds `domainName` (no lookups: its id is given). Required with it. */
  readonly hostedZoneId?: string;
  /** That zone's name, e.g. `example.com`. Required with `domainName`. */
  readonly hostedZoneName?: string;
  /**
   * An existing ACM certificate for `domainName` in each region, by region. A region without one gets a certificate
   * created in its stack and validated through DNS in the hosted zone.
   * @default {}
   */
  readonly certificateArns: Readonly<Record<string, string>>;
  readonly healthCheck: HealthCheckConfig;
}

/** Stripe's Amazon EventBridge destination, as a second way in besides webhooks. */
export interface EventBridgeConfig {
  /**
   * The Stripe partner event source (`aws.partner/stripe.com/ed_...`), associated with a partner event bus of the
   * same name. A plain name belongs to the primary region; an object maps regions to their own source (a Stripe
   * destination delivers to one region). Rules in secondary regions are created disabled: enabling one is a failover
   * step (docs/multi-region.md), since two regions consuming the same events at once could both process an event.
   * @default - no EventBridge ingress
   */
  readonly partnerEventSourceName?: string | Readonly<Record<string, string>>;
}
/**
 * What makes each alarm fire. Counts are per 5-minute period (every alarm evaluates one 5-minute period unless its
 * runbook section says otherwise); an alarm fires when the value reaches the threshold.
 */
export interface AlarmThresholds {
  /** Messages visible on the DLQ: every one is a payments event that was not processed. @default 1 */
  readonly dlqMessages: number;
  /**
   * Age of the oldest message on the event queue, seconds. A message retried `maxReceiveCount` times with the
   * default 180 s visibility timeout is 15 minutes old when it reaches the DLQ.
   * @default 900
   */
  readonly queueAgeSeconds: number;
  /** 5xx answers of the API per 5 minutes (Stripe retries them, but a steady stream means events are waiting). @default 5 */
  readonly ingress5xxPer5Minutes: number;
  /** Verified events the ingress could not put on the queue, per 5 minutes. @default 1 */
  readonly enqueueFailuresPer5Minutes: number;
  /** Webhooks refused for a bad signature per 5 minutes: an attack, or a secret mismatch after a rotation. @default 10 */
  readonly badSignaturesPer5Minutes: number;
  /** Lambda `Errors` (invocations that threw or timed out) per function per 5 minutes. @default 1 */
  readonly lambdaErrorsPer5Minutes: number;
  /** Lambda `Throttles` per function per 5 minutes. @default 1 */
  readonly lambdaThrottlesPer5Minutes: number;
  /** p99 `Duration` as a percentage of the function timeout (1..100). @default 80 */
  readonly durationPercentOfTimeout: number;
  /** Stripe 429 answers (processor and reconciler) per 5 minutes. @default 10 */
  readonly stripe429sPer5Minutes: number;
  /** Events whose lease expired before they were marked done (possible double processing), per 5 minutes. @default 1 */
  readonly leaseLostPer5Minutes: number;
  /** Events the reconciler found that no delivery had brought in, per 5 minutes. @default 1 */
  readonly reconcileMissedEvents: number;
  /** Failed rotations of a Stripe secret (`RotationFailed`, per secret), per 5 minutes. @default 1 */
  readonly rotationFailures: number;
  /**
   * With `ingress.waf`: requests per 5 minutes whose body matched an injection rule that only counts (XSS, LFI, RFI,
   * SSRF, Log4j, Java deserialization; lib/constructs/web-acl.ts says why they do not block).
   * @default 5
   */
  readonly wafBodyRuleMatchesPer5Minutes: number;
}

/** CloudWatch alarms and where they notify. */
export interface AlarmsConfig {
  /** E-mail address subscribed to the alarm topic (confirm the subscription from the mail). @default - none */
  readonly email?: string;
  /**
   * URL of the docs folder; each alarm's description links `<runbookBaseUrl>/runbooks.md#<alarm anchor>`. Point it
   * at your fork or internal mirror so on-call engineers land on the runbook you maintain.
   * @default DEFAULT_RUNBOOK_BASE_URL
   */
  readonly runbookBaseUrl: string;
  readonly thresholds: AlarmThresholds;
}

/** Where alarm descriptions link to unless `alarms.runbookBaseUrl` says otherwise: this repository's docs folder. */
export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/stripe-webhooks-aws/stripe-webhooks-aws/blob/main/docs';

/** The whole deployment configuration. */
export interface StripeWebhooksConfig {
  /**
   * Prefix of every explicitly named resource (queues, table, functions, secrets, bus) and of the stack names.
   * Lower-case letters, digits and hyphens, 3..40 characters.
   * @default 'stripe-webhooks'
   */
  readonly appName: string;
  /** AWS account to deploy to; omit for an account-agnostic template. @default - none (account-agnostic) */
  readonly account?: string;
  /** Region that receives and processes events. @default 'us-east-1' */
  readonly primaryRegion: string;
  /**
   * Standby regions (active/passive failover). Each gets its own regional stack running the whole pipeline, a replica
   * of the idempotency table (a DynamoDB global table owned by the primary) and replicas of the Stripe secrets.
   * With `failover.domainName` set, at most one: Route 53 failover routes between one primary and one secondary.
   * @default []
   */
  readonly secondaryRegions: readonly string[];
  /**
   * Secondary regions on their way out, step 1 of removing a region (docs/multi-region.md): their replica of the
   * idempotency table loses DynamoDB deletion protection and their stack loses termination protection, so that the
   * next deploy, with the region gone from `secondaryRegions` (and from here), can delete the replica. Each must be
   * one of `secondaryRegions`.
   * @default []
   */
  readonly removingRegions: readonly string[];
  /**
   * The Stripe event types the webhook endpoint subscribes to (`*` = all). Output by the stack so the operator (and
   * the secret rotation, which recreates the endpoint) register exactly this list with Stripe.
   * @default DEFAULT_EVENT_TYPES
   */
  readonly eventTypes: readonly string[];
  readonly processor: ProcessorConfig;
  readonly ingress: IngressConfig;
  readonly queue: QueueConfig;
  readonly idempotency: IdempotencyConfig;
  readonly eventSink: EventSinkConfig;
  readonly reconcile: ReconcileConfig;
  readonly failover: FailoverConfig;
  readonly eventBridge: EventBridgeConfig;
  readonly alarms: AlarmsConfig;
  /** Retention of every log group (Lambda logs and API access logs), in days; one of CloudWatch's values. @default 30 */
  readonly logRetentionDays: number;
  /** Pin the Stripe API version of fetched objects; omit for the account's default. @default - account default */
  readonly stripeApiVersion?: string;
  readonly stripeEndpoint: StripeEndpointConfig;
  readonly rotation: RotationConfig;
  /**
   * What happens to the table, secrets, queues, keys and log groups when the stack is deleted: `retain` keeps them
   * (payments data; also turns on deletion and termination protection), `destroy` removes them (dev stacks only).
   * `retain` is CloudFormation's `RetainExceptOnCreate`: a failed first deploy still deletes what it created, so the
   * retry does not stop at "already exists".
   * @default 'retain'
   */
  readonly removalPolicy: 'retain' | 'destroy';
}

/** A sensible payments set: payment outcomes, refunds, disputes, checkout, invoices, subscriptions. */
export const DEFAULT_EVENT_TYPES: readonly string[] = [
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'charge.refunded',
  'charge.dispute.created',
  'checkout.session.completed',
  'invoice.paid',
  'invoice.payment_failed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
];

/** CloudWatch Logs' allowed retention values (finite ones: a payments log kept forever is a liability). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** SQS keeps a message at most 14 days. */
const SQS_MAX_RETENTION_DAYS = 14;
/** Lambda's synchronous invocation payload limit (the API Gateway request must fit into it). */
/**
 * The longest comma-separated event type list accepted: the list travels in Lambda environments (the reconciler's,
 * the rotation's), which hold 4 KB in all, and in a stack output (4096 characters).
 */
const MAX_EVENT_TYPES_CHARS = 3000;
/** The allowlist travels in one environment variable; Lambda allows 4 KB for all of them together. */
const MAX_ALLOWLIST_CHARS = 2048;

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
/** A fully qualified DNS name in lower case, without the trailing dot. */
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const HOSTED_ZONE_ID = /^Z[A-Z0-9]{1,31}$/;
const ACM_CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[0-9a-f-]{36}$/;
/** Stripe's partner event sources: `aws.partner/stripe.com/ed_...` (live) or `.../ed_test_...` (test mode). */
const PARTNER_EVENT_SOURCE = /^aws\.partner\/stripe\.com\/ed_[A-Za-z0-9_]+$/;
const EVENT_TYPE = /^(\*|[a-z0-9_]+(\.[a-z0-9_]+)+)$/;

const int = (min: number, max: number, why: string) =>
  z
    .int(`must be a whole number (${why})`)
    .min(min, `must be >= ${min} (${why})`)
    .max(max, `must be <= ${max} (${why})`);

const region = z.string().regex(REGION, 'must be an AWS region name such as us-east-1');

/**
 * A setting that is a Lambda's environment variable: its default and limits are the variable's, written once in the
 * Lambda's env.ts (the construct passes the value on; the Lambda validates it again at start-up).
 */
function envInt(spec: { readonly default?: number; readonly min?: number; readonly max?: number }, why: string) {
  if (spec.default === undefined || spec.min === undefined || spec.max === undefined) {
    throw new Error('a setting taken from an env schema needs its default, min and max there');
  }
  return int(spec.min, spec.max, why).default(spec.default);
}

const processorSchema = z.strictObject({
  maxConcurrency: int(2, 1000, "Lambda's range for an SQS event source's maximum concurrency").default(5),
  batchSize: int(1, 10, 'SQS FIFO event sources deliver at most 10 messages').default(10),
  timeoutSeconds: int(3, 900, "Lambda's maximum timeout is 900 s").default(30),
  memoryMb: int(128, 10240, "Lambda's memory range").default(512),
});

const ingressSchema = z.strictObject({
  memoryMb: int(128, 10240, "Lambda's memory range").default(256),
  timeoutSeconds: int(1, 29, 'API Gateway gives up on an integration after 30 s').default(10),
  throttleRatePerSecond: int(1, 10000, "API Gateway's default account limit is 10000 requests/s").default(200),
  throttleBurst: int(1, 5000, "API Gateway's default account burst is 5000").default(400),
  maxBodyBytes: envInt(ingressEnv.MAX_BODY_BYTES, "Lambda's synchronous payload limit is 6 MiB"),
  signatureToleranceSeconds: envInt(
    ingressEnv.SIGNATURE_TOLERANCE_SECONDS,
    'Stripe signs with a timestamp; 300 s is its default',
  ),
  apiType: z.enum(['http', 'rest'], "must be 'http' or 'rest'").default('http'),
  waf: z.boolean('must be true or false').default(false),
  wafRateLimitPer5Minutes: int(10, 2_000_000_000, "AWS WAF's range for a rate-based rule").default(12_000),
  apiGatewayAccountRole: z.boolean('must be true or false').default(true),
  stripeIpAllowlist: z.boolean('must be true or false').default(false),
  allowedSourceIps: z
    .array(z.string().refine(isIpOrCidr, 'must be an IPv4 or IPv6 address or CIDR block such as 203.0.113.0/24'))
    .default([]),
});

const queueSchema = z.strictObject({
  maxReceiveCount: int(5, 1000, 'AWS advises at least 5 for Lambda event sources; SQS allows 1000').default(10),
  retentionDays: int(1, SQS_MAX_RETENTION_DAYS, 'SQS keeps messages 1 to 14 days').default(4),
  dlqRetentionDays: int(
    SQS_MAX_RETENTION_DAYS,
    SQS_MAX_RETENTION_DAYS,
    'the DLQ keeps failed payments events as long as SQS allows, 14 days',
  ).default(SQS_MAX_RETENTION_DAYS),
});

const idempotencySchema = z.strictObject({
  doneTtlDays: envInt(processorEnv.DONE_TTL_DAYS, 'Stripe retries for 3 days and keeps events 30 days'),
  leaseSeconds: int(10, 43_200, 'a claim must outlive one processor invocation').optional(),
});

const API_VERSION = /^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/;

const stripeEndpointSchema = z.strictObject({
  manage: z.boolean().default(false),
  apiVersion: z.string().regex(API_VERSION, 'must be a Stripe API version such as 2025-09-30.clover').optional(),
  description: z.string().min(1).max(5000, 'Stripe allows at most 5000 characters').optional(),
});

const rotationSchema = z.strictObject({
  webhookSecretDays: int(0, 1000, "0 turns the schedule off; Secrets Manager's maximum is 1000 days").default(90),
  apiKeyDays: int(0, 1000, "0 means on demand; Secrets Manager's maximum is 1000 days").default(0),
  webhookOverlapHours: int(1, 720, 'how long the old signing secret stays valid after a rotation').default(24),
});

const eventSinkSchema = z.strictObject({
  archiveRetentionDays: int(0, 3650, '0 means no archive').default(0),
});

const reconcileSchema = z.strictObject({
  enabled: z.boolean().default(true),
  intervalMinutes: int(1, 1440, 'EventBridge Scheduler rate in minutes, up to a day').default(15),
  maxRequestsPerSecond: int(1, 50, "a share of Stripe's 25 (test) to 100 (live) requests/s").default(5),
  graceSeconds: int(0, 86_400, 'up to a day').default(300),
  overlapSeconds: int(0, 86_400, 'up to a day').default(300),
});

const dnsName = (what: string) => z.string().regex(DNS_NAME, `must be a lower-case DNS name such as ${what}`);

const failoverSchema = z.strictObject({
  domainName: dnsName('webhooks.example.com').optional(),
  hostedZoneId: z
    .string()
    .regex(HOSTED_ZONE_ID, 'must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ')
    .optional(),
  hostedZoneName: z
    .string()
    .transform((name) => name.replace(/\.$/, ''))
    .pipe(dnsName('example.com'))
    .optional(),
  certificateArns: z
    .record(region, z.string().regex(ACM_CERTIFICATE_ARN, 'must be an ACM certificate ARN'))
    .default({}),
  healthCheck: z
    .strictObject({
      intervalSeconds: z
        .union([z.literal(10), z.literal(30)], { error: 'must be 10 or 30 (the intervals Route 53 offers)' })
        .default(30),
      failureThreshold: int(1, 10, "Route 53's range").default(3),
    })
    .prefault({}),
});

const count = (fallback: number) => int(1, 1_000_000, 'an alarm fires when the value reaches it').default(fallback);

const alarmsSchema = z.strictObject({
  email: z.email('must be an e-mail address').optional(),
  runbookBaseUrl: z
    .url({ protocol: /^https$/, error: 'must be an https URL' })
    .transform((u) => u.replace(/\/+$/, ''))
    .default(DEFAULT_RUNBOOK_BASE_URL),
  thresholds: z
    .strictObject({
      dlqMessages: count(1),
      queueAgeSeconds: int(60, 1_209_600, 'SQS keeps a message at most 14 days').default(900),
      ingress5xxPer5Minutes: count(5),
      enqueueFailuresPer5Minutes: count(1),
      badSignaturesPer5Minutes: count(10),
      lambdaErrorsPer5Minutes: count(1),
      lambdaThrottlesPer5Minutes: count(1),
      durationPercentOfTimeout: int(1, 100, 'a percentage of the function timeout').default(80),
      stripe429sPer5Minutes: count(10),
      leaseLostPer5Minutes: count(1),
      reconcileMissedEvents: count(1),
      rotationFailures: count(1),
      wafBodyRuleMatchesPer5Minutes: count(5),
    })
    .prefault({}),
});

const partnerEventSourceName = z
  .string()
  .regex(PARTNER_EVENT_SOURCE, 'must be a Stripe partner event source name such as aws.partner/stripe.com/ed_...');

const eventBridgeSchema = z.strictObject({
  partnerEventSourceName: z
    .union([partnerEventSourceName, z.record(region, partnerEventSourceName)], {
      error: 'must be a partner event source name, or an object mapping regions to names',
    })
    .optional(),
});

/** The cross-field rules of `failover`: a domain needs its zone, certificates match their region, two regions at most. */
function checkFailover(f: z.output<typeof failoverSchema>, regions: readonly string[], ctx: z.RefinementCtx): void {
  const issue = (path: PropertyKey[], message: string) =>
    ctx.addIssue({ code: 'custom', path: ['failover', ...path], message });
  if (f.domainName === undefined) {
    if (f.hostedZoneId !== undefined) issue(['hostedZoneId'], 'is only used with failover.domainName; set it too');
    if (f.hostedZoneName !== undefined) issue(['hostedZoneName'], 'is only used with failover.domainName; set it too');
    if (Object.keys(f.certificateArns).length > 0) {
      issue(['certificateArns'], 'is only used with failover.domainName; set it too');
    }
    return;
  }
  if (f.hostedZoneId === undefined) issue(['hostedZoneId'], 'is required with failover.domainName');
  if (f.hostedZoneName === undefined) issue(['hostedZoneName'], 'is required with failover.domainName');
  else if (f.domainName !== f.hostedZoneName && !f.domainName.endsWith(`.${f.hostedZoneName}`)) {
    issue(['domainName'], `must be in the hosted zone ${f.hostedZoneName}`);
  }
  if (regions.length > 2) {
    ctx.addIssue({
      code: 'custom',
      path: ['secondaryRegions'],
      message:
        'must list at most one region with failover.domainName: Route 53 failover routes between one primary and one secondary',
    });
  }
  for (const [r, arn] of Object.entries(f.certificateArns)) {
    if (!regions.includes(r)) {
      issue(['certificateArns', r], 'names a region that is neither the primary nor a secondary region');
    } else if (ACM_CERTIFICATE_ARN.exec(arn)?.[1] !== r) {
      issue(['certificateArns', r], `must be a certificate in ${r} (API Gateway needs it in the API's own region)`);
    }
  }
}

/** The zod schema of the configuration (input: a partial config; output: `StripeWebhooksConfig`). */
export const configSchema = z
  .strictObject({
    appName: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,38}[a-z0-9]$/, 'must be 3..40 lower-case letters, digits or hyphens')
      .default('stripe-webhooks'),
    account: z
      .string()
      .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
      .optional(),
    primaryRegion: region.default('us-east-1'),
    secondaryRegions: z.array(region).default([]),
    removingRegions: z.array(region).default([]),
    eventTypes: z
      .array(z.string().regex(EVENT_TYPE, 'must be a Stripe event type such as payment_intent.succeeded, or *'))
      .min(1, 'must list at least one Stripe event type')
      .default([...DEFAULT_EVENT_TYPES]),
    processor: processorSchema.prefault({}),
    ingress: ingressSchema.prefault({}),
    queue: queueSchema.prefault({}),
    idempotency: idempotencySchema.prefault({}),
    eventSink: eventSinkSchema.prefault({}),
    reconcile: reconcileSchema.prefault({}),
    failover: failoverSchema.prefault({}),
    eventBridge: eventBridgeSchema.prefault({}),
    alarms: alarmsSchema.prefault({}),
    logRetentionDays: z
      .number()
      .refine((n) => (LOG_RETENTION_DAYS as readonly number[]).includes(n), {
        message: `must be one of CloudWatch Logs' retention values: ${LOG_RETENTION_DAYS.join(', ')}`,
      })
      .default(30),
    stripeApiVersion: z
      .string()
      .regex(API_VERSION, 'must be a Stripe API version such as 2025-09-30.clover')
      .optional(),
    stripeEndpoint: stripeEndpointSchema.prefault({}),
    rotation: rotationSchema.prefault({}),
    removalPolicy: z.enum(['retain', 'destroy'], "must be 'retain' or 'destroy'").default('retain'),
  })
  .superRefine((cfg, ctx) => {
    const regions = [cfg.primaryRegion, ...cfg.secondaryRegions];
    regions.forEach((r, i) => {
      if (i > 0 && regions.indexOf(r) !== i) {
        ctx.addIssue({
          code: 'custom',
          path: ['secondaryRegions', i - 1],
          message: 'must not repeat the primary region or another secondary region',
        });
      }
    });
    cfg.removingRegions.forEach((r, i) => {
      if (!cfg.secondaryRegions.includes(r)) {
        ctx.addIssue({
          code: 'custom',
          path: ['removingRegions', i],
          message:
            'must be one of secondaryRegions (step 1 of removing a region); once it is gone from secondaryRegions, drop it here too',
        });
      }
    });
    if (new Set(cfg.eventTypes).size !== cfg.eventTypes.length) {
      ctx.addIssue({ code: 'custom', path: ['eventTypes'], message: 'must not list an event type twice' });
    }
    if (cfg.eventTypes.join(',').length > MAX_EVENT_TYPES_CHARS) {
      ctx.addIssue({
        code: 'custom',
        path: ['eventTypes'],
        message: `is too long to hand to the Lambdas (${MAX_EVENT_TYPES_CHARS} characters at most, in 4 KB of environment); subscribe to * instead`,
      });
    }
    const { webhookSecretDays, webhookOverlapHours } = cfg.rotation;
    if (webhookSecretDays > 0 && webhookOverlapHours >= webhookSecretDays * 24) {
      ctx.addIssue({
        code: 'custom',
        path: ['rotation', 'webhookOverlapHours'],
        message: `must be shorter than the rotation interval (rotation.webhookSecretDays = ${webhookSecretDays} days), or old endpoints pile up`,
      });
    }
    checkFailover(cfg.failover, regions, ctx);
    const sources = cfg.eventBridge.partnerEventSourceName;
    if (typeof sources === 'object') {
      for (const r of Object.keys(sources)) {
        if (!regions.includes(r)) {
          ctx.addIssue({
            code: 'custom',
            path: ['eventBridge', 'partnerEventSourceName', r],
            message: 'names a region that is neither the primary nor a secondary region',
          });
        }
      }
    }
    if (cfg.ingress.allowedSourceIps.join(',').length > MAX_ALLOWLIST_CHARS) {
      ctx.addIssue({
        code: 'custom',
        path: ['ingress', 'allowedSourceIps'],
        message: `is too long for the ingress environment (${MAX_ALLOWLIST_CHARS} characters); use CIDR blocks`,
      });
    }
    if (cfg.failover.domainName !== undefined && cfg.ingress.apiType !== 'http') {
      ctx.addIssue({
        code: 'custom',
        path: ['failover', 'domainName'],
        message: "needs ingress.apiType 'http': the REST variant has no custom domain or failover record yet",
      });
    }
    if (cfg.ingress.waf && cfg.ingress.apiType !== 'rest') {
      ctx.addIssue({
        code: 'custom',
        path: ['ingress', 'waf'],
        message: "needs ingress.apiType 'rest': AWS WAF cannot be associated with an API Gateway HTTP API",
      });
    }
    const lease = cfg.idempotency.leaseSeconds;
    if (lease !== undefined && lease <= cfg.processor.timeoutSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['idempotency', 'leaseSeconds'],
        message: `must exceed processor.timeoutSeconds (${cfg.processor.timeoutSeconds}), or a running invocation could lose its claim and the event be processed twice`,
      });
    }
  })
  .transform(
    (cfg): StripeWebhooksConfig => ({
      ...cfg,
      idempotency: {
        ...cfg.idempotency,
        leaseSeconds: cfg.idempotency.leaseSeconds ?? cfg.processor.timeoutSeconds + LEASE_MARGIN_SECONDS,
      },
    }),
  );

/** The configuration with nothing set: every default. */
export const DEFAULT_CONFIG: StripeWebhooksConfig = configSchema.parse({});

/** An invalid configuration; the message lists every bad field with the value it was given. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The context key holding the configuration object in cdk.json. */
export const CONFIG_CONTEXT_KEY = 'stripeWebhooks';
/** The context key naming a JSON configuration file. */
export const CONFIG_FILE_CONTEXT_KEY = 'configFile';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merges `override` over `base`: objects key by key, everything else (arrays included) replaced. */
export function mergeConfig(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override)) return override === undefined ? base : override;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = mergeConfig(base[key], value);
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value as Json) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Validates a (partial) configuration and fills in the defaults. Throws a ConfigError naming every bad field and
 * the value it was given; `sources` says where the input came from, for the message.
 */
export function parseConfig(input: unknown, sources: readonly string[] = ['input']): StripeWebhooksConfig {
  const result = configSchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '(top level)';
    if (issue.code === 'unrecognized_keys') {
      const prefix = issue.path.length > 0 ? `${field}.` : '';
      return `  - ${issue.keys.map((k) => `${prefix}${k}`).join(', ')}: unknown setting (check the spelling)`;
    }
    return `  - ${field}: ${issue.message}; got ${show(valueAt(input, issue.path))}`;
  });
  throw new ConfigError(
    `Invalid ${CONFIG_CONTEXT_KEY} configuration (from ${sources.join(' + ')}):\n${lines.join('\n')}`,
  );
}

function readContextObject(scope: Construct): unknown {
  const raw: unknown = scope.node.tryGetContext(CONFIG_CONTEXT_KEY);
  if (raw === undefined) return undefined;
  if (typeof raw === 'string') {
    // `-c stripeWebhooks='{"appName":"x"}'` arrives as a string.
    try {
      return JSON.parse(raw);
    } catch {
      throw new ConfigError(`Context "${CONFIG_CONTEXT_KEY}" must be a JSON object; got ${show(raw)}`);
    }
  }
  if (!isPlainObject(raw)) throw new ConfigError(`Context "${CONFIG_CONTEXT_KEY}" must be an object; got ${show(raw)}`);
  return raw;
}

function readConfigFile(file: string): unknown {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read config file ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`Config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(parsed)) throw new ConfigError(`Config file ${file} must hold a JSON object; got ${show(parsed)}`);
  return parsed;
}

/**
 * Loads the configuration of an app: defaults, then the context key `stripeWebhooks`, then the JSON file named by
 * the context key `configFile` (relative to the working directory). Throws a ConfigError when it is invalid.
 */
export function loadConfig(scope: Construct): StripeWebhooksConfig {
  const sources: string[] = ['defaults'];
  let input: unknown = {};
  const fromContext = readContextObject(scope);
  if (fromContext !== undefined) {
    input = mergeConfig(input, fromContext);
    sources.push(`context "${CONFIG_CONTEXT_KEY}"`);
  }
  const file: unknown = scope.node.tryGetContext(CONFIG_FILE_CONTEXT_KEY);
  if (file !== undefined) {
    if (typeof file !== 'string' || file === '') {
      throw new ConfigError(`Context "${CONFIG_FILE_CONTEXT_KEY}" must be a file path; got ${show(file)}`);
    }
    input = mergeConfig(input, readConfigFile(file));
    sources.push(file);
  }
  return parseConfig(input, sources);
}

/** The partner event source `region` consumes, if any: a plain name belongs to the primary region. */
export function partnerEventSourceFor(config: StripeWebhooksConfig, region: string): string | undefined {
  const sources = config.eventBridge.partnerEventSourceName;
  if (sources === undefined) return undefined;
  if (typeof sources === 'string') return region === config.primaryRegion ? sources : undefined;
  return sources[region];
}
