/**
 * Reading a Secrets Manager secret's versions and staging labels: what the rotation Lambdas and the webhook endpoint
 * custom resource (which must not write a secret while a rotation of it is under way) both need.
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';

/** A rotation that must stop, with a message for the operator (logged, and the step fails). */
export class RotationError extends Error {
  override name = 'RotationError';
}

/** The AWSCURRENT value and its version id. */
export async function readCurrent(
  sm: SecretsManagerClient,
  secretId: string,
): Promise<{ value: string; versionId: string }> {
  const out = await sm.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: AWSCURRENT }));
  if (out.SecretString === undefined || out.VersionId === undefined) {
    throw new RotationError(`secret ${secretId} has no current string value`);
  }
  return { value: out.SecretString, versionId: out.VersionId };
}

/** Each version id with its staging labels. */
export async function versionStages(
  sm: SecretsManagerClient,
  secretId: string,
): Promise<Record<string, readonly string[]>> {
  const out = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
  return out.VersionIdsToStages ?? {};
}

/** Whether a rotation has started and not finished (an AWSPENDING label on a version other than AWSCURRENT). */
export async function rotationInProgress(sm: SecretsManagerClient, secretId: string): Promise<string | undefined> {
  for (const [versionId, stages] of Object.entries(await versionStages(sm, secretId))) {
    if (stages.includes(AWSPENDING) && !stages.includes(AWSCURRENT)) return versionId;
  }
  return undefined;
}
