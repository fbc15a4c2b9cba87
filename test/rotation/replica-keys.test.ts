/**
 * A rotation with a secondary region: Secrets Manager re-encrypts each new version for the replica with the writer's
 * own permissions, so each Lambda that writes a secret (both rotations, the endpoint custom resource) must be allowed
 * to use the replica region's key through Secrets Manager there. The Secrets Manager fake decides each replica's
 * status by asking the synthesized template's IAM policy of the calling function (test/rotation/iam-policy.ts), and
 * the replication check reads the status back as the alarm would.
 */
import { randomUUID } from 'node:crypto';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiKeyRotation } from '../../lambdas/rotation/api-key/core';
import { checkReplication } from '../../lambdas/rotation/replication/core';
import { createWebhookSecretRotation } from '../../lambdas/rotation/webhook-secret/core';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { stripeFromSecret } from '../../lambdas/shared/stripe-from-api-key-secret';
import { createWebhookEndpointResource } from '../../lambdas/webhook-endpoint/core';
import { buildApp } from '../../lib/app';
import { parseConfig } from '../../lib/config';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { NO_BUNDLING, statementsOfFunction } from '../infra/helpers';
import { FakeSecretsManager } from './fake-secrets-manager';
import { API_KEY, EVENTS, HOUR_MS, testLogger, WEBHOOK_URL } from './helpers';
import { allows, type PolicyStatement } from './iam-policy';

const APP = 'stripe-webhooks';
const ACCOUNT = '123456789012';
const API_KEY_ID = `${APP}/stripe-api-key`;
const WEBHOOK_ID = `${APP}/stripe-webhook-secret`;
const REPLICA_KEY = `arn:aws:kms:us-west-2:${ACCOUNT}:key/${randomUUID()}`;
const ENV = { partition: 'aws', account: ACCOUNT, region: 'us-east-1' };

const template = Template.fromStack(
  buildApp(
    new App({ context: NO_BUNDLING }),
    parseConfig({ account: ACCOUNT, secondaryRegions: ['us-west-2'], stripeEndpoint: { manage: true } }),
  ).stacks[0]!,
);

/** The IAM policy of the function `<appName>-<suffix>` in the primary's template. */
const policyOf = (suffix: string) => statementsOfFunction(template, `${APP}-${suffix}`) as PolicyStatement[];

let server: StripeServer;
let fake: FakeSecretsManager;

beforeAll(async () => {
  server = await startStripeServer();
  server.setObject({ id: 'balance', object: 'balance', available: [], pending: [], livemode: false });
});
afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  fake = new FakeSecretsManager();
  fake.createSecret(API_KEY_ID, JSON.stringify({ apiKey: API_KEY }));
  fake.createSecret(WEBHOOK_ID, JSON.stringify({ secrets: [], placeholder: 'cGxhY2Vob2xkZXI' }));
  for (const id of [API_KEY_ID, WEBHOOK_ID])
    fake.addReplica(id, 'us-west-2', REPLICA_KEY, [`alias/${APP}/stripe-secrets`]);
});

/** From now on the fake's caller is the function `<appName>-<suffix>`, with the template's permissions. */
function callAs(suffix: string): void {
  const policy = policyOf(suffix);
  fake.kmsAuthorizer = (action, keyArn, context) => allows(policy, action, keyArn, context, ENV);
}

async function replicationProblems() {
  const { problems } = await checkReplication({
    sm: fake.client,
    secretIds: [API_KEY_ID, WEBHOOK_ID],
    logger: testLogger(true),
  });
  return problems;
}

const stripe = () => stripeFromSecret(fake.client, API_KEY_ID, { apiBase: server.url });

describe('with a secondary region, every writer of a secret keeps its replica InSync', () => {
  it('the endpoint custom resource storing a new signing secret', async () => {
    callAs('webhook-endpoint');
    const resource = createWebhookEndpointResource({
      sm: fake.client,
      stripe: stripe(),
      webhookSecretId: WEBHOOK_ID,
      appName: APP,
      overlapMs: 24 * HOUR_MS,
      logger: testLogger(true),
    });
    await resource.handle({
      RequestType: 'Create',
      ServiceToken: 'arn:x',
      ResponseURL: 'https://example.com/unused',
      StackId: 'stack',
      RequestId: randomUUID(),
      LogicalResourceId: 'WebhookEndpoint',
      ResourceType: 'Custom::StripeWebhookEndpoint',
      ResourceProperties: { ServiceToken: 'arn:x', Manage: 'true', Url: WEBHOOK_URL, EnabledEvents: EVENTS },
    });
    expect(await replicationProblems()).toEqual([]);
  });

  it('the webhook secret rotation', async () => {
    callAs('rotate-webhook-secret');
    const rotation = createWebhookSecretRotation({
      sm: fake.client,
      stripe: stripe(),
      webhookSecretId: WEBHOOK_ID,
      appName: APP,
      defaults: { url: WEBHOOK_URL, enabledEvents: EVENTS },
      overlapMs: 24 * HOUR_MS,
      logger: testLogger(true),
    });
    const run = await fake.rotate(WEBHOOK_ID, (e) => rotation.handle(e));
    expect(run.error).toBeUndefined();
    expect(await replicationProblems()).toEqual([]);
  });

  it('the API key rotation', async () => {
    callAs('rotate-api-key');
    fake.createSecret(
      API_KEY_ID,
      JSON.stringify({
        apiKey: API_KEY,
        staged: { apiKey: 'sk_test_rotationStagedKey0002', stagedAt: new Date().toISOString() },
      }),
    );
    fake.addReplica(API_KEY_ID, 'us-west-2', REPLICA_KEY, [`alias/${APP}/stripe-secrets`]);
    const rotation = createApiKeyRotation({
      sm: fake.client,
      stripeFor: (key) => createStripeClient(key, { apiBase: server.url }),
      logger: testLogger(true),
    });
    const run = await fake.rotate(API_KEY_ID, (e) => rotation.handle(e));
    expect(run.error).toBeUndefined();
    expect(await replicationProblems()).toEqual([]);
  });
});

describe('the replication check', () => {
  it('reports a replica left behind by a writer without the replica key (the failover hazard)', async () => {
    callAs('ingress'); // may read the secrets, not encrypt for a replica
    await fake.client.send(
      new (await import('@aws-sdk/client-secrets-manager')).PutSecretValueCommand({
        SecretId: WEBHOOK_ID,
        SecretString: JSON.stringify({ secrets: [{ secret: 'whsec_x' }] }),
      }),
    );
    expect(await replicationProblems()).toEqual([
      expect.objectContaining({ secretId: WEBHOOK_ID, region: 'us-west-2', status: 'Failed' }),
    ]);
  });
});
