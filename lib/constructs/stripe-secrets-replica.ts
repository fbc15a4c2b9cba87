/**
 * A secondary region's view of the Stripe secrets: the primary region's StripeSecrets replicates both secrets here
 * (same names, read-only), encrypted with this region's key, which this construct creates under the same alias the
 * primary names in its replica settings. Values are put in the primary region only; Secrets Manager copies every new
 * version here within seconds, so a rotation in the primary reaches this region's Lambdas through their secret cache.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { customerManagedKey, grantKeyViaService } from './encryption-key';
import type { StripeSecretReader } from './stripe-secret-reader';
import { stripeSecretsKeyAlias } from './stripe-secrets';

/** Props of StripeSecretsReplica. */
export interface StripeSecretsReplicaProps {
  /** Prefix of the secret names, as in the primary region's StripeSecrets. */
  readonly appName: string;
  /** The region that owns the secrets (where values are put), for descriptions. */
  readonly primaryRegion: string;
  /** Applies to the key. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly removalPolicy?: RemovalPolicy;
}

/** This region's replicas of the Stripe secrets, and the key they are encrypted with here. */
export class StripeSecretsReplica extends Construct implements StripeSecretReader {
  /** The replica of the Stripe API key (by name). */
  readonly apiKey: ISecret;
  /** The replica of the webhook signing secret(s) (by name). */
  readonly webhookSecret: ISecret;
  /** The key the replicas are encrypted with in this region. */
  readonly key: Key;
  readonly apiKeySecretName: string;
  readonly webhookSecretName: string;

  constructor(scope: Construct, id: string, props: StripeSecretsReplicaProps) {
    super(scope, id);
    this.apiKeySecretName = `${props.appName}/stripe-api-key`;
    this.webhookSecretName = `${props.appName}/stripe-webhook-secret`;
    this.key = customerManagedKey(this, 'Key', {
      alias: stripeSecretsKeyAlias(props.appName),
      description: `Encrypts this region's replicas of the ${props.appName} Stripe secrets (owned by ${props.primaryRegion})`,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    // By name: a replica keeps the primary's name (and its random ARN suffix, which fromSecretNameV2 matches with ??????).
    this.apiKey = Secret.fromSecretNameV2(this, 'ApiKey', this.apiKeySecretName);
    this.webhookSecret = Secret.fromSecretNameV2(this, 'WebhookSecret', this.webhookSecretName);
  }

  /** Lets `grantee` read one of the two replicas. */
  grantRead(grantee: IGrantable, secret: 'apiKey' | 'webhookSecret'): Grant {
    return secret === 'apiKey' ? this.grantReadApiKey(grantee) : this.grantReadWebhookSecret(grantee);
  }

  grantReadApiKey(grantee: IGrantable): Grant {
    return this.grantReadReplica(this.apiKey, grantee);
  }

  grantReadWebhookSecret(grantee: IGrantable): Grant {
    return this.grantReadReplica(this.webhookSecret, grantee);
  }

  private grantReadReplica(secret: ISecret, grantee: IGrantable): Grant {
    // An imported secret knows no key, so its grantRead covers only Secrets Manager: add this region's key, usable only
    // through Secrets Manager here (as Secret.grantRead does for a secret it created).
    grantKeyViaService(this.key, grantee, 'secretsmanager', ['kms:Decrypt']);
    return secret.grantRead(grantee);
  }
}
