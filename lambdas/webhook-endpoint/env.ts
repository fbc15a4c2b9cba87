import { defineEnv } from '../shared/env';
import { sharedEnv } from '../shared/env-specs';

/** The webhook endpoint custom resource Lambda's environment (typed into the WebhookEndpoint construct). */
export const webhookEndpointEnv = defineEnv({
  WEBHOOK_SECRET_ID: { kind: 'string', doc: 'Secrets Manager id of the webhook signing secret(s) (written)' },
  API_KEY_SECRET_ID: { kind: 'string', doc: 'Secrets Manager id of the Stripe API key (needs webhook endpoint write)' },
  APP_NAME: { kind: 'string', doc: 'deployment name: tags the endpoints and names the physical id' },
  OVERLAP_HOURS: sharedEnv.OVERLAP_HOURS,
  POWERTOOLS_SERVICE_NAME: { kind: 'string', default: 'stripe-webhook-endpoint', doc: 'service name in logs' },
});
