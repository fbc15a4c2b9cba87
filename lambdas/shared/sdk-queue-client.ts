/** A QueueClient (queue-client.ts) over the AWS SDK's SQSClient: for every caller except the ingress. */
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { QueueClient } from './queue-client';

export function sdkQueueClient(sqs: SQSClient): QueueClient {
  return {
    sendMessage: (input) => sqs.send(new SendMessageCommand(input)),
    getQueueAttributes: (input, options) =>
      sqs.send(new GetQueueAttributesCommand(input), options?.abortSignal ? { abortSignal: options.abortSignal } : {}),
  };
}
