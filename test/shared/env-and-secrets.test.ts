import { describe, expect, it } from 'vitest';
import { defineEnv, EnvError, parseEnv, placeholderEnv } from '../../lambdas/shared/env';
import { sharedEnv } from '../../lambdas/shared/env-specs';
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

/** The EnvError message `parseEnv(schema, source)` throws. */
function envProblem(source: Record<string, string>, of: Parameters<typeof parseEnv>[0] = schema): string {
  try {
    parseEnv(of, source);
  } catch (err) {
    expect(err).toBeInstanceOf(EnvError);
    expect((err as Error).name).toBe('EnvError');
    return (err as Error).message;
  }
  throw new Error('expected an EnvError');
}

describe('parseEnv: each rule, as the cold start reports it', () => {
  it('lists every problem in one message, each with the variable, the rule and the value', () => {
    expect(envProblem({ COUNT: '11', FLAG: 'yes' })).toBe(
      'Invalid environment: NAME is required (a name); COUNT must be <= 10, got 11; FLAG must be true or false, got "yes"',
    );
  });

  it('treats an empty variable as unset: the default applies, a required one is missing', () => {
    expect(envProblem({ NAME: '', COUNT: '' })).toBe('Invalid environment: NAME is required (a name)');
    expect(parseEnv(schema, { NAME: 'n', COUNT: '', FLAG: '' })).toEqual({ NAME: 'n', COUNT: 3, FLAG: false });
  });

  it.each([
    ['2.5', 'COUNT must be an integer, got "2.5"'],
    ['ten', 'COUNT must be an integer, got "ten"'],
    ['0', 'COUNT must be >= 1, got 0'],
    ['11', 'COUNT must be <= 10, got 11'],
  ])('refuses the int %s', (value, problem) => {
    expect(envProblem({ NAME: 'n', COUNT: value })).toBe(`Invalid environment: ${problem}`);
  });

  it('accepts an int at either limit, and any int where no limit is set', () => {
    expect(parseEnv(schema, { NAME: 'n', COUNT: '1' }).COUNT).toBe(1);
    expect(parseEnv(schema, { NAME: 'n', COUNT: '10' }).COUNT).toBe(10);
    const unbounded = defineEnv({ N: { kind: 'int', doc: 'any int' } });
    expect(parseEnv(unbounded, { N: '-5' }).N).toBe(-5);
    expect(parseEnv(unbounded, { N: '5000000' }).N).toBe(5_000_000);
  });

  it.each([
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads the bool %s', (value, expected) => {
    expect(parseEnv(schema, { NAME: 'n', FLAG: value }).FLAG).toBe(expected);
  });

  it('gives a bool without a default the placeholder false, one with a default its default, an int 300', () => {
    const more = defineEnv({
      ON: { kind: 'bool', default: true, doc: 'on' },
      OFF: { kind: 'bool', doc: 'off' },
      N: { kind: 'int', doc: 'n' },
      LOW: { kind: 'int', min: 5, doc: 'low' },
    });
    expect(placeholderEnv(more)).toEqual({ ON: 'true', OFF: 'false', N: '300', LOW: '5' });
  });
});

describe('the shared settings (env-specs)', () => {
  it('default to a 5-minute secret cache, the SQS 256 KiB message and a 24-hour overlap', () => {
    expect(parseEnv(sharedEnv, {})).toEqual({
      SECRET_CACHE_SECONDS: 300,
      MAX_MESSAGE_BYTES: 262_144,
      OVERLAP_HOURS: 24,
    });
  });

  it.each([
    ['SECRET_CACHE_SECONDS', '-1', 'SECRET_CACHE_SECONDS must be >= 0, got -1'],
    ['MAX_MESSAGE_BYTES', '8191', 'MAX_MESSAGE_BYTES must be >= 8192, got 8191'],
    ['MAX_MESSAGE_BYTES', '1048577', 'MAX_MESSAGE_BYTES must be <= 1048576, got 1048577'],
    ['OVERLAP_HOURS', '0', 'OVERLAP_HOURS must be >= 1, got 0'],
    ['OVERLAP_HOURS', '721', 'OVERLAP_HOURS must be <= 720, got 721'],
  ])('refuse %s=%s', (name, value, problem) => {
    expect(envProblem({ [name]: value }, sharedEnv)).toBe(`Invalid environment: ${problem}`);
  });

  it('accept their limits', () => {
    const limits = { SECRET_CACHE_SECONDS: '0', MAX_MESSAGE_BYTES: '1048576', OVERLAP_HOURS: '720' };
    expect(parseEnv(sharedEnv, limits)).toEqual({
      SECRET_CACHE_SECONDS: 0,
      MAX_MESSAGE_BYTES: 1_048_576,
      OVERLAP_HOURS: 720,
    });
    expect(parseEnv(sharedEnv, { MAX_MESSAGE_BYTES: '8192', OVERLAP_HOURS: '1' })).toMatchObject({
      MAX_MESSAGE_BYTES: 8192,
      OVERLAP_HOURS: 1,
    });
  });

  it('each say what they are for (the text a missing variable is reported with)', () => {
    for (const [name, spec] of Object.entries(sharedEnv)) {
      expect(spec.doc.split(' ').length, name).toBeGreaterThan(4);
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
