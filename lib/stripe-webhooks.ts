/**
 * `StripeWebhooks`: one region's whole Stripe webhook pipeline, in the caller's stack. The props are the validated
 * configuration (lib/config/: every field optional, the same defaults, validation and messages as cdk.json's
 * `stripeWebhooks`); the typed properties expose what users extend: the queue, DLQ, table, bus, ingress URL, alarm
 * topic and functions. Composes the constructs; holds no logic beyond turning the config into their props.
 *
 * Multi-region (docs/multi-region.md): every region runs the whole pipeline. The primary owns the DynamoDB global
 * table and the Stripe secrets, replicated to each secondary; a secondary creates its replica keys and refers to its
 * replicas by name. With `failover.domainName`, each region also owns its Route 53 failover record and health check.
 * `createRegionalStacks` (lib/stacks/regional-stack.ts) builds that set of stacks.
 */
import { Aspects, CfnOutput, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { HttpApi, HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { parseConfig, partnerEventSourceFor, type StripeWebhooksConfig } from './config';
import { Alarms } from './constructs/alarms';
import { AppWideAcknowledgements } from './constructs/app-wide-acknowledgements';
import { StripeWebhooksDashboard } from './constructs/dashboard';
import { keyAliasArn } from './constructs/encryption-key';
import { EventQueue } from './constructs/event-queue';
import { EventSink } from './constructs/event-sink';
import { type FailoverRole, RegionalFailover } from './constructs/failover';
import { type AddHandlerOptions, HandlerLambdas, type RegisteredHandler } from './constructs/handler-lambdas';
import { IdempotencyTable } from './constructs/idempotency-table';
import { Ingress, WEBHOOK_PATH } from './constructs/ingress';
import { PartnerEventIngress } from './constructs/partner-events';
import { Processor } from './constructs/processor';
import { Reconciler } from './constructs/reconciler';
import { SecretReplicationCheck } from './constructs/secret-replication-check';
import type { StripeSecretRotation } from './constructs/secret-rotation';
import { StripeSecrets, stripeSecretsKeyAlias } from './constructs/stripe-secrets';
import { StripeSecretsReplica } from './constructs/stripe-secrets-replica';
import type { StripeWebhookEndpoint } from './constructs/webhook-endpoint';
import { finishCrossRegionReferences } from './stacks/cross-region-references';
import { ingressAllowlist } from './stripe-ips';
import { addSecretRotationAndEndpoint, addStackOutputs } from './stripe-webhooks-outputs';
import { checkRegion, type RegionRole, regionalHealthChecks, type StripeWebhooksProps } from './stripe-webhooks-props';

export { type RegionRole, regionalHealthChecks, type StripeWebhooksProps };

/** One region's Stripe webhook pipeline: secrets, queue, table, bus, ingress and processor. */
export class StripeWebhooks extends Construct {
  /** The validated configuration, every default filled in. */
  readonly config: StripeWebhooksConfig;
  /** The region this pipeline runs in (the stack's region). */
  readonly region: string;
  /** Whether this region is the primary or a standby. */
  readonly regionRole: RegionRole;
  /** The Stripe secrets: owned here (primary) or this region's replicas of them (secondary). */
  readonly secrets: StripeSecrets | StripeSecretsReplica;
  readonly eventQueue: EventQueue;
  readonly idempotencyTable: IdempotencyTable;
  /** The EventBridge bus processed events are published to; none with `eventSink.enabled: false`. */
  readonly eventSink?: EventSink;
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

  /** The FIFO event queue (one message group per Stripe object). */
  get queue(): IQueue {
    return this.eventQueue.queue;
  }
  /** The FIFO dead-letter queue: events that failed for good, each with its reason in message attributes. */
  get deadLetterQueue(): IQueue {
    return this.eventQueue.deadLetterQueue;
  }
  /** The idempotency table (a global table with secondary regions). */
  get table(): ITableV2 {
    return this.idempotencyTable.table;
  }
  /** The EventBridge bus every processed event is published to; undefined with `eventSink.enabled: false`. */
  get eventBus(): IEventBus | undefined {
    return this.eventSink?.bus;
  }
  /** This region's own webhook URL (`stripeWebhookUrl` is the one to register with Stripe). */
  get webhookUrl(): string {
    return this.ingress.webhookUrl;
  }
  /** The SNS topic every alarm of this region notifies. */
  get alarmTopic(): ITopic {
    return this.alarms.topic;
  }
  /** The ingress Lambda (verifies signatures, enqueues). */
  get ingressFunction(): IFunction {
    return this.ingress.function;
  }
  /** The processor Lambda (deduplicates, fetches the current object, runs the handlers, publishes). */
  get processorFunction(): IFunction {
    return this.processor.function;
  }

  /** The handler Lambdas added with addHandler (none until the first). */
  private handlerLambdas?: HandlerLambdas;

  /** The handlers added with addHandler, in order. */
  get handlers(): readonly RegisteredHandler[] {
    return this.handlerLambdas?.handlers ?? [];
  }

  /**
   * Adds a handler Lambda: after fetch-before-process, the processor invokes `handler` with each matching event and
   * the object as it is now in Stripe (docs/handler-lambdas.md), once per event; a retry runs only the handlers that
   * have not succeeded. Grants the processor lambda:InvokeFunction on it, gives it an error alarm and a dashboard row
   * (and a log group with the pipeline's retention when it has none). Throws when its event types are not
   * subscribed or its timeout does not fit the processor's.
   */
  addHandler(options: AddHandlerOptions): RegisteredHandler {
    this.handlerLambdas ??= new HandlerLambdas(this, 'HandlerLambdas', {
      appName: this.config.appName,
      processor: this.processor,
      processorTimeout: Duration.seconds(this.config.processor.timeoutSeconds),
      subscribedTypes: this.config.eventTypes,
      alarms: this.alarms,
      dashboard: this.dashboard,
      logRetention: this.config.logRetentionDays as RetentionDays,
      logRemovalPolicy:
        this.config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });
    return this.handlerLambdas.add(options);
  }

  constructor(scope: Construct, id: string, props: StripeWebhooksProps = {}) {
    super(scope, id);
    const { regionRole, healthChecks, healthCheckAlarmHost, ...settings } = props;
    this.regionRole = regionRole ?? 'primary';
    const isPrimary = this.regionRole === 'primary';
    const stackRegion = Stack.of(this).region;
    const regionKnown = !Token.isUnresolved(stackRegion);
    // A primary in a stack with a region needs no primaryRegion: it is the stack's.
    const config = parseConfig(
      isPrimary && regionKnown && settings.primaryRegion === undefined
        ? { ...settings, primaryRegion: stackRegion }
        : settings,
      [`props of ${this.node.path}`],
    );
    this.config = config;
    // A region-agnostic stack is taken to be in the primary region (a secondary needs a stack with a region).
    const region = regionKnown ? stackRegion : config.primaryRegion;
    checkRegion(this.node.path, this.regionRole, region, regionKnown, config);
    this.region = region;
    Aspects.of(this).add(new AppWideAcknowledgements());
    const retain = config.removalPolicy === 'retain';
    const removalPolicy = retain ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY;
    const logRetention = config.logRetentionDays as RetentionDays;
    const { tracing } = config.observability;
    const processorTimeout = Duration.seconds(config.processor.timeoutSeconds);

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

    // Without the sink, handler Lambdas (addHandler) are where processed events go: no bus, no PutEvents per event.
    this.eventSink = config.eventSink.enabled
      ? new EventSink(this, 'EventSink', {
          eventBusName: `${config.appName}-events`,
          ...(config.eventSink.archiveRetentionDays > 0
            ? { archiveRetention: Duration.days(config.eventSink.archiveRetentionDays) }
            : {}),
        })
      : undefined;

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
      functionUrlReservedConcurrency: config.ingress.functionUrlReservedConcurrency,
      waf: config.ingress.waf,
      wafRateLimitPer5Minutes: config.ingress.wafRateLimitPer5Minutes,
      apiGatewayAccountRole: config.ingress.apiGatewayAccountRole,
      allowedSourceIps: ingressAllowlist(config.ingress),
      logRetention,
      tracing,
      logRemovalPolicy: removalPolicy,
    });

    this.processor = new Processor(this, 'Processor', {
      appName: config.appName,
      eventQueue: this.eventQueue,
      table: this.idempotencyTable,
      secrets: this.secrets,
      ...(this.eventSink ? { sink: this.eventSink } : {}),
      memorySize: config.processor.memoryMb,
      timeout: processorTimeout,
      batchSize: config.processor.batchSize,
      maxConcurrency: config.processor.maxConcurrency,
      leaseSeconds: config.idempotency.leaseSeconds,
      doneTtlDays: config.idempotency.doneTtlDays,
      ...(config.stripeApiVersion ? { stripeApiVersion: config.stripeApiVersion } : {}),
      ...(config.stripe.maxRequestsPerSecond !== undefined
        ? { stripeMaxRequestsPerSecond: config.stripe.maxRequestsPerSecond }
        : {}),
      stripeReservedRequestsPerSecond: config.reconcile.enabled ? config.reconcile.maxRequestsPerSecond : 0,
      logRetention,
      tracing,
      logRemovalPolicy: removalPolicy,
    });

    const partnerSource = partnerEventSourceFor(config, region);
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
      const certificateArn = config.failover.certificateArns[region];
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
        setIdentifier: `${config.appName}-${region}`,
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
          tracing,
          logRemovalPolicy: removalPolicy,
        })
      : undefined;

    // Rotation and the endpoint run in the primary region only, which owns the secrets (a standby reads replicas):
    // two regions rotating would create two Stripe endpoints per rotation.
    if (this.secrets instanceof StripeSecrets) {
      const owned = addSecretRotationAndEndpoint(this, this.secrets, config, {
        logRetention,
        tracing,
        logRemovalPolicy: removalPolicy,
      });
      this.secretRotation = owned.secretRotation;
      this.webhookEndpoint = owned.webhookEndpoint;
    }

    // The secrets' replicas: a write that could not reach one is an alarm (lib/constructs/secret-replication-check.ts).
    this.replicationCheck =
      this.secrets instanceof StripeSecrets && this.secrets.replicaRegions.length > 0
        ? new SecretReplicationCheck(this, 'SecretReplicationCheck', {
            appName: config.appName,
            secrets: this.secrets,
            logRetention,
            tracing,
            logRemovalPolicy: removalPolicy,
          })
        : undefined;

    // What runs here decides which optional alarms exist: the reconciler only where its schedule is enabled, the
    // rotation only in the region that owns the secrets, the health checks in the app's us-east-1 alarm host.
    const reconcilerEnabled = this.reconciler !== undefined && isPrimary;
    const rotationEnabled = this.secretRotation !== undefined;
    const ownCheck = regionalHealthChecks({ region, failover: this.failover });
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

    addStackOutputs(this, config);
    if (this.failover) finishCrossRegionReferences(Stack.of(this));
  }
}
