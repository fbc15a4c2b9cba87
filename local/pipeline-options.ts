/**
 * What the local pipeline takes and gives (its options, its handle, its fixed names), apart from local/pipeline.ts,
 * which wires the stand-ins, the ingress, the poller and the processor containers together.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { ProcessorDeps } from '../lambdas/processor/core';
import type { HandlerLambdas } from '../lambdas/processor/handler-lambdas';
import type { HandlerRegistry } from '../lambdas/processor/registry';
import type { SecretSource } from '../lambdas/shared/secrets';
import type { EventSink } from '../lambdas/shared/sink';
import type { EventJournal } from './console/journal';
import type { HttpHandler } from './http-adapter';
import type { InvocationContext, InvocationOutcome, Poller } from './poller';
import type { LocalQueues } from './stand-ins';
import type { StripeServer } from './stripe-server';

/** The documented local signing secret, used when STRIPE_WEBHOOK_SECRET is not set. Never use it in AWS. */
export const LOCAL_WEBHOOK_SECRET = 'whsec_local_development_only_0000000000';
/** Where processed events go locally unless told otherwise (LOCAL_SINK_FILE). */
export const DEFAULT_SINK_FILE = '.local/processed.jsonl';
/** The key sent to a non-real Stripe (the embedded one or STRIPE_API_BASE) when no STRIPE_SECRET_KEY is set. */
export const LOCAL_STRIPE_KEY = 'sk_test_local_offline';

export interface LocalPipelineOptions {
  /** HTTP port; 0 = any free port. @default 3000 */
  readonly port?: number;
  /** Signing secret(s), comma-separated. @default LOCAL_WEBHOOK_SECRET */
  readonly webhookSecret?: string;
  /** Where the signing secrets come from instead (tests use it to play a rotation). */
  readonly webhookSecretSource?: SecretSource;
  /** Base URL of a Stripe-compatible server. */
  readonly stripeApiBase?: string;
  /** A Stripe secret key: the real API unless stripeApiBase is also set. */
  readonly stripeSecretKey?: string;
  /** @default '.local/processed.jsonl' */
  readonly sinkFile?: string;
  /** Where processed events go instead of the sink file. */
  readonly sink?: EventSink;
  /** Business handlers. @default buildRegistry() from lambdas/processor/business-handlers.ts */
  readonly registry?: HandlerRegistry;
  /** Handler Lambdas, run in-process (local/handler-lambdas.ts). @default - none */
  readonly handlerLambdas?: HandlerLambdas;
  /** Processor invocations at once (the event source mapping's maximum concurrency): one container each. @default 4 */
  readonly concurrency?: number;
  /** Invocations a processor container serves before it is retired (a cold start follows). @default 25 */
  readonly maxInvocationsPerContainer?: number;
  /** @default - the config's `processor.batchSize` */
  readonly batchSize?: number;
  /** The processor's timeout. @default 10 */
  readonly timeoutSeconds?: number;
  /** @default - VISIBILITY_TIMEOUT_FACTOR x timeoutSeconds, as in AWS */
  readonly visibilityTimeoutSeconds?: number;
  /** @default - the config's `queue.maxReceiveCount`, as in AWS */
  readonly maxReceiveCount?: number;
  /** @default - leaseSecondsFor(timeoutSeconds), as in AWS */
  readonly leaseSeconds?: number;
  /** Print EMF metrics to stdout after every invocation, as Lambda would ship them. @default false */
  readonly emitMetrics?: boolean;
  /** Powertools log level. @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Called after every processor invocation. */
  readonly onInvocation?: (outcome: InvocationOutcome) => void;
  /** Wraps the processor's batch handler (fault-injection tests use it to crash or stall an invocation). */
  readonly wrapProcessor?: (handle: BatchFunction) => BatchFunction;
  /** Wraps the ingress's HTTP handler (fault-injection tests use it to lose a response after the enqueue). */
  readonly wrapIngress?: (handle: HttpHandler) => HttpHandler;
  /**
   * Use this DynamoDB endpoint and table instead of starting a dynalite of its own: two pipelines given the same one
   * share the idempotency table, as two regions share a DynamoDB global table (the table is created if missing; the
   * endpoint is left running on close).
   * @default - a dynalite of its own, with table LOCAL_TABLE_NAME
   */
  readonly idempotencyTable?: { readonly endpoint: string; readonly tableName: string };
  /**
   * Runs one processor invocation from the dependencies of the container it runs in, instead of that container's
   * processor: a fault-injection test wraps them per invocation (a switch that kills the invocation, a call that
   * stalls) and builds a processor over them with createProcessor (one per container: `deps` is the same object for
   * every invocation of a container, and a new one after a cold start). `wrapProcessor` still applies on top.
   */
  readonly invokeProcessor?: InvokeProcessor;
  /**
   * No new record starts when less than this remains of an invocation (the processor's `timeMarginMs`).
   * @default the processor's 5000 (which it caps at half of what an invocation has at its start)
   */
  readonly timeMarginMs?: number;
  /**
   * A FIFO receive hands out several messages of one group, as SQS does; fauxqs hands out one per group, so batches
   * never hold two records of one object (see startSqs). @default false
   */
  readonly fifoBatchesLikeSqs?: boolean;
  /**
   * The deployment's Stripe request budget, requests/s: each processor container takes an equal share (budget /
   * `concurrency`), as in Lambda (lambdas/shared/request-budget.ts). @default - no budget
   */
  readonly stripeMaxRequestsPerSecond?: number;
  /** Run dynalite on a worker thread, off the pipeline's event loop (see startDynamo). @default false */
  readonly dynamoInWorker?: boolean;
  /** Run fauxqs on a worker thread, off the pipeline's event loop (see startSqs). @default false */
  readonly sqsInWorker?: boolean;
  /**
   * Serve the console at /_console (local/console/), fed from what the pipeline does. `npm start` turns it on.
   * @default false
   */
  readonly console?: boolean;
}

/** One processor invocation, given the dependencies its container built for the processor. */
export type InvokeProcessor = (
  event: SQSEvent,
  context: InvocationContext,
  deps: ProcessorDeps,
) => Promise<SQSBatchResponse>;

/** The processor's batch entry point, as the poller invokes it. */
export type BatchFunction = (event: SQSEvent, ctx: InvocationContext) => Promise<SQSBatchResponse>;

export type StripeMode =
  | { readonly kind: 'offline'; readonly apiBase: string; readonly server: StripeServer }
  | { readonly kind: 'api-base'; readonly apiBase: string }
  | { readonly kind: 'live' };

export interface LocalPipeline {
  /** e.g. http://127.0.0.1:3000 */
  readonly url: string;
  readonly webhookUrl: string;
  readonly stripe: StripeMode;
  readonly sqsEndpoint: string;
  readonly dynamoEndpoint: string;
  readonly queues: LocalQueues;
  readonly tableName: string;
  readonly sinkFile: string | undefined;
  /** The running queue poller (a new one after `startProcessing`). */
  readonly poller: Poller;
  /**
   * Stops answering HTTP: open connections are cut and new ones refused, as a region whose API is down. The queue
   * keeps what it holds.
   */
  stopIngress(): Promise<void>;
  /**
   * Stops the poller: running invocations finish and its last long polls come back, so when this resolves every
   * accepted event not yet processed waits, visible, on the queue.
   */
  stopProcessing(): Promise<void>;
  /** Starts a new poller (after stopProcessing), which drains whatever waited on the queue. */
  startProcessing(): void;
  /** The console's journal, when `console` is on (its page is at `${url}/_console`). */
  readonly journal: EventJournal | undefined;
  /** Stops taking requests, lets running invocations finish, and stops every stand-in. */
  close(): Promise<void>;
}

export const LOCAL_TABLE_NAME = 'stripe-webhooks-idempotency';
export const LOCAL_QUEUE_NAME = 'stripe-webhooks-events';
