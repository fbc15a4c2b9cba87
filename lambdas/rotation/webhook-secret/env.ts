import { defineEnv } from '../../shared/env';
import { sharedEnv } from '../../shared/env-specs';

/** The webhook secret rotation Lambda's environment. The SecretRotation construct types its `environment` from it. */
export const webhookSecretRotationEnv = defineEnv({
  WEBHOOK_SECRET_ID: { kind: 'string', doc: 'Secrets Manager id (ARN or name) of the webhook signing secret(s)' },
  API_KEY_SECRET_ID: { kind: 'string', doc: 'Secrets Manager id of the Stripe API key (needs webhook endpoint write)' },
  APP_NAME: { kind: 'string', doc: 'deployment name, written into the metadata of the endpoints it creates' },
  WEBHOOK_URL: { kind: 'string', doc: 'endpoint URL when the current endpoint is unknown (the stack webhook URL)' },
  EVENT_TYPES: { kind: 'string', doc: 'comma-separated event types when the current endpoint is unknown' },
  ENDPOINT_API_VERSION: {
    kind: 'string',
    optional: true,
    doc: 'API version of a new endpoint when the current is unknown',
  },
  ENDPOINT_DESCRIPTION: {
    kind: 'string',
    optional: true,
    doc: 'description of a new endpoint when the current is unknown',
  },
  OVERLAP_HOURS: sharedEnv.OVERLAP_HOURS,
  POWERTOOLS_SERVICE_NAME: {
    kind: 'string',
    default: 'stripe-webhook-secret-rotation',
    doc: 'service name in logs and metrics',
  },
});
