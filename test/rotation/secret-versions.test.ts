/**
 * Reading a secret's versions and staging labels (lambdas/shared/secret-versions.ts). Secrets Manager's version
 * stages have no local stand-in here, so aws-sdk-client-mock answers as the service does.
 */
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { RotationError, readCurrent, rotationInProgress } from '../../lambdas/shared/secret-versions';

const sm = mockClient(SecretsManagerClient);
afterEach(() => {
  sm.reset();
});
const client = () => new SecretsManagerClient({ region: 'us-east-1' });

describe('readCurrent', () => {
  it('reads the value staged AWSCURRENT with its version id', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'sk_test_1', VersionId: 'v1' });
    expect(await readCurrent(client(), 'stripe/api-key')).toEqual({ value: 'sk_test_1', versionId: 'v1' });
    expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: 'stripe/api-key',
      VersionStage: 'AWSCURRENT',
    });
  });

  it('stops the rotation when the current version has no string value or no version id', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretBinary: new Uint8Array([1]), VersionId: 'v1' })
      .resolvesOnce({ SecretString: 'sk_test_1' });
    for (let i = 0; i < 2; i++) {
      const err = await readCurrent(client(), 'stripe/api-key').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RotationError);
      expect(err).toMatchObject({
        name: 'RotationError',
        message: 'secret stripe/api-key has no current string value',
      });
    }
  });
});

describe('rotationInProgress', () => {
  it('names the version staged AWSPENDING but not AWSCURRENT', async () => {
    sm.on(DescribeSecretCommand).resolves({
      VersionIdsToStages: { v1: ['AWSCURRENT', 'AWSPENDING'], v0: ['AWSPREVIOUS'], v2: ['AWSPENDING'] },
    });
    expect(await rotationInProgress(client(), 'stripe/api-key')).toBe('v2');
  });

  it('finds none when AWSPENDING is on the current version or absent', async () => {
    sm.on(DescribeSecretCommand)
      .resolvesOnce({ VersionIdsToStages: { v1: ['AWSCURRENT', 'AWSPENDING'] } })
      .resolvesOnce({});
    expect(await rotationInProgress(client(), 's')).toBeUndefined();
    expect(await rotationInProgress(client(), 's')).toBeUndefined();
  });
});
