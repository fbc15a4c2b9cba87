/**
 * The two Stripe secrets, in Secrets Manager, encrypted with a customer-managed key.
 *
 * No secret value ever appears in the template: each secret is created holding a generated placeholder that the
 * Lambdas refuse (it parses to "no active webhook signing secret" / "no apiKey"), and the operator then puts the
 * real value, in the formats lambdas/shared/secrets.ts reads:
 *
 * - `<appName>/stripe-api-key`: the plain key (`sk_live_...`, or better a restricted `rk_live_...` that can only
 *   read the objects the processor fetches), or `{ "apiKey": "sk_live_..." }`.
 * - `<appName>/stripe-webhook-secret`: `{ "secrets": [ { "secret": "whsec_...", "endpointId": "we_..." } ] }`, or a
 *   plain `whsec_...` (several separated by commas while an endpoint is rolled).
 *
 * Put a value from a file, so it stays out of the shell history:
 *   aws secretsmanager put-secret-value --secret-id <appName>/stripe-webhook-secret --secret-string file://secret.json
 *
 * Until then the ingress rejects every webhook and the processor fails every event (both fail closed; Stripe keeps
 * retrying for 3 days, so nothing is lost while the operator sets the values). With `stripeEndpoint.manage` the
 * webhook secret is written by the endpoint custom resource instead, and both secrets rotate through
 * StripeSecretRotation (docs/rotation.md).
 */
import { ArnFormat, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Grant, type IGrantable, type IRole } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { type ReplicaRegion, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { nagPartition } from './app-wide-acknowledgements';
import { customerManagedKey, grantKeyViaService } from './encryption-key';

/** The placeholder's JSON key holding the generated random string (never a usable secret). */
export const PLACEHOLDER_KEY = 'placeholder';

/** Props of StripeSecrets. */
export interface StripeSecretsProps {
  /** Prefix of the secret names: `<appName>/stripe-api-key` and `<appName>/stripe-webhook-secret`. */
  readonly appName: string;
  /** Applies to both secrets and the key. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Regions that get a read-only replica of both secrets (same name), each encrypted with a key in its region (see
   * StripeSecretsReplica, which creates that key and reads the replica there).
   * @default [] (no replicas)
   */
  readonly replicaRegions?: readonly ReplicaRegion[];
}

/** The alias (without `alias/`) of the secrets' key, the same in every region. */
export function stripeSecretsKeyAlias(appName: string): string {
  return `${appName}/stripe-secrets`;
}

/** The Stripe API key and webhook signing secret(s), with their customer-managed key. */
export class StripeSecrets extends Construct {
  /** The Stripe API key (`sk_...`/`rk_...`) the processor fetches objects with. */
  readonly apiKey: Secret;
  /** The webhook signing secret(s) (`whsec_...`) the ingress verifies signatures with. */
  readonly webhookSecret: Secret;
  /** The key both secrets are encrypted with. */
  readonly key: Key;
  /** `<appName>/stripe-api-key`: the Lambdas look secrets up by name, which is the same in every region. */
  readonly apiKeySecretName: string;
  /** `<appName>/stripe-webhook-secret`. */
  readonly webhookSecretName: string;
  /** The regions holding a replica of both secrets. */
  readonly replicaRegions: readonly string[];

  private readonly keyAlias: string;

  constructor(scope: Construct, id: string, props: StripeSecretsProps) {
    super(scope, id);
    this.keyAlias = stripeSecretsKeyAlias(props.appName);
    this.replicaRegions = (props.replicaRegions ?? []).map((r) => r.region);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    this.apiKeySecretName = `${props.appName}/stripe-api-key`;
    this.webhookSecretName = `${props.appName}/stripe-webhook-secret`;

    this.key = customerManagedKey(this, 'Key', {
      alias: this.keyAlias,
      description: `Encrypts the ${props.appName} Stripe API key and webhook signing secrets`,
      removalPolicy,
    });

    this.apiKey = new Secret(this, 'ApiKey', {
      secretName: this.apiKeySecretName,
      description:
        'Stripe API key (secret or restricted key, plain or as {"apiKey": ...}). Created as a placeholder that the processor refuses: put the real key with put-secret-value.',
      encryptionKey: this.key,
      removalPolicy,
      replicaRegions: [...(props.replicaRegions ?? [])],
      // {"apiKey":"","placeholder":"<random>"}: parses, and is refused as "API key secret JSON must have apiKey".
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ apiKey: '' }),
        generateStringKey: PLACEHOLDER_KEY,
        excludePunctuation: true,
        passwordLength: 32,
      },
    });

    this.webhookSecret = new Secret(this, 'WebhookSecret', {
      secretName: this.webhookSecretName,
      description:
        'Stripe webhook signing secret(s), as {"secrets":[{"secret": ..., "endpointId": ...}]} or comma-separated. Created as a placeholder that the ingress refuses: put the real value with put-secret-value.',
      encryptionKey: this.key,
      removalPolicy,
      replicaRegions: [...(props.replicaRegions ?? [])],
      // {"secrets":[],"placeholder":"<random>"}: parses, and is refused as "no active webhook signing secret".
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ secrets: [] }),
        generateStringKey: PLACEHOLDER_KEY,
        excludePunctuation: true,
        passwordLength: 32,
      },
    });

    // Rotation (and its cdk-nag AwsSolutions-SMG4 finding) is StripeSecretRotation's: lib/constructs/secret-rotation.ts.
  }

  /**
   * Lets `grantee` use the keys a PutSecretValue of either secret needs (the secret actions themselves are granted
   * per secret by the caller): this region's key, and the key of every replica region, because Secrets Manager
   * encrypts the new version for each replica with the caller's own permissions. Without the replica keys the write
   * succeeds here and the replica stays behind (ReplicationStatus Failed): after a failover every webhook would fail
   * its signature check. Each replica key is named by its alias (`kms:ResourceAliases`: its id is unknown here, the
   * secondary stack creates it) and usable only through Secrets Manager in its region (`kms:ViaService`).
   */
  grantPutValue(grantee: IGrantable): Grant {
    const local = grantKeyViaService(this.key, grantee, 'secretsmanager', ['kms:Decrypt', 'kms:GenerateDataKey']);
    if (this.replicaRegions.length === 0) return local;
    const stack = Stack.of(this);
    const grant = Grant.addToPrincipal({
      grantee,
      actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
      resourceArns: this.replicaRegions.map((region) =>
        stack.formatArn({
          service: 'kms',
          region,
          resource: 'key',
          resourceName: '*',
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        }),
      ),
      conditions: {
        'ForAnyValue:StringEquals': { 'kms:ResourceAliases': `alias/${this.keyAlias}` },
        StringEquals: { 'kms:ViaService': this.replicaRegions.map((r) => `secretsmanager.${r}.amazonaws.com`) },
      },
    });
    const policy = (grantee.grantPrincipal as Partial<IRole>).node?.tryFindChild('DefaultPolicy');
    for (const region of policy ? this.replicaRegions : []) {
      Validations.of(policy!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:${nagPartition(this)}:kms:${region}:<AWS::AccountId>:key/*]`,
        reason:
          `The replica key in ${region} is created by that region's stack, so its id is unknown here: the statement ` +
          `allows only the key aliased alias/${this.keyAlias} (kms:ResourceAliases), only through Secrets Manager ` +
          `in ${region} (kms:ViaService), and only Encrypt/GenerateDataKey, which replicating a new version needs.`,
      });
    }
    return grant;
  }

  /** Lets `grantee` read one of the two secrets (and decrypt it through Secrets Manager). */
  grantRead(grantee: IGrantable, secret: 'apiKey' | 'webhookSecret'): Grant {
    return secret === 'apiKey' ? this.grantReadApiKey(grantee) : this.grantReadWebhookSecret(grantee);
  }

  /** Lets `grantee` read the API key (and decrypt it through Secrets Manager). */
  grantReadApiKey(grantee: IGrantable): Grant {
    return this.apiKey.grantRead(grantee);
  }

  /** Lets `grantee` read the webhook signing secret(s) (and decrypt them through Secrets Manager). */
  grantReadWebhookSecret(grantee: IGrantable): Grant {
    return this.webhookSecret.grantRead(grantee);
  }
}
