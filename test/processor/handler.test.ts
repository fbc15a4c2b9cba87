/**
 * The Lambda entry point, wired as deployed: environment parsed, module-scope clients (pointed at dynalite and
 * fauxqs through the SDK's AWS_ENDPOINT_URL_<SERVICE> variables), the API key read from Secrets Manager
 * (aws-sdk-client-mock), results put on EventBridge (aws-sdk-client-mock).
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leaseSecondsFor } from '../../lambdas/processor/env';
import { encodeMessage, toQueueMessage } from '../../lambdas/shared/queue-message';
import { DEFAULT_CONFIG } from '../../lib/config';
import { thinEvent } from './harness';
import { createIdempotencyTable, type LocalDynamo, type LocalSqs, startDynamo, startSqs } from './local-aws';

const secrets = mockClient(SecretsManagerClient);
const eventBridge = mockClient(EventBridgeClient);

let dynamo: LocalDynamo;
let sqs: LocalSqs;
let handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  [dynamo, sqs] = await Promise.all([startDynamo(), startSqs()]);
  await createIdempotencyTable(dynamo.client, 'handler-table');
  const [queueUrl, dlqUrl] = await Promise.all([
    sqs.createQueue('handler-events.fifo'),
    sqs.createQueue('handler-dlq.fifo'),
  ]);
  Object.assign(process.env, {
    TABLE_NAME: 'handler-table',
    STRIPE_API_KEY_SECRET_ID: 'stripe/api-key',
    EVENT_BUS_NAME: 'stripe-events',
    QUEUE_URL: queueUrl,
    DLQ_URL: dlqUrl,
    // As the Processor construct sets it: the one lease rule over the default timeout.
    LEASE_SECONDS: String(leaseSecondsFor(DEFAULT_CONFIG.processor.timeoutSeconds)),
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
  });
  secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ apiKey: 'sk_test_handler' }) });
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  ({ handler } = await import('../../lambdas/processor/handler'));
});

afterAll(async () => {
  await Promise.all([dynamo.close(), sqs.close()]);
  secrets.restore();
  eventBridge.restore();
});

const context = {
  functionName: 'processor',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:processor',
  memoryLimitInMB: '512',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/processor',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

function record(event: Record<string, unknown>, messageId: string): SQSRecord {
  const { body } = encodeMessage(toQueueMessage(event, 'webhook', new Date()), 262_144);
  return {
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      MessageGroupId: `platform:${String(event.id)}`,
      MessageDeduplicationId: String(event.id),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:handler-events.fifo',
    awsRegion: 'us-east-1',
  };
}

describe('processor Lambda handler', () => {
  it('reads the API key from Secrets Manager, processes against DynamoDB, publishes on EventBridge, and dedupes', async () => {
    // A thin event about no object: the whole path runs without a call to Stripe (no network here).
    const event = thinEvent('v2.core.event_destination.ping', null, { id: 'evt_handler_1' });

    const first = await handler({ Records: [record(event, 'm-1')] }, context);
    const again = await handler({ Records: [record(event, 'm-2')] }, context);

    expect(first.batchItemFailures).toEqual([]);
    expect(again.batchItemFailures).toEqual([]);
    const puts = eventBridge.commandCalls(PutEventsCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0]!.args[0].input.Entries![0]).toMatchObject({
      EventBusName: 'stripe-events',
      DetailType: 'v2.core.event_destination.ping',
    });
    expect(secrets.commandCalls(GetSecretValueCommand)[0]!.args[0].input.SecretId).toBe('stripe/api-key');
  });
});
