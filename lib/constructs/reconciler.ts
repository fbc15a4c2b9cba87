/**
 * The reconciler: a Lambda that an EventBridge Scheduler schedule runs every few minutes. It lists Stripe's events
 * since its checkpoint and enqueues each one the idempotency table has not seen as DONE (lambdas/reconciler/core.ts),
 * so an event whose webhook deliveries all failed is still processed.
 *
 * Least privilege: it reads any item of the idempotency table (event records) but writes only its own two items
 * (lock and checkpoint, by a `dynamodb:LeadingKeys` condition), sends to the event queue (and parks events that can
 * never be enqueued on its DLQ), reads the API key; the
 * schedule invokes it through a role of its own that may invoke this function only.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Grant, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { reconcilerEnv } from '../../lambdas/reconciler/env';
import { CHECKPOINT_KEY, LOCK_KEY } from '../../lambdas/reconciler/keys';
import type { EnvInput } from '../../lambdas/shared/env';
import { DEFAULT_CONFIG } from '../config';
import { grantKeyViaService } from './encryption-key';
import type { EventQueue } from './event-queue';
import type { IdempotencyTable } from './idempotency-table';
import { lambdaEntry, NodeFunction } from './node-function';
import type { StripeSecretReader } from './stripe-secret-reader';

/** Lambda's environment is limited to 4 KB in all; the event type list must leave room for the rest. */
const MAX_EVENT_TYPES_CHARS = 3_000;

/** Props of Reconciler. */
export interface ReconcilerProps {
  /** Prefix of the function and schedule names. */
  readonly appName: string;
  readonly eventQueue: EventQueue;
  readonly table: IdempotencyTable;
  /** The Stripe API key is read from here (the secrets, or their replicas in a standby region). */
  readonly secrets: StripeSecretReader;
  /**
   * Whether the schedule runs. A standby region's reconciler is deployed disabled: with active/passive processing
   * only the active region reconciles (docs/multi-region.md says when to enable it).
   * @default true
   */
  readonly enabled?: boolean;
  /** Time between runs (whole minutes, 1..1440). @default - the config's `reconcile.intervalMinutes` */
  readonly interval?: Duration;
  /** Stripe requests per second at most. @default - MAX_REQUESTS_PER_SECOND's default (lambdas/reconciler/env.ts) */
  readonly maxRequestsPerSecond?: number;
  /** Events younger than this are left to normal delivery. @default - GRACE_SECONDS's default (lambdas/reconciler/env.ts) */
  readonly grace?: Duration;
  /** How far before the checkpoint each run starts. @default - OVERLAP_SECONDS's default (lambdas/reconciler/env.ts) */
  readonly overlap?: Duration;
  /** Only these event types (the webhook endpoint's list; `*` = all). @default - every type */
  readonly eventTypes?: readonly string[];
  /** Function timeout (1..15 minutes); a run stops before a slice when little of it is left. @default 5 minutes */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** Pin the Stripe API version of listed events. @default - the account's default */
  readonly stripeApiVersion?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** X-Ray active tracing of the function(s) (NodeFunctionProps.tracing). @default - the config's `observability.tracing` */
  readonly tracing?: boolean;
  /** @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** The handler file. @default lambdas/reconciler/handler.ts */
  readonly entry?: string;
}

/** The reconciler Lambda and the schedule that runs it. */
export class Reconciler extends Construct {
  /** The reconciler Lambda (`<appName>-reconciler`). */
  readonly function: LambdaFunction;
  /** The EventBridge Scheduler schedule (`<appName>-reconciler`). */
  readonly schedule: CfnSchedule;
  /** The role the schedule invokes the function with (may invoke this function only). */
  readonly scheduleRole: Role;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    const interval = props.interval ?? Duration.minutes(DEFAULT_CONFIG.reconcile.intervalMinutes);
    const timeout = props.timeout ?? Duration.minutes(5);
    const types = props.eventTypes && !props.eventTypes.includes('*') ? props.eventTypes.join(',') : undefined;

    const problems: string[] = [];
    const minutes = interval.toMinutes({ integral: false });
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
      problems.push(`interval must be whole minutes, 1..1440, got ${interval.toHumanString()}`);
    }
    if (timeout.toSeconds() < 60 || timeout.toSeconds() > 900) {
      problems.push(`timeout must be 1..15 minutes, got ${timeout.toHumanString()}`);
    }
    if (types && types.length > MAX_EVENT_TYPES_CHARS) {
      problems.push(`the event type list is too long for the Lambda environment (${types.length} characters); use *`);
    }
    if (problems.length > 0) throw new Error(`Invalid Reconciler props: ${problems.join('; ')}`);

    const environment: EnvInput<typeof reconcilerEnv> = {
      TABLE_NAME: props.table.table.tableName,
      QUEUE_URL: props.eventQueue.queue.queueUrl,
      DLQ_URL: props.eventQueue.deadLetterQueue.queueUrl,
      STRIPE_API_KEY_SECRET_ID: props.secrets.apiKeySecretName,
      MAX_REQUESTS_PER_SECOND: String(props.maxRequestsPerSecond ?? reconcilerEnv.MAX_REQUESTS_PER_SECOND.default),
      GRACE_SECONDS: String((props.grace ?? Duration.seconds(reconcilerEnv.GRACE_SECONDS.default)).toSeconds()),
      OVERLAP_SECONDS: String((props.overlap ?? Duration.seconds(reconcilerEnv.OVERLAP_SECONDS.default)).toSeconds()),
      MAX_MESSAGE_BYTES: String(props.eventQueue.maxMessageSizeBytes),
      // Outlives the function, so a live run never loses its lock; a crashed run's lock lapses a minute later.
      LOCK_SECONDS: String(timeout.toSeconds() + 60),
      ...(types ? { EVENT_TYPES: types } : {}),
      ...(props.stripeApiVersion ? { STRIPE_API_VERSION: props.stripeApiVersion } : {}),
    };

    const fn = new NodeFunction(this, 'Handler', {
      entry: props.entry ?? lambdaEntry('lambdas/reconciler/handler.ts'),
      functionName: `${props.appName}-reconciler`,
      description: 'Enqueues Stripe events the idempotency table has not seen as done (missed deliveries)',
      memorySize: props.memorySize ?? 256,
      timeout,
      environment,
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      tracing: props.tracing ?? DEFAULT_CONFIG.observability.tracing,
      logRemovalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.function = fn.function;

    // Hand-written rather than table.grantReadWriteData: read any event record, write only the two own items.
    grantKeyViaService(props.table.key, this.function, 'dynamodb', [
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:Encrypt',
      'kms:GenerateDataKey',
    ]);
    Grant.addToPrincipal({
      grantee: this.function,
      actions: ['dynamodb:GetItem'],
      resourceArns: [props.table.table.tableArn],
    });
    Grant.addToPrincipal({
      grantee: this.function,
      actions: ['dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resourceArns: [props.table.table.tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [LOCK_KEY, CHECKPOINT_KEY] } },
    });
    props.eventQueue.grantSendEvents(this.function);
    // Events that can never be enqueued are parked on the DLQ with their reason, instead of failing every run.
    props.eventQueue.grantSendToDeadLetterQueue(this.function);
    props.secrets.grantReadApiKey(this.function);

    this.scheduleRole = new Role(this, 'ScheduleRole', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com'),
      description: `Lets EventBridge Scheduler invoke ${props.appName}-reconciler`,
    });
    // The L1 schedule rather than aws-scheduler-targets' LambdaInvoke: that grants lambda:InvokeFunction on every
    // version and alias too (`<arn>:*`); this role may invoke the unqualified function only.
    Grant.addToPrincipal({
      grantee: this.scheduleRole,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [this.function.functionArn],
    });
    this.schedule = new CfnSchedule(this, 'Schedule', {
      name: `${props.appName}-reconciler`,
      description: 'Runs the Stripe events reconciler',
      scheduleExpression: `rate(${minutes} ${minutes === 1 ? 'minute' : 'minutes'})`,
      flexibleTimeWindow: { mode: 'OFF' },
      state: props.enabled === false ? 'DISABLED' : 'ENABLED',
      target: {
        arn: this.function.functionArn,
        roleArn: this.scheduleRole.roleArn,
        // No retries: a failed run is simply the next scheduled run's work (it starts from the same checkpoint).
        retryPolicy: { maximumRetryAttempts: 0 },
      },
    });
    // The role's policy (a child of the role) must exist before the schedule first fires.
    this.schedule.node.addDependency(this.scheduleRole);
  }
}
