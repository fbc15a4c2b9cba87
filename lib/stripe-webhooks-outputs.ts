/**
 * Parts of a StripeWebhooks pipeline built apart from its constructor: the secrets' rotation and the Stripe endpoint
 * (primary region), and the CloudFormation outputs an operator needs after a deploy (the URL to register with
 * Stripe, the secret names to fill, the queues, table, bus, alarm topic and dashboard).
 */
import { CfnOutput, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { StripeWebhooksConfig } from './config';
import { StripeSecretRotation } from './constructs/secret-rotation';
import type { StripeSecrets } from './constructs/stripe-secrets';
import { StripeWebhookEndpoint } from './constructs/webhook-endpoint';
import type { StripeWebhooks } from './stripe-webhooks';

/** Adds the outputs every region has (the optional features add theirs where they are built). */
export function addStackOutputs(webhooks: StripeWebhooks, config: StripeWebhooksConfig): void {
  const isPrimary = webhooks.regionRole === 'primary';
  new CfnOutput(webhooks, 'WebhookUrl', {
    description: webhooks.failover
      ? "This region's own webhook URL (Stripe should use PublicWebhookUrl)"
      : isPrimary
        ? 'Register this URL as the Stripe webhook endpoint'
        : "This standby region's webhook URL (without failover.domainName, moving Stripe here is a manual step)",
    value: webhooks.ingress.webhookUrl,
  });
  new CfnOutput(webhooks, 'HealthUrl', { description: 'Health check (Route 53)', value: webhooks.ingress.healthUrl });
  new CfnOutput(webhooks, 'WebhookEventTypes', {
    description: 'Event types to enable on the Stripe webhook endpoint',
    value: config.eventTypes.join(','),
  });
  const putWhere = isPrimary ? 'here' : `in ${config.primaryRegion} (this region holds a read-only replica)`;
  new CfnOutput(webhooks, 'ApiKeySecretName', {
    description: `Put the Stripe API key ${putWhere} (aws secretsmanager put-secret-value)`,
    value: webhooks.secrets.apiKeySecretName,
  });
  new CfnOutput(webhooks, 'WebhookSecretName', {
    description: `Put the webhook signing secret(s) ${putWhere} (aws secretsmanager put-secret-value)`,
    value: webhooks.secrets.webhookSecretName,
  });
  new CfnOutput(webhooks, 'RegionRole', {
    description: 'primary: receives and processes events; secondary: standby that takes over on failover',
    value: webhooks.regionRole,
  });
  new CfnOutput(webhooks, 'EventQueueUrl', { value: webhooks.eventQueue.queue.queueUrl });
  new CfnOutput(webhooks, 'DeadLetterQueueUrl', {
    description: 'Failed events; redrive with sqs start-message-move-task',
    value: webhooks.eventQueue.deadLetterQueue.queueUrl,
  });
  new CfnOutput(webhooks, 'AlarmTopicArn', {
    description: 'Every alarm of this region notifies this SNS topic (subscribe on-call tooling to it)',
    value: webhooks.alarms.topic.topicArn,
  });
  new CfnOutput(webhooks, 'DashboardUrl', {
    description: 'The CloudWatch dashboard of this region',
    value: `https://${webhooks.region}.console.aws.amazon.com/cloudwatch/home?region=${webhooks.region}#dashboards/dashboard/${config.appName}-${webhooks.region}`,
  });
  new CfnOutput(webhooks, 'IdempotencyTableName', { value: webhooks.idempotencyTable.table.tableName });
  if (webhooks.eventSink) {
    new CfnOutput(webhooks, 'EventBusName', {
      description: 'Processed events are published here',
      value: webhooks.eventSink.bus.eventBusName,
    });
  }
}

/** The rotation of both secrets and the Stripe endpoint as code, in the region that owns the secrets. */
export function addSecretRotationAndEndpoint(
  webhooks: StripeWebhooks,
  secrets: StripeSecrets,
  config: StripeWebhooksConfig,
  logs: { logRetention: RetentionDays; tracing: boolean; logRemovalPolicy: RemovalPolicy },
): { secretRotation: StripeSecretRotation; webhookEndpoint: StripeWebhookEndpoint } {
  const endpointDescription = config.stripeEndpoint.description ?? `Stripe webhooks on AWS (${config.appName})`;
  const secretRotation = new StripeSecretRotation(webhooks, 'SecretRotation', {
    appName: config.appName,
    secrets,
    webhookUrl: webhooks.stripeWebhookUrl,
    eventTypes: config.eventTypes,
    ...(config.stripeEndpoint.apiVersion ? { endpointApiVersion: config.stripeEndpoint.apiVersion } : {}),
    endpointDescription,
    webhookSecretRotation: Duration.days(config.rotation.webhookSecretDays),
    apiKeyRotation: Duration.days(config.rotation.apiKeyDays),
    webhookOverlap: Duration.hours(config.rotation.webhookOverlapHours),
    ...(config.stripeApiVersion ? { stripeApiVersion: config.stripeApiVersion } : {}),
    logRetention: logs.logRetention,
    tracing: logs.tracing,
    logRemovalPolicy: logs.logRemovalPolicy,
  });
  // Also when not managed: turning management off must hand the endpoint over (an Update), not delete it.
  const webhookEndpoint = new StripeWebhookEndpoint(webhooks, 'WebhookEndpoint', {
    appName: config.appName,
    secrets,
    manage: config.stripeEndpoint.manage,
    // The public (failover) URL when there is one: the endpoint must survive a failover.
    webhookUrl: webhooks.stripeWebhookUrl,
    eventTypes: config.eventTypes,
    ...(config.stripeEndpoint.apiVersion ? { apiVersion: config.stripeEndpoint.apiVersion } : {}),
    description: endpointDescription,
    overlap: Duration.hours(config.rotation.webhookOverlapHours),
    logRetention: logs.logRetention,
    tracing: logs.tracing,
    logRemovalPolicy: logs.logRemovalPolicy,
  });
  // Secrets Manager runs the rotation function's testSecret when the schedule is created or changed, while the
  // endpoint resource may be writing the secret: its AWSPENDING test version would make the endpoint refuse to
  // write (a rotation "in progress"). The endpoint goes first.
  secretRotation.webhookSecretSchedule.node.addDependency(webhookEndpoint.resource);
  if (config.stripeEndpoint.manage) {
    new CfnOutput(webhooks, 'WebhookEndpointId', {
      description: 'The Stripe webhook endpoint this stack manages',
      value: webhookEndpoint.endpointId,
    });
  }
  return { secretRotation, webhookEndpoint };
}
