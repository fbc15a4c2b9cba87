/**
 * The webhook signing secret rotation Lambda: the clients and middleware (./compose builds it, ./core holds the behaviour). Invoked by Secrets Manager for the
 * four rotation steps, and every hour by an EventBridge schedule with `{ "action": "cleanup" }`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import { parseEnv } from '../../shared/env';
import { ROTATION_METRICS_NAMESPACE } from '../run-step';
import { composeWebhookSecretRotation } from './compose';
import { webhookSecretRotationEnv } from './env';

const env = parseEnv(webhookSecretRotationEnv);
const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const metrics = new Metrics({ namespace: ROTATION_METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME });
const sm = new SecretsManagerClient({});

const rotation = composeWebhookSecretRotation(env, { sm, logger, metrics });

/** Secrets Manager rotation steps and the scheduled cleanup. The event is logged by neither (no secrets in it, but no need). */
export const handler = middy(async (event: unknown) => rotation.handle(event)).use(
  injectLambdaContext(logger, { logEvent: false, resetKeys: true }),
);
