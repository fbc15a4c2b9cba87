/**
 * The naive ingress as a Lambda module (module-scope clients, env read at import), built UNBUNDLED by the cold-start
 * bench: `stripe` and the AWS SDK are imported from node_modules at run time, as a zip of node_modules would.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createNaiveIngress } from './ingress-core';

const queueUrl = process.env.QUEUE_URL;
const webhookSecretId = process.env.WEBHOOK_SECRET_ID;
if (!queueUrl || !webhookSecretId) throw new Error('QUEUE_URL and WEBHOOK_SECRET_ID must be set');

/** Lambda entry point (API Gateway HTTP API, payload 2.0). */
export const handler = createNaiveIngress({
  sqs: new SQSClient({}),
  secretsManager: new SecretsManagerClient({}),
  queueUrl,
  webhookSecretId,
});
