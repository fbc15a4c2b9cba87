/**
 * The FIFO event queue between ingress and processor, with its FIFO dead-letter queue.
 *
 * - FIFO with message groups `account:objectId`: two events for one Stripe object never run concurrently, events for
 *   different objects do. High-throughput mode (dedup scope and throughput limit per message group) lifts the
 *   per-queue 300 messages/s cap, which one busy object would otherwise impose on everyone.
 * - Deduplication id = Stripe event id (set by the sender, so no content-based deduplication).
 * - Encrypted with a customer-managed key; HTTPS-only queue policies.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { DeduplicationScope, FifoThroughputLimit, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { VISIBILITY_TIMEOUT_FACTOR } from '../../lambdas/processor/env';
import { sharedEnv } from '../../lambdas/shared/env-specs';
import { DEFAULT_CONFIG } from '../config';
import { customerManagedKey, grantKeyViaService } from './encryption-key';

/** AWS's rule for an SQS event source: visibility timeout at least 6x the function timeout. */
export { VISIBILITY_TIMEOUT_FACTOR };

/** The visibility timeout the event queue needs for a processor with this timeout. */
export function visibilityTimeoutFor(processorTimeout: Duration): Duration {
  return Duration.seconds(processorTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR);
}

/** Props of an EventQueue. */
export interface EventQueueProps {
  /** Prefix of the queue names (`<prefix>-events.fifo`, `<prefix>-events-dlq.fifo`) and of the key alias. */
  readonly namePrefix: string;
  /** The consuming function's timeout; the visibility timeout is `VISIBILITY_TIMEOUT_FACTOR` times this. */
  readonly processorTimeout: Duration;
  /** Deliveries before a message moves to the DLQ (at least 5). @default - the config's `queue.maxReceiveCount` */
  readonly maxReceiveCount?: number;
  /** @default - the config's `queue.retentionDays` */
  readonly retentionPeriod?: Duration;
  /** @default - the config's `queue.dlqRetentionDays` (the SQS maximum) */
  readonly deadLetterRetentionPeriod?: Duration;
  /**
   * Largest message the queue accepts. 256 KiB keeps a batch of 10 well inside Lambda's 6 MB invocation payload;
   * larger Stripe events travel as a reference the processor resolves from Stripe.
   * @default - MAX_MESSAGE_BYTES's default (lambdas/shared/env-specs.ts)
   */
  readonly maxMessageSizeBytes?: number;
  /** Applies to both queues and the key. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly removalPolicy?: RemovalPolicy;
}

/** The FIFO event queue, its FIFO DLQ and their customer-managed key. */
export class EventQueue extends Construct {
  /** The event queue (FIFO, high throughput). */
  readonly queue: Queue;
  /** Where a message lands after `maxReceiveCount` failed deliveries, or at once on a permanent failure. */
  readonly deadLetterQueue: Queue;
  /** The key both queues are encrypted with. */
  readonly key: Key;
  /** The event queue's message size limit, in bytes. */
  readonly maxMessageSizeBytes: number;
  /** The event queue's visibility timeout (`VISIBILITY_TIMEOUT_FACTOR` x the processor timeout). */
  readonly visibilityTimeout: Duration;

  constructor(scope: Construct, id: string, props: EventQueueProps) {
    super(scope, id);
    const maxReceiveCount = props.maxReceiveCount ?? DEFAULT_CONFIG.queue.maxReceiveCount;
    if (maxReceiveCount < 5) {
      throw new Error(
        `EventQueue maxReceiveCount must be >= 5 (AWS's advice for Lambda event sources), got ${maxReceiveCount}`,
      );
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
    this.maxMessageSizeBytes = props.maxMessageSizeBytes ?? sharedEnv.MAX_MESSAGE_BYTES.default;
    this.visibilityTimeout = visibilityTimeoutFor(props.processorTimeout);

    this.key = customerManagedKey(this, 'Key', {
      alias: `${props.namePrefix}/event-queue`,
      description: `Encrypts the ${props.namePrefix} Stripe event queue and its dead-letter queue`,
      removalPolicy,
    });

    const common = {
      fifo: true,
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      removalPolicy,
    } as const;

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      ...common,
      queueName: `${props.namePrefix}-events-dlq.fifo`,
      retentionPeriod: props.deadLetterRetentionPeriod ?? Duration.days(DEFAULT_CONFIG.queue.dlqRetentionDays),
      maxMessageSizeBytes: this.maxMessageSizeBytes,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This is the dead-letter queue: the last stop, kept 14 days and redriven by an operator (StartMessageMoveTask) ' +
        'after the cause is fixed. A DLQ of the DLQ would only hide failed payments events further.',
    });

    this.queue = new Queue(this, 'Queue', {
      ...common,
      queueName: `${props.namePrefix}-events.fifo`,
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      visibilityTimeout: this.visibilityTimeout,
      retentionPeriod: props.retentionPeriod ?? Duration.days(DEFAULT_CONFIG.queue.retentionDays),
      maxMessageSizeBytes: this.maxMessageSizeBytes,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });
  }

  /** Lets `grantee` send to the event queue (SendMessage only; KMS only through SQS). */
  grantSendEvents(grantee: IGrantable): Grant {
    return this.grantSend(this.queue, grantee);
  }

  /** Lets `grantee` move a message to the DLQ itself (a permanent failure, with its reason). */
  grantSendToDeadLetterQueue(grantee: IGrantable): Grant {
    return this.grantSend(this.deadLetterQueue, grantee);
  }

  /**
   * Lets `grantee` probe the event queue for the health check (sqs:GetQueueAttributes on this queue only; no KMS:
   * reading attributes never touches message bodies).
   */
  grantHealthProbe(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: ['sqs:GetQueueAttributes'], resourceArns: [this.queue.queueArn] });
  }

  /** Lets `grantee` delay a message it received (e.g. after a Stripe 429) by changing its visibility. */
  grantChangeVisibility(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ['sqs:ChangeMessageVisibility'],
      resourceArns: [this.queue.queueArn],
    });
  }

  // Hand-written rather than queue.grantSendMessages: that also grants GetQueueAttributes/GetQueueUrl and
  // kms:ReEncrypt*/kms:GenerateDataKey* on the key, more than a producer needs.
  private grantSend(queue: Queue, grantee: IGrantable): Grant {
    grantKeyViaService(this.key, grantee, 'sqs', ['kms:GenerateDataKey', 'kms:Decrypt']);
    return Grant.addToPrincipal({ grantee, actions: ['sqs:SendMessage'], resourceArns: [queue.queueArn] });
  }
}
