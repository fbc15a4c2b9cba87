/**
 * Everything one region needs to receive and process Stripe events. Composes the constructs; holds no logic beyond
 * turning the validated config into their props.
 *
 * Multi-region (docs/multi-region.md): every region runs the whole pipeline. The primary owns the DynamoDB global
 * table and the Stripe secrets, replicated to each secondary; a secondary creates its replica keys and refers to its
 * replicas by name. With `failover.domainName`, each region also owns its Route 53 failover record and health check.
 */
import { Aspects, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { HttpApi, HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { partnerEventSourceFor, type StripeWebhooksConfig } from '../config';
import { Alarms } from '../constructs/alarms';
import { AppWideAcknowledgements } from '../constructs/app-wide-acknowledgements';
import { StripeWebhooksDashboard } from '../constructs/dashboard';
import { keyAliasArn } from '../constructs/encryption-key';
import { EventQueue } from '../constructs/event-queue';
import { EventSink } from '../constructs/event-sink';
import { type FailoverRole, RegionalFailover } from '../constructs/failover';
import { type RegionHealthCheck, ROUTE53_METRICS_REGION } from '../constructs/health-check-alarms';
import { IdempotencyTable } from '../constructs/idempotency-table';
import { Ingress, WEBHOOK_PATH } from '../constructs/ingress';
import { PartnerEventIngress } from '../constructs/partner-events';
import { Processor } from '../constructs/processor';
import { Reconciler } from '../constructs/reconciler';
import { SecretReplicationCheck } from '../constructs/secret-replication-check';
import { StripeSecretRotation } from '../constructs/secret-rotation';
import { StripeSecrets, stripeSecretsKeyAlias } from '../constructs/stripe-secrets';
import { StripeSecretsReplica } from '../constructs/stripe-secrets-replica';
import { StripeWebhookEndpoint } from '../constructs/webhook-endpoint';
import { ingressAllowlist } from '../stripe-ips';
import { finishCrossRegionReferences } from './cross-region-references';

/** Whether a region receives and processes events (primary) or stands by for failover (secondary). */
export type RegionRole = 'primary' | 'secondary';

/** Props of a RegionalStack. */
export interface RegionalStackProps extends StackProps {
  readonly config: StripeWebhooksConfig;
  /**
   * The region's part in the active/passive setup. Both run the whole pipeline; the primary owns the global
   * idempotency table and the Stripe secrets (replicated to every secondary region), a secondary creates its replica
   * keys and refers to its replicas by name.
   * @default 'primary'
   */
  readonly regionRole?: RegionRole;
  /**
   * Other regions' Route 53 health checks to alarm on, with `healthCheckAlarmHost`. Their metrics exist only in
   * us-east-1, so only a us-east-1 stack creates these alarms (see lib/constructs/health-check-alarms.ts).
   * @default - none
   */
  readonly healthChecks?: readonly RegionHealthCheck[];
  /**
   * This (us-east-1) stack alarms on the app's health checks: its own and `healthChecks`. createRegionalStacks sets
   * it on a us-east-1 primary; otherwise the app's monitoring stack holds them (lib/app.ts).
   * @default false
   */
  readonly healthCheckAlarmHost?: boolean;
}

/** One region's Stripe webhook pipeline: secrets, queue, table, bus, ingress and processor. */
export class RegionalStack extends Stack {
  /** Whether this region is the primary or a standby. */
  readonly regionRole: RegionRole;
  /** The Stripe secrets: owned here (primary) or this region's replicas of them (secondary). */
  readonly secrets: StripeSecrets | StripeSecretsReplica;
  readonly eventQueue: EventQueue;
  readonly idempotencyTable: IdempotencyTable;
  readonly eventSink: EventSink;
  readonly ingress: Ingress;
  readonly processor: Processor;
  /** The scheduled reconciler; undefined when `reconcile.enabled` is false. */
  readonly reconciler: Reconciler | undefined;
  /** Rotation of both secrets (primary region only). */
  readonly secretRotation?: StripeSecretRotation;
  /** The check that the secrets' replicas are in sync (primary region, with secondary regions). */
  readonly replicationCheck?: SecretReplicationCheck;
  /** The Stripe endpoint as code (primary region; it changes Stripe only with `stripeEndpoint.manage`). */
  readonly webhookEndpoint?: StripeWebhookEndpoint;
  /** The custom domain, health check and failover record, when `failover.domainName` is configured. */
  readonly failover?: RegionalFailover;
  /** The rule on Stripe's partner event bus, when this region has a partner event source configured. */
  readonly partnerEvents?: PartnerEventIngress;
  /**
   * The URL to register with Stripe: `https://<failover.domainName>/stripe/webhook` when failover is configured (the
   * same in every region), else this region's own API URL.
   */
  readonly stripeWebhookUrl: string;
  /** CloudWatch alarms of this region and the SNS topic they notify. */
  readonly alarms: Alarms;
  /** The region's operations dashboard. */
  readonly dashboard: StripeWebhooksDashboard;

  constructor(scope: Construct, id: string, props: RegionalStackProps) {
    const { config, regionRole, healthChecks, healthCheckAlarmHost, ...stackProps } = props;
    const retain = config.removalPolicy === 'retain';
    super(scope, id, {
      description: `Stripe webhooks (${config.appName}): verified ingress, FIFO queue, idempotent processor, EventBridge sink`,
      // Deleting the stack by mistake must not be one command away when it holds payments data; a region on its way
      // out (removingRegions) drops it, so that its stack can be deleted (docs/multi-region.md).
      terminationProtection: retain && !config.removingRegions.includes(stackProps.env?.region ?? ''),
      // Health check ids travel to the us-east-1 stack that alarms on them (lib/stacks/cross-region-references.ts).
      crossRegionReferences: config.failover.domainName !== undefined,
      ...stackProps,
    });
    this.regionRole = regionRole ?? 'primary';
    Aspects.of(this).add(new AppWideAcknowledgements());
    const removalPolicy = retain ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY;
    const logRetention = config.logRetentionDays as RetentionDays;
    const processorTimeout = Duration.seconds(config.processor.timeoutSeconds);

    const isPrimary = this.regionRole === 'primary';

    // Secrets: created in the primary, replicated to each secondary region under the same name. A replica is
    // encrypted with the secondary's own key, named here by alias ARN (keys are regional; no cross-region reference).
    this.secrets = isPrimary
      ? new StripeSecrets(this, 'StripeSecrets', {
          appName: config.appName,
          removalPolicy,
          replicaRegions: config.secondaryRegions.map((region) => ({
            region,
            encryptionKey: Key.fromKeyArn(
              this,
              `SecretsReplicaKey-${region}`,
              keyAliasArn(this, region, stripeSecretsKeyAlias(config.appName)),
            ),
          })),
        })
      : new StripeSecretsReplica(this, 'StripeSecrets', {
          appName: config.appName,
          primaryRegion: config.primaryRegion,
          removalPolicy,
        });

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
      // One global table: event ids claimed in any region are seen in every region (about a second later).
      ...(isPrimary
        ? { replicaRegions: config.secondaryRegions, unprotectedReplicaRegions: config.removingRegions }
        : { placement: 'replica' as const }),
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
      apiGatewayAccountRole: config.ingress.apiGatewayAccountRole,
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

    const partnerSource = partnerEventSourceFor(config, this.region);
    if (partnerSource !== undefined) {
      this.partnerEvents = new PartnerEventIngress(this, 'PartnerEvents', {
        appName: config.appName,
        partnerEventSourceName: partnerSource,
        ingressFunction: this.ingress.function,
        // Active/passive: a standby's rule waits, disabled, until a failover enables it (docs/multi-region.md).
        enabled: isPrimary,
        removalPolicy,
      });
      new CfnOutput(this, 'PartnerEventRuleName', {
        description: isPrimary
          ? 'Rule feeding Stripe EventBridge events to the ingress'
          : 'Disabled standby rule: enable it on failover (aws events enable-rule --event-bus-name <source> --name <rule>)',
        value: this.partnerEvents.ruleName,
      });
      new CfnOutput(this, 'PartnerEventsDeadLetterQueueUrl', {
        description:
          'Stripe EventBridge events the ingress could not take (redrive: aws lambda invoke --invocation-type Event)',
        value: this.partnerEvents.deadLetterQueue.queueUrl,
      });
    }

    const { domainName, hostedZoneId, hostedZoneName } = config.failover;
    if (domainName !== undefined && hostedZoneId !== undefined && hostedZoneName !== undefined) {
      const certificateArn = config.failover.certificateArns[this.region];
      // A single region is a PRIMARY failover record too, so that a standby can be added later (lib/constructs/failover.ts).
      const role: FailoverRole = isPrimary ? 'primary' : 'secondary';
      const { api, stage } = this.ingress;
      // The config refuses failover with the REST variant (its custom domain is not built); this keeps the types honest.
      if (!(api instanceof HttpApi) || !(stage instanceof HttpStage)) {
        throw new Error('failover.domainName needs ingress.apiType "http"');
      }
      this.failover = new RegionalFailover(this, 'Failover', {
        api,
        stage,
        domainName,
        hostedZoneId,
        hostedZoneName,
        ...(certificateArn ? { certificateArn } : {}),
        role,
        healthCheckInterval: Duration.seconds(config.failover.healthCheck.intervalSeconds),
        failureThreshold: config.failover.healthCheck.failureThreshold,
        setIdentifier: `${config.appName}-${this.region}`,
      });
      new CfnOutput(this, 'PublicWebhookUrl', {
        description: 'Register this URL as the Stripe webhook endpoint (Route 53 sends it to the healthy region)',
        value: `${this.failover.publicUrl}${WEBHOOK_PATH}`,
      });
      new CfnOutput(this, 'HealthCheckId', {
        description: `Route 53 health check of this region (aws route53 get-health-check-status --health-check-id ...)`,
        value: this.failover.healthCheck.healthCheckId,
      });
    }

    this.stripeWebhookUrl = this.failover ? `${this.failover.publicUrl}${WEBHOOK_PATH}` : this.ingress.webhookUrl;

    this.reconciler = config.reconcile.enabled
      ? new Reconciler(this, 'Reconciler', {
          appName: config.appName,
          eventQueue: this.eventQueue,
          table: this.idempotencyTable,
          secrets: this.secrets,
          // Active/passive: only the active region reconciles; a standby's schedule is enabled on failover.
          enabled: isPrimary,
          interval: Duration.minutes(config.reconcile.intervalMinutes),
          maxRequestsPerSecond: config.reconcile.maxRequestsPerSecond,
          grace: Duration.seconds(config.reconcile.graceSeconds),
          overlap: Duration.seconds(config.reconcile.overlapSeconds),
          // Only what the webhook endpoint subscribes to: the other types were never meant to be processed.
          eventTypes: config.eventTypes,
          ...(config.stripeApiVersion ? { stripeApiVersion: config.stripeApiVersion } : {}),
          logRetention,
          logRemovalPolicy: removalPolicy,
        })
      : undefined;

    // Rotation and the endpoint run in the primary region only, which owns the secrets (a standby reads replicas):
    // two regions rotating would create two Stripe endpoints per rotation.
    if (this.secrets instanceof StripeSecrets) {
      const endpointDescription = config.stripeEndpoint.description ?? `Stripe webhooks on AWS (${config.appName})`;
      this.secretRotation = new StripeSecretRotation(this, 'SecretRotation', {
        appName: config.appName,
        secrets: this.secrets,
        webhookUrl: this.stripeWebhookUrl,
        eventTypes: config.eventTypes,
        ...(config.stripeEndpoint.apiVersion ? { endpointApiVersion: config.stripeEndpoint.apiVersion } : {}),
        endpointDescription,
        webhookSecretRotation: Duration.days(config.rotation.webhookSecretDays),
        apiKeyRotation: Duration.days(config.rotation.apiKeyDays),
        webhookOverlap: Duration.hours(config.rotation.webhookOverlapHours),
        ...(config.stripeApiVersion ? { stripeApiVersion: config.stripeApiVersion } : {}),
        logRetention,
        logRemovalPolicy: removalPolicy,
      });
      // Also when not managed: turning management off must hand the endpoint over (an Update), not delete it.
      this.webhookEndpoint = new StripeWebhookEndpoint(this, 'WebhookEndpoint', {
        appName: config.appName,
        secrets: this.secrets,
        manage: config.stripeEndpoint.manage,
        // The public (failover) URL when there is one: the endpoint must survive a failover.
        webhookUrl: this.stripeWebhookUrl,
        eventTypes: config.eventTypes,
        ...(config.stripeEndpoint.apiVersion ? { apiVersion: config.stripeEndpoint.apiVersion } : {}),
        description: endpointDescription,
        overlap: Duration.hours(config.rotation.webhookOverlapHours),
        logRetention,
        logRemovalPolicy: removalPolicy,
      });
      // Secrets Manager runs the rotation function's testSecret when the schedule is created or changed, while the
      // endpoint resource may be writing the secret: its AWSPENDING test version would make the endpoint refuse to
      // write (a rotation "in progress"). The endpoint goes first.
      this.secretRotation.webhookSecretSchedule.node.addDependency(this.webhookEndpoint.resource);
      if (config.stripeEndpoint.manage) {
        new CfnOutput(this, 'WebhookEndpointId', {
          description: 'The Stripe webhook endpoint this stack manages',
          value: this.webhookEndpoint.endpointId,
        });
      }
    }

    // The secrets' replicas: a write that could not reach one is an alarm (lib/constructs/secret-replication-check.ts).
    this.replicationCheck =
      this.secrets instanceof StripeSecrets && this.secrets.replicaRegions.length > 0
        ? new SecretReplicationCheck(this, 'SecretReplicationCheck', {
            appName: config.appName,
            secrets: this.secrets,
            logRetention,
            logRemovalPolicy: removalPolicy,
          })
        : undefined;

    // What runs here decides which optional alarms exist: the reconciler only where its schedule is enabled, the
    // rotation only in the region that owns the secrets, the health checks in the app's us-east-1 alarm host.
    const reconcilerEnabled = this.reconciler !== undefined && isPrimary;
    const rotationEnabled = this.secretRotation !== undefined;
    const ownCheck = regionalHealthChecks(this);
    const alarmedChecks = healthCheckAlarmHost ? [...ownCheck, ...(healthChecks ?? [])] : (healthChecks ?? []);
    // Every dashboard graphs its own region's check (dashboards may read us-east-1 metrics), the host all of them.
    const graphedChecks = healthCheckAlarmHost ? alarmedChecks : [...ownCheck, ...(healthChecks ?? [])];
    this.alarms = new Alarms(this, 'Alarms', {
      appName: config.appName,
      ingress: this.ingress,
      processor: this.processor,
      eventQueue: this.eventQueue,
      config: config.alarms,
      removalPolicy,
      healthChecks: alarmedChecks,
      reconcilerEnabled,
      rotationEnabled,
      ...(this.replicationCheck ? { replicationCheckServiceName: this.replicationCheck.serviceName } : {}),
      ...(this.secrets instanceof StripeSecrets
        ? { rotatedSecretArns: [this.secrets.apiKey.secretArn, this.secrets.webhookSecret.secretArn] }
        : {}),
    });
    this.dashboard = new StripeWebhooksDashboard(this, 'Dashboard', {
      appName: config.appName,
      ingress: this.ingress,
      processor: this.processor,
      eventQueue: this.eventQueue,
      alarms: this.alarms,
      healthChecks: graphedChecks,
      reconcilerEnabled,
      rotationEnabled,
    });

    new CfnOutput(this, 'WebhookUrl', {
      description: this.failover
        ? "This region's own webhook URL (Stripe should use PublicWebhookUrl)"
        : isPrimary
          ? 'Register this URL as the Stripe webhook endpoint'
          : "This standby region's webhook URL (without failover.domainName, moving Stripe here is a manual step)",
      value: this.ingress.webhookUrl,
    });
    new CfnOutput(this, 'HealthUrl', { description: 'Health check (Route 53)', value: this.ingress.healthUrl });
    new CfnOutput(this, 'WebhookEventTypes', {
      description: 'Event types to enable on the Stripe webhook endpoint',
      value: config.eventTypes.join(','),
    });
    const putWhere = isPrimary ? 'here' : `in ${config.primaryRegion} (this region holds a read-only replica)`;
    new CfnOutput(this, 'ApiKeySecretName', {
      description: `Put the Stripe API key ${putWhere} (aws secretsmanager put-secret-value)`,
      value: this.secrets.apiKeySecretName,
    });
    new CfnOutput(this, 'WebhookSecretName', {
      description: `Put the webhook signing secret(s) ${putWhere} (aws secretsmanager put-secret-value)`,
      value: this.secrets.webhookSecretName,
    });
    new CfnOutput(this, 'RegionRole', {
      description: 'primary: receives and processes events; secondary: standby that takes over on failover',
      value: this.regionRole,
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
    if (this.failover) finishCrossRegionReferences(this);
    new CfnOutput(this, 'EventBusName', {
      description: 'Processed events are published here',
      value: this.eventSink.bus.eventBusName,
    });
  }
}

/**
 * One RegionalStack per configured region, named `<appName>-<region>`: the primary region first, then each
 * secondary region. Everything global (Route 53 failover records and health checks) belongs to the region it points
 * at, so each regional stack creates its own record.
 *
 * The primary depends on every secondary: its global-table replicas and secret replicas are encrypted with keys the
 * secondary stacks create, so `cdk deploy --all` deploys the secondaries first (and destroys them last). With a
 * domain and a us-east-1 primary, the primary also alarms on every region's health check (their metrics live in
 * us-east-1); any other primary leaves that to the app's monitoring stack (buildApp, lib/app.ts).
 */
export function createRegionalStacks(scope: Construct, config: StripeWebhooksConfig): RegionalStack[] {
  const stackFor = (region: string, regionRole: RegionRole, extra: Partial<RegionalStackProps> = {}) =>
    new RegionalStack(scope, `${config.appName}-${region}`, {
      env: { account: config.account, region },
      config,
      regionRole,
      ...extra,
    });
  // The secondaries first: a us-east-1 primary alarms on their health checks.
  const secondaries = config.secondaryRegions.map((region) => stackFor(region, 'secondary'));
  const primaryHostsAlarms =
    config.failover.domainName !== undefined && config.primaryRegion === ROUTE53_METRICS_REGION;
  const primary = stackFor(
    config.primaryRegion,
    'primary',
    primaryHostsAlarms ? { healthCheckAlarmHost: true, healthChecks: secondaries.flatMap(regionalHealthChecks) } : {},
  );
  for (const secondary of secondaries) {
    primary.addStackDependency(
      secondary,
      'the primary replicates its table and secrets with keys the secondary creates',
    );
  }
  return [primary, ...secondaries];
}

/** The health check of a stack's failover record, if it has one. */
export function regionalHealthChecks(stack: RegionalStack): RegionHealthCheck[] {
  return stack.failover ? [{ region: stack.region, healthCheckId: stack.failover.healthCheck.healthCheckId }] : [];
}
