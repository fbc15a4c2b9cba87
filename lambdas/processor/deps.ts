/**
 * What the processor's parts share: its dependencies (ProcessorDeps, what createProcessor takes), the same resolved
 * once with their defaults (ProcessorScope), and the state of one invocation (Invocation).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type Stripe from 'stripe';
import type { IdempotencyStore } from '../shared/idempotency-store';
import type { EventSink } from '../shared/sink';
import type { HandlerLambdas } from './handler-lambdas';
import type { HandlerRegistry } from './registry';
import type { StripeCallStats } from './stripe-fetch';

export interface ProcessorDeps {
  readonly store: IdempotencyStore;
  /** The Stripe client; called once per invocation (the handler rebuilds it only when the API key changes). */
  readonly stripe: () => Promise<Stripe>;
  readonly sink: EventSink;
  readonly registry: HandlerRegistry;
  /** Handler Lambdas (StripeWebhooks.addHandler), run after the registry's handler. @default - none */
  readonly handlerLambdas?: HandlerLambdas;
  readonly sqs: SQSClient;
  /** The event queue (to delay a message after a Stripe 429). */
  readonly queueUrl: string;
  /** The FIFO DLQ permanent failures are sent to. */
  readonly dlqUrl: string;
  readonly logger: Logger;
  /** Namespace StripeWebhooks (set by the caller). */
  readonly metrics?: Metrics;
  /** Clock, Unix milliseconds. @default Date.now */
  readonly now?: () => number;
  /** No new record starts when less than this remains of the invocation. @default 5000 */
  readonly timeMarginMs?: number;
  /** Jitter source for backoffs. @default Math.random */
  readonly random?: () => number;
  /**
   * Runs a unit of work in a trace span (an X-Ray subsegment in the Lambda, through Powertools Tracer), with
   * low-cardinality annotations. Used around the Stripe fetch, the step whose latency Stripe decides.
   * @default - no tracing
   */
  readonly trace?: TraceFn;
}

/** See ProcessorDeps.trace. Annotations must hold no secret and no payload (ids and types only). */
export type TraceFn = <T>(
  name: string,
  annotations: Readonly<Record<string, string>>,
  work: () => Promise<T>,
) => Promise<T>;

/** The dependencies with their defaults applied, and the metric helpers every part uses. */
export interface ProcessorScope {
  readonly deps: ProcessorDeps;
  readonly now: () => number;
  /** See ProcessorDeps.timeMarginMs. */
  readonly margin: number;
  readonly logger: Logger;
  readonly metrics: Metrics | undefined;
  readonly trace: TraceFn;
  /** Adds a Count metric. */
  count(name: string, value?: number): void;
  /** Counts a ProcessingFailed metric with its Kind dimension. */
  countFailure(kind: 'permanent' | 'retryable'): void;
}

const untraced: TraceFn = (_name, _annotations, work) => work();

export function resolveScope(deps: ProcessorDeps): ProcessorScope {
  const { logger, metrics } = deps;
  return {
    deps,
    now: deps.now ?? Date.now,
    margin: deps.timeMarginMs ?? 5_000,
    logger,
    metrics,
    trace: deps.trace ?? untraced,
    count(name, value = 1) {
      metrics?.addMetric(name, MetricUnit.Count, value);
    },
    countFailure(kind) {
      // A dimension on the shared Metrics object would apply to every metric of the invocation: a single metric
      // carries its own.
      metrics?.singleMetric().addDimension('Kind', kind).addMetric('ProcessingFailed', MetricUnit.Count, 1);
    },
  };
}

/**
 * What happened to one record: `undefined` when it is done (processed, skipped, or safely in the DLQ), else a
 * failure: report it in batchItemFailures (SQS redelivers it), after the delay it asks for if any.
 */
export type RecordOutcome = RecordFailure | undefined;

export interface RecordFailure {
  readonly retryAfterSeconds?: number | undefined;
}

export interface InvocationCounts {
  processed: number;
  duplicates: number;
  /** Not processed on purpose (a livemode different from the API key's). */
  skipped: number;
  retryable: number;
  permanent: number;
  notStarted: number;
  leaseLost: number;
}

/** The state one `handle` call shares between its groups. */
export interface Invocation {
  readonly stats: StripeCallStats;
  readonly counts: InvocationCounts;
  readonly getStripe: () => Promise<Stripe>;
  readonly failed: Set<string>;
  readonly context: { getRemainingTimeInMillis(): number } | undefined;
  /** No new record starts when less than this remains (see ProcessorDeps.timeMarginMs). */
  readonly margin: number;
}
