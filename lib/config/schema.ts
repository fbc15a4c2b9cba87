/**
 * The deployment configuration's zod schema and the types that come from it.
 *
 * The types are `z.output` of the schema, not interfaces written again: a field, its type, its limits and its
 * default exist once, here and in the section files beside it. The documentation users read on hover (the JSDoc with
 * its `@default`) sits on the schema's own fields: TypeScript carries a property's JSDoc through the mapped types
 * zod and `DeepReadonly` build, so `StripeWebhooksConfig` and the construct's props show it (a generated `.d.ts` of
 * hand-written interfaces would be a second copy to keep in step). A `@default` tag that spells a value is checked
 * against the schema's actual default by test/infra/config-docs.test.ts, so the two cannot drift apart.
 */
import { z } from 'zod';
import { leaseSecondsFor } from '../../lambdas/processor/env';
import { DEFAULT_STRIPE_BUDGET } from '../../lambdas/shared/request-budget';
import { alarmsSchema } from './alarms';
import {
  apiVersion,
  DEFAULT_EVENT_TYPES,
  EVENT_TYPE,
  LOG_RETENTION_DAYS,
  MAX_ALLOWLIST_CHARS,
  MAX_EVENT_TYPES_CHARS,
  region,
  type Section,
  type Strict,
} from './limits';
import { observabilitySchema } from './observability';
import {
  eventSinkSchema,
  idempotencySchema,
  ingressSchema,
  processorSchema,
  queueSchema,
  reconcileSchema,
  rotationSchema,
  stripeEndpointSchema,
  stripeSchema,
} from './pipeline';
import { checkEventBridge, checkFailover, eventBridgeSchema, failoverSchema } from './regions';

/** The whole configuration, section by section. */
export const configShape = {
  /**
   * Prefix of every explicitly named resource (queues, table, functions, secrets, bus) and of the stack names.
   * Lower-case letters, digits and hyphens, 3..40 characters.
   * @default 'stripe-webhooks'
   */
  appName: z
    .string()
    .regex(/^[a-z][a-z0-9-]{1,38}[a-z0-9]$/, 'must be 3..40 lower-case letters, digits or hyphens')
    .default('stripe-webhooks'),
  /** AWS account to deploy to; omit for an account-agnostic template. @default - none (account-agnostic) */
  account: z
    .string()
    .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
    .optional(),
  /** Region that receives and processes events. @default 'us-east-1' */
  primaryRegion: region.default('us-east-1'),
  /**
   * Standby regions (active/passive failover). Each gets its own regional stack running the whole pipeline, a replica
   * of the idempotency table (a DynamoDB global table owned by the primary) and replicas of the Stripe secrets.
   * With `failover.domainName` set, at most one: Route 53 failover routes between one primary and one secondary.
   * @default []
   */
  secondaryRegions: z.array(region).default([]),
  /**
   * Secondary regions on their way out, step 1 of removing a region (docs/multi-region.md): their replica of the
   * idempotency table loses DynamoDB deletion protection and their stack loses termination protection, so that the
   * next deploy, with the region gone from `secondaryRegions` (and from here), can delete the replica. Each must be
   * one of `secondaryRegions`.
   * @default []
   */
  removingRegions: z.array(region).default([]),
  /**
   * The Stripe event types the webhook endpoint subscribes to (`*` = all). Output by the stack so the operator (and
   * the secret rotation, which recreates the endpoint) register exactly this list with Stripe.
   * @default DEFAULT_EVENT_TYPES
   */
  eventTypes: z
    .array(z.string().regex(EVENT_TYPE, 'must be a Stripe event type such as payment_intent.succeeded, or *'))
    .min(1, 'must list at least one Stripe event type')
    .default([...DEFAULT_EVENT_TYPES]),
  /** The processor Lambda and its SQS event source. */
  processor: processorSchema.prefault({}) as Section<typeof processorSchema>,
  /** The ingress Lambda and the HTTP API in front of it. */
  ingress: ingressSchema.prefault({}) as Section<typeof ingressSchema>,
  /** The FIFO event queue and its dead-letter queue. */
  queue: queueSchema.prefault({}) as Section<typeof queueSchema>,
  /** The idempotency table. */
  idempotency: idempotencySchema.prefault({}) as Section<typeof idempotencySchema>,
  /** Where processed events go. */
  eventSink: eventSinkSchema.prefault({}) as Section<typeof eventSinkSchema>,
  /** The scheduled reconciler: lists Stripe's events since its checkpoint and enqueues any never processed. */
  reconcile: reconcileSchema.prefault({}) as Section<typeof reconcileSchema>,
  /** One public webhook URL in front of every region, with Route 53 failover between them. */
  failover: failoverSchema.prefault({}) as Section<typeof failoverSchema>,
  /** Stripe's Amazon EventBridge destination, as a second way in besides webhooks. */
  eventBridge: eventBridgeSchema.prefault({}) as Section<typeof eventBridgeSchema>,
  /** CloudWatch alarms and where they notify. */
  alarms: alarmsSchema.prefault({}) as Section<typeof alarmsSchema>,
  /** X-Ray tracing (off by default: its cost). */
  observability: observabilitySchema.prefault({}) as Section<typeof observabilitySchema>,
  /** Retention of every log group (Lambda logs and API access logs), in days; one of CloudWatch's values. @default 30 */
  logRetentionDays: z
    .number()
    .refine((n) => (LOG_RETENTION_DAYS as readonly number[]).includes(n), {
      message: `must be one of CloudWatch Logs' retention values: ${LOG_RETENTION_DAYS.join(', ')}`,
    })
    .default(30),
  /** Pin the Stripe API version of fetched objects; omit for the account's default. @default - account default */
  stripeApiVersion: apiVersion.optional(),
  /** How the deployment uses Stripe's API: its request budget. */
  stripe: stripeSchema.prefault({}) as Section<typeof stripeSchema>,
  /** The Stripe webhook endpoint as code (a custom resource; docs/rotation.md). */
  stripeEndpoint: stripeEndpointSchema.prefault({}) as Section<typeof stripeEndpointSchema>,
  /** Rotation of the two Stripe secrets (in the primary region; the secrets replicate). */
  rotation: rotationSchema.prefault({}) as Section<typeof rotationSchema>,
  /**
   * What happens to the table, secrets, queues, keys and log groups when the stack is deleted: `retain` keeps them
   * (payments data; also turns on deletion and termination protection), `destroy` removes them (dev stacks only).
   * `retain` is CloudFormation's `RetainExceptOnCreate`: a failed first deploy still deletes what it created, so the
   * retry does not stop at "already exists".
   * @default 'retain'
   */
  removalPolicy: z.enum(['retain', 'destroy'], "must be 'retain' or 'destroy'").default('retain'),
};
const sectionsSchema: Strict<typeof configShape> = z.strictObject(configShape);

type Sections = z.output<typeof sectionsSchema>;

/** The rules between fields of different sections. */
function checkAcrossSections(cfg: Sections, ctx: z.RefinementCtx): void {
  const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const regions = [cfg.primaryRegion, ...cfg.secondaryRegions];
  regions.forEach((r, i) => {
    if (i > 0 && regions.indexOf(r) !== i) {
      issue(['secondaryRegions', i - 1], 'must not repeat the primary region or another secondary region');
    }
  });
  cfg.removingRegions.forEach((r, i) => {
    if (!cfg.secondaryRegions.includes(r)) {
      issue(
        ['removingRegions', i],
        'must be one of secondaryRegions (step 1 of removing a region); once it is gone from secondaryRegions, drop it here too',
      );
    }
  });
  if (new Set(cfg.eventTypes).size !== cfg.eventTypes.length) {
    issue(['eventTypes'], 'must not list an event type twice');
  }
  if (cfg.eventTypes.join(',').length > MAX_EVENT_TYPES_CHARS) {
    issue(
      ['eventTypes'],
      `is too long to hand to the Lambdas (${MAX_EVENT_TYPES_CHARS} characters at most, in 4 KB of environment); subscribe to * instead`,
    );
  }
  const { webhookSecretDays, webhookOverlapHours } = cfg.rotation;
  if (webhookSecretDays > 0 && webhookOverlapHours >= webhookSecretDays * 24) {
    issue(
      ['rotation', 'webhookOverlapHours'],
      `must be shorter than the rotation interval (rotation.webhookSecretDays = ${webhookSecretDays} days), or old endpoints pile up`,
    );
  }
  if (cfg.reconcile.enabled) {
    const budget = cfg.stripe.maxRequestsPerSecond;
    const reserved = cfg.reconcile.maxRequestsPerSecond;
    if (budget !== undefined ? reserved >= budget : reserved >= DEFAULT_STRIPE_BUDGET.test) {
      issue(
        ['reconcile', 'maxRequestsPerSecond'],
        `must be below stripe.maxRequestsPerSecond (${budget ?? `${DEFAULT_STRIPE_BUDGET.test}, its test-mode default`}): the processor shares what the reconciler leaves`,
      );
    }
  }
  checkFailover(cfg.failover, regions, ctx);
  checkEventBridge(cfg.eventBridge, regions, ctx);
  if (cfg.ingress.allowedSourceIps.join(',').length > MAX_ALLOWLIST_CHARS) {
    issue(
      ['ingress', 'allowedSourceIps'],
      `is too long for the ingress environment (${MAX_ALLOWLIST_CHARS} characters); use CIDR blocks`,
    );
  }
  if (cfg.failover.domainName !== undefined && cfg.ingress.apiType !== 'http') {
    issue(
      ['failover', 'domainName'],
      "needs ingress.apiType 'http': only the HTTP API has the custom domain and failover record (not 'rest' yet, never 'function-url')",
    );
  }
  if (cfg.ingress.apiType === 'function-url' && cfg.secondaryRegions.length > 0) {
    issue(
      ['ingress', 'apiType'],
      "'function-url' needs a single region: failover between regions goes through API Gateway custom domains (drop secondaryRegions or use 'http')",
    );
  }
  if (!cfg.eventSink.enabled && cfg.eventSink.archiveRetentionDays > 0) {
    issue(['eventSink', 'archiveRetentionDays'], 'needs eventSink.enabled: there is no bus to archive');
  }
  if (cfg.ingress.waf && cfg.ingress.apiType !== 'rest') {
    issue(
      ['ingress', 'waf'],
      "needs ingress.apiType 'rest': AWS WAF cannot be associated with an API Gateway HTTP API",
    );
  }
  const lease = cfg.idempotency.leaseSeconds;
  if (lease !== undefined && lease <= cfg.processor.timeoutSeconds) {
    issue(
      ['idempotency', 'leaseSeconds'],
      `must exceed processor.timeoutSeconds (${cfg.processor.timeoutSeconds}), or a running invocation could lose its claim and the event be processed twice`,
    );
  }
}

/**
 * The parsed config, with the settings whose default depends on another setting filled in. The intersection keeps
 * each field's declaration (and so its JSDoc) from the schema.
 */
type Resolved = Sections & { idempotency: { leaseSeconds: number } };

/** The zod schema of the configuration (input: a partial config; output: `StripeWebhooksConfig`). */
export const configSchema = sectionsSchema.superRefine(checkAcrossSections).transform(
  (cfg): Resolved => ({
    ...cfg,
    idempotency: {
      ...cfg.idempotency,
      leaseSeconds: cfg.idempotency.leaseSeconds ?? leaseSecondsFor(cfg.processor.timeoutSeconds),
    },
  }),
);

/** `T` with `readonly` on every property and array, at every depth (what the schema parses is never changed). */
export type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/**
 * Every field optional, at every depth: what a user writes (cdk.json, a config file, StripeWebhooks props); the
 * schema fills in the rest. Arrays and values are given whole.
 */
export type DeepPartial<T> = {
  readonly [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

/** The whole deployment configuration, every field filled in (its documentation is on the schema's fields). */
export type StripeWebhooksConfig = DeepReadonly<Resolved>;
/** The processor Lambda and its SQS event source. */
export type ProcessorConfig = StripeWebhooksConfig['processor'];
/** The ingress Lambda and the HTTP API in front of it. */
export type IngressConfig = StripeWebhooksConfig['ingress'];
/** The FIFO event queue and its dead-letter queue. */
export type QueueConfig = StripeWebhooksConfig['queue'];
/** The idempotency table. */
export type IdempotencyConfig = StripeWebhooksConfig['idempotency'];
/** Where processed events go. */
export type EventSinkConfig = StripeWebhooksConfig['eventSink'];
/** The scheduled reconciler. */
export type ReconcileConfig = StripeWebhooksConfig['reconcile'];
/** The Stripe webhook endpoint as code. */
export type StripeEndpointConfig = StripeWebhooksConfig['stripeEndpoint'];
/** Rotation of the two Stripe secrets. */
export type RotationConfig = StripeWebhooksConfig['rotation'];
/** The Route 53 health check of each region's `GET /health`. */
export type HealthCheckConfig = StripeWebhooksConfig['failover']['healthCheck'];
/** One public webhook URL in front of every region, with Route 53 failover between them. */
export type FailoverConfig = StripeWebhooksConfig['failover'];
/** Stripe's Amazon EventBridge destination. */
export type EventBridgeConfig = StripeWebhooksConfig['eventBridge'];
/** What makes each alarm fire. */
export type AlarmThresholds = StripeWebhooksConfig['alarms']['thresholds'];
/** CloudWatch alarms and where they notify. */
export type AlarmsConfig = StripeWebhooksConfig['alarms'];
/** X-Ray tracing. */
export type ObservabilityConfig = StripeWebhooksConfig['observability'];

/** The configuration with nothing set: every default. */
export const DEFAULT_CONFIG: StripeWebhooksConfig = configSchema.parse({});
