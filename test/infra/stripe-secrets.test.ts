import { randomBytes } from 'node:crypto';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import {
  activeWebhookSecrets,
  parseApiKey,
  parseWebhookSecretDocument,
  SecretFormatError,
} from '../../lambdas/shared/secrets';
import { PLACEHOLDER_KEY, StripeSecrets } from '../../lib/constructs/stripe-secrets';
import { logicalId, NO_BUNDLING, synthRegionalStack } from './helpers';

const { template, stack } = synthRegionalStack();

interface GenerateSecretString {
  SecretStringTemplate: string;
  GenerateStringKey: string;
}

/** What Secrets Manager stores on creation: the template with a random string under GenerateStringKey. */
function placeholderValue(secretName: string): string {
  const secrets = Object.values(
    template.findResources('AWS::SecretsManager::Secret', { Properties: { Name: secretName } }),
  );
  expect(secrets).toHaveLength(1);
  const generate = (secrets[0] as { Properties: { GenerateSecretString: GenerateSecretString } }).Properties
    .GenerateSecretString;
  const value = JSON.parse(generate.SecretStringTemplate) as Record<string, unknown>;
  value[generate.GenerateStringKey] = randomBytes(16).toString('hex');
  return JSON.stringify(value);
}

describe('StripeSecrets', () => {
  it('creates the two secrets under explicit names, without a value in the template', () => {
    for (const name of ['stripe-webhooks/stripe-api-key', 'stripe-webhooks/stripe-webhook-secret']) {
      const secrets = Object.values(
        template.findResources('AWS::SecretsManager::Secret', { Properties: { Name: name } }),
      );
      expect(secrets).toHaveLength(1);
      const props = (secrets[0] as { Properties: Record<string, unknown> }).Properties;
      expect(props.SecretString).toBeUndefined();
      expect(props.GenerateSecretString).toMatchObject({ GenerateStringKey: PLACEHOLDER_KEY });
    }
  });

  it('encrypts both secrets with its own rotating customer-managed key', () => {
    const keyId = logicalId(stack.secrets.key);
    template.resourcePropertiesCountIs(
      'AWS::SecretsManager::Secret',
      { KmsKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } },
      2,
    );
    expect(template.toJSON().Resources[keyId].Properties.EnableKeyRotation).toBe(true);
  });

  it('creates a placeholder API key that the processor refuses instead of using it as a key', () => {
    const value = placeholderValue('stripe-webhooks/stripe-api-key');
    expect(() => parseApiKey(value)).toThrow(SecretFormatError);
  });

  it('creates a placeholder webhook secret under which the ingress accepts no signature', () => {
    const value = placeholderValue('stripe-webhooks/stripe-webhook-secret');
    expect(() => activeWebhookSecrets(parseWebhookSecretDocument(value))).toThrow(/no active webhook signing secret/);
  });

  it('keeps the secrets when the stack is deleted', () => {
    template.resourcePropertiesCountIs('AWS::SecretsManager::Secret', {}, 2);
    expect(
      Object.values(template.findResources('AWS::SecretsManager::Secret', { DeletionPolicy: 'RetainExceptOnCreate' })),
    ).toHaveLength(2);
  });

  it('grantRead gives read access to the one secret asked for', () => {
    const s = new Stack(new App({ context: NO_BUNDLING }), 'S');
    const secrets = new StripeSecrets(s, 'Secrets', { appName: 'x' });
    const role = new Role(s, 'Reader', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    secrets.grantRead(role, 'webhookSecret');
    const statements = Template.fromStack(s).toJSON().Resources;
    const policy = Object.values(statements as Record<string, { Type: string; Properties: unknown }>).find(
      (r) => r.Type === 'AWS::IAM::Policy',
    );
    const text = JSON.stringify(policy);
    expect(text).toContain(logicalId(secrets.webhookSecret));
    expect(text).toContain('secretsmanager:GetSecretValue');
    expect(text).not.toContain(logicalId(secrets.apiKey));
  });

  it('tells the operator where to put the values', () => {
    template.hasOutput('ApiKeySecretName', { Value: 'stripe-webhooks/stripe-api-key' });
    template.hasOutput('WebhookSecretName', { Value: 'stripe-webhooks/stripe-webhook-secret' });
  });
});
