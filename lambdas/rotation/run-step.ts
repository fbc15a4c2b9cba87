/**
 * Runs one Secrets Manager rotation step with what both rotation Lambdas need around it: the version check every step
 * starts with, a log line per step, and on failure an error log plus the `RotationFailed` metric an alarm watches.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describeError } from '../shared/errors';
import { METRICS_NAMESPACE } from '../shared/metrics';
import { checkRotationVersion, type RotationEvent, type RotationStep } from './secrets-manager';

/** CloudWatch namespace of the rotation metrics (the project's one namespace). */
export const ROTATION_METRICS_NAMESPACE = METRICS_NAMESPACE;
/** Emitted once per failed step, with the single dimension `Secret`. */
export const ROTATION_FAILED_METRIC = 'RotationFailed';
/** The `Secret` dimension's values. */
export type RotatedSecret = 'webhook' | 'api-key';

/** What a rotation does in each step, given the secret id and the rotation's ClientRequestToken. */
export type RotationSteps = Record<RotationStep, (secretId: string, token: string) => Promise<void>>;

/** What `runRotationStep` needs. */
export interface RotationRunnerDeps {
  sm: SecretsManagerClient;
  logger: Logger;
  metrics?: Metrics;
  /** Which secret this function rotates: the `Secret` dimension of RotationFailed. */
  secret: RotatedSecret;
}

/**
 * Emits `RotationFailed` = 1 with exactly one dimension, `Secret` (no `service` dimension: an alarm matches a metric
 * on its full dimension set, and the alarm is defined with `Secret` alone).
 */
export function recordRotationFailure(metrics: Metrics | undefined, secret: RotatedSecret): void {
  if (!metrics) return;
  const single = metrics.singleMetric();
  single.clearDefaultDimensions();
  single.addDimension('Secret', secret);
  single.addMetric(ROTATION_FAILED_METRIC, MetricUnit.Count, 1);
}

/** Runs the step `event` names; rethrows any failure so Secrets Manager marks the rotation failed. */
export async function runRotationStep(event: RotationEvent, steps: RotationSteps, deps: RotationRunnerDeps) {
  const { sm, logger } = deps;
  // The token is a version id, not secret material: safe to log and needed to clean up a failed rotation.
  const context = { secret: deps.secret, step: event.Step, versionId: event.ClientRequestToken };
  try {
    const state = await checkRotationVersion(sm, event.SecretId, event.ClientRequestToken);
    if (state === 'already_current') {
      logger.info('rotation version is already AWSCURRENT: nothing to do', context);
      return;
    }
    await steps[event.Step](event.SecretId, event.ClientRequestToken);
    logger.info('rotation step done', context);
  } catch (err) {
    recordRotationFailure(deps.metrics, deps.secret);
    logger.error('rotation step failed', { ...context, error: describeError(err) });
    throw err;
  }
}
