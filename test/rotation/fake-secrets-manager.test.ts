/**
 * The Secrets Manager fake behaves as the rotation code expects Secrets Manager to (the rotation tests are only as
 * good as it is): versions by ClientRequestToken, staging labels, and the errors the rotation relies on.
 */
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { FakeSecretsManager } from './fake-secrets-manager';

describe('FakeSecretsManager', () => {
  it('gives a rotation an empty AWSPENDING version that has no value until PutSecretValue fills it', async () => {
    const fake = new FakeSecretsManager();
    fake.createSecret('s', 'v1');
    const { VersionId } = await fake.client.send(new RotateSecretCommand({ SecretId: 's', ClientRequestToken: 't1' }));
    expect(VersionId).toBe('t1');
    expect(fake.stages('s').t1).toEqual(['AWSPENDING']);
    await expect(
      fake.client.send(new GetSecretValueCommand({ SecretId: 's', VersionId: 't1', VersionStage: 'AWSPENDING' })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);

    const put = { SecretId: 's', ClientRequestToken: 't1', SecretString: 'v2', VersionStages: ['AWSPENDING'] };
    await fake.client.send(new PutSecretValueCommand(put));
    await fake.client.send(new PutSecretValueCommand(put)); // same token, same value: a no-op
    await expect(fake.client.send(new PutSecretValueCommand({ ...put, SecretString: 'other' }))).rejects.toBeInstanceOf(
      ResourceExistsException,
    );
    expect(fake.valueAt('s', 'AWSPENDING')).toBe('v2');
    expect(fake.valueAt('s')).toBe('v1');
  });

  it('refuses a new rotation while one is unfinished, and allows it once AWSPENDING is removed', async () => {
    const fake = new FakeSecretsManager();
    fake.createSecret('s', 'v1');
    await fake.client.send(new RotateSecretCommand({ SecretId: 's', ClientRequestToken: 't1' }));
    await expect(fake.client.send(new RotateSecretCommand({ SecretId: 's' }))).rejects.toThrow(/isn't complete/);
    await fake.client.send(
      new UpdateSecretVersionStageCommand({ SecretId: 's', VersionStage: 'AWSPENDING', RemoveFromVersionId: 't1' }),
    );
    await expect(fake.client.send(new RotateSecretCommand({ SecretId: 's' }))).resolves.toMatchObject({
      VersionId: expect.any(String),
    });
  });

  it('moves AWSCURRENT only when told where it is, leaving AWSPREVIOUS on the old version', async () => {
    const fake = new FakeSecretsManager();
    fake.createSecret('s', 'v1');
    const old = fake.versionAt('s', 'AWSCURRENT')!;
    await fake.client.send(
      new PutSecretValueCommand({ SecretId: 's', ClientRequestToken: 't2', SecretString: 'v2', VersionStages: ['X'] }),
    );
    await expect(
      fake.client.send(
        new UpdateSecretVersionStageCommand({ SecretId: 's', VersionStage: 'AWSCURRENT', MoveToVersionId: 't2' }),
      ),
    ).rejects.toThrow(/RemoveFromVersionId/);
    await fake.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: 's',
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: 't2',
        RemoveFromVersionId: old,
      }),
    );
    expect(fake.stages('s')).toEqual({ [old]: ['AWSPREVIOUS'], t2: ['AWSCURRENT', 'X'] });
    // A plain PutSecretValue makes a new current version.
    await fake.client.send(new PutSecretValueCommand({ SecretId: 's', SecretString: 'v3' }));
    expect(fake.valueAt('s')).toBe('v3');
    expect(fake.valueAt('s', 'AWSPREVIOUS')).toBe('v2');
  });
});
