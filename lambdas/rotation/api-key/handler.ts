/**
 * The API key rotation Lambda: the clients and middleware (./compose builds it, ./core holds the behaviour). Invoked by Secrets Manager for the four rotation
 * steps; the secret to rotate comes with each event.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import middy from '@middy/core';
import { parseEnv } from '../../shared/env';
import { ROTATION_METRICS_NAMESPACE } from '../run-step';
import { composeApiKeyRotation } from './compose';
import { apiKeyRotationEnv } from './env';

const env = parseEnv(apiKeyRotationEnv);
const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const metrics = new Metrics({ namespace: ROTATION_METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME });

const rotation = composeApiKeyRotation(env, { sm: new SecretsManagerClient({}), logger, metrics });

/** Secrets Manager rotation steps. The event holds ids only; it is not logged anyway. */
export const handler = middy(async (event: unknown) => rotation.handle(event)).use(
  injectLambdaContext(logger, { logEvent: false, resetKeys: true }),
);
