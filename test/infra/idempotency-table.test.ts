import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { IDEMPOTENCY_PARTITION_KEY, IDEMPOTENCY_TTL_ATTRIBUTE } from '../../lib/constructs/idempotency-table';
import { logicalId, onlyResource, synthRegionalStack } from './helpers';

const { template, stack } = synthRegionalStack();

describe('IdempotencyTable', () => {
  it('is a TableV2 (global-table ready) keyed by the event id in pk, with an explicit name', () => {
    expect(IDEMPOTENCY_PARTITION_KEY).toBe('pk');
    const { props } = onlyResource(template, 'AWS::DynamoDB::GlobalTable');
    expect(props.TableName).toBe('stripe-webhooks-idempotency');
    expect(props.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(props.AttributeDefinitions).toEqual([{ AttributeName: 'pk', AttributeType: 'S' }]);
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
  });

  it('expires items through the expiresAt TTL attribute', () => {
    expect(IDEMPOTENCY_TTL_ATTRIBUTE).toBe('expiresAt');
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('has point-in-time recovery and deletion protection, and is encrypted with its own rotating key', () => {
    const keyId = logicalId(stack.idempotencyTable.key);
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: [
        Match.objectLike({
          Region: 'us-east-1',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
          SSESpecification: { KMSMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } },
        }),
      ],
    });
    expect(template.toJSON().Resources[keyId].Properties.EnableKeyRotation).toBe(true);
  });

  it('is retained with the stack by default and removable in a dev config', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'RetainExceptOnCreate',
      UpdateReplacePolicy: 'Retain',
    });
    const dev = synthRegionalStack({ removalPolicy: 'destroy' }).template;
    dev.hasResource('AWS::DynamoDB::GlobalTable', { DeletionPolicy: 'Delete' });
    dev.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })],
    });
  });
});
