import { defineEnv } from '../../shared/env';

/** The secret replication check Lambda's environment (typed into the SecretReplicationCheck construct). */
export const replicationCheckEnv = defineEnv({
  SECRET_IDS: { kind: 'string', doc: 'comma-separated ids of the secrets whose replicas are checked' },
  POWERTOOLS_SERVICE_NAME: { kind: 'string', default: 'stripe-secret-replication-check', doc: 'service name' },
});
