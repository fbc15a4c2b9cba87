/**
 * The replication check of the Stripe secrets: every replica region of each secret must be `InSync`. Secrets
 * Manager re-encrypts each new version for every replica with the writer's permissions, so a rotation whose Lambda
 * may not use a replica region's key succeeds in the primary and leaves that replica behind (ReplicationStatus
 * `Failed`): after a failover, every webhook would then fail its signature check. Secrets Manager publishes no metric
 * for it, so this check reads DescribeSecret on a schedule and emits `SecretReplicasNotInSync` (the alarm
 * `secret-replica-out-of-sync` watches it); a secret it cannot describe counts as out of sync.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describeError } from '../../shared/errors';

/** The metric the alarm watches: replicas (over every checked secret) whose status is not InSync. */
export const REPLICAS_NOT_IN_SYNC_METRIC = 'SecretReplicasNotInSync';

/** A replica that is not in sync, or a secret that could not be described (region `*`). */
export interface ReplicaProblem {
  readonly secretId: string;
  readonly region: string;
  readonly status: string;
  readonly message?: string;
}

export interface ReplicationCheckDeps {
  sm: SecretsManagerClient;
  secretIds: readonly string[];
  logger: Logger;
  metrics?: Metrics;
}

/** Checks every secret's replicas, logs each problem and emits the count. */
export async function checkReplication(deps: ReplicationCheckDeps): Promise<{ problems: ReplicaProblem[] }> {
  const problems: ReplicaProblem[] = [];
  let checked = 0;
  for (const secretId of deps.secretIds) {
    try {
      const out = await deps.sm.send(new DescribeSecretCommand({ SecretId: secretId }));
      for (const replica of out.ReplicationStatus ?? []) {
        checked++;
        if (replica.Status === 'InSync') continue;
        problems.push({
          secretId,
          region: replica.Region ?? '?',
          status: replica.Status ?? 'unknown',
          ...(replica.StatusMessage ? { message: replica.StatusMessage } : {}),
        });
      }
    } catch (err) {
      problems.push({ secretId, region: '*', status: 'unknown', message: describeError(err) });
    }
  }
  for (const problem of problems) deps.logger.error('secret replica not in sync', { ...problem });
  deps.metrics?.addMetric(REPLICAS_NOT_IN_SYNC_METRIC, MetricUnit.Count, problems.length);
  deps.metrics?.publishStoredMetrics();
  deps.logger.info('secret replication checked', { replicas: checked, notInSync: problems.length });
  return { problems };
}
