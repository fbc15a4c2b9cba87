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
   * An hour, not the shared 300 s: a cached signing-secret document is safe to keep. A secret added by a rotation is
   * fetched on the first signature that fails against the cache (a forced, rate-limited refresh, ./core.ts), and a
   * retired one stops verifying at its expiry time, which the document itself carries (activeWebhookSecrets). The
   * longer TTL only saves GetSecretValue calls (docs/performance.md).
   */
  SECRET_CACHE_SECONDS: { ...sharedEnv.SECRET_CACHE_SECONDS, default: 3600 },
  ALLOWED_SOURCE_IPS: {
    kind: 'string',
    optional: true,
    doc: 'comma-separated IPs/CIDR blocks allowed to post webhooks (others get 403); unset = no IP check',
  },
  POWERTOOLS_SERVICE_NAME: { kind: 'string', default: 'stripe-ingress', doc: 'service name in logs and metrics' },
});
