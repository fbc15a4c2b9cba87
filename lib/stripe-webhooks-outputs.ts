/**
 * The CloudFormation outputs of a StripeWebhooks pipeline: what an operator needs after a deploy (the URL to register
 * with Stripe, the secret names to fill, the queues, table, bus, alarm topic and dashboard).
 */
import { CfnOutput } from 'aws-cdk-lib';
import type { StripeWebhooksConfig } from './config';
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
  new CfnOutput(webhooks, 'EventBusName', {
    description: 'Processed events are published here',
    value: webhooks.eventSink.bus.eventBusName,
  });
}
