/**
 * The Secrets Manager side of a rotation, shared by both rotation Lambdas (lambdas/shared/secret-versions.ts holds
 * what the endpoint custom resource reads too).
 *
 * How Secrets Manager rotates (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html):
 * `RotateSecret` creates an empty version whose id is the ClientRequestToken and labels it AWSPENDING, then invokes
 * the function four times (createSecret, setSecret, testSecret, finishSecret) with that token. Any step may be
 * invoked again after a failure, so each one is written to give the same result when repeated. While an AWSPENDING
 * label sits on a version other than AWSCURRENT, `RotateSecret` refuses to start another rotation.
 */
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  AWSCURRENT,
  AWSPENDING,
  RotationError,
  readCurrent,
  rotationInProgress,
  versionStages,
} from '../shared/secret-versions';

export { AWSCURRENT, AWSPENDING, RotationError, readCurrent, rotationInProgress, versionStages };

/** The four steps Secrets Manager invokes a rotation function with. */
export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
const STEPS: ReadonlySet<string> = new Set(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);

/** The event Secrets Manager invokes a rotation function with. */
export interface RotationEvent {
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly Step: RotationStep;
}

/** Whether `event` is a Secrets Manager rotation invocation. */
export function isRotationEvent(event: unknown): event is RotationEvent {
  const e = event as Partial<Record<keyof RotationEvent, unknown>> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.SecretId === 'string' &&
    typeof e.ClientRequestToken === 'string' &&
    typeof e.Step === 'string' &&
    STEPS.has(e.Step)
  );
}

/** The value of a version (by id and/or stage), or undefined when it has none yet (an empty AWSPENDING version). */
export async function readSecretValue(
  sm: SecretsManagerClient,
  secretId: string,
  which: { versionId?: string; stage?: string },
): Promise<string | undefined> {
  try {
    const out = await sm.send(
      new GetSecretValueCommand({
        SecretId: secretId,
        ...(which.versionId ? { VersionId: which.versionId } : {}),
        ...(which.stage ? { VersionStage: which.stage } : {}),
      }),
    );
    if (out.SecretString === undefined) throw new RotationError(`secret ${secretId} holds binary data, not a string`);
    return out.SecretString;
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return undefined;
    throw err;
  }
}

/** The value the rotation `token` has put as AWSPENDING, or undefined when createSecret has not put it yet. */
export function readPending(sm: SecretsManagerClient, secretId: string, token: string): Promise<string | undefined> {
  return readSecretValue(sm, secretId, { versionId: token, stage: AWSPENDING });
}

/**
 * The pending value testSecret has to test, or undefined when there is nothing to test: the AWSPENDING version is
 * empty or holds the current value. That is what Secrets Manager hands testSecret when it tests a rotation function
 * without rotating (`RotateImmediately: false`, which CloudFormation's rotation schedule uses): on the first deploy
 * the secret holds the stack's placeholder, and no value of a real rotation is ever the current one.
 */
export async function pendingValueToTest(
  sm: SecretsManagerClient,
  secretId: string,
  token: string,
): Promise<string | undefined> {
  const pending = await readPending(sm, secretId, token);
  if (pending === undefined) return undefined;
  return pending === (await readCurrent(sm, secretId)).value ? undefined : pending;
}

/** Stores `value` as the rotation's AWSPENDING version (the version id is the token: a repeat is a no-op). */
export async function putPending(sm: SecretsManagerClient, secretId: string, token: string, value: string) {
  await sm.send(
    new PutSecretValueCommand({
      SecretId: secretId,
      ClientRequestToken: token,
      SecretString: value,
      VersionStages: [AWSPENDING],
    }),
  );
}

/**
 * The common start of every step (as in AWS's rotation templates): the token must be a version of the secret; when
 * it is already AWSCURRENT the rotation is over and the step has nothing to do; otherwise it must be AWSPENDING.
 */
export async function checkRotationVersion(
  sm: SecretsManagerClient,
  secretId: string,
  token: string,
): Promise<'rotate' | 'already_current'> {
  const stages = (await versionStages(sm, secretId))[token];
  if (!stages)
    throw new RotationError(`version ${token} of secret ${secretId} does not exist (no rotation started it)`);
  if (stages.includes(AWSCURRENT)) return 'already_current';
  if (!stages.includes(AWSPENDING)) {
    throw new RotationError(`version ${token} of secret ${secretId} is not AWSPENDING: it is not being rotated`);
  }
  return 'rotate';
}

/** finishSecret: moves AWSCURRENT to the rotation's version (Secrets Manager moves AWSPREVIOUS to the old one). */
export async function promotePending(
  sm: SecretsManagerClient,
  secretId: string,
  token: string,
): Promise<'promoted' | 'already_current'> {
  const stages = await versionStages(sm, secretId);
  const current = Object.entries(stages).find(([, s]) => s.includes(AWSCURRENT))?.[0];
  if (current === token) return 'already_current';
  // Never make an empty version current (a rotation whose createSecret never ran): every reader would fail.
  if ((await readPending(sm, secretId, token)) === undefined) {
    throw new RotationError(`version ${token} of secret ${secretId} has no value: createSecret has not put one`);
  }
  await sm.send(
    new UpdateSecretVersionStageCommand({
      SecretId: secretId,
      VersionStage: AWSCURRENT,
      MoveToVersionId: token,
      ...(current ? { RemoveFromVersionId: current } : {}),
    }),
  );
  return 'promoted';
}
