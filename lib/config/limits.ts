/**
 * The building blocks of the configuration schema (lib/config/schema.ts): AWS's and Stripe's limits, the formats
 * of names and ids, and the zod helpers that turn a limit into a validation with a message saying why.
 */
import { z } from 'zod';
import type { EnvSchema } from '../../lambdas/shared/env';

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

/** Where alarm descriptions link to unless `alarms.runbookBaseUrl` says otherwise: this repository's docs folder. */
export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/stripe-webhooks-aws/stripe-webhooks-aws/blob/main/docs';

/** SQS keeps a message at most 14 days. */
export const SQS_MAX_RETENTION_DAYS = 14;
/**
 * The longest comma-separated event type list accepted: the list travels in Lambda environments (the reconciler's,
 * the rotation's), which hold 4 KB in all, and in a stack output (4096 characters).
 */
export const MAX_EVENT_TYPES_CHARS = 3000;
/** The allowlist travels in one environment variable; Lambda allows 4 KB for all of them together. */
export const MAX_ALLOWLIST_CHARS = 2048;

const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
/** A fully qualified DNS name in lower case, without the trailing dot. */
const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
export const HOSTED_ZONE_ID = /^Z[A-Z0-9]{1,31}$/;
export const ACM_CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[0-9a-f-]{36}$/;
/** Stripe's partner event sources: `aws.partner/stripe.com/ed_...` (live) or `.../ed_test_...` (test mode). */
export const PARTNER_EVENT_SOURCE = /^aws\.partner\/stripe\.com\/ed_[A-Za-z0-9_]+$/;
export const EVENT_TYPE = /^(\*|[a-z0-9_]+(\.[a-z0-9_]+)+)$/;
const API_VERSION = /^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/;

/** A whole number in [min, max]; every message says why the limit is there. */
export const int = (min: number, max: number, why: string) =>
  z
    .int(`must be a whole number (${why})`)
    .min(min, `must be >= ${min} (${why})`)
    .max(max, `must be <= ${max} (${why})`);

export const region = z.string().regex(REGION, 'must be an AWS region name such as us-east-1');

export const dnsName = (what: string) => z.string().regex(DNS_NAME, `must be a lower-case DNS name such as ${what}`);

export const apiVersion = z.string().regex(API_VERSION, 'must be a Stripe API version such as 2025-09-30.clover');

export const flag = () => z.boolean('must be true or false');

/**
 * A strict zod object of `shape`, as a written type: a schema's type is written, not inferred, so that the emitted
 * declarations (.d.ts, what users of the package see) refer to the shape's declaration, which keeps each field's
 * JSDoc; an inferred type would be printed inline there, without it. (test/infra/config-docs.test.ts checks both.)
 */
export type Strict<S extends z.core.$ZodLooseShape> = z.ZodObject<S, z.core.$strict>;
/** A section that fills itself in from its defaults when left out (`.prefault({})`, written as a type as above). */
export type Section<T extends z.ZodType> = z.ZodPrefault<T>;

type IntSpec = Extract<EnvSchema[string], { kind: 'int' }>;

/**
 * A setting that is a Lambda's environment variable: its default and limits are the variable's, written once in the
 * Lambda's env.ts (the construct passes the value on; the Lambda validates it again at start-up).
 */
export function envInt(spec: IntSpec, why: string) {
  if (spec.default === undefined || spec.min === undefined || spec.max === undefined) {
    throw new Error('a setting taken from an env schema needs its default, min and max there');
  }
  return int(spec.min, spec.max, why).default(spec.default);
}
