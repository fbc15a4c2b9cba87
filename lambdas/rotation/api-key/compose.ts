/** The API key rotation built from its environment and clients: what handler.ts runs in Lambda and the tests build. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { EnvOf } from '../../shared/env';
import { createStripeClient } from '../../shared/stripe-client';
import { type ApiKeyRotation, createApiKeyRotation } from './core';
import type { apiKeyRotationEnv } from './env';

export interface ApiKeyRotationClients {
  readonly sm: SecretsManagerClient;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  /** Where the Stripe API is (the local Stripe in tests). @default - Stripe's */
  readonly stripeApiBase?: string;
}

/** The rotation, from its environment and clients. */
export function composeApiKeyRotation(
  env: EnvOf<typeof apiKeyRotationEnv>,
  clients: ApiKeyRotationClients,
): ApiKeyRotation {
  return createApiKeyRotation({
    sm: clients.sm,
    stripeFor: (apiKey) =>
      createStripeClient(apiKey, {
        ...(env.STRIPE_API_VERSION ? { apiVersion: env.STRIPE_API_VERSION } : {}),
        ...(clients.stripeApiBase ? { apiBase: clients.stripeApiBase } : {}),
      }),
    logger: clients.logger,
    ...(clients.metrics ? { metrics: clients.metrics } : {}),
    eventTypes: env.EVENT_TYPES.split(',').filter((t) => t !== ''),
  });
}
