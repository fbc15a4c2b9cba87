/**
 * The reconciler Lambda, run by an EventBridge Scheduler schedule: wiring only. The work is in core.ts
 * (createReconciler), which `npm run reconcile` and the tests run against the local stand-ins.
 *
 * Module scope holds the clients and the validated environment (a missing variable fails the cold start with its
 * name). The API key is read on the first invocation through a cache with a TTL, so a rotated key takes effect
 * without a deploy.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { parseEnv } from '../shared/env';
import { createIdempotencyStore } from '../shared/idempotency-store';
import { METRICS_NAMESPACE } from '../shared/metrics';
import { lazySecretsManagerSecret } from '../shared/secrets';
import { stripeFromSecret } from '../shared/stripe-client';
import { createReconciler, type ReconcileResult } from './core';
import { parseEventTypes, reconcilerEnv } from './env';
import { createReconcilerState } from './state';

const env = parseEnv(reconcilerEnv);

const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME });
const sqs = new SQSClient({});
const dynamo = new DynamoDBClient({});

/** The Stripe client for the current API key (rebuilt only when a rotation changed it). */
const stripe = stripeFromSecret(
  lazySecretsManagerSecret(env.STRIPE_API_KEY_SECRET_ID, { maxAgeSeconds: env.SECRET_CACHE_SECONDS }),
  env.STRIPE_API_VERSION ? { apiVersion: env.STRIPE_API_VERSION } : {},
);

const reconciler = createReconciler(
  {
    store: createIdempotencyStore({
      client: dynamo,
      tableName: env.TABLE_NAME,
      // Not used: the reconciler only reads the table (`get`); claims are the processor's.
      leaseSeconds: 60,
      doneTtlDays: 35,
    }),
    state: createReconcilerState({ client: dynamo, tableName: env.TABLE_NAME }),
    stripe,
    sqs,
    queueUrl: env.QUEUE_URL,
    dlqUrl: env.DLQ_URL,
    logger,
    metrics,
  },
  {
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
  },
);

/** EventBridge Scheduler target: the schedule's input is ignored. */
export const handler = middy(
  async (_event: unknown, context: Context): Promise<ReconcileResult> =>
    reconciler.run({ remainingTimeMs: () => context.getRemainingTimeInMillis() }),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
