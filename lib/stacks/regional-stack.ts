/**
 * Everything one region needs to receive and process Stripe events. Composes the constructs; holds no logic beyond
 * turning the validated config into their props.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { StripeWebhooksConfig } from '../config';
import { Alarms, type RegionHealthCheck } from '../constructs/alarms';
import { StripeWebhooksDashboard } from '../constructs/dashboard';
import { EventQueue } from '../constructs/event-queue';
import { EventSink } from '../constructs/event-sink';
import { IdempotencyTable } from '../constructs/idempotency-table';
import { Ingress } from '../constructs/ingress';
import { Processor } from '../constructs/processor';
import { StripeSecrets } from '../constructs/stripe-secrets';
import { ingressAllowlist } from '../stripe-ips';

/** Whether a region receives and processes events (primary) or stands by for failover (secondary). */
export type RegionRole = 'primary' | 'secondary';

/** Props of a RegionalStack. */
export interface RegionalStackProps extends StackProps {
  readonly config: StripeWebhooksConfig;
  /**
   * The region's part in the active/passive setup. Both build the same pipeline today; issue 4 makes the primary
   * own the global table and replicated secrets, and the secondaries reference them.
   * @default 'primary'
   */
  readonly regionRole?: RegionRole;
  /**
   * Route 53 health checks to alarm on. Their metrics exist only in us-east-1, so only a us-east-1 stack creates
   * these alarms: give it every region's health check (see lib/constructs/alarms.ts).
   * @default - none
   */
  readonly healthChecks?: readonly RegionHealthCheck[];
  /** A reconciler runs in this region: alarm on ReconcileMissedEvents and its Stripe 429s. @default false */
  readonly reconcilerEnabled?: boolean;
  /** A Stripe secret rotation runs in this region: alarm on RotationFailed. @default false */
  readonly rotationEnabled?: boolean;
}

/** One region's Stripe webhook pipeline: secrets, queue, table, bus, ingress and processor. */
export class RegionalStack extends Stack {
  /** Whether this region is the primary or a standby. */
  readonly regionRole: RegionRole;
  readonly secrets: StripeSecrets;
  readonly eventQueue: EventQueue;
  readonly idempotencyTable: IdempotencyTable;
  readonly eventSink: EventSink;
  readonly ingress: Ingress;
  readonly processor: Processor;
  /** CloudWatch alarms of this region and the SNS topic they notify. */
  readonly alarms: Alarms;
  /** The region's operations dashboard. */
  readonly dashboard: StripeWebhooksDashboard;

  constructor(scope: Construct, id: string, props: RegionalStackProps) {
    const { config, regionRole, healthChecks, reconcilerEnabled, rotationEnabled, ...stackProps } = props;
    const retain = config.removalPolicy === 'retain';
    super(scope, id, {
      description: `Stripe webhooks (${config.appName}): verified ingress, FIFO queue, idempotent processor, EventBridge sink`,
      // Deleting the stack by mistake must not be one command away when it holds payments data.
      terminationProtection: retain,
      ...stackProps,
    });
    this.regionRole = regionRole ?? 'primary';
    const removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const logRetention = config.logRetentionDays as RetentionDays;
    const processorTimeout = Duration.seconds(config.processor.timeoutSeconds);

    this.secrets = new StripeSecrets(this, 'StripeSecrets', { appName: config.appName, removalPolicy });

    this.eventQueue = new EventQueue(this, 'EventQueue', {
      namePrefix: config.appName,
      processorTimeout,
      maxReceiveCount: config.queue.maxReceiveCount,
      retentionPeriod: Duration.days(config.queue.retentionDays),
      deadLetterRetentionPeriod: Duration.days(config.queue.dlqRetentionDays),
      removalPolicy,
    });

    this.idempotencyTable = new IdempotencyTable(this, 'IdempotencyTable', {
      tableName: `${config.appName}-idempotency`,
      namePrefix: config.appName,
      removalPolicy,
    });

    this.eventSink = new EventSink(this, 'EventSink', {
      eventBusName: `${config.appName}-events`,
      ...(config.eventSink.archiveRetentionDays > 0
        ? { archiveRetention: Duration.days(config.eventSink.archiveRetentionDays) }
        : {}),
    });

    this.ingress = new Ingress(this, 'Ingress', {
      appName: config.appName,
      eventQueue: this.eventQueue,
      secrets: this.secrets,
      memorySize: config.ingress.memoryMb,
      timeout: Duration.seconds(config.ingress.timeoutSeconds),
      throttle: { rateLimit: config.ingress.throttleRatePerSecond, burstLimit: config.ingress.throttleBurst },
      maxBodyBytes: config.ingress.maxBodyBytes,
      signatureTolerance: Duration.seconds(config.ingress.signatureToleranceSeconds),
      apiType: config.ingress.apiType,
      waf: config.ingress.waf,
      wafRateLimitPer5Minutes: config.ingress.wafRateLimitPer5Minutes,
      allowedSourceIps: ingressAllowlist(config.ingress),
      logRetention,
      logRemovalPolicy: removalPolicy,
    });

    this.processor = new Processor(this, 'Processor', {
      appName: config.appName,
      eventQueue: this.eventQueue,
      table: this.idempotencyTable,
      secrets: this.secrets,
      sink: this.eventSink,
      memorySize: config.processor.memoryMb,
      timeout: processorTimeout,
      batchSize: config.processor.batchSize,
      maxConcurrency: config.processor.maxConcurrency,
      leaseSeconds: config.idempotency.leaseSeconds,
      doneTtlDays: config.idempotency.doneTtlDays,
      ...(config.stripeApiVersion ? { stripeApiVersion: config.stripeApiVersion } : {}),
      logRetention,
      logRemovalPolicy: removalPolicy,
    });

    this.alarms = new Alarms(this, 'Alarms', {
      appName: config.appName,
      ingress: this.ingress,
      processor: this.processor,
      eventQueue: this.eventQueue,
      config: config.alarms,
      removalPolicy,
      ...(healthChecks ? { healthChecks } : {}),
      ...(reconcilerEnabled !== undefined ? { reconcilerEnabled } : {}),
      ...(rotationEnabled !== undefined ? { rotationEnabled } : {}),
    });

    this.dashboard = new StripeWebhooksDashboard(this, 'Dashboard', {
      appName: config.appName,
      ingress: this.ingress,
      processor: this.processor,
      eventQueue: this.eventQueue,
      alarms: this.alarms,
      ...(healthChecks ? { healthChecks } : {}),
      ...(reconcilerEnabled !== undefined ? { reconcilerEnabled } : {}),
      ...(rotationEnabled !== undefined ? { rotationEnabled } : {}),
    });

    new CfnOutput(this, 'WebhookUrl', {
      description: 'Register this URL as the Stripe webhook endpoint',
      value: this.ingress.webhookUrl,
    });
    new CfnOutput(this, 'HealthUrl', { description: 'Health check (Route 53)', value: this.ingress.healthUrl });
    new CfnOutput(this, 'WebhookEventTypes', {
      description: 'Event types to enable on the Stripe webhook endpoint',
      value: config.eventTypes.join(','),
    });
    new CfnOutput(this, 'ApiKeySecretName', {
      description: 'Put the Stripe API key here (aws secretsmanager put-secret-value)',
      value: this.secrets.apiKeySecretName,
    });
    new CfnOutput(this, 'WebhookSecretName', {
      description: 'Put the webhook signing secret(s) here (aws secretsmanager put-secret-value)',
      value: this.secrets.webhookSecretName,
    });
    new CfnOutput(this, 'EventQueueUrl', { value: this.eventQueue.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      description: 'Failed events; redrive with sqs start-message-move-task',
      value: this.eventQueue.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'Every alarm of this region notifies this SNS topic (subscribe on-call tooling to it)',
      value: this.alarms.topic.topicArn,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description: 'The CloudWatch dashboard of this region',
      value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards/dashboard/${config.appName}-${this.region}`,
    });
    new CfnOutput(this, 'IdempotencyTableName', { value: this.idempotencyTable.table.tableName });
    new CfnOutput(this, 'EventBusName', {
      description: 'Processed events are published here',
      value: this.eventSink.bus.eventBusName,
    });
  }
}

/**
 * One RegionalStack per configured region, named `<appName>-<region>`: the primary region first, then each
 * secondary region.
 */
export function createRegionalStacks(scope: Construct, config: StripeWebhooksConfig): RegionalStack[] {
  const regions: { region: string; regionRole: RegionRole }[] = [
    { region: config.primaryRegion, regionRole: 'primary' },
    ...config.secondaryRegions.map((region) => ({ region, regionRole: 'secondary' as const })),
  ];
  return regions.map(
    ({ region, regionRole }) =>
      new RegionalStack(scope, `${config.appName}-${region}`, {
        env: { account: config.account, region },
        config,
        regionRole,
      }),
  );
}
