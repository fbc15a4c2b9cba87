/**
 * The webhook signing secret rotation built from its environment and clients: what handler.ts runs in Lambda and
 * what the tests build (with a Secrets Manager stand-in and the local Stripe's `apiBase`).
 */
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { EnvOf } from '../../shared/env';
import { type EndpointManagerClients, endpointManagerStripe } from '../../shared/stripe-from-api-key-secret';
import { createWebhookSecretRotation, type WebhookSecretRotation } from './core';
import type { webhookSecretRotationEnv } from './env';

/** The rotation, from its environment and clients. */
export function composeWebhookSecretRotation(
  env: EnvOf<typeof webhookSecretRotationEnv>,
  clients: EndpointManagerClients & { readonly metrics?: Metrics },
): WebhookSecretRotation {
  return createWebhookSecretRotation({
    sm: clients.sm,
    stripe: endpointManagerStripe(clients, env.API_KEY_SECRET_ID),
    webhookSecretId: env.WEBHOOK_SECRET_ID,
    appName: env.APP_NAME,
    defaults: {
      url: env.WEBHOOK_URL,
      enabledEvents: env.EVENT_TYPES.split(',').filter((t) => t !== ''),
      ...(env.ENDPOINT_API_VERSION ? { apiVersion: env.ENDPOINT_API_VERSION } : {}),
      ...(env.ENDPOINT_DESCRIPTION ? { description: env.ENDPOINT_DESCRIPTION } : {}),
    },
    overlapMs: env.OVERLAP_HOURS * 3_600_000,
    logger: clients.logger,
    ...(clients.metrics ? { metrics: clients.metrics } : {}),
    ...(clients.now ? { now: clients.now } : {}),
  });
}
