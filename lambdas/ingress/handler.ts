/**
 * The ingress Lambda: wiring only. Environment, clients and middleware here; behaviour in ./core.
 *
 * Importing this module reads and validates the environment but calls no AWS API: the SQS client connects on first
 * send, and the Secrets Manager source is created on the first request that needs the signing secret.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import { parseEnv } from '../shared/env';
import { lazySecretsManagerSecret } from '../shared/secrets';
import { createIngress, type HttpResponse, METRICS_NAMESPACE } from './core';
import { ingressEnv } from './env';
import { parseAllowedSourceIps } from './source-ip';

const env = parseEnv(ingressEnv);

const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
/**
 * Where Metrics reports its own problems: the structured logger, minus the warning that an invocation published no
 * metric. Health checks and 404s record none, and Route 53's checkers call /health every few seconds from many
 * places: a WARN line per call would bury real warnings.
 */
const metricsLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (message: unknown) => {
    if (!String(message).startsWith('No application metrics to publish')) logger.warn(String(message));
  },
  error: (message: unknown) => logger.error(String(message)),
};
const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: env.POWERTOOLS_SERVICE_NAME,
  logger: metricsLogger,
});
const sqs = new SQSClient({});

/** The signing secrets, through Secrets Manager's cache; set up on the first request, not at cold start. */
const webhookSecrets = lazySecretsManagerSecret(env.WEBHOOK_SECRET_ID, { maxAgeSeconds: env.SECRET_CACHE_SECONDS });

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
 * the EventBridge rule on Stripe's partner bus. The event is never logged (`logEvent: false` overrides
 * POWERTOOLS_LOGGER_LOG_EVENT): it holds the raw webhook body.
 */
export const handler = middy(async (event: unknown): Promise<HttpResponse | undefined> => ingress.handle(event))
  .use(injectLambdaContext(logger, { logEvent: false, resetKeys: true }))
  .use(logMetrics(metrics));
