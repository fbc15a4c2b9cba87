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
import type Stripe from 'stripe';
import { parseEnv } from '../shared/env';
import { createIdempotencyStore } from '../shared/idempotency-store';
import { parseApiKey, type SecretSource, secretsManagerSecret } from '../shared/secrets';
import { createStripeClient } from '../shared/stripe-client';
import { createReconciler, type ReconcileResult } from './core';
import { parseEventTypes, reconcilerEnv } from './env';
import { createReconcilerState } from './state';

const env = parseEnv(reconcilerEnv);

const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const metrics = new Metrics({ namespace: 'StripeWebhooks', serviceName: env.POWERTOOLS_SERVICE_NAME });
const sqs = new SQSClient({});
const dynamo = new DynamoDBClient({});

let apiKeySecret: Promise<SecretSource> | undefined;
let current: { apiKey: string; client: Stripe } | undefined;

/** The Stripe client for the current API key: rebuilt only when the key changes (after a rotation). */
async function stripe(): Promise<Stripe> {
  apiKeySecret ??= secretsManagerSecret(env.STRIPE_API_KEY_SECRET_ID, {
    maxAgeSeconds: env.SECRET_CACHE_SECONDS,
  }).catch((err: unknown) => {
    apiKeySecret = undefined; // do not keep a failed set-up for the life of the container
    throw err;
  });
  const apiKey = parseApiKey(await (await apiKeySecret).get());
  if (current?.apiKey !== apiKey) {
    current = {
      apiKey,
      client: createStripeClient(apiKey, env.STRIPE_API_VERSION ? { apiVersion: env.STRIPE_API_VERSION } : {}),
    };
  }
  return current.client;
}

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
