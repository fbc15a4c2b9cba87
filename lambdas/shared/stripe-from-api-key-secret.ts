/**
 * A Stripe client built from the API key secret, for the Lambdas that manage endpoints (the webhook secret rotation
 * and the endpoint custom resource). Read on each invocation without a cache: these functions run a few times a day,
 * and a just-rotated key must be used at once.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type Stripe from 'stripe';
import { parseApiKey, SecretFormatError } from './secrets';
import { createStripeClient } from './stripe-client';

/** The API key secret holds no usable key yet (the placeholder the stack creates, or an empty value). */
export class ApiKeyNotSetError extends Error {
  override name = 'ApiKeyNotSetError';
}

/** Returns a function that reads the API key secret and builds a Stripe client with it. */
export function stripeFromSecret(
  sm: SecretsManagerClient,
  apiKeySecretId: string,
  options: { apiBase?: string } = {},
): () => Promise<Stripe> {
  return async () => {
    const out = await sm.send(new GetSecretValueCommand({ SecretId: apiKeySecretId }));
    let apiKey: string;
    try {
      apiKey = parseApiKey(out.SecretString ?? '');
    } catch (err) {
      if (err instanceof SecretFormatError) {
        throw new ApiKeyNotSetError(
          `the Stripe API key secret ${apiKeySecretId} holds no usable key (${err.message}): put the key first ` +
            '(docs/rotation.md, "Stage a key")',
        );
      }
      throw err;
    }
    // Stripe's own retries (409, 5xx, Stripe-Should-Retry) with idempotency keys: endpoint creation is a write.
    return createStripeClient(apiKey, {
      maxNetworkRetries: 2,
      ...(options.apiBase ? { apiBase: options.apiBase } : {}),
    });
  };
}

/** What a Lambda that manages endpoints is composed with (the rotation's and the custom resource's compose.ts). */
export interface EndpointManagerClients {
  readonly sm: SecretsManagerClient;
  readonly logger: Logger;
  /** Where the Stripe API is (the local Stripe in tests). @default - Stripe's */
  readonly stripeApiBase?: string;
  /** The clock, milliseconds since the epoch. @default Date.now */
  readonly now?: () => number;
}

/** The Stripe client source of an endpoint manager: the API key secret, read on each call. */
export function endpointManagerStripe(clients: EndpointManagerClients, apiKeySecretId: string): () => Promise<Stripe> {
  return stripeFromSecret(clients.sm, apiKeySecretId, clients.stripeApiBase ? { apiBase: clients.stripeApiBase } : {});
}
