/**
 * The processor Lambda: wiring only. The work is in core.ts (createProcessor), which the local runtime and the
 * tests run with stand-ins.
 *
 * Module scope holds the clients (reused across invocations) and the validated environment (a missing variable
 * fails the cold start with its name). No AWS call happens at import time: the API key is read on the first
 * invocation, through a cache with a TTL, so a rotated key takes effect without a deploy.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type Stripe from 'stripe';
import { parseEnv } from '../shared/env';
import { createIdempotencyStore } from '../shared/idempotency-store';
import { METRICS_NAMESPACE } from '../shared/metrics';
import { parseApiKey, type SecretSource, secretsManagerSecret } from '../shared/secrets';
import { createStripeClient } from '../shared/stripe-client';
import { createProcessor } from './core';
import { processorEnv } from './env';
import { createEventBridgeSink } from './eventbridge-sink';
import { buildRegistry } from './handlers';

const env = parseEnv(processorEnv);

const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME });
const sqs = new SQSClient({});
const dynamo = new DynamoDBClient({});
const eventBridge = new EventBridgeClient({});

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

const processor = createProcessor({
  store: createIdempotencyStore({
    client: dynamo,
    tableName: env.TABLE_NAME,
    leaseSeconds: env.LEASE_SECONDS,
    doneTtlDays: env.DONE_TTL_DAYS,
  }),
  stripe,
  sink: createEventBridgeSink({ client: eventBridge, eventBusName: env.EVENT_BUS_NAME }),
  registry: buildRegistry(),
  sqs,
  queueUrl: env.QUEUE_URL,
  dlqUrl: env.DLQ_URL,
  logger,
  metrics,
  reuseFetchesForMs: env.FETCH_REUSE_SECONDS * 1000,
});

/** SQS event source handler (FIFO, ReportBatchItemFailures). */
export const handler = middy(
  async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => processor.handle(event, context),
)
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
