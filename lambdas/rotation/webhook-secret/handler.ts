/**
 * The webhook signing secret rotation Lambda: wiring only (behaviour in ./core). Invoked by Secrets Manager for the
 * four rotation steps, and every hour by an EventBridge schedule with `{ "action": "cleanup" }`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import { parseEnv } from '../../shared/env';
import { stripeFromSecret } from '../../shared/stripe-from-api-key-secret';
import { ROTATION_METRICS_NAMESPACE } from '../run-step';
import { createWebhookSecretRotation } from './core';
import { webhookSecretRotationEnv } from './env';

const env = parseEnv(webhookSecretRotationEnv);
const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const metrics = new Metrics({ namespace: ROTATION_METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME });
const sm = new SecretsManagerClient({});

const rotation = createWebhookSecretRotation({
  sm,
  stripe: stripeFromSecret(sm, env.API_KEY_SECRET_ID),
  webhookSecretId: env.WEBHOOK_SECRET_ID,
  appName: env.APP_NAME,
  defaults: {
    url: env.WEBHOOK_URL,
    enabledEvents: env.EVENT_TYPES.split(',').filter((t) => t !== ''),
    ...(env.ENDPOINT_API_VERSION ? { apiVersion: env.ENDPOINT_API_VERSION } : {}),
    ...(env.ENDPOINT_DESCRIPTION ? { description: env.ENDPOINT_DESCRIPTION } : {}),
  },
  overlapMs: env.OVERLAP_HOURS * 3_600_000,
  logger,
  metrics,
});

/** Secrets Manager rotation steps and the scheduled cleanup. The event is logged by neither (no secrets in it, but no need). */
export const handler = middy(async (event: unknown) => rotation.handle(event)).use(
  injectLambdaContext(logger, { logEvent: false, resetKeys: true }),
);
