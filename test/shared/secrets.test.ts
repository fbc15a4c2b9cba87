/**
 * Reading Stripe secrets at run time (lambdas/shared/secrets.ts): the value formats and their errors, and the Secrets
 * Manager source on the local Secrets Manager stand-in: the cache, the rate-limited `refresh`, and the lazy set-up
 * that is tried again after a failure.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  activeWebhookSecrets,
  lazySecretsManagerSecret,
  parseApiKey,
  parseWebhookSecretDocument,
  SecretFormatError,
  secretsManagerSecret,
} from '../../lambdas/shared/secrets';
import { type SecretsManagerStub, startSecretsManagerStub } from '../../local/secrets-manager';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/stand-ins';

describe('secret value formats', () => {
  it('reads a JSON webhook secret document even with whitespace around it', () => {
    expect(parseWebhookSecretDocument('\n {"secrets":[{"secret":"whsec_a"}]} \n')).toEqual({
      secrets: [{ secret: 'whsec_a' }],
    });
  });

  it('names what is wrong with a webhook secret document', () => {
    const error = (value: string) => {
      try {
        parseWebhookSecretDocument(value);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    expect(error('{oops')).toMatchObject({
      name: 'SecretFormatError',
      message: 'webhook secret value is not valid JSON',
    });
    expect(error('{"secret":"whsec_a"}')).toMatchObject({
      message: 'webhook secret JSON must have a "secrets" array',
    });
    expect(error('{"secrets":[{"secret":"whsec_a"},null]}')).toMatchObject({
      name: 'SecretFormatError',
      message: 'webhook secret entry 1 must have a "secret" string',
    });
    expect(error('{"secrets":["whsec_a"]}')).toBeInstanceOf(SecretFormatError);
  });

  it('counts an entry as expired from the instant of its expiresAt', () => {
    const doc = parseWebhookSecretDocument(
      '{"secrets":[{"secret":"whsec_new"},{"secret":"whsec_old","expiresAt":"2026-11-27T00:00:00Z"}]}',
    );
    expect(activeWebhookSecrets(doc, new Date('2026-11-26T23:59:59.999Z'))).toEqual(['whsec_new', 'whsec_old']);
    expect(activeWebhookSecrets(doc, new Date('2026-11-27T00:00:00Z'))).toEqual(['whsec_new']);
    expect(() => activeWebhookSecrets({ secrets: [] })).toThrow('no active webhook signing secret');
  });

  it('names what is wrong with an API key secret', () => {
    expect(() => parseApiKey('{"apiKey": sk_test_1}')).toThrow(
      new SecretFormatError('API key secret value is not valid JSON'),
    );
    expect(() => parseApiKey('{"apiKey":""}')).toThrow('API key secret JSON must have "apiKey"');
    expect(() => parseApiKey(' \n')).toThrow('API key secret is empty');
  });
});

describe('secretsManagerSecret', () => {
  let stub: SecretsManagerStub;
  let client: SecretsManagerClient;
  beforeEach(async () => {
    stub = await startSecretsManagerStub();
    client = new SecretsManagerClient({
      endpoint: stub.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    stub.setSecret('stripe/api-key', 'sk_test_1');
  });
  afterEach(async () => {
    vi.useRealTimers();
    client.destroy();
    await stub.close();
  });

  const reads = () => stub.calls.GetSecretValue ?? 0;

  it('serves the value from its cache until maxAge, whatever the refresh interval', async () => {
    const source = await secretsManagerSecret('stripe/api-key', {
      maxAgeSeconds: 300,
      minRefreshIntervalMs: 0,
      client,
    });
    expect(await source.get()).toBe('sk_test_1');
    stub.setSecret('stripe/api-key', 'sk_test_2');
    expect(await source.get()).toBe('sk_test_1');
    expect(await source.get({})).toBe('sk_test_1');
    expect(reads()).toBe(1);
  });

  it('reads past the cache on refresh, at most once per 10 s by default', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-27T10:00:00Z'));
    const source = await secretsManagerSecret('stripe/api-key', { maxAgeSeconds: 300, client });
    expect(await source.get()).toBe('sk_test_1');
    stub.setSecret('stripe/api-key', 'sk_test_2');
    expect(await source.get({ refresh: true })).toBe('sk_test_2');
    expect(reads()).toBe(2);

    stub.setSecret('stripe/api-key', 'sk_test_3');
    vi.setSystemTime(new Date('2026-11-27T10:00:09Z'));
    expect(await source.get()).toBe('sk_test_2');
    expect(await source.get({ refresh: true })).toBe('sk_test_2');
    expect(reads()).toBe(2);

    vi.setSystemTime(new Date('2026-11-27T10:00:10Z'));
    expect(await source.get({ refresh: true })).toBe('sk_test_3');
    expect(reads()).toBe(3);
  });

  it('refuses a secret that holds no string value', async () => {
    const binary = mockClient(SecretsManagerClient);
    binary.on(GetSecretValueCommand).resolves({ Name: 'stripe/binary', SecretBinary: new Uint8Array([1, 2, 3]) });
    try {
      const source = await secretsManagerSecret('stripe/binary', {
        maxAgeSeconds: 300,
        client: new SecretsManagerClient({}),
      });
      await expect(source.get()).rejects.toThrow(new SecretFormatError('secret stripe/binary has no string value'));
    } finally {
      binary.restore();
    }
  });
});

describe('lazySecretsManagerSecret', () => {
  afterEach(() => {
    vi.doUnmock('@aws-lambda-powertools/parameters/secrets');
  });

  it('tries the set-up again on the next call after it failed', async () => {
    const stub = await startSecretsManagerStub();
    const client = new SecretsManagerClient({
      endpoint: stub.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      stub.setSecret('stripe/webhook', 'whsec_1');
      const source = lazySecretsManagerSecret('stripe/webhook', { maxAgeSeconds: 300, client });
      vi.doMock('@aws-lambda-powertools/parameters/secrets', () => {
        throw new Error('module failed to load');
      });
      await expect(source.get()).rejects.toThrow();
      vi.doUnmock('@aws-lambda-powertools/parameters/secrets');
      expect(await source.get()).toBe('whsec_1');
    } finally {
      client.destroy();
      await stub.close();
    }
  });
});
