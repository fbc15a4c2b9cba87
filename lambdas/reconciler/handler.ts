/**
 * The reconciler Lambda, run by an EventBridge Scheduler schedule: the AWS clients and middleware. compose.ts
 * builds the reconciler from the environment and these clients, as `npm run reconcile` and the tests do with the
 * local stand-ins' clients; the work is in core.ts.
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
import { METRICS_NAMESPACE } from '../shared/metrics';
import { lazySecretsManagerSecret } from '../shared/secrets';
import { stripeFromSecret } from '../shared/stripe-client';
import { composeReconciler } from './compose';
import type { ReconcileResult } from './core';
import { reconcilerEnv } from './env';

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

const reconciler = composeReconciler(env, { dynamo, sqs, stripe, logger, metrics });

/** EventBridge Scheduler target: the schedule's input is ignored. */
export const handler = middy(
  async (_event: unknown, context: Context): Promise<ReconcileResult> =>
    reconciler.run({ remainingTimeMs: () => context.getRemainingTimeInMillis() }),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
