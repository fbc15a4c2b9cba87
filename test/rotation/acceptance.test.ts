/**
 * The acceptance test of the webhook secret rotation, end to end on one machine: the custom resource creates the
 * endpoint, the ingress (its real core, reading the secret through the same Powertools cache and parse functions as
 * in Lambda, from the Secrets Manager fake) accepts Stripe's deliveries, the rotation runs, and then:
 *
 * - during the overlap, an event signed with the old endpoint's secret and one signed with the new one are both
 *   accepted (the ingress picks the new secret up without a deploy: it refreshes once on a bad signature);
 * - after the overlap, only the new one is; and the old endpoint is deleted by the cleanup.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngress, type Ingress } from '../../lambdas/ingress/core';
import { createWebhookSecretRotation, type WebhookSecretRotation } from '../../lambdas/rotation/webhook-secret/core';
import { secretsManagerSecret } from '../../lambdas/shared/secrets';
import { stripeFromSecret } from '../../lambdas/shared/stripe-from-api-key-secret';
import { createWebhookEndpointResource } from '../../lambdas/webhook-endpoint/core';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { type LocalSqs, paymentIntentEvent, signedWebhook, startLocalSqs } from '../ingress/helpers';
import { FakeSecretsManager } from './fake-secrets-manager';
import { API_KEY, APP, EVENTS, HOUR_MS, T0, testLogger, WEBHOOK_URL } from './helpers';

const API_KEY_ID = `${APP}/stripe-api-key`;
const WEBHOOK_ID = `${APP}/stripe-webhook-secret`;

let server: StripeServer;
let sqs: LocalSqs;
let queueUrl: string;
let fake: FakeSecretsManager;
let ingress: Ingress;
let rotation: WebhookSecretRotation;
/** One clock for every component, milliseconds. */
let clock = T0;

beforeAll(async () => {
  server = await startStripeServer();
  sqs = await startLocalSqs();
  queueUrl = await sqs.freshFifoQueue();
  fake = new FakeSecretsManager();
  fake.createSecret(API_KEY_ID, JSON.stringify({ apiKey: API_KEY }));
  fake.createSecret(WEBHOOK_ID, JSON.stringify({ secrets: [], placeholder: 'cGxhY2Vob2xkZXI' }));
  const stripe = stripeFromSecret(fake.client, API_KEY_ID, { apiBase: server.url });
  const shared = { sm: fake.client, stripe, webhookSecretId: WEBHOOK_ID, appName: APP, overlapMs: 24 * HOUR_MS };

  // Deploy: the custom resource creates the endpoint and stores its secret.
  const resource = createWebhookEndpointResource({ ...shared, logger: testLogger(true), now: () => clock });
  await resource.handle({
    RequestType: 'Create',
    ServiceToken: 'arn:x',
    ResponseURL: 'http://127.0.0.1:1/unused',
    StackId: 'stack',
    RequestId: 'create-1',
    LogicalResourceId: 'WebhookEndpoint',
    ResourceType: 'Custom::StripeWebhookEndpoint',
    ResourceProperties: { ServiceToken: 'arn:x', Url: WEBHOOK_URL, EnabledEvents: EVENTS },
  });

  rotation = createWebhookSecretRotation({
    ...shared,
    defaults: { url: WEBHOOK_URL, enabledEvents: EVENTS },
    logger: testLogger(true),
    now: () => clock,
  });

  ingress = createIngress({
    sqs: sqs.queue,
    queueUrl,
    // As in the Lambda: Powertools' cache (5 minutes) over GetSecretValue, parsed by the ingress on every request.
    webhookSecrets: await secretsManagerSecret(WEBHOOK_ID, { maxAgeSeconds: 300, client: fake.client }),
    toleranceSeconds: 300,
    maxBodyBytes: 1_048_576,
    maxMessageBytes: 262_144,
    logger: new Logger({ serviceName: 'acceptance', logLevel: 'SILENT' }),
    now: () => clock,
  });
});

afterAll(async () => {
  await sqs.close();
  await server.close();
});

/** Delivers an event the way Stripe does for `endpointId`: signed with that endpoint's secret, at the current time. */
async function deliver(endpointId: string, eventId: string): Promise<number> {
  const endpoint = server.webhookEndpoint(endpointId);
  if (!endpoint) throw new Error(`endpoint ${endpointId} does not exist: Stripe would not deliver`);
  const event = {
    ...paymentIntentEvent({ id: eventId, objectId: `pi_${eventId}` }),
    created: Math.floor(clock / 1000),
  };
  const response = await ingress.handleHttp(
    signedWebhook(event, { secret: endpoint.secret, timestamp: Math.floor(clock / 1000) }),
  );
  return response.statusCode ?? 0;
}

describe('webhook secret rotation, end to end', () => {
  it('accepts old- and new-secret deliveries during the overlap, only new ones after, and deletes the old endpoint', async () => {
    const [oldEndpoint] = server.webhookEndpoints();
    expect(await deliver(oldEndpoint!.id, 'evt_before_rotation')).toBe(200);

    const run = await fake.rotate(WEBHOOK_ID, (e) => rotation.handle(e));
    expect(run.error).toBeUndefined();
    const newEndpoint = server.webhookEndpoints().find((e) => e.id !== oldEndpoint!.id)!;
    expect(newEndpoint).toMatchObject({ url: WEBHOOK_URL, enabled_events: EVENTS, status: 'enabled' });

    // During the overlap: Stripe delivers through both endpoints, each signed with its own secret.
    clock = T0 + 1 * HOUR_MS;
    expect(await deliver(newEndpoint.id, 'evt_overlap_new')).toBe(200);
    expect(await deliver(oldEndpoint!.id, 'evt_overlap_old')).toBe(200);
    clock = T0 + 23 * HOUR_MS;
    expect(await deliver(oldEndpoint!.id, 'evt_overlap_old_late')).toBe(200);

    // After the overlap: the old secret has expired.
    clock = T0 + 25 * HOUR_MS;
    expect(await deliver(oldEndpoint!.id, 'evt_after_old')).toBe(400);
    expect(await deliver(newEndpoint.id, 'evt_after_new')).toBe(200);

    // The old endpoint is deleted: Stripe stops delivering through it.
    expect(await rotation.handle({ action: 'cleanup' })).toEqual({
      deleted: [oldEndpoint!.id],
      withoutEndpointId: 0,
      orphans: [],
    });
    expect(server.webhookEndpoint(oldEndpoint!.id)).toBeUndefined();
    expect(server.webhookEndpoints().map((e) => e.id)).toEqual([newEndpoint.id]);

    // Exactly the accepted deliveries reached the queue.
    const queued = (await sqs.drain(queueUrl)).map((m) => m.MessageAttributes?.eventId?.StringValue).sort();
    expect(queued).toEqual(
      ['evt_before_rotation', 'evt_overlap_new', 'evt_overlap_old', 'evt_overlap_old_late', 'evt_after_new'].sort(),
    );
  });
});
