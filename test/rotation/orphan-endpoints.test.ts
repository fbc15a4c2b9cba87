/**
 * Orphan endpoints (issue 10, F9): a rotation that fails or is cancelled after creating its endpoint leaves an
 * endpoint nobody holds the secret of; it collects failed deliveries and counts toward Stripe's 16-endpoint limit.
 * The hourly cleanup deletes every endpoint tagged for this app that no secret entry (current or pending) refers
 * to, once it is older than the grace period, and nothing else.
 */
import { UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import type Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWebhookSecretRotation, type WebhookSecretRotation } from '../../lambdas/rotation/webhook-secret/core';
import { ORPHAN_GRACE_MS } from '../../lambdas/rotation/webhook-secret/orphans';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { stripeFromSecret } from '../../lambdas/shared/stripe-from-api-key-secret';
import { managedMetadata } from '../../lambdas/shared/webhook-endpoints';
import { serializeWebhookSecretDocument } from '../../lambdas/shared/webhook-secret-document';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { FakeSecretsManager } from './fake-secrets-manager';
import { API_KEY, APP, EVENTS, HOUR_MS, testLogger, WEBHOOK_URL } from './helpers';

const API_KEY_ID = `${APP}/stripe-api-key`;
const WEBHOOK_ID = `${APP}/stripe-webhook-secret`;

let server: StripeServer;
let stripe: Stripe;
let fake: FakeSecretsManager;
let clock: number;
let rotation: WebhookSecretRotation;
let current: Stripe.WebhookEndpoint;

beforeEach(async () => {
  server = await startStripeServer();
  stripe = createStripeClient(API_KEY, { apiBase: server.url });
  fake = new FakeSecretsManager();
  fake.createSecret(API_KEY_ID, JSON.stringify({ apiKey: API_KEY }));
  current = await stripe.webhookEndpoints.create({
    url: WEBHOOK_URL,
    enabled_events: ['*'],
    metadata: managedMetadata(APP),
  });
  fake.createSecret(
    WEBHOOK_ID,
    serializeWebhookSecretDocument({ secrets: [{ secret: current.secret!, endpointId: current.id }] }),
  );
  // The local server stamps endpoints with the real time: so does this clock.
  clock = Date.now();
  rotation = createWebhookSecretRotation({
    sm: fake.client,
    stripe: stripeFromSecret(fake.client, API_KEY_ID, { apiBase: server.url }),
    webhookSecretId: WEBHOOK_ID,
    appName: APP,
    defaults: { url: WEBHOOK_URL, enabledEvents: EVENTS },
    overlapMs: 24 * HOUR_MS,
    logger: testLogger(true),
    now: () => clock,
  });
});

afterEach(async () => {
  await server.close();
});

/** A rotation whose createSecret made its endpoint but could not store the pending value, then cancelled. */
async function failedAndCancelledRotation(): Promise<string> {
  fake.failNext('PutSecretValue', new Error('throttled'));
  const run = await fake.rotate(WEBHOOK_ID, (e) => rotation.handle(e));
  expect(run.failedStep).toBe('createSecret');
  // Cancelled as docs/rotation.md says: the AWSPENDING label taken off the unfinished version.
  await fake.client.send(
    new UpdateSecretVersionStageCommand({
      SecretId: WEBHOOK_ID,
      VersionStage: 'AWSPENDING',
      RemoveFromVersionId: run.token,
    }),
  );
  const orphan = server.webhookEndpoints().find((e) => e.id !== current.id);
  expect(orphan?.metadata).toMatchObject(managedMetadata(APP));
  return orphan!.id;
}

describe('the cleanup', () => {
  it("deletes a failed, cancelled rotation's endpoint once it is past the grace period", async () => {
    const orphan = await failedAndCancelledRotation();
    expect((await rotation.cleanup()).orphans).toEqual([]);
    expect(server.webhookEndpoint(orphan)).toBeDefined();

    clock += ORPHAN_GRACE_MS + 60_000;
    expect(await rotation.cleanup()).toEqual({ deleted: [], withoutEndpointId: 0, orphans: [orphan] });
    expect(server.webhookEndpoints().map((e) => e.id)).toEqual([current.id]);
  });

  it("keeps the endpoint a rotation in progress refers to in its pending value, and other apps' and hand-made ones", async () => {
    const stopped = await fake.rotate(WEBHOOK_ID, async (e) => {
      if (e.Step !== 'createSecret') throw new Error('stopped after createSecret');
      return rotation.handle(e);
    });
    expect(stopped.failedStep).toBe('setSecret');
    const pendingEndpoint = server.webhookEndpoints().find((e) => e.id !== current.id)!;
    const otherApp = await stripe.webhookEndpoints.create({
      url: WEBHOOK_URL,
      enabled_events: ['*'],
      metadata: managedMetadata('another-app'),
    });
    const byHand = await stripe.webhookEndpoints.create({ url: WEBHOOK_URL, enabled_events: ['*'] });

    clock += ORPHAN_GRACE_MS + 60_000;
    expect((await rotation.cleanup()).orphans).toEqual([]);
    expect(
      server
        .webhookEndpoints()
        .map((e) => e.id)
        .sort(),
    ).toEqual([current.id, pendingEndpoint.id, otherApp.id, byHand.id].sort());
  });
});
