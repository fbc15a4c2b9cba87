/**
 * The first deploy of the synthesized stack, as CloudFormation and Secrets Manager play it for the resources that run
 * our code: in the template's dependency order, the secrets are created with the placeholders their
 * GenerateSecretString makes, the endpoint custom resource gets its Create (through the Provider framework), and each
 * rotation schedule makes Secrets Manager test its rotation function (testSecret on an AWSPENDING version, which is
 * then removed). Every step must succeed and leave no AWSPENDING label behind, whether the test version holds a copy
 * of the current value or nothing.
 */
import { randomUUID } from 'node:crypto';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiKeyRotation } from '../../lambdas/rotation/api-key/core';
import { createWebhookSecretRotation } from '../../lambdas/rotation/webhook-secret/core';
import { createStripeClient } from '../../lambdas/shared/stripe-client';
import { stripeFromSecret } from '../../lambdas/shared/stripe-from-api-key-secret';
import { createWebhookEndpointResource } from '../../lambdas/webhook-endpoint/core';
import { buildApp } from '../../lib/app';
import { parseConfig } from '../../lib/config';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { NO_BUNDLING } from '../infra/helpers';
import { loadProviderFramework } from '../webhook-endpoint/provider-framework';
import { FakeSecretsManager } from './fake-secrets-manager';
import { HOUR_MS, testLogger } from './helpers';

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
}

/** The logical ids a value refers to (Ref, Fn::GetAtt), among `ids`. */
function references(value: unknown, ids: ReadonlySet<string>, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) references(v, ids, into);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Ref' && typeof v === 'string' && ids.has(v)) into.add(v);
      else if (k === 'Fn::GetAtt' && Array.isArray(v) && ids.has(String(v[0]))) into.add(String(v[0]));
      else references(v, ids, into);
    }
  }
  return into;
}

/** The order CloudFormation may create the resources in: every resource after what it refers to or depends on. */
function creationOrder(resources: Record<string, Resource>): string[] {
  const ids = new Set(Object.keys(resources));
  const needs = new Map(
    Object.entries(resources).map(([id, r]) => {
      const deps = references(r.Properties, ids);
      for (const d of [r.DependsOn ?? []].flat()) deps.add(d);
      return [id, deps] as const;
    }),
  );
  const order: string[] = [];
  while (order.length < ids.size) {
    const ready = [...ids].filter((id) => !order.includes(id) && [...needs.get(id)!].every((d) => order.includes(d)));
    if (ready.length === 0) throw new Error('dependency cycle');
    order.push(...ready.sort());
  }
  return order;
}

/** Resolves the intrinsic functions CloudFormation would, with a stand-in string for every attribute. */
function resolve(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolve);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('Ref' in o) return `ref-${String(o.Ref).toLowerCase()}`;
    if ('Fn::GetAtt' in o) return `https://${String((o['Fn::GetAtt'] as string[])[0]).toLowerCase()}.example.com`;
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return (resolve(parts) as unknown[]).join(sep);
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolve(v)]));
  }
  return value;
}

/** What a secret holds right after CloudFormation created it from GenerateSecretString. */
function placeholderOf(props: Record<string, unknown>): string {
  const g = props.GenerateSecretString as { SecretStringTemplate: string; GenerateStringKey: string };
  return JSON.stringify({
    ...JSON.parse(g.SecretStringTemplate),
    [g.GenerateStringKey]: randomUUID().replace(/-/g, ''),
  });
}

let server: StripeServer;

beforeEach(async () => {
  server = await startStripeServer();
});

afterEach(async () => {
  await server.close();
});

/** The primary stack's resources of the app built from `input`. */
function resourcesOf(input: object): Record<string, Resource> {
  const [stack] = buildApp(new App({ context: NO_BUNDLING }), parseConfig(input)).stacks;
  return Template.fromStack(stack!).toJSON().Resources as Record<string, Resource>;
}

describe.each([
  ['the default config', {}],
  ['both secrets on a rotation schedule', { rotation: { webhookSecretDays: 30, apiKeyDays: 30 } }],
])('the first deploy of %s', (_config, input) => {
  const resources = resourcesOf(input);

  it.each([
    ['a copy of the current value', false],
    ['no value', true],
  ])(
    'with testSecret run on a pending version holding %s: every step passes, no AWSPENDING is left',
    async (_name, empty) => {
      const fake = new FakeSecretsManager();
      const secretNames = new Map<string, string>();
      const functionNames = new Map<string, string>();
      for (const [id, r] of Object.entries(resources)) {
        if (r.Type === 'AWS::SecretsManager::Secret') secretNames.set(id, String(r.Properties!.Name));
        if (r.Type === 'AWS::Lambda::Function') functionNames.set(id, String(r.Properties!.FunctionName));
      }
      const apiKeyId = [...secretNames.values()].find((n) => n.endsWith('/stripe-api-key'))!;
      const webhookId = [...secretNames.values()].find((n) => n.endsWith('/stripe-webhook-secret'))!;
      const stripe = stripeFromSecret(fake.client, apiKeyId, { apiBase: server.url });
      const shared = { sm: fake.client, logger: testLogger(true) };
      const rotations: Record<string, { handle: (e: unknown) => Promise<unknown> }> = {
        'rotate-webhook-secret': createWebhookSecretRotation({
          ...shared,
          stripe,
          webhookSecretId: webhookId,
          appName: 'stripe-webhooks',
          defaults: { url: 'https://example.com/stripe/webhook', enabledEvents: ['*'] },
          overlapMs: 24 * HOUR_MS,
        }),
        'rotate-api-key': createApiKeyRotation({
          ...shared,
          stripeFor: (key) => createStripeClient(key, { apiBase: server.url }),
        }),
      };
      const endpoint = createWebhookEndpointResource({
        ...shared,
        stripe,
        webhookSecretId: webhookId,
        appName: 'stripe-webhooks',
        overlapMs: 24 * HOUR_MS,
      });
      const framework = loadProviderFramework((p) =>
        endpoint.handle(p as unknown as CloudFormationCustomResourceEvent),
      );

      const played: string[] = [];
      for (const id of creationOrder(resources)) {
        const r = resources[id]!;
        if (r.Type === 'AWS::SecretsManager::Secret') {
          fake.createSecret(secretNames.get(id)!, placeholderOf(r.Properties!));
        } else if (r.Type === 'Custom::StripeWebhookEndpoint') {
          const answer = await framework.send({
            RequestType: 'Create',
            ServiceToken: 'arn:x',
            ResponseURL: 'https://cloudformation-custom-resource-response.s3.amazonaws.com/x?X-Amz-Signature=x',
            StackId: 'arn:aws:cloudformation:us-east-1:123456789012:stack/s/1',
            RequestId: randomUUID(),
            LogicalResourceId: id,
            ResourceType: r.Type,
            ResourceProperties: resolve(r.Properties) as { ServiceToken: string },
          });
          expect(answer, id).toMatchObject({ Status: 'SUCCESS' });
          played.push(r.Type);
        } else if (r.Type === 'AWS::SecretsManager::RotationSchedule') {
          const secret = secretNames.get((r.Properties!.SecretId as { Ref: string }).Ref)!;
          const fnId = (r.Properties!.RotationLambdaARN as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
          const rotation = Object.entries(rotations).find(([suffix]) => functionNames.get(fnId)?.endsWith(suffix))![1];
          const run = await fake.testRotationConfiguration(secret, (e) => rotation.handle(e), { empty });
          expect(run.error, `${id} (${secret})`).toBeUndefined();
          played.push(`${r.Type} ${secret}`);
        }
      }
      // Both schedules, after the endpoint resource (an explicit dependency: its AWSPENDING test version would make
      // the endpoint refuse to write the secret).
      expect([...played].sort()).toEqual([
        `AWS::SecretsManager::RotationSchedule ${apiKeyId}`,
        `AWS::SecretsManager::RotationSchedule ${webhookId}`,
        'Custom::StripeWebhookEndpoint',
      ]);
      expect(played.indexOf('Custom::StripeWebhookEndpoint')).toBeLessThan(
        played.indexOf(`AWS::SecretsManager::RotationSchedule ${webhookId}`),
      );
      for (const name of [apiKeyId, webhookId]) {
        expect(Object.values(fake.stages(name)).flat()).not.toContain('AWSPENDING');
      }
    },
  );
});
