/**
 * The webhook endpoint custom resource against the local Stripe server and the Secrets Manager fake: Create, Update
 * (no-op, in place, new URL), Delete, and running Create again, each request sent through aws-cdk-lib's Provider
 * framework (its real runtime), with the answer CloudFormation receives.
 */
import { randomUUID } from 'node:crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWebhookSecretRotation } from '../../lambdas/rotation/webhook-secret/core';
import { parseEnv } from '../../lambdas/shared/env';
import { activeWebhookSecrets, parseWebhookSecretDocument } from '../../lambdas/shared/secrets';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { stripeFromSecret } from '../../lambdas/shared/stripe-from-api-key-secret';
import { managedMetadata } from '../../lambdas/shared/webhook-endpoints';
import { serializeWebhookSecretDocument } from '../../lambdas/shared/webhook-secret-document';
import { composeWebhookEndpointResource } from '../../lambdas/webhook-endpoint/compose';
import { RESOURCE_TYPE, type WebhookEndpointResource } from '../../lambdas/webhook-endpoint/core';
import { webhookEndpointEnv } from '../../lambdas/webhook-endpoint/env';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { FakeSecretsManager } from '../rotation/fake-secrets-manager';
import { API_KEY, APP, EVENTS, HOUR_MS, T0, testLogger, WEBHOOK_URL } from '../rotation/helpers';
import {
  type CfnAnswer,
  CREATE_FAILED_MARKER,
  loadProviderFramework,
  type ProviderFramework,
} from './provider-framework';

const API_KEY_ID = `${APP}/stripe-api-key`;
const WEBHOOK_ID = `${APP}/stripe-webhook-secret`;
/** What the stack creates: a placeholder the ingress refuses. */
const PLACEHOLDER = JSON.stringify({ secrets: [], placeholder: 'Zm9vYmFy' });
const PROPS = { Url: WEBHOOK_URL, EnabledEvents: EVENTS, ApiVersion: '2025-09-30.clover', Description: 'demo' };

let server: StripeServer;
let stripe: Stripe;
let fake: FakeSecretsManager;
let clock: number;
let resource: WebhookEndpointResource;
let framework: ProviderFramework;

beforeEach(async () => {
  server = await startStripeServer();
  stripe = createStripeClient(API_KEY, { apiBase: server.url });
  fake = new FakeSecretsManager();
  fake.createSecret(API_KEY_ID, JSON.stringify({ apiKey: API_KEY }));
  fake.createSecret(WEBHOOK_ID, PLACEHOLDER);
  clock = T0;
  const env = parseEnv(webhookEndpointEnv, {
    WEBHOOK_SECRET_ID: WEBHOOK_ID,
    API_KEY_SECRET_ID: API_KEY_ID,
    APP_NAME: APP,
    OVERLAP_HOURS: '24',
  });
  resource = composeWebhookEndpointResource(env, {
    sm: fake.client,
    stripeApiBase: server.url,
    logger: testLogger(true),
    now: () => clock,
  });
  framework = loadProviderFramework((payload) =>
    resource.handle(payload as unknown as CloudFormationCustomResourceEvent),
  );
});

afterEach(async () => {
  await server.close();
});

function cfnEvent(
  RequestType: 'Create' | 'Update' | 'Delete',
  props: Record<string, unknown> = PROPS,
  oldProps: Record<string, unknown> = PROPS,
): CloudFormationCustomResourceEvent {
  const base = {
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:x',
    ResponseURL: 'https://cloudformation-custom-resource-response.s3.amazonaws.com/x?X-Amz-Signature=x',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/s/1',
    RequestId: randomUUID(),
    LogicalResourceId: 'WebhookEndpoint',
    ResourceType: RESOURCE_TYPE,
    ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:x', ...props },
  };
  if (RequestType === 'Create') return { ...base, RequestType };
  const physical = { PhysicalResourceId: resource.physicalResourceId };
  if (RequestType === 'Delete') return { ...base, ...physical, RequestType };
  return { ...base, ...physical, RequestType, OldResourceProperties: { ServiceToken: base.ServiceToken, ...oldProps } };
}

/** Runs a request through the Provider framework and returns what CloudFormation received. */
function run(event: CloudFormationCustomResourceEvent): Promise<CfnAnswer> {
  return framework.send(event);
}

const doc = () => parseWebhookSecretDocument(fake.valueAt(WEBHOOK_ID) ?? '');
const writes = () => server.calls.filter((c) => c.method !== 'GET');

describe('Create', () => {
  it('creates the endpoint, stores its signing secret, and answers its id and URL (never the secret)', async () => {
    const response = await run(cfnEvent('Create'));
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `${APP}-stripe-webhook-endpoint` });
    const [endpoint] = server.webhookEndpoints();
    expect(endpoint).toMatchObject({
      url: WEBHOOK_URL,
      enabled_events: EVENTS,
      api_version: '2025-09-30.clover',
      description: 'demo',
      metadata: managedMetadata(APP),
    });
    expect(response.Data).toEqual({ EndpointId: endpoint!.id, Url: WEBHOOK_URL, Managed: 'true' });
    expect(doc().secrets).toEqual([{ secret: endpoint!.secret, endpointId: endpoint!.id }]);
    expect(activeWebhookSecrets(doc())).toEqual([endpoint!.secret]);
    // Nothing CloudFormation receives (and shows in the console) holds the secret.
    expect(JSON.stringify(framework.answers)).not.toContain('whsec_');
  });

  it('run again (a new request) finds the endpoint it made: no second endpoint, no secret write', async () => {
    const first = await run(cfnEvent('Create'));
    const versions = fake.versionCount(WEBHOOK_ID);
    server.resetCalls();
    const again = await run(cfnEvent('Create'));
    expect(again).toMatchObject({ Status: 'SUCCESS', Data: first.Data });
    expect(server.webhookEndpoints()).toHaveLength(1);
    expect(fake.versionCount(WEBHOOK_ID)).toBe(versions);
    expect(writes()).toEqual([]);
  });

  it('a retried request whose secret write failed gets the same endpoint back (Stripe idempotency)', async () => {
    const event = cfnEvent('Create');
    fake.failNext('PutSecretValue', new Error('throttled'));
    const failed = await run(event);
    expect(failed.Status).toBe('FAILED');
    expect(failed.Reason).toMatch(/throttled/);
    const made = server.webhookEndpoints();
    expect(made).toHaveLength(1);

    expect(await run(event)).toMatchObject({ Status: 'SUCCESS', Data: { EndpointId: made[0]!.id } });
    expect(server.webhookEndpoints()).toHaveLength(1);
    expect(doc().secrets[0]?.secret).toBe(made[0]!.secret);
  });

  it('deletes a managed endpoint for the URL whose secret was never stored, and keeps other endpoints', async () => {
    const leftover = await stripe.webhookEndpoints.create({
      url: WEBHOOK_URL,
      enabled_events: ['*'],
      metadata: managedMetadata(APP),
    });
    const someoneElses = await stripe.webhookEndpoints.create({ url: WEBHOOK_URL, enabled_events: ['*'] });
    const otherApp = await stripe.webhookEndpoints.create({
      url: WEBHOOK_URL,
      enabled_events: ['*'],
      metadata: managedMetadata('another-app'),
    });
    const response = await run(cfnEvent('Create'));
    expect(response.Status).toBe('SUCCESS');
    expect(server.webhookEndpoint(leftover.id)).toBeUndefined();
    expect(server.webhookEndpoint(someoneElses.id)).toBeDefined();
    expect(server.webhookEndpoint(otherApp.id)).toBeDefined();
    expect(server.webhookEndpoint(response.Data!.EndpointId!)).toBeDefined();
  });

  it('adopts a Dashboard endpoint whose secret the operator put in the secret (same URL): tags it, creates none', async () => {
    const dashboard = await stripe.webhookEndpoints.create({ url: WEBHOOK_URL, enabled_events: ['charge.refunded'] });
    fake.createSecret(
      WEBHOOK_ID,
      serializeWebhookSecretDocument({ secrets: [{ secret: dashboard.secret!, endpointId: dashboard.id }] }),
    );
    const response = await run(cfnEvent('Create', { Url: WEBHOOK_URL, EnabledEvents: EVENTS }));
    expect(response.Data?.EndpointId).toBe(dashboard.id);
    expect(server.webhookEndpoints()).toHaveLength(1);
    expect(server.webhookEndpoint(dashboard.id)).toMatchObject({
      enabled_events: EVENTS,
      metadata: managedMetadata(APP),
    });
  });

  it('fails with what to do when the API key secret still holds the placeholder', async () => {
    fake.createSecret(API_KEY_ID, JSON.stringify({ apiKey: '', placeholder: 'x' }));
    const response = await run(cfnEvent('Create'));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/holds no usable key.*put the key first/);
    expect(server.webhookEndpoints()).toEqual([]);
    expect(fake.valueAt(WEBHOOK_ID)).toBe(PLACEHOLDER);
  });

  it('fails on bad properties, naming the property', async () => {
    const response = await run(cfnEvent('Create', { Url: WEBHOOK_URL, EnabledEvents: [] }));
    // A failed Create: the framework's marker id, whose Delete (CloudFormation's rollback) it answers by itself.
    expect(response).toMatchObject({ Status: 'FAILED', PhysicalResourceId: CREATE_FAILED_MARKER });
    expect(response.Reason).toMatch(/EnabledEvents must be a non-empty list/);
  });
});

describe('Update', () => {
  it('with nothing changed writes nothing, in Stripe or in the secret', async () => {
    await run(cfnEvent('Create'));
    const versions = fake.versionCount(WEBHOOK_ID);
    server.resetCalls();
    expect((await run(cfnEvent('Update'))).Status).toBe('SUCCESS');
    expect(writes()).toEqual([]);
    expect(fake.versionCount(WEBHOOK_ID)).toBe(versions);
  });

  it('changes events and description in place: same endpoint, same secret', async () => {
    const created = await run(cfnEvent('Create'));
    const value = fake.valueAt(WEBHOOK_ID);
    const props = { ...PROPS, EnabledEvents: ['invoice.paid'], Description: 'renamed' };
    const updated = await run(cfnEvent('Update', props));
    expect(updated.Data).toEqual(created.Data);
    expect(server.webhookEndpoint(created.Data!.EndpointId!)).toMatchObject({
      enabled_events: ['invoice.paid'],
      description: 'renamed',
    });
    expect(fake.valueAt(WEBHOOK_ID)).toBe(value);
  });

  it('a new URL creates the new endpoint first; both secrets verify during the overlap; the cleanup deletes the old one after', async () => {
    const before = await run(cfnEvent('Create'));
    const oldId = before.Data!.EndpointId!;
    const newUrl = 'https://hooks.example.com/stripe/webhook';
    const after = await run(cfnEvent('Update', { ...PROPS, Url: newUrl }));
    const newId = after.Data!.EndpointId!;
    expect(newId).not.toBe(oldId);
    expect(server.webhookEndpoint(newId)?.url).toBe(newUrl);
    expect(server.webhookEndpoint(oldId)).toBeDefined();
    expect(doc().secrets.map((e) => [e.endpointId, e.expiresAt])).toEqual([
      [newId, undefined],
      [oldId, new Date(T0 + 24 * HOUR_MS).toISOString()],
    ]);
    expect(activeWebhookSecrets(doc(), new Date(T0 + HOUR_MS))).toHaveLength(2);

    const cleanup = createWebhookSecretRotation({
      sm: fake.client,
      stripe: stripeFromSecret(fake.client, API_KEY_ID, { apiBase: server.url }),
      webhookSecretId: WEBHOOK_ID,
      appName: APP,
      defaults: { url: newUrl, enabledEvents: EVENTS },
      overlapMs: 24 * HOUR_MS,
      logger: testLogger(true),
      now: () => T0 + 25 * HOUR_MS,
    });
    expect(await cleanup.cleanup()).toEqual({ deleted: [oldId], withoutEndpointId: 0, orphans: [] });
    expect(server.webhookEndpoints().map((e) => e.id)).toEqual([newId]);
  });

  it('refuses to write while a rotation of the secret is in progress, and writes nothing', async () => {
    await run(cfnEvent('Create'));
    await fake.rotate(WEBHOOK_ID, async () => undefined); // started, not finished
    const value = fake.valueAt(WEBHOOK_ID);
    server.resetCalls();
    const response = await run(cfnEvent('Update', { ...PROPS, Url: 'https://hooks.example.com/new' }));
    expect(response.Status).toBe('FAILED');
    expect(response.Reason).toMatch(/rotation of .* is in progress/);
    expect(writes()).toEqual([]);
    expect(fake.valueAt(WEBHOOK_ID)).toBe(value);
  });
});

describe('Delete', () => {
  it('deletes every endpoint of this deployment (old ones in their overlap too), leaves the others and the secret', async () => {
    await run(cfnEvent('Create'));
    await run(cfnEvent('Update', { ...PROPS, Url: 'https://hooks.example.com/new' }));
    const dashboard = await stripe.webhookEndpoints.create({ url: WEBHOOK_URL, enabled_events: ['*'] });
    const value = fake.valueAt(WEBHOOK_ID);

    const response = await run(cfnEvent('Delete'));
    expect(response).toMatchObject({ Status: 'SUCCESS', PhysicalResourceId: `${APP}-stripe-webhook-endpoint` });
    expect(server.webhookEndpoints().map((e) => e.id)).toEqual([dashboard.id]);
    expect(fake.valueAt(WEBHOOK_ID)).toBe(value);
    // Deleting again (CloudFormation may repeat a Delete) succeeds.
    expect((await run(cfnEvent('Delete'))).Status).toBe('SUCCESS');
  });

  it('succeeds without touching Stripe when there is no usable API key (the rollback of a failed first Create)', async () => {
    fake.createSecret(API_KEY_ID, JSON.stringify({ apiKey: '', placeholder: 'x' }));
    expect((await run(cfnEvent('Delete'))).Status).toBe('SUCCESS');
    expect(server.calls).toEqual([]);
  });
});
