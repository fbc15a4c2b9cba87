/**
 * The API key rotation and the stage-api-key script against the local Stripe server (which accepts only the keys a
 * test lists) and the stateful Secrets Manager fake. The property that matters: a key Stripe refuses is never
 * promoted, and the failure is loud (RotationFailed + an error log).
 */
import { UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composeApiKeyRotation } from '../../lambdas/rotation/api-key/compose';
import type { ApiKeyRotation } from '../../lambdas/rotation/api-key/core';
import { parseApiKeyDocument } from '../../lambdas/rotation/api-key/document';
import { apiKeyRotationEnv } from '../../lambdas/rotation/api-key/env';
import { parseEnv } from '../../lambdas/shared/env';
import { parseApiKey } from '../../lambdas/shared/secrets';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { StageError, stageApiKey } from '../../scripts/stage-api-key';
import { FakeSecretsManager } from './fake-secrets-manager';
import { API_KEY, APP, captureOutput, type Output, testLogger, testMetrics } from './helpers';

const SECRET_ID = `${APP}/stripe-api-key`;
const NEW_KEY = 'rk_test_rotationStagedKey0002';
const BAD_KEY = 'sk_test_revokedOrMistyped0003';

let server: StripeServer;
let fake: FakeSecretsManager;
let output: Output;
let restore: () => void;
let rotation: ApiKeyRotation;

beforeEach(async () => {
  ({ output, restore } = captureOutput());
  server = await startStripeServer({ apiKeys: [API_KEY, NEW_KEY] });
  server.setObject({ id: 'balance', object: 'balance', available: [], pending: [], livemode: false });
  fake = new FakeSecretsManager();
  fake.createSecret(SECRET_ID, JSON.stringify({ apiKey: API_KEY }));
  rotation = composeApiKeyRotation(parseEnv(apiKeyRotationEnv, {}), {
    sm: fake.client,
    stripeApiBase: server.url,
    logger: testLogger(),
    metrics: testMetrics(),
  });
});

afterEach(async () => {
  restore();
  await server.close();
});

const invoke = (e: unknown) => rotation.handle(e);
const currentKey = () => parseApiKey(fake.valueAt(SECRET_ID) ?? '');

describe('staging a key', () => {
  it('writes the key under `staged` and leaves the key in use as it is', async () => {
    const at = new Date('2026-11-26T10:00:00.000Z');
    await stageApiKey(fake.client, SECRET_ID, `${NEW_KEY}\n`, at);
    expect(currentKey()).toBe(API_KEY);
    expect(parseApiKeyDocument(fake.valueAt(SECRET_ID)!)).toEqual({
      apiKey: API_KEY,
      staged: { apiKey: NEW_KEY, stagedAt: at.toISOString() },
    });
  });

  it('turns a plain key value into the JSON form, and stages onto the placeholder of a new stack', async () => {
    fake.createSecret(SECRET_ID, API_KEY);
    await stageApiKey(fake.client, SECRET_ID, NEW_KEY);
    expect(parseApiKeyDocument(fake.valueAt(SECRET_ID)!)).toMatchObject({
      apiKey: API_KEY,
      staged: { apiKey: NEW_KEY },
    });

    fake.createSecret(SECRET_ID, JSON.stringify({ apiKey: '', placeholder: 'x9' }));
    await stageApiKey(fake.client, SECRET_ID, NEW_KEY);
    expect(parseApiKeyDocument(fake.valueAt(SECRET_ID)!)).toMatchObject({ apiKey: '', staged: { apiKey: NEW_KEY } });
    expect(() => parseApiKey(fake.valueAt(SECRET_ID)!)).toThrow(); // still unusable until promoted
  });

  it('refuses what is not a secret key, the key in use, and a key of the other mode, changing nothing', async () => {
    const before = fake.valueAt(SECRET_ID);
    await expect(stageApiKey(fake.client, SECRET_ID, 'pk_test_publishableKey0004')).rejects.toThrow(StageError);
    await expect(stageApiKey(fake.client, SECRET_ID, API_KEY)).rejects.toThrow(/already the key in use/);
    await expect(stageApiKey(fake.client, SECRET_ID, 'sk_live_liveModeKey000005')).rejects.toThrow(/live-mode key/);
    expect(fake.valueAt(SECRET_ID)).toBe(before);
    expect(fake.versionCount(SECRET_ID)).toBe(1);
  });
});

describe('rotation', () => {
  it('promotes a staged key Stripe accepts; the processor then reads it and AWSPREVIOUS holds the old one', async () => {
    await stageApiKey(fake.client, SECRET_ID, NEW_KEY);
    const staged = fake.valueAt(SECRET_ID);
    const run = await fake.rotate(SECRET_ID, invoke);
    expect(run.error).toBeUndefined();
    expect(currentKey()).toBe(NEW_KEY);
    expect(parseApiKeyDocument(fake.valueAt(SECRET_ID)!).staged).toBeUndefined();
    expect(fake.valueAt(SECRET_ID, 'AWSPREVIOUS')).toBe(staged);
    expect(server.calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toContain('GET /v1/balance 200');
    expect(output.metrics('RotationFailed')).toEqual([]);
  });

  it('fails clearly without a staged key and changes nothing', async () => {
    const run = await fake.rotate(SECRET_ID, invoke);
    expect(run.failedStep).toBe('createSecret');
    expect(String(run.error)).toMatch(/no staged API key.*stage-api-key/);
    expect(currentKey()).toBe(API_KEY);
    expect(fake.valueAt(SECRET_ID, 'AWSPENDING')).toBeUndefined();
    expect(output.metrics('RotationFailed').map((m) => m.Secret)).toEqual(['api-key']);
  });

  it('never promotes a staged key Stripe refuses: testSecret fails, RotationFailed, an error log without the key', async () => {
    await stageApiKey(fake.client, SECRET_ID, BAD_KEY);
    const run = await fake.rotate(SECRET_ID, invoke);
    expect(run.failedStep).toBe('testSecret');
    expect(String(run.error)).toMatch(/Stripe refused the staged key/);
    expect(currentKey()).toBe(API_KEY);
    expect(fake.versionAt(SECRET_ID, 'AWSCURRENT')).not.toBe(run.token);

    const [metric] = output.metrics('RotationFailed');
    expect(metric?._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'StripeWebhooks', Dimensions: [['Secret']] });
    expect(metric?.Secret).toBe('api-key');
    const errors = output.logs('ERROR');
    expect(errors.map((l) => l.message)).toEqual(['rotation step failed']);
    expect(errors[0]).toMatchObject({ secret: 'api-key', step: 'testSecret', versionId: run.token });
    expect(output.lines.join('\n')).not.toContain(BAD_KEY);
    expect(output.lines.join('\n')).not.toContain(API_KEY);

    // Secrets Manager's own retry of the rotation fails the same way: still never promoted.
    const again = await fake.rotate(SECRET_ID, invoke, { resume: true });
    expect(again.failedStep).toBe('testSecret');
    expect(currentKey()).toBe(API_KEY);
  });

  it('refuses a key of another Stripe account', async () => {
    server.setAccountForKey(NEW_KEY, 'acct_someone_else');
    await stageApiKey(fake.client, SECRET_ID, NEW_KEY);
    const run = await fake.rotate(SECRET_ID, invoke);
    expect(run.failedStep).toBe('testSecret');
    expect(String(run.error)).toMatch(/belongs to account acct_someone_else, the key in use to acct_local/);
    expect(currentKey()).toBe(API_KEY);
  });

  it('refuses a live key for a test-mode deployment even when staged by hand', async () => {
    const liveKey = 'sk_live_handStagedLiveKey06';
    server.setApiKeys([API_KEY, liveKey]);
    fake.createSecret(
      SECRET_ID,
      JSON.stringify({ apiKey: API_KEY, staged: { apiKey: liveKey, stagedAt: '2026-11-26T10:00:00Z' } }),
    );
    const run = await fake.rotate(SECRET_ID, invoke);
    expect(run.failedStep).toBe('testSecret');
    expect(String(run.error)).toMatch(/live-mode key but the key in use is test-mode/);
    expect(currentKey()).toBe(API_KEY);
  });

  it('gives the same result when every step runs twice', async () => {
    await stageApiKey(fake.client, SECRET_ID, NEW_KEY);
    const { token } = await fake.rotate(SECRET_ID, async () => undefined);
    for (const Step of ['createSecret', 'createSecret', 'setSecret', 'setSecret', 'testSecret', 'testSecret']) {
      await invoke({ SecretId: SECRET_ID, ClientRequestToken: token, Step });
    }
    const versions = fake.versionCount(SECRET_ID);
    await invoke({ SecretId: SECRET_ID, ClientRequestToken: token, Step: 'finishSecret' });
    await invoke({ SecretId: SECRET_ID, ClientRequestToken: token, Step: 'finishSecret' });
    expect(currentKey()).toBe(NEW_KEY);
    expect(fake.versionCount(SECRET_ID)).toBe(versions);
    expect(Object.values(fake.stages(SECRET_ID)).filter((s) => s.includes('AWSCURRENT'))).toHaveLength(1);
  });

  it('after a refused key: cancel the rotation (runbook), stage a good key, rotate again', async () => {
    await stageApiKey(fake.client, SECRET_ID, BAD_KEY);
    const failed = await fake.rotate(SECRET_ID, invoke);
    expect(failed.failedStep).toBe('testSecret');
    // A new rotation is refused while the failed one holds AWSPENDING.
    await expect(fake.rotate(SECRET_ID, invoke)).rejects.toThrow(/previous rotation isn't complete/);

    // docs/rotation.md: aws secretsmanager update-secret-version-stage --version-stage AWSPENDING --remove-from-version-id <token>
    await fake.client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: SECRET_ID,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: failed.token,
      }),
    );
    await stageApiKey(fake.client, SECRET_ID, NEW_KEY);
    const run = await fake.rotate(SECRET_ID, invoke);
    expect(run.error).toBeUndefined();
    expect(currentKey()).toBe(NEW_KEY);
  });
});
