/**
 * What the ingress tells Stripe, EventBridge and the on-call engineer when something other than the sender is at
 * fault (the signing secret, the queue, the health probe, an unexpected throw), and how it refuses Lambda events of
 * the wrong shape. Logs and metrics are read as CloudWatch would get them (Powertools' JSON lines and EMF).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE } from '../../lambdas/ingress/core';
import type { HealthCheck } from '../../lambdas/ingress/health';
import type { SecretSource } from '../../lambdas/shared/secrets';
import { captureOutput } from '../support/capture-output';
import {
  closedPort,
  eventBridgeEvent,
  httpEvent,
  NOW_MS,
  paymentIntentEvent,
  queueClient,
  SECRET,
  signedWebhook,
  useIngressQueue,
} from './helpers';

const queue = useIngressQueue();

function bodyOf(res: APIGatewayProxyStructuredResultV2 | undefined): Record<string, unknown> {
  return JSON.parse(res?.body ?? 'null') as Record<string, unknown>;
}

/** Runs `act` with a DEBUG logger and enabled metrics; returns the JSON log lines and the EMF documents written. */
async function observe(
  act: (observed: { logger: Logger; metrics: Metrics }) => Promise<void>,
): Promise<{ logs: Array<Record<string, unknown>>; emf: Array<Record<string, unknown>> }> {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  try {
    const lines = await captureOutput(async () => {
      const logger = new Logger({ serviceName: 'stripe-ingress', logLevel: 'DEBUG' });
      const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'stripe-ingress' });
      await act({ logger, metrics });
      metrics.publishStoredMetrics();
    });
    const records = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    return { logs: records.filter((r) => !('_aws' in r)), emf: records.filter((r) => '_aws' in r) };
  } finally {
    vi.unstubAllEnvs();
  }
}

const failingSecret = (message: string): SecretSource => ({
  get: async () => {
    throw new Error(message);
  },
});

async function unreachableSqs() {
  return queueClient(`http://127.0.0.1:${await closedPort()}`, { maxAttempts: 1 });
}

describe('faults of ours: 5xx so Stripe delivers again, and a log line that names the cause', () => {
  it('answers 500 secret_unavailable and logs why when the signing secret cannot be read', async () => {
    let res: APIGatewayProxyStructuredResultV2 | undefined;
    const { logs } = await observe(async ({ logger }) => {
      const app = queue.ingress({ webhookSecrets: failingSecret('AccessDeniedException: no'), logger });
      res = await app.handleHttp(signedWebhook(paymentIntentEvent()));
    });
    expect(res?.statusCode).toBe(500);
    expect(bodyOf(res)).toEqual({
      error: 'secret_unavailable',
      message: 'The webhook signing secret could not be read.',
    });
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'webhook signing secret unavailable',
        error: 'Error: AccessDeniedException: no',
      }),
    );
  });

  it('refuses a forged webhook with 400 bad_signature when the forced secret refresh fails, and warns', async () => {
    let calls = 0;
    const refreshFails: SecretSource = {
      get: async (options) => {
        calls += 1;
        if (options?.refresh) throw new Error('ThrottlingException: slow down');
        return SECRET;
      },
    };
    let res: APIGatewayProxyStructuredResultV2 | undefined;
    const { logs } = await observe(async ({ logger }) => {
      const app = queue.ingress({ webhookSecrets: refreshFails, logger });
      res = await app.handleHttp(signedWebhook(paymentIntentEvent(), { secret: 'whsec_forged' }));
    });
    expect(calls).toBe(2);
    expect(res?.statusCode).toBe(400);
    expect(bodyOf(res).error).toBe('bad_signature');
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'webhook signing secret refresh failed',
        error: 'Error: ThrottlingException: slow down',
      }),
    );
    expect(await queue.drain()).toEqual([]);
  });

  it('answers 500 enqueue_failed, counts EnqueueFailed and logs the event when SQS cannot be reached', async () => {
    const sqs = await unreachableSqs();
    const event = paymentIntentEvent({ id: 'evt_enqueue_fails' });
    let res: APIGatewayProxyStructuredResultV2 | undefined;
    const { logs, emf } = await observe(async ({ logger, metrics }) => {
      res = await queue.ingress({ sqs, logger, metrics }).handleHttp(signedWebhook(event));
    });
    expect(res?.statusCode).toBe(500);
    expect(bodyOf(res)).toEqual({
      error: 'enqueue_failed',
      message: 'The event could not be queued; Stripe will deliver it again.',
    });
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'enqueue failed',
        eventId: 'evt_enqueue_fails',
        eventType: 'payment_intent.succeeded',
        error: expect.stringContaining('ECONNREFUSED'),
      }),
    );
    expect(emf.some((r) => r.EnqueueFailed === 1)).toBe(true);
  });

  it('answers 500 internal_error, counts no rejection, and logs the error when the route throws unexpectedly', async () => {
    const broken: HealthCheck = async () => {
      throw new Error('probe crashed');
    };
    let res: APIGatewayProxyStructuredResultV2 | undefined;
    const { logs } = await observe(async ({ logger, metrics }) => {
      res = await queue
        .ingress({ health: broken, logger, metrics })
        .handleHttp(httpEvent({ method: 'GET', path: '/health' }));
    });
    expect(res?.statusCode).toBe(500);
    expect(bodyOf(res)).toEqual({ error: 'internal_error', message: 'The request could not be processed.' });
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'ERROR', message: 'request failed', error: 'Error: probe crashed' }),
    );
  });

  it('answers 500, not a 400 the sender would give up on, when building the message fails for a reason of ours', async () => {
    // The clock breaks after the signature was checked: the message's receivedAt cannot be written.
    let reads = 0;
    const now = () => {
      reads += 1;
      return reads <= 2 ? NOW_MS : Number.NaN;
    };
    let res: APIGatewayProxyStructuredResultV2 | undefined;
    const { emf } = await observe(async ({ logger, metrics }) => {
      res = await queue.ingress({ now, logger, metrics }).handleHttp(signedWebhook(paymentIntentEvent()));
    });
    expect(res?.statusCode).toBe(500);
    expect(bodyOf(res).error).toBe('internal_error');
    expect(emf.filter((r) => 'WebhookRejected' in r)).toEqual([]);
    expect(await queue.drain()).toEqual([]);
  });
});

describe('what a refused request is told', () => {
  it('names the sender and the route in its answer', async () => {
    const app = queue.ingress({ allowedSourceIps: ['3.18.12.0/24'] });
    const fromElsewhere = await app.handleHttp(signedWebhook(paymentIntentEvent(), {}));
    expect(fromElsewhere.statusCode).toBe(200);
    const blocked = await queue
      .ingress({ allowedSourceIps: ['54.187.174.169'] })
      .handleHttp(signedWebhook(paymentIntentEvent({ id: 'evt_blocked' })));
    expect(blocked.statusCode).toBe(403);
    expect(bodyOf(blocked)).toEqual({
      error: 'source_ip_not_allowed',
      message: 'Webhooks are accepted from Stripe only.',
    });
    const postHealth = await app.handleHttp(httpEvent({ method: 'POST', path: '/health' }));
    expect(postHealth.headers.allow).toBe('GET');
    expect(bodyOf(postHealth)).toEqual({ error: 'method_not_allowed', message: '/health accepts GET only.' });
  });

  it('tells Route 53 why the region is unhealthy in its 503', async () => {
    const down: HealthCheck = async () => ({ healthy: false, reason: 'queue_not_found', checkedAt: NOW_MS });
    const res = await queue.ingress({ health: down }).handleHttp(httpEvent({ method: 'GET', path: '/health' }));
    expect(res.statusCode).toBe(503);
    expect(bodyOf(res)).toEqual({
      status: 'unhealthy',
      reason: 'queue_not_found',
      message: 'This region cannot queue events right now.',
    });
  });

  it('logs the health probe failure through the ingress logger when it probes the queue itself', async () => {
    const sqs = await unreachableSqs();
    const { logs } = await observe(async ({ logger }) => {
      const res = await queue.ingress({ sqs, logger }).handleHttp(httpEvent({ method: 'GET', path: '/health' }));
      expect(res.statusCode).toBe(503);
    });
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'WARN',
        message: 'health check failed: the event queue did not answer',
        reason: 'queue_unreachable',
      }),
    );
  });
});

describe('the size limit', () => {
  const max = (body: string) => Buffer.byteLength(body);

  it('accepts a body of exactly maxBodyBytes and refuses one byte more', async () => {
    const payload = JSON.stringify(paymentIntentEvent({ id: 'evt_exact_size' }));
    const exact = await queue.ingress({ maxBodyBytes: max(payload) }).handleHttp(signedWebhook(payload));
    expect(exact.statusCode).toBe(200);
    const over = await queue.ingress({ maxBodyBytes: max(payload) - 1 }).handleHttp(signedWebhook(payload));
    expect(bodyOf(over)).toEqual({
      error: 'body_too_large',
      message: `The request body is larger than ${max(payload) - 1} bytes.`,
    });
  });

  it('measures a base64 body by its decoded bytes, not its encoded length', async () => {
    const payload = JSON.stringify(paymentIntentEvent({ id: 'evt_b64_size' }));
    const res = await queue
      .ingress({ maxBodyBytes: max(payload) })
      .handleHttp(signedWebhook(payload, { base64: true }));
    expect(res.statusCode).toBe(200);
    expect(await queue.drain()).toHaveLength(1);
  });
});

describe('EventBridge events: what is thrown and logged', () => {
  it.each([
    ['null', null],
    ['a source that is not a string', { ...eventBridgeEvent(paymentIntentEvent()), source: 5 }],
  ])('refuses %s as not from the Stripe partner source', async (_name, event) => {
    const app = queue.ingress();
    await expect(app.handleEventBridge(event as never)).rejects.toMatchObject({
      name: 'InvalidEventError',
      code: 'not_from_stripe_partner_source',
      message: 'EventBridge event source must start with aws.partner/stripe.com/',
    });
  });

  it('logs a refused event with its EventBridge id and the reason, and throws the reason', async () => {
    const event = eventBridgeEvent(paymentIntentEvent(), { detailType: 'charge.succeeded' });
    const withNumericId = { ...eventBridgeEvent(paymentIntentEvent(), { source: 'my.app' }), id: 5 };
    const { logs } = await observe(async ({ logger }) => {
      const app = queue.ingress({ logger });
      await expect(app.handleEventBridge(event)).rejects.toMatchObject({
        code: 'bad_detail',
        message: 'EventBridge detail must be a Stripe event whose type is the detail-type',
      });
      await expect(app.handleEventBridge(withNumericId as never)).rejects.toThrow();
    });
    const rejected = logs.filter((l) => l.message === 'EventBridge event rejected');
    expect(rejected).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        ebEventId: event.id,
        error: 'InvalidEventError(bad_detail): EventBridge detail must be a Stripe event whose type is the detail-type',
      }),
      expect.objectContaining({ level: 'ERROR', error: expect.stringContaining('not_from_stripe_partner_source') }),
    ]);
    expect(rejected[1]).not.toHaveProperty('ebEventId');
  });

  it('logs an accepted event at DEBUG with its ids and the message kind', async () => {
    const { logs, emf } = await observe(async ({ logger, metrics }) => {
      await queue
        .ingress({ logger, metrics })
        .handleEventBridge(eventBridgeEvent(paymentIntentEvent({ id: 'evt_eb_ok' })));
    });
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'DEBUG',
        message: 'EventBridge event accepted',
        eventId: 'evt_eb_ok',
        eventType: 'payment_intent.succeeded',
        livemode: false,
        messageKind: 'snapshot',
        sqsMessageId: expect.any(String),
      }),
    );
    expect(emf.some((r) => r.EventBridgeAccepted === 1)).toBe(true);
  });

  it('counts EnqueueFailed and logs the event when it cannot be enqueued, then throws', async () => {
    const sqs = await unreachableSqs();
    const { logs, emf } = await observe(async ({ logger, metrics }) => {
      const app = queue.ingress({ sqs, logger, metrics });
      await expect(
        app.handleEventBridge(eventBridgeEvent(paymentIntentEvent({ id: 'evt_eb_fails' }))),
      ).rejects.toThrow();
    });
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'enqueue failed',
        eventId: 'evt_eb_fails',
        eventType: 'payment_intent.succeeded',
      }),
    );
    expect(emf.some((r) => r.EnqueueFailed === 1)).toBe(true);
    expect(emf.some((r) => 'EventBridgeAccepted' in r)).toBe(false);
  });
});

describe('handle: events of no known shape', () => {
  it.each([
    ['an HTTP API event without requestContext', { rawPath: '/health' }],
    ['a requestContext that is not an object', { requestContext: 'x', rawPath: '/health', httpMethod: 'GET' }],
    ['a requestContext without rawPath or httpMethod', { requestContext: {} }],
    ['a detail-type without detail', { 'detail-type': 'charge.succeeded' }],
    ['a detail without detail-type', { detail: paymentIntentEvent() }],
    ['null', null],
  ])('refuses %s as unsupported', async (_name, event) => {
    await expect(queue.ingress().handle(event)).rejects.toMatchObject({
      code: 'unsupported_event',
      message: 'unsupported Lambda event: expected an API Gateway request (HTTP or REST API) or an EventBridge event',
    });
    expect(await queue.drain()).toEqual([]);
  });
});
