/**
 * The template of the secret rotation and the webhook endpoint custom resource: schedules from the config, least
 * privilege (each function touches only its own secret, no wildcard but X-Ray), who may invoke the rotation
 * functions, the cleanup schedule, the alarms, and what exists in a standby region.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config';
import { createRegionalStacks } from '../../lib/stacks/regional-stack';
import {
  actionsOn,
  environmentOf,
  logicalId,
  NO_BUNDLING,
  onlyResource,
  statementsOfFunction,
  synthRegionalStack,
} from './helpers';

const WEBHOOK_FN = 'stripe-webhooks-rotate-webhook-secret';
const API_KEY_FN = 'stripe-webhooks-rotate-api-key';
const ENDPOINT_FN = 'stripe-webhooks-webhook-endpoint';

const { template, stack } = synthRegionalStack();
const webhookSecretId = logicalId(stack.secrets.webhookSecret);
const apiKeyId = logicalId(stack.secrets.apiKey);
const keyId = logicalId(stack.secrets.key);

function functionId(t: Template, name: string): string {
  const [id] = Object.keys(t.findResources('AWS::Lambda::Function', { Properties: { FunctionName: name } }));
  if (!id) throw new Error(`no function ${name}`);
  return id;
}

function schedules(t: Template): Record<string, Record<string, unknown>> {
  const byFunction: Record<string, Record<string, unknown>> = {};
  for (const r of Object.values(t.findResources('AWS::SecretsManager::RotationSchedule'))) {
    const props = (r as { Properties: Record<string, unknown> }).Properties;
    const fn = (props.RotationLambdaARN as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    byFunction[fn] = props;
  }
  return byFunction;
}

describe('rotation schedules', () => {
  it('rotate the webhook secret every 90 days and the API key on demand, never as part of a deploy', () => {
    const byFunction = schedules(template);
    expect(byFunction[functionId(template, WEBHOOK_FN)]).toEqual({
      SecretId: { Ref: webhookSecretId },
      RotationLambdaARN: { 'Fn::GetAtt': [functionId(template, WEBHOOK_FN), 'Arn'] },
      RotationRules: { AutomaticallyAfterDays: 90 },
      RotateImmediatelyOnUpdate: false,
    });
    expect(byFunction[functionId(template, API_KEY_FN)]).toEqual({
      SecretId: { Ref: apiKeyId },
      RotationLambdaARN: { 'Fn::GetAtt': [functionId(template, API_KEY_FN), 'Arn'] },
      RotateImmediatelyOnUpdate: false,
    });
  });

  it('follow the config: an API key schedule, and the webhook schedule off', () => {
    const { template: t } = synthRegionalStack({ rotation: { webhookSecretDays: 0, apiKeyDays: 30 } });
    const byFunction = schedules(t);
    expect(byFunction[functionId(t, WEBHOOK_FN)]?.RotationRules).toBeUndefined();
    expect(byFunction[functionId(t, API_KEY_FN)]?.RotationRules).toEqual({ AutomaticallyAfterDays: 30 });
  });
});

describe('permissions', () => {
  it('let each rotation function read and write only its own secret, plus what the webhook rotation must read', () => {
    const webhook = statementsOfFunction(template, WEBHOOK_FN);
    expect(actionsOn(webhook, webhookSecretId)).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'secretsmanager:UpdateSecretVersionStage',
    ]);
    // It calls Stripe with the API key: read only.
    expect(actionsOn(webhook, apiKeyId)).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);

    const apiKey = statementsOfFunction(template, API_KEY_FN);
    expect(actionsOn(apiKey, apiKeyId)).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'secretsmanager:UpdateSecretVersionStage',
    ]);
    expect(actionsOn(apiKey, webhookSecretId)).toEqual([]);
  });

  it('use the key only through Secrets Manager, and grant no wildcard but X-Ray (no GetRandomPassword on *)', () => {
    for (const name of [WEBHOOK_FN, API_KEY_FN]) {
      const statements = statementsOfFunction(template, name);
      const kms = statements.filter((s) => JSON.stringify(s.Resource).includes(`"${keyId}"`));
      expect(kms.length, name).toBeGreaterThan(0);
      for (const s of kms) {
        expect(JSON.stringify(s.Condition), name).toContain('secretsmanager.us-east-1.amazonaws.com');
        expect(
          [s.Action].flat().every((a) => ['kms:Decrypt', 'kms:GenerateDataKey'].includes(a)),
          name,
        ).toBe(true);
      }
      const wildcard = statements.filter((s) => s.Resource === '*').flatMap((s) => [s.Action].flat());
      expect(
        wildcard.every((a) => a.startsWith('xray:')),
        name,
      ).toBe(true);
    }
  });

  it('let only Secrets Manager invoke a rotation function, for its own secret in this account', () => {
    for (const [name, secretId] of [
      [WEBHOOK_FN, webhookSecretId],
      [API_KEY_FN, apiKeyId],
    ] as const) {
      const permissions = Object.values(
        template.findResources('AWS::Lambda::Permission', {
          Properties: { FunctionName: { 'Fn::GetAtt': [functionId(template, name), 'Arn'] } },
        }),
      ).map((p) => (p as { Properties: Record<string, unknown> }).Properties);
      const fromSecretsManager = permissions.filter((p) => p.Principal === 'secretsmanager.amazonaws.com');
      expect(fromSecretsManager).toEqual([
        {
          Action: 'lambda:InvokeFunction',
          FunctionName: { 'Fn::GetAtt': [functionId(template, name), 'Arn'] },
          Principal: 'secretsmanager.amazonaws.com',
          SourceAccount: '123456789012',
          SourceArn: { Ref: secretId },
        },
      ]);
    }
  });
});

describe('the cleanup schedule', () => {
  it('invokes the webhook rotation function every hour with the cleanup action', () => {
    // The other rule of the stack is the alarms' route for Secrets Manager's own RotationFailed events.
    const { props } = onlyResource(template, 'AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
    expect(props.Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [functionId(template, WEBHOOK_FN), 'Arn'] },
        Input: JSON.stringify({ action: 'cleanup' }),
      }),
    ]);
  });

  it('hands the webhook rotation what it needs when the current endpoint is unknown', () => {
    const env = environmentOf(template, WEBHOOK_FN);
    expect(env).toMatchObject({
      WEBHOOK_SECRET_ID: 'stripe-webhooks/stripe-webhook-secret',
      API_KEY_SECRET_ID: 'stripe-webhooks/stripe-api-key',
      APP_NAME: 'stripe-webhooks',
      EVENT_TYPES: parseConfig({}).eventTypes.join(','),
      OVERLAP_HOURS: '24',
      ENDPOINT_DESCRIPTION: 'Stripe webhooks on AWS (stripe-webhooks)',
    });
    expect(JSON.stringify(env.WEBHOOK_URL)).toContain('/stripe/webhook');
  });
});

describe('alarms (owned by the Alarms construct, notifying the alarm topic)', () => {
  it('fire on the first RotationFailed of each secret, with the dimension the functions emit', () => {
    for (const secret of ['webhook', 'api-key']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'StripeWebhooks',
        MetricName: 'RotationFailed',
        Dimensions: [{ Name: 'Secret', Value: secret }],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmDescription: Match.stringLikeRegexp(
          `runbooks.md#rotation-failed-${secret === 'webhook' ? 'webhook-secret' : 'api-key'}`,
        ),
        AlarmActions: [Match.anyValue()],
      });
    }
  });
});

describe('the webhook endpoint custom resource', () => {
  it('exists without stripeEndpoint.manage too, told not to manage (so turning it off later is an Update)', () => {
    template.hasResourceProperties('Custom::StripeWebhookEndpoint', { Manage: 'false' });
    expect(Object.keys(template.toJSON().Outputs)).not.toContain('WebhookEndpointId');
  });

  const managed = synthRegionalStack({
    stripeEndpoint: { manage: true, apiVersion: '2025-09-30.clover', description: 'payments' },
    eventTypes: ['invoice.paid', 'charge.refunded'],
  });

  it('asks for the stack URL and the configured events, and deletes the endpoint with the resource', () => {
    const resources = managed.template.findResources('Custom::StripeWebhookEndpoint');
    const [resource] = Object.values(resources) as { Properties: Record<string, unknown>; DeletionPolicy: string }[];
    expect(Object.keys(resources)).toHaveLength(1);
    expect(resource?.DeletionPolicy).toBe('Delete');
    // Through the Provider framework, which invokes the handler's published version.
    const frameworkId = (resource!.Properties.ServiceToken as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const framework = managed.template.toJSON().Resources[frameworkId] as { Properties: Record<string, unknown> };
    const versionId = (
      framework.Properties.Environment as { Variables: { USER_ON_EVENT_FUNCTION_ARN: { Ref: string } } }
    ).Variables.USER_ON_EVENT_FUNCTION_ARN.Ref;
    expect(managed.template.toJSON().Resources[versionId]).toMatchObject({
      Type: 'AWS::Lambda::Version',
      Properties: { FunctionName: { Ref: functionId(managed.template, ENDPOINT_FN) } },
    });
    expect(resource?.Properties).toMatchObject({
      Manage: 'true',
      EnabledEvents: ['invoice.paid', 'charge.refunded'],
      ApiVersion: '2025-09-30.clover',
      Description: 'payments',
    });
    expect(JSON.stringify(resource?.Properties.Url)).toContain(logicalId(managed.stack.ingress.api!));
    managed.template.hasOutput('WebhookEndpointId', {
      Value: { 'Fn::GetAtt': [Match.anyValue(), 'EndpointId'] },
    });
  });

  it('lets its handler write the webhook secret (but not move its stages) and only read the API key', () => {
    const statements = statementsOfFunction(managed.template, ENDPOINT_FN);
    expect(actionsOn(statements, logicalId(managed.stack.secrets.webhookSecret))).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
    ]);
    expect(actionsOn(statements, logicalId(managed.stack.secrets.apiKey))).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
  });
});

describe('regions', () => {
  it('rotate and manage the endpoint in the primary region only', () => {
    const app = new App({ context: NO_BUNDLING });
    const [primary, standby] = createRegionalStacks(
      app,
      parseConfig({ secondaryRegions: ['eu-west-1'], stripeEndpoint: { manage: true } }),
    );
    const p = Template.fromStack(primary!);
    const s = Template.fromStack(standby!);
    p.resourceCountIs('AWS::SecretsManager::RotationSchedule', 2);
    p.resourceCountIs('Custom::StripeWebhookEndpoint', 1);
    s.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    s.resourceCountIs('Custom::StripeWebhookEndpoint', 0);
    s.resourceCountIs('AWS::Events::Rule', 0);
    expect(standby?.secretRotation).toBeUndefined();
  });

  it('refuses an event type list too long for a Lambda environment, with what to do instead', () => {
    const many = Array.from({ length: 140 }, (_, i) => `custom_object_${i}.updated`);
    // The config refuses it before any construct sees it (the constructs check again for their own callers).
    expect(() => synthRegionalStack({ eventTypes: many })).toThrow(/eventTypes.*too long to hand to the Lambdas.*\*/);
  });
});
