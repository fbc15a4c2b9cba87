/**
 * The idempotency table: one item per Stripe event id, `IN_PROGRESS` with a lease while an invocation works on it,
 * `DONE` afterwards, expiring through TTL well past Stripe's retry window.
 *
 * TableV2 (AWS::DynamoDB::GlobalTable) from the start: adding replicas for multi-region is a property change, not a
 * table replacement that would lose the remembered event ids.
 *
 * Multi-region: the primary region's stack owns the global table, with a replica in each secondary region. Each
 * replica is encrypted with a customer-managed key in its own region (KMS keys are regional), which that region's
 * stack creates under the same explicit alias; the primary names it by alias ARN, so no cross-region reference is
 * needed, only a deployment order (secondary stacks first, see createRegionalStacks). A secondary stack refers to
 * its replica by table name: the replica's ARN is the table name in that region.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, type ITableV2, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { customerManagedKey, grantKeyViaService, keyAliasArn } from './encryption-key';

/** The table's partition key: the Stripe event id. */
export const IDEMPOTENCY_PARTITION_KEY = 'pk';
/** The TTL attribute (Unix seconds) every item carries. */
export const IDEMPOTENCY_TTL_ATTRIBUTE = 'expiresAt';

/** The alias (without `alias/`) of the table's key, the same in every region. */
export function idempotencyKeyAlias(namePrefix: string): string {
  return `${namePrefix}/idempotency-table`;
}

/** Props of an IdempotencyTable. */
export interface IdempotencyTableProps {
  /** Explicit table name (cross-region references and runbooks need a known name). */
  readonly tableName: string;
  /** Prefix of the key alias. */
  readonly namePrefix: string;
  /**
   * Applies to the table and its key. RETAIN also turns on deletion protection.
   * @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Regions that get a replica (the table becomes a multi-region global table). Each must have the key aliased
   * `alias/<namePrefix>/idempotency-table` already: an IdempotencyTable with `placement: 'replica'` in that region's
   * stack creates it. Only with `placement: 'owner'`.
   * @default [] (one region)
   */
  readonly replicaRegions?: readonly string[];
  /**
   * `owner`: this stack creates the table. `replica`: another region's stack owns the global table and has a replica
   * here; this stack creates only this region's replica key and refers to the replica by name.
   * @default 'owner'
   */
  readonly placement?: 'owner' | 'replica';
  /**
   * Replica regions whose replica loses deletion protection (step 1 of removing a region; only with
   * `placement: 'owner'` and a retained table).
   * @default [] (every replica as protected as the table)
   */
  readonly unprotectedReplicaRegions?: readonly string[];
}

/** The DynamoDB idempotency table (or this region's replica of it) and its customer-managed key in this region. */
export class IdempotencyTable extends Construct {
  /** The table: created here (AWS::DynamoDB::GlobalTable) for the owner, referred to by name for a replica. */
  readonly table: ITableV2;
  /** The key this region's replica is encrypted with. */
  readonly key: Key;
  /** Whether this stack owns the table or only holds a replica of it. */
  readonly placement: 'owner' | 'replica';

  constructor(scope: Construct, id: string, props: IdempotencyTableProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    this.placement = props.placement ?? 'owner';
    const replicaRegions = props.replicaRegions ?? [];
    if (this.placement === 'replica' && replicaRegions.length > 0) {
      throw new Error('IdempotencyTable: replicaRegions are set on the owner of the table, not on a replica');
    }
    const alias = idempotencyKeyAlias(props.namePrefix);

    this.key = customerManagedKey(this, 'Key', {
      alias,
      description: `Encrypts the ${props.namePrefix} idempotency table (processed Stripe event ids)${
        this.placement === 'replica' ? ": this region's replica" : ''
      }`,
      removalPolicy,
    });

    if (this.placement === 'replica') {
      this.table = TableV2.fromTableName(this, 'Table', props.tableName);
      return;
    }

    const replicaKeyArns = Object.fromEntries(
      replicaRegions.map((region) => [region, keyAliasArn(this, region, alias)]),
    );
    this.table = new TableV2(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: IDEMPOTENCY_PARTITION_KEY, type: AttributeType.STRING },
      timeToLiveAttribute: IDEMPOTENCY_TTL_ATTRIBUTE,
      billing: Billing.onDemand(),
      encryption: TableEncryptionV2.customerManagedKey(this.key, replicaKeyArns),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // DynamoDB's own guard against a DeleteTable by hand. It also stops CloudFormation: the rollback of a failed first
      // create cannot delete the table (docs/deploy.md says how to clear it), and a replica must lose it before its
      // region is removed (docs/multi-region.md).
      deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
      removalPolicy,
      replicas: replicaRegions.map((region) => ({
        region,
        // Removing a protected replica is refused: a region on its way out first loses the protection.
        ...(props.unprotectedReplicaRegions?.includes(region) ? { deletionProtection: false } : {}),
      })),
    });
  }

  /**
   * Lets `grantee` claim, read and complete event ids in this region's replica: GetItem, PutItem and UpdateItem only
   * (no Scan, Query or DeleteItem), plus this region's key through DynamoDB only.
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
