/**
 * The processor Lambda: the AWS clients and middleware. compose.ts builds the processor from the environment and
 * these clients, as the local runtime and the tests do with the stand-ins' clients; the work is in core.ts.
 *
 * Module scope holds the clients (reused across invocations) and the validated environment (a missing variable
 * fails the cold start with its name). No AWS call happens at import time: the API key is read on the first
 * invocation, through a cache with a TTL, so a rotated key takes effect without a deploy.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseEnv } from '../shared/env';
import { METRICS_NAMESPACE } from '../shared/metrics';
import { stripeBudgetShare } from '../shared/request-budget';
import { lazySecretsManagerSecret } from '../shared/secrets';
import { stripeFromSecret } from '../shared/stripe-client';
import { composeProcessor, sinkFor } from './compose';
import type { TraceFn } from './core';
import { processorEnv } from './env';
import { createEventBridgeSink } from './eventbridge-sink';
import { createLambdaInvoker } from './lambda-invoker';

const env = parseEnv(processorEnv);

const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME });
/**
 * X-Ray through Powertools Tracer: a subsegment per AWS SDK call (SQS, DynamoDB, EventBridge), per outgoing HTTPS
 * request (the Stripe API), and one per Stripe fetch with the event type as annotation. The processor runs off a
 * queue, so the ~120 KB Tracer adds to its bundle costs no caller any latency (the ingress, which Stripe waits on,
 * relies on the Lambda's active tracing only: see docs/observability.md). Outside Lambda the Tracer is off.
 */
const tracer = new Tracer({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const sqs = tracer.captureAWSv3Client(new SQSClient({}));
const dynamo = tracer.captureAWSv3Client(new DynamoDBClient({}));
const eventBridge = tracer.captureAWSv3Client(new EventBridgeClient({}));

/**
 * A subsegment of the invocation's segment. It is not made the current segment: groups of one batch run
 * concurrently, and a shared "current" subsegment would file one group's calls under another group's fetch.
 */
const trace: TraceFn = async (name, annotations, work) => {
  const parent = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
  if (!parent) return work();
  const subsegment = parent.addNewSubsegment(name);
  for (const [key, value] of Object.entries(annotations)) subsegment.addAnnotation(key, value);
  try {
    return await work();
  } catch (err) {
    subsegment.addError(err as Error);
    throw err;
  } finally {
    subsegment.close();
  }
};

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
  invokeHandler: createLambdaInvoker(tracer.captureAWSv3Client(new LambdaClient({}))),
  logger,
  metrics,
  trace,
});

/** SQS event source handler (FIFO, ReportBatchItemFailures). */
export const handler = middy(
  async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => processor.handle(event, context),
)
  .use(captureLambdaHandler(tracer, { captureResponse: false }))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
