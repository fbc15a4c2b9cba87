/**
 * The ingress Lambda: wiring only. Environment, clients and middleware here; behaviour in ./core.
 *
 * Importing this module reads and validates the environment but calls no AWS API: SQS and Secrets Manager are
 * reached on the first request.
 *
 * SQS and Secrets Manager go through the small aws4 JSON client (../shared/aws-json.ts), not the AWS SDK: the
 * ingress is the function Stripe waits on, and the SDK was most of its cold path (docs/performance.md).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { awsJsonClient } from '../shared/aws-json';
import { awsJsonSecret } from '../shared/aws-json-secret';
import { parseEnv } from '../shared/env';
import { jsonQueueClient } from '../shared/queue-client';
import { createIngress, type HttpResponse, METRICS_NAMESPACE } from './core';
import { ingressEnv } from './env';
import { ingressMetricsLogger } from './metrics-logger';
import { parseAllowedSourceIps } from './source-ip';

const env = parseEnv(ingressEnv);

const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: env.POWERTOOLS_SERVICE_NAME,
  logger: ingressMetricsLogger(logger),
});
const sqs = jsonQueueClient(awsJsonClient({ service: 'sqs' }));

/** The signing secrets, read on the first request and reused for SECRET_CACHE_SECONDS. */
const webhookSecrets = awsJsonSecret(env.WEBHOOK_SECRET_ID, {
  client: awsJsonClient({ service: 'secretsmanager' }),
  maxAgeSeconds: env.SECRET_CACHE_SECONDS,
});

const ingress = createIngress({
  sqs,
  queueUrl: env.QUEUE_URL,
  webhookSecrets,
  toleranceSeconds: env.SIGNATURE_TOLERANCE_SECONDS,
  maxBodyBytes: env.MAX_BODY_BYTES,
  maxMessageBytes: env.MAX_MESSAGE_BYTES,
  allowedSourceIps: parseAllowedSourceIps(env.ALLOWED_SOURCE_IPS),
  logger,
  metrics,
});

/**
 * Lambda entry point for every trigger: API Gateway HTTP API (payload 2.0), API Gateway REST API (payload 1.0) and
 * the EventBridge rule on Stripe's partner bus. The event is never logged: it holds the raw webhook body.
 *
 * What Powertools' middy middlewares did (injectLambdaContext with resetKeys, logMetrics), written out: @middy/core
 * imports node:stream, node:stream/promises and node:stream/web at load for response streaming the ingress never
 * uses, about 8 ms of CPU on every cold start Stripe waits on (docs/performance.md). The processor keeps middy.
 */
export async function handler(event: unknown, context: Context): Promise<HttpResponse | undefined> {
  logger.refreshSampleRateCalculation();
  logger.addContext(context);
  try {
    return await ingress.handle(event);
  } finally {
    logger.resetKeys();
    // Also after a failure, as logMetrics does: the EnqueueFailed count must reach CloudWatch.
    metrics.publishStoredMetrics();
  }
}
