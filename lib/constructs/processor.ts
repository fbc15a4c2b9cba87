/**
 * The processor: a Lambda fed by the FIFO event queue in batches. For each event it claims the event id in the
 * idempotency table, fetches the current object from Stripe, runs the business handler, publishes the result to
 * the EventBridge bus and marks the event done. Failed records are reported individually (ReportBatchItemFailures);
 * permanent failures are moved to the DLQ at once with their reason.
 *
 * Maximum concurrency on the event source caps how hard the processor can hit Stripe's rate limit (about 25
 * requests/s per endpoint): that limit, not AWS, is the bottleneck.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { EventSourceMapping } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { leaseSecondsFor, processorEnv } from '../../lambdas/processor/env';
import type { EnvInput } from '../../lambdas/shared/env';
import { DEFAULT_CONFIG } from '../config';
import type { EventQueue } from './event-queue';
import type { EventSink } from './event-sink';
import type { IdempotencyTable } from './idempotency-table';
import { lambdaEntry, NodeFunction } from './node-function';
import type { StripeSecretReader } from './stripe-secret-reader';

/** Props of Processor. */
export interface ProcessorProps {
  /** Prefix of the function name. */
  readonly appName: string;
  readonly eventQueue: EventQueue;
  readonly table: IdempotencyTable;
  /** The Stripe API key is read from here. */
  readonly secrets: StripeSecretReader;
  /** Where processed events are published. @default - none: only the handlers see them (`eventSink.enabled: false`) */
  readonly sink?: EventSink;
  /** @default - the config's `processor.memoryMb` */
  readonly memorySize?: number;
  /**
   * Must be at most 1/6 of the queue's visibility timeout (checked).
   * @default - the config's `processor.timeoutSeconds`
   */
  readonly timeout?: Duration;
  /** Messages per invocation, 1..10. @default - the config's `processor.batchSize` */
  readonly batchSize?: number;
  /** Most concurrent invocations, 2..1000. @default - the config's `processor.maxConcurrency` */
  readonly maxConcurrency?: number;
  /** How long a claim on an event id is held; must exceed the timeout. @default - leaseSecondsFor(timeout) (lambdas/processor/env.ts) */
  readonly leaseSeconds?: number;
  /** How long a processed event id is remembered. @default - DONE_TTL_DAYS's default and limits (lambdas/processor/env.ts) */
  readonly doneTtlDays?: number;
  /** Pin the Stripe API version of fetched objects. @default - the account's default */
  readonly stripeApiVersion?: string;
  /**
   * The deployment's Stripe request budget, requests/s, shared by every processor container (each takes
   * (budget - stripeReservedRequestsPerSecond) / maxConcurrency).
   * @default - 20 with a test key, 50 with a live key (DEFAULT_STRIPE_BUDGET, lambdas/shared/request-budget.ts)
   */
  readonly stripeMaxRequestsPerSecond?: number;
  /** What the reconciler takes of that budget (its own pace). @default - STRIPE_RESERVED_REQUESTS_PER_SECOND's default (0) */
  readonly stripeReservedRequestsPerSecond?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** X-Ray active tracing of the function(s) (NodeFunctionProps.tracing). @default - the config's `observability.tracing` */
  readonly tracing?: boolean;
  /** @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** The handler file. @default lambdas/processor/handler.ts */
  readonly entry?: string;
}

/** The processor Lambda and its SQS event source. */
export class Processor extends Construct {
  /** The processor Lambda (`<appName>-processor`). */
  readonly function: LambdaFunction;
  /** Powertools service name of the function: the `service` dimension of its custom metrics. */
  readonly serviceName: string;
  /** Its SQS event source on the event queue. */
  readonly eventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: ProcessorProps) {
    super(scope, id);
    const timeout = props.timeout ?? Duration.seconds(DEFAULT_CONFIG.processor.timeoutSeconds);
    const batchSize = props.batchSize ?? DEFAULT_CONFIG.processor.batchSize;
    const maxConcurrency = props.maxConcurrency ?? DEFAULT_CONFIG.processor.maxConcurrency;
    const leaseSeconds = props.leaseSeconds ?? leaseSecondsFor(timeout.toSeconds());
    const doneTtlDays = props.doneTtlDays ?? processorEnv.DONE_TTL_DAYS.default;

    const problems: string[] = [];
    if (props.eventQueue.visibilityTimeout.toSeconds() < 6 * timeout.toSeconds()) {
      problems.push(
        `the queue's visibility timeout (${props.eventQueue.visibilityTimeout.toSeconds()} s) must be at least 6x the timeout (${timeout.toSeconds()} s)`,
      );
    }
    if (leaseSeconds <= timeout.toSeconds()) {
      problems.push(`leaseSeconds (${leaseSeconds}) must exceed the timeout (${timeout.toSeconds()} s)`);
    }
    if (batchSize < 1 || batchSize > 10) problems.push(`batchSize must be 1..10 for a FIFO queue, got ${batchSize}`);
    if (maxConcurrency < 2 || maxConcurrency > 1000)
      problems.push(`maxConcurrency must be 2..1000, got ${maxConcurrency}`);
    const ttl = processorEnv.DONE_TTL_DAYS;
    if (doneTtlDays < ttl.min || doneTtlDays > ttl.max) {
      problems.push(`doneTtlDays must be ${ttl.min}..${ttl.max}, got ${doneTtlDays}`);
    }
    if (problems.length > 0) throw new Error(`Invalid Processor props: ${problems.join('; ')}`);

    const environment: EnvInput<typeof processorEnv> = {
      TABLE_NAME: props.table.table.tableName,
      STRIPE_API_KEY_SECRET_ID: props.secrets.apiKeySecretName,
      ...(props.sink ? { EVENT_BUS_NAME: props.sink.bus.eventBusName } : {}),
      DLQ_URL: props.eventQueue.deadLetterQueue.queueUrl,
      QUEUE_URL: props.eventQueue.queue.queueUrl,
      LEASE_SECONDS: String(leaseSeconds),
      DONE_TTL_DAYS: String(doneTtlDays),
      ...(props.stripeApiVersion ? { STRIPE_API_VERSION: props.stripeApiVersion } : {}),
      ...(props.stripeMaxRequestsPerSecond !== undefined
        ? { STRIPE_MAX_REQUESTS_PER_SECOND: String(props.stripeMaxRequestsPerSecond) }
        : {}),
      ...(props.stripeReservedRequestsPerSecond !== undefined
        ? { STRIPE_RESERVED_REQUESTS_PER_SECOND: String(props.stripeReservedRequestsPerSecond) }
        : {}),
      STRIPE_BUDGET_SHARES: String(maxConcurrency),
    };

    const fn = new NodeFunction(this, 'Handler', {
      entry: props.entry ?? lambdaEntry('lambdas/processor/handler.ts'),
      functionName: `${props.appName}-processor`,
      description: 'Processes queued Stripe events: claim, fetch from Stripe, handle, publish, mark done',
      memorySize: props.memorySize ?? DEFAULT_CONFIG.processor.memoryMb,
      timeout,
      environment,
      // Node parsing the 1.4 MB source map cost about 40 ms of CPU, a fifth of every cold start's import (bundle
      // import, median of 11: 202 -> 159 ms on a busy 2-core machine). The map ships in the asset; a position in a
      // stack trace maps back offline (docs/observability.md), as for the ingress.
      sourceMapsAtRuntime: false,
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      tracing: props.tracing ?? DEFAULT_CONFIG.observability.tracing,
      logRemovalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    this.function = fn.function;
    this.serviceName = fn.serviceName;

    // Also grants ReceiveMessage/DeleteMessage/ChangeMessageVisibility/GetQueueAttributes and kms:Decrypt.
    this.eventSource = new SqsEventSource(props.eventQueue.queue, {
      batchSize,
      maxConcurrency,
      reportBatchItemFailures: true,
    });
    this.function.addEventSource(this.eventSource);
    const mapping = this.function.node.children.find((c): c is EventSourceMapping => c instanceof EventSourceMapping);
    if (mapping) {
      Validations.of(mapping).acknowledge({
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason:
          "Lambda supports no on-failure destination for SQS event sources; failed messages go through the queue's " +
          'redrive policy (maxReceiveCount) to the FIFO DLQ, and permanent failures are moved there by the processor.',
      });
    }

    props.table.grantClaimAndComplete(this.function);
    props.secrets.grantReadApiKey(this.function);
    props.sink?.grantPublish(this.function);
    props.eventQueue.grantSendToDeadLetterQueue(this.function);
    // Explicit although the event source grants it too: delaying a message after a Stripe 429 depends on it.
    props.eventQueue.grantChangeVisibility(this.function);
  }
}
