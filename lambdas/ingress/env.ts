import { defineEnv } from '../shared/env';
import { sharedEnv } from '../shared/env-specs';

/** The ingress Lambda's environment. The Ingress construct types its `environment` from this schema. */
export const ingressEnv = defineEnv({
  QUEUE_URL: { kind: 'string', doc: 'URL of the FIFO event queue' },
  WEBHOOK_SECRET_ID: { kind: 'string', doc: 'Secrets Manager id (ARN or name) of the webhook signing secret(s)' },
  SIGNATURE_TOLERANCE_SECONDS: {
    kind: 'int',
    default: 300,
    min: 1,
    max: 3600,
    doc: 'oldest accepted Stripe-Signature timestamp, seconds',
  },
  MAX_BODY_BYTES: {
    kind: 'int',
    default: 1_048_576,
    min: 1024,
    // Lambda's synchronous payload limit: a larger body never reaches the function.
    max: 6 * 1024 * 1024,
    doc: 'larger request bodies are rejected with 400',
  },
  MAX_MESSAGE_BYTES: sharedEnv.MAX_MESSAGE_BYTES,
  /**
   * The shared 300 s, not longer although a longer TTL would save GetSecretValue calls (about $0.04 per million
   * webhooks at an hour): after an emergency roll of a leaked signing secret, a container keeps accepting the old one
   * until its cache expires or a genuine delivery fails against it and forces a re-read. Five minutes bounds that.
   */
  SECRET_CACHE_SECONDS: sharedEnv.SECRET_CACHE_SECONDS,
  ALLOWED_SOURCE_IPS: {
    kind: 'string',
    optional: true,
    doc: 'comma-separated IPs/CIDR blocks allowed to post webhooks (others get 403); unset = no IP check',
  },
  POWERTOOLS_SERVICE_NAME: { kind: 'string', default: 'stripe-ingress', doc: 'service name in logs and metrics' },
});
