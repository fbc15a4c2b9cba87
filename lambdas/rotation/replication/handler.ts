/** The secret replication check Lambda: wiring only (behaviour in ./core). Run on a schedule. */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseEnv } from '../../shared/env';
import { METRICS_NAMESPACE } from '../../shared/metrics';
import { checkReplication } from './core';
import { replicationCheckEnv } from './env';

const env = parseEnv(replicationCheckEnv);
const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME });
const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: env.POWERTOOLS_SERVICE_NAME });
const sm = new SecretsManagerClient({});
const secretIds = [env.API_KEY_SECRET_ID, env.WEBHOOK_SECRET_ID];

/** The scheduled invocation (its event carries nothing the check needs). */
export async function handler(): Promise<{ notInSync: number }> {
  const { problems } = await checkReplication({ sm, secretIds, logger, metrics });
  return { notInSync: problems.length };
}
