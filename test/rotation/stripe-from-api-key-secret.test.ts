/**
 * The Stripe client of the Lambdas that manage endpoints (lambdas/shared/stripe-from-api-key-secret.ts): read from the
 * API key secret on every call, and a clear error naming the fix while the secret holds no key. Secrets Manager is
 * answered by aws-sdk-client-mock, as in the rest of the rotation tests.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiKeyNotSetError, stripeFromSecret } from '../../lambdas/shared/stripe-from-api-key-secret';

const sm = mockClient(SecretsManagerClient);
afterEach(() => {
  sm.reset();
});

describe('stripeFromSecret (endpoint managers)', () => {
  it('tells the operator to put the key first while the secret holds none', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretBinary: new Uint8Array([1]) })
      .resolvesOnce({ SecretString: '{}' });
    const getStripe = stripeFromSecret(new SecretsManagerClient({ region: 'us-east-1' }), 'stripe/api-key');
    const empty = await getStripe().catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(ApiKeyNotSetError);
    expect(empty).toMatchObject({
      name: 'ApiKeyNotSetError',
      message:
        'the Stripe API key secret stripe/api-key holds no usable key (API key secret is empty): put the key first ' +
        '(docs/rotation.md, "Stage a key")',
    });
    await expect(getStripe()).rejects.toThrow('holds no usable key (API key secret JSON must have "apiKey")');
  });
});
