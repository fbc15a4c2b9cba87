/**
 * The processor Lambda: the AWS clients, logging, metrics and (when on) tracing. compose.ts builds the processor from the environment and
 * these clients, as the local runtime and the tests do with the stand-ins' clients; the work is in core.ts.
 *
 * Module scope holds the clients (reused across invocations) and the validated environment (a missing variable
 * fails the cold start with its name). No AWS call happens at import time: the API key is read on the first
 * invocation, through a cache with a TTL, so a rotated key takes effect without a deploy.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseEnv } from '../shared/env';
import { METRICS_NAMESPACE } from '../shared/metrics';
import { stripeBudgetShare } from '../shared/request-budget';
import { lazySecretsManagerSecret } from '../shared/secrets';
import { stripeFromSecret } from '../shared/stripe-client';
import { composeProcessor, sinkFor } from './compose';
import { processorEnv } from './env';
import { createEventBridgeSink } from './eventbridge-sink';
import { createLambdaInvoker } from './lambda-invoker';

const env = parseEnv(processorEnv);

const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME });
/**
 * X-Ray (./tracing.ts), loaded only when `observability.tracing` is on: off (the default), neither Powertools Tracer
 * nor the X-Ray SDK is evaluated, about 20 ms of CPU less per cold start (bundle import, median of 11: 189 -> 168 ms
 * on a busy 2-core machine). On, it is loaded here, during the cold start, as a static import would be.
 */
const tracing = env.POWERTOOLS_TRACE_ENABLED
  ? (await import('./tracing')).createProcessorTracing(env.POWERTOOLS_SERVICE_NAME)
  : undefined;
const capture = <T>(client: T): T => (tracing ? tracing.captureClient(client) : client);
const sqs = capture(new SQSClient({}));
const dynamo = capture(new DynamoDBClient({}));
const eventBridge = capture(new EventBridgeClient({}));

/** The Stripe client for the current API key (rebuilt only when a rotation changed it). */
const stripe = stripeFromSecret(
  lazySecretsManagerSecret(env.STRIPE_API_KEY_SECRET_ID, { maxAgeSeconds: env.SECRET_CACHE_SECONDS }),
  {
    ...(env.STRIPE_API_VERSION ? { apiVersion: env.STRIPE_API_VERSION } : {}),
    ...(env.STRIPE_API_BASE ? { apiBase: env.STRIPE_API_BASE } : {}),
    // This container's share of the deployment's Stripe request budget (lambdas/shared/request-budget.ts).
    budget: stripeBudgetShare({
      maxRequestsPerSecond: env.STRIPE_MAX_REQUESTS_PER_SECOND,
      reservedPerSecond: env.STRIPE_RESERVED_REQUESTS_PER_SECOND,
      shares: env.STRIPE_BUDGET_SHARES,
    }),
  },
);

const processor = composeProcessor(env, {
  dynamo,
  sqs,
  stripe,
  sink: sinkFor(env, (eventBusName) => createEventBridgeSink({ client: eventBridge, eventBusName })),
  invokeHandler: createLambdaInvoker(capture(new LambdaClient({}))),
  logger,
  metrics,
  ...(tracing ? { trace: tracing.trace } : {}),
});

/**
 * SQS event source handler (FIFO, ReportBatchItemFailures).
 *
 * What Powertools' middy middlewares did (injectLambdaContext, logMetrics with the cold start metric,
 * captureLambdaHandler), written out: @middy/core imports node:stream, node:stream/promises and node:stream/web at
 * load for response streaming this function never uses (as the ingress found, lambdas/ingress/handler.ts).
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.refreshSampleRateCalculation();
  logger.addContext(context);
  metrics.captureColdStartMetric(context.functionName);
  try {
    const run = () => processor.handle(event, context);
    return await (tracing ? tracing.invocation(run) : run());
  } finally {
    // Also after a failure, as logMetrics does.
    metrics.publishStoredMetrics();
  }
}
