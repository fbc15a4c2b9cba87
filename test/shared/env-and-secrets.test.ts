import { describe, expect, it } from 'vitest';
import { defineEnv, EnvError, parseEnv, placeholderEnv } from '../../lambdas/shared/env';
import {
  activeWebhookSecrets,
  parseApiKey,
  parseWebhookSecretDocument,
  SecretFormatError,
} from '../../lambdas/shared/secrets';
import { stripeConnection, stripeFromSecret } from '../../lambdas/shared/stripe-client';

const schema = defineEnv({
  NAME: { kind: 'string', doc: 'a name' },
  COUNT: { kind: 'int', default: 3, min: 1, max: 10, doc: 'a count' },
  FLAG: { kind: 'bool', default: false, doc: 'a flag' },
  MAYBE: { kind: 'string', optional: true, doc: 'optional' },
});

describe('parseEnv', () => {
  it('applies defaults and converts types', () => {
    expect(parseEnv(schema, { NAME: 'x' })).toEqual({ NAME: 'x', COUNT: 3, FLAG: false });
    expect(parseEnv(schema, { NAME: 'x', COUNT: '7', FLAG: 'true', MAYBE: 'm' })).toEqual({
      NAME: 'x',
      COUNT: 7,
      FLAG: true,
      MAYBE: 'm',
    });
  });

  it('names every bad variable at once', () => {
    expect(() => parseEnv(schema, { COUNT: '11', FLAG: 'yes' })).toThrow(EnvError);
    try {
      parseEnv(schema, { COUNT: '11', FLAG: 'yes' });
    } catch (err) {
      expect((err as Error).message).toMatch(/NAME is required/);
      expect((err as Error).message).toMatch(/COUNT must be <= 10/);
      expect((err as Error).message).toMatch(/FLAG must be true or false/);
    }
  });
});

describe('webhook secret values', () => {
  const now = new Date('2026-11-26T00:00:00Z');

  it('accepts one or several comma-separated secrets', () => {
    expect(activeWebhookSecrets(parseWebhookSecretDocument('whsec_a'), now)).toEqual(['whsec_a']);
    expect(activeWebhookSecrets(parseWebhookSecretDocument(' whsec_a , whsec_b,'), now)).toEqual([
      'whsec_a',
      'whsec_b',
    ]);
  });

  it('keeps only entries that have not expired (the rotation overlap)', () => {
    const doc = parseWebhookSecretDocument(
      JSON.stringify({
        secrets: [
          { secret: 'whsec_new', endpointId: 'we_2' },
          { secret: 'whsec_old', endpointId: 'we_1', expiresAt: '2026-11-27T00:00:00Z' },
          { secret: 'whsec_older', endpointId: 'we_0', expiresAt: '2026-11-25T00:00:00Z' },
        ],
      }),
    );
    expect(activeWebhookSecrets(doc, now)).toEqual(['whsec_new', 'whsec_old']);
    expect(activeWebhookSecrets(doc, new Date('2026-11-28T00:00:00Z'))).toEqual(['whsec_new']);
  });

  it('refuses malformed documents and an empty set', () => {
    expect(() => parseWebhookSecretDocument('{"secrets": 1}')).toThrow(SecretFormatError);
    expect(() => parseWebhookSecretDocument('{"secrets": [{"endpointId": "we_1"}]}')).toThrow(SecretFormatError);
    expect(() => parseWebhookSecretDocument('{oops')).toThrow(SecretFormatError);
    expect(() => activeWebhookSecrets(parseWebhookSecretDocument(''), now)).toThrow(SecretFormatError);
  });
});

describe('API key values', () => {
  it('reads a plain key or the JSON form', () => {
    expect(parseApiKey('sk_test_1\n')).toBe('sk_test_1');
    expect(parseApiKey('{"apiKey":"rk_test_2","staged":"sk_test_3"}')).toBe('rk_test_2');
    expect(() => parseApiKey('{"key":"x"}')).toThrow(SecretFormatError);
    expect(() => parseApiKey('  ')).toThrow(SecretFormatError);
  });
});

describe('stripeConnection', () => {
  it('turns an API base URL into stripe-node host/port/protocol', () => {
    expect(stripeConnection(undefined)).toEqual({});
    expect(stripeConnection('http://127.0.0.1:12111')).toEqual({ host: '127.0.0.1', port: 12111, protocol: 'http' });
    expect(stripeConnection('https://stripe.internal')).toEqual({
      host: 'stripe.internal',
      port: 443,
      protocol: 'https',
    });
    expect(() => stripeConnection('ftp://x')).toThrow(/http/);
  });
});

describe('placeholderEnv', () => {
  it('satisfies the schema it was made from, leaving optional variables unset', () => {
    const env = placeholderEnv(schema);
    expect(env).toEqual({ NAME: 'placeholder-NAME', COUNT: '3', FLAG: 'false' });
    expect(parseEnv(schema, env)).toEqual({ NAME: 'placeholder-NAME', COUNT: 3, FLAG: false });
  });
});

describe('stripeFromSecret', () => {
  it('builds one client per API key and a new one only when the key changes (a rotation)', async () => {
    let value = 'sk_test_one';
    const stripe = stripeFromSecret({ get: async () => value });
    const first = await stripe();
    expect(await stripe()).toBe(first);
    value = '{"apiKey":"sk_test_two"}';
    const second = await stripe();
    expect(second).not.toBe(first);
    expect(await stripe()).toBe(second);
  });
});
