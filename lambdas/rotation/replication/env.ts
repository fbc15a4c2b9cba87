import { defineEnv } from '../../shared/env';

/** The secret replication check Lambda's environment (typed into the SecretReplicationCheck construct). */
export const replicationCheckEnv = defineEnv({
  API_KEY_SECRET_ID: { kind: 'string', doc: 'Secrets Manager id of the Stripe API key (its replicas are checked)' },
  WEBHOOK_SECRET_ID: { kind: 'string', doc: 'Secrets Manager id of the webhook signing secret(s) (checked too)' },
  POWERTOOLS_SERVICE_NAME: { kind: 'string', default: 'stripe-secret-replication-check', doc: 'service name' },
});
