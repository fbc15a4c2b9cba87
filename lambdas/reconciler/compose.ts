/**
 * The reconciler built from its environment and its clients: what handler.ts runs in Lambda, what `npm run
 * reconcile` runs against the local pipeline (local/reconcile.ts), and what the tests build. Every setting comes from
 * the parsed environment; only the clients differ.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type Stripe from 'stripe';
import type { EnvOf } from '../shared/env';
import { createIdempotencyStore } from '../shared/idempotency-store';
import { createReconciler, type Reconciler, type ReconcilerSettings } from './core';
import { parseEventTypes, type reconcilerEnv } from './env';
import { createReconcilerState } from './state';

/** The reconciler's parsed environment (parseEnv(reconcilerEnv)). */
export type ReconcilerEnv = EnvOf<typeof reconcilerEnv>;

/** What the reconciler talks to. */
export interface ReconcilerClients {
  readonly dynamo: DynamoDBClient;
  readonly sqs: SQSClient;
  /** The Stripe client for the current API key. */
  readonly stripe: () => Promise<Stripe>;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

/** The run settings an environment gives. */
export function reconcilerSettings(env: ReconcilerEnv): ReconcilerSettings {
  return {
    maxRequestsPerSecond: env.MAX_REQUESTS_PER_SECOND,
    graceSeconds: env.GRACE_SECONDS,
    overlapSeconds: env.OVERLAP_SECONDS,
    initialLookbackHours: env.INITIAL_LOOKBACK_HOURS,
    sliceSeconds: env.SLICE_SECONDS,
    eventTypes: parseEventTypes(env.EVENT_TYPES),
    connectedAccounts: env.CONNECTED_ACCOUNTS,
    thinEvents: env.THIN_EVENTS,
    maxMessageBytes: env.MAX_MESSAGE_BYTES,
    lockMs: env.LOCK_SECONDS * 1000,
  };
}

/**
 * The reconciler, from its environment and clients. `overrides` replace settings for one run (`npm run reconcile --
 * --grace 0`); a deployed reconciler has none.
 */
export function composeReconciler(
  env: ReconcilerEnv,
  clients: ReconcilerClients,
  overrides: ReconcilerSettings = {},
): Reconciler {
  return createReconciler(
    {
      store: createIdempotencyStore({
        client: clients.dynamo,
        tableName: env.TABLE_NAME,
        // Never used: the reconciler only reads the table (`get`); claims and their TTL are the processor's.
        leaseSeconds: env.LOCK_SECONDS,
        doneTtlDays: 1,
      }),
      state: createReconcilerState({ client: clients.dynamo, tableName: env.TABLE_NAME }),
      stripe: clients.stripe,
      sqs: clients.sqs,
      queueUrl: env.QUEUE_URL,
      dlqUrl: env.DLQ_URL,
      logger: clients.logger,
      ...(clients.metrics ? { metrics: clients.metrics } : {}),
    },
    { ...reconcilerSettings(env), ...overrides },
  );
}
