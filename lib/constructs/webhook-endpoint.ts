/**
 * The Stripe webhook endpoint as code: a custom resource (`Custom::StripeWebhookEndpoint`) whose Lambda creates or
 * updates the endpoint for the stack's webhook URL and event types, stores its signing secret in the webhook secret
 * (never in the template or the resource's attributes), and deletes the endpoint when the resource is deleted.
 * Behaviour and idempotency: lambdas/webhook-endpoint/core.ts. Created in the primary region only.
 *
 * The Stripe API key must be in its secret before the deploy that adds this resource (Create fails with a message
 * saying so otherwise): deploy once with `stripeEndpoint.manage: false`, put the key, then turn it on.
 */
import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { EnvInput } from '../../lambdas/shared/env';
import type { webhookEndpointEnv } from '../../lambdas/webhook-endpoint/env';
import { grantKeyViaService } from './encryption-key';
import { lambdaEntry, NodeFunction } from './node-function';
import type { StripeSecrets } from './stripe-secrets';

/** The custom resource type (also in lambdas/webhook-endpoint/core.ts). */
export const WEBHOOK_ENDPOINT_RESOURCE_TYPE = 'Custom::StripeWebhookEndpoint';

/** Props of StripeWebhookEndpoint. */
export interface StripeWebhookEndpointProps {
  /** Prefix of the function name; tags the endpoint (metadata `app`). */
  readonly appName: string;
  readonly secrets: StripeSecrets;
  /** The URL Stripe delivers to. */
  readonly webhookUrl: string;
  /** The event types to enable (`*` = all). */
  readonly eventTypes: readonly string[];
  /** API version of the events Stripe sends (fixed at creation; a change creates a new endpoint). @default - account default */
  readonly apiVersion?: string;
  /** Shown in the Stripe Dashboard. @default - none */
  readonly description?: string;
  /** How long the old secret stays valid when a new URL replaces the endpoint. @default Duration.hours(24) */
  readonly overlap?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** The Stripe webhook endpoint, managed by CloudFormation. */
export class StripeWebhookEndpoint extends Construct {
  /** The custom resource's handler (`<appName>-webhook-endpoint`). */
  readonly function: NodejsFunction;
  readonly resource: CustomResource;
  /** The Stripe endpoint id (`we_...`), once deployed. */
  readonly endpointId: string;

  constructor(scope: Construct, id: string, props: StripeWebhookEndpointProps) {
    super(scope, id);
    const environment: EnvInput<typeof webhookEndpointEnv> = {
      WEBHOOK_SECRET_ID: props.secrets.webhookSecretName,
      API_KEY_SECRET_ID: props.secrets.apiKeySecretName,
      APP_NAME: props.appName,
      OVERLAP_HOURS: String((props.overlap ?? Duration.hours(24)).toHours()),
    };
    const fn = new NodeFunction(this, 'Handler', {
      entry: lambdaEntry('lambdas/webhook-endpoint/handler.ts'),
      functionName: `${props.appName}-webhook-endpoint`,
      description: 'Custom resource: creates, updates and deletes the Stripe webhook endpoint',
      timeout: Duration.minutes(2),
      environment,
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      logRemovalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      noDeadLetterQueueReason:
        'CloudFormation invokes custom resource handlers asynchronously but waits for the answer the handler PUTs ' +
        'to its pre-signed URL; the handler answers FAILED on any error and before its timeout, so a failure ends ' +
        'as a failed stack operation, never as a lost event.',
    });
    this.function = fn.function;

    const { secrets } = props;
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        resources: [secrets.webhookSecret.secretArn],
      }),
    );
    secrets.grantReadApiKey(this.function);
    grantKeyViaService(secrets.key, this.function, 'secretsmanager', ['kms:Decrypt', 'kms:GenerateDataKey']);

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.function.functionArn,
      resourceType: WEBHOOK_ENDPOINT_RESOURCE_TYPE,
      properties: {
        Url: props.webhookUrl,
        EnabledEvents: [...props.eventTypes],
        ...(props.apiVersion ? { ApiVersion: props.apiVersion } : {}),
        ...(props.description ? { Description: props.description } : {}),
      },
      // Deleting the resource deletes the endpoint (the secret keeps its own removal policy).
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.endpointId = this.resource.getAttString('EndpointId');
  }
}
