/**
 * The NAIVE ingress the benchmarks compare against: what a webhook tutorial writes. It verifies with
 * `stripe.webhooks.constructEvent` (so it carries the whole `stripe` package), reads the signing secret from Secrets
 * Manager on every request (no cache), and sends the raw body to the FIFO queue. Never deployed: it exists so the
 * bench measures the project's choices against a working alternative, not against a strawman that does less.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import Stripe from 'stripe';

/** What the naive ingress needs. */
export interface NaiveIngressDeps {
  readonly sqs: SQSClient;
  readonly secretsManager: SecretsManagerClient;
  readonly queueUrl: string;
  /** Secrets Manager id of the signing secret (a plain `whsec_...` value). */
  readonly webhookSecretId: string;
}

/** A naive API Gateway v2 handler: 200 once the event is on the queue, 400 on a bad signature, 500 otherwise. */
export function createNaiveIngress(
  deps: NaiveIngressDeps,
): (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2> {
  return async (event) => {
    const secret = await deps.secretsManager.send(new GetSecretValueCommand({ SecretId: deps.webhookSecretId }));
    const body = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64') : (event.body ?? '');
    let stripeEvent: Stripe.Event;
    try {
      stripeEvent = Stripe.webhooks.constructEvent(
        body,
        event.headers['stripe-signature'] ?? '',
        secret.SecretString ?? '',
      );
    } catch {
      return { statusCode: 400, body: JSON.stringify({ error: 'bad_signature' }) };
    }
    const object = (stripeEvent.data.object as { id?: string }).id ?? stripeEvent.id;
    await deps.sqs.send(
      new SendMessageCommand({
        QueueUrl: deps.queueUrl,
        MessageBody: typeof body === 'string' ? body : body.toString('utf8'),
        MessageGroupId: `${stripeEvent.account ?? ''}:${object}`,
        MessageDeduplicationId: stripeEvent.id,
      }),
    );
    console.log(JSON.stringify({ level: 'INFO', message: 'webhook accepted', eventId: stripeEvent.id }));
    return { statusCode: 200, body: JSON.stringify({ received: true }) };
  };
}
