import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/** Props of `customerManagedKey`. */
export interface CustomerManagedKeyProps {
  /** Alias without the `alias/` prefix, e.g. `stripe-webhooks/queue`. */
  readonly alias: string;
  readonly description: string;
  /** @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A customer-managed KMS key with yearly automatic rotation, for one concern (secrets, queue, table): separate keys
 * keep the blast radius of a key grant to that concern, and CloudTrail shows per concern who decrypted what.
 */
export function customerManagedKey(scope: Construct, id: string, props: CustomerManagedKeyProps): Key {
  return new Key(scope, id, {
    alias: `alias/${props.alias}`,
    description: props.description,
    enableKeyRotation: true,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    // The longest waiting period: a key scheduled for deletion by mistake can be recovered for 30 days.
    pendingWindow: Duration.days(30),
  });
}

/**
 * Grants exact KMS actions on `key`, usable only through `service` (e.g. `sqs`, `dynamodb`) in the key's region:
 * the grantee cannot call KMS with the key directly. CDK's own `grant*` helpers add `kms:ReEncrypt*` and
 * `kms:GenerateDataKey*`, which these services do not need.
 */
export function grantKeyViaService(key: IKey, grantee: IGrantable, service: string, actions: readonly string[]): Grant {
  return Grant.addToPrincipal({
    grantee,
    actions: [...actions],
    resourceArns: [key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `${service}.${key.env.region}.amazonaws.com` } },
  });
}

/**
 * The ARN of the alias `alias/<alias>` in another region of this account. Cross-region references by ARN need a name
 * known before deployment: a key's id is not, its explicit alias is. DynamoDB replicas and Secrets Manager replicas
 * both accept an alias ARN wherever they take a key.
 */
export function keyAliasArn(scope: Construct, region: string, alias: string): string {
  return Stack.of(scope).formatArn({
    service: 'kms',
    region,
    resource: 'alias',
    resourceName: alias,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}
