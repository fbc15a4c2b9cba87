/**
 * The processor Lambda entry point as deployed, for the handler tests: its environment (what the Processor construct
 * sets), dynalite and fauxqs reached through the SDK's AWS_ENDPOINT_URL_<SERVICE> variables, a local Stripe, the API
 * key from Secrets Manager and the results on EventBridge through aws-sdk-client-mock (no stand-in for either).
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { leaseSecondsFor } from '../../lambdas/processor/env';
import { encodeMessage, toQueueMessage } from '../../lambdas/shared/queue-message';
import { DEFAULT_CONFIG } from '../../lib/config';
import { type StripeServer, startStripeServer } from '../../local/stripe-server';
import { createIdempotencyTable, startDynamo, startSqs } from './local-aws';

export type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export const lambdaContext = {
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

/** Starts the stand-ins, sets the processor's environment (plus `extraEnv`), then imports the handler module. */
export async function startProcessorHandler(extraEnv: Record<string, string> = {}) {
  const secrets = mockClient(SecretsManagerClient);
  const eventBridge = mockClient(EventBridgeClient);
  const [dynamo, sqs, stripe] = await Promise.all([startDynamo(), startSqs(), startStripeServer()]);
  await createIdempotencyTable(dynamo.client, 'handler-table');
  const [queueUrl, dlqUrl] = await Promise.all([
    sqs.createQueue('handler-events.fifo'),
    sqs.createQueue('handler-dlq.fifo'),
  ]);
  Object.assign(process.env, {
    TABLE_NAME: 'handler-table',
    STRIPE_API_KEY_SECRET_ID: 'stripe/api-key',
    STRIPE_API_BASE: stripe.url,
    EVENT_BUS_NAME: 'stripe-events',
    QUEUE_URL: queueUrl,
    DLQ_URL: dlqUrl,
    // As the Processor construct sets it: the one lease rule over the default timeout.
    LEASE_SECONDS: String(leaseSecondsFor(DEFAULT_CONFIG.processor.timeoutSeconds)),
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    ...extraEnv,
  });
  secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ apiKey: 'sk_test_handler' }) });
  eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
  const { handler } = (await import('../../lambdas/processor/handler')) as { handler: Handler };
  return {
    handler,
    secrets,
    eventBridge,
    stripe: stripe as StripeServer,
    async close() {
      await Promise.all([dynamo.close(), sqs.close(), stripe.close()]);
      secrets.restore();
      eventBridge.restore();
    },
  };
}

/** An SQS record of the event queue carrying `event`, as the ingress enqueues it and Lambda delivers it. */
export function sqsRecord(event: Record<string, unknown>, messageId: string): SQSRecord {
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
