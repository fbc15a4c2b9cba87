/**
 * The processor built from its environment and its clients: what handler.ts runs in Lambda, what the local runtime
 * (local/pipeline.ts) runs in each container, and what the tests build. Everything a setting decides (lease, TTL,
 * queues, handler Lambdas) comes from the parsed environment, so the three cannot wire it differently; only the
 * clients differ (AWS SDK clients in Lambda, clients of the local stand-ins elsewhere).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type Stripe from 'stripe';
import type { EnvOf } from '../shared/env';
import { createIdempotencyStore, type IdempotencyStore } from '../shared/idempotency-store';
import { type EventSink, NO_SINK } from '../shared/sink';
import { buildRegistry } from './business-handlers';
import { createProcessor, type Processor, type ProcessorDeps, type TraceFn } from './core';
import type { processorEnv } from './env';
import { type InvokeHandler, parseHandlerTargets } from './handler-lambdas';
import type { HandlerRegistry } from './registry';

/** The processor's parsed environment (parseEnv(processorEnv)). */
export type ProcessorEnv = EnvOf<typeof processorEnv>;

/** What the processor talks to. */
export interface ProcessorClients {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  /** The Stripe client for the current API key (see stripeFromSecret). */
  readonly stripe: () => Promise<Stripe>;
  /** Where processed events go (the EventBridge bus named by EVENT_BUS_NAME in Lambda; see sinkFor). */
  readonly sink: EventSink;
  /** Invokes a handler Lambda; required when HANDLER_LAMBDAS lists any. */
  readonly invokeHandler?: InvokeHandler;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly trace?: TraceFn;
  /** The in-process business handlers. @default buildRegistry() (lambdas/processor/business-handlers.ts) */
  readonly registry?: HandlerRegistry;
  /** Wraps the idempotency store (the local console observes its calls). */
  readonly observeStore?: (store: IdempotencyStore) => IdempotencyStore;
  /** See ProcessorDeps.timeMarginMs. */
  readonly timeMarginMs?: number;
}

/**
 * The sink for this environment: `make(EVENT_BUS_NAME)`, or NO_SINK when no bus is named (`eventSink.enabled: false`:
 * processed events reach the handlers only).
 */
export function sinkFor(
  env: Pick<ProcessorEnv, 'EVENT_BUS_NAME'>,
  make: (eventBusName: string) => EventSink,
): EventSink {
  return env.EVENT_BUS_NAME === undefined ? NO_SINK : make(env.EVENT_BUS_NAME);
}

/** The processor's dependencies, from its environment and clients (a test or the local runtime may wrap them). */
export function composeProcessorDeps(env: ProcessorEnv, clients: ProcessorClients): ProcessorDeps {
  const store = createIdempotencyStore({
    client: clients.dynamo,
    tableName: env.TABLE_NAME,
    leaseSeconds: env.LEASE_SECONDS,
    doneTtlDays: env.DONE_TTL_DAYS,
  });
  const targets = parseHandlerTargets(env.HANDLER_LAMBDAS);
  if (targets.length > 0 && clients.invokeHandler === undefined) {
    throw new Error(`HANDLER_LAMBDAS lists ${targets.length} handler(s) but no invoker was given to call them`);
  }
  return {
    store: clients.observeStore ? clients.observeStore(store) : store,
    stripe: clients.stripe,
    sink: clients.sink,
    registry: clients.registry ?? buildRegistry(),
    ...(targets.length > 0 && clients.invokeHandler
      ? { handlerLambdas: { targets, invoke: clients.invokeHandler } }
      : {}),
    sqs: clients.sqs,
    queueUrl: env.QUEUE_URL,
    dlqUrl: env.DLQ_URL,
    logger: clients.logger,
    ...(clients.metrics ? { metrics: clients.metrics } : {}),
    ...(clients.trace ? { trace: clients.trace } : {}),
    ...(clients.timeMarginMs !== undefined ? { timeMarginMs: clients.timeMarginMs } : {}),
  };
}

/** The processor, from its environment and clients. */
export function composeProcessor(env: ProcessorEnv, clients: ProcessorClients): Processor {
  return createProcessor(composeProcessorDeps(env, clients));
}
