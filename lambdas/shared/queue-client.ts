/**
 * The SQS calls the enqueue path and the ingress's health check make (SendMessage, GetQueueAttributes), behind one
 * small interface so the ingress can make them without the AWS SDK (see aws-json.ts for why) while the reconciler,
 * the processor and the operator CLI keep the SDK (sdk-queue-client.ts).
 *
 * Only types come from @aws-sdk/client-sqs here: importing this module loads no SDK code.
 */
import type { GetQueueAttributesRequest, SendMessageRequest } from '@aws-sdk/client-sqs';
import type { AwsJsonClient } from './aws-json';

export interface QueueClient {
  /** SendMessage; throws what the service answers (errors named after SQS's error codes). */
  sendMessage(input: SendMessageRequest): Promise<{ readonly MessageId?: string }>;
  /** GetQueueAttributes; `abortSignal` ends the call (retries included). */
  getQueueAttributes(
    input: GetQueueAttributesRequest,
    options?: { readonly abortSignal?: AbortSignal },
  ): Promise<{ readonly Attributes?: Record<string, string> }>;
}

/** SQS over the small aws4 JSON client (the ingress). */
export function jsonQueueClient(client: AwsJsonClient): QueueClient {
  return {
    sendMessage: (input) => client.call<{ MessageId?: string }>('SendMessage', input),
    getQueueAttributes: (input, options) =>
      client.call<{ Attributes?: Record<string, string> }>('GetQueueAttributes', input, options),
  };
}
