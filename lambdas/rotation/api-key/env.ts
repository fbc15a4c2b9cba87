import { defineEnv } from '../../shared/env';

/** The API key rotation Lambda's environment. The SecretRotation construct types its `environment` from it. */
export const apiKeyRotationEnv = defineEnv({
  POWERTOOLS_SERVICE_NAME: {
    kind: 'string',
    default: 'stripe-api-key-rotation',
    doc: 'service name in logs and metrics',
  },
  STRIPE_API_VERSION: { kind: 'string', optional: true, doc: 'API version of the test calls (default: the account’s)' },
  EVENT_TYPES: {
    kind: 'string',
    default: '*',
    doc: 'comma-separated event types the pipeline processes: the staged key must read their objects',
  },
});
