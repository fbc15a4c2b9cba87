import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { EventQueue, VISIBILITY_TIMEOUT_FACTOR } from '../../lib/constructs/event-queue';
import { logicalId, synthRegionalStack } from './helpers';

const { template, config, stack } = synthRegionalStack();
const queueId = logicalId(stack.eventQueue.queue);
const dlqId = logicalId(stack.eventQueue.deadLetterQueue);
const keyId = logicalId(stack.eventQueue.key);

describe('EventQueue in the regional stack', () => {
  it('is a high-throughput FIFO queue deduplicated by the sender (the Stripe event id)', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'stripe-webhooks-events.fifo',
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      MessageRetentionPeriod: 4 * 86_400,
    });
  });

  it('moves a message to the FIFO DLQ after maxReceiveCount deliveries', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'stripe-webhooks-events.fifo',
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 10 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'stripe-webhooks-events-dlq.fifo',
      FifoQueue: true,
      MessageRetentionPeriod: 14 * 86_400,
    });
  });

  it('takes maxReceiveCount and retention from the config', () => {
    const custom = synthRegionalStack({ queue: { maxReceiveCount: 8, retentionDays: 7 } }).template;
    custom.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'stripe-webhooks-events.fifo',
      MessageRetentionPeriod: 7 * 86_400,
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 8 }),
    });
  });

  it('sets the visibility timeout to 6x the processor timeout, following the config', () => {
    expect(VISIBILITY_TIMEOUT_FACTOR).toBe(6);
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'stripe-webhooks-events.fifo',
      VisibilityTimeout: 6 * config.processor.timeoutSeconds,
    });
    const slower = synthRegionalStack({ processor: { timeoutSeconds: 45 } }).template;
    slower.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'stripe-webhooks-events.fifo',
      VisibilityTimeout: 270,
    });
    slower.hasResourceProperties('AWS::Lambda::Function', { FunctionName: 'stripe-webhooks-processor', Timeout: 45 });
  });

  it('encrypts both queues with its own rotating customer-managed key', () => {
    for (const id of [queueId, dlqId]) {
      expect(template.toJSON().Resources[id].Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    }
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      Description: Match.stringLikeRegexp('event queue'),
    });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/stripe-webhooks/event-queue' });
  });

  it('denies every request to either queue that is not over TLS', () => {
    for (const id of [queueId, dlqId]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    }
  });

  it('keeps the queues and key when the stack is deleted, unless the config says destroy', () => {
    template.hasResource('AWS::SQS::Queue', {
      DeletionPolicy: 'RetainExceptOnCreate',
      Properties: { QueueName: 'stripe-webhooks-events-dlq.fifo' },
    });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'RetainExceptOnCreate' });
    const dev = synthRegionalStack({ removalPolicy: 'destroy' }).template;
    dev.hasResource('AWS::SQS::Queue', {
      DeletionPolicy: 'Delete',
      Properties: { QueueName: 'stripe-webhooks-events-dlq.fifo' },
    });
  });
});

describe('EventQueue construct', () => {
  it('refuses a maxReceiveCount below 5', () => {
    const stack = new Stack(new App(), 'S');
    expect(
      () => new EventQueue(stack, 'Q', { namePrefix: 'x', processorTimeout: Duration.seconds(30), maxReceiveCount: 4 }),
    ).toThrow(/maxReceiveCount must be >= 5.*got 4/);
  });

  it('computes the visibility timeout from the processor timeout it is given', () => {
    const stack = new Stack(new App(), 'S');
    const q = new EventQueue(stack, 'Q', { namePrefix: 'x', processorTimeout: Duration.minutes(2) });
    expect(q.visibilityTimeout.toSeconds()).toBe(720);
    Template.fromStack(stack).hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'x-events.fifo',
      VisibilityTimeout: 720,
    });
  });
});
