/**
 * The idempotency table: one item per Stripe event id, `IN_PROGRESS` with a lease while an invocation works on it,
 * `DONE` afterwards, expiring through TTL well past Stripe's retry window.
 *
 * TableV2 (AWS::DynamoDB::GlobalTable) from the start: adding replicas for multi-region later is then a property
 * change, not a table replacement that would lose the remembered event ids.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { customerManagedKey, grantKeyViaService } from './encryption-key';

/** The table's partition key: the Stripe event id. */
export const IDEMPOTENCY_PARTITION_KEY = 'pk';
/** The TTL attribute (Unix seconds) every item carries. */
export const IDEMPOTENCY_TTL_ATTRIBUTE = 'expiresAt';

/** Props of an IdempotencyTable. */
export interface IdempotencyTableProps {
  /** Explicit table name (cross-region references and runbooks need a known name). */
  readonly tableName: string;
  /** Prefix of the key alias. */
  readonly namePrefix: string;
  /**
   * Applies to the table and its key. RETAIN also turns on deletion protection.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The DynamoDB idempotency table and its customer-managed key. */
export class IdempotencyTable extends Construct {
  /** The table (AWS::DynamoDB::GlobalTable with one replica, in this region). */
  readonly table: TableV2;
  /** The key the table is encrypted with. */
  readonly key: Key;

  constructor(scope: Construct, id: string, props: IdempotencyTableProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.key = customerManagedKey(this, 'Key', {
      alias: `${props.namePrefix}/idempotency-table`,
      description: `Encrypts the ${props.namePrefix} idempotency table (processed Stripe event ids)`,
      removalPolicy,
    });

    this.table = new TableV2(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: IDEMPOTENCY_PARTITION_KEY, type: AttributeType.STRING },
      timeToLiveAttribute: IDEMPOTENCY_TTL_ATTRIBUTE,
      billing: Billing.onDemand(),
      encryption: TableEncryptionV2.customerManagedKey(this.key),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
  }

  /**
   * Lets `grantee` claim, read and complete event ids: GetItem, PutItem and UpdateItem only (no Scan, Query or
   * DeleteItem), plus the key through DynamoDB only.
   */
  grantClaimAndComplete(grantee: IGrantable): Grant {
    // Hand-written rather than table.grantReadWriteData: that grants batch, scan, query and delete as well.
    grantKeyViaService(this.key, grantee, 'dynamodb', [
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:Encrypt',
      'kms:GenerateDataKey',
    ]);
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resourceArns: [this.table.tableArn],
    });
  }
}
