/**
 * The ingress's signing-secret source (aws-json-secret.ts) against the local Secrets Manager, which checks every
 * signature: the value is reused for maxAgeSeconds, `refresh` bypasses the cache at most once per interval,
 * concurrent callers share one fetch, and a failed fetch is not kept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsJsonClient } from '../../lambdas/shared/aws-json';
import { awsJsonSecret } from '../../lambdas/shared/aws-json-secret';
import { SecretFormatError } from '../../lambdas/shared/secrets';
import { type SecretsManagerStub, startSecretsManagerStub } from '../../local/secrets-manager';
import { LOCAL_CREDENTIALS } from '../../local/stand-ins';

let sm: SecretsManagerStub;
beforeAll(async () => {
  sm = await startSecretsManagerStub();
});
afterAll(async () => {
  await sm.close();
});

function source(id: string, clock: { t: number }, extra: { minRefreshIntervalMs?: number } = {}) {
  const client = awsJsonClient({
    service: 'secretsmanager',
    region: 'us-east-1',
    endpoint: sm.endpoint,
    credentials: () => LOCAL_CREDENTIALS,
    sleep: async () => undefined,
  });
  return awsJsonSecret(id, { client, maxAgeSeconds: 300, now: () => clock.t, ...extra });
}
const calls = () => sm.calls.GetSecretValue ?? 0;

describe('awsJsonSecret', () => {
  it('reuses the value for maxAgeSeconds, then reads the rotated one', async () => {
    const clock = { t: 1_000_000 };
    sm.setSecret('ttl', 'whsec_a');
    const secret = source('ttl', clock);
    const before = calls();
    expect(await secret.get()).toBe('whsec_a');
    sm.setSecret('ttl', 'whsec_b');
    clock.t += 299_999;
    expect(await secret.get()).toBe('whsec_a');
    expect(calls()).toBe(before + 1);
    clock.t += 1;
    expect(await secret.get()).toBe('whsec_b');
    expect(calls()).toBe(before + 2);
  });

  it('refreshes past the cache at most once per interval, so forged requests cannot flood Secrets Manager', async () => {
    const clock = { t: 2_000_000 };
    sm.setSecret('forced', 'whsec_1');
    const secret = source('forced', clock, { minRefreshIntervalMs: 10_000 });
    await secret.get();
    sm.setSecret('forced', 'whsec_2');
    const before = calls();
    expect(await secret.get({ refresh: true })).toBe('whsec_2');
    sm.setSecret('forced', 'whsec_3');
    for (let i = 0; i < 20; i++) expect(await secret.get({ refresh: true })).toBe('whsec_2');
    expect(calls()).toBe(before + 1);
    clock.t += 10_000;
    expect(await secret.get({ refresh: true })).toBe('whsec_3');
    expect(calls()).toBe(before + 2);
  });

  it('lets concurrent first requests share one GetSecretValue', async () => {
    sm.setSecret('burst', 'whsec_burst');
    const secret = source('burst', { t: 3_000_000 });
    const before = calls();
    const values = await Promise.all(Array.from({ length: 20 }, () => secret.get()));
    expect(new Set(values)).toEqual(new Set(['whsec_burst']));
    expect(calls()).toBe(before + 1);
  });

  it('does not keep a failure: the next call reads again', async () => {
    const secret = source('later', { t: 4_000_000 });
    await expect(secret.get()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    sm.setSecret('later', 'whsec_later');
    expect(await secret.get()).toBe('whsec_later');
  });

  it('refreshes at most once per 10 s when no interval is given', async () => {
    const clock = { t: 3_000_000 };
    sm.setSecret('default-interval', 'whsec_1');
    const secret = source('default-interval', clock);
    await secret.get();
    sm.setSecret('default-interval', 'whsec_2');
    expect(await secret.get({ refresh: true })).toBe('whsec_2');
    sm.setSecret('default-interval', 'whsec_3');
    clock.t += 9_999;
    expect(await secret.get({ refresh: true })).toBe('whsec_2');
    clock.t += 1;
    expect(await secret.get({ refresh: true })).toBe('whsec_3');
  });

  it('refuses a secret that holds no string value, and keeps nothing of it', async () => {
    let answers = 0;
    const binaryOnly = { call: async () => ({ Name: 'bin', SecretBinary: 'AQID' }) } as never;
    const secret = awsJsonSecret('bin', { client: binaryOnly, maxAgeSeconds: 300, now: () => answers++ });
    await expect(secret.get()).rejects.toThrow(new SecretFormatError('secret bin has no string value'));
    await expect(secret.get()).rejects.toBeInstanceOf(SecretFormatError);
  });
});
