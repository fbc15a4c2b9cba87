/**
 * The multi-region app: the primary owns the DynamoDB global table and the Stripe secrets, replicated to each
 * secondary region with that region's own KMS key; every region runs the whole pipeline; stacks reference each other
 * only by explicit names, never through CloudFormation exports.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { environmentOf, logicalId, onlyResource, statementsOfFunction, synthApp } from './helpers';

const { stacks, templates, app } = synthApp({ secondaryRegions: ['eu-west-1'] });
const primary = templates['us-east-1']!;
const secondary = templates['eu-west-1']!;

/** An ARN built from names, as the template spells it (a literal partition: cdk.json's enablePartitionLiterals). */
function arnIn(service: string, region: string, resource: string) {
  return `arn:aws:${service}:${region}:123456789012:${resource}`;
}

function aliasNames(template: Template): string[] {
  return Object.values(template.findResources('AWS::KMS::Alias')).map(
    (r) => (r as { Properties: { AliasName: string } }).Properties.AliasName,
  );
}

describe('the idempotency global table', () => {
  it('is created once, in the primary, with a replica in the secondary region', () => {
    const { props } = onlyResource(primary, 'AWS::DynamoDB::GlobalTable');
    expect(props.TableName).toBe('stripe-webhooks-idempotency');
    const replicas = props.Replicas as { Region: string }[];
    expect(replicas.map((r) => r.Region).sort()).toEqual(['eu-west-1', 'us-east-1']);
    // Global tables need a stream (CloudFormation refuses replicas without one).
    expect(props.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    secondary.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
  });

  it("encrypts each replica with a key in the replica's own region", () => {
    const keyId = logicalId(stacks[0]!.idempotencyTable.key);
    primary.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      // CDK lists the other regions' replicas first and the stack's own region last.
      Replicas: [
        Match.objectLike({
          Region: 'eu-west-1',
          SSESpecification: { KMSMasterKeyId: arnIn('kms', 'eu-west-1', 'alias/stripe-webhooks/idempotency-table') },
        }),
        Match.objectLike({
          Region: 'us-east-1',
          SSESpecification: { KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } },
        }),
      ],
    });
    // The alias the primary names is the one the secondary stack creates, on a rotating key of its own.
    expect(aliasNames(secondary)).toContain('alias/stripe-webhooks/idempotency-table');
    const replicaKeyId = logicalId(stacks[1]!.idempotencyTable.key);
    secondary.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/stripe-webhooks/idempotency-table',
      TargetKeyId: { 'Fn::GetAtt': [replicaKeyId, 'Arn'] },
    });
    expect(secondary.toJSON().Resources[replicaKeyId].Properties.EnableKeyRotation).toBe(true);
  });

  it('keeps point-in-time recovery and deletion protection on every replica', () => {
    const { props } = onlyResource(primary, 'AWS::DynamoDB::GlobalTable');
    for (const replica of props.Replicas as Record<string, unknown>[]) {
      expect(replica).toMatchObject({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      });
    }
  });

  it("lets the secondary processor use its local replica (by name) and that region's key only", () => {
    expect(environmentOf(secondary, 'stripe-webhooks-processor').TABLE_NAME).toBe('stripe-webhooks-idempotency');
    const statements = statementsOfFunction(secondary, 'stripe-webhooks-processor');
    const table = statements.find((s) => JSON.stringify(s.Resource).includes(':table/'));
    expect(table?.Resource).toEqual(arnIn('dynamodb', 'eu-west-1', 'table/stripe-webhooks-idempotency'));
    expect(table?.Action).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
    const kms = statements.find((s) => JSON.stringify(s.Condition ?? {}).includes('dynamodb.'));
    expect(kms?.Resource).toEqual({ 'Fn::GetAtt': [logicalId(stacks[1]!.idempotencyTable.key), 'Arn'] });
    expect(kms?.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' } });
  });
});

describe('the Stripe secrets', () => {
  it('are created in the primary only, each replicated to the secondary with its key there', () => {
    const secrets = Object.values(primary.findResources('AWS::SecretsManager::Secret')) as {
      Properties: { Name: string; ReplicaRegions: unknown };
    }[];
    expect(secrets.map((s) => s.Properties.Name).sort()).toEqual([
      'stripe-webhooks/stripe-api-key',
      'stripe-webhooks/stripe-webhook-secret',
    ]);
    for (const secret of secrets) {
      expect(secret.Properties.ReplicaRegions).toEqual([
        { Region: 'eu-west-1', KmsKeyId: arnIn('kms', 'eu-west-1', 'alias/stripe-webhooks/stripe-secrets') },
      ]);
    }
    secondary.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(aliasNames(secondary)).toContain('alias/stripe-webhooks/stripe-secrets');
  });

  it('are read in the secondary by the same names, from the local replica, decrypted with the local key', () => {
    expect(environmentOf(secondary, 'stripe-webhooks-ingress').WEBHOOK_SECRET_ID).toBe(
      'stripe-webhooks/stripe-webhook-secret',
    );
    expect(environmentOf(secondary, 'stripe-webhooks-processor').STRIPE_API_KEY_SECRET_ID).toBe(
      'stripe-webhooks/stripe-api-key',
    );
    const ingress = statementsOfFunction(secondary, 'stripe-webhooks-ingress');
    const read = ingress.find((s) => JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'));
    expect(read?.Resource).toEqual(
      arnIn('secretsmanager', 'eu-west-1', 'secret:stripe-webhooks/stripe-webhook-secret-??????'),
    );
    const decrypt = ingress.find((s) => JSON.stringify(s.Condition ?? {}).includes('secretsmanager.'));
    expect(decrypt).toMatchObject({
      Action: 'kms:Decrypt',
      Resource: { 'Fn::GetAtt': [logicalId(stacks[1]!.secrets.key), 'Arn'] },
      Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
    });
    // The ingress may not read the API key, in the secondary as in the primary.
    expect(JSON.stringify(ingress)).not.toContain('stripe-api-key');
  });

  it('tell the operator of a secondary region to put values in the primary', () => {
    secondary.hasOutput('WebhookSecretName', {
      Value: 'stripe-webhooks/stripe-webhook-secret',
      Description: Match.stringLikeRegexp('in us-east-1 \\(this region holds a read-only replica\\)'),
    });
    primary.hasOutput('WebhookSecretName', { Description: Match.stringLikeRegexp('here') });
  });
});

describe('every region', () => {
  it('runs the whole pipeline: ingress, FIFO queue and DLQ, processor, bus', () => {
    for (const template of [primary, secondary]) {
      template.resourceCountIs('AWS::SQS::Queue', 2);
      template.resourceCountIs('AWS::Events::EventBus', 1);
      template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      const names = Object.values(template.findResources('AWS::Lambda::Function')).map(
        (f) => (f as { Properties: { FunctionName: string } }).Properties.FunctionName,
      );
      expect(names).toEqual(expect.arrayContaining(['stripe-webhooks-ingress', 'stripe-webhooks-processor']));
    }
  });

  it('outputs its own webhook and health URLs and its role', () => {
    for (const [template, role] of [
      [primary, 'primary'],
      [secondary, 'secondary'],
    ] as const) {
      template.hasOutput('WebhookUrl', { Value: Match.anyValue() });
      template.hasOutput('HealthUrl', { Value: Match.anyValue() });
      template.hasOutput('RegionRole', { Value: role });
    }
  });
});

describe('stack wiring', () => {
  it('deploys the secondary before the primary, whose replicas need the keys the secondary creates', () => {
    expect(stacks[0]!.dependencies.map((s) => s.stackName)).toContain('stripe-webhooks-eu-west-1');
    expect(stacks[1]!.dependencies.map((s) => s.stackName)).not.toContain('stripe-webhooks-us-east-1');
  });

  it('uses no CloudFormation exports or cross-region reference machinery', () => {
    const assembly = app.synth();
    for (const stack of stacks) {
      const text = JSON.stringify(assembly.getStackByName(stack.stackName).template);
      expect(text).not.toContain('Fn::ImportValue');
      expect(text).not.toContain('ExportsWriter');
      expect(text).not.toContain('ExportsReader');
    }
  });

  it('keeps a single-region table as it was: no replicas, no stream (adding a region later is an in-place update)', () => {
    const single = synthApp({}).templates['us-east-1']!;
    const { props } = onlyResource(single, 'AWS::DynamoDB::GlobalTable');
    expect((props.Replicas as { Region: string }[]).map((r) => r.Region)).toEqual(['us-east-1']);
    expect(props.StreamSpecification).toBeUndefined();
    for (const secret of Object.values(single.findResources('AWS::SecretsManager::Secret'))) {
      expect((secret as { Properties: Record<string, unknown> }).Properties.ReplicaRegions).toBeUndefined();
    }
  });

  it('synthesizes three regions without a domain: one table with two replicas, each secret replicated twice', () => {
    const three = synthApp({ secondaryRegions: ['us-west-2', 'eu-west-1'] });
    const { props } = onlyResource(three.templates['us-east-1']!, 'AWS::DynamoDB::GlobalTable');
    expect((props.Replicas as { Region: string }[]).map((r) => r.Region).sort()).toEqual([
      'eu-west-1',
      'us-east-1',
      'us-west-2',
    ]);
    for (const region of ['us-west-2', 'eu-west-1']) {
      expect(aliasNames(three.templates[region]!)).toEqual(
        expect.arrayContaining(['alias/stripe-webhooks/idempotency-table', 'alias/stripe-webhooks/stripe-secrets']),
      );
    }
    expect(three.stacks[0]!.dependencies.map((s) => s.stackName).sort()).toEqual([
      'stripe-webhooks-eu-west-1',
      'stripe-webhooks-us-west-2',
    ]);
  });
});
