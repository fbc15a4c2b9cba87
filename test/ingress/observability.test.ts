/**
 * What the ingress writes to CloudWatch: structured logs that name the event but never hold the raw body or a
 * secret, and EMF metrics an alarm can use (WebhookRejected split by a low-cardinality Reason).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createIngress, METRICS_NAMESPACE } from '../../lambdas/ingress/core';
import { staticSecret } from '../../lambdas/shared/secrets';
import { captureOutput } from '../support/capture-output';
import {
  eventBridgeEvent,
  type LocalSqs,
  NOW_MS,
  paymentIntentEvent,
  SECRET,
  signedWebhook,
  startLocalSqs,
} from './helpers';

let local: LocalSqs;
beforeAll(async () => {
  local = await startLocalSqs();
});
afterAll(async () => {
  await local.close();
});

interface Emf {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> };
  [key: string]: unknown;
}

function total(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((a: number, b) => a + Number(b), 0);
  return Number(value ?? 0);
}

/** An ingress over a fresh local queue, logging at `logLevel` and counting into `metrics`. */
async function observedIngress(logLevel: 'DEBUG' | 'INFO', metrics: Metrics) {
  return createIngress({
    sqs: local.queue,
    queueUrl: await local.freshFifoQueue(),
    webhookSecrets: staticSecret(SECRET),
    toleranceSeconds: 300,
    maxBodyBytes: 65_536,
    maxMessageBytes: 262_144,
    logger: new Logger({ serviceName: 'stripe-ingress', logLevel }),
    metrics,
    now: () => NOW_MS,
  });
}

describe('logs and metrics', () => {
  it('logs event ids and reason codes, never the body or the secret, and emits the documented metrics', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const marker = 'pm_card_SENSITIVE_BODY_MARKER';
    const event = paymentIntentEvent({ id: 'evt_observed_1', extra: { payment_method: marker } });
    const lines = await captureOutput(async () => {
      const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'stripe-ingress' });
      const ingress = await observedIngress('DEBUG', metrics);
      expect((await ingress.handleHttp(signedWebhook(event))).statusCode).toBe(200);
      const forged = signedWebhook(paymentIntentEvent({ extra: { payment_method: marker } }), { secret: 'whsec_f' });
      expect((await ingress.handleHttp(forged)).statusCode).toBe(400);
      await ingress.handleEventBridge(eventBridgeEvent(paymentIntentEvent({ id: 'evt_observed_eb' })));
      metrics.publishStoredMetrics();
    });
    vi.unstubAllEnvs();

    const output = lines.join('\n');
    expect(output).not.toContain(marker);
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain('whsec_f');

    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const logs = records.filter((r) => !('_aws' in r));
    // Event id, type, SQS message id and API Gateway's request id (the key to the access log line) on one line.
    expect(logs).toContainEqual(
      expect.objectContaining({
        message: 'webhook accepted',
        eventId: 'evt_observed_1',
        eventType: 'payment_intent.succeeded',
        sqsMessageId: expect.any(String),
        apiRequestId: 'req-1',
      }),
    );
    for (const line of logs.filter((l) => l.message !== 'EventBridge event accepted')) {
      expect(line.apiRequestId, JSON.stringify(line)).toBe('req-1');
    }
    expect(logs).toContainEqual(expect.objectContaining({ level: 'WARN', reason: 'bad_signature', status: 400 }));

    const emf = records.filter((r): r is Emf => '_aws' in r);
    const rejected = emf.find((r) => r._aws.CloudWatchMetrics[0]?.Metrics.some((m) => m.Name === 'WebhookRejected'));
    expect(rejected?.Reason).toBe('bad_signature');
    expect(rejected?._aws.CloudWatchMetrics[0]?.Namespace).toBe('StripeWebhooks');
    expect(rejected?._aws.CloudWatchMetrics[0]?.Dimensions[0]).toContain('Reason');
    const flushed = emf.find((r) => 'EventBridgeAccepted' in r);
    expect(total(flushed?.EventBridgeAccepted)).toBe(1);
    // Received and accepted webhooks are the front's metrics (API Gateway's route, or the function URL's).
    expect(emf.some((r) => 'WebhookReceived' in r || 'WebhookAccepted' in r)).toBe(false);
    expect(flushed?.Reason).toBeUndefined(); // the per-request metrics carry no Reason dimension
  });

  it('writes nothing for an accepted webhook at INFO, and the rejection line and metric for a refused one', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const lines = await captureOutput(async () => {
      const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'stripe-ingress' });
      const ingress = await observedIngress('INFO', metrics);
      expect((await ingress.handleHttp(signedWebhook(paymentIntentEvent()))).statusCode).toBe(200);
      metrics.publishStoredMetrics();
      const forged = signedWebhook(paymentIntentEvent(), { secret: 'whsec_f' });
      expect((await ingress.handleHttp(forged)).statusCode).toBe(400);
    });
    vi.unstubAllEnvs();

    // Powertools' own notice that the accepted webhook stored no metric (the Lambda handler filters it out).
    expect(lines.filter((l) => !l.startsWith('{'))).toEqual([expect.stringMatching(/^No application metrics/)]);
    const records = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const logs = records.filter((r) => !('_aws' in r));
    expect(logs.map((l) => l.message)).toEqual(['request rejected']);
    // One EMF line, the rejection's; the accepted webhook flushed no metric at all.
    expect(records.filter((r) => '_aws' in r).map((r) => r.Reason)).toEqual(['bad_signature']);
  });
});
