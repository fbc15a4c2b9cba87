/**
 * The webhook signing secret rotation against the local Stripe server and the stateful Secrets Manager fake: every
 * step, each step repeated, Stripe failing, and the cleanup that deletes the old endpoint after the overlap.
 */
import type Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composeWebhookSecretRotation } from '../../lambdas/rotation/webhook-secret/compose';
import type { WebhookSecretRotation } from '../../lambdas/rotation/webhook-secret/core';
import { webhookSecretRotationEnv } from '../../lambdas/rotation/webhook-secret/env';
import { parseEnv } from '../../lambdas/shared/env';
import { activeWebhookSecrets, parseWebhookSecretDocument } from '../../lambdas/shared/secrets';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { managedMetadata, ROTATION_TOKEN_KEY } from '../../lambdas/shared/webhook-endpoints';
import { serializeWebhookSecretDocument } from '../../lambdas/shared/webhook-secret-document';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { FakeSecretsManager } from './fake-secrets-manager';
import {
  API_KEY,
  APP,
  captureOutput,
  EVENTS,
  HOUR_MS,
  type Output,
  T0,
  testLogger,
  testMetrics,
  WEBHOOK_URL,
} from './helpers';

const API_KEY_ID = `${APP}/stripe-api-key`;
const WEBHOOK_ID = `${APP}/stripe-webhook-secret`;
const API_VERSION = '2025-09-30.clover';

let server: StripeServer;
let stripe: Stripe;
let fake: FakeSecretsManager;
let output: Output;
let restore: () => void;
let clock: number;
let rotation: WebhookSecretRotation;
let original: Stripe.WebhookEndpoint & { secret: string };

/** The rotation as the Lambda builds it, over the fake and the local Stripe server. */
function buildRotation(): WebhookSecretRotation {
  const env = parseEnv(webhookSecretRotationEnv, {
    WEBHOOK_SECRET_ID: WEBHOOK_ID,
    API_KEY_SECRET_ID: API_KEY_ID,
    APP_NAME: APP,
    WEBHOOK_URL,
    EVENT_TYPES: EVENTS.join(','),
    ENDPOINT_DESCRIPTION: 'from config',
    OVERLAP_HOURS: '24',
  });
  return composeWebhookSecretRotation(env, {
    sm: fake.client,
    stripeApiBase: server.url,
    logger: testLogger(),
    metrics: testMetrics(),
    now: () => clock,
  });
}

beforeEach(async () => {
  ({ output, restore } = captureOutput());
  server = await startStripeServer();
  stripe = createStripeClient(API_KEY, { apiBase: server.url });
  fake = new FakeSecretsManager();
  fake.createSecret(API_KEY_ID, JSON.stringify({ apiKey: API_KEY }));
  // The endpoint as the custom resource leaves it: managed, its secret the only entry.
  original = (await stripe.webhookEndpoints.create({
    url: WEBHOOK_URL,
    enabled_events: EVENTS as Stripe.WebhookEndpointCreateParams.EnabledEvent[],
    api_version: API_VERSION,
    description: 'Stripe webhooks (rotation-test)',
    metadata: managedMetadata(APP),
  })) as Stripe.WebhookEndpoint & { secret: string };
  fake.createSecret(
    WEBHOOK_ID,
    serializeWebhookSecretDocument({ secrets: [{ secret: original.secret, endpointId: original.id }] }),
  );
  clock = T0;
  rotation = buildRotation();
});

afterEach(async () => {
  restore();
  await server.close();
});

function currentDoc() {
  return parseWebhookSecretDocument(fake.valueAt(WEBHOOK_ID) ?? '');
}

describe('a full rotation', () => {
  it('creates a new endpoint like the old one and makes its secret current, the old one expiring after the overlap', async () => {
    const previousValue = fake.valueAt(WEBHOOK_ID);
    const run = await fake.rotate(WEBHOOK_ID, (e) => rotation.handle(e));
    expect(run.error).toBeUndefined();

    const endpoints = server.webhookEndpoints();
    expect(endpoints).toHaveLength(2);
    const created = endpoints.find((e) => e.id !== original.id)!;
    expect(created).toMatchObject({
      url: WEBHOOK_URL,
      enabled_events: EVENTS,
      api_version: API_VERSION,
      description: 'Stripe webhooks (rotation-test)',
      status: 'enabled',
      metadata: { ...managedMetadata(APP), [ROTATION_TOKEN_KEY]: run.token },
    });

    expect(currentDoc().secrets).toEqual([
      { secret: created.secret, endpointId: created.id },
      { secret: original.secret, endpointId: original.id, expiresAt: new Date(T0 + 24 * HOUR_MS).toISOString() },
    ]);
    expect(fake.versionAt(WEBHOOK_ID, 'AWSCURRENT')).toBe(run.token);
    expect(fake.valueAt(WEBHOOK_ID, 'AWSPREVIOUS')).toBe(previousValue);
    // Both secrets verify during the overlap, only the new one after it.
    expect(activeWebhookSecrets(currentDoc(), new Date(T0 + HOUR_MS))).toEqual([created.secret, original.secret]);
    expect(activeWebhookSecrets(currentDoc(), new Date(T0 + 25 * HOUR_MS))).toEqual([created.secret]);
    expect(output.metrics('RotationFailed')).toEqual([]);
  });

  it('gives the same result when every step runs twice', async () => {
    const token = (await fake.rotate(WEBHOOK_ID, async () => undefined)).token; // only RotateSecret
    const event = (Step: string) => ({ SecretId: WEBHOOK_ID, ClientRequestToken: token, Step });

    await rotation.handle(event('createSecret'));
    const pending = fake.valueAt(WEBHOOK_ID, 'AWSPENDING');
    await rotation.handle(event('createSecret'));
    expect(fake.valueAt(WEBHOOK_ID, 'AWSPENDING')).toBe(pending);
    expect(server.webhookEndpoints()).toHaveLength(2);

    for (const step of ['setSecret', 'setSecret', 'testSecret', 'testSecret', 'finishSecret', 'finishSecret']) {
      await rotation.handle(event(step));
    }
    expect(fake.versionAt(WEBHOOK_ID, 'AWSCURRENT')).toBe(token);
    expect(fake.valueAt(WEBHOOK_ID)).toBe(pending);
    expect(server.webhookEndpoints()).toHaveLength(2);
    // A step invoked again after the rotation finished finds the version current and does nothing.
    await rotation.handle(event('createSecret'));
    expect(server.webhookEndpoints()).toHaveLength(2);
  });

  it('recovers the same endpoint and secret when createSecret failed after Stripe created the endpoint', async () => {
    fake.failNext('PutSecretValue', new Error('throttled'));
    const failed = await fake.rotate(WEBHOOK_ID, (e) => rotation.handle(e));
    expect(failed.failedStep).toBe('createSecret');
    expect(server.webhookEndpoints()).toHaveLength(2);
    const lost = server.webhookEndpoints().find((e) => e.id !== original.id)!;

    const resumed = await fake.rotate(WEBHOOK_ID, (e) => rotation.handle(e), { resume: true });
    expect(resumed).toEqual({ token: failed.token });
    // Stripe replayed the create (same idempotency key): still one new endpoint, and its secret is the one stored.
    expect(server.webhookEndpoints()).toHaveLength(2);
    expect(currentDoc().secrets[0]).toEqual({ secret: lost.secret, endpointId: lost.id });
  });

  it('deletes an endpoint an earlier attempt of the same rotation created but could not record', async () => {
    const token = (await fake.rotate(WEBHOOK_ID, async () => undefined)).token;
    // As if created more than 24 h ago (Stripe's idempotency window is over): same token, unknown secret.
    const stray = await stripe.webhookEndpoints.create({
      url: WEBHOOK_URL,
      enabled_events: ['*'],
      metadata: managedMetadata(APP, { [ROTATION_TOKEN_KEY]: token }),
    });
    await rotation.createSecret(WEBHOOK_ID, token);
    expect(server.webhookEndpoint(stray.id)).toBeUndefined();
    const pendingFirst = parseWebhookSecretDocument(fake.valueAt(WEBHOOK_ID, 'AWSPENDING')!).secrets[0]!;
    expect(server.webhookEndpoint(pendingFirst.endpointId!)?.secret).toBe(pendingFirst.secret);
    expect(server.webhookEndpoints().map((e) => e.id)).toEqual([original.id, pendingFirst.endpointId]);
  });
});

describe('failures', () => {
  it('Stripe down in createSecret: nothing pending, the current value untouched, RotationFailed; a retry completes', async () => {
    const before = fake.valueAt(WEBHOOK_ID);
    server.inject({
      kind: 'server_error',
      status: 503,
      times: 10,
      match: { method: 'POST', path: '/v1/webhook_endpoints' },
    });
    const run = await fake.rotate(WEBHOOK_ID, (e) => rotation.handle(e));
    expect(run.failedStep).toBe('createSecret');
    expect(fake.valueAt(WEBHOOK_ID)).toBe(before);
    expect(fake.valueAt(WEBHOOK_ID, 'AWSPENDING')).toBeUndefined();
    expect(server.webhookEndpoints()).toHaveLength(1);

    const [metric] = output.metrics('RotationFailed');
    expect(metric?._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'StripeWebhooks', Dimensions: [['Secret']] });
    expect(metric?.Secret).toBe('webhook');
    expect(output.logs('ERROR').map((l) => l.message)).toContain('rotation step failed');

    server.clearFaults();
    // Secrets Manager reattempts the unfinished rotation with the same token.
    const resumed = await fake.rotate(WEBHOOK_ID, (e) => rotation.handle(e), { resume: true });
    expect(resumed.error).toBeUndefined();
    expect(fake.versionAt(WEBHOOK_ID, 'AWSCURRENT')).toBe(run.token);
  });

  it('a pending endpoint that is disabled fails testSecret and is never promoted', async () => {
    const token = (await fake.rotate(WEBHOOK_ID, async () => undefined)).token;
    await rotation.createSecret(WEBHOOK_ID, token);
    const newId = parseWebhookSecretDocument(fake.valueAt(WEBHOOK_ID, 'AWSPENDING')!).secrets[0]!.endpointId!;
    await stripe.webhookEndpoints.update(newId, { disabled: true });
    const before = fake.valueAt(WEBHOOK_ID);

    const run = await fake.rotate(WEBHOOK_ID, (e) => rotation.handle(e), { resume: true });
    expect(run.failedStep).toBe('testSecret');
    expect(String(run.error)).toMatch(/disabled, not enabled/);
    expect(fake.valueAt(WEBHOOK_ID)).toBe(before);
    expect(fake.versionAt(WEBHOOK_ID, 'AWSCURRENT')).not.toBe(token);
    expect(output.metrics('RotationFailed')).toHaveLength(1);
  });

  it('a pending endpoint that was deleted fails testSecret', async () => {
    const token = (await fake.rotate(WEBHOOK_ID, async () => undefined)).token;
    await rotation.createSecret(WEBHOOK_ID, token);
    const newId = parseWebhookSecretDocument(fake.valueAt(WEBHOOK_ID, 'AWSPENDING')!).secrets[0]!.endpointId!;
    await stripe.webhookEndpoints.del(newId);
    await expect(rotation.testSecret(WEBHOOK_ID, token)).rejects.toThrow(/does not exist in Stripe/);
  });

  it('refuses an event that is neither a rotation step nor the cleanup', async () => {
    await expect(rotation.handle({ Step: 'dropTables' })).rejects.toThrow(/unsupported event/);
  });
});

describe('secrets without an endpoint id (made by hand for a Dashboard endpoint)', () => {
  it('creates the new endpoint from the configured URL and events, and keeps the hand-made secret for the overlap', async () => {
    fake.createSecret(WEBHOOK_ID, 'whsec_handmade_dashboard_secret');
    const run = await fake.rotate(WEBHOOK_ID, (e) => rotation.handle(e));
    expect(run.error).toBeUndefined();
    const [newest, old] = currentDoc().secrets;
    expect(server.webhookEndpoint(newest!.endpointId!)).toMatchObject({
      url: WEBHOOK_URL,
      enabled_events: EVENTS,
      description: 'from config',
      api_version: null,
    });
    expect(old).toEqual({
      secret: 'whsec_handmade_dashboard_secret',
      expiresAt: new Date(T0 + 24 * HOUR_MS).toISOString(),
    });
  });
});

describe('after the overlap', () => {
  it('the hourly cleanup deletes the old endpoint, leaves the secret as it is, and can run again', async () => {
    await fake.rotate(WEBHOOK_ID, (e) => rotation.handle(e));
    const value = fake.valueAt(WEBHOOK_ID);
    const newId = currentDoc().secrets[0]!.endpointId!;

    clock = T0 + 23 * HOUR_MS;
    expect(await rotation.handle({ action: 'cleanup' })).toEqual({ deleted: [], withoutEndpointId: 0, orphans: [] });
    expect(server.webhookEndpoint(original.id)).toBeDefined();

    clock = T0 + 25 * HOUR_MS;
    expect(await rotation.handle({ action: 'cleanup' })).toEqual({
      deleted: [original.id],
      withoutEndpointId: 0,
      orphans: [],
    });
    expect(server.webhookEndpoint(original.id)).toBeUndefined();
    expect(server.webhookEndpoint(newId)?.status).toBe('enabled');
    expect(fake.valueAt(WEBHOOK_ID)).toBe(value);

    server.resetCalls();
    expect(await rotation.handle({ action: 'cleanup' })).toEqual({ deleted: [], withoutEndpointId: 0, orphans: [] });
    expect(server.calls.filter((c) => c.method === 'DELETE')).toEqual([]);
  });

  it('the cleanup warns about an expired entry it cannot delete (no endpoint id), and fails loudly when Stripe is down', async () => {
    fake.createSecret(WEBHOOK_ID, 'whsec_handmade_dashboard_secret');
    await fake.rotate(WEBHOOK_ID, (e) => rotation.handle(e));
    clock = T0 + 25 * HOUR_MS;
    expect(await rotation.handle({ action: 'cleanup' })).toEqual({ deleted: [], withoutEndpointId: 1, orphans: [] });
    expect(output.logs('WARN').map((l) => l.message)).toContain(
      'expired webhook secret entries without an endpointId: delete their endpoints in the Stripe Dashboard',
    );

    // The original endpoint is not in the secret any more; a secret that names an expired endpoint is.
    fake.createSecret(
      WEBHOOK_ID,
      serializeWebhookSecretDocument({
        secrets: [
          { secret: 'whsec_new', endpointId: 'we_new' },
          { secret: original.secret, endpointId: original.id, expiresAt: new Date(T0).toISOString() },
        ],
      }),
    );
    server.inject({ kind: 'server_error', times: 10, match: { method: 'GET', path: '/v1/webhook_endpoints' } });
    await expect(rotation.handle({ action: 'cleanup' })).rejects.toThrow();
    expect(output.metrics('RotationFailed').map((m) => m.Secret)).toEqual(['webhook']);
    expect(server.webhookEndpoint(original.id)).toBeDefined();
  });

  it('the next rotation drops expired entries and deletes their endpoints', async () => {
    await fake.rotate(WEBHOOK_ID, (e) => rotation.handle(e));
    const second = currentDoc().secrets[0]!;
    clock = T0 + 90 * 24 * HOUR_MS;
    const run = await fake.rotate(WEBHOOK_ID, (e) => rotation.handle(e));
    expect(run.error).toBeUndefined();
    const secrets = currentDoc().secrets;
    expect(secrets.map((e) => e.endpointId)).toEqual([expect.any(String), second.endpointId]);
    expect(secrets[1]?.expiresAt).toBe(new Date(clock + 24 * HOUR_MS).toISOString());
    expect(server.webhookEndpoint(original.id)).toBeUndefined();
    expect(server.webhookEndpoints()).toHaveLength(2);
  });
});
