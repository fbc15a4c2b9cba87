/**
 * The endpoint custom resource through the call sequences CloudFormation really makes, sent through aws-cdk-lib's
 * Provider framework (its real runtime) to the real handler code, against the local Stripe server and the Secrets
 * Manager fake:
 *
 * - a handler module that fails to load (a bad environment) is still answered, and the rollback's Delete too;
 * - a failed update rolled back (URL A -> B -> A) leaves A, the endpoint CloudFormation reports, and the cleanup
 *   deletes B; a rotation afterwards renews A;
 * - turning `stripeEndpoint.manage` off hands the endpoint over: kept, and not deleted with the stack;
 * - any sequence of URL changes and rollbacks ends, once the overlap is over, with exactly the reported endpoint.
 */
import { randomUUID } from 'node:crypto';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createWebhookSecretRotation } from '../../lambdas/rotation/webhook-secret/core';
import { activeWebhookSecrets, parseWebhookSecretDocument } from '../../lambdas/shared/secrets';
import { stripeFromSecret } from '../../lambdas/shared/stripe-from-api-key-secret';
import { createWebhookEndpointResource, RESOURCE_TYPE } from '../../lambdas/webhook-endpoint/core';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { FakeSecretsManager } from '../rotation/fake-secrets-manager';
import { API_KEY, APP, EVENTS, HOUR_MS, T0, testLogger } from '../rotation/helpers';
import { CREATE_FAILED_MARKER, loadProviderFramework, type ProviderFramework } from './provider-framework';

const API_KEY_ID = `${APP}/stripe-api-key`;
const WEBHOOK_ID = `${APP}/stripe-webhook-secret`;
const URL_A = 'https://a.execute-api.us-east-1.amazonaws.com/stripe/webhook';
const URL_B = 'https://webhooks.example.com/stripe/webhook';
const URL_C = 'https://c.execute-api.us-east-1.amazonaws.com/stripe/webhook';
const PHYSICAL_ID = `${APP}-stripe-webhook-endpoint`;
const OVERLAP_MS = 24 * HOUR_MS;

let server: StripeServer;
let fake: FakeSecretsManager;
let clock: number;
let framework: ProviderFramework;

const props = (url: string, manage = true) => ({ Manage: String(manage), Url: url, EnabledEvents: EVENTS });

function event(
  RequestType: 'Create' | 'Update' | 'Delete',
  properties: Record<string, unknown>,
  old?: Record<string, unknown>,
  physicalId = PHYSICAL_ID,
): CloudFormationCustomResourceEvent {
  const base = {
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:framework',
    ResponseURL: 'https://cloudformation-custom-resource-response.s3.amazonaws.com/x?X-Amz-Signature=x',
    StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/s/1',
    RequestId: randomUUID(),
    LogicalResourceId: 'WebhookEndpoint',
    ResourceType: RESOURCE_TYPE,
    ResourceProperties: { ServiceToken: 'arn:x', ...properties },
  };
  if (RequestType === 'Create') return { ...base, RequestType };
  if (RequestType === 'Delete') return { ...base, RequestType, PhysicalResourceId: physicalId };
  return {
    ...base,
    RequestType,
    PhysicalResourceId: physicalId,
    OldResourceProperties: { ServiceToken: 'arn:x', ...(old ?? properties) },
  };
}

function handlerBackedFramework(): ProviderFramework {
  const resource = createWebhookEndpointResource({
    sm: fake.client,
    stripe: stripeFromSecret(fake.client, API_KEY_ID, { apiBase: server.url }),
    webhookSecretId: WEBHOOK_ID,
    appName: APP,
    overlapMs: OVERLAP_MS,
    logger: testLogger(true),
    now: () => clock,
  });
  return loadProviderFramework((payload) => resource.handle(payload as unknown as CloudFormationCustomResourceEvent));
}

function rotation(defaultUrl = URL_A) {
  return createWebhookSecretRotation({
    sm: fake.client,
    stripe: stripeFromSecret(fake.client, API_KEY_ID, { apiBase: server.url }),
    webhookSecretId: WEBHOOK_ID,
    appName: APP,
    defaults: { url: defaultUrl, enabledEvents: EVENTS },
    overlapMs: OVERLAP_MS,
    logger: testLogger(true),
    now: () => clock,
  });
}

const doc = () => parseWebhookSecretDocument(fake.valueAt(WEBHOOK_ID) ?? '');

/** A fresh world: an empty Stripe, the secrets as the stack creates them (API key put), the clock at T0. */
async function freshWorld(): Promise<void> {
  server = await startStripeServer();
  fake = new FakeSecretsManager();
  fake.createSecret(API_KEY_ID, JSON.stringify({ apiKey: API_KEY }));
  fake.createSecret(WEBHOOK_ID, JSON.stringify({ secrets: [], placeholder: 'cGxhY2Vob2xkZXI' }));
  clock = T0;
  framework = handlerBackedFramework();
}

beforeEach(freshWorld);

afterEach(async () => {
  await server.close();
  vi.unstubAllEnvs();
});

describe('a handler whose module fails to load', () => {
  it('is answered FAILED by the framework at once, and the rollback Delete SUCCESS, without touching anything', async () => {
    // The environment CloudFormation's Lambda would have with a broken template: the handler throws at import.
    for (const name of ['WEBHOOK_SECRET_ID', 'API_KEY_SECRET_ID', 'APP_NAME']) vi.stubEnv(name, undefined);
    const broken = loadProviderFramework(async (payload) => {
      vi.resetModules();
      const { handler } = await import('../../lambdas/webhook-endpoint/handler');
      return handler(payload as unknown as CloudFormationCustomResourceEvent);
    });
    const created = await broken.send(event('Create', props(URL_A)));
    expect(created.Status).toBe('FAILED');
    expect(created.Reason).toMatch(/WEBHOOK_SECRET_ID/);
    expect(created.PhysicalResourceId).toBe(CREATE_FAILED_MARKER);

    const invoked = broken.invocations();
    const rollback = await broken.send(event('Delete', props(URL_A), undefined, created.PhysicalResourceId));
    expect(rollback.Status).toBe('SUCCESS');
    expect(broken.invocations()).toBe(invoked);
    expect(server.webhookEndpoints()).toEqual([]);
  });
});

describe('URL A -> B -> A (a failed update rolled back)', () => {
  it('keeps A, the endpoint CloudFormation reports; the cleanup deletes B; a rotation renews A', async () => {
    const a = await framework.send(event('Create', props(URL_A)));
    const b = await framework.send(event('Update', props(URL_B), props(URL_A)));
    expect(b.Data?.EndpointId).not.toBe(a.Data?.EndpointId);
    // The rollback: CloudFormation sends an Update back to the old properties.
    clock += 10 * 60_000;
    const back = await framework.send(event('Update', props(URL_A), props(URL_B)));
    expect(back).toMatchObject({ Status: 'SUCCESS', Data: { EndpointId: a.Data?.EndpointId, Url: URL_A } });

    // A is the current entry again (no expiry); B expires after the overlap.
    expect(doc().secrets.map((e) => [e.endpointId, e.expiresAt])).toEqual([
      [a.Data?.EndpointId, undefined],
      [b.Data?.EndpointId, new Date(clock + OVERLAP_MS).toISOString()],
    ]);
    clock += OVERLAP_MS + HOUR_MS;
    expect((await rotation().cleanup()).deleted).toEqual([b.Data?.EndpointId]);
    expect(server.webhookEndpoints().map((e) => e.id)).toEqual([a.Data?.EndpointId]);

    // A rotation renews the current endpoint: same URL as A.
    const run = await fake.rotate(WEBHOOK_ID, (e) => rotation(URL_C).handle(e));
    expect(run.error).toBeUndefined();
    const renewed = doc().secrets[0]!;
    expect(server.webhookEndpoint(renewed.endpointId!)?.url).toBe(URL_A);
  });
});

describe('stripeEndpoint.manage true -> false', () => {
  it('hands the endpoint over: the Update keeps it and its secret, and the stack Delete deletes nothing', async () => {
    const created = await framework.send(event('Create', props(URL_A)));
    const value = fake.valueAt(WEBHOOK_ID);
    server.resetCalls();
    const handedOver = await framework.send(event('Update', props(URL_A, false), props(URL_A)));
    expect(handedOver).toMatchObject({ Status: 'SUCCESS', Data: { Managed: 'false' } });
    const deleted = await framework.send(event('Delete', props(URL_A, false)));
    expect(deleted.Status).toBe('SUCCESS');
    expect(server.webhookEndpoints().map((e) => e.id)).toEqual([created.Data?.EndpointId]);
    expect(fake.valueAt(WEBHOOK_ID)).toBe(value);
    expect(server.calls.filter((c) => c.method !== 'GET')).toEqual([]);
  });

  it('and back to true adopts the endpoint it handed over, without creating another', async () => {
    const created = await framework.send(event('Create', props(URL_A)));
    await framework.send(event('Update', props(URL_A, false), props(URL_A)));
    const again = await framework.send(event('Update', props(URL_A), props(URL_A, false)));
    expect(again.Data?.EndpointId).toBe(created.Data?.EndpointId);
    expect(server.webhookEndpoints()).toHaveLength(1);
  });
});

describe('any sequence of URL changes and rollbacks', () => {
  it('ends, after the overlap and the cleanup, with exactly the endpoint CloudFormation last reported', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ url: fc.constantFrom(URL_A, URL_B, URL_C), rolledBack: fc.boolean() }), {
          minLength: 1,
          maxLength: 5,
        }),
        async (steps) => {
          await server.close();
          await freshWorld();

          let url = URL_A;
          let reported = (await framework.send(event('Create', props(url)))).Data?.EndpointId;
          for (const step of steps) {
            clock += 5 * 60_000;
            const updated = await framework.send(event('Update', props(step.url), props(url)));
            expect(updated.Status).toBe('SUCCESS');
            if (step.rolledBack) {
              clock += 60_000;
              const back = await framework.send(event('Update', props(url), props(step.url)));
              expect(back.Status).toBe('SUCCESS');
              reported = back.Data?.EndpointId;
            } else {
              url = step.url;
              reported = updated.Data?.EndpointId;
            }
          }
          clock += OVERLAP_MS + HOUR_MS;
          await rotation().cleanup();
          const left = server.webhookEndpoints();
          expect(left.map((e) => [e.id, e.url])).toEqual([[reported, url]]);
          expect(activeWebhookSecrets(doc(), new Date(clock))).toEqual([left[0]!.secret]);
        },
      ),
      { numRuns: 15 },
    );
  });
});
