/**
 * The webhook endpoint custom resource built from its environment and clients: what handler.ts runs in Lambda and
 * what the tests build (with a Secrets Manager stand-in and the local Stripe's `apiBase`).
 */
import type { EnvOf } from '../shared/env';
import { type EndpointManagerClients, endpointManagerStripe } from '../shared/stripe-from-api-key-secret';
import { createWebhookEndpointResource, type WebhookEndpointResource } from './core';
import type { webhookEndpointEnv } from './env';

/** The custom resource, from its environment and clients. */
export function composeWebhookEndpointResource(
  env: EnvOf<typeof webhookEndpointEnv>,
  clients: EndpointManagerClients,
): WebhookEndpointResource {
  return createWebhookEndpointResource({
    sm: clients.sm,
    stripe: endpointManagerStripe(clients, env.API_KEY_SECRET_ID),
    webhookSecretId: env.WEBHOOK_SECRET_ID,
    appName: env.APP_NAME,
    overlapMs: env.OVERLAP_HOURS * 3_600_000,
    logger: clients.logger,
    ...(clients.now ? { now: clients.now } : {}),
  });
}
