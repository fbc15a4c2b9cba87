import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';

/**
 * What the Lambdas' constructs need from the Stripe secrets: their names (the Lambdas look secrets up by name, the
 * same in every region) and read grants. StripeSecrets (the primary region, which owns the secrets) and
 * StripeSecretsReplica (a secondary region, which reads the replicas) both provide it.
 */
export interface StripeSecretReader {
  /** `<appName>/stripe-api-key`. */
  readonly apiKeySecretName: string;
  /** `<appName>/stripe-webhook-secret`. */
  readonly webhookSecretName: string;
  /** Lets `grantee` read the API key in this region (and decrypt it through Secrets Manager). */
  grantReadApiKey(grantee: IGrantable): Grant;
  /** Lets `grantee` read the webhook signing secret(s) in this region (and decrypt them through Secrets Manager). */
  grantReadWebhookSecret(grantee: IGrantable): Grant;
}
