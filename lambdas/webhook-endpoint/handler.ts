/**
 * The webhook endpoint custom resource Lambda: wiring only (behaviour in ./core, the response protocol in
 * ./cfn-response). CloudFormation invokes it on Create, Update and Delete of `Custom::StripeWebhookEndpoint`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { stripeFromSecret } from '../rotation/stripe-from-secret';
import { parseEnv } from '../shared/env';
import { describeError } from '../shared/errors';
import { runCustomResource } from './cfn-response';
import { createWebhookEndpointResource } from './core';
import { webhookEndpointEnv } from './env';

const env = parseEnv(webhookEndpointEnv);
const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const sm = new SecretsManagerClient({});

const resource = createWebhookEndpointResource({
  sm,
  stripe: stripeFromSecret(sm, env.API_KEY_SECRET_ID),
  webhookSecretId: env.WEBHOOK_SECRET_ID,
  appName: env.APP_NAME,
  overlapMs: env.OVERLAP_HOURS * 3_600_000,
  logger,
});

/**
 * Answers CloudFormation on the event's pre-signed URL (never by the return value). The event is not logged: its
 * ResponseURL is a credential for the stack's response.
 */
export async function handler(event: CloudFormationCustomResourceEvent, context: Context): Promise<void> {
  logger.addContext(context);
  await runCustomResource(event, () => resource.handle(event), {
    remainingMs: () => context.getRemainingTimeInMillis(),
    fallbackPhysicalId: resource.physicalResourceId,
    reasonSuffix: ` (logs: ${context.logGroupName} ${context.logStreamName})`,
    onError: (err) => logger.error('custom resource request failed', { error: describeError(err) }),
  });
}
