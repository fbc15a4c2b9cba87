import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE } from '../../lambdas/ingress/core';
import { ingressMetricsLogger } from '../../lambdas/ingress/metrics-logger';
import { captureOutput } from '../support/capture-output';

describe('ingressMetricsLogger', () => {
  it('keeps quiet when an invocation published no metric (most do: the front counts webhooks)', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const logger = new Logger({ serviceName: 'stripe-ingress', logLevel: 'INFO' });
    const written = await captureOutput(async () => {
      new Metrics({
        namespace: METRICS_NAMESPACE,
        serviceName: 'stripe-ingress',
        logger: ingressMetricsLogger(logger),
      }).publishStoredMetrics();
    });
    vi.unstubAllEnvs();
    expect(written).toEqual([]);
  });

  it('passes every other warning on to the structured logger', async () => {
    const logger = new Logger({ serviceName: 'stripe-ingress', logLevel: 'INFO' });
    const written = await captureOutput(async () => {
      ingressMetricsLogger(logger).warn('Metric name too long');
    });
    expect(written.map((l) => JSON.parse(l) as { level: string; message: string })).toEqual([
      expect.objectContaining({ level: 'WARN', message: 'Metric name too long' }),
    ]);
  });
});
