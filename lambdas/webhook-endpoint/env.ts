import { defineEnv } from '../shared/env';

/** The webhook endpoint custom resource Lambda's environment (typed into the WebhookEndpoint construct). */
export const webhookEndpointEnv = defineEnv({
  WEBHOOK_SECRET_ID: { kind: 'string', doc: 'Secrets Manager id of the webhook signing secret(s) (written)' },
  API_KEY_SECRET_ID: { kind: 'string', doc: 'Secrets Manager id of the Stripe API key (needs webhook endpoint write)' },
  APP_NAME: { kind: 'string', doc: 'deployment name: tags the endpoints and names the physical id' },
  OVERLAP_HOURS: {
    kind: 'int',
    default: 24,
    min: 1,
    max: 720,
    doc: 'how long the older signing secrets stay active after a new endpoint replaced theirs',
  },
  POWERTOOLS_SERVICE_NAME: { kind: 'string', default: 'stripe-webhook-endpoint', doc: 'service name in logs' },
});
