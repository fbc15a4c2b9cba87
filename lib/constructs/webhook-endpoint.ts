/**
 * The Stripe webhook endpoint as code: a custom resource (`Custom::StripeWebhookEndpoint`) on aws-cdk-lib's
 * custom-resources Provider framework, whose Lambda creates or updates the endpoint for the stack's webhook URL and
 * event types, stores its signing secret in the webhook secret (never in the template or the resource's attributes),
 * and deletes the endpoint when the resource is deleted. Behaviour and idempotency: lambdas/webhook-endpoint/core.ts.
 * Created in the primary region only.
 *
 * The resource exists whether or not the stack manages the endpoint (`manage`): turning management off is an Update
 * that hands the endpoint over, never a Delete of the live endpoint.
 *
 * The Provider framework answers CloudFormation on every path, also when the handler throws, times out or fails to
 * load; the resource's ServiceTimeout bounds how long CloudFormation waits should even the framework not answer.
 *
 * The Stripe API key must be in its secret before the deploy that turns `manage` on (the Update fails with a message
 * saying so otherwise): deploy once with `stripeEndpoint.manage: false`, put the key, then turn it on.
 */
import { CustomResource, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { ApplicationLogLevel } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { EnvInput } from '../../lambdas/shared/env';
import { sharedEnv } from '../../lambdas/shared/env-specs';
import type { webhookEndpointEnv } from '../../lambdas/webhook-endpoint/env';
import { DEFAULT_CONFIG } from '../config';
import { lambdaEntry, NodeFunction } from './node-function';
import type { StripeSecrets } from './stripe-secrets';

/** How long CloudFormation waits for the custom resource's answer before failing it (at most 15 minutes). */
export const WEBHOOK_ENDPOINT_SERVICE_TIMEOUT = Duration.minutes(10);

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
  /** How long the old secret stays valid when a new URL replaces the endpoint. @default - OVERLAP_HOURS's default (lambdas/shared/env-specs.ts) */
  readonly overlap?: Duration;
  /**
   * Whether the stack manages the endpoint. false keeps the resource but leaves Stripe alone: switching from true to
   * false hands the endpoint over to the operator (it is kept, and not deleted with the stack).
   * @default true
   */
  readonly manage?: boolean;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** X-Ray active tracing of the function(s) (NodeFunctionProps.tracing). @default - the config's `observability.tracing` */
  readonly tracing?: boolean;
  /** @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** The Stripe webhook endpoint, managed by CloudFormation. */
export class StripeWebhookEndpoint extends Construct {
  /** The custom resource's handler (`<appName>-webhook-endpoint`). */
  readonly function: LambdaFunction;
  /** The Provider framework in front of it (answers CloudFormation). */
  readonly provider: Provider;
  readonly resource: CustomResource;
  /** The Stripe endpoint id (`we_...`), once deployed. */
  readonly endpointId: string;

  constructor(scope: Construct, id: string, props: StripeWebhookEndpointProps) {
    super(scope, id);
    const environment: EnvInput<typeof webhookEndpointEnv> = {
      WEBHOOK_SECRET_ID: props.secrets.webhookSecretName,
      API_KEY_SECRET_ID: props.secrets.apiKeySecretName,
      APP_NAME: props.appName,
      OVERLAP_HOURS: String((props.overlap ?? Duration.hours(sharedEnv.OVERLAP_HOURS.default)).toHours()),
    };
    const fn = new NodeFunction(this, 'Handler', {
      entry: lambdaEntry('lambdas/webhook-endpoint/handler.ts'),
      functionName: `${props.appName}-webhook-endpoint`,
      description: 'Custom resource: creates, updates and deletes the Stripe webhook endpoint',
      timeout: Duration.minutes(2),
      environment,
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      tracing: props.tracing ?? DEFAULT_CONFIG.observability.tracing,
      logRemovalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
      noDeadLetterQueueReason:
        'The Provider framework invokes it synchronously and answers CloudFormation with its result or its error, so ' +
        'a failure ends as a failed stack operation, never as a lost event.',
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
    // Its PutSecretValue re-encrypts the new version for every replica region too.
    secrets.grantPutValue(this.function);

    // The framework's own function: a role of ours (no AWSLambdaBasicExecutionRole) and a log group with retention.
    const frameworkLogs = new LogGroup(this, 'ProviderLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    const frameworkRole = new Role(this, 'ProviderRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.appName} webhook endpoint custom resource provider`,
    });
    frameworkLogs.grantWrite(frameworkRole);
    this.provider = new Provider(this, 'Provider', {
      // The published version: the framework may invoke exactly it (no `<arn>:*` grant on every version).
      onEventHandler: this.function.currentVersion,
      frameworkLambdaLoggingLevel: ApplicationLogLevel.INFO,
      frameworkOnEventRole: frameworkRole,
      providerFunctionName: `${props.appName}-webhook-endpoint-provider`,
      logGroup: frameworkLogs,
    });
    acknowledgeProviderFindings(this.provider);

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.provider.serviceToken,
      resourceType: WEBHOOK_ENDPOINT_RESOURCE_TYPE,
      serviceTimeout: WEBHOOK_ENDPOINT_SERVICE_TIMEOUT,
      properties: {
        Manage: String(props.manage ?? true),
        Url: props.webhookUrl,
        EnabledEvents: [...props.eventTypes],
        ...(props.apiVersion ? { ApiVersion: props.apiVersion } : {}),
        ...(props.description ? { Description: props.description } : {}),
      },
      // Deleting the resource deletes the managed endpoint (the secret keeps its own removal policy).
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.endpointId = this.resource.getAttString('EndpointId');
  }
}

/** Acknowledges, with reasons, the cdk-nag findings of aws-cdk-lib's Provider framework function. */
function acknowledgeProviderFindings(provider: Provider): void {
  const framework = provider.node.tryFindChild('framework-onEvent');
  const reasons: Record<string, string> = {
    'Serverless-LambdaTracing':
      'The framework only relays the request to the handler (which is traced) and the answer to CloudFormation; ' +
      'aws-cdk-lib offers no tracing option for it, and its log group records every request.',
    'Serverless-LambdaDLQ':
      'CloudFormation invokes the framework and waits for its answer (bounded by the resource ServiceTimeout); a ' +
      'failure fails the stack operation, so there is no lost event for a dead-letter queue to keep.',
    'Serverless-LambdaDefaultMemorySize':
      'The framework relays one request per deployment; aws-cdk-lib sizes it, and its memory does not matter here.',
  };
  if (framework) {
    for (const [id, reason] of Object.entries(reasons)) Validations.of(framework).acknowledge({ id, reason });
  }
}
