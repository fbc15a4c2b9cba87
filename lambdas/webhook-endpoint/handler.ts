/**
 * The webhook endpoint custom resource Lambda: the clients (./compose builds it, ./core holds the behaviour). aws-cdk-lib's Provider framework
 * invokes it for Create, Update and Delete of `Custom::StripeWebhookEndpoint` and answers CloudFormation with what it
 * returns, or with FAILED and the error when it throws, times out or cannot even load (a bad environment below).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { parseEnv } from '../shared/env';
import { describeError } from '../shared/errors';
import { composeWebhookEndpointResource } from './compose';
import type { ProviderResult } from './core';
import { webhookEndpointEnv } from './env';

const env = parseEnv(webhookEndpointEnv);
const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const sm = new SecretsManagerClient({});

const resource = composeWebhookEndpointResource(env, { sm, logger });

/** The Provider framework's onEvent handler. The event is not logged (the framework logs it, without its URL). */
export async function handler(event: CloudFormationCustomResourceEvent, context?: Context): Promise<ProviderResult> {
  if (context) logger.addContext(context);
  try {
    return await resource.handle(event);
  } catch (err) {
    logger.error('custom resource request failed', { requestType: event.RequestType, error: describeError(err) });
    throw err;
  }
}
